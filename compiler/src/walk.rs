//! The one traversal of a parsed statement. It runs twice over the same
//! tree: first to bind every name and *describe* the statement for the
//! policies (`Plan` absent), then to *rewrite* it as the policies asked
//! (`Plan` present) and turn every literal into a bind parameter. Both runs
//! are the same code, so the ids the description hands out (relation 3,
//! comparison 7) name the same nodes in the rewrite.
//!
//! Everything is matched exhaustively: a struct is destructured field by
//! field, so a new field in a sqlparser upgrade fails to compile here
//! instead of slipping through; an enum variant without an arm of its own
//! is refused. Unknown means refused.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{
    BinaryOperator, CastKind, Cte, DataType, Distinct, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArgumentClause, FunctionArgumentList, FunctionArguments, GroupByExpr,
    Ident, Insert, Join, JoinConstraint, JoinOperator, LimitClause, ObjectName, ObjectNamePart,
    Offset, OrderBy, OrderByExpr, OrderByKind, Query as SqlQuery, Select, SelectFlavor, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Spanned, Statement, TableAlias, TableFactor,
    TableObject, TableWithJoins, UnaryOperator, Value, ValueWithSpan, WildcardAdditionalOptions,
    WindowType, With,
};

use sqlparser::ast::helpers::attached_token::AttachedToken;

use crate::catalog::{self, Kind, Table};
use crate::describe::{
    BlockKind, Clause, ColumnUse, Comparison, ComparisonOp, Feature, FeatureKind, FunctionCall,
    Insert as InsertInfo, InsertColumn, InsertValue, Literal, Query, Relation, Session,
    SessionValue, StatementKind,
};
use crate::diagnostic::{Diagnostic, Span, code, nearest};
use crate::params::{Param, ParamValue};

type Result<T> = std::result::Result<T, Diagnostic>;

/// What the policies asked for, by id: the input of the rewrite run.
#[derive(Debug, Default, Clone)]
pub(crate) struct Plan {
    pub scopes: BTreeMap<u32, BTreeSet<(String, SessionValue)>>,
    pub unaccent: BTreeSet<u32>,
    pub forced: BTreeMap<String, SessionValue>,
    pub cap_limit: Option<u64>,
}

/// Where each described node is in the original text.
#[derive(Debug, Default, Clone)]
pub(crate) struct Spans {
    pub relations: Vec<Option<Span>>,
    pub columns: Vec<Option<Span>>,
    pub comparisons: Vec<Option<Span>>,
    pub functions: Vec<Option<Span>>,
    pub features: Vec<Option<Span>>,
    pub insert_columns: BTreeMap<String, Option<Span>>,
}

/// A column a FROM item offers to the query around it.
#[derive(Debug, Clone)]
struct ScopeColumn {
    /// Borrowed from the catalog for a table's columns, owned otherwise.
    name: Cow<'static, str>,
    kind: Option<Kind>,
    staff_only: bool,
}

/// A FROM item of a query block, by the name the query uses for it.
#[derive(Debug, Clone)]
struct ScopeRelation {
    alias: String,
    columns: Vec<ScopeColumn>,
    /// The described relation, when it is a catalog table or view.
    relation: Option<u32>,
}

/// One query block's names.
#[derive(Debug, Default)]
struct Scope {
    relations: Vec<ScopeRelation>,
    /// Output names of the select list, which ORDER BY and GROUP BY may use.
    output_names: Vec<String>,
    /// Catalog relations of this block scoped in its WHERE (rewrite run).
    where_scoped: Vec<(u32, String)>,
}

/// A column a query block produces.
#[derive(Debug, Clone)]
struct Output {
    name: String,
    kind: Option<Kind>,
}

/// A CTE visible by name.
#[derive(Debug, Clone)]
struct CteName {
    name: String,
    columns: Vec<Output>,
}

/// What a bound expression is, as far as comparisons care.
#[derive(Debug, Clone, Default)]
struct Bound {
    /// A direct column reference: its column-use id and type.
    column: Option<(u32, Option<Kind>)>,
    /// A literal, before it became a parameter.
    literal: Option<Literal>,
    /// The parameter the literal became (rewrite run).
    param: Option<usize>,
}

pub(crate) struct Walker<'p> {
    plan: Option<&'p Plan>,
    pub query: Query,
    pub spans: Spans,
    pub params: Vec<Param>,
    scopes: Vec<Scope>,
    ctes: Vec<Vec<CteName>>,
    depth: u32,
    block: BlockKind,
    clause: Clause,
    tenant_param: Option<usize>,
    customer_param: Option<usize>,
    /// The scopes the rewrite run put into the SQL, to check against the
    /// plan: a scope planned but not applied refuses the statement.
    pub applied: BTreeSet<(u32, String, SessionValue)>,
    /// The accent-insensitive matches the rewrite run put in.
    pub applied_unaccent: BTreeSet<u32>,
    /// Whether the rewrite run threw away an expression it had already
    /// walked (a value a forced INSERT column replaced), so that some
    /// parameters may no longer be in the statement.
    pub dropped_walked: bool,
    /// The ids handed out so far. The describing run records each node in
    /// `query` and `spans` under its id; the rewrite run, whose description
    /// is thrown away, only counts, so the same node gets the same id.
    ids: Ids,
}

/// The next id of each kind of described node.
#[derive(Debug, Default, Clone, Copy)]
struct Ids {
    relations: u32,
    columns: u32,
    comparisons: u32,
    functions: u32,
    features: u32,
}

type RawSpan = sqlparser::tokenizer::Span;

/// Anything with a place in the SQL text.
trait Located {
    fn raw_span(&self) -> RawSpan;
}

macro_rules! located_via_spanned {
    ($($t:ty),* $(,)?) => {
        $(impl Located for $t {
            fn raw_span(&self) -> RawSpan {
                Spanned::span(self)
            }
        })*
    };
}

located_via_spanned!(
    Expr,
    ObjectName,
    SqlQuery,
    SelectItem,
    TableFactor,
    Statement,
    SetExpr,
    FunctionArg,
    sqlparser::ast::OnInsert,
    sqlparser::ast::SelectInto,
    With,
    TableObject,
);

impl Located for Ident {
    fn raw_span(&self) -> RawSpan {
        self.span
    }
}

impl Located for RawSpan {
    fn raw_span(&self) -> RawSpan {
        *self
    }
}

impl Located for sqlparser::ast::LockClause {
    fn raw_span(&self) -> RawSpan {
        RawSpan::empty()
    }
}

impl<T: Located> Located for Box<T> {
    fn raw_span(&self) -> RawSpan {
        self.as_ref().raw_span()
    }
}

fn span_of(node: &impl Located) -> Option<Span> {
    Span::from_parser(node.raw_span())
}

fn unsupported(what: impl Into<String>, node: &impl Located) -> Diagnostic {
    Diagnostic::new(
        code::UNSUPPORTED,
        format!("{} is not supported", what.into()),
    )
    .at(span_of(node))
}

fn not_allowed(what: impl Into<String>, node: &impl Located) -> Diagnostic {
    Diagnostic::new(code::NOT_ALLOWED, what.into()).at(span_of(node))
}

/// PostgreSQL folds unquoted names to lower case and keeps quoted ones.
fn normal(ident: &Ident) -> String {
    match ident.quote_style {
        // PostgreSQL folds only ASCII letters.
        None => ident.value.to_ascii_lowercase(),
        Some(_) => ident.value.clone(),
    }
}

/// `normal`, borrowing the name when folding changes nothing.
fn folded(ident: &Ident) -> Cow<'_, str> {
    match ident.quote_style {
        None if ident.value.bytes().any(|b| b.is_ascii_uppercase()) => {
            Cow::Owned(ident.value.to_ascii_lowercase())
        }
        _ => Cow::Borrowed(&ident.value),
    }
}

fn idents(name: &ObjectName) -> Result<Vec<&Ident>> {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Ok(ident),
            ObjectNamePart::Function(_) => Err(unsupported("a computed name", name)),
        })
        .collect()
}

impl<'p> Walker<'p> {
    pub(crate) fn new(session: Session, plan: Option<&'p Plan>) -> Self {
        Walker {
            plan,
            query: Query {
                session,
                kind: StatementKind::Select,
                relations: Vec::new(),
                columns: Vec::new(),
                comparisons: Vec::new(),
                functions: Vec::new(),
                features: Vec::new(),
                insert: None,
                limit: None,
            },
            spans: Spans::default(),
            params: Vec::new(),
            scopes: Vec::new(),
            ctes: Vec::new(),
            depth: 0,
            block: BlockKind::Top,
            clause: Clause::Other,
            tenant_param: None,
            customer_param: None,
            applied: BTreeSet::new(),
            applied_unaccent: BTreeSet::new(),
            ids: Ids::default(),
            dropped_walked: false,
        }
    }

    fn rewriting(&self) -> bool {
        self.plan.is_some()
    }

    /// The span of a node the description records, computed only when
    /// describing (the rewrite run's description is thrown away).
    fn described_span(&self, raw: impl FnOnce() -> RawSpan) -> Option<Span> {
        if self.rewriting() {
            None
        } else {
            Span::from_parser(raw())
        }
    }

    fn feature(&mut self, kind: FeatureKind, node: &impl Located) {
        let id = self.ids.features;
        self.ids.features += 1;
        if self.rewriting() {
            return;
        }
        self.query.features.push(Feature { id, kind });
        self.spans.features.push(span_of(node));
    }

    fn new_param(&mut self, value: ParamValue) -> usize {
        self.params.push(Param { value });
        self.params.len()
    }

    /// The session value as a typed parameter expression.
    fn session_expr(&mut self, value: SessionValue) -> Result<Expr> {
        let index = self.session_param(value)?;
        let n = match self.params.get(index - 1) {
            Some(Param {
                value: ParamValue::Integer(n),
            }) => *n,
            _ => {
                return Err(Diagnostic::new(
                    code::INTERNAL,
                    "a session parameter that is not a number",
                ));
            }
        };
        Ok(typed_number(index, n))
    }

    fn session_param(&mut self, value: SessionValue) -> Result<usize> {
        let session = self.query.session;
        match value {
            SessionValue::TenantId => {
                if let Some(index) = self.tenant_param {
                    return Ok(index);
                }
                let index = self.new_param(ParamValue::Integer(session.tenant_id));
                self.tenant_param = Some(index);
                Ok(index)
            }
            SessionValue::CustomerId => {
                if let Some(index) = self.customer_param {
                    return Ok(index);
                }
                let Some(customer) = session.customer_id else {
                    return Err(Diagnostic::new(
                        code::POLICY_FAILED,
                        "a policy scoped to the customer, but this session has no verified customer",
                    ));
                };
                let index = self.new_param(ParamValue::Integer(customer));
                self.customer_param = Some(index);
                Ok(index)
            }
        }
    }

    // ---------------------------------------------------------------- statements

    pub(crate) fn statement(&mut self, statement: &mut Statement) -> Result<()> {
        match statement {
            Statement::Query(query) => {
                self.query.kind = StatementKind::Select;
                self.query_block(query, BlockKind::Top, true)?;
                Ok(())
            }
            Statement::Insert(insert) => {
                self.query.kind = StatementKind::Insert;
                self.insert(insert)
            }
            other => {
                let text = other.to_string();
                let keywords: Vec<&str> = text.split_whitespace().take(2).collect();
                let kind = keywords.join(" ").to_uppercase();
                Err(not_allowed(
                    format!("only SELECT and INSERT statements can run; this is {kind}"),
                    other,
                ))
            }
        }
    }

