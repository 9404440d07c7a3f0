//! Prompt-to-SQL snapshots (`fixtures/prompts/*.yaml`): every customer
//! message of the corpus goes through the real engine (the offline model,
//! the guard with the policy bundle in wasmtime, a seeded database), and
//! what the turn judged is read back from `sql_audit` and snapshotted, one
//! snapshot per prompt (`snapshots/prompt@<file>-<id>.snap`): the model's
//! SQL, the compiled SQL and its parameters, the policies that fired and
//! any refusal (a repair shows as a refused statement followed by the next
//! attempt). A developer who changes a prompt, the model or the compiler
//! runs `cargo insta review` and sees which translations moved.
//!
//! The Bedrock path: a prompt that lists `bedrock:` recordings (files under
//! `fixtures/bedrock/`) is played a second time, with the same flow
//! messages, clock, tenant and verification, by an engine whose model is
//! Bedrock: the real SDK client against the fake Converse server
//! (`testing::converse`) serving exactly those recordings, in file-name
//! order. Its snapshot, `prompt@bedrock-<file>-<id>`, has the same format
//! plus the model calls of the prompt's turn and the recording that
//! answered each. The recordings are written by hand in the Converse wire
//! format (no live Bedrock is reached from here): they stand for what a
//! large model plausibly answers to the engine's prompts, and the guard's
//! verdict on them is what the snapshot pins. The Bedrock engine falls back
//! silently when Bedrock fails (the task's template for SQL, buttons for a
//! message it cannot read), so the path fails a prompt when any call of
//! its turns found no recording, when a listed recording answered nothing,
//! when a classify recording is one the Bedrock reader rejects, when a
//! statement judged is not the SQL the recording gave, or when a reply is
//! the "cannot read messages" menu.
//!
//! Every turn first reads the directory (consultants, then services). Those
//! two statements are the same for every prompt of a tenant and kind of
//! sender (and for both paths: the directory is always read with the
//! templates), so a prompt's snapshot names them in one line and
//! `snapshots/prompt-directory.snap` holds each distinct version in full.
//!
//! One seeded database per file, prompts played in file order, each with a
//! sender of its own (`p-<file>-<id>`): sessions and verification are per
//! sender, so prompts do not see each other's conversations. They do see
//! each other's writes: a booking, a cancel or a reschedule changes the
//! busy slots and appointments of the prompts after it in the same file.
//! So append new prompts at the end of a file, and keep writes in the files
//! about them (`book`, `cancel`, `reschedule`). Seeding per file instead of
//! per prompt keeps the test to seconds.
//!
//! A Bedrock prompt starts from the state its offline twin found. When the
//! twin changed nothing that other prompts see (appointments, changes,
//! customers, the email-code tables: compared before and after), the
//! Bedrock turns play on the file's database right after it, as a sender of
//! their own (`b-<file>-<id>`), and must leave that state as they found it.
//! When the twin wrote (a confirmed booking, cancel or move), they play on
//! a second database of the file, brought to the same state first by
//! playing on it, with the offline model, the earlier prompts that wrote.
//!
//! Beyond the snapshots: the offline model's SQL is never refused (its
//! templates are what the guard accepts; a refusal is a bug; Bedrock's may
//! be, and is then repaired or the turn fails); on both paths a visitor's
//! statements read only public tables (no `appointments`, `customers` or
//! `appointment_changes` in the SQL that ran), every INSERT that ran was
//! made for a verified customer, and each prompt's `expect` holds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use meetassist_conversation::understand::{Context, Directory};
use meetassist_runtime::chat::bedrock::{BedrockConfig, BedrockModel, StaticCredentials};
use meetassist_runtime::chat::model::Model;
use meetassist_runtime::chat::{ChatEngine, Input, Reply, Tenant};
use meetassist_runtime::guard::Guard;
use meetassist_runtime::testing::converse::{ConverseRequest, FakeConverse, Recording};
use serde::Deserialize;
use serde_json::Value;

use crate::support::TestDatabase;

/// The clock of a prompt that names none: a Wednesday morning in Hanoi.
const DEFAULT_NOW: &str = "2026-11-25T09:00:00+07:00";
/// The demo data's first tenant.
const DEFAULT_TENANT: i64 = 1;
/// How long a `verified_as` sender stays verified.
const LINK_DAYS: i64 = 30;

