//! The policy host against real components: the repository's policies
//! (`tenant-scope` is the good module every test calls) and the
//! deliberately bad guests of `policies/testing/`, built once per test
//! process with the bundle builder. After every failure, the same host
//! answers a good call.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use super::*;
use crate::policy::build::{self, BuiltComponent};
use crate::policy::bundle::{MANIFEST_FORMAT, WIT_PACKAGE};
use crate::policy::wit::{
    Access, BlockKind, Relation, Rewrite, Scope, Session, SessionValue, StatementKind,
};

/// The good policy every test checks the host still serves with.
const GOOD: &str = "tenant-scope";
const BAD: [&str; 5] = ["spin", "oom", "trap", "nonsense", "stateful"];

/// Every policy of the repository and the bad guests, built in one go.
fn components() -> &'static [BuiltComponent] {
    static BUILT: OnceLock<Vec<BuiltComponent>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let policies = build::PolicyWorkspace::in_repository()
            .policy_crates()
            .expect("the policy workspace");
        let mut crates: Vec<&str> = policies.iter().map(String::as_str).collect();
        assert!(crates.contains(&GOOD), "{crates:?}");
        crates.extend(BAD);
        build::build_components(&crates).expect("the policy guests build")
    })
}

fn verified(name: &str) -> VerifiedModule {
    let built = components()
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("{name} was built"));
    VerifiedModule {
        entry: ModuleEntry {
            name: built.name.clone(),
            version: built.version.clone(),
            file: format!("{name}.wasm"),
            sha256: sha256_hex(&built.bytes),
        },
        bytes: built.bytes.clone(),
    }
}

/// One engine for the whole test process, as in production.
fn engine() -> &'static Arc<PolicyEngine> {
    static ENGINE: OnceLock<Arc<PolicyEngine>> = OnceLock::new();
    ENGINE.get_or_init(|| PolicyEngine::new(EngineConfig::default()).expect("engine"))
}

/// The default limits, but a deadline of 2 s: tests run in parallel on
/// busy machines, and a module that builds megabytes of nonsense must meet
/// the limit under test, not the clock. Only the timeout test shortens it.
fn limits() -> Limits {
    Limits {
        deadline_ticks: 200,
        ..Limits::default()
    }
}

/// The good and the bad modules, compiled once.
fn host() -> &'static PolicyHost {
    static HOST: OnceLock<PolicyHost> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut names = vec![GOOD];
        names.extend(BAD);
        let modules = names.into_iter().map(verified).collect();
        PolicyHost::from_modules(engine(), modules, limits()).expect("modules load")
    })
}

/// `SELECT … FROM services LIMIT <limit>` for tenant 7, by a visitor. The
/// bad guests read `limit` to pick how to misbehave.
fn query(limit: Option<u64>) -> Query {
    Query {
        session: Session {
            tenant_id: 7,
            customer_id: None,
        },
        kind: StatementKind::Select,
        relations: vec![Relation {
            id: 0,
            table: "services".into(),
            alias: "services".into(),
            depth: 0,
            block: BlockKind::Top,
            insert_target: false,
            nullable_side: false,
            is_view: false,
            access: Access::TenantPublic,
            tenant_column: Some("tenant_id".into()),
            owner_column: None,
        }],
        columns: Vec::new(),
        comparisons: Vec::new(),
        functions: Vec::new(),
        features: Vec::new(),
        insert: None,
        limit,
    }
}

/// What `tenant-scope` answers to `query(_)`.
fn scoped() -> Decision {
    Decision {
        denials: Vec::new(),
        rewrites: vec![Rewrite::AddScope(Scope {
            relation: 0,
            column: "tenant_id".into(),
            value: SessionValue::TenantId,
        })],
        rules: vec!["tenant-scope/scope-relation".into()],
    }
}

#[track_caller]
fn evaluate(host: &PolicyHost, module: &str, limit: Option<u64>) -> Result<Decision, PolicyError> {
    host.evaluate(module, &query(limit))
        .unwrap_or_else(|| panic!("the host has no module {module}"))
}

/// The host answers a good call after whatever came before.
#[track_caller]
fn assert_still_serves(host: &PolicyHost) {
    assert_eq!(evaluate(host, GOOD, None), Ok(scoped()));
}

