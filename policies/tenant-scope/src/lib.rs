//! # tenant-scope
//!
//! **Rule.** Every relation the statement reads — at any depth, in any kind
//! of block (joins, derived and LATERAL tables, expression subqueries and
//! EXISTS, CTEs, UNION arms), views included — is limited to the session's
//! tenant: `add-scope(relation, <tenant column>, tenant-id)`. The one
//! relation an INSERT writes is not read, so it gets its tenant column
//! forced to the session's tenant instead: `force-insert(<tenant column>,
//! tenant-id)`. A relation without a tenant column is refused: every
//! model-visible relation is tenant-owned, so one without is a table model
//! SQL must not read (or a catalog mistake), and this policy cannot scope
//! it.
//!
//! **Reads.** `kind`; `relations` (`id`, `table`, `insert-target`,
//! `tenant-column`); `insert.target`. The tenant id itself is filled in by
//! the compiler from the session (`session-value.tenant-id`), never copied
//! from the description.
//!
//! **Returns.** Rewrites `add-scope` (`tenant-scope/scope-relation`) and
//! `force-insert` (`tenant-scope/force-tenant`); `E-NOT-ALLOWED` for a
//! relation without a tenant column (`tenant-scope/unscoped-relation`);
//! `E-INTERNAL` when the description's insert target is contradictory
//! (`tenant-scope/description`), since then the tenant might not be
//! forced.
#![forbid(unsafe_code)]

use meetassist_policy_sdk::{
    Decision, DecisionBuilder, Denial, ForcedValue, Guest, Node, Query, Rewrite, Scope,
    SessionValue, codes,
};

/// This policy's name, the prefix of its rule ids.
pub const MODULE: &str = "tenant-scope";

/// The policy, as exported to the host.
pub struct TenantScope;

impl Guest for TenantScope {
    fn evaluate(query: Query) -> Decision {
        evaluate(&query)
    }
}

// Only the Wasm component exports `evaluate`: natively, several policies
// linked into one binary (a case runner, the host's tests) would clash.
#[cfg(target_arch = "wasm32")]
meetassist_policy_sdk::export_policy!(TenantScope);

/// The whole rule: see the crate documentation.
pub fn evaluate(query: &Query) -> Decision {
    let mut decision = DecisionBuilder::new(MODULE);
    // On a contradictory description every relation is scoped, none forced,
    // and the statement refused.
    let target = query.insert_target().unwrap_or_else(|what| {
        deny_description(&mut decision, &what);
        None
    });
    for relation in &query.relations {
        let Some(column) = relation.tenant_column.as_deref().filter(|c| !c.is_empty()) else {
            decision.deny(
                "unscoped-relation",
                Denial::new(
                    codes::NOT_ALLOWED,
                    format!(
                        "The table \"{}\" has no tenant column, so it cannot be limited to \
                         this consultancy's rows.",
                        relation.table
                    ),
                    Node::Relation(relation.id),
                ),
            );
            continue;
        };
        if target == Some(relation.id) {
            decision.rewrite(
                "force-tenant",
                Rewrite::ForceInsert(ForcedValue {
                    column: column.to_string(),
                    value: SessionValue::TenantId,
                }),
            );
        } else {
            decision.rewrite(
                "scope-relation",
                Rewrite::AddScope(Scope {
                    relation: relation.id,
                    column: column.to_string(),
                    value: SessionValue::TenantId,
                }),
            );
        }
    }
    decision.finish()
}

fn deny_description(decision: &mut DecisionBuilder, what: &str) {
    decision.deny(
        "description",
        Denial::new(
            codes::INTERNAL,
            format!("The compiler described the statement inconsistently ({what}); refusing it."),
            Node::Statement,
        ),
    );
}

#[cfg(test)]
mod tests;