    fn insert(&mut self, insert: &mut Insert) -> Result<()> {
        let Insert {
            insert_token: _,
            optimizer_hints,
            or,
            ignore,
            into: _,
            table,
            table_alias,
            columns,
            overwrite,
            source,
            assignments,
            partitioned,
            after_columns,
            has_table_keyword,
            on,
            returning,
            output,
            replace_into,
            priority,
            insert_alias,
            settings,
            format_clause,
            multi_table_insert_type,
            multi_table_into_clauses,
            multi_table_when_clauses,
            multi_table_else_clause,
        } = insert;
        let whole = Span::from_parser(table.span());
        if let Some(on) = on {
            self.feature(FeatureKind::OnConflict, on);
            return Err(
                not_allowed("INSERT … ON CONFLICT may not run: it can update rows", on)
                    .hint("insert without ON CONFLICT; a conflict is reported as an error"),
            );
        }
        if !optimizer_hints.is_empty()
            || or.is_some()
            || *ignore
            || *overwrite
            || !assignments.is_empty()
            || partitioned.is_some()
            || !after_columns.is_empty()
            || *has_table_keyword
            || output.is_some()
            || *replace_into
            || priority.is_some()
            || insert_alias.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || multi_table_insert_type.is_some()
            || !multi_table_into_clauses.is_empty()
            || !multi_table_when_clauses.is_empty()
            || multi_table_else_clause.is_some()
        {
            return Err(
                Diagnostic::new(code::UNSUPPORTED, "this form of INSERT is not supported")
                    .at(whole)
                    .hint("write INSERT INTO table (columns) VALUES (…) [RETURNING …]"),
            );
        }
        if let Some(alias) = table_alias {
            return Err(unsupported("an alias on the INSERT target", &alias.alias));
        }
        let TableObject::TableName(name) = table else {
            return Err(unsupported("INSERT into a table function", table));
        };
        let target = self.catalog_table(name)?;
        let relation =
            self.add_relation(target, target.name.to_string(), false, true, span_of(name));
        if self.rewriting() {
            // Always name our table, never whatever `search_path` finds.
            *name = public_name(target.name);
        }

        if columns.is_empty() {
            return Err(
                Diagnostic::new(code::UNSUPPORTED, "INSERT must name its columns")
                    .at(whole)
                    .hint(format!(
                        "write INSERT INTO {} ({}) VALUES (…)",
                        target.name,
                        target
                            .readable_columns()
                            .map(|c| c.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
            );
        }
        let mut described = Vec::new();
        for column in columns.iter() {
            let parts = idents(column)?;
            let [ident] = parts.as_slice() else {
                return Err(unsupported("a qualified INSERT column", column));
            };
            let column_name = normal(ident);
            let Some(catalog_column) = target.column(&column_name) else {
                return Err(unknown_column(
                    &column_name,
                    target.name,
                    target.columns.iter().map(|c| c.name),
                    &span_of(column),
                ));
            };
            if !target.insertable.contains(&catalog_column.name) {
                let hint = if target.insertable.is_empty() {
                    format!("{} cannot be inserted into", target.name)
                } else {
                    format!(
                        "the columns an INSERT may give are: {}",
                        target.insertable.join(", ")
                    )
                };
                return Err(not_allowed(
                    format!(
                        "`{column_name}` of {} is set by the database, not by an INSERT",
                        target.name
                    ),
                    column,
                )
                .hint(hint));
            }
            if described
                .iter()
                .any(|c: &InsertColumn| c.column == column_name)
            {
                return Err(Diagnostic::new(
                    code::SYNTAX,
                    format!("column `{column_name}` is named twice"),
                )
                .at(span_of(column)));
            }
            self.clause = Clause::InsertColumn;
            self.column_use(
                relation,
                catalog_column.name,
                Some(catalog_column.kind),
                catalog_column.staff_only,
                span_of(column),
            );
            self.spans
                .insert_columns
                .insert(column_name.clone(), span_of(column));
            described.push(InsertColumn {
                column: column_name,
                column_type: catalog_column.kind.column_type(),
                values: Vec::new(),
            });
        }

        let Some(source) = source else {
            return Err(
                Diagnostic::new(code::UNSUPPORTED, "INSERT needs VALUES or a SELECT").at(whole),
            );
        };
        let mut rows = 0;
        let is_values = matches!(source.body.as_ref(), SetExpr::Values(_))
            && source.with.is_none()
            && source.order_by.is_none()
            && source.limit_clause.is_none();
        if is_values {
            let SetExpr::Values(values) = source.body.as_mut() else {
                return Err(Diagnostic::new(code::INTERNAL, "VALUES expected"));
            };
            self.clause = Clause::Other;
            for row in values.rows.iter_mut() {
                if row.content.len() != described.len() {
                    return Err(Diagnostic::new(
                        code::SYNTAX,
                        format!(
                            "a VALUES row has {} values for {} columns",
                            row.content.len(),
                            described.len()
                        ),
                    )
                    .at(span_of(
                        &row.content
                            .first()
                            .map(Spanned::span)
                            .unwrap_or(row.opening_token.0.span),
                    )));
                }
                for (value, column) in row.content.iter_mut().zip(described.iter_mut()) {
                    let is_default = matches!(value, Expr::Identifier(ident) if ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("default"));
                    let literal = literal_of(value);
                    if is_default {
                        column.values.push(InsertValue::Default);
                        continue;
                    }
                    self.expr(value)?;
                    column.values.push(match literal {
                        Some(literal) => InsertValue::Literal(literal),
                        None => InsertValue::Expression,
                    });
                }
                rows += 1;
            }
        } else {
            self.feature(FeatureKind::InsertSelect, source.as_ref());
            let outputs = self.query_block(source, BlockKind::Top, false)?;
            if outputs.len() != described.len() {
                return Err(Diagnostic::new(
                    code::SYNTAX,
                    format!(
                        "the SELECT gives {} columns for {} INSERT columns",
                        outputs.len(),
                        described.len()
                    ),
                )
                .at(span_of(source.as_ref())));
            }
        }

        if let Some(items) = returning {
            self.feature(
                FeatureKind::Returning,
                &items
                    .first()
                    .map(Spanned::span)
                    .unwrap_or_else(|| table.span()),
            );
            self.scopes.push(Scope {
                relations: vec![ScopeRelation {
                    alias: target.name.to_string(),
                    columns: table_columns(target),
                    relation: Some(relation),
                }],
                ..Scope::default()
            });
            self.clause = Clause::Returning;
            let result = self.select_items(items);
            self.scopes.pop();
            result?;
        }

        self.query.insert = Some(InsertInfo {
            target: relation,
            columns: described,
            rows,
        });

        if let Some(plan) = self.plan {
            let forced: Vec<(String, SessionValue)> =
                plan.forced.iter().map(|(c, v)| (c.clone(), *v)).collect();
            for (column, value) in forced {
                if target.column(&column).is_none() {
                    return Err(Diagnostic::new(
                        code::POLICY_FAILED,
                        format!(
                            "a policy forced column `{column}`, which {} does not have",
                            target.name
                        ),
                    ));
                }
                let forced = self.session_expr(value)?;
                let position = columns.iter().position(|c| {
                    idents(c).ok().and_then(|p| p.first().map(|i| normal(i)))
                        == Some(column.clone())
                });
                self.dropped_walked |= position.is_some();
                match source.body.as_mut() {
                    SetExpr::Values(values) => {
                        if position.is_none() {
                            columns.push(ObjectName::from(vec![ident(&column)]));
                        }
                        for row in values.rows.iter_mut() {
                            match position {
                                Some(at) => row.content[at] = forced.clone(),
                                None => row.content.push(forced.clone()),
                            }
                        }
                    }
                    SetExpr::Select(select) if !select.projection.iter().any(is_wildcard) => {
                        if position.is_none() {
                            columns.push(ObjectName::from(vec![ident(&column)]));
                        }
                        match position {
                            Some(at) => select.projection[at] = SelectItem::UnnamedExpr(forced),
                            None => select.projection.push(SelectItem::UnnamedExpr(forced)),
                        }
                    }
                    other => {
                        return Err(unsupported(
                            "this INSERT … SELECT (a policy must set a column of it; list the SELECT's columns explicitly)",
                            other,
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- queries

    /// A query: WITH, body, ORDER BY, LIMIT. `top` marks the statement's own
    /// query, whose LIMIT the row cap applies to.
    fn query_block(
        &mut self,
        query: &mut SqlQuery,
        block: BlockKind,
        top: bool,
    ) -> Result<Vec<Output>> {
        let SqlQuery {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = query;
        if let Some(lock) = locks.first() {
            self.feature(FeatureKind::LockingClause, lock);
            return Err(not_allowed(
                "FOR UPDATE / FOR SHARE may not run: it locks rows",
                lock,
            ));
        }
        if let Some(fetch) = fetch {
            return Err(unsupported(
                "FETCH FIRST",
                &fetch
                    .quantity
                    .clone()
                    .unwrap_or(Expr::Value(Value::Null.into())),
            )
            .hint("use LIMIT n"));
        }
        if for_clause.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || !pipe_operators.is_empty()
        {
            return Err(Diagnostic::new(
                code::UNSUPPORTED,
                "this query clause is not PostgreSQL",
            ));
        }

        let saved_block = self.block;
        self.ctes.push(Vec::new());
        let result = (|| {
            if let Some(with) = with {
                self.with(with)?;
            }
            self.block = block;
            let outputs = self.set_expr(body, block, true)?;
            if let Some(order_by) = order_by {
                self.order_by(order_by)?;
            }
            // The body's scope stays open through ORDER BY.
            self.close_body_scope(body)?;
            if let Some(limit_clause) = limit_clause {
                let limit = self.limit(limit_clause)?;
                if top {
                    self.query.limit = limit;
                }
            }
            if top && let Some(cap) = self.plan.and_then(|plan| plan.cap_limit) {
                apply_cap(limit_clause, cap);
            }
            Ok(outputs)
        })();
        self.ctes.pop();
        self.block = saved_block;
        result
    }

    fn with(&mut self, with: &mut With) -> Result<()> {
        if with.recursive {
            self.feature(FeatureKind::RecursiveCte, with);
        }
        let With {
            with_token: _,
            recursive,
            cte_tables,
        } = with;
        for cte in cte_tables.iter_mut() {
            let Cte {
                alias,
                query,
                from,
                materialized: _,
                closing_paren_token: _,
            } = cte;
            if from.is_some() {
                return Err(unsupported("CTE … FROM", &alias.name));
            }
            let name = normal(&alias.name);
            if let SetExpr::Insert(_)
            | SetExpr::Update(_)
            | SetExpr::Delete(_)
            | SetExpr::Merge(_) = query.body.as_ref()
            {
                self.feature(FeatureKind::WritableCte, query.as_ref());
                return Err(not_allowed(
                    "a WITH query may not change data (INSERT/UPDATE/DELETE/MERGE in WITH)",
                    query.as_ref(),
                ));
            }
            let declared: Vec<String> = alias.columns.iter().map(|c| normal(&c.name)).collect();
            let mut registered_early = false;
            if *recursive && !declared.is_empty() {
                self.register_cte(
                    &name,
                    declared
                        .iter()
                        .map(|n| Output {
                            name: n.clone(),
                            kind: None,
                        })
                        .collect(),
                );
                registered_early = true;
            }
            let outputs =
                self.cte_body(query, *recursive && !registered_early, &name, &declared)?;
            let outputs = rename(outputs, &declared, &alias.name)?;
            if registered_early && let Some(frame) = self.ctes.last_mut() {
                frame.retain(|c| c.name != name);
            }
            self.register_cte(&name, outputs);
        }
        Ok(())
    }

    /// A CTE body; for a recursive CTE without a column list, the
    /// non-recursive arm is bound first so the recursive arm can name it.
    fn cte_body(
        &mut self,
        query: &mut SqlQuery,
        recursive: bool,
        name: &str,
        declared: &[String],
    ) -> Result<Vec<Output>> {
        self.depth += 1;
        let result = (|| {
            if recursive
                && query.with.is_none()
                && let SetExpr::SetOperation { left, right, .. } = query.body.as_mut()
            {
                self.feature(FeatureKind::SetOperation, left.as_ref());
                let outputs = self.arm(left, BlockKind::Cte)?;
                let outputs = rename(outputs, declared, &Ident::new(name))?;
                self.register_cte(name, outputs.clone());
                self.arm(right, BlockKind::Cte)?;
                if let Some(frame) = self.ctes.last_mut() {
                    frame.retain(|c| c.name != name);
                }
                let SqlQuery {
                    order_by,
                    limit_clause,
                    ..
                } = query;
                if order_by.is_some() || limit_clause.is_some() {
                    return Err(unsupported(
                        "ORDER BY or LIMIT on a recursive CTE",
                        &Ident::new(name),
                    ));
                }
                return Ok(outputs);
            }
            self.query_block(query, BlockKind::Cte, false)
        })();
        self.depth -= 1;
        result
    }

    fn register_cte(&mut self, name: &str, columns: Vec<Output>) {
        if let Some(frame) = self.ctes.last_mut() {
            frame.push(CteName {
                name: name.to_string(),
                columns,
            });
        }
    }

    /// One arm of a set operation, in its own scope.
    fn arm(&mut self, expr: &mut SetExpr, block: BlockKind) -> Result<Vec<Output>> {
        let saved = self.block;
        self.block = block;
        let outputs = self.set_expr(expr, block, false);
        self.block = saved;
        outputs
    }

    /// `keep_scope`: leave a SELECT's scope open for the query's ORDER BY
    /// (the caller closes it).
    fn set_expr(
        &mut self,
        body: &mut SetExpr,
        block: BlockKind,
        keep_scope: bool,
    ) -> Result<Vec<Output>> {
        if let SetExpr::Table(table) = body {
            // `TABLE x` is `SELECT * FROM x`: make it so, in both runs, so
            // it is bound and scoped like any SELECT.
            *body = table_as_select(table)?;
        }
        match body {
            SetExpr::Select(select) => {
                let outputs = self.select(select)?;
                if !keep_scope {
                    self.close_select_scope_of(select)?;
                }
                Ok(outputs)
            }
            SetExpr::Query(query) => {
                self.depth += 1;
                let outputs = self.query_block(query, block, false);
                self.depth -= 1;
                outputs
            }
            SetExpr::SetOperation {
                left,
                op: _,
                set_quantifier: _,
                right,
            } => {
                self.feature(FeatureKind::SetOperation, left.as_ref());
                let outputs = self.arm(left, BlockKind::SetOperationArm)?;
                let right_outputs = self.arm(right, BlockKind::SetOperationArm)?;
                if right_outputs.len() != outputs.len() {
                    return Err(Diagnostic::new(
                        code::SYNTAX,
                        format!(
                            "the arms of this set operation give {} and {} columns",
                            outputs.len(),
                            right_outputs.len()
                        ),
                    )
                    .at(span_of(right.as_ref())));
                }
                if keep_scope {
                    // Only output names can be ordered by after a set
                    // operation; `query_block` closes this scope.
                    self.scopes.push(Scope {
                        output_names: outputs.iter().map(|o| o.name.clone()).collect(),
                        ..Scope::default()
                    });
                }
                Ok(outputs)
            }
            SetExpr::Values(values) => {
                let saved = self.clause;
                self.clause = Clause::Other;
                let mut width = None;
                for row in values.rows.iter_mut() {
                    if *width.get_or_insert(row.content.len()) != row.content.len() {
                        return Err(Diagnostic::new(
                            code::SYNTAX,
                            "VALUES rows of different lengths",
                        )
                        .at(span_of(
                            &row.content
                                .first()
                                .map(Spanned::span)
                                .unwrap_or(row.opening_token.0.span),
                        )));
                    }
                    for value in row.content.iter_mut() {
                        self.expr(value)?;
                    }
                }
                self.clause = saved;
                if keep_scope {
                    self.scopes.push(Scope::default());
                }
                Ok((1..=width.unwrap_or(0))
                    .map(|i| Output {
                        name: format!("column{i}"),
                        kind: None,
                    })
                    .collect())
            }
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)
            | SetExpr::Merge(statement) => {
                self.feature(FeatureKind::WritableCte, statement);
                Err(not_allowed(
                    "a query may not change data inside another query",
                    statement,
                ))
            }
            SetExpr::Table(table) => Err(unsupported(
                "TABLE",
                &Ident::new(table.table_name.clone().unwrap_or_default()),
            )),
        }
    }

    /// Closes the scope `set_expr(…, keep_scope = true)` left open.
    fn close_body_scope(&mut self, body: &mut SetExpr) -> Result<()> {
        match body {
            SetExpr::Select(select) => self.close_select_scope_of(select),
            SetExpr::SetOperation { .. } | SetExpr::Values(_) => match self.scopes.pop() {
                Some(_) => Ok(()),
                None => Err(Diagnostic::new(code::INTERNAL, "scope stack underflow")),
            },
            _ => Ok(()),
        }
    }

    /// Pops the scope of a SELECT block; in the rewrite run, ANDs the scope
    /// predicates of its WHERE-scoped relations around its whole WHERE.
    fn close_select_scope_of(&mut self, select: &mut Select) -> Result<()> {
        let Some(scope) = self.scopes.pop() else {
            return Err(Diagnostic::new(code::INTERNAL, "scope stack underflow"));
        };
        let Some(plan) = self.plan else {
            return Ok(());
        };
        let mut predicates = Vec::new();
        for (relation, alias) in &scope.where_scoped {
            if let Some(scopes) = plan.scopes.get(relation) {
                for (column, value) in scopes {
                    let value = *value;
                    // Already there (compiling the compiler's own output):
                    // a top-level conjunct `alias.column = <this value>`
                    // scopes the whole block just the same.
                    let wanted = match value {
                        SessionValue::TenantId => Some(self.query.session.tenant_id),
                        SessionValue::CustomerId => self.query.session.customer_id,
                    };
                    let present = select.selection.as_ref().is_some_and(|selection| {
                        self.has_conjunct(selection, alias, column, wanted)
                    });
                    if !present {
                        let scoped = self.session_expr(value)?;
                        predicates.push(equals(&[alias.as_str(), column.as_str()], scoped));
                    }
                    self.applied.insert((*relation, column.clone(), value));
                }
            }
        }
        if let Some(condition) = conjunction(predicates) {
            select.selection = Some(match select.selection.take() {
                Some(existing) => and(nested(existing), condition),
                None => condition,
            });
        }
        Ok(())
    }

    /// Whether `expr`, split at its top-level ANDs, has the conjunct
    /// `alias.column = $n` with parameter n equal to `value`.
    fn has_conjunct(&self, expr: &Expr, alias: &str, column: &str, value: Option<i64>) -> bool {
        match expr {
            Expr::Nested(inner) => self.has_conjunct(inner, alias, column, value),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                self.has_conjunct(left, alias, column, value)
                    || self.has_conjunct(right, alias, column, value)
            }
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } => {
                let names_it = matches!(left.as_ref(), Expr::CompoundIdentifier(parts)
                    if parts.len() == 2 && normal(&parts[0]) == alias && normal(&parts[1]) == column);
                let mut literal = right.as_ref();
                if let Expr::Cast { expr, .. } = literal {
                    literal = expr;
                }
                let param = match literal {
                    Expr::Value(ValueWithSpan {
                        value: Value::Placeholder(text),
                        ..
                    }) => text.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()),
                    _ => None,
                };
                let equal = param
                    .and_then(|index| self.params.get(index.wrapping_sub(1)))
                    .is_some_and(
                        |param| matches!(param.value, ParamValue::Integer(n) if Some(n) == value),
                    );
                names_it && equal
            }
            _ => false,
        }
    }

    fn select(&mut self, select: &mut Select) -> Result<Vec<Output>> {
        let Select {
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = select;
        if let Some(into) = into {
            self.feature(FeatureKind::SelectInto, into);
            return Err(
                not_allowed("SELECT … INTO may not run: it creates a table", into)
                    .hint("select the rows without INTO"),
            );
        }
        if !optimizer_hints.is_empty()
            || select_modifiers.is_some()
            || top.is_some()
            || exclude.is_some()
            || !lateral_views.is_empty()
            || prewhere.is_some()
            || !connect_by.is_empty()
            || !cluster_by.is_empty()
            || !distribute_by.is_empty()
            || !sort_by.is_empty()
            || qualify.is_some()
            || value_table_mode.is_some()
            || !matches!(flavor, SelectFlavor::Standard)
        {
            return Err(
                Diagnostic::new(code::UNSUPPORTED, "this SELECT clause is not PostgreSQL").at(
                    span_of(
                        &projection
                            .first()
                            .map(Spanned::span)
                            .unwrap_or(sqlparser::tokenizer::Span::empty()),
                    ),
                ),
            );
        }
        if let Some(window) = named_window.first() {
            return Err(unsupported("a WINDOW clause", &window.0));
        }

        self.scopes.push(Scope::default());
        for item in from.iter_mut() {
            self.table_with_joins(item, false)?;
        }
        if let Some(selection) = selection {
            self.clause = Clause::Where;
            self.expr(selection)?;
        }
        self.clause = Clause::Projection;
        let outputs = self.select_items(projection)?;
        if let Some(scope) = self.scopes.last_mut() {
            scope.output_names = outputs.iter().map(|o| o.name.clone()).collect();
        }
        match distinct {
            None | Some(Distinct::All) | Some(Distinct::Distinct) => {}
            Some(Distinct::On(exprs)) => {
                self.clause = Clause::OrderBy;
                for expr in exprs.iter_mut() {
                    self.expr(expr)?;
                }
            }
        }
        match group_by {
            GroupByExpr::All(_) => {
                return Err(Diagnostic::new(
                    code::UNSUPPORTED,
                    "GROUP BY ALL is not supported",
                ));
            }
            GroupByExpr::Expressions(exprs, modifiers) => {
                if !modifiers.is_empty() {
                    return Err(Diagnostic::new(
                        code::UNSUPPORTED,
                        "GROUP BY … WITH modifiers are not supported",
                    ));
                }
                self.clause = Clause::GroupBy;
                for expr in exprs.iter_mut() {
                    if is_ordinal(expr) {
                        continue;
                    }
                    self.expr(expr)?;
                }
            }
        }
        if let Some(having) = having {
            self.clause = Clause::Having;
            self.expr(having)?;
        }
        Ok(outputs)
    }

    /// Binds the select list in place; in the rewrite run, each `*` is
    /// replaced by the columns it stands for.
    fn select_items(&mut self, items: &mut Vec<SelectItem>) -> Result<Vec<Output>> {
        let clause = self.clause;
        let mut outputs = Vec::new();
        // (position of a `*`, what replaces it), in order.
        let mut replacements: Vec<(usize, Vec<SelectItem>)> = Vec::new();
        for (index, item) in items.iter_mut().enumerate() {
            self.clause = clause;
            match item {
                SelectItem::UnnamedExpr(expr) => {
                    let name = output_name(expr);
                    let bound = self.expr(expr)?;
                    outputs.push(Output {
                        name,
                        kind: bound.column.and_then(|(_, kind)| kind),
                    });
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let bound = self.expr(expr)?;
                    outputs.push(Output {
                        name: normal(alias),
                        kind: bound.column.and_then(|(_, kind)| kind),
                    });
                }
                SelectItem::Wildcard(options) => {
                    check_wildcard_options(options)?;
                    let span = span_of(&options.wildcard_token.0.span);
                    let relations: Vec<ScopeRelation> = self
                        .scopes
                        .last()
                        .map(|s| s.relations.clone())
                        .unwrap_or_default();
                    if relations.is_empty() {
                        return Err(
                            Diagnostic::new(code::SYNTAX, "SELECT * needs a FROM clause").at(span),
                        );
                    }
                    let mut expanded = Vec::new();
                    for relation in &relations {
                        self.expand_wildcard(relation, span, &mut outputs, &mut expanded);
                    }
                    if self.rewriting() {
                        replacements.push((index, expanded));
                    }
                }
                SelectItem::QualifiedWildcard(kind, options) => {
                    check_wildcard_options(options)?;
                    let SelectItemQualifiedWildcardKind::ObjectName(name) = kind else {
                        return Err(unsupported(
                            "`(expression).*`",
                            &options.wildcard_token.0.span,
                        ));
                    };
                    let parts = idents(name)?;
                    let [ident] = parts.as_slice() else {
                        return Err(unsupported("a schema-qualified `*`", name));
                    };
                    let alias = normal(ident);
                    let span = span_of(name);
                    let Some(relation) = self.find_relation(&alias) else {
                        return Err(self.unknown_relation_alias(&alias, span));
                    };
                    let mut expanded = Vec::new();
                    self.expand_wildcard(&relation, span, &mut outputs, &mut expanded);
                    if self.rewriting() {
                        replacements.push((index, expanded));
                    }
                }
                SelectItem::ExprWithAliases { expr, .. } => {
                    return Err(unsupported("multiple aliases for one expression", expr));
                }
            }
        }
        if !replacements.is_empty() {
            let mut replacements = replacements.into_iter().peekable();
            let old = std::mem::take(items);
            for (index, item) in old.into_iter().enumerate() {
                match replacements.next_if(|(at, _)| *at == index) {
                    Some((_, columns)) => items.extend(columns),
                    None => items.push(item),
                }
            }
        }
        Ok(outputs)
    }

    /// `*` becomes the relation's readable columns, spelled out in the
    /// rewrite (never a staff-only column, whatever the table has).
    fn expand_wildcard(
        &mut self,
        relation: &ScopeRelation,
        span: Option<Span>,
        outputs: &mut Vec<Output>,
        expanded: &mut Vec<SelectItem>,
    ) {
        for column in relation.columns.iter().filter(|c| !c.staff_only) {
            if let Some(id) = relation.relation {
                self.column_use(id, &column.name, column.kind, false, span);
            }
            outputs.push(Output {
                name: column.name.to_string(),
                kind: column.kind,
            });
            if self.rewriting() {
                let mut parts = Vec::new();
                if !relation.alias.is_empty() {
                    parts.push(ident(&relation.alias));
                }
                parts.push(ident(&column.name));
                expanded.push(SelectItem::UnnamedExpr(compound(parts)));
            }
        }
    }

    fn order_by(&mut self, order_by: &mut OrderBy) -> Result<()> {
        let OrderBy { kind, interpolate } = order_by;
        if interpolate.is_some() {
            return Err(Diagnostic::new(
                code::UNSUPPORTED,
                "ORDER BY … INTERPOLATE is not PostgreSQL",
            ));
        }
        let OrderByKind::Expressions(exprs) = kind else {
            return Err(Diagnostic::new(
                code::UNSUPPORTED,
                "ORDER BY ALL is not supported",
            ));
        };
        self.clause = Clause::OrderBy;
        for OrderByExpr {
            expr,
            options: _,
            with_fill,
        } in exprs.iter_mut()
        {
            if with_fill.is_some() {
                return Err(unsupported("ORDER BY … WITH FILL", expr));
            }
            if is_ordinal(expr) {
                continue;
            }
            self.expr(expr)?;
        }
        Ok(())
    }

    /// LIMIT and OFFSET must be plain numbers; they stay in the text.
    fn limit(&mut self, limit_clause: &mut LimitClause) -> Result<Option<u64>> {
        match limit_clause {
            LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            } => {
                if !limit_by.is_empty() {
                    return Err(Diagnostic::new(
                        code::UNSUPPORTED,
                        "LIMIT … BY is not PostgreSQL",
                    ));
                }
                if let Some(Offset { value, rows: _ }) = offset {
                    count_literal(value, "OFFSET")?;
                }
                match limit {
                    None => Ok(None),
                    Some(Expr::Value(ValueWithSpan {
                        value: Value::Null, ..
                    })) => Ok(None),
                    Some(expr) => count_literal(expr, "LIMIT").map(Some),
                }
            }
            LimitClause::OffsetCommaLimit { offset, .. } => {
                Err(unsupported("LIMIT offset, count", offset).hint("write LIMIT n OFFSET m"))
            }
        }
    }

    // ---------------------------------------------------------------- FROM

    fn table_with_joins(&mut self, item: &mut TableWithJoins, nullable_outer: bool) -> Result<()> {
        let TableWithJoins { relation, joins } = item;
        // Which operands does an outer join null-extend? Joins are
        // left-deep: operand k is the right side of join k (k ≥ 1), and in
        // the left input of every later join.
        let operators: Vec<&JoinOperator> = joins.iter().map(|j| &j.join_operator).collect();
        let right_or_full = |op: &JoinOperator| {
            matches!(
                op,
                JoinOperator::Right(_) | JoinOperator::RightOuter(_) | JoinOperator::FullOuter(_)
            )
        };
        let left_or_full = |op: &JoinOperator| {
            matches!(
                op,
                JoinOperator::Left(_) | JoinOperator::LeftOuter(_) | JoinOperator::FullOuter(_)
            )
        };
        let nullable: Vec<bool> = (0..=joins.len())
            .map(|k| {
                let by_own = k >= 1 && left_or_full(operators[k - 1]);
                let by_later = ((k + 1)..=joins.len()).any(|m| right_or_full(operators[m - 1]));
                nullable_outer || by_own || by_later
            })
            .collect();
        self.table_factor(relation, nullable[0])?;
        for (k, join) in joins.iter_mut().enumerate() {
            let Join {
                relation,
                global,
                join_operator,
            } = join;
            if *global {
                return Err(unsupported("GLOBAL JOIN", relation));
            }
            self.table_factor(relation, nullable[k + 1])?;
            let constraint = match join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c) => c,
                _ => {
                    return Err(unsupported("this kind of join", relation));
                }
            };
            match constraint {
                JoinConstraint::On(expr) => {
                    self.clause = Clause::JoinOn;
                    self.expr(expr)?;
                }
                JoinConstraint::Using(columns) => {
                    for column in columns.iter() {
                        let parts = idents(column)?;
                        let [ident] = parts.as_slice() else {
                            return Err(unsupported("a qualified USING column", column));
                        };
                        let name = normal(ident);
                        let offered = self.scopes.last().is_some_and(|s| {
                            s.relations
                                .iter()
                                .filter(|r| r.columns.iter().any(|c| c.name == name))
                                .count()
                                >= 2
                        });
                        if !offered {
                            return Err(Diagnostic::new(
                                code::UNKNOWN_COLUMN,
                                format!("USING ({name}): both sides of the join must have a column `{name}`"),
                            )
                            .at(span_of(column)));
                        }
                    }
                }
                JoinConstraint::Natural => {
                    return Err(
                        unsupported("NATURAL JOIN", relation).hint("join ON explicit columns")
                    );
                }
                JoinConstraint::None => {
                    if !matches!(join_operator, JoinOperator::CrossJoin(_)) {
                        return Err(Diagnostic::new(code::SYNTAX, "this JOIN needs ON or USING")
                            .at(span_of(relation))
                            .hint("write JOIN … ON …, or CROSS JOIN"));
                    }
                }
            }
        }
        Ok(())
    }

    fn table_factor(&mut self, factor: &mut TableFactor, nullable: bool) -> Result<()> {
        match factor {
            TableFactor::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_hints,
            } => {
                if !with_hints.is_empty()
                    || version.is_some()
                    || *with_ordinality
                    || !partitions.is_empty()
                    || json_path.is_some()
                    || sample.is_some()
                    || !index_hints.is_empty()
                {
                    return Err(unsupported("this table modifier", name));
                }
                if let Some(function_args) = args {
                    // A set-returning function (generate_series …): the
                    // policies judge it as a function call.
                    let sqlparser::ast::TableFunctionArgs {
                        args: arguments,
                        settings,
                    } = function_args;
                    if settings.is_some() {
                        return Err(unsupported("function settings", name));
                    }
                    let (full_name, bare) = function_name(name)?;
                    self.record_function(&full_name, arguments.len() as u32, false, span_of(name));
                    let saved = self.clause;
                    self.clause = Clause::FunctionArgument;
                    for argument in arguments.iter_mut() {
                        match argument {
                            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => {
                                self.expr(expr)?;
                            }
                            other => return Err(unsupported("this function argument", other)),
                        }
                    }
                    self.clause = saved;
                    let (alias_name, declared) = match alias {
                        Some(alias) => (
                            normal(&alias.name),
                            alias
                                .columns
                                .iter()
                                .map(|c| normal(&c.name))
                                .collect::<Vec<_>>(),
                        ),
                        None => (bare.clone(), Vec::new()),
                    };
                    // One output column, named by the column list, else by
                    // the alias, else by the function (PostgreSQL's rule).
                    let columns = if declared.is_empty() {
                        vec![alias_name.clone()]
                    } else {
                        declared
                    };
                    self.push_scope_relation(ScopeRelation {
                        alias: alias_name,
                        columns: columns
                            .into_iter()
                            .map(|name| ScopeColumn {
                                name: name.into(),
                                kind: None,
                                staff_only: false,
                            })
                            .collect(),
                        relation: None,
                    });
                    return Ok(());
                }
                if let Some(alias) = alias.as_ref()
                    && !alias.columns.is_empty()
                {
                    return Err(unsupported("column aliases on a table", &alias.name));
                }
                let parts = idents(name)?;
                // A CTE, by a one-part name.
                if let [ident] = parts.as_slice()
                    && let Some(cte) = self.find_cte(&normal(ident))
                {
                    let alias_name = alias
                        .as_ref()
                        .map_or_else(|| cte.name.clone(), |a| normal(&a.name));
                    self.push_scope_relation(ScopeRelation {
                        alias: alias_name,
                        columns: cte
                            .columns
                            .iter()
                            .map(|o| ScopeColumn {
                                name: o.name.clone().into(),
                                kind: o.kind,
                                staff_only: false,
                            })
                            .collect(),
                        relation: None,
                    });
                    return Ok(());
                }
                let table = self.catalog_table(name)?;
                let alias_name = alias
                    .as_ref()
                    .map_or_else(|| table.name.to_string(), |a| normal(&a.name));
                let id =
                    self.add_relation(table, alias_name.clone(), nullable, false, span_of(name));
                self.push_scope_relation(ScopeRelation {
                    alias: alias_name.clone(),
                    columns: table_columns(table),
                    relation: Some(id),
                });
                if let Some(plan) = self.plan {
                    let scopes = plan.scopes.get(&id).filter(|scopes| !scopes.is_empty());
                    if let (true, Some(scopes)) = (nullable, scopes) {
                        // On the null-extended side of an outer join, the
                        // relation itself is replaced by its scoped rows, so
                        // the join stays outer and nothing else leaks.
                        *factor = self.scoped_subquery(table, &alias_name, scopes)?;
                        for (column, value) in scopes {
                            self.applied.insert((id, column.clone(), *value));
                        }
                    } else {
                        *name = public_name(table.name);
                        *alias = Some(TableAlias {
                            explicit: true,
                            name: ident(&alias_name),
                            columns: Vec::new(),
                            at: None,
                        });
                        if let Some(scope) = self.scopes.last_mut() {
                            scope.where_scoped.push((id, alias_name));
                        }
                    }
                }
                Ok(())
            }
            TableFactor::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                if sample.is_some() {
                    return Err(unsupported("TABLESAMPLE", subquery.as_ref()));
                }
                let block = if *lateral {
                    self.feature(FeatureKind::Lateral, subquery.as_ref());
                    BlockKind::LateralSubquery
                } else {
                    BlockKind::FromSubquery
                };
                self.depth += 1;
                let outputs = self.query_block(subquery, block, false);
                self.depth -= 1;
                let outputs = outputs?;
                let (alias_name, declared) = match alias {
                    Some(alias) => (
                        normal(&alias.name),
                        alias.columns.iter().map(|c| normal(&c.name)).collect(),
                    ),
                    None => (String::new(), Vec::new()),
                };
                let outputs = rename(outputs, &declared, &Ident::new(alias_name.clone()))?;
                self.push_scope_relation(ScopeRelation {
                    alias: alias_name,
                    columns: outputs
                        .into_iter()
                        .map(|o| ScopeColumn {
                            name: o.name.into(),
                            kind: o.kind,
                            staff_only: false,
                        })
                        .collect(),
                    relation: None,
                });
                Ok(())
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                if let Some(alias) = alias {
                    return Err(unsupported("an alias on a parenthesised join", &alias.name));
                }
                self.table_with_joins(table_with_joins, nullable)
            }
            other => Err(unsupported("this kind of FROM item", other)),
        }
    }

    /// `(SELECT <readable columns> FROM public.t AS a WHERE a.c = $n …) AS a`,
    /// built as the tree sqlparser reads from that text (a test checks
    /// they print the same), without printing and parsing it.
    fn scoped_subquery(
        &mut self,
        table: &'static Table,
        alias: &str,
        scopes: &BTreeSet<(String, SessionValue)>,
    ) -> Result<TableFactor> {
        let mut conditions = Vec::with_capacity(scopes.len());
        for (column, value) in scopes {
            let scoped = self.session_expr(*value)?;
            conditions.push(equals(&[alias, column.as_str()], scoped));
        }
        let Some(selection) = conditions.into_iter().reduce(and) else {
            return Err(Diagnostic::new(
                code::INTERNAL,
                "building a scoped subquery without a scope",
            ));
        };
        Ok(TableFactor::Derived {
            lateral: false,
            subquery: Box::new(scoped_select(table, alias, selection)),
            alias: Some(TableAlias {
                explicit: true,
                name: ident(alias),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        })
    }

    fn push_scope_relation(&mut self, relation: ScopeRelation) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.relations.push(relation);
        }
    }

    fn find_cte(&self, name: &str) -> Option<CteName> {
        self.ctes
            .iter()
            .rev()
            .flat_map(|frame| frame.iter().rev())
            .find(|cte| cte.name == name)
            .cloned()
    }

    fn catalog_table(&self, name: &ObjectName) -> Result<&'static Table> {
        let parts = idents(name)?;
        let span = span_of(name);
        let (schema, table) = match parts.as_slice() {
            [table] => (None, normal(table)),
            [schema, table] => (Some(normal(schema)), normal(table)),
            _ => {
                return Err(
                    Diagnostic::new(code::UNKNOWN_TABLE, format!("no table `{name}`")).at(span),
                );
            }
        };
        let system = |name: &str| name.starts_with("pg_") || name == "information_schema";
        if let Some(schema) = &schema {
            if system(schema) {
                return Err(Diagnostic::new(
                    code::NOT_ALLOWED,
                    format!("system catalogs may not be read (`{name}`)"),
                )
                .at(span));
            }
            if schema != "public" {
                return Err(
                    Diagnostic::new(code::UNKNOWN_TABLE, format!("no schema `{schema}`"))
                        .at(span)
                        .hint("the tables are in schema public; name them without a schema"),
                );
            }
        }
        if let Some(found) = catalog::table(&table) {
            return Ok(found);
        }
        if system(&table) {
            return Err(Diagnostic::new(
                code::NOT_ALLOWED,
                format!("system catalogs may not be read (`{table}`)"),
            )
            .at(span));
        }
        let mut diagnostic =
            Diagnostic::new(code::UNKNOWN_TABLE, format!("no table or view `{table}`")).at(span);
        let names = catalog::TABLES.iter().map(|t| t.name);
        diagnostic = match nearest(&table, names.clone()) {
            Some(near) => diagnostic.hint(format!("did you mean `{near}`?")),
            None => diagnostic.hint(format!(
                "the tables are: {}",
                names.collect::<Vec<_>>().join(", ")
            )),
        };
        Err(diagnostic)
    }

    fn add_relation(
        &mut self,
        table: &'static Table,
        alias: String,
        nullable: bool,
        insert_target: bool,
        span: Option<Span>,
    ) -> u32 {
        let id = self.ids.relations;
        self.ids.relations += 1;
        if self.rewriting() {
            return id;
        }
        self.query.relations.push(Relation {
            id,
            table: table.name.to_string(),
            alias,
            depth: self.depth,
            block: self.block,
            insert_target,
            nullable_side: nullable,
            is_view: table.is_view,
            access: table.access,
            tenant_column: table.tenant_column.map(str::to_string),
            owner_column: table.owner_column.map(str::to_string),
        });
        self.spans.relations.push(span);
        id
    }

    fn column_use(
        &mut self,
        relation: u32,
        column: &str,
        kind: Option<Kind>,
        staff_only: bool,
        span: Option<Span>,
    ) -> u32 {
        let id = self.ids.columns;
        self.ids.columns += 1;
        if self.rewriting() {
            return id;
        }
        self.query.columns.push(ColumnUse {
            id,
            relation,
            column: column.to_string(),
            column_type: kind.map_or(
                crate::describe::ColumnType::Other("unknown".into()),
                Kind::column_type,
            ),
            clause: self.clause,
            staff_only,
        });
        self.spans.columns.push(span);
        id
    }

    // ---------------------------------------------------------------- names

    fn find_relation_ref(&self, alias: &str) -> Option<&ScopeRelation> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.relations.iter())
            .find(|r| r.alias == alias)
    }

