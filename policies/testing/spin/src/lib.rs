//! A deliberately bad policy: it loops forever, whatever the query. The
//! host's fuel budget (`PolicyError::OutOfFuel`) or, with fuel to spare, its
//! epoch deadline (`PolicyError::Timeout`) must stop it. Never in a bundle.

use meetassist_policy_sdk::{Decision, Guest, Query};

struct Spin;

impl Guest for Spin {
    fn evaluate(query: Query) -> Decision {
        // `black_box` keeps the optimiser from proving the loop useless.
        let mut state = query.relations.len() as u64;
        loop {
            state = std::hint::black_box(
                state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1),
            );
        }
    }
}

meetassist_policy_sdk::export_policy!(Spin);
