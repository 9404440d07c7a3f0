//! The turn: load the session, read the message, advance the flow, answer.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Transaction;
use meetassist_compiler::Diagnostic;
use meetassist_compiler::describe::Session;
use meetassist_conversation::language::{Intent, Language};
use meetassist_conversation::tasks::SqlTask;
use meetassist_conversation::understand::{Awaiting, Context, Directory, Named, Understanding};
use serde_json::Value;

use super::flows;
use super::model::{Model, SqlRequest};
use super::session::{
    ChatState, Exchange, HISTORY_LEN, Offer, PaceVerdict, PgSessions, SessionError, SessionStore,
};
use super::{Input, MAX_QUICK_REPLIES, Message, Reply};
use crate::guard::execute::{ExecuteError, Executor};
use crate::guard::{Guard, diagnostic_json};
use crate::identity::{self, EmailAddress, Mailer, Otp, OtpConfig, OtpSecret, Outbox};

/// How the conversation behaves; defaults are the product's.
#[derive(Clone, Debug)]
pub struct ChatConfig {
    /// Earliest a booking may start, from now.
    pub min_notice: Duration,
    /// Step between offered choices (bookable starts stay on the 15-minute grid).
    pub offer_step: Duration,
    /// Choices offered at once.
    pub max_offers: usize,
    /// How many days ahead availability is searched.
    pub horizon_days: i64,
    /// A model repair attempts per task after a refusal.
    pub max_repairs: usize,
    /// A "yes" to a summary asked longer ago than this confirms nothing:
    /// the summary is checked and asked again.
    pub confirm_expiry: Duration,
    /// A flow nobody answered for this long is forgotten.
    pub flow_expiry: Duration,
    /// The OTP rules.
    pub otp: OtpConfig,
    /// The address OTP mail comes from.
    pub mail_from: String,
    /// At most this many turns per sender in `pace_window`; the next one is
    /// told to slow down, later ones get no answer until the window ends.
    pub pace_limit: u32,
    /// See `pace_limit`.
    pub pace_window: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            min_notice: Duration::hours(2),
            offer_step: Duration::minutes(60),
            max_offers: 5,
            horizon_days: 14,
            max_repairs: 2,
            confirm_expiry: Duration::minutes(30),
            flow_expiry: Duration::hours(24),
            otp: OtpConfig::default(),
            mail_from: "no-reply@meetassist.example".to_string(),
            // A person types a few messages a minute; pasting lines sends
            // a burst of ten at most.
            pace_limit: 20,
            pace_window: Duration::minutes(1),
        }
    }
}

/// The tenant a conversation belongs to.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Its id.
    pub id: i64,
    /// Its name, as mail and greetings show it.
    pub name: String,
    /// Its time zone: every time shown is in it.
    pub time_zone: Tz,
}

/// Why a turn could not be answered (nothing of it was kept).
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be reached or failed.
    #[error("database: {0}")]
    Database(String),
    /// The session could not be read or written.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A task's SQL was refused even after repairs: a bug in the model's
    /// templates or the guard.
    #[error("the model's SQL for `{task}` was refused: {diagnostic}")]
    TaskRefused {
        /// The task.
        task: &'static str,
        /// The last refusal.
        diagnostic: Diagnostic,
    },
}

impl From<tokio_postgres::Error> for ChatError {
    fn from(error: tokio_postgres::Error) -> Self {
        ChatError::Database(crate::pg::describe(&error))
    }
}

/// Answers customers: owns the pool, the guard, the model and the mailer.
pub struct ChatEngine {
    executor: Executor,
    guard: Arc<Guard>,
    model: Model,
    outbox: Outbox,
    otp: Otp,
    mail_from: EmailAddress,
    config: ChatConfig,
    sessions: Box<dyn SessionStore>,
}