    fn find_relation(&self, alias: &str) -> Option<ScopeRelation> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.relations.iter())
            .find(|r| r.alias == alias)
            .cloned()
    }

    fn unknown_relation_alias(&self, alias: &str, span: Option<Span>) -> Diagnostic {
        let aliases: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|s| s.relations.iter().map(|r| r.alias.clone()))
            .collect();
        let mut diagnostic = Diagnostic::new(
            code::UNKNOWN_TABLE,
            format!("no table or alias `{alias}` in this query"),
        )
        .at(span);
        if let Some(near) = nearest(alias, aliases.iter().map(String::as_str)) {
            diagnostic = diagnostic.hint(format!("did you mean `{near}`?"));
        } else if !aliases.is_empty() {
            diagnostic = diagnostic.hint(format!("the query names: {}", aliases.join(", ")));
        }
        diagnostic
    }

    /// Binds a column reference and records its use.
    fn column_ref(&mut self, parts: &[Ident], span: Option<Span>) -> Result<Bound> {
        let (qualifier, column) = match parts {
            [column] => (None, folded(column)),
            [relation, column] => (Some(folded(relation)), folded(column)),
            [schema, relation, column] if folded(schema) == "public" => {
                (Some(folded(relation)), folded(column))
            }
            _ => {
                return Err(Diagnostic::new(
                    code::UNSUPPORTED,
                    "a column reference with more than two parts is not supported",
                )
                .at(span));
            }
        };
        let found = match &qualifier {
            Some(alias) => {
                let Some(relation) = self.find_relation_ref(alias) else {
                    return Err(self.unknown_relation_alias(alias, span));
                };
                let Some(found) = relation.columns.iter().find(|c| c.name == column).cloned()
                else {
                    return Err(unknown_column(
                        &column,
                        alias,
                        relation.columns.iter().map(|c| c.name.as_ref()),
                        &span,
                    ));
                };
                Some((relation.relation, found))
            }
            None => self.resolve_unqualified(&column, span)?,
        };
        let Some((relation, found)) = found else {
            // An output name of the select list (ORDER BY / GROUP BY).
            return Ok(Bound::default());
        };
        let column_use =
            relation.map(|id| self.column_use(id, &found.name, found.kind, found.staff_only, span));
        Ok(Bound {
            column: column_use.map(|id| (id, found.kind)),
            ..Bound::default()
        })
    }

    fn resolve_unqualified(
        &self,
        column: &str,
        span: Option<Span>,
    ) -> Result<Option<(Option<u32>, ScopeColumn)>> {
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            let mut matches = scope
                .relations
                .iter()
                .filter_map(|r| r.columns.iter().find(|c| c.name == column).map(|c| (r, c)));
            match (matches.next(), matches.next()) {
                (Some((relation, found)), None) => {
                    return Ok(Some((relation.relation, found.clone())));
                }
                (None, _) => {
                    let orders = matches!(self.clause, Clause::OrderBy | Clause::GroupBy);
                    if depth == 0 && orders && scope.output_names.iter().any(|n| n == column) {
                        return Ok(None);
                    }
                }
                (Some(first), Some(second)) => {
                    let owners: Vec<String> = [first, second]
                        .into_iter()
                        .chain(matches)
                        .map(|(r, _)| format!("{}.{column}", r.alias))
                        .collect();
                    return Err(Diagnostic::new(
                        code::AMBIGUOUS_COLUMN,
                        format!("column `{column}` is ambiguous"),
                    )
                    .at(span)
                    .hint(format!("write one of: {}", owners.join(", "))));
                }
            }
        }
        let visible: Vec<String> = self
            .scopes
            .iter()
            .flat_map(|s| {
                s.relations
                    .iter()
                    .flat_map(|r| r.columns.iter().map(|c| c.name.to_string()))
            })
            .collect();
        let mut diagnostic = Diagnostic::new(
            code::UNKNOWN_COLUMN,
            format!("no column `{column}` in this query"),
        )
        .at(span);
        if let Some(near) = nearest(column, visible.iter().map(String::as_str)) {
            diagnostic = diagnostic.hint(format!("did you mean `{near}`?"));
        }
        Err(diagnostic)
    }

    // ---------------------------------------------------------------- expressions

    fn exprs(&mut self, exprs: &mut [Expr]) -> Result<()> {
        for expr in exprs {
            self.expr(expr)?;
        }
        Ok(())
    }

    fn expr(&mut self, expr: &mut Expr) -> Result<Bound> {
        match expr {
            Expr::Identifier(ident) => {
                let span = Span::from_parser(ident.span);
                self.column_ref(std::slice::from_ref(ident), span)
            }
            Expr::CompoundIdentifier(parts) => {
                let span = span_of(&RawSpan::union_iter(parts.iter().map(|p| p.span)));
                let bound = self.column_ref(parts, span)?;
                if self.rewriting() && parts.len() == 3 {
                    // `public.t.c`: the table is named `t` in the rewrite.
                    parts.remove(0);
                }
                Ok(bound)
            }
            Expr::Value(value) => self.value(expr_value_span(value), expr),
            Expr::TypedString(typed) => {
                let sqlparser::ast::TypedString {
                    data_type,
                    value,
                    uses_odbc_syntax,
                } = typed;
                if *uses_odbc_syntax {
                    return Err(unsupported("ODBC literal syntax", &value.span));
                }
                check_type(data_type, &value.span)?;
                let Some(text) = string_value(&value.value) else {
                    return Err(unsupported("this typed literal", &value.span));
                };
                let literal = Literal::Typed {
                    type_name: data_type.to_string().to_lowercase(),
                    value: text.clone(),
                };
                let mut bound = Bound {
                    literal: Some(literal),
                    ..Bound::default()
                };
                if self.rewriting() {
                    let index = self.new_param(ParamValue::Text(text));
                    bound.param = Some(index);
                    let data_type = data_type.clone();
                    *expr = Expr::Cast {
                        kind: CastKind::DoubleColon,
                        expr: Box::new(placeholder(index)),
                        data_type,
                        array: false,
                        format: None,
                    };
                }
                Ok(bound)
            }
            Expr::Interval(interval) => {
                let sqlparser::ast::Interval {
                    value,
                    leading_field,
                    leading_precision,
                    last_field,
                    fractional_seconds_precision,
                } = interval;
                if leading_field.is_some()
                    || leading_precision.is_some()
                    || last_field.is_some()
                    || fractional_seconds_precision.is_some()
                {
                    return Err(unsupported(
                        "INTERVAL with a unit after the string",
                        value.as_ref(),
                    )
                    .hint("write INTERVAL '2 hours'"));
                }
                let text = match value.as_ref() {
                    Expr::Value(v) => string_value(&v.value),
                    _ => None,
                };
                let Some(text) = text else {
                    return Err(unsupported("INTERVAL of an expression", value.as_ref())
                        .hint("write INTERVAL '2 hours' or make_interval(…)"));
                };
                let bound = Bound {
                    literal: Some(Literal::Typed {
                        type_name: "interval".into(),
                        value: text.clone(),
                    }),
                    ..Bound::default()
                };
                if self.rewriting() {
                    let index = self.new_param(ParamValue::Text(text));
                    *expr = Expr::Cast {
                        kind: CastKind::DoubleColon,
                        expr: Box::new(placeholder(index)),
                        data_type: DataType::Interval {
                            fields: None,
                            precision: None,
                        },
                        array: false,
                        format: None,
                    };
                }
                Ok(bound)
            }
            Expr::Nested(inner) => {
                let bound = self.expr(inner)?;
                Ok(Bound {
                    literal: None,
                    param: None,
                    ..bound
                })
            }
            Expr::UnaryOp { op, expr: inner } => {
                match op {
                    UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus => {}
                    _ => return Err(unsupported(format!("the operator `{op}`"), inner.as_ref())),
                }
                self.expr(inner)?;
                Ok(Bound::default())
            }
            Expr::BinaryOp { left, op, right } => {
                let comparison = match op {
                    BinaryOperator::Eq => Some(ComparisonOp::Eq),
                    BinaryOperator::NotEq => Some(ComparisonOp::NotEq),
                    BinaryOperator::Lt => Some(ComparisonOp::Lt),
                    BinaryOperator::LtEq => Some(ComparisonOp::LtEq),
                    BinaryOperator::Gt => Some(ComparisonOp::Gt),
                    BinaryOperator::GtEq => Some(ComparisonOp::GtEq),
                    BinaryOperator::Plus
                    | BinaryOperator::Minus
                    | BinaryOperator::Multiply
                    | BinaryOperator::Divide
                    | BinaryOperator::Modulo
                    | BinaryOperator::StringConcat
                    | BinaryOperator::And
                    | BinaryOperator::Or
                    | BinaryOperator::PGOverlap
                    | BinaryOperator::Overlaps => None,
                    other => {
                        return Err(unsupported(
                            format!("the operator `{other}`"),
                            left.as_ref(),
                        ));
                    }
                };
                let span = match comparison {
                    Some(_) => self.described_span(|| left.span().union(&right.span())),
                    None => None,
                };
                let left_bound = self.expr(left)?;
                let right_bound = self.expr(right)?;
                if let Some(op) = comparison {
                    self.comparison(expr, op, &left_bound, &[right_bound], span)?;
                }
                Ok(Bound::default())
            }
            Expr::IsDistinctFrom(..) | Expr::IsNotDistinctFrom(..) => {
                let op = if matches!(expr, Expr::IsDistinctFrom(..)) {
                    ComparisonOp::IsDistinctFrom
                } else {
                    ComparisonOp::IsNotDistinctFrom
                };
                let span = self.described_span(|| expr.span());
                let (left_bound, right_bound) = match expr {
                    Expr::IsDistinctFrom(left, right) | Expr::IsNotDistinctFrom(left, right) => {
                        (self.expr(left)?, self.expr(right)?)
                    }
                    _ => return Err(Diagnostic::new(code::INTERNAL, "IS DISTINCT FROM")),
                };
                self.comparison(expr, op, &left_bound, &[right_bound], span)?;
                Ok(Bound::default())
            }
            Expr::IsNull(inner)
            | Expr::IsNotNull(inner)
            | Expr::IsTrue(inner)
            | Expr::IsNotTrue(inner)
            | Expr::IsFalse(inner)
            | Expr::IsNotFalse(inner)
            | Expr::IsUnknown(inner)
            | Expr::IsNotUnknown(inner) => {
                self.expr(inner)?;
                Ok(Bound::default())
            }
            Expr::Like { .. } | Expr::ILike { .. } => {
                let op = match expr {
                    Expr::Like { negated: false, .. } => ComparisonOp::Like,
                    Expr::Like { negated: true, .. } => ComparisonOp::NotLike,
                    Expr::ILike { negated: false, .. } => ComparisonOp::Ilike,
                    _ => ComparisonOp::NotIlike,
                };
                let span = self.described_span(|| expr.span());
                let (column, literal) = match expr {
                    Expr::Like {
                        any,
                        expr: inner,
                        pattern,
                        escape_char,
                        ..
                    }
                    | Expr::ILike {
                        any,
                        expr: inner,
                        pattern,
                        escape_char,
                        ..
                    } => {
                        if *any || escape_char.is_some() {
                            return Err(unsupported("LIKE ANY / ESCAPE", pattern));
                        }
                        (self.expr(inner)?, self.expr(pattern)?)
                    }
                    _ => return Err(Diagnostic::new(code::INTERNAL, "LIKE")),
                };
                self.comparison(expr, op, &column, &[literal], span)?;
                Ok(Bound::default())
            }
            Expr::InList { .. } => {
                let span = self.described_span(|| expr.span());
                let (op, column, items) = match expr {
                    Expr::InList {
                        expr: inner,
                        list,
                        negated,
                    } => {
                        let op = if *negated {
                            ComparisonOp::NotInList
                        } else {
                            ComparisonOp::InList
                        };
                        let column = self.expr(inner)?;
                        let mut items = Vec::new();
                        for item in list.iter_mut() {
                            items.push(self.expr(item)?);
                        }
                        (op, column, items)
                    }
                    _ => return Err(Diagnostic::new(code::INTERNAL, "IN")),
                };
                self.comparison(expr, op, &column, &items, span)?;
                Ok(Bound::default())
            }
            Expr::Between { .. } => {
                let span = self.described_span(|| expr.span());
                let (op, column, low, high) = match expr {
                    Expr::Between {
                        expr: inner,
                        negated,
                        low,
                        high,
                    } => {
                        let op = if *negated {
                            ComparisonOp::NotBetween
                        } else {
                            ComparisonOp::Between
                        };
                        (op, self.expr(inner)?, self.expr(low)?, self.expr(high)?)
                    }
                    _ => return Err(Diagnostic::new(code::INTERNAL, "BETWEEN")),
                };
                self.comparison(expr, op, &column, &[low, high], span)?;
                Ok(Bound::default())
            }
            Expr::InSubquery {
                expr: inner,
                subquery,
                negated: _,
            } => {
                let width = match inner.as_ref() {
                    Expr::Tuple(items) => items.len(),
                    _ => 1,
                };
                self.expr(inner)?;
                if self.subquery(subquery)? != width {
                    return Err(Diagnostic::new(
                        code::SYNTAX,
                        format!("this subquery must give {width} column(s)"),
                    )
                    .at(span_of(subquery)));
                }
                Ok(Bound::default())
            }
            Expr::Exists {
                subquery,
                negated: _,
            } => {
                self.subquery(subquery)?;
                Ok(Bound::default())
            }
            Expr::Subquery(subquery) => {
                if self.subquery(subquery)? != 1 {
                    return Err(Diagnostic::new(
                        code::SYNTAX,
                        "a subquery used as a value must give one column",
                    )
                    .at(span_of(subquery)));
                }
                Ok(Bound::default())
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                is_some: _,
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                if !matches!(
                    compare_op,
                    BinaryOperator::Eq
                        | BinaryOperator::NotEq
                        | BinaryOperator::Lt
                        | BinaryOperator::LtEq
                        | BinaryOperator::Gt
                        | BinaryOperator::GtEq
                ) {
                    return Err(unsupported(
                        format!("ANY/ALL with `{compare_op}`"),
                        left.as_ref(),
                    ));
                }
                self.expr(left)?;
                match right.as_mut() {
                    Expr::Subquery(subquery) => {
                        self.subquery(subquery)?;
                    }
                    other => {
                        self.expr(other)?;
                    }
                }
                Ok(Bound::default())
            }
            Expr::Cast {
                kind,
                expr: inner,
                data_type,
                array,
                format,
            } => {
                if !matches!(kind, CastKind::Cast | CastKind::DoubleColon)
                    || *array
                    || format.is_some()
                {
                    return Err(unsupported("this cast", inner.as_ref()));
                }
                check_type(data_type, inner.as_ref())?;
                // A literal cast explicitly keeps that cast alone (no
                // `$1::INT::BIGINT`), so compiling the output again
                // changes nothing.
                let bound = match inner.as_mut() {
                    Expr::Value(value) => {
                        let span = Span::from_parser(value.span);
                        self.value_as(span, inner, false)?
                    }
                    _ => self.expr(inner)?,
                };
                // `'2026-12-01'::date` is a typed literal for the policies
                // (the rewrite run only needs to know there is a literal).
                let literal = match bound.literal {
                    Some(Literal::Text(value)) if !self.rewriting() => Some(Literal::Typed {
                        type_name: data_type.to_string().to_lowercase(),
                        value,
                    }),
                    other => other,
                };
                Ok(Bound {
                    column: bound.column,
                    literal,
                    param: bound.param,
                })
            }
            Expr::Ceil { expr: inner, field } | Expr::Floor { expr: inner, field } => {
                let plain = matches!(
                    field,
                    sqlparser::ast::CeilFloorKind::DateTimeField(
                        sqlparser::ast::DateTimeField::NoDateTime
                    )
                );
                if !plain {
                    return Err(unsupported("CEIL/FLOOR with a unit or scale", inner));
                }
                let name = if matches!(expr, Expr::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                let span = self.described_span(|| expr.span());
                self.record_function(name, 1, false, span);
                if let Expr::Ceil { expr: inner, .. } | Expr::Floor { expr: inner, .. } = expr {
                    self.expr(inner)?;
                }
                Ok(Bound::default())
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => {
                self.expr(timestamp)?;
                self.expr(time_zone)?;
                Ok(Bound::default())
            }
            Expr::Extract {
                field: _,
                syntax: _,
                expr: inner,
            } => {
                self.expr(inner)?;
                Ok(Bound::default())
            }
            Expr::Substring {
                expr: inner,
                substring_from,
                substring_for,
                special: _,
                shorthand,
            } => {
                if *shorthand {
                    return Err(unsupported("SUBSTR shorthand", inner.as_ref()));
                }
                self.expr(inner)?;
                if let Some(from) = substring_from {
                    self.expr(from)?;
                }
                if let Some(length) = substring_for {
                    self.expr(length)?;
                }
                Ok(Bound::default())
            }
            Expr::Trim {
                expr: inner,
                trim_where: _,
                trim_what,
                trim_characters,
            } => {
                if trim_characters.is_some() {
                    return Err(unsupported("TRIM with a character list", inner.as_ref()));
                }
                self.expr(inner)?;
                if let Some(what) = trim_what {
                    self.expr(what)?;
                }
                Ok(Bound::default())
            }
            Expr::Position { expr: needle, r#in } => {
                self.expr(needle)?;
                self.expr(r#in)?;
                Ok(Bound::default())
            }
            Expr::Case {
                case_token: _,
                end_token: _,
                operand,
                conditions,
                else_result,
            } => {
                if let Some(operand) = operand {
                    self.expr(operand)?;
                }
                for when in conditions.iter_mut() {
                    self.expr(&mut when.condition)?;
                    self.expr(&mut when.result)?;
                }
                if let Some(otherwise) = else_result {
                    self.expr(otherwise)?;
                }
                Ok(Bound::default())
            }
            Expr::Tuple(items) => {
                self.exprs(items)?;
                Ok(Bound::default())
            }
            Expr::Function(function) => {
                self.function(function)?;
                Ok(Bound::default())
            }
            other => Err(unsupported("this kind of expression", other)),
        }
    }

    fn value(&mut self, span: Option<Span>, expr: &mut Expr) -> Result<Bound> {
        self.value_as(span, expr, true)
    }

    /// A literal; `typed`: give a number parameter the type PostgreSQL
    /// gives the literal (not when the literal is cast already).
    fn value_as(&mut self, span: Option<Span>, expr: &mut Expr, typed: bool) -> Result<Bound> {
        let Expr::Value(ValueWithSpan { value, span: _ }) = expr else {
            return Err(Diagnostic::new(code::INTERNAL, "literal expected"));
        };
        let (literal, param) = match value {
            Value::Null => (Literal::Null, None),
            Value::Boolean(b) => (Literal::Boolean(*b), None),
            Value::Number(text, long) => {
                if *long {
                    return Err(Diagnostic::new(
                        code::UNSUPPORTED,
                        "a number with a type suffix is not PostgreSQL",
                    )
                    .at(span));
                }
                match text.parse::<i64>() {
                    Ok(n) => (Literal::Integer(n), Some(ParamValue::Integer(n))),
                    Err(_) => {
                        let valid = text.chars().all(|c| {
                            c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_')
                        });
                        if !valid {
                            return Err(Diagnostic::new(
                                code::SYNTAX,
                                format!("`{text}` is not a number"),
                            )
                            .at(span));
                        }
                        (
                            Literal::Number(text.clone()),
                            Some(ParamValue::Number(text.replace('_', ""))),
                        )
                    }
                }
            }
            Value::SingleQuotedString(text)
            | Value::EscapedStringLiteral(text)
            | Value::UnicodeStringLiteral(text)
            | Value::NationalStringLiteral(text) => (
                Literal::Text(text.clone()),
                Some(ParamValue::Text(text.clone())),
            ),
            Value::DollarQuotedString(dollar) => (
                Literal::Text(dollar.value.clone()),
                Some(ParamValue::Text(dollar.value.clone())),
            ),
            Value::Placeholder(_) => {
                return Err(Diagnostic::new(
                    code::NOT_ALLOWED,
                    "bind parameters ($1, ?) cannot appear in model SQL",
                )
                .at(span)
                .hint("write the value itself; the compiler makes it a parameter"));
            }
            _ => {
                return Err(Diagnostic::new(
                    code::UNSUPPORTED,
                    "this kind of literal is not supported",
                )
                .at(span));
            }
        };
        if text_has_nul(&literal) {
            return Err(
                Diagnostic::new(code::SYNTAX, "a string may not contain a NUL character").at(span),
            );
        }
        let mut bound = Bound {
            literal: Some(literal),
            ..Bound::default()
        };
        if let (true, Some(value)) = (self.rewriting(), param) {
            // A number keeps the type PostgreSQL gives the literal (integer,
            // bigint or numeric); text stays untyped, as a quoted literal
            // is, and takes its type from where it stands.
            let data_type = match &value {
                _ if !typed => None,
                ParamValue::Integer(n) if i32::try_from(*n).is_ok() => Some(DataType::Int(None)),
                ParamValue::Integer(_) => Some(DataType::BigInt(None)),
                ParamValue::Number(_) => {
                    Some(DataType::Numeric(sqlparser::ast::ExactNumberInfo::None))
                }
                ParamValue::Text(_) => None,
            };
            let index = self.new_param(value);
            bound.param = Some(index);
            *expr = match data_type {
                Some(data_type) => Expr::Cast {
                    kind: CastKind::DoubleColon,
                    expr: Box::new(placeholder(index)),
                    data_type,
                    array: false,
                    format: None,
                },
                None => placeholder(index),
            };
        }
        Ok(bound)
    }

    /// Records `column op literals` and, in the rewrite run, applies an
    /// accent-insensitive match the policies asked for.
    fn comparison(
        &mut self,
        expr: &mut Expr,
        op: ComparisonOp,
        column: &Bound,
        others: &[Bound],
        span: Option<Span>,
    ) -> Result<()> {
        let Some((column_id, _)) = column.column else {
            // `'x' = col`: the column is on the right.
            if let ([other], Some(literal)) = (others, &column.literal)
                && let Some((column_id, _)) = other.column
            {
                let flipped = match op {
                    ComparisonOp::Lt => ComparisonOp::Gt,
                    ComparisonOp::LtEq => ComparisonOp::GtEq,
                    ComparisonOp::Gt => ComparisonOp::Lt,
                    ComparisonOp::GtEq => ComparisonOp::LtEq,
                    same => same,
                };
                if matches!(
                    flipped,
                    ComparisonOp::Like
                        | ComparisonOp::NotLike
                        | ComparisonOp::Ilike
                        | ComparisonOp::NotIlike
                ) {
                    return Ok(());
                }
                let id = self.record_comparison(column_id, flipped, || vec![literal.clone()], span);
                if self.plan.is_some_and(|plan| plan.unaccent.contains(&id)) {
                    let (Some(param), Expr::BinaryOp { right, .. }) = (column.param, &*expr) else {
                        return Err(Diagnostic::new(
                            code::POLICY_FAILED,
                            "an accent-insensitive match was asked for a comparison without a text value",
                        ));
                    };
                    let column_expr = right.as_ref().clone();
                    *expr = self.unaccent_ilike(column_expr, flipped, &[param])?;
                    self.applied_unaccent.insert(id);
                }
            }
            return Ok(());
        };
        if others.iter().any(|b| b.literal.is_none()) {
            return Ok(());
        }
        let literals = || others.iter().filter_map(|b| b.literal.clone()).collect();
        let id = self.record_comparison(column_id, op, literals, span);
        if self.plan.is_some_and(|plan| plan.unaccent.contains(&id)) {
            let params: Option<Vec<usize>> = others.iter().map(|b| b.param).collect();
            let Some(params) = params else {
                return Err(Diagnostic::new(
                    code::POLICY_FAILED,
                    "an accent-insensitive match was asked for a comparison without text values",
                ));
            };
            let column_expr = match &*expr {
                Expr::BinaryOp { left, .. } => left.as_ref().clone(),
                Expr::Like { expr, .. } | Expr::ILike { expr, .. } | Expr::InList { expr, .. } => {
                    expr.as_ref().clone()
                }
                _ => {
                    return Err(Diagnostic::new(
                        code::POLICY_FAILED,
                        "an accent-insensitive match was asked for a comparison that is not =, LIKE, ILIKE or IN",
                    ));
                }
            };
            *expr = self.unaccent_ilike(column_expr, op, &params)?;
            self.applied_unaccent.insert(id);
        }
        Ok(())
    }

    fn record_comparison(
        &mut self,
        column: u32,
        op: ComparisonOp,
        literals: impl FnOnce() -> Vec<Literal>,
        span: Option<Span>,
    ) -> u32 {
        let id = self.ids.comparisons;
        self.ids.comparisons += 1;
        if self.rewriting() {
            return id;
        }
        self.query.comparisons.push(Comparison {
            id,
            column,
            op,
            literals: literals(),
        });
        self.spans.comparisons.push(span);
        id
    }

    /// `col = $n` → `unaccent(col) ILIKE unaccent($n)` with the value
    /// escaped and wrapped in `%`; LIKE/ILIKE keep their pattern; IN lists
    /// become ORs. Only text values qualify.
    fn unaccent_ilike(&mut self, column: Expr, op: ComparisonOp, params: &[usize]) -> Result<Expr> {
        let escape = match op {
            ComparisonOp::Eq | ComparisonOp::InList => true,
            ComparisonOp::Like | ComparisonOp::Ilike => false,
            _ => {
                return Err(Diagnostic::new(
                    code::POLICY_FAILED,
                    "an accent-insensitive match was asked for a negated or ordering comparison",
                ));
            }
        };
        let mut alternatives = Vec::new();
        for &index in params {
            let Some(Param {
                value: ParamValue::Text(text),
            }) = self.params.get(index - 1).cloned()
            else {
                return Err(Diagnostic::new(
                    code::POLICY_FAILED,
                    "an accent-insensitive match was asked for a non-text value",
                ));
            };
            if escape {
                let escaped = text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                self.params[index - 1].value = ParamValue::Text(format!("%{escaped}%"));
            }
            alternatives.push(Expr::ILike {
                negated: false,
                any: false,
                expr: Box::new(call("unaccent", vec![column.clone()])),
                pattern: Box::new(call("unaccent", vec![placeholder(index)])),
                escape_char: None,
            });
        }
        let mut iter = alternatives.into_iter();
        let Some(first) = iter.next() else {
            return Err(Diagnostic::new(code::POLICY_FAILED, "an empty IN list"));
        };
        let combined = iter.fold(first, |acc, next| Expr::BinaryOp {
            left: Box::new(acc),
            op: BinaryOperator::Or,
            right: Box::new(next),
        });
        Ok(nested(combined))
    }

    /// An expression subquery; the number of columns it gives.
    fn subquery(&mut self, query: &mut SqlQuery) -> Result<usize> {
        let saved_clause = self.clause;
        self.depth += 1;
        let result = self.query_block(query, BlockKind::ExpressionSubquery, false);
        self.depth -= 1;
        self.clause = saved_clause;
        result.map(|outputs| outputs.len())
    }

    fn record_function(
        &mut self,
        name: &str,
        arguments: u32,
        aggregate_or_window: bool,
        span: Option<Span>,
    ) -> u32 {
        let id = self.ids.functions;
        self.ids.functions += 1;
        if self.rewriting() {
            return id;
        }
        self.query.functions.push(FunctionCall {
            id,
            name: name.to_string(),
            arguments,
            aggregate_or_window,
        });
        self.spans.functions.push(span);
        id
    }

    fn function(&mut self, function: &mut Function) -> Result<()> {
        let Function {
            name,
            uses_odbc_syntax,
            parameters,
            args,
            filter,
            null_treatment,
            over,
            within_group,
        } = function;
        let span = span_of(name);
        if *uses_odbc_syntax
            || null_treatment.is_some()
            || !within_group.is_empty()
            || !matches!(parameters, FunctionArguments::None)
        {
            return Err(unsupported("this form of function call", name));
        }
        let (full_name, _) = function_name(name)?;
        let id = self.record_function(&full_name, 0, over.is_some() || filter.is_some(), span);
        let saved = self.clause;
        self.clause = Clause::FunctionArgument;
        let count = match args {
            FunctionArguments::None => 0,
            FunctionArguments::Subquery(query) => {
                return Err(unsupported("a function over a subquery", query.as_ref()));
            }
            FunctionArguments::List(FunctionArgumentList {
                duplicate_treatment: _,
                args,
                clauses,
            }) => {
                for arg in args.iter_mut() {
                    match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => {
                            self.expr(expr)?;
                        }
                        FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {}
                        FunctionArg::Named { name, .. }
                        | FunctionArg::ExprNamed {
                            name: Expr::Identifier(name),
                            ..
                        } => {
                            return Err(unsupported("named function arguments", name));
                        }
                        other => return Err(unsupported("this function argument", other)),
                    }
                }
                for clause in clauses.iter_mut() {
                    match clause {
                        FunctionArgumentClause::OrderBy(order) => {
                            for OrderByExpr {
                                expr,
                                options: _,
                                with_fill,
                            } in order.iter_mut()
                            {
                                if with_fill.is_some() {
                                    return Err(unsupported("WITH FILL", expr));
                                }
                                self.expr(expr)?;
                            }
                        }
                        _ => return Err(unsupported("this clause inside a function call", name)),
                    }
                }
                args.len() as u32
            }
        };
        if let Some(call) = self.query.functions.get_mut(id as usize) {
            call.arguments = count;
        }
        if let Some(filter) = filter {
            self.clause = Clause::Where;
            self.expr(filter)?;
        }
        if let Some(over) = over {
            self.feature(FeatureKind::WindowFunction, name);
            let WindowType::WindowSpec(spec) = over else {
                return Err(unsupported("a named window", name));
            };
            let sqlparser::ast::WindowSpec {
                window_name,
                partition_by,
                order_by,
                window_frame,
            } = spec;
            if window_name.is_some() || window_frame.is_some() {
                return Err(unsupported("a window frame or named window", name));
            }
            self.clause = Clause::Other;
            self.exprs(partition_by)?;
            for OrderByExpr {
                expr,
                options: _,
                with_fill,
            } in order_by.iter_mut()
            {
                if with_fill.is_some() {
                    return Err(unsupported("WITH FILL", expr));
                }
                self.expr(expr)?;
            }
        }
        self.clause = saved;
        Ok(())
    }
}

// -------------------------------------------------------------------- helpers

/// A function's name as policies see it (lower-case, with its schema when
/// given), and its last part.
fn function_name(name: &ObjectName) -> Result<(String, String)> {
    let parts = idents(name)?;
    if parts.len() > 2 {
        return Err(unsupported(
            "a function name with more than two parts",
            name,
        ));
    }
    let full = parts
        .iter()
        .map(|p| normal(p))
        .collect::<Vec<_>>()
        .join(".");
    let bare = parts.last().map(|p| normal(p)).unwrap_or_default();
    Ok((full, bare))
}

fn unknown_column<'a>(
    column: &str,
    relation: &str,
    columns: impl Iterator<Item = &'a str> + Clone,
    span: &Option<Span>,
) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(
        code::UNKNOWN_COLUMN,
        format!("`{relation}` has no column `{column}`"),
    )
    .at(*span);
    diagnostic = match nearest(column, columns.clone()) {
        Some(near) => diagnostic.hint(format!("did you mean `{near}`?")),
        None => diagnostic.hint(format!(
            "its columns are: {}",
            columns.collect::<Vec<_>>().join(", ")
        )),
    };
    diagnostic
}

