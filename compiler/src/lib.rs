//! The rule-guarded SQL compiler. Pure: no IO, no async, no clock.
//!
//! Model-written SQL goes through two steps with the policies in between:
//!
//! 1. [`analyze`] parses the text (PostgreSQL dialect, exactly one
//!    statement), binds every table, alias, CTE and column against the
//!    [`catalog`], and describes the bound statement ([`describe::Query`])
//!    for the policy modules. Anything it does not explicitly handle is
//!    refused.
//! 2. The caller runs the policies (Wasm modules, in the runtime) on the
//!    description, then [`Analysis::finish`] checks their decisions, applies
//!    the rewrites they asked for, turns every literal into a bind
//!    parameter and prints the final SQL — or returns the first denial as a
//!    [`Diagnostic`].
//!
//! Fail closed: `finish` refuses a statement in which any relation was left
//! without its tenant (and, where rows belong to a customer, customer)
//! scope, or a SELECT without a row cap, whatever the policies said.

pub mod catalog;
pub mod describe;
pub mod diagnostic;
pub mod params;
mod walk;

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use describe::{Access, Decision, Node, Query, Rewrite, Session, SessionValue, StatementKind};
pub use diagnostic::{Diagnostic, Location, Span, code};
pub use params::{Param, ParamValue};

/// The longest SQL text accepted, in bytes.
pub const MAX_SQL_BYTES: usize = 16 * 1024;
/// How deeply expressions and queries may nest.
pub const MAX_NESTING: usize = 40;

/// A parsed, bound and described statement, waiting for the policies.
#[derive(Debug, Clone)]
pub struct Analysis {
    sql: String,
    statement: sqlparser::ast::Statement,
    query: Query,
    spans: walk::Spans,
}

/// One policy module's decision, with the module's name for errors.
#[derive(Debug, Clone)]
pub struct PolicyDecision {
    /// The module, e.g. `tenant-scope@0.1.0`.
    pub module: String,
    pub decision: Decision,
}

/// A statement that may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The final SQL, with `$1`, `$2`, … for the parameters.
    pub sql: String,
    pub params: Vec<Param>,
    pub kind: StatementKind,
    /// True when running it gives rows: a SELECT, or an INSERT … RETURNING.
    pub returns_rows: bool,
    /// The rewrites applied, deduplicated, in a stable order.
    pub rewrites: Vec<Rewrite>,
    /// The policy rules that fired, as `module: rule`.
    pub rules: Vec<String>,
}

impl Compiled {
    /// The SQL with each parameter written back in as a literal: for
    /// people and tests to read (and to check that compiling it again
    /// changes nothing). Never what runs.
    pub fn inlined_sql(&self) -> String {
        let mut out = String::with_capacity(self.sql.len() + 16 * self.params.len());
        let mut chars = self.sql.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c == '$' {
                let mut digits = String::new();
                while let Some((_, d)) = chars.peek().copied().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(d);
                    chars.next();
                }
                if let Some(param) = digits
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| self.params.get(n.wrapping_sub(1)))
                {
                    match &param.value {
                        ParamValue::Integer(n) => out.push_str(&n.to_string()),
                        ParamValue::Number(text) => out.push_str(text),
                        ParamValue::Text(text) => {
                            out.push('\'');
                            out.push_str(&text.replace('\'', "''"));
                            out.push('\'');
                        }
                    }
                    continue;
                }
                out.push('$');
                out.push_str(&digits);
                continue;
            }
            out.push(c);
        }
        out
    }
}