#[track_caller]
fn assert_fails(
    host: &PolicyHost,
    module: &str,
    limit: Option<u64>,
    expected: fn(&PolicyError) -> bool,
) -> PolicyError {
    let error = evaluate(host, module, limit).expect_err("the module fails");
    assert!(expected(&error), "{module} (limit {limit:?}): {error:?}");
    assert_still_serves(host);
    error
}

#[test]
fn a_good_module_answers_with_its_decision() {
    assert_still_serves(host());
}

#[test]
fn evaluate_all_answers_for_every_module_in_order() {
    let host = host().with_limits(Limits {
        fuel: 2_000_000,
        ..limits()
    });
    let host = host.expect("limits");
    let outcomes = host.evaluate_all(&query(Some(1)));
    let names: Vec<&str> = outcomes.iter().map(|(m, _)| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "tenant-scope",
            "spin",
            "oom",
            "trap",
            "nonsense",
            "stateful"
        ]
    );
    assert_eq!(outcomes[0].1, Ok(scoped()));
    assert!(outcomes[1..5].iter().all(|(_, outcome)| outcome.is_err()));
    // The stateful module's first statement is always refused.
    assert!(outcomes[5].1.as_ref().is_ok_and(|d| !d.denials.is_empty()));
    let denial = outcomes[1].1.as_ref().unwrap_err().to_denial(outcomes[1].0);
    assert_eq!(denial.code, POLICY_FAILED);
    assert!(denial.message.contains("spin"), "{}", denial.message);
}

#[test]
fn a_spinning_module_runs_out_of_fuel() {
    let error = assert_fails(host(), "spin", None, |e| {
        matches!(e, PolicyError::OutOfFuel { .. })
    });
    assert_eq!(error, PolicyError::OutOfFuel { fuel: 20_000_000 });
}

#[test]
fn with_fuel_to_spare_the_epoch_deadline_stops_a_spinning_module() {
    let host = host()
        .with_limits(Limits {
            fuel: u64::MAX,
            deadline_ticks: 3,
            ..limits()
        })
        .expect("limits");
    let started = Instant::now();
    let error = assert_fails(&host, "spin", None, |e| {
        matches!(e, PolicyError::Timeout { .. })
    });
    let elapsed = started.elapsed();
    assert_eq!(
        error,
        PolicyError::Timeout {
            deadline: Duration::from_millis(30)
        }
    );
    // At least 2 ticks of 10 ms (the first may come at once).
    assert!(elapsed >= Duration::from_millis(20), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_module_allocating_without_end_reaches_the_memory_cap() {
    let error = assert_fails(host(), "oom", None, |e| {
        matches!(e, PolicyError::ResourceLimit { .. })
    });
    assert!(error.to_string().contains("16777216"), "{error}");
}

#[test]
fn one_huge_allocation_that_aborts_reaches_the_memory_cap() {
    assert_fails(host(), "oom", Some(1), |e| {
        matches!(e, PolicyError::ResourceLimit { .. })
    });
}

#[test]
fn a_module_that_recovers_from_a_failed_allocation_is_not_believed() {
    // The guest answers with its own denial; the host refuses it anyway.
    assert_fails(host(), "oom", Some(2), |e| {
        matches!(e, PolicyError::ResourceLimit { .. })
    });
}

#[test]
fn a_memory_cap_below_what_a_module_starts_with_refuses_the_module() {
    let host = host()
        .with_limits(Limits {
            memory_bytes: 64 << 10,
            ..limits()
        })
        .expect("limits");
    let error = evaluate(&host, GOOD, None).expect_err("no room to start");
    assert!(
        matches!(error, PolicyError::ResourceLimit { .. }),
        "{error:?}"
    );
    assert_still_serves(self::host());
}

#[test]
fn a_panicking_module_traps() {
    let error = assert_fails(host(), "trap", None, |e| {
        matches!(e, PolicyError::Trap { .. })
    });
    assert!(error.to_string().contains("unreachable"), "{error}");
}

#[test]
fn a_module_recursing_without_end_overflows_its_stack() {
    assert_fails(
        host(),
        "trap",
        Some(1),
        |e| matches!(e, PolicyError::ResourceLimit { limit } if limit.contains("stack")),
    );
}

#[test]
fn a_module_executing_unreachable_traps() {
    assert_fails(host(), "trap", Some(2), |e| {
        matches!(e, PolicyError::Trap { .. })
    });
}

#[test]
fn an_answer_naming_what_the_query_does_not_have_is_refused() {
    let error = assert_fails(host(), "nonsense", Some(1), |e| {
        matches!(e, PolicyError::BadOutput { .. })
    });
    assert!(
        error
            .to_string()
            .contains("names relation 4294967295, but the query has 1"),
        "{error}"
    );
}

#[test]
fn an_answer_with_a_huge_string_is_refused() {
    let error = assert_fails(host(), "nonsense", Some(2), |e| {
        matches!(e, PolicyError::BadOutput { .. })
    });
    assert!(
        error.to_string().contains("a string of 4194304 bytes"),
        "{error}"
    );
}

#[test]
fn an_answer_with_thousands_of_denials_is_refused() {
    let error = assert_fails(host(), "nonsense", Some(3), |e| {
        matches!(e, PolicyError::BadOutput { .. })
    });
    assert!(error.to_string().contains("5000 denials"), "{error}");
}

#[test]
fn an_answer_with_all_kinds_of_nonsense_is_refused() {
    assert_fails(host(), "nonsense", None, |e| {
        matches!(e, PolicyError::BadOutput { .. })
    });
}

#[test]
fn no_state_survives_from_one_call_to_the_next() {
    // `stateful` allows from its second call on, if it ever gets one.
    for _ in 0..3 {
        let decision = evaluate(host(), "stateful", None).expect("it answers");
        assert_eq!(decision.rules, ["stateful/call-1"]);
        assert_eq!(decision.denials.len(), 1);
    }
}

#[test]
fn many_threads_share_one_host_and_a_small_pool() {
    let engine = PolicyEngine::new(EngineConfig {
        allocator: Allocator::Pooling { slots: 2 },
        ..EngineConfig::default()
    })
    .expect("engine");
    let modules = [GOOD, "spin", "stateful"]
        .into_iter()
        .map(verified)
        .collect();
    let limits = Limits {
        fuel: 1_000_000,
        ..limits()
    };
    let host = PolicyHost::from_modules(&engine, modules, limits).expect("load");
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                for _ in 0..20 {
                    let outcomes = host.evaluate_all(&query(None));
                    assert_eq!(outcomes[0].1, Ok(scoped()));
                    assert!(matches!(outcomes[1].1, Err(PolicyError::OutOfFuel { .. })));
                    let stateful = outcomes[2].1.as_ref().expect("stateful answers");
                    assert_eq!(stateful.rules, ["stateful/call-1"]);
                }
            });
        }
    });
}