fn table_columns(table: &Table) -> Vec<ScopeColumn> {
    table
        .columns
        .iter()
        .map(|c| ScopeColumn {
            name: Cow::Borrowed(c.name),
            kind: Some(c.kind),
            staff_only: c.staff_only,
        })
        .collect()
}

/// Applies a CTE's or derived table's column list to what its query gives.
fn rename(outputs: Vec<Output>, declared: &[String], at: &Ident) -> Result<Vec<Output>> {
    if declared.is_empty() {
        return Ok(outputs);
    }
    if declared.len() > outputs.len() {
        return Err(Diagnostic::new(
            code::SYNTAX,
            format!(
                "`{}` names {} columns, its query gives {}",
                at.value,
                declared.len(),
                outputs.len()
            ),
        )
        .at(span_of(at)));
    }
    Ok(outputs
        .into_iter()
        .enumerate()
        .map(|(i, output)| match declared.get(i) {
            Some(name) => Output {
                name: name.clone(),
                kind: output.kind,
            },
            None => output,
        })
        .collect())
}

/// PostgreSQL's name for an unaliased select-list expression.
fn output_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => normal(ident),
        Expr::CompoundIdentifier(parts) => parts.last().map(normal).unwrap_or_default(),
        Expr::Function(function) => function
            .name
            .0
            .last()
            .and_then(|part| match part {
                ObjectNamePart::Identifier(ident) => Some(normal(ident)),
                ObjectNamePart::Function(_) => None,
            })
            .unwrap_or_else(|| "?column?".into()),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => output_name(expr),
        Expr::Case { .. } => "case".into(),
        Expr::Exists { .. } => "exists".into(),
        _ => "?column?".into(),
    }
}