/// One `fixtures/prompts/*.yaml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PromptFile {
    /// What the prompts of the file are about.
    #[serde(default)]
    about: String,
    prompts: Vec<Prompt>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Prompt {
    /// Unique in the file; names the snapshot (`prompt@<file>-<id>`).
    id: Option<String>,
    /// What the prompt shows, for the snapshot's title.
    name: Option<String>,
    /// The customer's message.
    text: String,
    /// The clock (RFC 3339); `DEFAULT_NOW` when absent.
    now: Option<String>,
    /// The tenant; 1 when absent.
    tenant: Option<i64>,
    /// A customer email of that tenant: the sender is linked to the
    /// customer (verified for `LINK_DAYS` from `now`) before the first
    /// message.
    verified_as: Option<String>,
    /// Messages played first by the same sender, at the same clock; what
    /// they ran is not part of the snapshot (a bare number picks a chip of
    /// the reply before, as in the chat).
    #[serde(default)]
    flow: Vec<String>,
    /// The recorded Bedrock Converse replies this prompt's turns need
    /// (paths under `fixtures/bedrock/`, the fake Converse server's format),
    /// flow turns included: the Bedrock path replays the prompt on exactly
    /// these (snapshot `prompt@bedrock-<file>-<id>`).
    #[serde(default)]
    bedrock: Vec<String>,
    #[serde(default)]
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// The reply's intent.
    intent: Option<String>,
    /// What the reply asked for; `null` for nothing, absent for "don't check".
    #[serde(default, deserialize_with = "present")]
    awaiting: Option<Option<String>>,
    /// The reply's language.
    language: Option<String>,
    /// Tasks that must appear among the prompt's statements (`busy`, `book`,
    /// …, see [`task_of`]).
    #[serde(default)]
    tasks: Vec<String>,
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// One row of `sql_audit`.
#[derive(Debug)]
struct Judged {
    customer: Option<i64>,
    original: String,
    compiled: Option<String>,
    params: Value,
    refused_with: Option<String>,
    /// Why it gave no answer, in full: the guard's diagnostic, or the
    /// database's refusal of an accepted statement.
    refusal: Option<Value>,
    policies: Value,
    /// The guard's time for it (not snapshotted).
    elapsed_us: i64,
}

/// The task a statement is for, read from the model's SQL (the audit keeps
/// no task): the first table it names, and the action for a change.
fn task_of(sql: &str) -> &'static str {
    let lower = sql.to_lowercase();
    let words: Vec<&str> = identifiers(&lower).collect();
    let first_table = words
        .windows(2)
        .find(|w| w[0] == "from" || w[0] == "into")
        .map(|w| w[1]);
    let table = match first_table {
        Some("public") => words
            .windows(3)
            .find(|w| (w[0] == "from" || w[0] == "into") && w[1] == "public")
            .map(|w| w[2]),
        other => other,
    };
    let insert = words.first() == Some(&"insert");
    match table {
        Some("consultants") => "consultants",
        Some("services") => "services",
        Some("consultant_schedules") => "weekly_hours",
        Some("schedule_exceptions") => "exceptions",
        Some("busy_slots") => "busy",
        Some("appointments") if insert => "book",
        Some("appointments") => "my_appointments",
        Some("appointment_changes") if lower.contains("'cancel'") => "cancel",
        Some("appointment_changes") => "reschedule",
        _ => "other",
    }
}

/// The identifier-like words of SQL text (quotes and punctuation split).
fn identifiers(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// The task a Bedrock SQL call was for, read from the engine's instruction
/// (`SqlTask::instruction`): more telling than [`task_of`] for SQL that a
/// large model shaped its own way (a CTE, a misspelt label).
fn task_of_instruction(instruction: &str) -> Option<&'static str> {
    const OPENINGS: [(&str, &str); 9] = [
        ("Select the active consultants", "consultants"),
        ("Select the services", "services"),
        ("Select the weekly schedules", "weekly_hours"),
        ("Select the schedule exceptions", "exceptions"),
        ("Select the busy slots", "busy"),
        ("Select my appointments", "my_appointments"),
        ("Insert an appointment", "book"),
        ("Insert a change that cancels", "cancel"),
        ("Insert a change that reschedules", "reschedule"),
    ];
    OPENINGS
        .iter()
        .find(|(opening, _)| instruction.starts_with(opening))
        .map(|(_, task)| *task)
}

/// Tables only a verified customer's statements may name.
const PERSONAL_TABLES: [&str; 3] = ["appointments", "customers", "appointment_changes"];

fn json_name(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value).unwrap() {
        Value::String(s) => s,
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("now `{text}`: {e}"))
}

/// What the whole run counted, for the printed summary.
#[derive(Default)]
struct Tally {
    prompts: usize,
    turns: usize,
    statements: usize,
    refused: usize,
    by_task: BTreeMap<&'static str, usize>,
    by_intent: BTreeMap<String, usize>,
    by_language: BTreeMap<String, usize>,
    /// The guard's time over every statement judged, in microseconds.
    guard_us: i64,
    /// Each distinct directory read, by (tenant, verified).
    directory: BTreeMap<(i64, bool), BTreeSet<String>>,
    /// The Bedrock path's prompts, turns, statements and refusals.
    bedrock: BedrockTally,
}

#[derive(Default)]
struct BedrockTally {
    prompts: usize,
    turns: usize,
    /// Converse calls answered from a recording.
    calls: usize,
    statements: usize,
    refused: usize,
    /// Earlier prompts played again (offline) on a second database.
    replayed: usize,
    by_intent: BTreeMap<String, usize>,
    /// The time the Bedrock path added (its databases, replays, prompts).
    elapsed: std::time::Duration,
}

/// One file's database and engine.
struct Bench {
    database: TestDatabase,
    owner: tokio_postgres::Client,
    engine: ChatEngine,
    _outbox: tempfile::TempDir,
}

