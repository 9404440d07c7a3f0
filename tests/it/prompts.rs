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
//! Every turn first reads the directory (consultants, then services). Those
//! two statements are the same for every prompt of a tenant and kind of
//! sender, so a prompt's snapshot names them in one line and
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
//! Beyond the snapshots: the offline model's SQL is never refused (its
//! templates are what the guard accepts; a refusal is a bug); a visitor's
//! statements read only public tables (no `appointments`, `customers` or
//! `appointment_changes` in the SQL that ran); every INSERT was made for a
//! verified customer; and each prompt's `expect` holds.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use meetassist_runtime::chat::model::{Model, ModelKind};
use meetassist_runtime::chat::{ChatEngine, Input, Reply, Tenant};
use meetassist_runtime::guard::Guard;
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
    /// The recorded Bedrock Converse replies this prompt's turns need (file
    /// names in `fixtures/bedrock/`, the fake Converse server's format): the
    /// Bedrock path replays the prompt on them (snapshot
    /// `prompt@bedrock-<file>-<id>`). The offline path only checks that
    /// they exist.
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

/// Tables only a verified customer's statements may name.
const PERSONAL_TABLES: [&str; 3] = ["appointments", "customers", "appointment_changes"];

fn prompt_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/prompts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

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
    recordings: usize,
    /// The guard's time over every statement judged, in microseconds.
    guard_us: i64,
    /// Each distinct directory read, by (tenant, verified).
    directory: BTreeMap<(i64, bool), BTreeSet<String>>,
}

/// One file's database and engine.
struct Bench {
    owner: tokio_postgres::Client,
    engine: ChatEngine,
    _outbox: tempfile::TempDir,
}