fn is_ordinal(expr: &Expr) -> bool {
    matches!(expr, Expr::Value(ValueWithSpan { value: Value::Number(text, false), .. }) if text.parse::<u64>().is_ok())
}

fn is_wildcard(item: &SelectItem) -> bool {
    matches!(
        item,
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
    )
}

fn check_wildcard_options(options: &WildcardAdditionalOptions) -> Result<()> {
    let WildcardAdditionalOptions {
        wildcard_token,
        opt_ilike,
        opt_exclude,
        opt_except,
        opt_replace,
        opt_rename,
        opt_alias,
    } = options;
    if opt_ilike.is_some()
        || opt_exclude.is_some()
        || opt_except.is_some()
        || opt_replace.is_some()
        || opt_rename.is_some()
        || opt_alias.is_some()
    {
        return Err(unsupported("`*` with modifiers", &wildcard_token.0.span));
    }
    Ok(())
}

fn count_literal(expr: &Expr, what: &str) -> Result<u64> {
    match expr {
        Expr::Value(ValueWithSpan {
            value: Value::Number(text, false),
            ..
        }) => text.parse::<u64>().map_err(|_| {
            Diagnostic::new(code::UNSUPPORTED, format!("{what} must be a whole number"))
                .at(span_of(expr))
        }),
        other => Err(unsupported(
            format!("{what} that is not a plain number"),
            other,
        )),
    }
}