impl Bench {
    async fn new(guard: Arc<Guard>) -> Bench {
        let database = TestDatabase::seeded().await;
        let owner = database.owner().await;
        let outbox = tempfile::tempdir().unwrap();
        let engine = engine(&database, guard, Model::Offline, outbox.path()).await;
        Bench {
            database,
            owner,
            engine,
            _outbox: outbox,
        }
    }

    async fn tenant(&self, id: i64) -> Result<Tenant, String> {
        let row = self
            .owner
            .query_opt("select name, time_zone from tenants where id = $1", &[&id])
            .await
            .unwrap()
            .ok_or_else(|| format!("no tenant {id} in the demo data"))?;
        let zone: String = row.get(1);
        Ok(Tenant {
            id,
            name: row.get(0),
            time_zone: zone.parse().map_err(|e| format!("zone {zone}: {e}"))?,
        })
    }

    /// Links `psid` to the customer with `email`, verified from `now`.
    async fn verify(
        &self,
        tenant: i64,
        psid: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, String> {
        let customer: i64 = self
            .owner
            .query_opt(
                "select id from customers where tenant_id = $1 and email = $2",
                &[&tenant, &email],
            )
            .await
            .unwrap()
            .ok_or_else(|| format!("verified_as: no customer {email} in tenant {tenant}"))?
            .get(0);
        let until = now + Duration::days(LINK_DAYS);
        self.owner
            .execute(
                "insert into sender_links (tenant_id, sender_psid, customer_id, verified_at, expires_at)
                 values ($1, $2, $3, $4::text::timestamptz, $5::text::timestamptz)",
                &[&tenant, &psid, &customer, &now.to_rfc3339(), &until.to_rfc3339()],
            )
            .await
            .map_err(|e| format!("linking {psid}: {e}"))?;
        Ok(customer)
    }

    /// The newest audit id of `psid` (0 for none).
    async fn last_audit(&self, tenant: i64, psid: &str) -> i64 {
        self.owner
            .query_one(
                "select coalesce(max(id), 0) from sql_audit where tenant_id = $1 and psid = $2",
                &[&tenant, &psid],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// A digest of what one prompt's turns can change that another
    /// prompt's turns see: appointments, changes, customers, the email-code
    /// tables (sessions, sender links and the audit are per sender).
    async fn shared_state(&self) -> String {
        self.owner
            .query_one(
                "select md5(coalesce(string_agg(row, E'\\n' order by row), '')) from (
                     select 'a' || t::text as row from appointments t
                     union all select 'c' || t::text from appointment_changes t
                     union all select 'u' || t::text from customers t
                     union all select 'o' || t::text from otp_challenges t
                     union all select 'l' || t::text from otp_limits t) rows",
                &[],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// `psid`'s audit rows after `after`, in order.
    async fn judged(&self, tenant: i64, psid: &str, after: i64) -> Vec<Judged> {
        self.owner
            .query(
                "select customer_id, original_sql, final_sql, params::text, refused_with, policies::text, elapsed_us, refusal::text
                 from sql_audit where tenant_id = $1 and psid = $2 and id > $3 order by id",
                &[&tenant, &psid, &after],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| Judged {
                customer: row.get(0),
                original: row.get(1),
                compiled: row.get(2),
                params: serde_json::from_str(row.get::<_, &str>(3)).unwrap(),
                refused_with: row.get(4),
                policies: serde_json::from_str(row.get::<_, &str>(5)).unwrap(),
                elapsed_us: row.get(6),
                refusal: row
                    .get::<_, Option<&str>>(7)
                    .map(|text| serde_json::from_str(text).unwrap()),
            })
            .collect()
    }
}

/// A statement as the snapshot shows it.
fn render_statement(out: &mut String, judged: &Judged) {
    let _ = writeln!(out, "model:    {}", judged.original);
    let reason = |refusal: &Option<Value>| match refusal {
        Some(r) => format!(
            "{}: {}",
            r["code"].as_str().unwrap_or("?"),
            r["message"].as_str().unwrap_or("?")
        ),
        None => "(no reason recorded)".to_string(),
    };
    match (&judged.compiled, &judged.refused_with) {
        (Some(compiled), None) => {
            let _ = writeln!(out, "compiled: {compiled}");
            let _ = writeln!(out, "params:   {}", judged.params);
            if judged.refusal.is_some() {
                let _ = writeln!(out, "DATABASE REFUSED: {}", reason(&judged.refusal));
            }
        }
        (compiled, _) => {
            if let Some(compiled) = compiled {
                let _ = writeln!(out, "compiled: {compiled}");
            }
            let _ = writeln!(out, "REFUSED:  {}", reason(&judged.refusal));
        }
    }
    let fired: Vec<String> = judged
        .policies
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let rules: Vec<&str> = p["rules"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (!rules.is_empty()).then(|| {
                format!(
                    "{}@{}: {}",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?"),
                    rules.join(", ")
                )
            })
        })
        .collect();
    if fired.is_empty() {
        let _ = writeln!(out, "policies: (none fired)");
    } else {
        for (i, line) in fired.iter().enumerate() {
            let label = if i == 0 { "policies:" } else { "         " };
            let _ = writeln!(out, "{label} {line}");
        }
    }
}

fn reply_line(reply: &Reply) -> String {
    format!(
        "intent={} awaiting={} language={}",
        json_name(reply.intent),
        reply.awaiting.map_or("null".into(), json_name),
        json_name(reply.language)
    )
}

/// An engine over `database` in tenant 1's zone (both demo tenants are in
/// Asia/Ho_Chi_Minh; the engine's zone is the session's for rendering
/// times) with `model`.
async fn engine(
    database: &TestDatabase,
    guard: Arc<Guard>,
    model: Model,
    outbox: &Path,
) -> ChatEngine {
    let zone = meetassist_runtime::testing::tenant(database, 1).await;
    meetassist_runtime::testing::chat_engine(database, &zone, guard, model, outbox).await
}

/// An engine whose model is Bedrock (the real SDK client pointed at a fake
/// Converse server) over one database.
struct BedrockEngine {
    engine: ChatEngine,
    model: BedrockModel,
    fake: FakeConverse,
    _outbox: tempfile::TempDir,
}

impl BedrockEngine {
    async fn new(database: &TestDatabase, guard: Arc<Guard>) -> BedrockEngine {
        let fake = FakeConverse::start(Vec::new()).await.unwrap();
        let config = BedrockConfig {
            endpoint: Some(fake.endpoint()),
            // Generous: a busy machine must not turn a slow answer into a
            // silent fallback (which the checks would report).
            timeout: std::time::Duration::from_secs(10),
            initial_backoff: std::time::Duration::from_millis(10),
            cooldown: std::time::Duration::ZERO,
            credentials: Some(StaticCredentials {
                access_key_id: "AKIDTEST".into(),
                secret_access_key: "test-secret".into(),
            }),
            ..BedrockConfig::default()
        };
        let model = BedrockModel::connect(&config).await.unwrap();
        let outbox = tempfile::tempdir().unwrap();
        let engine = engine(
            database,
            guard,
            Model::Bedrock(model.clone()),
            outbox.path(),
        )
        .await;
        BedrockEngine {
            engine,
            model,
            fake,
            _outbox: outbox,
        }
    }
}

/// A second database of a file, for the Bedrock prompts whose offline twin
/// wrote: its bench's offline engine replays the earlier prompts that
/// changed shared state, then the Bedrock engine plays the prompt.
struct BedrockSide {
    bench: Bench,
    bedrock: BedrockEngine,
}

/// The recordings a prompt lists, as (path under `fixtures/bedrock/`,
/// recording), in file-name order (the fake's "first match wins" order).
fn recordings(prompt: &Prompt) -> Result<Vec<(String, Recording)>, String> {
    let dir = FakeConverse::fixtures_dir();
    let mut names = prompt.bedrock.clone();
    names.sort();
    if let Some(twice) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("bedrock recording {} is listed twice", twice[0]));
    }
    let paths: Vec<PathBuf> = names.iter().map(|name| dir.join(name)).collect();
    if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
        return Err(format!(
            "bedrock recording {} is missing",
            missing.display()
        ));
    }
    let loaded = FakeConverse::load_files(&paths).map_err(|e| e.to_string())?;
    Ok(names.into_iter().zip(loaded).collect())
}

