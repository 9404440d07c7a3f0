//! # allow-list
//!
//! **Rule.** Model SQL is one statement: a SELECT, or an INSERT of one
//! VALUES row into a table that takes inserts (`appointments` to book,
//! `appointment_changes` to cancel or reschedule). It may name only the
//! eight model-visible relations, never a staff-only column, call only the
//! harmless functions listed in [`FUNCTIONS`] (without a schema), and use
//! none of the features that lock rows, write, create tables, loop or
//! smuggle in a second statement. Everything is allowed by being listed
//! here; anything new (a catalog table, a function, a WIT feature) is
//! refused until someone adds it to a list below.
//!
//! **Reads.** `kind`; `relations` (`id`, `table`, `insert-target`);
//! `insert` (`target`, `rows`); `columns` (`relation`, `column`,
//! `staff-only`); `functions` (`name`, `aggregate-or-window`); `features`.
//! Not the session: what is allowed is the same for everyone.
//!
//! **Returns.** One `E-NOT-ALLOWED` denial per thing that is not allowed,
//! naming it and hinting at what is (`allow-list/statement-kind`,
//! `/relation`, `/insert-target`, `/insert-rows`, `/feature`,
//! `/staff-only-column`, `/function`); `E-INTERNAL` when the description
//! contradicts itself about what is inserted (`allow-list/description`).
//! Never a rewrite.
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{
    Decision, DecisionBuilder, Denial, FeatureKind, Guest, Node, Query, StatementKind, codes,
};

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "allow-list";

/// The relations model SQL may name: the model-visible schema of
/// `SCHEMA.md`. A new catalog table stays refused until it is added here.
pub const RELATIONS: &[&str] = &[
    "consultants",
    "services",
    "consultant_schedules",
    "schedule_exceptions",
    "busy_slots",
    "customers",
    "appointments",
    "appointment_changes",
];

/// The relations model SQL may INSERT into.
pub const INSERTABLE: &[&str] = &["appointments", "appointment_changes"];

/// The functions model SQL may call, as the compiler spells them
/// (lower-case, no schema). Each reads only its arguments and returns a
/// value: none reads the catalog, files, settings or sequences, sleeps,
/// or allocates in proportion to a number it is given (so no `repeat`,
/// `lpad`, `rpad`).
pub const FUNCTIONS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "array_agg",
    "string_agg",
    "bool_and",
    "bool_or",
    // text
    "lower",
    "upper",
    "initcap",
    "unaccent",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "length",
    "char_length",
    "concat",
    "concat_ws",
    "substring",
    "substr",
    "replace",
    "position",
    "left",
    "right",
    "split_part",
    // conditional
    "coalesce",
    "nullif",
    "greatest",
    "least",
    // dates and times
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "date_trunc",
    "extract",
    "date_part",
    "make_interval",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "to_char",
    "to_date",
    "to_timestamp",
    "age",
    "timezone",
    "generate_series",
    // numbers
    "abs",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "trunc",
    "mod",
];

/// Functions allowed only as window functions (`… OVER (…)`).
pub const WINDOW_FUNCTIONS: &[&str] = &["row_number", "rank", "dense_rank", "lag", "lead"];

/// The policy, as exported to the host.
pub struct AllowList;

impl Guest for AllowList {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(AllowList);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);
    check_statement_kind(query, &mut decision);
    check_relations(query, &mut decision);
    check_insert(query, &mut decision);
    check_features(query, &mut decision);
    check_columns(query, &mut decision);
    check_functions(query, &mut decision);
    decision.finish()
}

fn check_statement_kind(query: &Query, decision: &mut DecisionBuilder) {
    if let StatementKind::Other(keywords) = &query.kind {
        let what = if keywords.trim().is_empty() {
            "a statement that is neither".to_string()
        } else {
            format!("a {} statement", keywords.trim())
        };
        decision.deny(
            "statement-kind",
            Denial::new(
                codes::NOT_ALLOWED,
                format!("Only SELECT and INSERT statements can run; this is {what}."),
                Node::Statement,
            )
            .with_hint(
                "Read with SELECT; book with INSERT INTO appointments; cancel or \
                 reschedule with INSERT INTO appointment_changes.",
            ),
        );
    }
}

fn check_relations(query: &Query, decision: &mut DecisionBuilder) {
    for relation in &query.relations {
        if !RELATIONS.contains(&relation.table.as_str()) {
            decision.deny(
                "relation",
                Denial::new(
                    codes::NOT_ALLOWED,
                    format!(
                        "The table \"{}\" is not available to the assistant.",
                        relation.table
                    ),
                    Node::Relation(relation.id),
                )
                .with_hint(format!("Use only these tables: {}.", RELATIONS.join(", "))),
            );
        }
        if relation.insert_target && !INSERTABLE.contains(&relation.table.as_str()) {
            decision.deny(
                "insert-target",
                Denial::new(
                    codes::NOT_ALLOWED,
                    format!("Inserting into \"{}\" is not allowed.", relation.table),
                    Node::Relation(relation.id),
                )
                .with_hint(
                    "INSERT INTO appointments books an appointment; INSERT INTO \
                     appointment_changes cancels or reschedules one. Nothing else \
                     can be inserted.",
                ),
            );
        }
    }
}