fn apply_cap(limit_clause: &mut Option<LimitClause>, cap: u64) {
    let capped = |current: Option<&Expr>| -> bool {
        matches!(current, Some(Expr::Value(ValueWithSpan { value: Value::Number(text, false), .. })) if text.parse::<u64>().is_ok_and(|n| n <= cap))
    };
    match limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => {
            if !capped(limit.as_ref()) {
                *limit = Some(number(cap));
            }
        }
        _ => {
            *limit_clause = Some(LimitClause::LimitOffset {
                limit: Some(number(cap)),
                offset: None,
                limit_by: Vec::new(),
            });
        }
    }
}

/// Types a cast or typed literal may name: plain scalars and the schema's
/// enums. (`::regclass` and friends read the system catalogs.)
fn check_type(data_type: &DataType, node: &impl Located) -> Result<()> {
    let allowed = match data_type {
        DataType::Int(None)
        | DataType::Integer(None)
        | DataType::BigInt(None)
        | DataType::SmallInt(None)
        | DataType::Int2(None)
        | DataType::Int4(None)
        | DataType::Int8(None)
        | DataType::Numeric(_)
        | DataType::Decimal(_)
        | DataType::Real
        | DataType::Float4
        | DataType::Float8
        | DataType::DoublePrecision
        | DataType::Text
        | DataType::Varchar(_)
        | DataType::CharacterVarying(_)
        | DataType::Boolean
        | DataType::Bool
        | DataType::Date
        | DataType::Time(None, _)
        | DataType::Timestamp(None, _)
        | DataType::Interval {
            fields: None,
            precision: None,
        } => true,
        DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            let words: Vec<String> = name
                .0
                .iter()
                .map(|p| p.to_string().to_lowercase().trim_matches('"').to_string())
                .collect();
            matches!(words.as_slice(), [one] if catalog::ENUMS.iter().any(|e| e.name == one) || one == "timestamptz" || one == "int8" || one == "int4")
        }
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(not_allowed(format!("a cast to `{data_type}` is not allowed"), node)
            .hint("cast to a number, text, boolean, date, time, timestamp(tz), interval or an enum of the schema"))
    }
}

