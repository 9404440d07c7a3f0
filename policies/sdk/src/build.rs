//! Builders of query descriptions for the policies' unit tests.
//!
//! They describe relations and columns the way the compiler's catalog
//! describes the demo schema of `SCHEMA.md` (access, tenant and owner
//! columns, column types, staff-only columns), so a test reads like the SQL
//! it stands for:
//!
//! ```
//! use meetassist_policy_sdk::build::QueryBuilder;
//! use meetassist_policy_sdk::{BlockKind, Clause, ComparisonOp, Literal};
//! // SELECT full_name FROM consultants
//! //  WHERE id IN (SELECT consultant_id FROM appointments a)
//! let mut q = QueryBuilder::select();
//! let c = q.relation("consultants");
//! q.column(c, "full_name", Clause::Projection);
//! let a = q.nested("appointments", "a", 1, BlockKind::ExpressionSubquery);
//! q.column(a, "consultant_id", Clause::Projection);
//! q.verified(3);
//! let query = q.build();
//! assert_eq!(query.relations.len(), 2);
//! ```
//!
//! A test that needs a description the catalog would never produce builds
//! the usual one and then edits the returned [`Query`]'s public fields.
//! Policies never use this module to decide: they read only the
//! description they are given.

use crate::{
    Access, BlockKind, Clause, ColumnType, ColumnUse, Comparison, ComparisonOp, EnumType, Feature,
    FeatureKind, FunctionCall, Insert, InsertColumn, InsertValue, Literal, Query, Relation,
    Session, StatementKind, TextColumn,
};

/// The tenant a builder starts with (the demo's first tenant).
pub const DEMO_TENANT: i64 = 1;

/// Builds a [`Query`] step by step; each `relation`/`column`/… call returns
/// the new element's id.
#[derive(Debug, Clone)]
pub struct QueryBuilder {
    query: Query,
}

impl QueryBuilder {
    fn empty(kind: StatementKind) -> Self {
        QueryBuilder {
            query: Query {
                session: Session {
                    tenant_id: DEMO_TENANT,
                    customer_id: None,
                },
                kind,
                relations: Vec::new(),
                columns: Vec::new(),
                comparisons: Vec::new(),
                functions: Vec::new(),
                features: Vec::new(),
                insert: None,
                limit: None,
            },
        }
    }

    /// A SELECT by an unverified visitor of tenant 1.
    pub fn select() -> Self {
        Self::empty(StatementKind::Select)
    }

    /// Any other statement (`"UPDATE"`, `"DELETE"`, …) by a visitor.
    pub fn other(keywords: &str) -> Self {
        Self::empty(StatementKind::Other(keywords.to_string()))
    }

    /// `INSERT INTO table (columns…) VALUES (values…)`, one row, by a
    /// visitor: the target is relation 0, and each named column is also a
    /// column use in the `insert-column` clause.
    pub fn insert(table: &str, values: &[(&str, InsertValue)]) -> Self {
        let mut b = Self::empty(StatementKind::Insert);
        let target = b.relation(table);
        b.query.relations[target as usize].insert_target = true;
        let mut columns = Vec::new();
        for (name, value) in values {
            b.column(target, name, Clause::InsertColumn);
            columns.push(InsertColumn {
                column: name.to_string(),
                column_type: demo_column(table, name).0,
                values: vec![value.clone()],
            });
        }
        b.query.insert = Some(Insert {
            target,
            columns,
            rows: 1,
        });
        b
    }

    /// The session's customer: the sender has proved their email.
    pub fn verified(&mut self, customer: i64) -> &mut Self {
        self.query.session.customer_id = Some(customer);
        self
    }

    /// The session's tenant.
    pub fn tenant(&mut self, tenant: i64) -> &mut Self {
        self.query.session.tenant_id = tenant;
        self
    }

    /// The top-level query's literal LIMIT.
    pub fn limit(&mut self, limit: u64) -> &mut Self {
        self.query.limit = Some(limit);
        self
    }

    /// A catalog relation in the statement's own query, under its own name.
    pub fn relation(&mut self, table: &str) -> u32 {
        self.nested(table, table, 0, BlockKind::Top)
    }

    /// A catalog relation at `depth` in a block of kind `block`.
    pub fn nested(&mut self, table: &str, alias: &str, depth: u32, block: BlockKind) -> u32 {
        let id = next_id(&self.query.relations);
        self.query
            .relations
            .push(demo_relation(id, table, alias, depth, block));
        id
    }

