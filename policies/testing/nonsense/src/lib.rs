//! A deliberately bad policy: it answers with what no honest policy would.
//! The query's `limit` picks what:
//!
//! - `limit = 1`: a small decision whose rewrites and denials name
//!   relations, columns, comparisons, functions and features that the query
//!   does not have, and a denial without a code;
//! - `limit = 2`: one denial whose message is 4 MiB long;
//! - `limit = 3`: 5,000 denials;
//! - no limit: all of the above at once.
//!
//! The host must refuse each as `PolicyError::BadOutput`. Never in a bundle.

use meetassist_policy_sdk::{Decision, Denial, Guest, Node, Query, Rewrite, Scope, SessionValue};

const LONG_MESSAGE: usize = 4 << 20;
const MANY_DENIALS: usize = 5_000;

struct Nonsense;

impl Guest for Nonsense {
    fn evaluate(query: Query) -> Decision {
        let mut decision = Decision {
            denials: Vec::new(),
            rewrites: Vec::new(),
            rules: vec!["nonsense/answer".into()],
        };
        let all = query.limit.is_none();
        if all || query.limit == Some(1) {
            dangling(&query, &mut decision);
        }
        if all || query.limit == Some(2) {
            decision.denials.push(Denial {
                code: "E-NONSENSE".into(),
                message: "x".repeat(LONG_MESSAGE),
                hint: None,
                at: Node::Statement,
            });
        }
        if all || query.limit == Some(3) {
            let denial = Denial {
                code: "E-NONSENSE".into(),
                message: "one denial of many".into(),
                hint: Some("there is no fixing this".into()),
                at: Node::Statement,
            };
            decision
                .denials
                .extend(std::iter::repeat_n(denial, MANY_DENIALS));
        }
        decision
    }
}

/// Ids just past the end of each of the query's lists, and far past it.
fn dangling(query: &Query, decision: &mut Decision) {
    let past = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
    decision.rewrites.extend([
        Rewrite::AddScope(Scope {
            relation: past(query.relations.len()),
            column: "tenant_id".into(),
            value: SessionValue::TenantId,
        }),
        Rewrite::UnaccentIlike(past(query.comparisons.len()).wrapping_add(12_345)),
    ]);
    decision.denials.extend(
        [
            Node::Relation(u32::MAX),
            Node::Column(past(query.columns.len())),
            Node::Comparison(past(query.comparisons.len())),
            Node::Function(past(query.functions.len())),
            Node::Feature(past(query.features.len())),
        ]
        .into_iter()
        .map(|at| Denial {
            code: "E-NONSENSE".into(),
            message: "this names nothing".into(),
            hint: None,
            at,
        }),
    );
    decision.denials.push(Denial {
        code: String::new(),
        message: "a denial without a code".into(),
        hint: None,
        at: Node::Statement,
    });
}

meetassist_policy_sdk::export_policy!(Nonsense);