impl Bench {
    async fn new(guard: Arc<Guard>) -> Bench {
        let database = TestDatabase::seeded().await;
        let owner = database.owner().await;
        let outbox = tempfile::tempdir().unwrap();
        // Both demo tenants are in Asia/Ho_Chi_Minh; the engine's zone is
        // the session's for rendering times.
        let zone = meetassist_runtime::testing::tenant(&database, 1).await;
        let engine = meetassist_runtime::testing::chat_engine(
            &database,
            &zone,
            guard,
            Model::new(ModelKind::Offline).await.unwrap(),
            outbox.path(),
        )
        .await;
        Bench {
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

    /// `psid`'s audit rows after `after`, in order.
    async fn judged(&self, tenant: i64, psid: &str, after: i64) -> Vec<Judged> {
        self.owner
            .query(
                "select customer_id, original_sql, final_sql, params::text, refused_with, policies::text, elapsed_us
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
            })
            .collect()
    }
}

/// A statement as the snapshot shows it.
fn render_statement(out: &mut String, judged: &Judged) {
    let _ = writeln!(out, "model:    {}", judged.original);
    match (&judged.compiled, &judged.refused_with) {
        (Some(compiled), None) => {
            let _ = writeln!(out, "compiled: {compiled}");
            let _ = writeln!(out, "params:   {}", judged.params);
        }
        (compiled, refused) => {
            if let Some(compiled) = compiled {
                let _ = writeln!(out, "compiled: {compiled}");
            }
            let _ = writeln!(
                out,
                "REFUSED:  {}",
                refused.as_deref().unwrap_or("(no reason recorded)")
            );
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

/// Plays one prompt; its snapshot text, or why it failed.
async fn play(
    bench: &Bench,
    file: &str,
    id: &str,
    prompt: &Prompt,
    tally: &mut Tally,
) -> Result<String, String> {
    let tenant_id = prompt.tenant.unwrap_or(DEFAULT_TENANT);
    let tenant = bench.tenant(tenant_id).await?;
    let now_text = prompt.now.as_deref().unwrap_or(DEFAULT_NOW);
    let now = parse_now(now_text)?;
    let psid = format!("p-{file}-{id}");
    let customer = match &prompt.verified_as {
        Some(email) => Some(bench.verify(tenant_id, &psid, email, now).await?),
        None => None,
    };
    for recording in &prompt.bedrock {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/bedrock")
            .join(recording);
        if !path.is_file() {
            return Err(format!("bedrock recording {} is missing", path.display()));
        }
        tally.recordings += 1;
    }

    let mut out = String::new();
    let _ = match &prompt.name {
        Some(name) => writeln!(out, "# {file}.yaml#{id}: {name}"),
        None => writeln!(out, "# {file}.yaml#{id}"),
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

    for (i, said) in prompt.flow.iter().enumerate() {
        let reply = bench
            .engine
            .turn(&tenant, &psid, Input::Text(said.clone()), now)
            .await
            .map_err(|e| format!("flow message {}: the turn failed: {e}", i + 1))?;
        tally.turns += 1;
        if i == 0 {
            let _ = writeln!(out, "flow (played first; not in this snapshot):");
        }
        let _ = writeln!(out, "  > {said}\n    {}", reply_line(&reply));
    }
    let before = bench.last_audit(tenant_id, &psid).await;
    let flow_judged = bench.judged(tenant_id, &psid, 0).await;
    let reply = bench
        .engine
        .turn(&tenant, &psid, Input::Text(prompt.text.clone()), now)
        .await
        .map_err(|e| format!("the turn failed: {e}"))?;
    tally.turns += 1;
    let judged = bench.judged(tenant_id, &psid, before).await;
    let _ = writeln!(out, "reply: {}", reply_line(&reply));

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
    if rest.is_empty() {
        let _ = writeln!(out, "\n(no other statement)");
    }
    for (i, judged) in rest.iter().enumerate() {
        let _ = writeln!(out, "\n## {} {}", i + 1, task_of(&judged.original));
        render_statement(&mut out, judged);
    }

    tally.prompts += 1;
    tally.statements += judged.len();
    *tally.by_intent.entry(json_name(reply.intent)).or_default() += 1;
    *tally
        .by_language
        .entry(json_name(reply.language))
        .or_default() += 1;
    for judged in &judged {
        *tally.by_task.entry(task_of(&judged.original)).or_default() += 1;
    }

    let mut problems = Vec::new();
    for judged in flow_judged.iter().chain(&judged) {
        tally.guard_us += judged.elapsed_us;
        let task = task_of(&judged.original);
        if let Some(refusal) = &judged.refused_with {
            tally.refused += 1;
            problems.push(format!(
                "the offline model's SQL for `{task}` was refused ({refusal}): {}",
                judged.original
            ));
        }
        if judged.customer.is_none() {
            let ran = judged.compiled.as_deref().unwrap_or("").to_lowercase();
            if let Some(table) = identifiers(&ran).find(|w| PERSONAL_TABLES.contains(w)) {
                problems.push(format!("a visitor's `{task}` reads `{table}`: {ran}"));
            }
        }
        let insert = judged
            .original
            .trim_start()
            .to_lowercase()
            .starts_with("insert");
        if insert && (judged.customer.is_none() || customer.is_none()) {
            problems.push(format!(
                "`{task}` wrote for an unverified sender: {}",
                judged.original
            ));
        }
    }
    check(&prompt.expect, &reply, &judged, &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(format!("{}\n--- snapshot ---\n{out}", problems.join("\n")))
    }
}

fn check(expect: &Expect, reply: &Reply, judged: &[Judged], problems: &mut Vec<String>) {
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
    let tasks: BTreeSet<&str> = judged.iter().map(|j| task_of(&j.original)).collect();
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
    let files = prompt_files();
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
            match play(&bench, &file, &id, prompt, &mut tally).await {
                Ok(text) => {
                    if let Err(changed) = snapshot("prompt", Some(&format!("{file}-{id}")), &text) {
                        moved.push(changed);
                    }
                }
                Err(error) => failures.push(format!("{file}.yaml#{id}: {error}")),
            }
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
        "prompts: {} in {} files, {} turns, {} statements of the prompts' turns, {} refused, {} Bedrock recordings (not replayed yet), {:.1?} ({:.1}s of it in the guard)",
        tally.prompts,
        files.len(),
        tally.turns,
        tally.statements,
        tally.refused,
        tally.recordings,
        started.elapsed(),
        tally.guard_us as f64 / 1e6
    );
    println!("  by task: {:?}", tally.by_task);
    println!("  by reply intent: {:?}", tally.by_intent);
    println!("  by reply language: {:?}", tally.by_language);
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
