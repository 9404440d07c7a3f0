//! # enum-check
//!
//! **Rule.** A literal compared with an enum column (`status = 'x'`,
//! `status IN (…)`, `status BETWEEN … AND …`, `<>`, `<`, …), or inserted
//! into one, must be one of the enum's labels, spelled exactly:
//! PostgreSQL compares labels case-sensitively, so `'Cancelled'` and
//! `'canceled'` are refused like any other stranger. The denial lists the
//! labels and, when one is close (the same word in another case or with
//! spaces or dashes for underscores, a prefix of one label only, or one or
//! two typos), asks "did you mean 'cancelled'?".
//!
//! A literal that is not text — a number, a boolean, NULL, or a literal
//! typed as something other than the enum (`'cancelled'::text`) — is never
//! a label and is refused; `x::<the enum>` is checked as its text. LIKE
//! and ILIKE patterns (and their negations) do not apply to enums and are
//! refused with a hint to use `=` or `IN`.
//!
//! Inserted values that are expressions or DEFAULT are left to the
//! database, which refuses a bad label when it evaluates them.
//!
//! **Reads.** `comparisons` (`id`, `column`, `op`, `literals`); `columns`
//! (`relation`, `column`, `column-type`); `relations` (`table`, for
//! messages); `insert.columns` (`column`, `column-type`, `values`).
//!
//! **Returns.** `E-ENUM-LABEL` for a literal that is not a label
//! (`enum-check/label` in comparisons, `enum-check/insert-label` in
//! inserts), a literal that is not text (`enum-check/literal-type`) and a
//! pattern (`enum-check/pattern`); `E-INTERNAL` for a comparison whose
//! column the description lacks (`enum-check/description`). Never a
//! rewrite.
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{
    ColumnType, ComparisonOp, Decision, DecisionBuilder, Denial, EnumType, Guest, InsertValue,
    Literal, Node, Query, codes,
};

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "enum-check";

/// The policy, as exported to the host.
pub struct EnumCheck;

impl Guest for EnumCheck {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(EnumCheck);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);

    for comparison in &query.comparisons {
        let Some(column) = query.column(comparison.column) else {
            // Unknown column: it might be an enum, so refuse rather than skip.
            decision.deny(
                "description",
                Denial::new(
                    codes::INTERNAL,
                    format!(
                        "The compiler described comparison #{} with a column it does not \
                         describe; refusing it.",
                        comparison.id
                    ),
                    Node::Comparison(comparison.id),
                ),
            );
            continue;
        };
        let ColumnType::Enumeration(enumeration) = &column.column_type else {
            continue;
        };
        let name = match query.relation(column.relation) {
            Some(relation) => format!("{}.{}", relation.alias, column.column),
            None => column.column.clone(),
        };
        let at = Node::Comparison(comparison.id);
        if matches!(
            comparison.op,
            ComparisonOp::Like
                | ComparisonOp::NotLike
                | ComparisonOp::Ilike
                | ComparisonOp::NotIlike
        ) {
            decision.deny(
                "pattern",
                Denial::new(
                    codes::ENUM_LABEL,
                    format!(
                        "{name} is of the enum type {}: LIKE and ILIKE patterns do not apply \
                         to it.",
                        enumeration.name
                    ),
                    at,
                )
                .with_hint(format!(
                    "Compare with = or IN (…) using its labels: {}.",
                    labels(enumeration)
                )),
            );
            continue;
        }
        for literal in &comparison.literals {
            check_literal(
                literal,
                enumeration,
                &name,
                "label",
                at.clone(),
                &mut decision,
            );
        }
    }

    if let Some(insert) = &query.insert {
        for column in &insert.columns {
            let ColumnType::Enumeration(enumeration) = &column.column_type else {
                continue;
            };
            for value in &column.values {
                if let InsertValue::Literal(literal) = value {
                    check_literal(
                        literal,
                        enumeration,
                        &column.column,
                        "insert-label",
                        Node::InsertColumn(column.column.clone()),
                        &mut decision,
                    );
                }
            }
        }
    }
    decision.finish()
}

