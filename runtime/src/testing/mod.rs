//! Support for tests that need PostgreSQL: one private cluster per test
//! process, started on first use and stopped when the process exits, and a
//! fresh database in it for every test. No test assumes a server is
//! already running.
//!
//! `converse`: a fake Bedrock Converse server replaying recorded replies.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

pub mod converse;

use crate::db::{self, MigrateOptions};
use crate::pg::{self, LocalCluster};

static CLUSTER: OnceLock<Mutex<Option<LocalCluster>>> = OnceLock::new();
static PORT: OnceLock<u16> = OnceLock::new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(1);

/// The shared cluster's port, starting the cluster on first use.
///
/// # Panics
/// When the cluster cannot start: a test cannot run without it, and the
/// message says what to install.
pub fn cluster_port() -> u16 {
    *PORT.get_or_init(|| {
        let cluster = match LocalCluster::start_temporary() {
            Ok(cluster) => cluster,
            Err(error) => panic!("cannot start a PostgreSQL cluster for the tests: {error}"),
        };
        let port = cluster.port();
        CLUSTER.get_or_init(|| Mutex::new(Some(cluster)));
        // Statics are never dropped; stop the server and delete its files
        // when the test process exits (the parent-death signal covers a
        // crash, the temp dir is then left behind).
        // SAFETY: registering a plain `extern "C" fn` with no captured state.
        unsafe {
            libc::atexit(stop_cluster_at_exit);
        }
        port
    })
}

extern "C" fn stop_cluster_at_exit() {
    if let Some(cell) = CLUSTER.get()
        && let Ok(mut guard) = cell.lock()
    {
        guard.take();
    }
}

/// A database of its own for one test, in the shared cluster.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub name: String,
    port: u16,
}

impl TestDatabase {
    /// Creates an empty database (no migrations applied).
    pub async fn empty() -> Self {
        let port = cluster_port();
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
        );
        let admin = pg::connect(&url(port, pg::SUPERUSER, "postgres"))
            .await
            .expect("connecting to the test cluster");
        admin
            .batch_execute(&format!("create database {name}"))
            .await
            .expect("creating a test database");
        TestDatabase { name, port }
    }

    /// Creates a database with every migration applied.
    pub async fn migrated() -> Self {
        let database = Self::empty().await;
        let mut client = database.owner().await;
        migrate_serialized(&mut client).await;
        database
    }

    /// Creates a migrated database holding the demo seed data.
    pub async fn seeded() -> Self {
        let database = Self::migrated().await;
        let mut client = database.owner().await;
        db::seed(&mut client, &db::SeedSource::Demo, |_| {})
            .await
            .expect("loading the demo seed");
        database
    }

    /// The URL of the owner (superuser) connection: migrations, seeding,
    /// internal work.
    pub fn owner_url(&self) -> String {
        url(self.port, pg::SUPERUSER, &self.name)
    }

    /// The URL of the `meetassist_bot` connection: what model SQL runs as.
    pub fn bot_url(&self) -> String {
        url(self.port, db::BOT_ROLE, &self.name)
    }

    /// A new owner connection.
    pub async fn owner(&self) -> tokio_postgres::Client {
        pg::connect(&self.owner_url())
            .await
            .expect("connecting as owner")
    }

    /// A new `meetassist_bot` connection.
    pub async fn bot(&self) -> tokio_postgres::Client {
        pg::connect(&self.bot_url())
            .await
            .expect("connecting as meetassist_bot")
    }
}

fn url(port: u16, user: &str, database: &str) -> String {
    format!("postgres://{user}@127.0.0.1:{port}/{database}")
}

/// The bot role and its settings belong to the whole cluster. Migrations
/// guard against creating them twice, but PostgreSQL answers two
/// *simultaneous* catalog updates of one role with "tuple concurrently
/// updated", so tests migrate one at a time.
async fn migrate_serialized(client: &mut tokio_postgres::Client) {
    static MIGRATING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = MIGRATING.lock().await;
    db::migrate(client, &MigrateOptions::default())
        .await
        .expect("migrating a test database");
}

/// The guard with the repository's policy modules, the bundle rebuilt
/// first when its sources changed (the first build takes about a minute).
///
/// # Panics
/// When the bundle cannot be built or loaded: the message says why.
pub fn guard() -> crate::guard::Guard {
    use crate::policy::{build, bundle, host};
    let dir = bundle::default_dir();
    if let Err(error) = build::ensure_fresh_bundle(&dir) {
        panic!("cannot build the policy bundle: {error}");
    }
    let engine = match host::PolicyEngine::new(host::EngineConfig::default()) {
        Ok(engine) => engine,
        Err(error) => panic!("cannot start wasmtime: {error}"),
    };
    match host::PolicyHost::load(&engine, &dir, host::Limits::default()) {
        Ok(host) => crate::guard::Guard::new(host),
        Err(error) => panic!("cannot load the policy bundle: {error}"),
    }
}

/// Tenant `id` of `database`, with its name and time zone.
///
/// # Panics
/// When the tenant is missing or its zone unknown: test data is wrong.
pub async fn tenant(database: &TestDatabase, id: i64) -> crate::chat::Tenant {
    let row = database
        .owner()
        .await
        .query_one("select name, time_zone from tenants where id = $1", &[&id])
        .await
        .expect("reading the tenant");
    let zone: String = row.get(1);
    crate::chat::Tenant {
        id,
        name: row.get(0),
        time_zone: zone.parse().expect("a known time zone"),
    }
}

/// A conversation engine over `database`'s owner connection (model SQL
/// still runs as the bot) in `tenant`'s zone, with `model`, mail into
/// `outbox` and a fixed OTP secret.
///
/// # Panics
/// When the database cannot be reached.
pub async fn chat_engine(
    database: &TestDatabase,
    tenant: &crate::chat::Tenant,
    guard: std::sync::Arc<crate::guard::Guard>,
    model: crate::chat::model::Model,
    outbox: &std::path::Path,
) -> crate::chat::ChatEngine {
    let executor = crate::guard::execute::Executor::connect(
        &database.owner_url(),
        crate::guard::execute::ExecuteOptions {
            time_zone: tenant.time_zone.name().to_string(),
            ..crate::guard::execute::ExecuteOptions::default()
        },
    )
    .await
    .expect("connecting the engine's pool");
    crate::chat::ChatEngine::new(
        executor,
        guard,
        model,
        crate::identity::Outbox::new(outbox.to_path_buf()),
        crate::identity::OtpSecret::from_bytes(vec![7; 32]).expect("a 32-byte secret"),
        crate::chat::ChatConfig::default(),
    )
    .expect("the default chat configuration")
}