/// The input of the `tool` call in a Converse response body.
fn tool_input<'a>(reply: &'a Value, tool: &str) -> Option<&'a Value> {
    reply["output"]["message"]["content"]
        .as_array()?
        .iter()
        .find(|block| block["toolUse"]["name"] == tool)
        .map(|block| &block["toolUse"]["input"])
}

/// The text of the engine's reply when the model could not read a message
/// (`flows::fallback`): with Bedrock, a sign of a recording gone wrong.
const CANNOT_READ: [&str; 2] = ["can't read messages right now", "chưa đọc được tin nhắn"];

/// The Converse calls of one Bedrock turn, checked against the audit of
/// that turn: every call answered by a listed recording, and the model SQL
/// judged exactly the SQL those recordings gave (a template standing in
/// for Bedrock's would show here). Lines for the snapshot, and the task of
/// each model statement (when every statement is accounted for).
fn check_calls(
    requests: &[ConverseRequest],
    judged: &[Judged],
    recordings: &[(String, Recording)],
    used: &mut BTreeSet<String>,
    tally: &mut BedrockTally,
    problems: &mut Vec<String>,
) -> (Vec<String>, Option<Vec<&'static str>>) {
    let mut lines = Vec::new();
    let mut recorded_sql = Vec::new();
    let mut tasks = Vec::new();
    for request in requests {
        let tool = request.forced_tool().unwrap_or("?");
        let text = request.last_user_text();
        let answered_by = (request.status == 200)
            .then(|| {
                recordings
                    .iter()
                    .find(|(_, r)| r.answers(&request.model, &text))
            })
            .flatten();
        let Some((name, recording)) = answered_by else {
            problems.push(format!(
                "no listed recording answers this `{tool}` call (HTTP {}) to {}; its last user message:\n{text}",
                request.status, request.model
            ));
            continue;
        };
        tally.calls += 1;
        used.insert(name.clone());
        let input = tool_input(&recording.reply, tool);
        if input.is_none() {
            problems.push(format!("{name} does not call the `{tool}` tool"));
        }
        let repair = request.messages().len() > 1;
        let line = match (tool, input) {
            ("sql", Some(input)) => {
                if let Some(sql) = input["sql"].as_str() {
                    recorded_sql.push(sql.trim().to_string());
                    let instruction = request
                        .messages()
                        .first()
                        .and_then(|m| m["content"][0]["text"].as_str())
                        .unwrap_or("");
                    tasks.push(task_of_instruction(instruction).unwrap_or_else(|| task_of(sql)));
                }
                if repair {
                    // What the guard said, as the model was told it.
                    let refusal = request
                        .messages()
                        .get(2)
                        .map(|m| &m["content"][0]["toolResult"]["content"][0]["json"]);
                    let said = |key: &str| {
                        refusal
                            .and_then(|r| r[key].as_str())
                            .unwrap_or("?")
                            .to_string()
                    };
                    format!(
                        "sql (repair after {}: {}) ← {name}",
                        said("code"),
                        said("message")
                    )
                } else {
                    format!("sql ← {name}")
                }
            }
            ("classify", Some(input)) => format!("classify ← {name}: {input}"),
            _ => format!("{tool} ← {name}"),
        };
        lines.push(line);
    }
    // The turn's statements after the directory's two.
    let model_sql: Vec<&str> = judged.iter().skip(2).map(|j| j.original.as_str()).collect();
    if model_sql != recorded_sql {
        problems.push(format!(
            "the statements judged are not the SQL the recordings gave (did a template stand in?):\njudged:   {model_sql:#?}\nrecorded: {recorded_sql:#?}"
        ));
        return (lines, None);
    }
    (lines, Some(tasks))
}