/// An INSERT adds exactly one row of VALUES to its one target. One row per
/// statement is all a booking, cancellation or rescheduling needs, and it
/// keeps a single statement from booking every free slot at once.
fn check_insert(query: &Query, decision: &mut DecisionBuilder) {
    let mut contradiction = query.insert_target().err();
    if let Some(insert) = &query.insert
        && insert
            .columns
            .iter()
            .any(|c| c.values.len() != insert.rows as usize)
    {
        contradiction = Some("a column has more or fewer values than there are rows".into());
    }
    if let Some(what) = contradiction {
        decision.deny(
            "description",
            Denial::new(
                codes::INTERNAL,
                format!(
                    "The compiler described the statement inconsistently ({what}); refusing it."
                ),
                Node::Statement,
            ),
        );
    }
    let insert_select = query
        .features
        .iter()
        .any(|f| f.kind == FeatureKind::InsertSelect);
    // INSERT … SELECT has no VALUES rows; its feature denial says why.
    if let Some(insert) = &query.insert
        && insert.rows != 1
        && !(insert.rows == 0 && insert_select)
    {
        let got = if insert.rows == 0 {
            "no row of VALUES".to_string()
        } else {
            format!("{} rows", insert.rows)
        };
        decision.deny(
            "insert-rows",
            Denial::new(
                codes::NOT_ALLOWED,
                format!("An INSERT may add exactly one row of VALUES; this one adds {got}."),
                Node::Statement,
            )
            .with_hint(
                "Write INSERT INTO … (columns) VALUES (…) with one row; book or change \
                 one appointment per statement.",
            ),
        );
    }
}

/// Every feature of the WIT is decided here, by an exhaustive match: a new
/// feature kind does not compile until someone decides about it.
fn check_features(query: &Query, decision: &mut DecisionBuilder) {
    for feature in &query.features {
        let (message, hint) = match feature.kind {
            FeatureKind::SetOperation
            | FeatureKind::WindowFunction
            | FeatureKind::Lateral
            | FeatureKind::Returning => continue,
            FeatureKind::LockingClause => (
                "FOR UPDATE / FOR SHARE locks rows; the assistant only reads them.",
                "Remove the FOR UPDATE / FOR SHARE clause.",
            ),
            FeatureKind::SelectInto => (
                "SELECT … INTO creates a table.",
                "Remove INTO …: just SELECT the rows.",
            ),
            FeatureKind::WritableCte => (
                "An INSERT, UPDATE or DELETE inside WITH writes data.",
                "WITH may hold only SELECTs; put the one INSERT at the top level.",
            ),
            FeatureKind::OnConflict => (
                "INSERT … ON CONFLICT can change existing rows.",
                "Remove ON CONFLICT …; the database reports a clash with another booking.",
            ),
            FeatureKind::MultipleStatements => (
                "Only one statement can run at a time.",
                "Send a single statement, with nothing after its ';'.",
            ),
            FeatureKind::RecursiveCte => (
                "WITH RECURSIVE is not allowed: it can run without bound.",
                "To make a series of days or times, use generate_series(…).",
            ),
            FeatureKind::InsertSelect => (
                "INSERT … SELECT is not allowed: an INSERT takes one row of VALUES.",
                "Look the ids up with a SELECT first, then INSERT … VALUES (…) with them.",
            ),
        };
        decision.deny(
            "feature",
            Denial::new(codes::NOT_ALLOWED, message, Node::Feature(feature.id)).with_hint(hint),
        );
    }
}

fn check_columns(query: &Query, decision: &mut DecisionBuilder) {
    for column in query.columns.iter().filter(|c| c.staff_only) {
        let name = match query.relation(column.relation) {
            Some(relation) => format!("{}.{}", relation.table, column.column),
            None => column.column.clone(),
        };
        decision.deny(
            "staff-only-column",
            Denial::new(
                codes::NOT_ALLOWED,
                format!("The column {name} is staff-only: the assistant cannot read it."),
                Node::Column(column.id),
            )
            .with_hint(format!(
                "Leave {name} out; staff contact details are not shared in the chat."
            )),
        );
    }
}

/// Only names on [`FUNCTIONS`] (and [`WINDOW_FUNCTIONS`] under OVER) pass,
/// compared exactly: the compiler lower-cases names, so `PG_SLEEP`,
/// `Now` or `pg_catalog.now` match nothing and are refused.
fn check_functions(query: &Query, decision: &mut DecisionBuilder) {
    for function in &query.functions {
        let name = function.name.as_str();
        if FUNCTIONS.contains(&name)
            || (function.aggregate_or_window && WINDOW_FUNCTIONS.contains(&name))
        {
            continue;
        }
        let (message, hint) = if WINDOW_FUNCTIONS.contains(&name) {
            (
                format!("{name}() can only be used as a window function."),
                format!("Write {name}() OVER (…)."),
            )
        } else if let Some((schema, bare)) = name.rsplit_once('.') {
            let allowed = FUNCTIONS.contains(&bare) || WINDOW_FUNCTIONS.contains(&bare);
            (
                format!(
                    "The function {name} names the schema \"{schema}\"; schema-qualified \
                     function calls are not allowed."
                ),
                if allowed {
                    format!("Call {bare}(…) without the schema.")
                } else {
                    allowed_functions_hint()
                },
            )
        } else {
            (
                format!("The function {name} is not allowed in the assistant's SQL."),
                allowed_functions_hint(),
            )
        };
        decision.deny(
            "function",
            Denial::new(codes::NOT_ALLOWED, message, Node::Function(function.id)).with_hint(hint),
        );
    }
}

fn allowed_functions_hint() -> String {
    format!(
        "Use only these functions: {}; and {} as window functions.",
        FUNCTIONS.join(", "),
        WINDOW_FUNCTIONS.join(", ")
    )
}

#[cfg(test)]
mod tests;
