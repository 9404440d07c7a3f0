//! Conversation scripts (`fixtures/conversations/*.yaml`) played against
//! the real engine: a seeded database, the policy bundle in wasmtime, the
//! offline model, the outbox. Each step is a customer action with what
//! must come back (intent, awaiting, language, text, chips), what mail
//! must have gone out and what the database must hold. Every transcript is
//! snapshotted so a reviewer sees a changed reply.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use crate::script::{Expect, Script, Tap, count_mail, last_code, parse_advance, scripts};
use crate::support::TestDatabase;
use chrono::{DateTime, Utc};
use meetassist_runtime::chat::model::{Model, ModelKind};
use meetassist_runtime::chat::session::{
    BoxFuture, ChatState, PgSessions, SessionError, SessionStore, Stored, Transaction,
};
use meetassist_runtime::chat::{ChatEngine, ChatError, Input, Reply, Tenant};
use meetassist_runtime::guard::Guard;
use serde_json::Value;

fn transcript_line(out: &mut String, who: &str, reply: &Reply) {
    let awaiting = reply.awaiting.map_or("null".to_string(), |a| {
        serde_json::to_value(a)
            .unwrap()
            .as_str()
            .unwrap_or("?")
            .to_string()
    });
    let intent = serde_json::to_value(reply.intent).unwrap();
    let language = serde_json::to_value(reply.language).unwrap();
    let _ = writeln!(
        out,
        "[{who}] intent={} awaiting={awaiting} language={}",
        intent.as_str().unwrap_or("?"),
        language.as_str().unwrap_or("?")
    );
    for message in &reply.messages {
        for line in message.text.lines() {
            let _ = writeln!(out, "  bot: {line}");
        }
        for (i, chip) in message.quick_replies.iter().enumerate() {
            let _ = writeln!(out, "    [{}] {} -> {}", i + 1, chip.title, chip.payload);
        }
    }
}

async fn play(path: &Path, guard: Arc<Guard>, transcript: &mut String) -> Result<(), String> {
    let script: Script = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .map_err(|e| format!("unreadable script: {e}"))?;
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    for sql in &script.setup {
        owner
            .batch_execute(sql)
            .await
            .map_err(|e| format!("setup `{sql}`: {e}"))?;
    }
    let outbox_dir = tempfile::tempdir().unwrap();
    let tenant = meetassist_runtime::testing::tenant(&database, script.tenant).await;
    let engine = meetassist_runtime::testing::chat_engine(
        &database,
        &tenant,
        guard,
        Model::new(ModelKind::Offline).await.unwrap(),
        outbox_dir.path(),
    )
    .await;
    let mut now: DateTime<Utc> = DateTime::parse_from_rfc3339(&script.now)
        .map_err(|e| format!("now: {e}"))?
        .with_timezone(&Utc);
    let _ = writeln!(transcript, "# {}", script.name);
    let mut last_replies: std::collections::HashMap<String, Reply> = Default::default();
    for (index, step) in script.steps.iter().enumerate() {
        let at = format!("step {}", index + 1);
        if let Some(advance) = &step.advance {
            now += parse_advance(advance);
        }
        let sender = step.sender.clone().unwrap_or_else(|| script.sender.clone());
        let (input, shown) = match (&step.say, &step.tap, &step.code) {
            (Some(text), None, None) => (Input::Text(text.clone()), text.clone()),
            (None, Some(tap), None) => {
                let payload = match tap {
                    Tap::Payload(payload) => payload.clone(),
                    Tap::Number(n) => {
                        let last = last_replies
                            .get(&sender)
                            .ok_or_else(|| format!("{at}: tap with no reply before"))?;
                        let chips = &last
                            .messages
                            .last()
                            .map(|m| m.quick_replies.clone())
                            .unwrap_or_default();
                        chips
                            .get(n.wrapping_sub(1))
                            .ok_or_else(|| {
                                format!("{at}: no chip {n} (there are {})", chips.len())
                            })?
                            .payload
                            .clone()
                    }
                };
                (
                    Input::QuickReply(payload.clone()),
                    format!("(tap {payload})"),
                )
            }
            (None, None, Some(which)) => {
                let code = last_code(outbox_dir.path());
                let typed = match which.as_str() {
                    "right" => code,
                    "wrong" => format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000),
                    other => return Err(format!("{at}: code must be right or wrong, not {other}")),
                };
                (Input::Text(typed), format!("(types the {which} code)"))
            }
            _ => return Err(format!("{at}: a step has exactly one of say, tap, code")),
        };
        let _ = writeln!(
            transcript,
            "\n{sender} @ {}: {shown}",
            now.format("%Y-%m-%d %H:%M:%S UTC")
        );
        let reply = engine
            .turn(&tenant, &sender, input, now)
            .await
            .map_err(|e| format!("{at}: the turn failed: {e}"))?;
        transcript_line(transcript, &sender, &reply);
        check(&at, &step.expect, &reply)?;
        if let Some(expected) = step.emails {
            let sent = count_mail(outbox_dir.path());
            if sent != expected {
                return Err(format!("{at}: {sent} mails sent, expected {expected}"));
            }
        }
        for row in &step.rows {
            let value: i64 = owner
                .query_one(&row.sql, &[])
                .await
                .map_err(|e| format!("{at}: `{}`: {e}", row.sql))?
                .get(0);
            if value != row.equals {
                return Err(format!(
                    "{at}: `{}` gave {value}, expected {}",
                    row.sql, row.equals
                ));
            }
        }
        last_replies.insert(sender, reply);
    }
    Ok(())
}