fn string_value(value: &Value) -> Option<String> {
    match value {
        Value::SingleQuotedString(text)
        | Value::EscapedStringLiteral(text)
        | Value::UnicodeStringLiteral(text) => Some(text.clone()),
        Value::DollarQuotedString(dollar) => Some(dollar.value.clone()),
        _ => None,
    }
}

fn literal_of(expr: &Expr) -> Option<Literal> {
    match expr {
        Expr::Value(ValueWithSpan { value, .. }) => match value {
            Value::Null => Some(Literal::Null),
            Value::Boolean(b) => Some(Literal::Boolean(*b)),
            Value::Number(text, false) => Some(
                text.parse::<i64>()
                    .map_or_else(|_| Literal::Number(text.clone()), Literal::Integer),
            ),
            other => string_value(other).map(Literal::Text),
        },
        Expr::Cast {
            expr, data_type, ..
        } => match literal_of(expr) {
            Some(Literal::Text(value)) => Some(Literal::Typed {
                type_name: data_type.to_string().to_lowercase(),
                value,
            }),
            other => other,
        },
        Expr::TypedString(typed) => string_value(&typed.value.value).map(|value| Literal::Typed {
            type_name: typed.data_type.to_string().to_lowercase(),
            value,
        }),
        Expr::Nested(inner) => literal_of(inner),
        _ => None,
    }
}

