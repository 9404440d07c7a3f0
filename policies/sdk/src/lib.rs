//! The guest SDK: the types of `policies/wit/policy.wit` as Rust, the macro
//! that exports a policy, and a few small helpers every policy uses (a
//! decision builder that names the rules that fired, denial codes, lookups
//! by id) plus builders of query descriptions for tests ([`build`]).
//!
//! ```ignore
//! use meetassist_policy_sdk::{Decision, Guest, Query};
//! struct MyPolicy;
//! impl Guest for MyPolicy {
//!     fn evaluate(query: Query) -> Decision { /* … */ }
//! }
//! // Exported in the Wasm build only, so that natively several policies can
//! // be linked into one binary without their `evaluate` symbols clashing.
//! #[cfg(target_arch = "wasm32")]
//! meetassist_policy_sdk::export_policy!(MyPolicy);
//! ```

pub mod build;

/// The generated bindings. They live in a module of their own because
/// wit-bindgen 0.63, with `pub_export_macro`, emits a `#[macro_export]`
/// macro and a `pub use` of it under the same name: at the crate root the
/// two collide (E0255), inside a module they do not.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "policy",
        pub_export_macro: true,
        export_macro_name: "export_policy",
        default_bindings_module: "meetassist_policy_sdk::bindings",
        // Lets tests compare whole decisions and descriptions.
        additional_derives: [PartialEq, Eq],
    });
}

pub use bindings::meetassist::policy::types::*;
pub use bindings::{Guest, export_policy};

use std::fmt;

/// The stable denial codes the policies use. The compiler passes them on
/// in its diagnostic, and the model reads them when it repairs its SQL.
pub mod codes {
    /// The statement, a table, a column, a function, a feature or a value
    /// is not allowed for model SQL.
    pub const NOT_ALLOWED: &str = "E-NOT-ALLOWED";
    /// The data is private: the customer must verify their email first.
    pub const NOT_VERIFIED: &str = "E-NOT-VERIFIED";
    /// A literal is not a label of the enum it is compared with or
    /// inserted into.
    pub const ENUM_LABEL: &str = "E-ENUM-LABEL";
    /// The query description contradicts itself (an id that points
    /// nowhere, an insert target that is not one). A compiler bug, never
    /// the model's; the policy refuses rather than guess.
    pub const INTERNAL: &str = "E-INTERNAL";
}

/// The id of a rule for `Decision::rules`: `"<module>/<rule>"`.
pub fn rule_id(module: &str, rule: &str) -> String {
    format!("{module}/{rule}")
}

impl Decision {
    /// No denials, no rewrites, no rules fired: the statement may run as is.
    pub fn allow() -> Self {
        Decision {
            denials: Vec::new(),
            rewrites: Vec::new(),
            rules: Vec::new(),
        }
    }

    /// True when the decision holds no denial.
    pub fn is_allowed(&self) -> bool {
        self.denials.is_empty()
    }
}

/// Builds one policy's [`Decision`], recording every rule that acts as
/// `"<module>/<rule>"` (once, in the order they first fired).
#[derive(Debug)]
pub struct DecisionBuilder {
    module: &'static str,
    decision: Decision,
}

impl DecisionBuilder {
    /// An empty decision of the policy `module` (its crate name).
    pub fn new(module: &'static str) -> Self {
        DecisionBuilder {
            module,
            decision: Decision::allow(),
        }
    }

    /// Refuses the statement because of `rule`.
    pub fn deny(&mut self, rule: &str, denial: Denial) {
        self.fired(rule);
        self.decision.denials.push(denial);
    }

    /// Asks for a rewrite because of `rule` (an identical request is made
    /// once).
    pub fn rewrite(&mut self, rule: &str, rewrite: Rewrite) {
        self.fired(rule);
        if !self.decision.rewrites.contains(&rewrite) {
            self.decision.rewrites.push(rewrite);
        }
    }

    /// Records that `rule` matched and acted.
    pub fn fired(&mut self, rule: &str) {
        let id = rule_id(self.module, rule);
        if !self.decision.rules.contains(&id) {
            self.decision.rules.push(id);
        }
    }

    /// The decision built so far.
    pub fn finish(self) -> Decision {
        self.decision
    }
}