/// Parses, binds and describes `sql` for `session`.
pub fn analyze(sql: &str, session: Session) -> Result<Analysis, Diagnostic> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(Diagnostic::new(
            code::TOO_LARGE,
            format!(
                "the SQL is {} bytes; at most {MAX_SQL_BYTES} are accepted",
                sql.len()
            ),
        ));
    }
    if sql.contains("==") {
        reject_foreign_tokens(sql)?;
    }
    let mut statements = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .and_then(|mut parser| parser.parse_statements())
        .map_err(parse_error)?;
    if statements.len() != 1 {
        let message = if statements.is_empty() {
            "there is no SQL statement".to_string()
        } else {
            format!(
                "exactly one statement may run; this text has {}",
                statements.len()
            )
        };
        let span = statements
            .get(1)
            .and_then(|second| Span::from_parser(sqlparser::ast::Spanned::span(second)));
        return Err(Diagnostic::new(code::STATEMENT_COUNT, message).at(span));
    }
    let mut statement = statements.remove(0);
    let mut walker = walk::Walker::new(session, None);
    walker.statement(&mut statement)?;
    Ok(Analysis {
        sql: sql.to_string(),
        statement,
        query: walker.query,
        spans: walker.spans,
    })
}

/// sqlparser reads some other dialects' syntax even in PostgreSQL mode;
/// where PostgreSQL would read the text differently (or not at all), the
/// guard refuses rather than judge a statement the database won't run.
fn reject_foreign_tokens(sql: &str) -> Result<(), Diagnostic> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|error| parse_error(ParserError::TokenizerError(error.to_string())))?;
    for token in tokens {
        if token.token == Token::DoubleEq {
            let span = Span::from_parser(token.span);
            return Err(
                Diagnostic::new(code::SYNTAX, "`==` is not a PostgreSQL operator")
                    .at(span)
                    .hint("write `=`"),
            );
        }
    }
    Ok(())
}

