//! The SQL corpus (`fixtures/sql/*.toml`): what models write for real
//! questions, in Vietnamese and English, and attacks. Every case goes
//! through the real guard — the compiler and the built policy modules in
//! wasmtime — and:
//!
//! - is accepted or refused as the case expects;
//! - if accepted, compiles to the same statement when its output is
//!   compiled again (parameters written back in);
//! - lands in an insta snapshot per file (accepted SQL and parameters, or
//!   the diagnostic), so a reviewer sees every change of behaviour;
//! - if accepted, runs on a seeded database twice, inside transactions that
//!   are rolled back: as `meetassist_bot` under row-level security, and as
//!   the owner, whom row-level security does not restrict. The two must
//!   give the same rows: the compiler's scoping alone already keeps the
//!   statement inside what the database's second wall allows.
//! - Refused cases never reach the database, and the database is unchanged
//!   at the end.

use std::sync::OnceLock;

use meetassist_compiler::Compiled;
use meetassist_compiler::describe::Session;
use meetassist_runtime::guard::Guard;
use meetassist_runtime::guard::execute::{TextParam, rows_query};
use serde::Deserialize;
use tokio_postgres::Client;

use crate::support::{TestDatabase, snapshot};

#[derive(Debug, Deserialize)]
struct CorpusFile {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    sql: String,
    tenant: i64,
    customer: Option<i64>,
    expect: Expect,
    #[allow(dead_code)] // Documentation for the reviewer.
    why: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Accept,
    Refuse,
}

fn guard() -> &'static Guard {
    static GUARD: OnceLock<Guard> = OnceLock::new();
    GUARD.get_or_init(meetassist_runtime::testing::guard)
}

fn corpus() -> Vec<(String, Vec<Case>)> {
    crate::script::fixture_files("sql", "toml")
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let file: CorpusFile =
                toml::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, file.case)
        })
        .collect()
}