fn text_has_nul(literal: &Literal) -> bool {
    match literal {
        Literal::Text(text) | Literal::Number(text) => text.contains('\0'),
        Literal::Typed { value, .. } => value.contains('\0'),
        _ => false,
    }
}

fn expr_value_span(value: &ValueWithSpan) -> Option<Span> {
    Span::from_parser(value.span)
}

/// `TABLE x` as `SELECT * FROM x`.
fn table_as_select(table: &sqlparser::ast::Table) -> Result<SetExpr> {
    let sqlparser::ast::Table {
        table_name,
        schema_name,
    } = table;
    let Some(table_name) = table_name else {
        return Err(Diagnostic::new(code::SYNTAX, "TABLE needs a name"));
    };
    let statements = sqlparser::parser::Parser::parse_sql(
        &sqlparser::dialect::PostgreSqlDialect {},
        "SELECT * FROM t",
    )
    .map_err(|error| Diagnostic::new(code::INTERNAL, error.to_string()))?;
    let Some(Statement::Query(mut query)) = statements.into_iter().next() else {
        return Err(Diagnostic::new(code::INTERNAL, "TABLE"));
    };
    if let SetExpr::Select(select) = query.body.as_mut()
        && let Some(TableWithJoins {
            relation: TableFactor::Table { name, .. },
            ..
        }) = select.from.first_mut()
    {
        let mut parts = Vec::new();
        if let Some(schema) = schema_name {
            parts.push(Ident::new(schema.clone()));
        }
        parts.push(Ident::new(table_name.clone()));
        *name = ObjectName::from(parts);
    }
    Ok(*query.body)
}

/// `SELECT "a"."c1", … FROM public.t AS "a" WHERE <selection>`, field for
/// field as the parser builds it.
fn scoped_select(table: &'static Table, alias: &str, selection: Expr) -> SqlQuery {
    let projection = table
        .readable_columns()
        .map(|c| SelectItem::UnnamedExpr(compound(vec![ident(alias), ident(c.name)])))
        .collect();
    let select = Select {
        select_token: AttachedToken::empty(),
        optimizer_hints: Vec::new(),
        distinct: None,
        select_modifiers: None,
        top: None,
        top_before_distinct: false,
        projection,
        exclude: None,
        into: None,
        from: vec![TableWithJoins {
            relation: TableFactor::Table {
                name: public_name(table.name),
                alias: Some(TableAlias {
                    explicit: true,
                    name: ident(alias),
                    columns: Vec::new(),
                    at: None,
                }),
                args: None,
                with_hints: Vec::new(),
                version: None,
                with_ordinality: false,
                partitions: Vec::new(),
                json_path: None,
                sample: None,
                index_hints: Vec::new(),
            },
            joins: Vec::new(),
        }],
        lateral_views: Vec::new(),
        prewhere: None,
        selection: Some(selection),
        connect_by: Vec::new(),
        group_by: GroupByExpr::Expressions(Vec::new(), Vec::new()),
        cluster_by: Vec::new(),
        distribute_by: Vec::new(),
        sort_by: Vec::new(),
        having: None,
        named_window: Vec::new(),
        qualify: None,
        window_before_qualify: false,
        value_table_mode: None,
        flavor: SelectFlavor::Standard,
    };
    SqlQuery {
        with: None,
        body: Box::new(SetExpr::Select(Box::new(select))),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: Vec::new(),
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: Vec::new(),
    }
}

fn public_name(table: &str) -> ObjectName {
    ObjectName::from(vec![Ident::new("public"), Ident::new(table)])
}

fn placeholder(index: usize) -> Expr {
    Expr::Value(Value::Placeholder(format!("${index}")).into())
}

fn number(n: u64) -> Expr {
    Expr::Value(Value::Number(n.to_string(), false).into())
}

fn compound(parts: Vec<Ident>) -> Expr {
    if parts.len() == 1 {
        Expr::Identifier(parts.into_iter().next().unwrap_or_else(|| Ident::new("")))
    } else {
        Expr::CompoundIdentifier(parts)
    }
}

fn nested(expr: Expr) -> Expr {
    match expr {
        Expr::Nested(_) => expr,
        other => Expr::Nested(Box::new(other)),
    }
}

fn and(left: Expr, right: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(left),
        op: BinaryOperator::And,
        right: Box::new(right),
    }
}

fn conjunction(predicates: Vec<Expr>) -> Option<Expr> {
    predicates.into_iter().reduce(and).map(nested)
}

fn equals(path: &[&str], value: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(compound(path.iter().map(|p| ident(p)).collect())),
        op: BinaryOperator::Eq,
        right: Box::new(value),
    }
}

/// `$n::INT` (or `::BIGINT`): a number parameter typed as PostgreSQL types
/// the literal `n`.
fn typed_number(index: usize, n: i64) -> Expr {
    Expr::Cast {
        kind: CastKind::DoubleColon,
        expr: Box::new(placeholder(index)),
        data_type: if i32::try_from(n).is_ok() {
            DataType::Int(None)
        } else {
            DataType::BigInt(None)
        },
        array: false,
        format: None,
    }
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

/// A name the compiler prints: always quoted, so no alias or column name
/// can be read as a keyword or anything else.
fn ident(name: &str) -> Ident {
    Ident::with_quote('"', name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote_ident(name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// What `scoped_subquery` used to do: write the text, parse it.
    fn parsed_scoped_select(table: &Table, alias: &str, conditions: &[(&str, &str)]) -> String {
        let path = |column: &str| format!("{}.{}", quote_ident(alias), quote_ident(column));
        let text = format!(
            "SELECT {} FROM public.{} AS {} WHERE {}",
            table
                .readable_columns()
                .map(|c| path(c.name))
                .collect::<Vec<_>>()
                .join(", "),
            table.name,
            quote_ident(alias),
            conditions
                .iter()
                .map(|(column, value)| format!("{} = {value}", path(column)))
                .collect::<Vec<_>>()
                .join(" AND ")
        );
        let statements =
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, &text)
                .unwrap();
        match statements.as_slice() {
            [Statement::Query(query)] => query.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn built_scoped_subquery_prints_as_the_parsed_text() {
        for table in catalog::TABLES {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.name).collect();
            for alias in ["a", "Ab", "we\"ird", "select", table.name] {
                for (first, second) in [(0, None), (0, Some(1)), (1, Some(0))] {
                    let mut conditions = vec![(columns[first], "$1::INT")];
                    if let Some(second) = second.filter(|i| *i < columns.len()) {
                        conditions.push((columns[second], "$2::BIGINT"));
                    }
                    let exprs = conditions.iter().enumerate().map(|(i, (column, _))| {
                        let value = if i == 0 {
                            typed_number(1, 5)
                        } else {
                            typed_number(2, 1 << 40)
                        };
                        equals(&[alias, column], value)
                    });
                    let built = scoped_select(table, alias, exprs.reduce(and).unwrap());
                    assert_eq!(
                        built.to_string(),
                        parsed_scoped_select(table, alias, &conditions),
                        "{} AS {alias}",
                        table.name
                    );
                }
            }
        }
    }
}
