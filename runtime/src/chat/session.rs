//! A conversation's memory between turns, per (tenant, sender).
//!
//! A turn loads the session inside its transaction and locks it, so one
//! sender's messages are handled one at a time and a turn that fails
//! leaves the previous state whole. PostgreSQL here; DynamoDB (with a
//! conditional write on `turns`) comes with the AWS adapters.

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use meetassist_conversation::language::{Intent, Language};
use meetassist_conversation::understand::{Awaiting, TimeOfDay};
use serde::{Deserialize, Serialize};
// Re-exported: a store implements its methods on it.
pub use deadpool_postgres::Transaction;
use tokio_postgres::GenericClient;

/// Everything the bot remembers about one conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatState {
    /// The language of the last reply; `None` before the first.
    pub language: Option<Language>,
    /// The flow in progress, if any.
    pub flow: Option<Flow>,
    /// The quick replies of the last reply, so that "2" or a tap picks one.
    pub offered: Vec<Offer>,
    /// The last few turns, newest last, for a model's context.
    pub history: Vec<Exchange>,
    /// How fast the sender has been writing.
    #[serde(default)]
    pub pace: Pace,
    /// The local day the conversation was last about (a chosen day or
    /// slot), for "cùng ngày", "that day" in a later flow.
    #[serde(default)]
    pub last_day: Option<NaiveDate>,
    /// A booking, change or cancel set aside when the customer asked for a
    /// person, to resume if they go on by themselves.
    #[serde(default)]
    pub parked: Option<Flow>,
}

/// The sender's turns in the current window: a flood of messages (a script,
/// a stuck key) is answered once and then ignored until the window ends, so
/// it costs neither model calls nor queries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pace {
    /// When the current window started; `None` before the first turn.
    pub since: Option<DateTime<Utc>>,
    /// Turns taken in it, this one included.
    pub turns: u32,
}

/// What [`Pace::count`] decided about a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaceVerdict {
    /// Within the limit: answer it.
    Within,
    /// The first turn over the limit: say so once; the window ends in `wait`.
    Over {
        /// Until the window ends.
        wait: chrono::Duration,
    },
    /// Over the limit and already told: answer nothing.
    Ignored,
}

impl Pace {
    /// Counts a turn at `now` against at most `limit` turns per `window`.
    /// A clock that went back (another host's) starts a new window.
    pub fn count(
        &mut self,
        now: DateTime<Utc>,
        window: chrono::Duration,
        limit: u32,
    ) -> PaceVerdict {
        let start = match self.since {
            Some(since) if since <= now && now - since < window => since,
            _ => {
                self.turns = 0;
                now
            }
        };
        self.since = Some(start);
        self.turns = self.turns.saturating_add(1);
        match self.turns.checked_sub(limit) {
            None | Some(0) => PaceVerdict::Within,
            Some(1) => PaceVerdict::Over {
                wait: start + window - now,
            },
            Some(_) => PaceVerdict::Ignored,
        }
    }
}

/// One flow and the slots filled so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// What the customer is doing.
    pub intent: Intent,
    /// What the bot asked for last.
    pub awaiting: Option<Awaiting>,
    /// Chosen consultant.
    pub consultant: Option<i64>,
    /// Any consultant will do: search the team.
    #[serde(default)]
    pub any_consultant: bool,
    /// Chosen service.
    pub service: Option<i64>,
    /// Chosen local date.
    pub date: Option<NaiveDate>,
    /// Earliest local date wished for when no day was named ("next week").
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Wished time of day.
    pub time: Option<TimeOfDay>,
    /// Chosen start.
    pub slot: Option<DateTime<Utc>>,
    /// The customer's appointment a cancel or reschedule is about.
    pub appointment: Option<i64>,
    /// The email a code was sent to, while verifying.
    pub email: Option<String>,
    /// The new start keeps the moved appointment's clock time ("the same
    /// time next week"); resolved once the appointment is known.
    #[serde(default)]
    pub same_time: bool,
    /// What the booking is about, in the customer's words: written to
    /// `appointments.topic` for the consultant.
    #[serde(default)]
    pub topic: Option<String>,
}

impl Flow {
    /// A fresh flow for `intent`.
    pub fn new(intent: Intent) -> Self {
        Flow {
            intent,
            awaiting: None,
            consultant: None,
            any_consultant: false,
            service: None,
            date: None,
            from: None,
            time: None,
            slot: None,
            appointment: None,
            email: None,
            same_time: false,
            topic: None,
        }
    }
}

/// A quick reply as offered: what it showed and what a tap sends back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The chip's text (≤ 20 characters).
    pub title: String,
    /// What a tap sends back.
    pub payload: String,
}

/// One message and the bot's answer, for context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// What the customer sent.
    pub customer: String,
    /// What the bot answered (texts joined).
    pub bot: String,
}

/// How many exchanges a session keeps.
pub const HISTORY_LEN: usize = 6;

/// Why a session could not be loaded or stored.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The database failed.
    #[error("session store: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// Another turn saved the session since this one loaded it.
    #[error("session of sender {psid} changed during the turn")]
    Conflict {
        /// The sender.
        psid: String,
    },
    /// The stored state is not what this version writes.
    #[error("session of sender {psid} is unreadable: {reason}")]
    Corrupt {
        /// The sender.
        psid: String,
        /// What serde said.
        reason: String,
    },
}