fn render(result: &Result<Compiled, meetassist_compiler::Diagnostic>) -> String {
    match result {
        Ok(compiled) => {
            let params: Vec<String> = compiled
                .params
                .iter()
                .map(|p| format!("{:?}", p.value.as_text()))
                .collect();
            format!("ACCEPT {}\n  params [{}]", compiled.sql, params.join(", "))
        }
        Err(diagnostic) => {
            let at = diagnostic
                .span
                .map(|s| format!(" @{}:{}", s.start.line, s.start.column))
                .unwrap_or_default();
            format!("REFUSE {}{at}: {}", diagnostic.code, diagnostic.message)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_corpus_case_is_judged_as_expected_and_the_oracle_holds() {
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    let before = snapshot(&owner).await;
    let mut oracle_client = database.owner().await;
    let mut failures = Vec::new();
    let mut totals = (0, 0);
    for (file, cases) in corpus() {
        let mut report = String::new();
        for case in &cases {
            let session = Session {
                tenant_id: case.tenant,
                customer_id: case.customer,
            };
            let (result, _audit) = guard().compile(&case.sql, session);
            report.push_str(&format!("## {}\n{}\n\n", case.name, render(&result)));
            let accepted = result.is_ok();
            if accepted {
                totals.0 += 1;
            } else {
                totals.1 += 1;
            }
            if accepted != (case.expect == Expect::Accept) {
                failures.push(format!(
                    "{file}: `{}` expected {:?}, got {}",
                    case.name,
                    case.expect,
                    render(&result)
                ));
                continue;
            }
            if let Ok(compiled) = &result {
                // Compiling the output again changes nothing (unless the
                // output, with its casts, outgrew the input size limit).
                let inlined = compiled.inlined_sql();
                match guard().compile(&inlined, session).0 {
                    Ok(again) if again.inlined_sql() == inlined => {}
                    _ if inlined.len() > meetassist_compiler::MAX_SQL_BYTES => {}
                    other => failures.push(format!(
                        "{file}: `{}` NOT IDEMPOTENT: {}\nrecompiled: {}",
                        case.name,
                        compiled.inlined_sql(),
                        render(&other)
                    )),
                }
                match oracle(&mut oracle_client, compiled, session).await {
                    Ok((owner_rows, bot_rows)) => {
                        if !oracle_agrees(compiled, &owner_rows, &bot_rows) {
                            failures.push(format!(
                                "{file}: `{}` ORACLE: {} rows under RLS, {} without: the compiler let through rows RLS had to stop",
                                case.name,
                                bot_rows.len(),
                                owner_rows.len()
                            ));
                        }
                    }
                    // An accepted statement may still be refused by the
                    // database (a conflict, a bad value, a timeout). Which
                    // error can depend on timing (a runaway statement may
                    // hit the timeout or run out of memory first), so the
                    // snapshot records only that it was refused.
                    Err(_) => report.push_str("  (refused by the database when run)\n\n"),
                }
            }
        }
        insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("corpus-{file}"), report);
        });
    }
    assert_eq!(
        snapshot(&owner).await,
        before,
        "the corpus left the database unchanged"
    );
    eprintln!("corpus: {} accepted, {} refused", totals.0, totals.1);
    assert!(
        totals.0 >= 50 && totals.1 >= 50,
        "a corpus of real size was read: {totals:?}"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whether the owner's and the bot's rows agree. An INSERT's generated ids
/// differ between the two runs, and a SELECT cut at its row cap without an
/// ORDER BY may return different rows in each: then the counts must agree.
pub(crate) fn oracle_agrees(
    compiled: &Compiled,
    owner_rows: &[String],
    bot_rows: &[String],
) -> bool {
    let cap = compiled.rewrites.iter().find_map(|r| match r {
        meetassist_compiler::describe::Rewrite::CapLimit(n) => Some(*n as usize),
        _ => None,
    });
    let cut = cap.is_some_and(|cap| owner_rows.len() >= cap);
    if compiled.sql.starts_with("INSERT") || cut {
        owner_rows.len() == bot_rows.len()
    } else {
        owner_rows == bot_rows
    }
}

/// Runs `compiled` twice in one transaction (so `now()` is the same), as
/// the owner and then as the bot under row-level security, undoing the
/// first run before the second and the whole transaction at the end.
/// Returns the sorted rows of each, as JSON text.
pub(crate) async fn oracle(
    client: &mut Client,
    compiled: &Compiled,
    session: Session,
) -> Result<(Vec<String>, Vec<String>), String> {
    let describe = |e: tokio_postgres::Error| meetassist_runtime::pg::describe(&e);
    let transaction = client.transaction().await.map_err(describe)?;
    let customer = session
        .customer_id
        .map(|c| c.to_string())
        .unwrap_or_default();
    transaction
        .execute(
            "select set_config('meetassist.tenant_id', $1, true), set_config('meetassist.customer_id', $2, true),
                    set_config('statement_timeout', '5s', true), set_config('TimeZone', 'UTC', true)",
            &[&session.tenant_id.to_string(), &customer],
        )
        .await
        .map_err(describe)?;
    let params = TextParam::all(compiled);
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
        params.iter().map(|p| p as _).collect();
    let mut results = Vec::new();
    for as_bot in [false, true] {
        transaction
            .batch_execute("SAVEPOINT oracle")
            .await
            .map_err(describe)?;
        if as_bot {
            transaction
                .batch_execute("SET LOCAL ROLE meetassist_bot")
                .await
                .map_err(describe)?;
        }
        let mut rows: Vec<String> = match rows_query(compiled) {
            Some(sql) => transaction
                .query(&sql, &params)
                .await
                .map_err(describe)?
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect(),
            None => {
                transaction
                    .execute(&compiled.sql, &params)
                    .await
                    .map_err(describe)?;
                Vec::new()
            }
        };
        rows.sort();
        results.push(rows);
        transaction
            .batch_execute("ROLLBACK TO SAVEPOINT oracle; RESET ROLE")
            .await
            .map_err(describe)?;
    }
    transaction.rollback().await.map_err(describe)?;
    let bot_rows = results.pop().unwrap_or_default();
    let owner_rows = results.pop().unwrap_or_default();
    Ok((owner_rows, bot_rows))
}
