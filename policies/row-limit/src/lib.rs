//! # row-limit
//!
//! **Rule.** Every SELECT returns at most [`MAX_ROWS`] rows: the policy
//! asks for `cap-limit(MAX_ROWS)`, which the compiler applies as `LIMIT
//! MAX_ROWS`, or as the smaller of that and the statement's own LIMIT.
//!
//! The cap is asked for on every SELECT, also when the statement already
//! has a literal LIMIT of [`MAX_ROWS`] or less: the compiler keeps the
//! smaller limit, so the request changes nothing there, and the rule stays
//! one line that does not depend on the description having seen the
//! statement's LIMIT (a LIMIT that is not a literal — `LIMIT ALL`, an
//! expression, a subquery — is described as none). The audit record then
//! shows the cap on every SELECT.
//!
//! INSERTs are not capped: the allow-list policy lets an INSERT add one row
//! of VALUES only. Other statements never run.
//!
//! **Reads.** `kind`. (`limit` deliberately not: see above.)
//!
//! **Returns.** The rewrite `cap-limit(MAX_ROWS)` (`row-limit/cap-limit`).
//! Never a denial.
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{Decision, DecisionBuilder, Guest, Query, Rewrite, StatementKind};

/// The most rows a SELECT may return: plenty for a chat reply (a week of
/// free slots, a customer's appointments), few enough that no reply dumps
/// a table.
pub const MAX_ROWS: u64 = 100;

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "row-limit";

/// The policy, as exported to the host.
pub struct RowLimit;

impl Guest for RowLimit {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(RowLimit);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);
    if query.kind == StatementKind::Select {
        decision.rewrite("cap-limit", Rewrite::CapLimit(MAX_ROWS));
    }
    decision.finish()
}

#[cfg(test)]
mod tests;