fn check(at: &str, expect: &Expect, reply: &Reply) -> Result<(), String> {
    let json = serde_json::to_value(reply).unwrap();
    if let Some(intent) = &expect.intent
        && json["intent"] != *intent
    {
        return Err(format!(
            "{at}: intent {} , expected {intent}",
            json["intent"]
        ));
    }
    if let Some(awaiting) = &expect.awaiting {
        let want = awaiting
            .clone()
            .map_or(serde_json::Value::Null, serde_json::Value::String);
        if json["awaiting"] != want {
            return Err(format!(
                "{at}: awaiting {}, expected {want}",
                json["awaiting"]
            ));
        }
    }
    if let Some(language) = &expect.language
        && json["language"] != *language
    {
        return Err(format!(
            "{at}: language {}, expected {language}",
            json["language"]
        ));
    }
    if let Some(count) = expect.messages
        && reply.messages.len() != count
    {
        return Err(format!(
            "{at}: {} messages, expected {count}",
            reply.messages.len()
        ));
    }
    let text: String = reply
        .messages
        .iter()
        .map(|m| m.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for wanted in &expect.contains {
        if !text.to_lowercase().contains(&wanted.to_lowercase()) {
            return Err(format!("{at}: the reply lacks `{wanted}`:\n{text}"));
        }
    }
    for unwanted in &expect.not_contains {
        if text.to_lowercase().contains(&unwanted.to_lowercase()) {
            return Err(format!("{at}: the reply has `{unwanted}`:\n{text}"));
        }
    }
    let chips = reply
        .messages
        .last()
        .map(|m| m.quick_replies.clone())
        .unwrap_or_default();
    if let Some(least) = expect.chips_at_least
        && chips.len() < least
    {
        return Err(format!(
            "{at}: {} chips, expected at least {least}",
            chips.len()
        ));
    }
    for title in &expect.chips {
        if !chips.iter().any(|c| c.title == *title) {
            let titles: Vec<&str> = chips.iter().map(|c| c.title.as_str()).collect();
            return Err(format!("{at}: no chip `{title}` among {titles:?}"));
        }
    }
    for message in &reply.messages {
        if message.quick_replies.len() > 13 {
            return Err(format!("{at}: more than 13 quick replies"));
        }
        if let Some(long) = message
            .quick_replies
            .iter()
            .find(|c| c.title.chars().count() > 20)
        {
            return Err(format!(
                "{at}: chip title over 20 characters: {}",
                long.title
            ));
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conversation_script_plays_as_written() {
    let files = scripts();
    assert!(
        files.len() >= 5,
        "expected conversation scripts in fixtures/conversations"
    );
    let guard = Arc::new(meetassist_runtime::testing::guard());
    let mut failures = Vec::new();
    let mut passed = 0;
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let mut transcript = String::new();
        match play(file, Arc::clone(&guard), &mut transcript).await {
            Ok(()) => {
                passed += 1;
                insta::with_settings!({snapshot_suffix => stem.clone(), prepend_module_to_snapshot => false}, {
                    insta::assert_snapshot!("conversation", transcript);
                });
            }
            Err(error) => {
                failures.push(format!("{stem}: {error}\n--- transcript ---\n{transcript}"))
            }
        }
    }
    println!(
        "conversation scripts: {passed}/{} played as written",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A seeded database and an engine over it for tenant 1 (the demo's An
/// Tâm), with the offline model, the policy bundle and an outbox of its
/// own.
struct Demo {
    database: TestDatabase,
    /// Kept for the engine's mail; deleted with the demo.
    _outbox: tempfile::TempDir,
    engine: ChatEngine,
    tenant: Tenant,
}

async fn demo() -> Demo {
    let database = TestDatabase::seeded().await;
    let outbox = tempfile::tempdir().unwrap();
    let tenant = meetassist_runtime::testing::tenant(&database, 1).await;
    let engine = meetassist_runtime::testing::chat_engine(
        &database,
        &tenant,
        Arc::new(meetassist_runtime::testing::guard()),
        Model::new(ModelKind::Offline).await.unwrap(),
        outbox.path(),
    )
    .await;
    Demo {
        database,
        _outbox: outbox,
        engine,
        tenant,
    }
}

/// The demo data's clock: Wednesday 25 November 2026, 9:00 in Hanoi.
fn wednesday_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T09:00:00+07:00")
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_turn_that_fails_midway_keeps_the_previous_state_whole() {
    let Demo {
        database,
        _outbox,
        engine,
        tenant,
    } = demo().await;
    let now = wednesday_morning();
    let owner = database.owner().await;
    let first = engine
        .turn(
            &tenant,
            "atomic",
            Input::Text("đặt lịch với chị Ngọc".into()),
            now,
        )
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(first.awaiting).unwrap(), "service");
    let before: (String, i64) = {
        let row = owner
            .query_one(
                "select state::text, turns from chat_sessions where psid = 'atomic'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    // The next turn needs the weekly hours; the bot role loses the right to
    // read them, so the turn fails after it has read other things.
    owner
        .batch_execute("revoke select on consultant_schedules from meetassist_bot")
        .await
        .unwrap();
    let failed = engine
        .turn(
            &tenant,
            "atomic",
            Input::QuickReply("SERVICE:2".into()),
            now,
        )
        .await;
    assert!(failed.is_err(), "the turn should fail: {failed:?}");
    let after: (String, i64) = {
        let row = owner
            .query_one(
                "select state::text, turns from chat_sessions where psid = 'atomic'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(after, before, "nothing of the failed turn was kept");
    let audited: i64 = owner
        .query_one("select count(*) from sql_audit where psid = 'atomic' and original_sql like '%consultant_schedules%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        audited, 0,
        "the failed turn's audit rows rolled back with it"
    );
    // Given the right back, the same action goes through.
    owner
        .batch_execute("grant select on consultant_schedules to meetassist_bot")
        .await
        .unwrap();
    let retried = engine
        .turn(
            &tenant,
            "atomic",
            Input::QuickReply("SERVICE:2".into()),
            now,
        )
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(retried.awaiting).unwrap(), "slot");
}

/// Delegates to the real PostgreSQL store, but another writer gets in
/// between the turn's load and its save (done here in the turn's own
/// transaction, since `load` holds the row lock against any other).
struct InterleavedWriter(PgSessions);

impl SessionStore for InterleavedWriter {
    fn load<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        tenant: i64,
        psid: &'a str,
    ) -> BoxFuture<'a, Result<Stored, SessionError>> {
        self.0.load(transaction, tenant, psid)
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
        Box::pin(async move {
            transaction
                .execute(
                    "update chat_sessions set turns = turns + 1 where tenant_id = $1 and psid = $2",
                    &[&tenant, &psid],
                )
                .await?;
            self.0
                .save(transaction, tenant, psid, loaded, state, now)
                .await
        })
    }
}

#[tokio::test]
async fn a_session_saved_by_someone_else_during_the_turn_fails_the_turn() {
    let Demo {
        database,
        _outbox,
        engine,
        tenant,
    } = demo().await;
    let now = wednesday_morning();
    let first = engine
        .turn(&tenant, "racer", Input::Text("đặt lịch".into()), now)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(first.awaiting).unwrap(), "consultant");
    let owner = database.owner().await;
    let session = async || -> (String, i64) {
        let row = owner
            .query_one(
                "select state::text, turns from chat_sessions where psid = 'racer'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    let before = session().await;
    assert_eq!(before.1, 1);

    let engine = engine.with_sessions(Box::new(InterleavedWriter(PgSessions)));
    let lost = engine
        .turn(&tenant, "racer", Input::Text("anh An".into()), now)
        .await;
    assert!(
        matches!(lost, Err(ChatError::Session(SessionError::Conflict { .. }))),
        "the turn must not overwrite a newer session: {lost:?}"
    );
    assert_eq!(session().await, before, "nothing of the lost turn was kept");
}

#[tokio::test]
async fn a_statement_the_database_refuses_is_audited_with_the_reason() {
    let Demo {
        database,
        _outbox,
        engine,
        tenant,
    } = demo().await;
    let now = wednesday_morning();
    let owner = database.owner().await;
    meetassist_runtime::identity::link_sender(
        &owner,
        1,
        "refused",
        1,
        now,
        chrono::TimeDelta::days(30),
    )
    .await
    .unwrap();
    let say = async |text: &str| {
        engine
            .turn(&tenant, "refused", Input::Text(text.into()), now)
            .await
            .unwrap()
    };
    let asked = say("Book a tax consultation with Mr. An next Monday at 3pm").await;
    assert_eq!(serde_json::to_value(asked.awaiting).unwrap(), "confirm");
    // The guard accepts the INSERT; the database no longer lets the bot
    // role write (as a trigger, a constraint or a revoked grant would).
    owner
        .batch_execute("revoke insert on appointments from meetassist_bot")
        .await
        .unwrap();
    let refused = say("yes").await;
    assert_eq!(serde_json::to_value(refused.awaiting).unwrap(), Value::Null);
    assert!(
        !refused.messages[0].text.contains("Booked"),
        "{:?}",
        refused.messages
    );
    let row = owner
        .query_one(
            "select refused_with, refusal->>'code', refusal->>'message'
             from sql_audit where psid = 'refused' and final_sql like 'INSERT%'",
            &[],
        )
        .await
        .unwrap();
    let (guard_code, code, message): (Option<String>, String, String) =
        (row.get(0), row.get(1), row.get(2));
    assert_eq!(guard_code, None, "the guard accepted it");
    assert_eq!(code, "E-DB-DENIED");
    assert!(message.contains("appointments"), "{message}");
    assert_eq!(
        crate::support::count(&owner, "select id from appointments where customer_id = 1 and starts_at = '2026-11-30 15:00+07'").await,
        0
    );
}

#[tokio::test]
async fn forged_payloads_change_nothing() {
    let Demo {
        database,
        _outbox,
        engine,
        tenant,
    } = demo().await;
    let now = wednesday_morning();
    // Tenant 2's consultant, an absurd date, a slot of another tenant, a
    // payload that is not one: none may panic, none may move the flow.
    for payload in [
        "CONSULTANT:7",
        "DATE:+262142-12-31",
        "DATE:2026-02-30",
        "SLOT:7:2026-12-01T02:00:00+00:00",
        "SLOT:1:+262142-12-31T00:00:00+00:00",
        "SERVICE:5",
        "APPOINTMENT:17",
        "INTENT:drop_table",
        "YES",
    ] {
        let reply = engine
            .turn(&tenant, "forger", Input::Postback(payload.into()), now)
            .await
            .unwrap_or_else(|error| panic!("{payload}: {error}"));
        let text: String = reply.messages.iter().map(|m| m.text.clone()).collect();
        assert!(
            !text.contains("Hoàng Văn An"),
            "{payload}: tenant 2 leaked: {text}"
        );
    }
    let owner = database.owner().await;
    let writes: i64 = owner
        .query_one("select (select count(*) from appointments) + (select count(*) from appointment_changes)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(writes, 19, "the demo's 19 appointments and no change");
}
