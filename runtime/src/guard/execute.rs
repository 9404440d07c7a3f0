//! Running an accepted statement: as `meetassist_bot`, in a transaction
//! (read-only for a SELECT) with a statement timeout and the session's
//! tenant and customer set for row-level security, the second wall.
//! Database refusals (a booking conflict, a trigger's refusal, a timeout)
//! come back as coded diagnostics, never as panics.

use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use meetassist_compiler::describe::{Session, StatementKind};
use meetassist_compiler::{Compiled, Diagnostic};
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

use crate::db::BOT_ROLE;
use crate::pg::describe;

/// How statements run.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Longest a statement may run before PostgreSQL cancels it.
    pub statement_timeout: Duration,
    /// Zone timestamps are rendered in (the tenant's).
    pub time_zone: String,
    /// Connections kept open.
    pub pool_size: usize,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            statement_timeout: Duration::from_secs(3),
            time_zone: "UTC".into(),
            pool_size: 8,
        }
    }
}

/// Why a statement did not run.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// No database to run on: a usage problem, not a refusal.
    #[error("cannot reach the database: {0}")]
    Unavailable(String),
    /// The database refused the statement.
    #[error("{0}")]
    Refused(Diagnostic),
}

/// How many times a statement that lost a deadlock or a serialization
/// conflict is run again. Two overlapping bookings inserted at the same
/// instant can each wait for the other on the exclusion constraint;
/// PostgreSQL then aborts one (40P01). Run again, it gets the true answer:
/// booked, or `E-CONFLICT` once the other has committed.
const TRANSIENT_RETRIES: usize = 3;

/// Code of a statement that lost to a concurrent one (deadlock or
/// serialization failure) more than [`TRANSIENT_RETRIES`] times.
const BUSY: &str = "E-BUSY";

fn is_transient(outcome: &Result<Vec<serde_json::Value>, ExecuteError>) -> bool {
    matches!(outcome, Err(ExecuteError::Refused(diagnostic)) if diagnostic.code == BUSY)
}

/// A pool of connections that model SQL runs on.
pub struct Executor {
    pool: Pool,
    options: ExecuteOptions,
}

impl Executor {
    /// A pool for `url`; connects once to check it can.
    pub async fn connect(url: &str, options: ExecuteOptions) -> Result<Self, ExecuteError> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|error: tokio_postgres::Error| {
                ExecuteError::Unavailable(format!("bad database URL: {error}"))
            })?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size)
            .build()
            .map_err(|error| ExecuteError::Unavailable(error.to_string()))?;
        drop(
            pool.get()
                .await
                .map_err(|error| ExecuteError::Unavailable(pool_error(&error)))?,
        );
        Ok(Executor { pool, options })
    }

    /// The pool: also how a caller opens the transaction it passes to
    /// [`Executor::run_in`].
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `compiled` for `session` in a transaction of its own; the rows
    /// it gives, each a JSON object in column order (an INSERT without
    /// RETURNING gives none).
    pub async fn run(
        &self,
        compiled: &Compiled,
        session: Session,
    ) -> Result<Vec<serde_json::Value>, ExecuteError> {
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|error| ExecuteError::Unavailable(pool_error(&error)))?;
        let mut retries = 0;
        loop {
            let transaction = client
                .build_transaction()
                .read_only(compiled.kind == StatementKind::Select)
                .start()
                .await
                .map_err(refused)?;
            let mut outcome = self.run_as_bot(&transaction, compiled, session).await;
            if outcome.is_ok() {
                // A serialization failure can also come at commit.
                if let Err(error) = transaction.commit().await {
                    outcome = Err(refused(error));
                }
            }
            // Dropping an unfinished transaction rolls it back.
            if is_transient(&outcome) && retries < TRANSIENT_RETRIES {
                retries += 1;
                continue;
            }
            return outcome;
        }
    }

    /// Runs `compiled` for `session` inside the caller's transaction (one
    /// conversation turn), in a savepoint: the bot role, the settings and
    /// read-only mode for a SELECT end with it, and a refused statement
    /// leaves the caller's transaction usable. A SELECT's savepoint is
    /// rolled back (it changed nothing); an INSERT's is kept, so it commits
    /// or rolls back with the caller's transaction.
    pub async fn run_in(
        &self,
        transaction: &mut Transaction<'_>,
        compiled: &Compiled,
        session: Session,
    ) -> Result<Vec<serde_json::Value>, ExecuteError> {
        let mut retries = 0;
        loop {
            let outcome = self.run_in_savepoint(transaction, compiled, session).await;
            // The savepoint was rolled back: the caller's transaction is as
            // it was, and the statement can run again.
            if is_transient(&outcome) && retries < TRANSIENT_RETRIES {
                retries += 1;
                continue;
            }
            return outcome;
        }
    }

    /// One attempt of [`Executor::run_in`].
    async fn run_in_savepoint(
        &self,
        transaction: &mut Transaction<'_>,
        compiled: &Compiled,
        session: Session,
    ) -> Result<Vec<serde_json::Value>, ExecuteError> {
        let savepoint = transaction.savepoint("model_sql").await.map_err(refused)?;
        let read_only = compiled.kind == StatementKind::Select;
        if read_only {
            savepoint
                .batch_execute("SET LOCAL transaction_read_only = on")
                .await
                .map_err(refused)?;
        }
        let outcome = self.run_as_bot(&savepoint, compiled, session).await;
        match outcome {
            Ok(rows) if !read_only => {
                savepoint.commit().await.map_err(refused)?;
                // RELEASE keeps the SET LOCALs of the savepoint: back to
                // the caller's own role and an empty row-security context.
                transaction
                    .batch_execute(
                        "RESET ROLE; SELECT set_config('meetassist.tenant_id', '', true), \
                         set_config('meetassist.customer_id', '', true)",
                    )
                    .await
                    .map_err(refused)?;
                Ok(rows)
            }
            outcome => {
                savepoint.rollback().await.map_err(refused)?;
                outcome
            }
        }
    }

    /// Switches `transaction` to the bot role and the session's settings,
    /// then runs `compiled` in it.
    async fn run_as_bot(
        &self,
        transaction: &Transaction<'_>,
        compiled: &Compiled,
        session: Session,
    ) -> Result<Vec<serde_json::Value>, ExecuteError> {
        // Whoever we connected as, model SQL runs as the bot role.
        transaction
            .batch_execute(&format!("SET LOCAL ROLE {BOT_ROLE}"))
            .await
            .map_err(refused)?;
        let timeout = format!("{}ms", self.options.statement_timeout.as_millis());
        let customer = session
            .customer_id
            .map(|c| c.to_string())
            .unwrap_or_default();
        transaction
            .execute(
                "select set_config('statement_timeout', $1, true), set_config('TimeZone', $2, true),
                        set_config('meetassist.tenant_id', $3, true), set_config('meetassist.customer_id', $4, true)",
                &[&timeout, &self.options.time_zone, &session.tenant_id.to_string(), &customer],
            )
            .await
            .map_err(refused)?;

        let params = TextParam::all(compiled);
        let params: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        if let Some(wrapped) = rows_query(compiled) {
            let rows = transaction
                .query(&wrapped, &params)
                .await
                .map_err(refused)?;
            rows.iter()
                .map(|row| {
                    let text: String = row.get(0);
                    serde_json::from_str(&text).map_err(|error| {
                        ExecuteError::Refused(Diagnostic::new(
                            "E-DATABASE",
                            format!("unreadable row: {error}"),
                        ))
                    })
                })
                .collect()
        } else {
            transaction
                .execute(&compiled.sql, &params)
                .await
                .map_err(refused)?;
            Ok(Vec::new())
        }
    }
}