#[test]
fn instances_can_also_be_allocated_on_demand() {
    let engine = PolicyEngine::new(EngineConfig {
        allocator: Allocator::OnDemand,
        ..EngineConfig::default()
    })
    .expect("engine");
    let modules = [GOOD, "oom"].into_iter().map(verified).collect();
    let host = PolicyHost::from_modules(&engine, modules, limits()).expect("load");
    assert_still_serves(&host);
    assert_fails(&host, "oom", None, |e| {
        matches!(e, PolicyError::ResourceLimit { .. })
    });
}

/// A bundle directory holding `tenant-scope` under a manifest.
fn bundle() -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().expect("temp dir");
    let module = verified(GOOD);
    std::fs::write(dir.path().join(&module.entry.file), &module.bytes).expect("write module");
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        wit: WIT_PACKAGE.into(),
        source_digest: "test".into(),
        modules: vec![module.entry],
    };
    manifest.write(dir.path()).expect("write manifest");
    (dir, manifest)
}

#[test]
fn a_bundle_loads_and_answers() {
    let (dir, _) = bundle();
    let host = PolicyHost::load(engine(), dir.path(), Limits::default()).expect("load");
    let outcomes = host.evaluate_all(&query(None));
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].1, Ok(scoped()));
}

#[test]
fn a_tampered_module_is_refused_at_load() {
    let (dir, manifest) = bundle();
    let path = dir.path().join(&manifest.modules[0].file);
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let error = PolicyHost::load(engine(), dir.path(), Limits::default())
        .err()
        .expect("refused");
    assert!(
        matches!(
            error,
            HostError::Bundle(super::super::bundle::BundleError::DigestMismatch { .. })
        ),
        "{error}"
    );
}