/// What one turn works with.
pub(crate) struct Turn<'a, 't> {
    pub engine: &'a ChatEngine,
    pub transaction: &'a mut Transaction<'t>,
    pub tenant: &'a Tenant,
    pub psid: &'a str,
    pub now: DateTime<Utc>,
    pub customer: Option<i64>,
    pub directory: Directory,
    pub language: Language,
    /// Mail to send once the turn has committed.
    pub outgoing: Vec<identity::Email>,
    /// Messages shown before the reply (e.g. "you are verified").
    pub preface: Vec<String>,
    /// Each service's length in minutes, read with the directory.
    pub service_minutes: Vec<(i64, i64)>,
    /// The local day the conversation was last about ("cùng ngày").
    pub last_day: Option<NaiveDate>,
    /// The active consultants' rows as the directory read them (id,
    /// full_name, specialty, bio).
    pub consultant_rows: Vec<Value>,
}

impl ChatEngine {
    /// An engine over `executor`'s pool (the application role's
    /// connection; model SQL still runs as `meetassist_bot`).
    pub fn new(
        executor: Executor,
        guard: Arc<Guard>,
        model: Model,
        outbox: Outbox,
        secret: OtpSecret,
        config: ChatConfig,
    ) -> Result<Self, ChatError> {
        let mail_from = EmailAddress::parse(&config.mail_from).map_err(|error| {
            ChatError::Config(format!("mail_from `{}`: {error}", config.mail_from))
        })?;
        if config.pace_limit == 0 || config.pace_window <= Duration::zero() {
            return Err(ChatError::Config(format!(
                "pace: {} turns per {} s answers nobody",
                config.pace_limit,
                config.pace_window.num_seconds()
            )));
        }
        Ok(ChatEngine {
            executor,
            guard,
            model,
            outbox,
            otp: Otp::new(secret, config.otp.clone()),
            mail_from,
            config,
            sessions: Box::new(PgSessions),
        })
    }

    /// The same engine keeping its sessions in `sessions`.
    pub fn with_sessions(mut self, sessions: Box<dyn SessionStore>) -> Self {
        self.sessions = sessions;
        self
    }

    /// What a pause of `idle` since the last turn does to the flow: after
    /// `flow_expiry` it is forgotten (and its chips with it); after
    /// `confirm_expiry` a pending "confirm?" is no longer open, so a late
    /// "yes" gets the summary again, checked anew, instead of a write the
    /// customer may have forgotten asking for.
    fn age(&self, state: &mut ChatState, idle: Duration) {
        if idle > self.config.flow_expiry {
            state.flow = None;
            state.parked = None;
            state.offered.clear();
        } else if idle > self.config.confirm_expiry
            && let Some(flow) = state.flow.as_mut()
            && flow.awaiting == Some(Awaiting::Confirm)
        {
            flow.awaiting = None;
        }
    }

    /// Issues and checks codes.
    pub(crate) fn otp(&self) -> &Otp {
        &self.otp
    }

    /// The address OTP mail comes from.
    pub(crate) fn mail_from(&self) -> &EmailAddress {
        &self.mail_from
    }

