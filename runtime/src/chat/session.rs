//! A conversation's memory between turns, per (tenant, sender).
//!
//! A turn loads the session inside its transaction and locks it, so one
//! sender's messages are handled one at a time and a turn that fails
//! leaves the previous state whole. PostgreSQL here; DynamoDB (with a
//! conditional write on `turns`) comes with the AWS adapters.

use chrono::{DateTime, NaiveDate, Utc};
use meetassist_conversation::language::{Intent, Language};
use meetassist_conversation::understand::{Awaiting, TimeOfDay};
use serde::{Deserialize, Serialize};
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
}

impl Flow {
    /// A fresh flow for `intent`.
    pub fn new(intent: Intent) -> Self {
        Flow {
            intent,
            awaiting: None,
            consultant: None,
            service: None,
            date: None,
            from: None,
            time: None,
            slot: None,
            appointment: None,
            email: None,
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
}

/// Sessions in PostgreSQL (`chat_sessions`), read and written inside the
/// turn's transaction.
pub struct PgSessions;

impl PgSessions {
    /// The session of (`tenant`, `psid`), created empty if new, and locked
    /// until the caller's transaction ends.
    pub async fn load(
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
                "select state::text, turns from chat_sessions
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
        Ok(Stored {
            state,
            turns: row.get(1),
        })
    }

    /// Writes the session back (one more turn).
    pub async fn save(
        client: &impl GenericClient,
        tenant: i64,
        psid: &str,
        state: &ChatState,
        now: DateTime<Utc>,
    ) -> Result<(), SessionError> {
        let text = serde_json::to_string(state).map_err(|error| SessionError::Corrupt {
            psid: psid.to_string(),
            reason: error.to_string(),
        })?;
        client
            .execute(
                "update chat_sessions set state = $3::text::jsonb, turns = turns + 1, updated_at = $4
                 where tenant_id = $1 and psid = $2",
                &[&tenant, &psid, &text, &now],
            )
            .await?;
        Ok(())
    }
}