fn pool_error(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(error) => describe(error),
        other => other.to_string(),
    }
}

/// A database error as a refusal with a stable code.
fn refused(error: tokio_postgres::Error) -> ExecuteError {
    let Some(db) = error.as_db_error() else {
        return ExecuteError::Unavailable(error.to_string());
    };
    let (code, hint) = match db.code().code() {
        "23P01" => (
            "E-CONFLICT",
            Some("that time is taken; choose another slot"),
        ),
        "40P01" | "40001" => (
            BUSY,
            Some("another change to the same rows ran at the same moment; try again"),
        ),
        "MA001" => ("E-NOT-YOURS", None),
        "MA002" => ("E-CLOSED", None),
        "57014" => (
            "E-TIMEOUT",
            Some("the statement ran too long; ask for less"),
        ),
        "42501" => ("E-DB-DENIED", None),
        "23503" => (
            "E-NOT-FOUND",
            Some("it refers to something that does not exist in this tenant"),
        ),
        "23505" => ("E-DUPLICATE", None),
        "23514" | "23502" | "22P02" | "22007" | "22008" | "22003" | "22023" => {
            ("E-BAD-VALUE", None)
        }
        "42883" | "42804" | "42P18" | "42725" => ("E-TYPE", None),
        _ => ("E-DATABASE", None),
    };
    let mut diagnostic = Diagnostic::new(code, describe(&error));
    if let Some(hint) = hint {
        diagnostic = diagnostic.hint(hint);
    }
    ExecuteError::Refused(diagnostic)
}

/// The statement that gives `compiled`'s rows as JSON text, one per row,
/// or `None` when it gives no rows. `row_to_json` renders every type as
/// PostgreSQL itself would, in column order; the statement inside is
/// exactly `compiled`.
pub fn rows_query(compiled: &Compiled) -> Option<String> {
    if !compiled.returns_rows {
        return None;
    }
    Some(match compiled.kind {
        StatementKind::Insert => format!(
            "WITH q AS ({}) SELECT row_to_json(q)::text FROM q",
            compiled.sql
        ),
        _ => format!("SELECT row_to_json(q)::text FROM ({}) q", compiled.sql),
    })
}

/// A parameter sent in text form, so PostgreSQL reads it exactly as it
/// would have read the literal, as whatever type the statement gives it.
#[derive(Debug)]
pub struct TextParam(pub String);

impl TextParam {
    /// `compiled`'s parameters, in order.
    pub fn all(compiled: &Compiled) -> Vec<TextParam> {
        compiled
            .params
            .iter()
            .map(|p| TextParam(p.value.as_text()))
            .collect()
    }
}

impl ToSql for TextParam {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}
