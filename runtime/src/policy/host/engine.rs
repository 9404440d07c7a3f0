//! The process's one wasmtime `Engine`, set up for policy modules: the
//! component model, fuel, epoch interruption and (by default) the pooling
//! instance allocator; the ticker thread that advances its epoch; and the
//! gate that keeps concurrent evaluations within the pool.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::HostError;

/// The most core instances one policy component may create. A wit-bindgen
/// component has one (its module); adapters or shims would add a few.
pub(super) const MAX_CORE_INSTANCES: u32 = 4;
/// The most linear memories one policy component may have.
pub(super) const MAX_MEMORIES: u32 = 1;
/// The most tables one policy component may have (the indirect-call table,
/// plus any from shims).
pub(super) const MAX_TABLES: u32 = 2;
/// The most elements a policy's table may hold.
pub(super) const MAX_TABLE_ELEMENTS: usize = 10_000;

/// Engine-wide settings: fixed for the life of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// How often the ticker thread advances the engine's epoch. A call's
    /// deadline (`Limits::deadline_ticks`) is counted in these ticks.
    pub epoch_tick: Duration,
    /// Where instances' memories and tables come from.
    pub allocator: Allocator,
    /// The largest linear memory any policy may have, whatever its host's
    /// `Limits::memory_bytes`; with pooling, the size of a memory slot.
    pub max_memory_bytes: usize,
}

/// How instances are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allocator {
    /// Memories and tables come from a pool made once, with room for
    /// `slots` instances alive at the same time; an evaluation waits for a
    /// free slot. Instantiation is about twice as fast (no mmap per call).
    Pooling { slots: u32 },
    /// Memories and tables are mapped per instance and unmapped after it:
    /// no up-front reservation and no wait, a few µs slower per call.
    OnDemand,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            epoch_tick: Duration::from_millis(10),
            allocator: Allocator::Pooling { slots: 16 },
            max_memory_bytes: 64 << 20,
        }
    }
}

/// The wasmtime `Engine` policy modules run in, with its epoch ticker.
/// Build one per process, at start, and share it (`Arc`): every
/// `PolicyHost` made from it shares its compiled code cache, its ticker
/// and its instance pool.
pub struct PolicyEngine {
    engine: Engine,
    config: EngineConfig,
    /// With pooling: the free slots of the pool. `None` on demand.
    slots: Option<Slots>,
}

impl PolicyEngine {
    /// Sets up the engine and starts its ticker thread, which stops on its
    /// own once the engine is gone.
    pub fn new(config: EngineConfig) -> Result<Arc<Self>, HostError> {
        if config.epoch_tick.is_zero() {
            return Err(HostError::Config {
                message: "the epoch tick must be longer than zero".into(),
            });
        }
        let mut wasm = Config::new();
        wasm.wasm_component_model(true)
            .consume_fuel(true)
            .epoch_interruption(true);
        let slots = match config.allocator {
            Allocator::Pooling { slots: 0 } => {
                return Err(HostError::Config {
                    message: "a pooling allocator needs at least one slot".into(),
                });
            }
            Allocator::Pooling { slots } => {
                let mut pool = PoolingAllocationConfig::new();
                pool.total_component_instances(slots)
                    .total_core_instances(slots * MAX_CORE_INSTANCES)
                    .total_memories(slots * MAX_MEMORIES)
                    .total_tables(slots * MAX_TABLES)
                    .max_core_instances_per_component(MAX_CORE_INSTANCES)
                    .max_memories_per_component(MAX_MEMORIES)
                    .max_tables_per_component(MAX_TABLES)
                    .max_memory_size(config.max_memory_bytes)
                    .table_elements(MAX_TABLE_ELEMENTS);
                wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
                Some(Slots::new(slots))
            }
            Allocator::OnDemand => None,
        };
        let engine = Engine::new(&wasm).map_err(|error| HostError::Config {
            message: format!("wasmtime refused the engine configuration: {error}"),
        })?;
        start_ticker(&engine, config.epoch_tick)?;
        Ok(Arc::new(Self {
            engine,
            config,
            slots,
        }))
    }

    /// The wasmtime engine (for tools and benchmarks that drive wasmtime
    /// themselves; `PolicyHost` is the way to run policies).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The settings the engine was made with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Waits for room in the instance pool; the slot is given back when
    /// the returned guard drops (after the call's `Store`).
    pub(super) fn slot(&self) -> Option<SlotGuard<'_>> {
        self.slots.as_ref().map(Slots::take)
    }
}

/// One thread per engine calls `increment_epoch` every `tick`. A plain
/// sleep loop never bursts: after a stall (a frozen Lambda, a suspended
/// process) it advances the epoch once, not once per missed tick, so a
/// stall cannot time out calls that started after it.
fn start_ticker(engine: &Engine, tick: Duration) -> Result<(), HostError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("policy-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            }
        })
        .map(drop)
        .map_err(|error| HostError::Config {
            message: format!("could not start the epoch ticker thread: {error}"),
        })
}

/// A counting semaphore over the pool's instance slots.
struct Slots {
    free: Mutex<u32>,
    returned: Condvar,
}

impl Slots {
    fn new(slots: u32) -> Self {
        Self {
            free: Mutex::new(slots),
            returned: Condvar::new(),
        }
    }

    fn take(&self) -> SlotGuard<'_> {
        let mut free = self.lock();
        while *free == 0 {
            free = self
                .returned
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        SlotGuard { slots: self }
    }

    /// The count stays right even if a holder panicked: it is only ever
    /// changed by one statement under the lock.
    fn lock(&self) -> MutexGuard<'_, u32> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A taken pool slot, given back on drop.
pub(super) struct SlotGuard<'a> {
    slots: &'a Slots,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.slots.lock() += 1;
        self.slots.returned.notify_one();
    }
}
