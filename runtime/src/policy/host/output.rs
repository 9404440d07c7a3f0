//! What the host checks in a module's `Decision` before anyone reads it:
//! its size (caps on list lengths and string bytes), and that every id it
//! names exists in the query it answers. A decision that fails either is
//! the module's failure (`PolicyError::BadOutput`), not a verdict.
//!
//! The caps are checked after wasmtime has lifted the decision into host
//! memory; that lifting is bounded by the module's memory cap, since every
//! byte it returns lives in its linear memory first.

use super::Limits;
use crate::policy::wit::{Decision, Denial, Node, Query, Rewrite};

/// Longest denial code ("E-NOT-ALLOWED" and its kin).
const MAX_CODE_BYTES: usize = 64;

/// `Ok` when `decision` is a well-formed answer to `query` within `limits`;
/// otherwise what is wrong with it, in plain words.
pub(super) fn check(decision: &Decision, query: &Query, limits: &Limits) -> Result<(), String> {
    check_size(decision, limits)?;
    for (index, denial) in decision.denials.iter().enumerate() {
        check_denial(denial, query).map_err(|reason| format!("denial {index}: {reason}"))?;
    }
    for (index, rewrite) in decision.rewrites.iter().enumerate() {
        check_rewrite(rewrite, query).map_err(|reason| format!("rewrite {index}: {reason}"))?;
    }
    if let Some(index) = decision.rules.iter().position(String::is_empty) {
        return Err(format!("rule id {index} is empty"));
    }
    Ok(())
}

fn check_size(decision: &Decision, limits: &Limits) -> Result<(), String> {
    let lists = [
        ("denials", decision.denials.len()),
        ("rewrites", decision.rewrites.len()),
        ("rule ids", decision.rules.len()),
    ];
    for (what, len) in lists {
        if len > limits.max_items {
            return Err(format!(
                "{len} {what}, over the cap of {}",
                limits.max_items
            ));
        }
    }
    let mut total = 0;
    for text in strings(decision) {
        if text.len() > limits.max_string_bytes {
            return Err(format!(
                "a string of {} bytes, over the cap of {}",
                text.len(),
                limits.max_string_bytes
            ));
        }
        total += text.len();
    }
    if total > limits.max_output_bytes {
        return Err(format!(
            "{total} bytes of text, over the cap of {}",
            limits.max_output_bytes
        ));
    }
    Ok(())
}

/// Every string in a decision.
fn strings(decision: &Decision) -> impl Iterator<Item = &str> {
    let denials = decision.denials.iter().flat_map(|denial| {
        let at = match &denial.at {
            Node::InsertColumn(column) => Some(column.as_str()),
            _ => None,
        };
        [
            Some(denial.code.as_str()),
            Some(denial.message.as_str()),
            denial.hint.as_deref(),
            at,
        ]
        .into_iter()
        .flatten()
    });
    let rewrites = decision
        .rewrites
        .iter()
        .filter_map(|rewrite| match rewrite {
            Rewrite::AddScope(scope) => Some(scope.column.as_str()),
            Rewrite::ForceInsert(forced) => Some(forced.column.as_str()),
            Rewrite::UnaccentIlike(_) | Rewrite::CapLimit(_) => None,
        });
    let rules = decision.rules.iter().map(String::as_str);
    denials.chain(rewrites).chain(rules)
}

fn check_denial(denial: &Denial, query: &Query) -> Result<(), String> {
    let code_ok = denial.code.starts_with("E-")
        && denial.code.len() <= MAX_CODE_BYTES
        && denial.code[2..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if !code_ok {
        return Err(format!(
            "code {:?} is not a code (E- and capital letters, digits, dashes)",
            denial.code
        ));
    }
    if denial.message.trim().is_empty() {
        return Err("the message is empty".into());
    }
    check_node(&denial.at, query)
}

fn check_node(node: &Node, query: &Query) -> Result<(), String> {
    match node {
        Node::Statement => Ok(()),
        Node::Relation(id) => check_id("relation", *id, query.relations.len()),
        Node::Column(id) => check_id("column", *id, query.columns.len()),
        Node::Comparison(id) => check_id("comparison", *id, query.comparisons.len()),
        Node::Function(id) => check_id("function", *id, query.functions.len()),
        Node::Feature(id) => check_id("feature", *id, query.features.len()),
        Node::InsertColumn(column) => {
            let named = query
                .insert
                .iter()
                .flat_map(|insert| &insert.columns)
                .any(|c| c.column == *column);
            if named {
                Ok(())
            } else {
                Err(format!(
                    "names insert column {column:?}, which the statement does not insert"
                ))
            }
        }
    }
}

fn check_rewrite(rewrite: &Rewrite, query: &Query) -> Result<(), String> {
    match rewrite {
        Rewrite::AddScope(scope) => {
            check_id("relation", scope.relation, query.relations.len())?;
            if scope.column.is_empty() {
                return Err("scopes by an empty column name".into());
            }
            Ok(())
        }
        Rewrite::UnaccentIlike(id) => check_id("comparison", *id, query.comparisons.len()),
        Rewrite::ForceInsert(forced) => {
            if query.insert.is_none() {
                return Err("forces an insert column, but the statement is no INSERT".into());
            }
            if forced.column.is_empty() {
                return Err("forces an empty column name".into());
            }
            Ok(())
        }
        Rewrite::CapLimit(_) => Ok(()),
    }
}

fn check_id(what: &str, id: u32, len: usize) -> Result<(), String> {
    if usize::try_from(id).is_ok_and(|id| id < len) {
        return Ok(());
    }
    Err(format!("names {what} {id}, but the query has {len}"))
}
