//! The `compile` and `query` contract, as outside checks drive it: SQL on
//! stdin, one JSON object on stdout, exit 0 accepted / 1 refused / 2 usage.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Once;

use meetassist_runtime::testing::TestDatabase;
use serde_json::Value;

use crate::stderr;

/// The tests use the bundle the CLI finds by default; build it once.
fn ensure_bundle() {
    static BUILT: Once = Once::new();
    BUILT.call_once(|| drop(meetassist_runtime::testing::guard()));
}

fn run(args: &[&str], sql: &str) -> Output {
    ensure_bundle();
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetassist"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not one JSON object ({error}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn compile_accepts_with_parameters_and_refuses_with_a_span() {
    let output = run(
        &["compile", "--tenant", "1", "--json"],
        "SELECT full_name FROM consultants WHERE full_name = 'nguyễn văn an' AND id > 2",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let body = json(&output);
    let sql = body["sql"].as_str().unwrap();
    assert!(
        sql.contains("unaccent(full_name) ILIKE unaccent($1)"),
        "{sql}"
    );
    assert!(
        !sql.contains("nguyễn") && !sql.contains("> 2"),
        "literals left the text: {sql}"
    );
    assert_eq!(body["params"], serde_json::json!(["%nguyễn văn an%", 2, 1]));

    let output = run(
        &["compile", "--tenant", "1", "--json"],
        "SELECT full_name, email FROM consultants",
    );
    assert_eq!(output.status.code(), Some(1));
    let error = &json(&output)["error"];
    assert_eq!(error["code"], "E-NOT-ALLOWED");
    assert_eq!(error["span"]["start"]["line"], 1);
    assert_eq!(error["span"]["start"]["column"], 19);
    assert!(
        error["message"].as_str().unwrap().contains("email"),
        "{error}"
    );

    let output = run(
        &["compile", "--tenant", "an-tam"],
        "SELECT fullname FROM consultants",
    );
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("error[E-UNKNOWN-COLUMN]"), "{text}");
    assert!(text.contains("^^^^^^^^"), "a caret under the name: {text}");
    assert!(text.contains("did you mean `full_name`?"), "{text}");
}

#[test]
fn a_visitor_is_refused_what_needs_a_verified_customer() {
    let output = run(
        &["compile", "--tenant", "1", "--json"],
        "SELECT * FROM appointments",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json(&output)["error"]["code"], "E-NOT-VERIFIED");
    let output = run(
        &["compile", "--tenant", "1", "--customer", "1", "--json"],
        "SELECT * FROM appointments",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn usage_errors_exit_2() {
    let output = run(&["compile", "--tenant", "no-such-tenant"], "SELECT 1");
    assert_eq!(output.status.code(), Some(2));
    let output = run(
        &["compile", "--tenant", "1", "--policies", "/nonexistent"],
        "SELECT 1",
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("meetassist policy build"),
        "{}",
        stderr(&output)
    );
    let output = run(&["query", "--tenant", "1"], "SELECT 1");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--database-url"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn query_runs_as_the_bot_and_returns_typed_rows() {
    let database = TestDatabase::seeded().await;
    let url = database.bot_url();
    let output = run(
        &[
            "query",
            "--database-url",
            &url,
            "--tenant",
            "an-tam",
            "--customer",
            "1",
            "--json",
        ],
        "SELECT a.id, a.status, a.starts_at, c.full_name FROM appointments a JOIN consultants c ON c.id = a.consultant_id ORDER BY a.id",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let rows = json(&output)["rows"].as_array().unwrap().clone();
    let owned: i64 = database
        .owner()
        .await
        .query_one(
            "select count(*) from appointments where customer_id = 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows.len() as i64, owned, "only customer 1's appointments");
    assert!(rows[0]["id"].is_i64(), "integers are numbers: {}", rows[0]);
    assert!(
        rows[0]["status"].is_string() && rows[0]["starts_at"].is_string(),
        "{}",
        rows[0]
    );
    assert_eq!(rows[0]["full_name"], "Nguyễn Văn An");
}

#[tokio::test]
async fn a_booking_conflict_is_a_refusal_and_changes_nothing() {
    let database = TestDatabase::seeded().await;
    let url = database.bot_url();
    let count = || async {
        let n: i64 = database
            .owner()
            .await
            .query_one("select count(*) from appointments", &[])
            .await
            .unwrap()
            .get(0);
        n
    };
    let before = count().await;
    // Appointment 1 holds consultant 1 on 2026-11-16 09:00-10:00 (+07).
    let output = run(
        &[
            "query",
            "--database-url",
            &url,
            "--tenant",
            "1",
            "--customer",
            "2",
            "--json",
        ],
        "INSERT INTO appointments (consultant_id, starts_at, ends_at) VALUES (1, '2026-11-16 09:30+07', '2026-11-16 10:30+07') RETURNING id",
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(json(&output)["error"]["code"], "E-CONFLICT");
    assert_eq!(count().await, before);

    let output = run(
        &[
            "query",
            "--database-url",
            &url,
            "--tenant",
            "1",
            "--customer",
            "2",
            "--json",
        ],
        "INSERT INTO appointments (consultant_id, starts_at, ends_at) VALUES (1, '2027-03-16 09:30+07', '2027-03-16 10:30+07') RETURNING id, status, customer_id",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let row = &json(&output)["rows"][0];
    assert_eq!(row["status"], "pending");
    assert_eq!(row["customer_id"], 2);
    assert_eq!(count().await, before + 1);
}
