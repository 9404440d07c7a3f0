//! `meetassist db …`: migrate, seed, and run a local PostgreSQL.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Duration, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use meetassist_runtime::db::{self, MigrateOptions, PurgeError, Retention, SeedSource};
use meetassist_runtime::pg::{self, LocalCluster};

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply the schema migrations that are missing (idempotent).
    Migrate {
        /// Also set this password on the meetassist_bot role.
        #[arg(long, env = "MEETASSIST_BOT_PASSWORD", hide_env_values = true)]
        bot_password: Option<String>,
    },
    /// Load seed data in one transaction: all of it, or nothing.
    Seed {
        /// A directory of <table>.csv files; without it, the built-in demo data.
        #[arg(long)]
        csv_dir: Option<PathBuf>,
    },
    /// Delete what retention no longer keeps, in one transaction: audit
    /// rows, idle conversations, spent one-time codes, expired sender
    /// links, counters at zero. Run it daily.
    Purge {
        /// Days the guard's audit rows are kept.
        #[arg(long, default_value_t = 90)]
        audit_days: i64,
        /// Days a conversation nobody writes to is kept.
        #[arg(long, default_value_t = 30)]
        session_days: i64,
        /// Hours a sent code is kept (at least 1: the send limits count them).
        #[arg(long, default_value_t = 24)]
        code_hours: i64,
        /// The clock (RFC 3339); now when absent.
        #[arg(long, env = "MEETASSIST_NOW")]
        now: Option<String>,
    },
    /// Start a private PostgreSQL from the system's binaries, migrate it,
    /// load the demo data into it when it has no tenant yet, and serve it
    /// until Ctrl-C. Ignores --database-url.
    Up {
        /// Where the cluster keeps its data between runs.
        #[arg(long, default_value = ".meetassist/pg", conflicts_with = "temporary")]
        data_dir: PathBuf,
        /// A throw-away cluster in a temporary directory, deleted at exit.
        #[arg(long)]
        temporary: bool,
    },
}

pub async fn run(command: DbCommand, database_url: Option<&str>) -> Result<(), Failure> {
    match command {
        DbCommand::Migrate { bot_password } => {
            let mut client = connect(database_url).await?;
            migrate(&mut client, bot_password).await
        }
        DbCommand::Seed { csv_dir } => {
            let mut client = connect(database_url).await?;
            let source = csv_dir.map_or(SeedSource::Demo, SeedSource::Dir);
            seed(&mut client, &source).await
        }
        DbCommand::Purge {
            audit_days,
            session_days,
            code_hours,
            now,
        } => {
            let retention = Retention {
                audit: Duration::days(audit_days),
                idle_session: Duration::days(session_days),
                code: Duration::hours(code_hours),
            };
            let now = match now {
                Some(text) => DateTime::parse_from_rfc3339(&text)
                    .map_err(|error| Failure::usage(anyhow!("--now `{text}`: {error}")))?
                    .with_timezone(&Utc),
                None => Utc::now(),
            };
            let mut client = connect(database_url).await?;
            purge(&mut client, &retention, now).await
        }
        DbCommand::Up {
            data_dir,
            temporary,
        } => up(data_dir, temporary).await,
    }
}

async fn connect(database_url: Option<&str>) -> Result<tokio_postgres::Client, Failure> {
    let url = database_url.ok_or_else(|| {
        Failure::usage(anyhow!(
            "no database: pass --database-url URL or set DATABASE_URL (or run `meetassist db up` for a local one)"
        ))
    })?;
    pg::connect(url).await.map_err(|error| {
        Failure::usage(anyhow!(
            "cannot connect to the database: {}",
            pg::describe(&error)
        ))
    })
}

async fn migrate(
    client: &mut tokio_postgres::Client,
    bot_password: Option<String>,
) -> Result<(), Failure> {
    let report = db::migrate(client, &MigrateOptions { bot_password })
        .await
        .map_err(Failure::refused)?;
    for file in &report.applied {
        println!("applied {file}");
    }
    if report.applied.is_empty() {
        println!(
            "database is up to date at schema version {} ({} migrations)",
            report.version, report.already_applied
        );
    } else {
        println!("database is at schema version {}", report.version);
    }
    Ok(())
}

async fn purge(
    client: &mut tokio_postgres::Client,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let report = db::purge(client, retention, now)
        .await
        .map_err(|error| match error {
            PurgeError::TooShort { .. } => Failure::usage(error),
            PurgeError::Database(_) => {
                Failure::refused(anyhow::Error::new(error).context("nothing was deleted"))
            }
        })?;
    for (table, rows) in &report.deleted {
        println!("{table:<16} {rows:>7} rows deleted");
    }
    Ok(())
}

async fn seed(client: &mut tokio_postgres::Client, source: &SeedSource) -> Result<(), Failure> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} rows") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let result = db::seed(client, source, |progress| {
        bar.set_length(progress.rows_total);
        bar.set_position(progress.rows_done);
    })
    .await;
    bar.finish_and_clear();
    let report = result.map_err(|error| {
        Failure::refused(anyhow::Error::new(error).context("nothing was loaded"))
    })?;
    let total: u64 = report.tables.iter().map(|(_, rows)| rows).sum();
    for (table, rows) in &report.tables {
        println!("{table:<22} {rows:>5} rows");
    }
    println!("loaded {total} rows in one transaction");
    Ok(())
}

async fn up(data_dir: PathBuf, temporary: bool) -> Result<(), Failure> {
    let cluster = tokio::task::spawn_blocking(move || {
        if temporary {
            LocalCluster::start_temporary()
        } else {
            LocalCluster::start_persistent(&data_dir)
        }
    })
    .await
    .map_err(Failure::usage)?
    .map_err(|error| {
        Failure::usage(anyhow::Error::new(error).context("cannot start PostgreSQL"))
    })?;

    let mut admin = pg::connect(&cluster.superuser_url("postgres"))
        .await
        .map_err(|error| Failure::usage(anyhow!("{}", pg::describe(&error))))?;
    let exists = admin
        .query_opt(
            "select 1 from pg_database where datname = 'meetassist'",
            &[],
        )
        .await
        .context("looking for the meetassist database")
        .map_err(Failure::usage)?
        .is_some();
    if !exists {
        admin
            .batch_execute("create database meetassist")
            .await
            .context("creating the meetassist database")
            .map_err(Failure::usage)?;
    }
    let owner_url = cluster.superuser_url("meetassist");
    admin = pg::connect(&owner_url)
        .await
        .map_err(|error| Failure::usage(anyhow!("{}", pg::describe(&error))))?;
    migrate(&mut admin, None).await?;
    let tenants: i64 = admin
        .query_one("select count(*) from tenants", &[])
        .await
        .context("counting tenants")
        .map_err(Failure::refused)?
        .get(0);
    if tenants == 0 {
        seed(&mut admin, &SeedSource::Demo).await?;
    } else {
        println!("{tenants} tenants already loaded; not seeding");
    }
    println!();
    println!(
        "PostgreSQL is running (data in {}).",
        cluster.root().display()
    );
    println!("  owner:          {owner_url}");
    println!(
        "  meetassist_bot: {}",
        cluster.url(db::BOT_ROLE, "meetassist")
    );
    println!("Press Ctrl-C to stop it.");
    wait_for_stop_signal().await.map_err(Failure::usage)?;
    println!("stopping PostgreSQL");
    drop(cluster);
    Ok(())
}

/// Ctrl-C, or SIGTERM from a service manager or `timeout`.
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
    }
}