fn parse_error(error: ParserError) -> Diagnostic {
    match error {
        ParserError::RecursionLimitExceeded => Diagnostic::new(
            code::TOO_LARGE,
            format!("the SQL nests deeper than {MAX_NESTING} levels"),
        ),
        ParserError::TokenizerError(message) | ParserError::ParserError(message) => {
            let span = location_in(&message).map(|start| Span { start, end: start });
            let message = match message.find(" at Line: ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            Diagnostic::new(code::SYNTAX, message).at(span)
        }
    }
}

/// sqlparser reports positions as "… at Line: 3, Column: 14".
fn location_in(message: &str) -> Option<Location> {
    let rest = &message[message.find("Line: ")? + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(Location {
        line: line.trim().parse().ok()?,
        column: column.parse().ok()?,
    })
}

impl Analysis {
    /// What the policies are shown.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The SQL as the model wrote it.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Where `node` is in the original SQL.
    pub fn span(&self, node: &Node) -> Option<Span> {
        let at = |spans: &Vec<Option<Span>>, id: &u32| spans.get(*id as usize).copied().flatten();
        match node {
            Node::Statement => None,
            Node::Relation(id) => at(&self.spans.relations, id),
            Node::Column(id) => at(&self.spans.columns, id),
            Node::Comparison(id) => at(&self.spans.comparisons, id),
            Node::Function(id) => at(&self.spans.functions, id),
            Node::Feature(id) => at(&self.spans.features, id),
            Node::InsertColumn(name) => self.spans.insert_columns.get(name).copied().flatten(),
        }
    }

    /// Applies the policies' decisions: the first denial refuses the
    /// statement; otherwise their rewrites are checked, applied, and the
    /// final SQL printed.
    pub fn finish(self, decisions: &[PolicyDecision]) -> Result<Compiled, Diagnostic> {
        for PolicyDecision { module, decision } in decisions {
            if let Some(denial) = decision.denials.first() {
                let mut diagnostic = Diagnostic::new(denial.code.clone(), denial.message.clone())
                    .at(self.span(&denial.at));
                diagnostic.hint = denial.hint.clone();
                name_the_policy(&mut diagnostic, module);
                return Err(diagnostic);
            }
        }
        let plan = self.plan(decisions)?;
        self.check_coverage(&plan)?;

        let self_sql_len = self.sql.len();
        let Analysis {
            mut statement,
            query,
            ..
        } = self;
        let mut walker = walk::Walker::new(query.session, Some(&plan));
        walker.statement(&mut statement)?;
        // Belt and braces: every scope the plan holds must be in the SQL.
        for (relation, scopes) in &plan.scopes {
            for (column, value) in scopes {
                if !walker
                    .applied
                    .contains(&(*relation, column.clone(), *value))
                {
                    return Err(Diagnostic::new(
                        code::INTERNAL,
                        format!(
                            "the compiler could not place the scope {column} on relation {relation}; the statement was refused"
                        ),
                    ));
                }
            }
        }
        if let Some(missing) = plan.unaccent.difference(&walker.applied_unaccent).next() {
            return Err(Diagnostic::new(
                code::INTERNAL,
                format!(
                    "the compiler could not apply the accent-insensitive match to comparison {missing}; the statement was refused"
                ),
            ));
        }
        // Only a replaced value can take parameters out of the statement;
        // otherwise it names every parameter, and `check_output` refuses it
        // if it does not name exactly $1…$n.
        let params = if walker.dropped_walked {
            renumber_params(&mut statement, walker.params)
        } else {
            walker.params
        };
        let sql = print(&statement, self_sql_len)?;
        check_output(&sql, &query.kind, params.len())?;
        let returns_rows = match &statement {
            sqlparser::ast::Statement::Insert(insert) => insert.returning.is_some(),
            _ => true,
        };

        let mut rewrites: Vec<Rewrite> = Vec::new();
        for (relation, scopes) in &plan.scopes {
            for (column, value) in scopes {
                rewrites.push(Rewrite::AddScope {
                    relation: *relation,
                    column: column.clone(),
                    value: *value,
                });
            }
        }
        rewrites.extend(plan.unaccent.iter().map(|id| Rewrite::UnaccentIlike(*id)));
        rewrites.extend(
            plan.forced
                .iter()
                .map(|(column, value)| Rewrite::ForceInsert {
                    column: column.clone(),
                    value: *value,
                }),
        );
        rewrites.extend(plan.cap_limit.map(Rewrite::CapLimit));
        let rules = decisions
            .iter()
            .flat_map(|d| {
                d.decision
                    .rules
                    .iter()
                    .map(move |rule| format!("{}: {rule}", d.module))
            })
            .collect();
        Ok(Compiled {
            sql,
            params,
            kind: query.kind,
            returns_rows,
            rewrites,
            rules,
        })
    }

    /// Merges the rewrites of every decision, refusing any that names
    /// something the statement does not have.
    fn plan(&self, decisions: &[PolicyDecision]) -> Result<walk::Plan, Diagnostic> {
        let query = &self.query;
        let mut plan = walk::Plan::default();
        for PolicyDecision { module, decision } in decisions {
            let nonsense = |what: String| {
                Diagnostic::new(
                    code::POLICY_FAILED,
                    format!("policy {module} asked for {what}; the statement was refused"),
                )
            };
            for rewrite in &decision.rewrites {
                match rewrite {
                    Rewrite::AddScope {
                        relation,
                        column,
                        value,
                    } => {
                        let Some(found) = query.relations.get(*relation as usize) else {
                            return Err(nonsense(format!(
                                "a scope on relation {relation}, which does not exist"
                            )));
                        };
                        let has_column = catalog::table(&found.table)
                            .is_some_and(|t| t.column(column).is_some());
                        if !has_column {
                            return Err(nonsense(format!(
                                "a scope on {}.{column}, which does not exist",
                                found.table
                            )));
                        }
                        if found.insert_target {
                            return Err(nonsense(format!(
                                "a scope on the INSERT target {}",
                                found.table
                            )));
                        }
                        plan.scopes
                            .entry(*relation)
                            .or_default()
                            .insert((column.clone(), *value));
                    }
                    Rewrite::UnaccentIlike(id) => {
                        if query.comparisons.get(*id as usize).is_none() {
                            return Err(nonsense(format!(
                                "an accent-insensitive match on comparison {id}, which does not exist"
                            )));
                        }
                        plan.unaccent.insert(*id);
                    }
                    Rewrite::ForceInsert { column, value } => {
                        let target = query
                            .insert
                            .as_ref()
                            .and_then(|insert| query.relations.get(insert.target as usize))
                            .and_then(|relation| catalog::table(&relation.table));
                        let Some(target) = target else {
                            return Err(nonsense(format!(
                                "a forced INSERT value for `{column}` in a statement that is not an INSERT"
                            )));
                        };
                        if target.column(column).is_none() {
                            return Err(nonsense(format!(
                                "a forced value for {}.{column}, which does not exist",
                                target.name
                            )));
                        }
                        if let Some(previous) = plan.forced.insert(column.clone(), *value)
                            && previous != *value
                        {
                            return Err(nonsense(format!(
                                "two different forced values for `{column}`"
                            )));
                        }
                    }
                    Rewrite::CapLimit(cap) => {
                        if *cap == 0 {
                            return Err(nonsense("a row cap of 0".into()));
                        }
                        plan.cap_limit =
                            Some(plan.cap_limit.map_or(*cap, |current| current.min(*cap)));
                    }
                }
            }
        }
        Ok(plan)
    }

    /// Fail closed: whatever the policies said, every tenant-owned relation
    /// is scoped to the tenant, every customer's relation to the verified
    /// customer, an INSERT sets both, and a SELECT is capped.
    fn check_coverage(&self, plan: &walk::Plan) -> Result<(), Diagnostic> {
        let query = &self.query;
        let session = query.session;
        let missing = |what: String, node: Node| {
            Diagnostic::new(
                code::POLICY_FAILED,
                format!("no policy {what}; the statement was refused (fail closed)"),
            )
            .at(self.span(&node))
        };
        for relation in &query.relations {
            let node = Node::Relation(relation.id);
            let mut required = Vec::new();
            match &relation.tenant_column {
                Some(column) => required.push((column.clone(), SessionValue::TenantId)),
                None => {
                    return Err(missing(
                        format!("could scope `{}` to a tenant", relation.table),
                        node,
                    ));
                }
            }
            if relation.access == Access::CustomerPrivate {
                let Some(owner) = &relation.owner_column else {
                    return Err(missing(
                        format!("could scope `{}` to a customer", relation.table),
                        node,
                    ));
                };
                if session.customer_id.is_none() {
                    return Err(missing(
                        format!("refused `{}` to an unverified visitor", relation.table),
                        node,
                    ));
                }
                required.push((owner.clone(), SessionValue::CustomerId));
            }
            for (column, value) in required {
                let covered = if relation.insert_target {
                    plan.forced.get(&column) == Some(&value)
                } else {
                    plan.scopes
                        .get(&relation.id)
                        .is_some_and(|s| s.contains(&(column.clone(), value)))
                };
                if !covered {
                    let whose = match value {
                        SessionValue::TenantId => "tenant",
                        SessionValue::CustomerId => "customer",
                    };
                    return Err(missing(
                        format!(
                            "limited `{}` to the session's {whose} ({column})",
                            relation.alias
                        ),
                        node,
                    ));
                }
            }
        }
        if query.kind == StatementKind::Select && plan.cap_limit.is_none() {
            return Err(missing("capped the number of rows".into(), Node::Statement));
        }
        Ok(())
    }
}

/// Names the module in the message, so a reviewer knows whose rule it was.
fn name_the_policy(diagnostic: &mut Diagnostic, module: &str) {
    if !diagnostic.message.contains(module) {
        diagnostic.message = format!("{} (policy {module})", diagnostic.message);
    }
}

/// The statement as SQL text, in a buffer sized for it up front.
fn print(statement: &sqlparser::ast::Statement, input_len: usize) -> Result<String, Diagnostic> {
    use std::fmt::Write;
    // Scopes, casts and quoted names make the output about twice the input.
    let mut sql = String::with_capacity(2 * input_len + 256);
    write!(sql, "{statement}")
        .map_err(|_| Diagnostic::new(code::INTERNAL, "the compiled SQL could not be printed"))?;
    Ok(sql)
}

/// The parameter a placeholder expression names: `$3` is 3.
fn placeholder_index(expr: &sqlparser::ast::Expr) -> Option<usize> {
    use sqlparser::ast::{Expr, Value};
    match expr {
        Expr::Value(value) => match &value.value {
            Value::Placeholder(text) => {
                text.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            }
            _ => None,
        },
        _ => None,
    }
}

/// Drops parameters the statement no longer uses (a literal a policy
/// replaced with a session value) and numbers the rest `$1…$n` in order:
/// PostgreSQL refuses a statement with a parameter it cannot type.
fn renumber_params(statement: &mut sqlparser::ast::Statement, params: Vec<Param>) -> Vec<Param> {
    use sqlparser::ast::{Expr, Value, visit_expressions, visit_expressions_mut};
    use std::ops::ControlFlow;
    let mut used = std::collections::BTreeSet::new();
    let _ = visit_expressions(statement, |expr| {
        if let Some(index) = placeholder_index(expr) {
            used.insert(index);
        }
        ControlFlow::<()>::Continue(())
    });
    if used.len() == params.len() {
        return params;
    }
    let order: Vec<usize> = used.into_iter().collect();
    let _ = visit_expressions_mut(statement, |expr| {
        if let Some(old) = placeholder_index(expr)
            && let Ok(position) = order.binary_search(&old)
        {
            *expr = Expr::Value(Value::Placeholder(format!("${}", position + 1)).into());
        }
        ControlFlow::<()>::Continue(())
    });
    order
        .iter()
        .filter_map(|old| params.get(old - 1).cloned())
        .collect()
}

/// The compiler's own output must parse back as one statement of the same
/// kind, naming exactly the parameters `$1…$n` it is sent with; anything
/// else is a compiler bug and is not run.
fn check_output(sql: &str, kind: &StatementKind, params: usize) -> Result<(), Diagnostic> {
    use sqlparser::parser::ParserOptions;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = PostgreSqlDialect {};
    let does_not_parse = |error: ParserError| {
        Diagnostic::new(
            code::INTERNAL,
            format!("the compiled SQL does not parse: {error}"),
        )
    };
    // `Parser::parse_sql`, with a look at the tokens in between.
    let tokens = Tokenizer::new(&dialect, sql)
        .with_unescape(ParserOptions::default().unescape)
        .tokenize_with_location()
        .map_err(|error| does_not_parse(error.into()))?;
    let mut named = vec![false; params];
    for token in &tokens {
        if let Token::Placeholder(text) = &token.token {
            let index = text
                .strip_prefix('$')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=params).contains(n));
            match index {
                Some(n) => named[n - 1] = true,
                None => {
                    return Err(Diagnostic::new(
                        code::INTERNAL,
                        format!("the compiled SQL names a parameter `{text}` it is not sent with"),
                    ));
                }
            }
        }
    }
    if let Some(unused) = named.iter().position(|named| !named) {
        return Err(Diagnostic::new(
            code::INTERNAL,
            format!(
                "the compiled SQL does not use its parameter ${}",
                unused + 1
            ),
        ));
    }
    let reparsed = Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(does_not_parse)?;
    let same_kind = matches!(
        (reparsed.as_slice(), kind),
        ([sqlparser::ast::Statement::Query(_)], StatementKind::Select)
            | (
                [sqlparser::ast::Statement::Insert(_)],
                StatementKind::Insert
            )
    );
    if same_kind {
        Ok(())
    } else {
        Err(Diagnostic::new(
            code::INTERNAL,
            "the compiled SQL is not one statement of the original kind",
        ))
    }
}

#[cfg(test)]
mod tests;
