//! A deliberately bad policy: it fails the way a buggy policy does. The
//! query's `limit` picks how:
//!
//! - no limit: it panics (`panic = "abort"`, so an `unreachable` trap);
//! - `limit = 1`: it recurses without end until the wasm stack is exhausted;
//! - `limit = 2`: it executes `unreachable` directly.
//!
//! The host answers each with a `PolicyError` and keeps serving. Never in a
//! bundle.

use meetassist_policy_sdk::{Decision, Guest, Query};

struct Trap;

impl Guest for Trap {
    fn evaluate(query: Query) -> Decision {
        match query.limit {
            Some(1) => {
                let depth = deeper(0);
                panic!("came back from infinite recursion at depth {depth}")
            }
            Some(2) => unreachable_instruction(),
            _ => panic!(
                "this policy always panics ({} relations)",
                query.relations.len()
            ),
        }
    }
}

/// Recursion the optimiser cannot turn into a loop: the result of each call
/// goes through `black_box` before it is used.
#[inline(never)]
// Recursion without end is what this module is for.
#[allow(unconditional_recursion)]
fn deeper(depth: u64) -> u64 {
    let below = std::hint::black_box(deeper(std::hint::black_box(depth + 1)));
    below.wrapping_add(depth)
}

/// The wasm `unreachable` instruction itself (an abort when built natively,
/// so the workspace still checks on the host).
#[cfg(target_arch = "wasm32")]
fn unreachable_instruction() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
fn unreachable_instruction() -> ! {
    std::process::abort()
}

meetassist_policy_sdk::export_policy!(Trap);