/// The Bedrock side of a prompt being played.
struct Replay<'a> {
    bedrock: &'a BedrockEngine,
    recordings: &'a [(String, Recording)],
}

/// Plays one prompt on `bench`'s database, with the offline model
/// (`replay` absent, sender `p-<file>-<id>`) or on the Bedrock path (sender
/// `b-<file>-<id>`); its snapshot text, or why it failed.
async fn play(
    bench: &Bench,
    replay: Option<Replay<'_>>,
    file: &str,
    id: &str,
    prompt: &Prompt,
    tally: &mut Tally,
) -> Result<String, String> {
    let tenant_id = prompt.tenant.unwrap_or(DEFAULT_TENANT);
    let tenant = bench.tenant(tenant_id).await?;
    let now_text = prompt.now.as_deref().unwrap_or(DEFAULT_NOW);
    let now = parse_now(now_text)?;
    let engine = replay.as_ref().map_or(&bench.engine, |r| &r.bedrock.engine);
    let psid = match replay {
        Some(_) => format!("b-{file}-{id}"),
        None => format!("p-{file}-{id}"),
    };
    let customer = match &prompt.verified_as {
        Some(email) => Some(bench.verify(tenant_id, &psid, email, now).await?),
        None => None,
    };
    let mut problems = Vec::new();

    // Bedrock: every classify recording must be one the real reader takes
    // (one it rejects makes the engine fall back to buttons, silently
    // inside a flow); then the fake serves the prompt's list.
    let mut used = BTreeSet::new();
    if let Some(replay) = &replay {
        let local = now.with_timezone(&tenant.time_zone);
        let directory = Directory {
            consultants: Vec::new(),
            services: Vec::new(),
        };
        let context = Context {
            today: local.date_naive(),
            now_time: local.time(),
            directory: &directory,
            awaiting: None,
            language: None,
        };
        for (name, recording) in replay.recordings {
            if tool_input(&recording.reply, "classify").is_some() {
                replay.bedrock.fake.set_recordings(vec![recording.clone()]);
                if let Err(error) = replay
                    .bedrock
                    .model
                    .understand(&recording.when, &context, &[])
                    .await
                {
                    problems.push(format!("{name}: the Bedrock reader rejects it: {error}"));
                }
            }
        }
        replay.bedrock.fake.set_recordings(
            replay
                .recordings
                .iter()
                .map(|(_, recording)| recording.clone())
                .collect(),
        );
    }
    let calls_before = |replay: &Option<Replay<'_>>| {
        replay
            .as_ref()
            .map_or(0, |r| r.bedrock.fake.requests().len())
    };

    let mut out = String::new();
    let path = if replay.is_some() { " (Bedrock)" } else { "" };
    let _ = match &prompt.name {
        Some(name) => writeln!(out, "# {file}.yaml#{id}{path}: {name}"),
        None => writeln!(out, "# {file}.yaml#{id}{path}"),
    };
    let _ = writeln!(out, "prompt: {}", prompt.text);
    let _ = writeln!(
        out,
        "now: {now_text} · tenant {tenant_id} · {}",
        match (&prompt.verified_as, customer) {
            (Some(email), Some(id)) => format!("verified as {email} (customer {id})"),
            _ => "visitor".to_string(),
        }
    );

    let mut flow_judged = Vec::new();
    for (i, said) in prompt.flow.iter().enumerate() {
        let before = bench.last_audit(tenant_id, &psid).await;
        let first_call = calls_before(&replay);
        let reply = engine
            .turn(&tenant, &psid, Input::Text(said.clone()), now)
            .await
            .map_err(|e| format!("flow message {}: the turn failed: {e}", i + 1))?;
        let judged = bench.judged(tenant_id, &psid, before).await;
        if let Some(replay) = &replay {
            tally.bedrock.turns += 1;
            let requests = replay.bedrock.fake.requests();
            check_calls(
                &requests[first_call..],
                &judged,
                replay.recordings,
                &mut used,
                &mut tally.bedrock,
                &mut problems,
            );
            cannot_read(&reply, &format!("flow message {}", i + 1), &mut problems);
        } else {
            tally.turns += 1;
        }
        flow_judged.extend(judged);
        if i == 0 {
            let _ = writeln!(out, "flow (played first; not in this snapshot):");
        }
        let _ = writeln!(out, "  > {said}\n    {}", reply_line(&reply));
    }
    let before = bench.last_audit(tenant_id, &psid).await;
    let first_call = calls_before(&replay);
    let reply = engine
        .turn(&tenant, &psid, Input::Text(prompt.text.clone()), now)
        .await
        .map_err(|e| format!("the turn failed: {e}"))?;
    let judged = bench.judged(tenant_id, &psid, before).await;
    let _ = writeln!(out, "reply: {}", reply_line(&reply));
    // The task of each statement after the directory's: read from the SQL,
    // or on the Bedrock path from the instruction the model was given.
    let mut model_tasks = None;
    if let Some(replay) = &replay {
        let requests = replay.bedrock.fake.requests();
        let (calls, tasks) = check_calls(
            &requests[first_call..],
            &judged,
            replay.recordings,
            &mut used,
            &mut tally.bedrock,
            &mut problems,
        );
        model_tasks = tasks;
        cannot_read(&reply, "the prompt", &mut problems);
        if calls.is_empty() {
            let _ = writeln!(out, "calls: none");
        } else {
            let _ = writeln!(out, "calls:");
            for call in calls {
                let _ = writeln!(out, "  {call}");
            }
        }
        for (name, _) in replay.recordings {
            if !used.contains(name) {
                problems.push(format!("{name} is listed but answered no call"));
            }
        }
    }

    // The directory reads open every turn.
    let directory = judged.len() >= 2
        && task_of(&judged[0].original) == "consultants"
        && task_of(&judged[1].original) == "services";
    let rest = if directory {
        let mut text = String::new();
        for judged in &judged[..2] {
            render_statement(&mut text, judged);
        }
        tally
            .directory
            .entry((tenant_id, customer.is_some()))
            .or_default()
            .insert(text);
        let _ = writeln!(
            out,
            "directory: consultants, services (as in prompt-directory)"
        );
        &judged[2..]
    } else {
        let _ = writeln!(out, "directory: NOT READ FIRST (shown below)");
        &judged[..]
    };
    let tasks: Vec<&str> = match model_tasks {
        Some(tasks) if directory && tasks.len() == rest.len() => judged[..2]
            .iter()
            .map(|j| task_of(&j.original))
            .chain(tasks)
            .collect(),
        _ => judged.iter().map(|j| task_of(&j.original)).collect(),
    };
    if rest.is_empty() {
        let _ = writeln!(out, "\n(no other statement)");
    }
    let rest_tasks = &tasks[judged.len() - rest.len()..];
    for (i, (judged, task)) in rest.iter().zip(rest_tasks).enumerate() {
        let _ = writeln!(out, "\n## {} {task}", i + 1);
        render_statement(&mut out, judged);
    }

    if replay.is_some() {
        let bedrock = &mut tally.bedrock;
        bedrock.prompts += 1;
        bedrock.turns += 1;
        bedrock.statements += judged.len();
        *bedrock
            .by_intent
            .entry(json_name(reply.intent))
            .or_default() += 1;
    } else {
        tally.prompts += 1;
        tally.turns += 1;
        tally.statements += judged.len();
        *tally.by_intent.entry(json_name(reply.intent)).or_default() += 1;
        *tally
            .by_language
            .entry(json_name(reply.language))
            .or_default() += 1;
        for task in &tasks {
            *tally.by_task.entry(task).or_default() += 1;
        }
    }

    for judged in flow_judged.iter().chain(&judged) {
        tally.guard_us += judged.elapsed_us;
        let task = task_of(&judged.original);
        let accepted = judged.refused_with.is_none();
        if let Some(refusal) = &judged.refused_with {
            if replay.is_some() {
                tally.bedrock.refused += 1;
            } else {
                tally.refused += 1;
                problems.push(format!(
                    "the offline model's SQL for `{task}` was refused ({refusal}): {}",
                    judged.original
                ));
            }
        }
        if judged.customer.is_none() {
            let ran = judged.compiled.as_deref().unwrap_or("").to_lowercase();
            if let Some(table) = identifiers(&ran).find(|w| PERSONAL_TABLES.contains(w)) {
                problems.push(format!("a visitor's `{task}` reads `{table}`: {ran}"));
            }
        }
        // A statement that ran and writes (an INSERT, at the top or in a
        // CTE): literals are parameters in the compiled SQL, so its words
        // are SQL's.
        let ran = judged.compiled.as_deref().unwrap_or("").to_lowercase();
        let writes = accepted && identifiers(&ran).any(|w| w == "insert");
        if writes && (judged.customer.is_none() || customer.is_none()) {
            problems.push(format!(
                "`{task}` wrote for an unverified sender: {}",
                judged.original
            ));
        }
    }
    check(&prompt.expect, &reply, &tasks, &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(format!("{}\n--- snapshot ---\n{out}", problems.join("\n")))
    }
}

