//! Running policy modules: wasmtime components that each export one pure
//! function, `evaluate(query) -> decision`, run under a fuel budget, an
//! epoch deadline and a memory cap.
//!
//! At load, each module of a bundle is checked against the manifest's
//! digest, compiled once, checked to import nothing, and linked once into a
//! `PolicyPre` (an `InstancePre`). Per evaluation, each module gets a new
//! `Store` and a new instance made from its `PolicyPre`; the store is
//! dropped after the call, whatever happened in it.
//!
//! Why a fresh instance per call, not a reused one: nothing a module does
//! in one call (a static it sets, memory it fills or corrupts, a trap
//! halfway through its allocator) can be seen by any later call, so no
//! verdict can depend on an earlier query, and a module that failed is
//! never run again in the state it failed in, because no instance is run
//! twice. The price, measured with `runtime/examples/policy_bench.rs` on
//! the seven policies of the repository (release build, 2 busy cores):
//! 40–90 µs per module and call with the pooling allocator, 75–105 µs
//! allocating on demand, against 5–12 µs for one pre-instantiated instance
//! reused behind a `Mutex`; about 0.5 ms per statement for all seven,
//! next to a model call of seconds and a database round trip of
//! milliseconds. Reuse would also need its own proof that a trap or a
//! limit hit mid-call leaves nothing behind; a fresh instance needs none.
//!
//! Every way a module can fail is a `PolicyError`, and every
//! `PolicyError` means the statement is refused (`E-POLICY-FAILED`): the
//! host fails closed and goes on serving.

mod engine;
mod output;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

pub use engine::{Allocator, EngineConfig, PolicyEngine};

use super::bundle::{Manifest, ModuleEntry, VerifiedModule, sha256_hex};
use super::wit::{Decision, Denial, Node, PolicyPre, Query};

/// The refusal code for a statement some policy module failed on.
pub const POLICY_FAILED: &str = "E-POLICY-FAILED";

/// The one import a policy component may have: the WIT interface that
/// defines its types, as an instance exporting nothing but types.
pub const TYPES_INTERFACE: &str = "meetassist:policy/types@0.1.0";

/// What one call of one module may use, and how much it may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call: roughly the number of wasm instructions it may run.
    /// The repository's policies use 11,000–21,000 on a two-table query;
    /// the default leaves a thousandfold margin and stops a runaway loop
    /// after about 10 ms.
    pub fuel: u64,
    /// The call's wall-clock deadline, in ticks of the engine's epoch
    /// (`EngineConfig::epoch_tick`): the call is interrupted at the
    /// `deadline_ticks`-th tick after it starts, so after at least
    /// `deadline_ticks - 1` ticks (the first may come at once) and, as the
    /// ticker sleeps between ticks, a little later than `deadline_ticks`
    /// ticks on a loaded machine (10 × 10 ms measured 100–115 ms). It backs
    /// up fuel for time fuel does not count (bulk memory operations counted
    /// as one instruction, lifting a large answer). The default, 50 ticks
    /// of 10 ms, is generous on purpose: it counts wall time, so a thread
    /// descheduled or CPU-throttled (a small Lambda) counts against it, and
    /// a legitimate call (tens of µs) must never be refused for that.
    pub deadline_ticks: u64,
    /// The largest the module's linear memory may grow, in bytes.
    pub memory_bytes: usize,
    /// The most denials, rewrites or rule ids a decision may hold.
    pub max_items: usize,
    /// The longest string a decision may hold, in bytes.
    pub max_string_bytes: usize,
    /// The most bytes of text a decision may hold, all strings together.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: 20_000_000,
            deadline_ticks: 50,
            memory_bytes: 16 << 20,
            max_items: 256,
            max_string_bytes: 4096,
            max_output_bytes: 64 << 10,
        }
    }
}

/// Why a module gave no decision. Whatever the variant, the statement is
/// refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// It ran past its epoch deadline.
    #[error("it ran past its deadline of {deadline:?}")]
    Timeout { deadline: Duration },
    /// It used up its fuel.
    #[error("it used up its fuel ({fuel} instructions)")]
    OutOfFuel { fuel: u64 },
    /// It reached its memory cap or another cap on what it may hold (its
    /// wasm stack, its tables, its instances). A module that reached its
    /// memory cap is not believed even if it then answered: a failed
    /// allocation it recovered from may have changed its answer.
    #[error("it reached a resource limit: {limit}")]
    ResourceLimit { limit: String },
    /// It trapped: a panic, `unreachable`, an out-of-bounds access.
    #[error("it trapped: {message}")]
    Trap { message: String },
    /// Its answer is too large, names things the query does not have, or
    /// could not be read.
    #[error("its answer is not acceptable: {reason}")]
    BadOutput { reason: String },
    /// The host could not run it (instantiation failed).
    #[error("it could not be run: {message}")]
    Host { message: String },
}

