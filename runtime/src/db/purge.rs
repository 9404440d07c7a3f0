//! Retention: what the conversation and identity tables stop needing, and
//! when. `meetassist db purge` runs it (daily, from cron or a scheduled
//! Lambda); one transaction, so a failure deletes nothing.
//!
//! Nothing a limit still depends on goes: a code's row counts toward the
//! cooldown and the hourly cap for an hour, so codes are kept a day; a
//! sender's or an email's failure count has no end date (a new code does
//! not reset it, SCHEMA.md's OTP rules), so only counters at zero with no
//! block in force are dropped.

use chrono::{DateTime, Duration, Utc};
use tokio_postgres::types::ToSql;

/// How long each kind of record is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// The guard's audit rows (`sql_audit`).
    pub audit: Duration,
    /// A conversation nobody wrote to (`chat_sessions.updated_at`).
    pub idle_session: Duration,
    /// A one-time code after it was sent (`otp_challenges`); at least the
    /// hour the send limits look back.
    pub code: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            audit: Duration::days(90),
            idle_session: Duration::days(30),
            code: Duration::days(1),
        }
    }
}

/// Rows deleted, per table, in the order purged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// `(table, rows deleted)`.
    pub deleted: Vec<(&'static str, u64)>,
}

/// Why a purge did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// A retention shorter than the limits it would undermine.
    #[error("retention of {what} must be at least {minimum}, not {given}")]
    TooShort {
        /// Which retention.
        what: &'static str,
        /// The shortest allowed, readable.
        minimum: String,
        /// What was asked, readable.
        given: String,
    },
    /// The database failed; nothing was deleted.
    #[error("purge: {0}")]
    Database(String),
}

impl From<tokio_postgres::Error> for PurgeError {
    fn from(error: tokio_postgres::Error) -> Self {
        PurgeError::Database(crate::pg::describe(&error))
    }
}

/// Deletes, in one transaction of `client`, what `retention` no longer
/// keeps at `now`.
pub async fn purge(
    client: &mut tokio_postgres::Client,
    retention: &Retention,
    now: DateTime<Utc>,
) -> Result<PurgeReport, PurgeError> {
    check(retention)?;
    let transaction = client.transaction().await?;
    let mut report = PurgeReport::default();
    let mut delete = async |table: &'static str, sql: &str, params: &[&(dyn ToSql + Sync)]| {
        let deleted = transaction.execute(sql, params).await?;
        report.deleted.push((table, deleted));
        Ok::<(), PurgeError>(())
    };
    delete(
        "sql_audit",
        "delete from sql_audit where created_at < $1",
        &[&(now - retention.audit)],
    )
    .await?;
    delete(
        "chat_sessions",
        "delete from chat_sessions where updated_at < $1",
        &[&(now - retention.idle_session)],
    )
    .await?;
    delete(
        "otp_challenges",
        "delete from otp_challenges where created_at < $1 and expires_at < $2",
        &[&(now - retention.code), &now],
    )
    .await?;
    delete(
        "sender_links",
        "delete from sender_links where expires_at < $1",
        &[&now],
    )
    .await?;
    delete(
        "otp_limits",
        "delete from otp_limits where failures = 0 and (blocked_until is null or blocked_until < $1)",
        &[&now],
    )
    .await?;
    transaction.commit().await?;
    Ok(report)
}

/// A code must outlive the hour the send limits count; sessions and audit
/// rows are kept at least a day so a purge can never hit a live turn.
fn check(retention: &Retention) -> Result<(), PurgeError> {
    let minimums = [
        ("codes", retention.code, Duration::hours(1)),
        ("idle sessions", retention.idle_session, Duration::days(1)),
        ("audit rows", retention.audit, Duration::days(1)),
    ];
    for (what, given, minimum) in minimums {
        if given < minimum {
            return Err(PurgeError::TooShort {
                what,
                minimum: readable(minimum),
                given: readable(given),
            });
        }
    }
    Ok(())
}

fn readable(duration: Duration) -> String {
    if duration.num_days() != 0 && duration == Duration::days(duration.num_days()) {
        format!("{} days", duration.num_days())
    } else {
        format!("{} minutes", duration.num_minutes())
    }
}
