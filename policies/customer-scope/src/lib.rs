//! # customer-scope
//!
//! **Rule.** A verified customer reads and writes only their own rows.
//! Every customer-private relation (`customers`, `appointments`,
//! `appointment_changes`) the statement reads — at any depth, in any kind
//! of block — is limited to the session's customer: `add-scope(relation,
//! <owner column>, customer-id)`. When such a relation is the INSERT's
//! target, its owner column is forced instead: `force-insert(<owner
//! column>, customer-id)`. Other people's bookings stay visible only
//! through the `busy_slots` view, which is tenant-public and has no owner.
//!
//! For an unverified visitor (no customer in the session) nothing is added
//! here: there is no customer to scope to, and the verification policy
//! refuses private relations and inserts for visitors.
//!
//! A customer-private relation without an owner column cannot be scoped
//! and is refused, for visitors and customers alike.
//!
//! A new appointment starts as `'pending'`; staff confirm it. In an INSERT
//! into `appointments`, a `status` column, when named, must hold the text
//! literal `'pending'` (or `DEFAULT`) in every row. Another label, NULL, a
//! non-text literal, an expression, or values that come from a query are
//! refused.
//!
//! **Reads.** `session.customer-id` (whether there is one: the id itself is
//! filled in by the compiler); `kind`; `relations` (`id`, `table`,
//! `access`, `insert-target`, `owner-column`); `insert` (`target`,
//! `columns`: `column`, `column-type`, `values`).
//!
//! **Returns.** Rewrites `add-scope` (`customer-scope/scope-relation`) and
//! `force-insert` (`customer-scope/force-owner`); `E-NOT-ALLOWED` for a
//! status other than `'pending'` (`customer-scope/status-pending`) and for
//! a private relation without an owner column
//! (`customer-scope/no-owner-column`); `E-INTERNAL` when the description's
//! insert target is contradictory (`customer-scope/description`).
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{
    Access, ColumnType, Decision, DecisionBuilder, Denial, ForcedValue, Guest, InsertColumn,
    InsertValue, Literal, Node, Query, Rewrite, Scope, SessionValue, codes,
};

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "customer-scope";

/// The table whose new rows must start with [`NEW_STATUS`].
pub const APPOINTMENTS: &str = "appointments";
/// The status column of [`APPOINTMENTS`].
pub const STATUS_COLUMN: &str = "status";
/// The only status model SQL may give a new appointment.
pub const NEW_STATUS: &str = "pending";

/// The policy, as exported to the host.
pub struct CustomerScope;

impl Guest for CustomerScope {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(CustomerScope);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);
    // On a contradictory description every relation is scoped, none forced,
    // and the statement refused.
    let target = query.insert_target().unwrap_or_else(|what| {
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
        None
    });
    let verified = query.session.customer_id.is_some();

    for relation in &query.relations {
        if relation.access != Access::CustomerPrivate {
            continue;
        }
        let Some(column) = relation.owner_column.as_deref().filter(|c| !c.is_empty()) else {
            decision.deny(
                "no-owner-column",
                Denial::new(
                    codes::NOT_ALLOWED,
                    format!(
                        "The table \"{}\" holds customers' private rows but has no owner \
                         column, so it cannot be limited to the customer's own rows.",
                        relation.table
                    ),
                    Node::Relation(relation.id),
                ),
            );
            continue;
        };
        if !verified {
            continue;
        }
        if target == Some(relation.id) {
            decision.rewrite(
                "force-owner",
                Rewrite::ForceInsert(ForcedValue {
                    column: column.to_string(),
                    value: SessionValue::CustomerId,
                }),
            );
        } else {
            decision.rewrite(
                "scope-relation",
                Rewrite::AddScope(Scope {
                    relation: relation.id,
                    column: column.to_string(),
                    value: SessionValue::CustomerId,
                }),
            );
        }
    }

    if let (Some(target), Some(insert)) = (target, &query.insert)
        && query
            .relation(target)
            .is_some_and(|r| r.table == APPOINTMENTS)
    {
        for column in &insert.columns {
            // Matched without regard to case: a variant spelling is refused
            // rather than let through unchecked.
            if column.column.eq_ignore_ascii_case(STATUS_COLUMN) {
                check_new_status(column, &mut decision);
            }
        }
    }
    decision.finish()
}

/// Every row's status must be `'pending'` or DEFAULT.
fn check_new_status(column: &InsertColumn, decision: &mut DecisionBuilder) {
    let problem = if column.values.is_empty() {
        Some("takes it from a query".to_string())
    } else {
        column.values.iter().find_map(|value| match value {
            InsertValue::Default => None,
            InsertValue::Literal(literal) if is_pending(literal, &column.column_type) => None,
            InsertValue::Literal(literal) => Some(format!("sets it to {literal}")),
            InsertValue::Expression => Some("computes it with an expression".to_string()),
        })
    };
    if let Some(problem) = problem {
        decision.deny(
            "status-pending",
            Denial::new(
                codes::NOT_ALLOWED,
                format!(
                    "A new appointment's status can only be '{NEW_STATUS}'; this INSERT \
                     {problem}."
                ),
                Node::InsertColumn(column.column.clone()),
            )
            .with_hint(format!(
                "Leave the status column out: a new appointment starts as '{NEW_STATUS}' \
                 and staff confirm it."
            )),
        );
    }
}

/// `'pending'`, or `'pending'` typed as the column's own enum.
fn is_pending(literal: &Literal, column_type: &ColumnType) -> bool {
    match (literal, column_type) {
        (Literal::Text(value), _) => value == NEW_STATUS,
        (Literal::Typed(typed), ColumnType::Enumeration(enumeration)) => {
            typed.value == NEW_STATUS && typed.type_name.eq_ignore_ascii_case(&enumeration.name)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
