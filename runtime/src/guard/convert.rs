//! The compiler's description and decisions ↔ the WIT types the policy
//! modules speak. Field for field; the one place the two meet.

use meetassist_compiler::describe as d;

use crate::policy::wit as w;

pub(crate) fn query(query: &d::Query) -> w::Query {
    w::Query {
        session: w::Session {
            tenant_id: query.session.tenant_id,
            customer_id: query.session.customer_id,
        },
        kind: match &query.kind {
            d::StatementKind::Select => w::StatementKind::Select,
            d::StatementKind::Insert => w::StatementKind::Insert,
            d::StatementKind::Other(name) => w::StatementKind::Other(name.clone()),
        },
        relations: query.relations.iter().map(relation).collect(),
        columns: query.columns.iter().map(column_use).collect(),
        comparisons: query
            .comparisons
            .iter()
            .map(|c| w::Comparison {
                id: c.id,
                column: c.column,
                op: comparison_op(c.op),
                literals: c.literals.iter().map(literal).collect(),
            })
            .collect(),
        functions: query
            .functions
            .iter()
            .map(|f| w::FunctionCall {
                id: f.id,
                name: f.name.clone(),
                arguments: f.arguments,
                aggregate_or_window: f.aggregate_or_window,
            })
            .collect(),
        features: query
            .features
            .iter()
            .map(|f| w::Feature {
                id: f.id,
                kind: feature_kind(f.kind),
            })
            .collect(),
        insert: query.insert.as_ref().map(|insert| w::Insert {
            target: insert.target,
            columns: insert
                .columns
                .iter()
                .map(|c| w::InsertColumn {
                    column: c.column.clone(),
                    column_type: column_type(&c.column_type),
                    values: c
                        .values
                        .iter()
                        .map(|v| match v {
                            d::InsertValue::Literal(l) => w::InsertValue::Literal(literal(l)),
                            d::InsertValue::Default => w::InsertValue::Default,
                            d::InsertValue::Expression => w::InsertValue::Expression,
                        })
                        .collect(),
                })
                .collect(),
            rows: insert.rows,
        }),
        limit: query.limit,
    }
}

fn relation(r: &d::Relation) -> w::Relation {
    w::Relation {
        id: r.id,
        table: r.table.clone(),
        alias: r.alias.clone(),
        depth: r.depth,
        block: match r.block {
            d::BlockKind::Top => w::BlockKind::Top,
            d::BlockKind::FromSubquery => w::BlockKind::FromSubquery,
            d::BlockKind::LateralSubquery => w::BlockKind::LateralSubquery,
            d::BlockKind::ExpressionSubquery => w::BlockKind::ExpressionSubquery,
            d::BlockKind::Cte => w::BlockKind::Cte,
            d::BlockKind::SetOperationArm => w::BlockKind::SetOperationArm,
        },
        insert_target: r.insert_target,
        nullable_side: r.nullable_side,
        is_view: r.is_view,
        access: match r.access {
            d::Access::TenantPublic => w::Access::TenantPublic,
            d::Access::CustomerPrivate => w::Access::CustomerPrivate,
        },
        tenant_column: r.tenant_column.clone(),
        owner_column: r.owner_column.clone(),
    }
}

fn column_use(c: &d::ColumnUse) -> w::ColumnUse {
    w::ColumnUse {
        id: c.id,
        relation: c.relation,
        column: c.column.clone(),
        column_type: column_type(&c.column_type),
        clause: match c.clause {
            d::Clause::Projection => w::Clause::Projection,
            d::Clause::Where => w::Clause::Where,
            d::Clause::JoinOn => w::Clause::JoinOn,
            d::Clause::GroupBy => w::Clause::GroupBy,
            d::Clause::Having => w::Clause::Having,
            d::Clause::OrderBy => w::Clause::OrderBy,
            d::Clause::FunctionArgument => w::Clause::FunctionArgument,
            d::Clause::InsertColumn => w::Clause::InsertColumn,
            d::Clause::Returning => w::Clause::Returning,
            d::Clause::Other => w::Clause::Other,
        },
        staff_only: c.staff_only,
    }
}

fn column_type(t: &d::ColumnType) -> w::ColumnType {
    match t {
        d::ColumnType::Integer => w::ColumnType::Integer,
        d::ColumnType::Numeric => w::ColumnType::Numeric,
        d::ColumnType::Boolean => w::ColumnType::Boolean,
        d::ColumnType::Text { searchable } => w::ColumnType::Text(w::TextColumn {
            searchable: *searchable,
        }),
        d::ColumnType::Date => w::ColumnType::Date,
        d::ColumnType::Time => w::ColumnType::Time,
        d::ColumnType::Timestamp => w::ColumnType::Timestamp,
        d::ColumnType::Enumeration { name, labels } => w::ColumnType::Enumeration(w::EnumType {
            name: name.clone(),
            labels: labels.clone(),
        }),
        d::ColumnType::Other(name) => w::ColumnType::Other(name.clone()),
    }
}

