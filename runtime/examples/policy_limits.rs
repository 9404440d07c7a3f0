//! The policy host's limits at work: modules that loop, exhaust memory,
//! trap or answer nonsense each end in a `PolicyError` (a refusal), and the
//! same host answers the next good call.
//!
//! ```sh
//! cargo run -p meetassist-runtime --example policy_limits
//! ```

use std::error::Error;
use std::time::Instant;

use meetassist_runtime::policy::build;
use meetassist_runtime::policy::bundle::{ModuleEntry, VerifiedModule, sha256_hex};
use meetassist_runtime::policy::host::{EngineConfig, Limits, PolicyEngine, PolicyHost};
use meetassist_runtime::policy::wit::{Query, Session, StatementKind};

fn main() -> Result<(), Box<dyn Error>> {
    let built = build::build_components(&["row-limit", "spin", "oom", "trap", "nonsense"])?;
    let modules = built
        .into_iter()
        .map(|c| VerifiedModule {
            entry: ModuleEntry {
                file: format!("{}.wasm", c.name),
                sha256: sha256_hex(&c.bytes),
                name: c.name,
                version: c.version,
            },
            bytes: c.bytes,
        })
        .collect();
    let engine = PolicyEngine::new(EngineConfig::default())?;
    let limits = Limits::default();
    println!("{limits:#?}\n");
    let host = PolicyHost::from_modules(&engine, modules, limits.clone())?;
    let epoch_only = host.with_limits(Limits {
        fuel: u64::MAX,
        ..limits
    })?;

    // The bad guests read the query's LIMIT to pick how to misbehave.
    let cases = [
        (&host, "spin", None, "loops"),
        (&epoch_only, "spin", None, "loops, with fuel to spare"),
        (&host, "oom", None, "allocates 64 KiB at a time"),
        (&host, "oom", Some(1), "allocates 1 GiB at once"),
        (&host, "oom", Some(2), "tries 1 GiB, answers when it fails"),
        (&host, "trap", None, "panics"),
        (&host, "trap", Some(1), "recurses without end"),
        (&host, "trap", Some(2), "executes unreachable"),
        (&host, "nonsense", Some(1), "names ids the query lacks"),
        (&host, "nonsense", Some(2), "answers a 4 MiB message"),
        (&host, "nonsense", Some(3), "answers 5,000 denials"),
    ];
    for (host, module, limit, what) in cases {
        let started = Instant::now();
        let outcome = host.evaluate(module, &query(limit)).expect("loaded");
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match outcome {
            Ok(decision) => println!("{module} ({what}): {ms:.1} ms, answered {decision:?}"),
            Err(error) => println!("{module} ({what}): {ms:.1} ms, refused: {error}"),
        }
        let good = host.evaluate("row-limit", &query(None)).expect("loaded");
        assert!(good.is_ok(), "the host still serves: {good:?}");
    }
    println!("\nAfter each, row-limit answered normally.");
    Ok(())
}

fn query(limit: Option<u64>) -> Query {
    Query {
        session: Session {
            tenant_id: 1,
            customer_id: None,
        },
        kind: StatementKind::Select,
        relations: Vec::new(),
        columns: Vec::new(),
        comparisons: Vec::new(),
        functions: Vec::new(),
        features: Vec::new(),
        insert: None,
        limit,
    }
}