    /// A use of `relation`'s column `column` in `clause`, typed from the
    /// demo catalog.
    pub fn column(&mut self, relation: u32, column: &str, clause: Clause) -> u32 {
        let table = self
            .query
            .relations
            .get(relation as usize)
            .map(|r| r.table.clone())
            .unwrap_or_default();
        let (column_type, staff_only) = demo_column(&table, column);
        let id = next_id(&self.query.columns);
        self.query.columns.push(ColumnUse {
            id,
            relation,
            column: column.to_string(),
            column_type,
            clause,
            staff_only,
        });
        id
    }

    /// `relation.column <op> literals…` in WHERE.
    pub fn compare(
        &mut self,
        relation: u32,
        column: &str,
        op: ComparisonOp,
        literals: Vec<Literal>,
    ) -> u32 {
        let column = self.column(relation, column, Clause::Where);
        let id = next_id(&self.query.comparisons);
        self.query.comparisons.push(Comparison {
            id,
            column,
            op,
            literals,
        });
        id
    }

    /// A call of `name` (as the compiler spells it: lower-case, with the
    /// schema when the SQL gave one).
    pub fn function(&mut self, name: &str, arguments: u32, aggregate_or_window: bool) -> u32 {
        let id = next_id(&self.query.functions);
        self.query.functions.push(FunctionCall {
            id,
            name: name.to_string(),
            arguments,
            aggregate_or_window,
        });
        id
    }

    /// A syntax feature the statement uses.
    pub fn feature(&mut self, kind: FeatureKind) -> u32 {
        let id = next_id(&self.query.features);
        self.query.features.push(Feature { id, kind });
        id
    }

    /// The description built so far.
    pub fn build(&self) -> Query {
        self.query.clone()
    }
}

fn next_id<T>(list: &[T]) -> u32 {
    u32::try_from(list.len()).unwrap_or(u32::MAX)
}

/// A text literal.
pub fn text(value: &str) -> Literal {
    Literal::Text(value.to_string())
}

/// An inserted literal value.
pub fn value(literal: Literal) -> InsertValue {
    InsertValue::Literal(literal)
}

/// The relation `table` as the catalog describes it. A table outside the
/// model-visible schema gets no tenant column, no owner column and
/// `tenant-public` access.
pub fn demo_relation(id: u32, table: &str, alias: &str, depth: u32, block: BlockKind) -> Relation {
    let (access, owner) = match table {
        "customers" => (Access::CustomerPrivate, Some("id")),
        "appointments" | "appointment_changes" => (Access::CustomerPrivate, Some("customer_id")),
        _ => (Access::TenantPublic, None),
    };
    let tenant_owned = matches!(
        table,
        "consultants"
            | "services"
            | "consultant_schedules"
            | "schedule_exceptions"
            | "busy_slots"
            | "customers"
            | "appointments"
            | "appointment_changes"
    );
    Relation {
        id,
        table: table.to_string(),
        alias: alias.to_string(),
        depth,
        block,
        insert_target: false,
        nullable_side: false,
        is_view: table == "busy_slots",
        access,
        tenant_column: tenant_owned.then(|| "tenant_id".to_string()),
        owner_column: owner.map(str::to_string),
    }
}

/// The type of `table.column` in the demo catalog, and whether it is
/// staff-only. Unknown columns are `other("unknown")`.
pub fn demo_column(table: &str, column: &str) -> (ColumnType, bool) {
    let text = |searchable| ColumnType::Text(TextColumn { searchable });
    let enumeration = |name: &str, labels: &[&str]| {
        ColumnType::Enumeration(EnumType {
            name: name.to_string(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
        })
    };
    let column_type = match (table, column) {
        (_, "id" | "tenant_id" | "consultant_id" | "customer_id" | "service_id")
        | (_, "appointment_id" | "duration_minutes" | "price_vnd" | "weekday") => {
            ColumnType::Integer
        }
        ("consultants" | "customers", "full_name")
        | ("consultants", "specialty")
        | ("services", "name") => text(true),
        (_, "email" | "phone" | "bio" | "messenger_psid" | "topic" | "reason") => text(false),
        (_, "starts_at" | "ends_at" | "created_at" | "new_starts_at") => ColumnType::Timestamp,
        (_, "on_date") => ColumnType::Date,
        (_, "start_time" | "end_time") => ColumnType::Time,
        (_, "is_active") => ColumnType::Boolean,
        ("appointments", "status") => enumeration(
            "appointment_status",
            &["pending", "confirmed", "cancelled", "completed", "no_show"],
        ),
        ("appointment_changes", "action") => {
            enumeration("change_action", &["cancel", "reschedule"])
        }
        _ => ColumnType::Other("unknown".to_string()),
    };
    let staff_only = table == "consultants" && matches!(column, "email" | "phone");
    (column_type, staff_only)
}