fn literal(l: &d::Literal) -> w::Literal {
    match l {
        d::Literal::Null => w::Literal::Null,
        d::Literal::Boolean(b) => w::Literal::Boolean(*b),
        d::Literal::Integer(n) => w::Literal::Integer(*n),
        d::Literal::Number(text) => w::Literal::Number(text.clone()),
        d::Literal::Text(text) => w::Literal::Text(text.clone()),
        d::Literal::Typed { type_name, value } => w::Literal::Typed(w::TypedLiteral {
            type_name: type_name.clone(),
            value: value.clone(),
        }),
    }
}

fn comparison_op(op: d::ComparisonOp) -> w::ComparisonOp {
    match op {
        d::ComparisonOp::Eq => w::ComparisonOp::Eq,
        d::ComparisonOp::NotEq => w::ComparisonOp::NotEq,
        d::ComparisonOp::Lt => w::ComparisonOp::Lt,
        d::ComparisonOp::LtEq => w::ComparisonOp::LtEq,
        d::ComparisonOp::Gt => w::ComparisonOp::Gt,
        d::ComparisonOp::GtEq => w::ComparisonOp::GtEq,
        d::ComparisonOp::Like => w::ComparisonOp::Like,
        d::ComparisonOp::NotLike => w::ComparisonOp::NotLike,
        d::ComparisonOp::Ilike => w::ComparisonOp::Ilike,
        d::ComparisonOp::NotIlike => w::ComparisonOp::NotIlike,
        d::ComparisonOp::InList => w::ComparisonOp::InList,
        d::ComparisonOp::NotInList => w::ComparisonOp::NotInList,
        d::ComparisonOp::Between => w::ComparisonOp::Between,
        d::ComparisonOp::NotBetween => w::ComparisonOp::NotBetween,
        d::ComparisonOp::IsDistinctFrom => w::ComparisonOp::IsDistinctFrom,
        d::ComparisonOp::IsNotDistinctFrom => w::ComparisonOp::IsNotDistinctFrom,
    }
}

fn feature_kind(kind: d::FeatureKind) -> w::FeatureKind {
    match kind {
        d::FeatureKind::LockingClause => w::FeatureKind::LockingClause,
        d::FeatureKind::SelectInto => w::FeatureKind::SelectInto,
        d::FeatureKind::WritableCte => w::FeatureKind::WritableCte,
        d::FeatureKind::OnConflict => w::FeatureKind::OnConflict,
        d::FeatureKind::RecursiveCte => w::FeatureKind::RecursiveCte,
        d::FeatureKind::SetOperation => w::FeatureKind::SetOperation,
        d::FeatureKind::WindowFunction => w::FeatureKind::WindowFunction,
        d::FeatureKind::Lateral => w::FeatureKind::Lateral,
        d::FeatureKind::Returning => w::FeatureKind::Returning,
        d::FeatureKind::InsertSelect => w::FeatureKind::InsertSelect,
        d::FeatureKind::MultipleStatements => w::FeatureKind::MultipleStatements,
    }
}

pub(crate) fn decision(decision: w::Decision) -> d::Decision {
    d::Decision {
        denials: decision
            .denials
            .into_iter()
            .map(|denial| d::Denial {
                code: denial.code,
                message: denial.message,
                hint: denial.hint,
                at: match denial.at {
                    w::Node::Statement => d::Node::Statement,
                    w::Node::Relation(id) => d::Node::Relation(id),
                    w::Node::Column(id) => d::Node::Column(id),
                    w::Node::Comparison(id) => d::Node::Comparison(id),
                    w::Node::Function(id) => d::Node::Function(id),
                    w::Node::Feature(id) => d::Node::Feature(id),
                    w::Node::InsertColumn(name) => d::Node::InsertColumn(name),
                },
            })
            .collect(),
        rewrites: decision
            .rewrites
            .into_iter()
            .map(|rewrite| match rewrite {
                w::Rewrite::AddScope(scope) => d::Rewrite::AddScope {
                    relation: scope.relation,
                    column: scope.column,
                    value: session_value(scope.value),
                },
                w::Rewrite::UnaccentIlike(id) => d::Rewrite::UnaccentIlike(id),
                w::Rewrite::ForceInsert(forced) => d::Rewrite::ForceInsert {
                    column: forced.column,
                    value: session_value(forced.value),
                },
                w::Rewrite::CapLimit(n) => d::Rewrite::CapLimit(n),
            })
            .collect(),
        rules: decision.rules,
    }
}

fn session_value(value: w::SessionValue) -> d::SessionValue {
    match value {
        w::SessionValue::TenantId => d::SessionValue::TenantId,
        w::SessionValue::CustomerId => d::SessionValue::CustomerId,
    }
}
