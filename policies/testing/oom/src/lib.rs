//! A deliberately bad policy: it allocates until its memory runs out. The
//! query's `limit` picks how, so one module covers each shape of failure:
//!
//! - no limit: 64 KiB at a time, all kept, until an allocation fails and the
//!   allocator aborts (an `unreachable` trap);
//! - `limit = 1`: one 1 GiB allocation that cannot fail gracefully (`vec!`
//!   aborts: a trap);
//! - `limit = 2`: one fallible 1 GiB allocation (`try_reserve_exact`),
//!   answered with a denial when it fails.
//!
//! The host answers all three with `PolicyError::ResourceLimit`: a module
//! that ran into its memory cap is not believed, whatever it returned.
//! Never in a bundle.

use meetassist_policy_sdk::{Decision, Denial, Guest, Node, Query};

const HUGE: usize = 1 << 30;
const CHUNK: usize = 64 * 1024;

struct Oom;

impl Guest for Oom {
    fn evaluate(query: Query) -> Decision {
        match query.limit {
            Some(1) => {
                let block = vec![0xA5_u8; HUGE];
                std::hint::black_box(&block);
                allow()
            }
            Some(2) => {
                let mut block: Vec<u8> = Vec::new();
                match block.try_reserve_exact(HUGE) {
                    Ok(()) => allow(),
                    Err(error) => Decision {
                        denials: vec![Denial {
                            code: "E-OOM".into(),
                            message: format!("could not allocate 1 GiB: {error}"),
                            hint: None,
                            at: Node::Statement,
                        }],
                        rewrites: Vec::new(),
                        rules: vec!["oom/try-reserve".into()],
                    },
                }
            }
            _ => {
                let mut kept: Vec<Vec<u8>> = Vec::new();
                loop {
                    kept.push(vec![0xA5_u8; CHUNK]);
                    std::hint::black_box(&kept);
                }
            }
        }
    }
}

fn allow() -> Decision {
    Decision {
        denials: Vec::new(),
        rewrites: Vec::new(),
        rules: Vec::new(),
    }
}

meetassist_policy_sdk::export_policy!(Oom);
