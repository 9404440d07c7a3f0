//! What one policy call costs, three ways, on the repository's policies:
//! a fresh instance per call from the pooling allocator (what `PolicyHost`
//! does by default), a fresh instance allocated on demand, and one
//! pre-instantiated instance reused behind a `Mutex` (what the host
//! deliberately does not do). Also prints each policy's fuel per call.
//!
//! ```sh
//! cargo run --release -p meetassist-runtime --example policy_bench [-- CALLS]
//! ```

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use meetassist_runtime::policy::build;
use meetassist_runtime::policy::bundle::{self, Manifest, VerifiedModule};
use meetassist_runtime::policy::host::{
    Allocator, EngineConfig, Limits, PolicyEngine, PolicyHost, TYPES_INTERFACE,
};
use meetassist_runtime::policy::wit::{
    Access, BlockKind, Clause, ColumnType, ColumnUse, Comparison, ComparisonOp, Literal, Policy,
    Query, Relation, Session, StatementKind, TextColumn,
};
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

fn main() -> Result<(), Box<dyn Error>> {
    let calls: u32 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(5_000);
    let dir = bundle::default_dir();
    build::ensure_fresh_bundle(&dir)?;
    let modules = Manifest::read(&dir)?.load_modules(&dir)?;
    let query = sample_query();
    println!("{calls} calls each; µs per call; query: 2 relations, 5 column uses, 1 comparison\n");

    let mut rows: Vec<(String, Vec<f64>, u64)> = modules
        .iter()
        .map(|m| (m.entry.name.clone(), Vec::new(), 0))
        .collect();
    let mut per_statement = Vec::new();
    for allocator in [Allocator::Pooling { slots: 16 }, Allocator::OnDemand] {
        let engine = PolicyEngine::new(EngineConfig {
            allocator,
            ..EngineConfig::default()
        })?;
        let started = Instant::now();
        let host = PolicyHost::from_modules(&engine, modules.clone(), Limits::default())?;
        println!(
            "{allocator:?}: compiled and linked {} modules in {:.1} ms",
            modules.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
        for (name, costs, _) in &mut rows {
            costs.push(time(calls, || {
                let outcome = host.evaluate(name, &query).expect("loaded");
                assert!(outcome.is_ok(), "{name}: {outcome:?}");
            }));
        }
        per_statement.push(time(calls / 4, || {
            let outcomes = host.evaluate_all(&query);
            assert!(outcomes.iter().all(|(_, o)| o.is_ok()));
        }));
    }
    let engine = PolicyEngine::new(EngineConfig::default())?;
    for ((_, costs, fuel), module) in rows.iter_mut().zip(&modules) {
        let (cost, used) = reused(&engine, module, &query, calls)?;
        costs.push(cost);
        *fuel = used;
    }

    println!(
        "\n{:<18} {:>14} {:>16} {:>16} {:>8}",
        "module", "fresh, pooled", "fresh, on demand", "reused (Mutex)", "fuel"
    );
    for (name, costs, fuel) in &rows {
        println!(
            "{name:<18} {:>14.2} {:>16.2} {:>16.2} {fuel:>8}",
            costs[0], costs[1], costs[2]
        );
    }
    println!(
        "\nevaluate_all ({} modules, one statement): {:.1} µs pooled, {:.1} µs on demand",
        modules.len(),
        per_statement[0],
        per_statement[1]
    );
    Ok(())
}

/// µs per call of `f`, after a warm-up of a tenth as many calls.
fn time(calls: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..calls / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..calls {
        f();
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(calls)
}

/// One instance, made once and called `calls` times behind a `Mutex`, its
/// fuel and deadline reset before each call as the host would have to.
/// Returns µs per call and the fuel one call uses.
fn reused(
    engine: &Arc<PolicyEngine>,
    module: &VerifiedModule,
    query: &Query,
    calls: u32,
) -> Result<(f64, u64), Box<dyn Error>> {
    let limits = Limits::default();
    let wasm = engine.engine();
    let component = Component::new(wasm, &module.bytes)?;
    let mut linker = Linker::<()>::new(wasm);
    linker.instance(TYPES_INTERFACE)?;
    let mut store = Store::new(wasm, ());
    let policy = Policy::instantiate(&mut store, &component, &linker)?;
    let shared = Mutex::new((store, policy));
    let call = || -> u64 {
        let mut guard = shared.lock().expect("not poisoned");
        let (store, policy) = &mut *guard;
        store.set_fuel(limits.fuel).expect("fuel is on");
        store.set_epoch_deadline(limits.deadline_ticks);
        policy.call_evaluate(&mut *store, query).expect("answers");
        limits.fuel - store.get_fuel().expect("fuel is on")
    };
    let fuel = call();
    Ok((
        time(calls, || {
            call();
        }),
        fuel,
    ))
}

/// `SELECT s.name, a.starts_at FROM appointments a JOIN services s ON
/// s.id = a.service_id WHERE s.name = 'Tư vấn' LIMIT 10`, by a verified
/// customer.
fn sample_query() -> Query {
    let relation = |id: u32, table: &str, alias: &str, access, owner: Option<&str>| Relation {
        id,
        table: table.into(),
        alias: alias.into(),
        depth: 0,
        block: BlockKind::Top,
        insert_target: false,
        nullable_side: false,
        is_view: false,
        access,
        tenant_column: Some("tenant_id".into()),
        owner_column: owner.map(Into::into),
    };
    let column = |id: u32, relation: u32, name: &str, column_type, clause| ColumnUse {
        id,
        relation,
        column: name.into(),
        column_type,
        clause,
        staff_only: false,
    };
    let text = ColumnType::Text(TextColumn { searchable: true });
    Query {
        session: Session {
            tenant_id: 1,
            customer_id: Some(3),
        },
        kind: StatementKind::Select,
        relations: vec![
            relation(
                0,
                "appointments",
                "a",
                Access::CustomerPrivate,
                Some("customer_id"),
            ),
            relation(1, "services", "s", Access::TenantPublic, None),
        ],
        columns: vec![
            column(0, 1, "name", text.clone(), Clause::Projection),
            column(1, 0, "starts_at", ColumnType::Timestamp, Clause::Projection),
            column(2, 1, "id", ColumnType::Integer, Clause::JoinOn),
            column(3, 0, "service_id", ColumnType::Integer, Clause::JoinOn),
            column(4, 1, "name", text, Clause::Where),
        ],
        comparisons: vec![Comparison {
            id: 0,
            column: 4,
            op: ComparisonOp::Eq,
            literals: vec![Literal::Text("Tư vấn".into())],
        }],
        functions: Vec::new(),
        features: Vec::new(),
        insert: None,
        limit: Some(10),
    }
}
