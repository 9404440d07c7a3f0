//! Applies `schema/migrations/` to a database: what is missing, in version
//! order, one transaction per migration, recorded in `meetassist_migrations`.
//! Running it again changes nothing; a migration edited after it was applied
//! is an error, not a silent skip.

use meetassist_schema::{MIGRATIONS, Migration};
use tokio_postgres::Client;
use tokio_postgres::error::ErrorPosition;

use crate::pg::describe;

/// What `migrate` may be asked to do besides applying migrations.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Sets the password of the `meetassist_bot` role (for deployments that
    /// do not use trust authentication).
    pub bot_password: Option<String>,
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// The migrations applied by this run, as file names.
    pub applied: Vec<String>,
    /// How many were already applied before this run.
    pub already_applied: usize,
    /// The schema version the database is at now.
    pub version: u32,
}

/// Why migrating stopped. Nothing of a failed migration stays applied.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{file}{at}: {message}", at = position.map(|(line, column)| format!(":{line}:{column}")).unwrap_or_default())]
    Failed {
        file: String,
        /// Line and column in the migration file, when PostgreSQL said.
        position: Option<(usize, usize)>,
        message: String,
    },
    #[error(
        "migration {file} was changed after it was applied (recorded checksum {recorded}, file has {current}); \
         add a new migration instead of editing a shipped one"
    )]
    Edited {
        file: String,
        recorded: String,
        current: String,
    },
    #[error(
        "the database is at schema version {database}, newer than this program knows ({known}); use a newer meetassist"
    )]
    NewerDatabase { database: u32, known: u32 },
    #[error("{what}: {message}")]
    Database { what: &'static str, message: String },
}

fn database(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> MigrateError {
    move |error| MigrateError::Database {
        what,
        message: describe(&error),
    }
}

/// Serialises concurrent migrators of one database (advisory locks are per
/// database). The number is arbitrary but fixed.
const MIGRATION_LOCK: i64 = 0x6d65_6574_6173_7369; // "meetassi"

/// Brings the database to the newest schema version.
pub async fn migrate(
    client: &mut Client,
    options: &MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    client
        .execute("select pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(database("taking the migration lock"))?;
    let result = migrate_locked(client, options).await;
    // A lost connection releases the lock by itself; nothing to do then.
    let _ = client
        .execute("select pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    result
}

async fn migrate_locked(
    client: &mut Client,
    options: &MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    client
        .batch_execute(
            "create table if not exists meetassist_migrations (
                 version    integer primary key,
                 name       text not null,
                 checksum   text not null,
                 applied_at timestamptz not null default now()
             )",
        )
        .await
        .map_err(database("creating the migrations table"))?;

    let recorded: Vec<(u32, String)> = client
        .query(
            "select version, checksum from meetassist_migrations order by version",
            &[],
        )
        .await
        .map_err(database("reading the migrations table"))?
        .iter()
        .map(|row| (row.get::<_, i32>(0).unsigned_abs(), row.get(1)))
        .collect();

    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(&(newest, _)) = recorded.last()
        && newest > known
    {
        return Err(MigrateError::NewerDatabase {
            database: newest,
            known,
        });
    }
    for (version, checksum) in &recorded {
        if let Some(migration) = MIGRATIONS.iter().find(|m| m.version == *version)
            && migration.checksum() != *checksum
        {
            return Err(MigrateError::Edited {
                file: migration.file_name(),
                recorded: checksum.clone(),
                current: migration.checksum(),
            });
        }
    }

    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        if recorded
            .iter()
            .any(|(version, _)| *version == migration.version)
        {
            continue;
        }
        apply(client, migration).await?;
        tracing::info!(migration = %migration.file_name(), "applied");
        applied.push(migration.file_name());
    }

    if let Some(password) = &options.bot_password {
        set_bot_password(client, password).await?;
    }

    Ok(MigrationReport {
        already_applied: recorded.len(),
        applied,
        version: known,
    })
}

async fn apply(client: &mut Client, migration: &Migration) -> Result<(), MigrateError> {
    let failed = |error: tokio_postgres::Error| MigrateError::Failed {
        file: migration.file_name(),
        position: error.as_db_error().and_then(|db| match db.position() {
            Some(ErrorPosition::Original(offset)) => {
                Some(line_and_column(migration.sql, *offset as usize))
            }
            _ => None,
        }),
        message: describe(&error),
    };
    let transaction = client.transaction().await.map_err(failed)?;
    transaction
        .batch_execute(migration.sql)
        .await
        .map_err(failed)?;
    transaction
        .execute(
            "insert into meetassist_migrations (version, name, checksum) values ($1, $2, $3)",
            &[
                &(migration.version as i32),
                &migration.name(),
                &migration.checksum(),
            ],
        )
        .await
        .map_err(failed)?;
    transaction.commit().await.map_err(failed)
}

async fn set_bot_password(client: &Client, password: &str) -> Result<(), MigrateError> {
    // ALTER ROLE takes no bind parameters; %L quotes the literal safely.
    let statement: String = client
        .query_one(
            "select format('alter role meetassist_bot password %L', $1::text)",
            &[&password],
        )
        .await
        .map_err(database("setting the bot password"))?
        .get(0);
    client
        .batch_execute(&statement)
        .await
        .map_err(database("setting the bot password"))
}

/// 1-based line and column of the 1-based character `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before: String = text.chars().take(offset.saturating_sub(1)).collect();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |tail| tail.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_and_column;

    #[test]
    fn positions_become_lines_and_columns() {
        let text = "select 1;\nselect bogus;\n";
        assert_eq!(line_and_column(text, 1), (1, 1));
        assert_eq!(line_and_column(text, 11), (2, 1));
        assert_eq!(line_and_column(text, 18), (2, 8));
    }
}
