//! The `meetassist chat` contract, as outside checks drive it: actions on
//! stdin, exactly one JSON line per action on stdout, the session kept in
//! the database between runs, the frozen clock, the outbox, exit codes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use meetassist_runtime::testing::TestDatabase;
use serde_json::Value;

use crate::stderr;

fn chat(url: &str, outbox: &Path, psid: &str, lines: &[&str]) -> Output {
    drop(meetassist_runtime::testing::guard());
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetassist"))
        .args([
            "chat",
            "--database-url",
            url,
            "--tenant",
            "an-tam",
            "--psid",
            psid,
            "--outbox",
            outbox.to_str().unwrap(),
            "--now",
            "2026-11-25T09:00:00+07:00",
            "--json",
            "--otp-secret-file",
            outbox.join("secret").to_str().unwrap(),
        ])
        .env_remove("DATABASE_URL")
        .env_remove("MEETASSIST_OTP_SECRET")
        .env_remove("MEETASSIST_LLM")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn replies(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"))
        })
        .collect()
}

#[tokio::test]
async fn one_json_line_per_action_and_the_session_outlives_the_process() {
    let database = TestDatabase::seeded().await;
    let outbox = tempfile::tempdir().unwrap();
    let first = chat(
        &database.owner_url(),
        outbox.path(),
        "cli-psid-1",
        &[
            "xin chào",
            r#"{"text": "Mình muốn đặt lịch với chị Ngọc"}"#,
            r#"{"quick_reply": "SERVICE:2"}"#,
        ],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let first = replies(&first);
    assert_eq!(first.len(), 3, "one line per action: {first:?}");
    for reply in &first {
        let object = reply.as_object().unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["messages", "intent", "awaiting", "language"],
            "{reply}"
        );
        assert_eq!(reply["language"], "vi");
        for message in reply["messages"].as_array().unwrap() {
            assert!(message["text"].is_string());
            let chips = message["quick_replies"].as_array().unwrap();
            assert!(chips.len() <= 13);
            for chip in chips {
                assert!(
                    chip["title"].as_str().unwrap().chars().count() <= 20,
                    "{chip}"
                );
                assert!(chip["payload"].is_string());
            }
        }
    }
    assert_eq!(first[0]["intent"], "greeting");
    assert_eq!(first[0]["awaiting"], "topic");
    assert_eq!(first[1]["intent"], "book");
    assert_eq!(first[1]["awaiting"], "service");
    assert_eq!(first[2]["awaiting"], "slot");
    let slot = first[2]["messages"][0]["quick_replies"][0]["payload"]
        .as_str()
        .unwrap()
        .to_string();

    // A second process continues the same conversation: a bare number
    // picks the first chip of the last reply.
    let second = chat(&database.owner_url(), outbox.path(), "cli-psid-1", &["1"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let second = replies(&second);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["intent"], "book");
    assert_eq!(second[0]["awaiting"], "email", "{}", second[0]);
    assert!(slot.starts_with("SLOT:2:"), "{slot}");

    // Nothing was written: no verified customer yet.
    let count: i64 = database
        .owner()
        .await
        .query_one("select count(*) from appointments where consultant_id = 2 and starts_at > '2026-11-25'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2, "the demo's two future appointments of Ngọc only");
}

#[test]
fn no_database_exits_2_with_the_reason() {
    let outbox = tempfile::tempdir().unwrap();
    let output = chat(
        "postgres://nobody@127.0.0.1:1/nothing",
        outbox.path(),
        "p",
        &["hi"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("database"), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn bad_usage_exits_2() {
    let output = crate::meetassist(&["chat", "--tenant", "an-tam", "--psid", "p"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--database-url"),
        "{}",
        stderr(&output)
    );
    let output = crate::meetassist(&[
        "chat",
        "--database-url",
        "postgres://x@127.0.0.1:1/y",
        "--tenant",
        "an-tam",
        "--psid",
        "p",
        "--now",
        "yesterday",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("RFC 3339"), "{}", stderr(&output));
}