impl PolicyError {
    /// The refusal for a statement `module` failed on, as a denial the
    /// compiler can report like any other.
    pub fn to_denial(&self, module: &ModuleEntry) -> Denial {
        Denial {
            code: POLICY_FAILED.into(),
            message: format!(
                "the policy {} failed, so the statement is refused: {self}",
                module.name
            ),
            hint: None,
            at: Node::Statement,
        }
    }
}

/// Why policy modules could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Bundle(#[from] super::bundle::BundleError),
    #[error("policy module {module}: its bytes have SHA-256 {actual}, but {expected} was expected")]
    Digest {
        module: String,
        expected: String,
        actual: String,
    },
    #[error("policy module {module}: not a component this host can run: {message}")]
    Compile { module: String, message: String },
    #[error(
        "policy module {module} imports {}; policy modules must import nothing",
        imports.join(", ")
    )]
    Imports {
        module: String,
        imports: Vec<String>,
    },
    #[error("policy module {module} does not export the policy world's `evaluate`: {message}")]
    Shape { module: String, message: String },
    #[error("two policy modules are named {module}")]
    Duplicate { module: String },
    #[error("policy host configuration: {message}")]
    Config { message: String },
}

/// The loaded policy modules, ready to evaluate queries. `Send + Sync`:
/// share it (`Arc`, or clone it: clones share the compiled modules) and
/// call it from any number of threads; with the pooling allocator, calls
/// beyond the pool's slots wait for one. Calls are synchronous and take
/// microseconds to (at worst) the deadline: from async code, call it in
/// `spawn_blocking`. The calling thread needs a stack of 1 MiB or more
/// (wasm may take up to wasmtime's `max_wasm_stack`, 512 KiB, of it);
/// tokio's blocking threads and Rust's spawned threads have 2 MiB.
#[derive(Clone)]
pub struct PolicyHost {
    engine: Arc<PolicyEngine>,
    modules: Arc<[LoadedModule]>,
    limits: Limits,
}

struct LoadedModule {
    entry: ModuleEntry,
    pre: PolicyPre<CallState>,
}

impl PolicyHost {
    /// Loads the bundle in `dir`: reads its manifest, checks every module
    /// against its digest, compiles and links each.
    pub fn load(engine: &Arc<PolicyEngine>, dir: &Path, limits: Limits) -> Result<Self, HostError> {
        let manifest = Manifest::read(dir)?;
        let modules = manifest.load_modules(dir)?;
        Self::from_modules(engine, modules, limits)
    }

    /// Compiles and links modules already in memory (tests, tools). Their
    /// digests are checked again.
    pub fn from_modules(
        engine: &Arc<PolicyEngine>,
        modules: Vec<VerifiedModule>,
        limits: Limits,
    ) -> Result<Self, HostError> {
        check_limits(engine.config(), &limits)?;
        let mut linker = Linker::new(engine.engine());
        // The type-only interface import (see `check_imports`) is satisfied
        // by an empty instance; nothing else is ever linked.
        linker
            .instance(TYPES_INTERFACE)
            .map_err(|error| HostError::Config {
                message: error.to_string(),
            })?;
        let mut loaded: Vec<LoadedModule> = Vec::with_capacity(modules.len());
        for module in modules {
            let name = module.entry.name.clone();
            if loaded.iter().any(|other| other.entry.name == name) {
                return Err(HostError::Duplicate { module: name });
            }
            let actual = sha256_hex(&module.bytes);
            if actual != module.entry.sha256 {
                return Err(HostError::Digest {
                    module: name,
                    expected: module.entry.sha256,
                    actual,
                });
            }
            let started = Instant::now();
            let component = Component::new(engine.engine(), &module.bytes).map_err(|error| {
                HostError::Compile {
                    module: name.clone(),
                    message: format!("{error:#}"),
                }
            })?;
            check_imports(engine.engine(), &component, &name)?;
            let pre = linker
                .instantiate_pre(&component)
                .and_then(PolicyPre::new)
                .map_err(|error| HostError::Shape {
                    module: name.clone(),
                    message: format!("{error:#}"),
                })?;
            tracing::debug!(
                module = %name,
                version = %module.entry.version,
                bytes = module.bytes.len(),
                compile_ms = started.elapsed().as_millis(),
                "policy module loaded"
            );
            loaded.push(LoadedModule {
                entry: module.entry,
                pre,
            });
        }
        Ok(Self {
            engine: Arc::clone(engine),
            modules: loaded.into(),
            limits,
        })
    }

