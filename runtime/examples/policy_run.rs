//! Runs the repository's policy bundle on one query description and prints
//! each module's decision: the whole host in a few lines.
//!
//! ```sh
//! cargo run -p meetassist-runtime --example policy_run
//! ```

use std::error::Error;

use meetassist_runtime::policy::host::{EngineConfig, Limits, PolicyEngine, PolicyHost};
use meetassist_runtime::policy::wit::{
    Access, BlockKind, Clause, ColumnType, ColumnUse, Query, Relation, Session, StatementKind,
};
use meetassist_runtime::policy::{build, bundle};

fn main() -> Result<(), Box<dyn Error>> {
    // Once per process: the engine (and its epoch ticker), then the bundle,
    // each module compiled and linked once.
    let dir = bundle::default_dir();
    build::ensure_fresh_bundle(&dir)?;
    let engine = PolicyEngine::new(EngineConfig::default())?;
    let host = PolicyHost::load(&engine, &dir, Limits::default())?;

    // Per statement: every module, each in a fresh instance.
    // `SELECT starts_at FROM appointments`, by an unverified visitor.
    let query = Query {
        session: Session {
            tenant_id: 1,
            customer_id: None,
        },
        kind: StatementKind::Select,
        relations: vec![Relation {
            id: 0,
            table: "appointments".into(),
            alias: "appointments".into(),
            depth: 0,
            block: BlockKind::Top,
            insert_target: false,
            nullable_side: false,
            is_view: false,
            access: Access::CustomerPrivate,
            tenant_column: Some("tenant_id".into()),
            owner_column: Some("customer_id".into()),
        }],
        columns: vec![ColumnUse {
            id: 0,
            relation: 0,
            column: "starts_at".into(),
            column_type: ColumnType::Timestamp,
            clause: Clause::Projection,
            staff_only: false,
        }],
        comparisons: Vec::new(),
        functions: Vec::new(),
        features: Vec::new(),
        insert: None,
        limit: None,
    };
    for (module, outcome) in host.evaluate_all(&query) {
        match outcome {
            Ok(decision) => println!("{} {}: {decision:#?}", module.name, module.version),
            Err(error) => println!("{} failed: {:?}", module.name, error.to_denial(module)),
        }
    }
    Ok(())
}
