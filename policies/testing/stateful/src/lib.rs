//! A deliberately bad policy: it keeps state between calls in a static and
//! lets its verdict depend on it. It refuses the first statement it sees
//! and allows every later one, so it allows something only if an instance
//! is ever reused. The host makes a fresh instance per call, so it must
//! always refuse. Never in a bundle.

use std::sync::atomic::{AtomicU32, Ordering};

use meetassist_policy_sdk::{Decision, Denial, Guest, Node, Query};

static CALLS: AtomicU32 = AtomicU32::new(0);

struct Stateful;

impl Guest for Stateful {
    fn evaluate(_query: Query) -> Decision {
        let call = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        let denials = if call == 1 {
            vec![Denial {
                code: "E-FIRST-CALL".into(),
                message: "this policy refuses the first statement it sees".into(),
                hint: None,
                at: Node::Statement,
            }]
        } else {
            Vec::new()
        };
        Decision {
            denials,
            rewrites: Vec::new(),
            rules: vec![format!("stateful/call-{call}")],
        }
    }
}

meetassist_policy_sdk::export_policy!(Stateful);