/// A problem when `reply` is the engine's "cannot read messages" menu.
fn cannot_read(reply: &Reply, turn: &str, problems: &mut Vec<String>) {
    if reply
        .messages
        .iter()
        .any(|m| CANNOT_READ.iter().any(|text| m.text.contains(text)))
    {
        problems.push(format!(
            "{turn}: the engine could not read the message (the Bedrock reader failed)"
        ));
    }
}

/// Plays `prompt` on `bench` again, for the state it leaves (its replies
/// and statements were checked on the offline path).
async fn replay_quietly(
    bench: &Bench,
    file: &str,
    id: &str,
    prompt: &Prompt,
) -> Result<(), String> {
    let tenant_id = prompt.tenant.unwrap_or(DEFAULT_TENANT);
    let tenant = bench.tenant(tenant_id).await?;
    let now = parse_now(prompt.now.as_deref().unwrap_or(DEFAULT_NOW))?;
    let psid = format!("p-{file}-{id}");
    if let Some(email) = &prompt.verified_as {
        bench.verify(tenant_id, &psid, email, now).await?;
    }
    for said in prompt.flow.iter().chain([&prompt.text]) {
        bench
            .engine
            .turn(&tenant, &psid, Input::Text(said.clone()), now)
            .await
            .map_err(|e| format!("replaying `{said}` on the Bedrock database: {e}"))?;
    }
    Ok(())
}

