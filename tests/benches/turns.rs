//! How long a conversation turn takes, on the conversation scripts
//! (`fixtures/conversations/*.yaml`, the top folder only, as the test
//! runner reads them).
//!
//! Every script is replayed against a freshly seeded database with the
//! offline model, the policy bundle in wasmtime and a mail outbox, exactly
//! as `tests/it/conversations.rs` plays it but without its checks; each
//! `ChatEngine::turn` call is timed (seeding and setup are not). It prints:
//! - per turn: median and p99 (ms);
//! - the model: the offline model's reading of every typed message
//!   (`meetassist_conversation::understand::understand`, what
//!   `Model::understand` runs), timed alone with the context the turn had
//!   (today, the directory, what the bot asked last, the language), as
//!   median and p99 (µs) over the typed messages;
//! - per turn excluding model time: each turn minus its message's model
//!   estimate (taps and buttons have no model call), median and p99 (ms);
//! - where the offline model's intent and slot accuracy on the phrasing
//!   corpus is printed (that corpus runs only as a unit test).
//!
//! `MEETASSIST_BENCH_ROUNDS=n` replays the corpus n times (default 3) so
//! the p99 has more than a handful of turns under it.

// A bench panics on what cannot happen with the corpus it was built for.
#![allow(clippy::unwrap_used)]

/// The allocator the `meetassist` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use meetassist_conversation::language::Language;
use meetassist_conversation::understand::{self, Awaiting, Context, Directory, Named};
use meetassist_runtime::chat::model::{Model, ModelKind};
use meetassist_runtime::chat::{Input, Reply};
use meetassist_runtime::guard::Guard;
use meetassist_runtime::testing::TestDatabase;

// The scripts' format and helpers, shared with the test runner; the bench
// replays without checking, so the expectations go unread here.
#[path = "../it/script.rs"]
#[allow(dead_code)]
mod script;

use script::{Script, Tap, last_code, parse_advance, scripts};

struct Timed {
    turn: Duration,
    /// The typed text and its context, when the input was text.
    typed: Option<Typed>,
}

struct Typed {
    text: String,
    /// Today and the time of day in the tenant's zone.
    local: chrono::NaiveDateTime,
    directory: Arc<Directory>,
    awaiting: Option<Awaiting>,
    language: Option<Language>,
}

async fn directory(owner: &tokio_postgres::Client, tenant: i64) -> Directory {
    let named = |rows: Vec<tokio_postgres::Row>| {
        rows.iter()
            .map(|row| Named {
                id: row.get(0),
                name: row.get(1),
            })
            .collect()
    };
    let consultants = owner
        .query(
            "select id, full_name from consultants where tenant_id = $1 and is_active order by full_name",
            &[&tenant],
        )
        .await
        .unwrap();
    let services = owner
        .query(
            "select id, name from services where tenant_id = $1 order by id",
            &[&tenant],
        )
        .await
        .unwrap();
    Directory {
        consultants: named(consultants),
        services: named(services),
    }
}