    /// The same modules (not compiled again) under other limits.
    pub fn with_limits(&self, limits: Limits) -> Result<Self, HostError> {
        check_limits(self.engine.config(), &limits)?;
        Ok(Self {
            limits,
            ..self.clone()
        })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The loaded modules, in bundle order.
    pub fn modules(&self) -> impl ExactSizeIterator<Item = &ModuleEntry> {
        self.modules.iter().map(|module| &module.entry)
    }

    /// Asks every module about `query`, one after the other, in bundle
    /// order. A failed module's entry carries its `PolicyError`; the caller
    /// refuses the statement for it (`PolicyError::to_denial`).
    pub fn evaluate_all(
        &self,
        query: &Query,
    ) -> Vec<(&ModuleEntry, Result<Decision, PolicyError>)> {
        self.modules
            .iter()
            .map(|module| (&module.entry, self.run(module, query)))
            .collect()
    }

    /// Asks the module called `name` about `query`; `None` if no module
    /// has that name.
    pub fn evaluate(&self, name: &str, query: &Query) -> Option<Result<Decision, PolicyError>> {
        let module = self
            .modules
            .iter()
            .find(|module| module.entry.name == name)?;
        Some(self.run(module, query))
    }

    fn run(&self, module: &LoadedModule, query: &Query) -> Result<Decision, PolicyError> {
        let started = Instant::now();
        let (result, fuel_left) = self.call(module, query);
        let result = result.and_then(|decision| {
            output::check(&decision, query, &self.limits)
                .map(|()| decision)
                .map_err(|reason| PolicyError::BadOutput { reason })
        });
        let fuel_used = self.limits.fuel.saturating_sub(fuel_left);
        let micros = started.elapsed().as_micros();
        match &result {
            Ok(_) => {
                tracing::debug!(module = %module.entry.name, fuel_used, micros, "policy evaluated")
            }
            Err(error) => tracing::warn!(
                module = %module.entry.name, fuel_used, micros, %error,
                "policy module failed; the statement is refused"
            ),
        }
        result
    }

    /// One call in a store of its own, dropped before this returns (and
    /// before its pool slot is given back). Returns the fuel left.
    fn call(&self, module: &LoadedModule, query: &Query) -> (Result<Decision, PolicyError>, u64) {
        let _slot = self.engine.slot();
        let mut store = Store::new(self.engine.engine(), CallState::new(&self.limits));
        store.limiter(|state| &mut state.limiter);
        if let Err(error) = store.set_fuel(self.limits.fuel) {
            let message = format!("could not set fuel: {error}");
            return (Err(PolicyError::Host { message }), 0);
        }
        store.set_epoch_deadline(self.limits.deadline_ticks);
        let result = match module.pre.instantiate(&mut store) {
            Ok(policy) => policy
                .call_evaluate(&mut store, query)
                .map_err(|error| (Phase::Call, error)),
            Err(error) => Err((Phase::Instantiate, error)),
        };
        let fuel_left = store.get_fuel().unwrap_or(0);
        let limit_hit = store.data_mut().limiter.hit.take();
        let result = match (result, limit_hit) {
            (Ok(_), Some(limit)) => Err(PolicyError::ResourceLimit { limit }),
            (Ok(decision), None) => Ok(decision),
            (Err((phase, error)), limit_hit) => {
                tracing::debug!(module = %module.entry.name, error = ?error, "policy call failed");
                Err(self.classify(phase, &error, limit_hit))
            }
        };
        (result, fuel_left)
    }

    fn classify(
        &self,
        phase: Phase,
        error: &wasmtime::Error,
        limit_hit: Option<String>,
    ) -> PolicyError {
        let trap = error.downcast_ref::<Trap>().copied();
        match (trap, limit_hit) {
            (Some(Trap::OutOfFuel), _) => PolicyError::OutOfFuel {
                fuel: self.limits.fuel,
            },
            (Some(Trap::Interrupt), _) => PolicyError::Timeout {
                deadline: self.engine.config().epoch_tick * deadline_ticks_u32(&self.limits),
            },
            // A module whose allocation failed at the cap usually aborts:
            // the trap is the symptom, the cap the cause.
            (_, Some(limit)) => PolicyError::ResourceLimit { limit },
            (Some(Trap::StackOverflow), None) => PolicyError::ResourceLimit {
                limit: "its wasm call stack overflowed".into(),
            },
            (
                Some(
                    trap @ (Trap::StringOutOfBounds
                    | Trap::ListOutOfBounds
                    | Trap::InvalidDiscriminant
                    | Trap::InvalidChar
                    | Trap::UnalignedPointer),
                ),
                None,
            ) => PolicyError::BadOutput {
                reason: trap.to_string(),
            },
            (Some(trap), None) => PolicyError::Trap {
                message: trap.to_string(),
            },
            // No trap: during a call, the values crossing the boundary
            // broke the canonical ABI (a bad pointer, invalid UTF-8).
            (None, None) => match phase {
                Phase::Call => PolicyError::BadOutput {
                    reason: format!("{error:#}"),
                },
                Phase::Instantiate => PolicyError::Host {
                    message: format!("{error:#}"),
                },
            },
        }
    }
}

/// Where a call's error came from.
#[derive(Debug, Clone, Copy)]
enum Phase {
    Instantiate,
    Call,
}

/// `deadline_ticks` for multiplying a `Duration` (saturating: a deadline
/// of four billion ticks is forever either way).
fn deadline_ticks_u32(limits: &Limits) -> u32 {
    u32::try_from(limits.deadline_ticks).unwrap_or(u32::MAX)
}

fn check_limits(engine: &EngineConfig, limits: &Limits) -> Result<(), HostError> {
    let problem = if limits.fuel == 0 {
        Some("the fuel budget is zero".to_string())
    } else if limits.deadline_ticks == 0 {
        Some("the deadline is zero ticks".to_string())
    } else if limits.memory_bytes > engine.max_memory_bytes {
        Some(format!(
            "the memory cap of {} bytes is over the engine's maximum of {}",
            limits.memory_bytes, engine.max_memory_bytes
        ))
    } else if limits.max_items == 0 || limits.max_string_bytes == 0 || limits.max_output_bytes == 0
    {
        Some("an output cap is zero".to_string())
    } else {
        None
    };
    match problem {
        Some(message) => Err(HostError::Config { message }),
        None => Ok(()),
    }
}

/// Refuses a component that imports anything but `TYPES_INTERFACE` as a
/// type-only instance: no functions, no resources, no WASI. (wit-component
/// imports the interface a world `use`s its types from, even when no
/// function comes with them.)
fn check_imports(
    engine: &wasmtime::Engine,
    component: &Component,
    name: &str,
) -> Result<(), HostError> {
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(engine)
        .filter(|(import, item)| {
            let types_only = match &item.ty {
                ComponentItem::ComponentInstance(instance) => instance
                    .exports(engine)
                    .all(|(_, export)| matches!(export.ty, ComponentItem::Type(_))),
                _ => false,
            };
            !(*import == TYPES_INTERFACE && types_only)
        })
        .map(|(import, _)| import.to_string())
        .collect();
    if imports.is_empty() {
        return Ok(());
    }
    Err(HostError::Imports {
        module: name.to_string(),
        imports,
    })
}

/// What a call's `Store` holds: its limiter.
struct CallState {
    limiter: Limiter,
}

impl CallState {
    fn new(limits: &Limits) -> Self {
        Self {
            limiter: Limiter {
                limits: StoreLimitsBuilder::new()
                    .memory_size(limits.memory_bytes)
                    .instances(engine::MAX_CORE_INSTANCES as usize)
                    .memories(engine::MAX_MEMORIES as usize)
                    .tables(engine::MAX_TABLES as usize)
                    .table_elements(engine::MAX_TABLE_ELEMENTS)
                    .build(),
                memory_bytes: limits.memory_bytes,
                hit: None,
            },
        }
    }
}

/// wasmtime's `StoreLimits`, remembering whether a module ran into them,
/// so a module that then traps (or recovers) is known to have hit a cap.
struct Limiter {
    limits: StoreLimits,
    memory_bytes: usize,
    hit: Option<String>,
}

impl Limiter {
    fn record(&mut self, what: String) {
        self.hit.get_or_insert(what);
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if !allowed {
            self.record(format!(
                "its memory would grow to {desired} bytes, over the cap of {}",
                self.memory_bytes
            ));
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.record(format!("its memory could not grow: {error}"));
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.table_growing(current, desired, maximum)?;
        if !allowed {
            self.record(format!(
                "its table would grow to {desired} elements, over the cap of {}",
                engine::MAX_TABLE_ELEMENTS
            ));
        }
        Ok(allowed)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.record(format!("its table could not grow: {error}"));
        Ok(())
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// `PolicyHost` must stay shareable across threads.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<PolicyHost>();
    send_sync::<PolicyEngine>();
};