    /// The configuration in force.
    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    /// Answers one action of sender `psid` of `tenant`, at `now`.
    pub async fn turn(
        &self,
        tenant: &Tenant,
        psid: &str,
        input: Input,
        now: DateTime<Utc>,
    ) -> Result<Reply, ChatError> {
        let mut client = self
            .executor
            .pool()
            .get()
            .await
            .map_err(|error| ChatError::Database(error.to_string()))?;
        let mut transaction = client.transaction().await?;
        let stored = self.sessions.load(&transaction, tenant.id, psid).await?;
        let mut state = stored.state.clone();
        if let Some(last) = stored.updated_at {
            self.age(&mut state, now - last);
        }
        let verdict = state
            .pace
            .count(now, self.config.pace_window, self.config.pace_limit);
        if verdict != PaceVerdict::Within {
            // Counted and kept, but no model call, no query, no history.
            self.sessions
                .save(&transaction, tenant.id, psid, &stored, &state, now)
                .await?;
            transaction.commit().await?;
            return Ok(slow_down(&state, verdict));
        }
        let customer = identity::linked_customer(&*transaction, tenant.id, psid, now)
            .await
            .map_err(|error| ChatError::Database(error.to_string()))?;
        let mut turn = Turn {
            engine: self,
            transaction: &mut transaction,
            tenant,
            psid,
            now,
            customer,
            directory: Directory {
                consultants: Vec::new(),
                services: Vec::new(),
            },
            language: state.language.unwrap_or(Language::Vi),
            outgoing: Vec::new(),
            preface: Vec::new(),
            service_minutes: Vec::new(),
            last_day: state.last_day,
            consultant_rows: Vec::new(),
        };
        turn.directory = turn.load_directory().await?;
        let said = input_text(&input);
        let mut reply = flows::advance(&mut turn, &mut state, input).await?;
        let preface: Vec<Message> = turn
            .preface
            .drain(..)
            .map(|text| Message {
                text,
                quick_replies: Vec::new(),
            })
            .collect();
        reply.messages.splice(0..0, preface);
        state.language = Some(reply.language);
        if let Some(flow) = &state.flow
            && let Some(day) = flow.slot.map(|slot| local_date(tenant, slot)).or(flow.date)
        {
            state.last_day = Some(day);
        }
        state.offered = reply
            .messages
            .last()
            .map(|m| m.quick_replies.clone())
            .unwrap_or_default();
        state.history.push(Exchange {
            customer: said,
            bot: reply
                .messages
                .iter()
                .map(|m| m.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        });
        if state.history.len() > HISTORY_LEN {
            let excess = state.history.len() - HISTORY_LEN;
            state.history.drain(..excess);
        }
        let outgoing = std::mem::take(&mut turn.outgoing);
        drop(turn);
        self.sessions
            .save(&transaction, tenant.id, psid, &stored, &state, now)
            .await?;
        transaction.commit().await?;
        for email in outgoing {
            // The code is stored; a mail that fails to go out is asked for
            // again with "resend" (after the cooldown).
            if let Err(error) = self.outbox.send(&email, now).await {
                tracing::error!(tenant = tenant.id, sender = psid, %error, "could not send mail");
            }
        }
        Ok(reply)
    }
}

/// The answer to a turn over the pace limit: once a request to wait, then
/// nothing. The flow and its chips stay as they were.
fn slow_down(state: &ChatState, verdict: PaceVerdict) -> Reply {
    let language = state.language.unwrap_or(Language::Vi);
    let messages = match verdict {
        PaceVerdict::Over { wait } => {
            let minutes = (wait.num_seconds().max(1) + 59) / 60;
            let text = match language {
                Language::Vi => format!(
                    "Bạn đang nhắn nhanh hơn mình kịp trả lời. Bạn vui lòng đợi khoảng {minutes} phút rồi nhắn tiếp nhé."
                ),
                Language::En => format!(
                    "You are sending messages faster than I can answer. Please wait about {minutes} minute{} and write again.",
                    if minutes == 1 { "" } else { "s" }
                ),
            };
            vec![Message {
                text,
                quick_replies: Vec::new(),
            }]
        }
        PaceVerdict::Within | PaceVerdict::Ignored => Vec::new(),
    };
    Reply {
        messages,
        intent: state
            .flow
            .as_ref()
            .map_or(Intent::Other, |flow| flow.intent),
        awaiting: None,
        language,
    }
}

fn input_text(input: &Input) -> String {
    match input {
        Input::Text(text) => text.clone(),
        Input::QuickReply(payload) | Input::Postback(payload) => format!("[{payload}]"),
    }
}

impl Turn<'_, '_> {
    /// The guard's session for this turn.
    pub fn session(&self) -> Session {
        Session {
            tenant_id: self.tenant.id,
            customer_id: self.customer,
        }
    }