/// Plays one script, timing every turn.
async fn replay(path: &Path, guard: Arc<Guard>, timed: &mut Vec<Timed>) {
    let script: Script = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    for sql in &script.setup {
        owner.batch_execute(sql).await.unwrap();
    }
    let tenant = meetassist_runtime::testing::tenant(&database, script.tenant).await;
    let directory = Arc::new(directory(&owner, script.tenant).await);
    let outbox = tempfile::tempdir().unwrap();
    let engine = meetassist_runtime::testing::chat_engine(
        &database,
        &tenant,
        guard,
        Model::new(ModelKind::Offline).await.unwrap(),
        outbox.path(),
    )
    .await;
    let mut now: DateTime<Utc> = DateTime::parse_from_rfc3339(&script.now)
        .unwrap()
        .with_timezone(&Utc);
    let mut last: std::collections::HashMap<String, Reply> = Default::default();
    for step in &script.steps {
        if let Some(advance) = &step.advance {
            now += parse_advance(advance);
        }
        let sender = step.sender.clone().unwrap_or_else(|| script.sender.clone());
        let previous = last.get(&sender);
        let input = match (&step.say, &step.tap, &step.code) {
            (Some(text), _, _) => Input::Text(text.clone()),
            (_, Some(Tap::Payload(payload)), _) => Input::QuickReply(payload.clone()),
            (_, Some(Tap::Number(n)), _) => {
                let chips = previous
                    .and_then(|r| r.messages.last())
                    .map(|m| m.quick_replies.clone())
                    .unwrap_or_default();
                match chips.get(n.wrapping_sub(1)) {
                    Some(chip) => Input::QuickReply(chip.payload.clone()),
                    // A script that fails in the runner may tap a chip that
                    // is not there; its remaining steps still make turns.
                    None => Input::QuickReply(format!("MISSING:{n}")),
                }
            }
            (_, _, Some(which)) => {
                let code = last_code(outbox.path());
                Input::Text(if which == "right" {
                    code
                } else {
                    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
                })
            }
            _ => panic!("{}: a step has none of say, tap, code", path.display()),
        };
        let typed = match &input {
            Input::Text(text) => Some(Typed {
                text: text.clone(),
                local: now.with_timezone(&tenant.time_zone).naive_local(),
                directory: Arc::clone(&directory),
                awaiting: previous.and_then(|r| r.awaiting),
                language: previous.map(|r| r.language),
            }),
            _ => None,
        };
        let started = Instant::now();
        let reply = engine.turn(&tenant, &sender, input, now).await.unwrap();
        timed.push(Timed {
            turn: started.elapsed(),
            typed,
        });
        last.insert(sender, reply);
    }
}

/// Median time of one `understand` call on `typed`, over many runs.
fn model_cost(typed: &Typed) -> Duration {
    let context = Context {
        today: typed.local.date(),
        now_time: typed.local.time(),
        directory: &typed.directory,
        awaiting: typed.awaiting,
        language: typed.language,
    };
    let runs = 200;
    for _ in 0..runs / 10 {
        std::hint::black_box(understand::understand(&typed.text, &context));
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(understand::understand(
                std::hint::black_box(&typed.text),
                &context,
            ));
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn summary(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    (percentile(&values, 0.5), percentile(&values, 0.99))
}

fn main() {
    let rounds: usize = std::env::var("MEETASSIST_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let guard = Arc::new(meetassist_runtime::testing::guard());
    let files = scripts();
    let mut timed = Vec::new();
    runtime.block_on(async {
        // A warm-up play: the cluster starts, the pool and the policy
        // instances are made.
        let mut warm_up = Vec::new();
        replay(&files[0], Arc::clone(&guard), &mut warm_up).await;
        for _ in 0..rounds {
            for file in &files {
                replay(file, Arc::clone(&guard), &mut timed).await;
            }
        }
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let model: Vec<Option<Duration>> = timed
        .iter()
        .map(|t| t.typed.as_ref().map(model_cost))
        .collect();
    let (turn_p50, turn_p99) = summary(timed.iter().map(|t| ms(t.turn)).collect());
    let (model_p50, model_p99) = summary(model.iter().flatten().map(|d| ms(*d) * 1e3).collect());
    let (rest_p50, rest_p99) = summary(
        timed
            .iter()
            .zip(&model)
            .map(|(t, m)| ms(t.turn.saturating_sub(m.unwrap_or_default())))
            .collect(),
    );
    println!(
        "conversation corpus: {} scripts x {rounds} rounds, {} turns ({} typed)",
        files.len(),
        timed.len(),
        model.iter().flatten().count()
    );
    println!("per turn:                        median {turn_p50:8.2} ms   p99 {turn_p99:8.2} ms");
    println!(
        "model (offline understand):      median {model_p50:8.1} µs   p99 {model_p99:8.1} µs   (per typed message)"
    );
    println!("per turn excluding model time:   median {rest_p50:8.2} ms   p99 {rest_p99:8.2} ms");
    println!(
        "offline model accuracy on the phrasing corpus: see `cargo test -p meetassist-conversation phrasing_accuracy -- --nocapture`"
    );
}