fn check(expect: &Expect, reply: &Reply, tasks: &[&str], problems: &mut Vec<String>) {
    if let Some(intent) = &expect.intent
        && json_name(reply.intent) != *intent
    {
        problems.push(format!(
            "intent {}, expected {intent}",
            json_name(reply.intent)
        ));
    }
    if let Some(awaiting) = &expect.awaiting {
        let got = reply.awaiting.map(json_name);
        if got != *awaiting {
            problems.push(format!("awaiting {got:?}, expected {awaiting:?}"));
        }
    }
    if let Some(language) = &expect.language
        && json_name(reply.language) != *language
    {
        problems.push(format!(
            "language {}, expected {language}",
            json_name(reply.language)
        ));
    }
    let tasks: BTreeSet<&str> = tasks.iter().copied().collect();
    for task in &expect.tasks {
        if !tasks.contains(task.as_str()) {
            problems.push(format!("no `{task}` statement (ran: {tasks:?})"));
        }
    }
}

/// Asserts a snapshot, turning a mismatch into a listed failure so that
/// every moved prompt gets its `.snap.new` in one run.
fn snapshot(name: &str, suffix: Option<&str>, text: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_suffix(suffix.unwrap_or_default());
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, text));
    }))
    .map_err(|_| format!("snapshot {name}@{} changed", suffix.unwrap_or("")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prompt_translates_to_accepted_sql() {
    let started = Instant::now();
    let files = crate::script::fixture_files("prompts", "yaml");
    assert!(!files.is_empty(), "expected prompts in fixtures/prompts");
    let guard = Arc::new(meetassist_runtime::testing::guard());
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    let mut moved = Vec::new();
    for path in &files {
        let file = path.file_stem().unwrap().to_string_lossy().to_string();
        let parsed: PromptFile = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !parsed.about.is_empty(),
            "{file}.yaml: say what it is `about`"
        );
        let bench = Bench::new(Arc::clone(&guard)).await;
        let has_bedrock = parsed.prompts.iter().any(|p| !p.bedrock.is_empty());
        // The Bedrock engine over this file's database, and the second
        // database for Bedrock prompts whose offline twin wrote.
        let mut bedrock_here: Option<BedrockEngine> = None;
        let mut side: Option<BedrockSide> = None;
        // Earlier prompts whose turns changed shared state and that the
        // second database has not seen yet.
        let mut unreplayed: Vec<(String, &Prompt)> = Vec::new();
        let mut ids = BTreeSet::new();
        for (index, prompt) in parsed.prompts.iter().enumerate() {
            let id = prompt
                .id
                .clone()
                .unwrap_or_else(|| format!("{:03}", index + 1));
            assert!(
                ids.insert(id.clone()),
                "{file}.yaml: two prompts with id `{id}`"
            );
            let state_before = if has_bedrock {
                Some(bench.shared_state().await)
            } else {
                None
            };
            match play(&bench, None, &file, &id, prompt, &mut tally).await {
                Ok(text) => {
                    if let Err(changed) = snapshot("prompt", Some(&format!("{file}-{id}")), &text) {
                        moved.push(changed);
                    }
                }
                Err(error) => failures.push(format!("{file}.yaml#{id}: {error}")),
            }
            let Some(state_before) = state_before else {
                continue;
            };
            let state_after = bench.shared_state().await;
            let wrote = state_after != state_before;
            if prompt.bedrock.is_empty() {
                if wrote {
                    unreplayed.push((id, prompt));
                }
                continue;
            }

            // The Bedrock path, on a database in the state the offline twin
            // found: this file's own when the twin changed nothing that
            // other prompts see, else the second one, brought up to date.
            let bedrock_started = Instant::now();
            let recordings = match recordings(prompt) {
                Ok(recordings) => recordings,
                Err(error) => {
                    failures.push(format!("{file}.yaml#{id} (Bedrock): {error}"));
                    continue;
                }
            };
            let played = if wrote {
                let side = match &mut side {
                    Some(side) => side,
                    empty => {
                        let bench = Bench::new(Arc::clone(&guard)).await;
                        let bedrock = BedrockEngine::new(&bench.database, Arc::clone(&guard)).await;
                        empty.insert(BedrockSide { bench, bedrock })
                    }
                };
                for (earlier, prompt) in unreplayed.drain(..) {
                    tally.bedrock.replayed += 1;
                    if let Err(error) = replay_quietly(&side.bench, &file, &earlier, prompt).await {
                        failures.push(format!("{file}.yaml#{earlier}: {error}"));
                    }
                }
                let replay = Replay {
                    bedrock: &side.bedrock,
                    recordings: &recordings,
                };
                play(&side.bench, Some(replay), &file, &id, prompt, &mut tally).await
            } else {
                let bedrock = match &mut bedrock_here {
                    Some(bedrock) => bedrock,
                    empty => {
                        empty.insert(BedrockEngine::new(&bench.database, Arc::clone(&guard)).await)
                    }
                };
                let replay = Replay {
                    bedrock,
                    recordings: &recordings,
                };
                let played = play(&bench, Some(replay), &file, &id, prompt, &mut tally).await;
                // The prompts after it play on this database.
                if bench.shared_state().await == state_after {
                    played
                } else {
                    Err(format!(
                        "the Bedrock path changed what later prompts see (appointments, changes, customers or email codes) where the offline path did not; the prompts after it in {file}.yaml may have moved for that reason\n{}",
                        played.unwrap_or_else(|error| error)
                    ))
                }
            };
            match played {
                Ok(text) => {
                    if let Err(changed) =
                        snapshot("prompt", Some(&format!("bedrock-{file}-{id}")), &text)
                    {
                        moved.push(changed);
                    }
                }
                Err(error) => failures.push(format!("{file}.yaml#{id} (Bedrock): {error}")),
            }
            tally.bedrock.elapsed += bedrock_started.elapsed();
        }
    }

    // Identical versions (visitor and verified, most likely) are shown once.
    let mut versions: Vec<(&String, Vec<String>)> = Vec::new();
    for ((tenant, verified), texts) in &tally.directory {
        let who = format!(
            "tenant {tenant}, {}",
            if *verified { "verified" } else { "visitor" }
        );
        for text in texts {
            match versions.iter_mut().find(|(t, _)| *t == text) {
                Some((_, whos)) => whos.push(who.clone()),
                None => versions.push((text, vec![who.clone()])),
            }
        }
    }
    let mut directory = String::new();
    for (text, whos) in versions {
        let _ = writeln!(directory, "# {}\n{text}", whos.join("; "));
    }
    if let Err(changed) = snapshot("prompt-directory", None, &directory) {
        moved.push(changed);
    }

    println!(
        "prompts: {} in {} files, {} turns, {} statements of the prompts' turns, {} refused, {:.1?} ({:.1}s of it in the guard)",
        tally.prompts,
        files.len(),
        tally.turns,
        tally.statements,
        tally.refused,
        started.elapsed(),
        tally.guard_us as f64 / 1e6
    );
    println!("  by task: {:?}", tally.by_task);
    println!("  by reply intent: {:?}", tally.by_intent);
    println!("  by reply language: {:?}", tally.by_language);
    let bedrock = &tally.bedrock;
    println!(
        "  Bedrock path: {} prompts, {} turns, {} Converse calls answered from recordings, {} statements of the prompts' turns, {} refused (then repaired), {} earlier prompts replayed for their writes, {:.1?}",
        bedrock.prompts,
        bedrock.turns,
        bedrock.calls,
        bedrock.statements,
        bedrock.refused,
        bedrock.replayed,
        bedrock.elapsed
    );
    println!("    by reply intent: {:?}", bedrock.by_intent);
    assert!(
        failures.is_empty(),
        "{} prompts failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        moved.is_empty(),
        "{} snapshots changed (cargo insta review):\n{}",
        moved.len(),
        moved.join("\n")
    );
    assert!(
        tally.prompts >= 100,
        "the corpus should hold at least 100 prompts"
    );
}