    /// Runs `task` through the model, the guard and the database; the
    /// rows, each checked to have the task's columns. A refusal goes back
    /// to the model for at most `max_repairs` repairs; a database refusal
    /// (a taken slot, a closed appointment) is the answer.
    pub async fn run(
        &mut self,
        task: &SqlTask,
    ) -> Result<Result<Vec<Value>, Diagnostic>, ChatError> {
        self.run_as(task, &self.engine.model).await
    }

    /// Runs `task` with SQL written by `model`.
    async fn run_as(
        &mut self,
        task: &SqlTask,
        model: &Model,
    ) -> Result<Result<Vec<Value>, Diagnostic>, ChatError> {
        let mut last: Option<(String, Diagnostic)> = None;
        for _ in 0..=self.engine.config.max_repairs {
            let request = SqlRequest {
                task,
                repair: last.as_ref().map(|(sql, d)| (sql.as_str(), d)),
            };
            let sql = match model.write_sql(&request).await {
                Ok(sql) => sql,
                Err(error) => {
                    return Ok(Err(Diagnostic::new("E-MODEL", error.to_string())));
                }
            };
            let (result, audit) = self.engine.guard.compile(&sql, self.session());
            let audited = self.record_audit(&audit, &result).await?;
            let compiled = match result {
                Ok(compiled) => compiled,
                Err(diagnostic) => {
                    tracing::warn!(task = task.name(), code = %diagnostic.code, "model SQL refused");
                    last = Some((sql, diagnostic));
                    continue;
                }
            };
            match self
                .engine
                .executor
                .run_in(self.transaction, &compiled, self.session())
                .await
            {
                Ok(rows) => match missing_column(task, &rows) {
                    None => return Ok(Ok(rows)),
                    Some(column) => {
                        let diagnostic = Diagnostic::new(
                            "E-COLUMNS",
                            format!("the result has no column `{column}`"),
                        )
                        .hint(format!("return exactly: {}", task.columns().join(", ")));
                        self.record_refusal(audited, &diagnostic).await?;
                        last = Some((sql, diagnostic));
                    }
                },
                Err(ExecuteError::Refused(diagnostic)) => {
                    self.record_refusal(audited, &diagnostic).await?;
                    return Ok(Err(diagnostic));
                }
                Err(ExecuteError::Unavailable(reason)) => return Err(ChatError::Database(reason)),
            }
        }
        let diagnostic = last
            .map(|(_, d)| d)
            .unwrap_or_else(|| Diagnostic::new("E-INTERNAL", "no attempt was made"));
        Err(ChatError::TaskRefused {
            task: task.name(),
            diagnostic,
        })
    }

    /// Like [`Turn::run`], for reads that must succeed.
    pub async fn read(&mut self, task: &SqlTask) -> Result<Vec<Value>, ChatError> {
        self.run(task)
            .await?
            .map_err(|diagnostic| ChatError::TaskRefused {
                task: task.name(),
                diagnostic,
            })
    }

    /// Records a judged statement; its audit row's id.
    async fn record_audit(
        &mut self,
        audit: &crate::guard::Audit,
        result: &Result<meetassist_compiler::Compiled, Diagnostic>,
    ) -> Result<i64, ChatError> {
        let compiled = result.as_ref().ok();
        let refusal = result
            .as_ref()
            .err()
            .map(|diagnostic| diagnostic_json(diagnostic).to_string());
        let policies: Vec<Value> = audit
            .policies
            .iter()
            .map(|p| {
                serde_json::json!({"name": p.name, "version": p.version, "digest": p.digest, "rules": p.rules})
            })
            .collect();
        let params: Vec<Value> = compiled
            .map(|c| {
                c.params
                    .iter()
                    .map(|p| Value::String(p.value.as_text()))
                    .collect()
            })
            .unwrap_or_default();
        let elapsed = i64::try_from(audit.elapsed.as_micros()).unwrap_or(i64::MAX);
        let row = self
            .transaction
            .query_one(
                "insert into sql_audit (tenant_id, psid, customer_id, original_sql, final_sql, params, refused_with, policies, elapsed_us, refusal)
                 values ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8::text::jsonb, $9, $10::text::jsonb)
                 returning id",
                &[
                    &self.tenant.id,
                    &self.psid,
                    &self.customer,
                    &audit.original_sql,
                    &audit.final_sql,
                    &Value::Array(params).to_string(),
                    &audit.refused_with,
                    &Value::Array(policies).to_string(),
                    &elapsed,
                    &refusal,
                ],
            )
            .await?;
        Ok(row.get(0))
    }