#[test]
fn an_in_memory_module_whose_digest_differs_is_refused() {
    let mut module = verified(GOOD);
    module.bytes.push(0);
    let error = PolicyHost::from_modules(engine(), vec![module], Limits::default())
        .err()
        .expect("refused");
    assert!(matches!(error, HostError::Digest { .. }), "{error}");
}

#[test]
fn the_same_module_twice_is_refused() {
    let modules = vec![verified(GOOD), verified(GOOD)];
    let error = PolicyHost::from_modules(engine(), modules, Limits::default())
        .err()
        .expect("refused");
    assert!(matches!(error, HostError::Duplicate { .. }), "{error}");
}

/// A component that imports a function `now: func() -> u64`, either on its
/// own under `name` or inside an instance named `name`.
fn component_importing(name: &str, in_instance: bool) -> Vec<u8> {
    use wasm_encoder::{
        Component, ComponentImportSection, ComponentTypeRef, ComponentTypeSection,
        ComponentValType, InstanceType, PrimitiveValType,
    };
    let u64_result = Some(ComponentValType::Primitive(PrimitiveValType::U64));
    let mut types = ComponentTypeSection::new();
    types
        .ty()
        .function()
        .params(std::iter::empty::<(&str, ComponentValType)>())
        .result(u64_result);
    let mut instance = InstanceType::new();
    instance
        .ty()
        .function()
        .params(std::iter::empty::<(&str, ComponentValType)>())
        .result(u64_result);
    instance.export("now", ComponentTypeRef::Func(0));
    types.ty().instance(&instance);
    let mut imports = ComponentImportSection::new();
    let ty = if in_instance {
        ComponentTypeRef::Instance(1)
    } else {
        ComponentTypeRef::Func(0)
    };
    imports.import(name, ty);
    let mut component = Component::new();
    component.section(&types).section(&imports);
    component.finish()
}

fn module_from(name: &str, bytes: Vec<u8>) -> VerifiedModule {
    VerifiedModule {
        entry: ModuleEntry {
            name: name.into(),
            version: "0.0.0".into(),
            file: format!("{name}.wasm"),
            sha256: sha256_hex(&bytes),
        },
        bytes,
    }
}

#[test]
fn a_component_that_imports_anything_is_refused() {
    let cases = [
        ("a function", "now", false),
        ("an interface", "wasi:clocks/wall-clock@0.2.0", true),
        // The one allowed import name, but with a function inside.
        ("the types interface with a function", TYPES_INTERFACE, true),
    ];
    for (what, import, in_instance) in cases {
        let module = module_from("importer", component_importing(import, in_instance));
        let error = PolicyHost::from_modules(engine(), vec![module], Limits::default())
            .err()
            .unwrap_or_else(|| panic!("{what}: refused"));
        match error {
            HostError::Imports { imports, .. } => assert_eq!(imports, [import], "{what}"),
            other => panic!("{what}: {other}"),
        }
    }
}

#[test]
fn every_module_imports_only_its_types() {
    for built in components() {
        let module = verified(&built.name);
        let component = Component::new(engine().engine(), &module.bytes).expect("compiles");
        check_imports(engine().engine(), &component, &built.name).expect("no imports");
    }
}

#[test]
fn the_types_interface_is_the_bundles_wit_package() {
    let (package, version) = WIT_PACKAGE.split_once('@').expect("versioned");
    assert_eq!(TYPES_INTERFACE, format!("{package}/types@{version}"));
}

#[test]
fn limits_over_the_engines_maximum_are_refused() {
    let limits = Limits {
        memory_bytes: engine().config().max_memory_bytes + 1,
        ..limits()
    };
    assert!(matches!(
        host().with_limits(limits),
        Err(HostError::Config { .. })
    ));
}

#[test]
fn a_component_without_evaluate_is_refused() {
    let module = module_from("empty", wasm_encoder::Component::new().finish());
    let error = PolicyHost::from_modules(engine(), vec![module], Limits::default())
        .err()
        .expect("refused");
    assert!(matches!(error, HostError::Shape { .. }), "{error}");
    assert!(error.to_string().contains("evaluate"), "{error}");
}

#[test]
fn bytes_that_are_no_component_are_refused() {
    let module = module_from("garbage", b"\0asm but not really".to_vec());
    let error = PolicyHost::from_modules(engine(), vec![module], Limits::default())
        .err()
        .expect("refused");
    assert!(matches!(error, HostError::Compile { .. }), "{error}");
}