/// A loaded session and the number of turns it has had.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// The state.
    pub state: ChatState,
    /// Turns so far (the version a store can condition its write on).
    pub turns: i64,
    /// When the last turn was saved; `None` for a new session.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A store's answer, boxed so that stores can be chosen at run time.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where sessions live between turns.
///
/// A store is used inside the turn's database transaction: `load` reads
/// (and, where the store can, locks) the session, `save` writes it back
/// only if nobody else saved since `load` (the `turns` it returned), so two
/// turns racing for one sender never both land. PostgreSQL
/// ([`PgSessions`]) is the local store; DynamoDB, with a conditional write
/// on `turns`, comes with the AWS adapters.
pub trait SessionStore: Send + Sync {
    /// The session of (`tenant`, `psid`), empty if new.
    fn load<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        tenant: i64,
        psid: &'a str,
    ) -> BoxFuture<'a, Result<Stored, SessionError>>;

    /// Stores `state` as turn `loaded.turns + 1`, or fails with
    /// [`SessionError::Conflict`] when the stored session is no longer the
    /// one `loaded` read.
    fn save<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        tenant: i64,
        psid: &'a str,
        loaded: &'a Stored,
        state: &'a ChatState,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), SessionError>>;
}

/// Sessions in PostgreSQL (`chat_sessions`), read and written inside the
/// turn's transaction; `load` locks the row until the transaction ends, so
/// one sender's messages are handled one at a time.
#[derive(Clone, Copy, Debug, Default)]
pub struct PgSessions;

impl SessionStore for PgSessions {
    fn load<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        tenant: i64,
        psid: &'a str,
    ) -> BoxFuture<'a, Result<Stored, SessionError>> {
        Box::pin(load(&**transaction, tenant, psid))
    }

    fn save<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        tenant: i64,
        psid: &'a str,
        loaded: &'a Stored,
        state: &'a ChatState,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), SessionError>> {
        Box::pin(save(&**transaction, tenant, psid, loaded.turns, state, now))
    }
}

async fn load(
    client: &impl GenericClient,
    tenant: i64,
    psid: &str,
) -> Result<Stored, SessionError> {
    client
        .execute(
            "insert into chat_sessions (tenant_id, psid, state) values ($1, $2, '{}')
             on conflict do nothing",
            &[&tenant, &psid],
        )
        .await?;
    let row = client
        .query_one(
            "select state::text, turns, updated_at from chat_sessions
             where tenant_id = $1 and psid = $2 for update",
            &[&tenant, &psid],
        )
        .await?;
    let text: String = row.get(0);
    let state = if text == "{}" {
        ChatState::default()
    } else {
        serde_json::from_str(&text).map_err(|error| SessionError::Corrupt {
            psid: psid.to_string(),
            reason: error.to_string(),
        })?
    };
    let turns: i64 = row.get(1);
    Ok(Stored {
        state,
        turns,
        // The row's default is the insert's clock, not the turn's.
        updated_at: (turns > 0).then(|| row.get(2)),
    })
}

async fn save(
    client: &impl GenericClient,
    tenant: i64,
    psid: &str,
    turns: i64,
    state: &ChatState,
    now: DateTime<Utc>,
) -> Result<(), SessionError> {
    let text = serde_json::to_string(state).map_err(|error| SessionError::Corrupt {
        psid: psid.to_string(),
        reason: error.to_string(),
    })?;
    let updated = client
        .execute(
            "update chat_sessions set state = $3::text::jsonb, turns = turns + 1, updated_at = $4
             where tenant_id = $1 and psid = $2 and turns = $5",
            &[&tenant, &psid, &text, &now, &turns],
        )
        .await?;
    if updated == 1 {
        Ok(())
    } else {
        Err(SessionError::Conflict {
            psid: psid.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn at(second: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 2, 0, 0).unwrap() + Duration::seconds(second)
    }

    #[test]
    fn the_pace_allows_the_limit_tells_once_then_ignores_until_the_window_ends() {
        let window = Duration::minutes(1);
        let mut pace = Pace::default();
        for second in 0..3 {
            assert_eq!(pace.count(at(second), window, 3), PaceVerdict::Within);
        }
        assert_eq!(
            pace.count(at(20), window, 3),
            PaceVerdict::Over {
                wait: Duration::seconds(40)
            }
        );
        assert_eq!(pace.count(at(59), window, 3), PaceVerdict::Ignored);
        // The window is fixed from its first turn: at 60 s a new one opens.
        assert_eq!(pace.count(at(60), window, 3), PaceVerdict::Within);
        assert_eq!(pace.turns, 1);
        assert_eq!(pace.since, Some(at(60)));
    }

    #[test]
    fn a_clock_that_goes_back_opens_a_new_window() {
        let window = Duration::minutes(1);
        let mut pace = Pace::default();
        assert_eq!(pace.count(at(100), window, 1), PaceVerdict::Within);
        assert!(matches!(
            pace.count(at(101), window, 1),
            PaceVerdict::Over { .. }
        ));
        assert_eq!(pace.count(at(50), window, 1), PaceVerdict::Within);
        assert_eq!(pace.since, Some(at(50)));
    }

    #[test]
    fn a_session_stored_before_the_pace_existed_still_loads() {
        let state: ChatState =
            serde_json::from_str(r#"{"language":"vi","flow":null,"offered":[],"history":[]}"#)
                .unwrap();
        assert_eq!(state.pace, Pace::default());
    }
}