    /// Records why a statement the guard accepted did not give an answer
    /// (the database refused it, or its result lacked a column).
    async fn record_refusal(
        &mut self,
        audited: i64,
        diagnostic: &Diagnostic,
    ) -> Result<(), ChatError> {
        self.transaction
            .execute(
                "update sql_audit set refusal = $2::text::jsonb where id = $1",
                &[&audited, &diagnostic_json(diagnostic).to_string()],
            )
            .await?;
        Ok(())
    }

    /// The engine's own read at the start of every turn: its SQL is the
    /// task's template (the offline model's), judged by the guard and run
    /// as the bot like any model SQL, but costing no model call — with
    /// Bedrock, two calls a turn that the 5 s reply cannot afford.
    async fn read_directory_part(&mut self, task: &SqlTask) -> Result<Vec<Value>, ChatError> {
        self.run_as(task, &Model::Offline)
            .await?
            .map_err(|diagnostic| ChatError::TaskRefused {
                task: task.name(),
                diagnostic,
            })
    }

    async fn load_directory(&mut self) -> Result<Directory, ChatError> {
        self.consultant_rows = self.read_directory_part(&SqlTask::Consultants).await?;
        let consultants = self
            .consultant_rows
            .iter()
            .filter_map(|row| named(row, "full_name"))
            .collect();
        let service_rows = self.read_directory_part(&SqlTask::Services).await?;
        self.service_minutes = service_rows
            .iter()
            .filter_map(|row| {
                Some((
                    row.get("id")?.as_i64()?,
                    row.get("duration_minutes")?.as_i64()?,
                ))
            })
            .collect();
        let services = service_rows
            .iter()
            .filter_map(|row| named(row, "name"))
            .collect();
        Ok(Directory {
            consultants,
            services,
        })
    }

    /// Reads `message` with the model; `None` when the model is down.
    pub async fn understand(&self, message: &str, state: &ChatState) -> Option<Understanding> {
        let local = self.now.with_timezone(&self.tenant.time_zone);
        let context = Context {
            today: local.date_naive(),
            now_time: local.time(),
            directory: &self.directory,
            awaiting: state.flow.as_ref().and_then(|f| f.awaiting),
            language: state.language,
        };
        match self
            .engine
            .model
            .understand(message, &context, &state.history)
            .await
        {
            Ok(understanding) => Some(understanding),
            Err(error) => {
                tracing::warn!(tenant = self.tenant.id, sender = self.psid, %error, "model down");
                None
            }
        }
    }
}

fn named(row: &Value, name_column: &str) -> Option<Named> {
    Some(Named {
        id: row.get("id")?.as_i64()?,
        name: row.get(name_column)?.as_str()?.to_string(),
    })
}

fn missing_column(task: &SqlTask, rows: &[Value]) -> Option<&'static str> {
    rows.iter().find_map(|row| {
        task.columns()
            .iter()
            .copied()
            .find(|column| row.get(column).is_none())
    })
}

/// A reply of one message.
pub(crate) fn reply(
    language: Language,
    intent: Intent,
    awaiting: Option<Awaiting>,
    text: String,
    mut quick_replies: Vec<Offer>,
) -> Reply {
    quick_replies.truncate(MAX_QUICK_REPLIES);
    Reply {
        messages: vec![Message {
            text,
            quick_replies,
        }],
        intent,
        awaiting,
        language,
    }
}

/// Local date of `at` in the tenant's zone.
pub(crate) fn local_date(tenant: &Tenant, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tenant.time_zone).date_naive()
}
