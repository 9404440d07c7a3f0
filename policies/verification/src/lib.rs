//! # verification
//!
//! **Rule.** Until the customer has proved their email with the one-time
//! code (the session has no customer), a statement may only read
//! tenant-public relations — consultants, services, schedules, schedule
//! exceptions, busy slots — and may write nothing. So, for an unverified
//! visitor:
//!
//! - every customer-private relation the statement reads, at any depth, is
//!   refused;
//! - every statement that is not a SELECT (an INSERT, and anything else the
//!   compiler describes) is refused, as is a SELECT that the description
//!   says inserts (an insert record or an insert target): nothing is
//!   writable before verification.
//!
//! A verified customer passes untouched: what they may see is the
//! customer-scope policy's business.
//!
//! **Reads.** `session.customer-id` (whether there is one); `kind`;
//! `insert` (whether there is one); `relations` (`id`, `table`, `access`,
//! `insert-target`).
//!
//! **Returns.** `E-NOT-VERIFIED` with a message saying the customer must
//! verify their email first (`verification/private-relation`,
//! `verification/write`). Never a rewrite.
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{
    Access, Decision, DecisionBuilder, Denial, Guest, Node, Query, StatementKind, codes,
};

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "verification";

const HINT: &str = "Ask the customer for their email address and the one-time code sent to \
                    it. Until then only consultants, services, schedules and busy slots can \
                    be read.";

/// The policy, as exported to the host.
pub struct Verification;

impl Guest for Verification {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(Verification);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);
    if query.session.customer_id.is_some() {
        return decision.finish();
    }

    let writes = query.kind != StatementKind::Select
        || query.insert.is_some()
        || query.relations.iter().any(|r| r.insert_target);
    if writes {
        let what = match &query.kind {
            StatementKind::Insert => "Booking, cancelling or rescheduling an appointment",
            _ => "Changing anything",
        };
        decision.deny(
            "write",
            Denial::new(
                codes::NOT_VERIFIED,
                format!(
                    "{what} needs a verified customer: the customer must verify their email \
                     first."
                ),
                Node::Statement,
            )
            .with_hint(HINT),
        );
    }

    // The relation written to is covered by the denial above.
    for relation in &query.relations {
        if relation.access == Access::CustomerPrivate && !relation.insert_target {
            decision.deny(
                "private-relation",
                Denial::new(
                    codes::NOT_VERIFIED,
                    format!(
                        "Reading {} needs a verified customer: the customer must verify \
                         their email first.",
                        relation.table
                    ),
                    Node::Relation(relation.id),
                )
                .with_hint(HINT),
            );
        }
    }
    decision.finish()
}

#[cfg(test)]
mod tests;
