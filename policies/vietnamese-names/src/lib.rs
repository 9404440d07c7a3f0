//! # vietnamese-names
//!
//! **Rule.** Customers write names with or without Vietnamese accents and
//! in any case: "Nguyen Van An", "nguyễn văn an" and "Nguyễn Văn An" must
//! find the same consultant. So every comparison of a searchable text
//! column (names and descriptions the catalog marks `searchable`:
//! consultants' `full_name` and `specialty`, services' `name`, customers'
//! `full_name`) by `=`, LIKE, ILIKE or IN, whose literals are all
//! non-blank text, becomes accent- and case-insensitive:
//! `unaccent-ilike(comparison)`, which the compiler writes as
//! `unaccent(col) ILIKE unaccent($n)` with the value wrapped in `%`.
//!
//! Left exactly as written:
//!
//! - the negated forms (`<>`, NOT LIKE, NOT ILIKE, NOT IN). The rewrite
//!   vocabulary has only the positive form, and a fuzzy "not this name"
//!   would drop every row whose name merely contains the value, more than
//!   the customer asked; exact, they keep PostgreSQL's meaning. A negative
//!   filter can only hide rows, never show more, so leaving it exact loses
//!   no protection.
//! - comparisons with a literal that is not text (NULL, a number, a typed
//!   literal), or with an empty or blank text, which `%…%` would turn into
//!   "every row";
//! - the ordering operators, BETWEEN and IS [NOT] DISTINCT FROM;
//! - columns that are not searchable text (emails, phone numbers, topics).
//!
//! This policy only widens how names match, within the rows the scoping
//! policies allow; it never refuses, and when unsure (a comparison whose
//! column the description lacks) it leaves the comparison exact.
//!
//! **Reads.** `comparisons` (`id`, `column`, `op`, `literals`); `columns`
//! (`column-type`).
//!
//! **Returns.** The rewrite `unaccent-ilike`
//! (`vietnamese-names/unaccent-ilike`). Never a denial.
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{
    ColumnType, Comparison, ComparisonOp, Decision, DecisionBuilder, Guest, Literal, Query,
    Rewrite, TextColumn,
};

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "vietnamese-names";

/// The policy, as exported to the host.
pub struct VietnameseNames;

impl Guest for VietnameseNames {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(VietnameseNames);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);
    for comparison in &query.comparisons {
        if is_name_search(query, comparison) {
            decision.rewrite("unaccent-ilike", Rewrite::UnaccentIlike(comparison.id));
        }
    }
    decision.finish()
}

fn is_name_search(query: &Query, comparison: &Comparison) -> bool {
    let searchable = query.column(comparison.column).is_some_and(|c| {
        matches!(
            c.column_type,
            ColumnType::Text(TextColumn { searchable: true })
        )
    });
    let positive = matches!(
        comparison.op,
        ComparisonOp::Eq | ComparisonOp::Like | ComparisonOp::Ilike | ComparisonOp::InList
    );
    let all_text = !comparison.literals.is_empty()
        && comparison
            .literals
            .iter()
            .all(|l| matches!(l, Literal::Text(t) if !t.trim().is_empty()));
    searchable && positive && all_text
}

#[cfg(test)]
mod tests;