impl Denial {
    /// A denial with a code from [`codes`], a plain-words message and no
    /// hint.
    pub fn new(code: &str, message: impl Into<String>, at: Node) -> Self {
        Denial {
            code: code.to_string(),
            message: message.into(),
            hint: None,
            at,
        }
    }

    /// The same denial with a hint on how to fix the statement.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl Query {
    /// The relation with this id, if the description has one (ids are
    /// indexes; a relation whose own id disagrees counts as missing).
    pub fn relation(&self, id: u32) -> Option<&Relation> {
        let index = usize::try_from(id).ok()?;
        self.relations.get(index).filter(|r| r.id == id)
    }

    /// The column use with this id, if the description has one.
    pub fn column(&self, id: u32) -> Option<&ColumnUse> {
        let index = usize::try_from(id).ok()?;
        self.columns.get(index).filter(|c| c.id == id)
    }

    /// The comparison with this id, if the description has one.
    pub fn comparison(&self, id: u32) -> Option<&Comparison> {
        let index = usize::try_from(id).ok()?;
        self.comparisons.get(index).filter(|c| c.id == id)
    }

    /// The id of the relation the statement INSERTs into: `Ok(None)` when
    /// it inserts nothing, `Err(what)` when the description contradicts
    /// itself (the statement kind, the insert record and the relations'
    /// `insert-target` flags must name one and the same target). A policy
    /// that forces or scopes by it refuses on `Err`.
    pub fn insert_target(&self) -> Result<Option<u32>, String> {
        let flagged: Vec<u32> = self
            .relations
            .iter()
            .filter(|r| r.insert_target)
            .map(|r| r.id)
            .collect();
        match (&self.kind, &self.insert) {
            (StatementKind::Insert, Some(insert)) => {
                if self.relation(insert.target).is_none() {
                    Err(format!(
                        "the INSERT's target #{} does not exist",
                        insert.target
                    ))
                } else if flagged != [insert.target] {
                    Err(
                        "the INSERT's target is not the one relation marked as inserted into"
                            .to_string(),
                    )
                } else {
                    Ok(Some(insert.target))
                }
            }
            (StatementKind::Insert, None) => Err("an INSERT without its insert record".to_string()),
            (_, Some(_)) => Err("a statement that is no INSERT has an insert record".to_string()),
            (_, None) if !flagged.is_empty() => Err(
                "a statement that is no INSERT has a relation marked as inserted into".to_string(),
            ),
            (_, None) => Ok(None),
        }
    }
}

impl Rewrite {
    /// The rewrite in the one-line form of the policies' case files:
    /// `scope <alias>.<column> = tenant|customer`,
    /// `force <column> = tenant|customer`, `unaccent-ilike <alias>.<column>`,
    /// `cap-limit <n>`. An id the query does not have shows as `#<id>`.
    pub fn canonical(&self, query: &Query) -> String {
        let value = |v: &SessionValue| match v {
            SessionValue::TenantId => "tenant",
            SessionValue::CustomerId => "customer",
        };
        let alias = |id: u32| {
            query
                .relation(id)
                .map_or_else(|| format!("#{id}"), |r| r.alias.clone())
        };
        match self {
            Rewrite::AddScope(s) => {
                format!(
                    "scope {}.{} = {}",
                    alias(s.relation),
                    s.column,
                    value(&s.value)
                )
            }
            Rewrite::ForceInsert(f) => format!("force {} = {}", f.column, value(&f.value)),
            Rewrite::UnaccentIlike(id) => {
                let column = query
                    .comparisons
                    .get(*id as usize)
                    .filter(|c| c.id == *id)
                    .and_then(|c| query.column(c.column));
                match column {
                    Some(c) => format!("unaccent-ilike {}.{}", alias(c.relation), c.column),
                    None => format!("unaccent-ilike #{id}"),
                }
            }
            Rewrite::CapLimit(n) => format!("cap-limit {n}"),
        }
    }
}

/// A literal as SQL would write it: `'cancelled'`, `42`, `NULL`,
/// `DATE '2026-12-01'`. For messages and hints.
impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("NULL"),
            Literal::Boolean(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Literal::Integer(i) => write!(f, "{i}"),
            Literal::Number(n) => f.write_str(n),
            Literal::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Typed(t) => write!(f, "{} '{}'", t.type_name, t.value.replace('\'', "''")),
        }
    }
}

#[cfg(test)]
mod tests;