/// Denies `literal` unless it is one of `enumeration`'s labels, as text or
/// typed as the enum itself.
fn check_literal(
    literal: &Literal,
    enumeration: &EnumType,
    column: &str,
    label_rule: &str,
    at: Node,
    decision: &mut DecisionBuilder,
) {
    let text = match literal {
        Literal::Text(text) => text,
        Literal::Typed(typed) if typed.type_name.eq_ignore_ascii_case(&enumeration.name) => {
            &typed.value
        }
        _ => {
            let hint = if *literal == Literal::Null {
                format!(
                    "Use one of its labels: {}; to test for a missing value, write \
                     {column} IS NULL.",
                    labels(enumeration)
                )
            } else {
                format!("Use one of its labels, quoted: {}.", labels(enumeration))
            };
            decision.deny(
                "literal-type",
                Denial::new(
                    codes::ENUM_LABEL,
                    format!(
                        "{column} is of the enum type {}; {literal} is not one of its labels.",
                        enumeration.name
                    ),
                    at,
                )
                .with_hint(hint),
            );
            return;
        }
    };
    if enumeration.labels.iter().any(|label| label == text) {
        return;
    }
    let mut hint = String::new();
    if let Some(label) = suggestion(text, &enumeration.labels) {
        hint.push_str(&format!("Did you mean '{label}'? "));
    }
    hint.push_str(&format!(
        "The labels of {} are {}.",
        enumeration.name,
        labels(enumeration)
    ));
    decision.deny(
        label_rule,
        Denial::new(
            codes::ENUM_LABEL,
            format!(
                "{literal} is not a label of {}, the type of {column}.",
                enumeration.name
            ),
            at,
        )
        .with_hint(hint),
    );
}

fn labels(enumeration: &EnumType) -> String {
    if enumeration.labels.is_empty() {
        return "(none)".to_string();
    }
    let quoted: Vec<String> = enumeration
        .labels
        .iter()
        .map(|l| Literal::Text(l.clone()).to_string())
        .collect();
    quoted.join(", ")
}

/// The one label `text` most likely meant, tried in order: the same word
/// in another case or with ' '/'-' for '_'; the one label that starts
/// with it or that it starts with (`cancel` → `cancelled`, `cancelled` →
/// `cancel`; three letters at least); the label within the fewest edits
/// (at most two, and fewer than half the word). An ambiguous step suggests
/// nothing.
pub fn suggestion<'a>(text: &str, labels: &'a [String]) -> Option<&'a str> {
    let wanted = normalize(text);
    let normalized: Vec<(String, &'a str)> =
        labels.iter().map(|l| (normalize(l), l.as_str())).collect();

    let same: Vec<&str> = normalized
        .iter()
        .filter(|(n, _)| *n == wanted)
        .map(|(_, l)| *l)
        .collect();
    if let [label] = same[..] {
        return Some(label);
    }
    let prefixed: Vec<&str> = normalized
        .iter()
        .filter(|(n, _)| {
            let (short, long) = if n.len() < wanted.len() {
                (n.as_str(), wanted.as_str())
            } else {
                (wanted.as_str(), n.as_str())
            };
            short.chars().count() >= 3 && long.starts_with(short)
        })
        .map(|(_, l)| *l)
        .collect();
    if let [label] = prefixed[..] {
        return Some(label);
    }
    let limit = (wanted.chars().count().saturating_sub(1) / 2).min(2);
    let mut best: Option<(usize, &str)> = None;
    let mut tied = false;
    for (n, label) in &normalized {
        let distance = edit_distance(&wanted, n);
        if distance > limit {
            continue;
        }
        match best {
            Some((d, _)) if distance > d => {}
            Some((d, _)) if distance == d => tied = true,
            _ => {
                best = Some((distance, label));
                tied = false;
            }
        }
    }
    match (best, tied) {
        (Some((_, label)), false) => Some(label),
        _ => None,
    }
}

fn normalize(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests;
