//! How long the guard takes, on the accepted queries of the SQL corpus
//! (`fixtures/sql/`), against a bare sqlparser parse of the same text.
//!
//! For every accepted query it takes the median of many runs of:
//! - `parse`: `sqlparser` alone (PostgreSQL dialect);
//! - `compile`: the compiler alone — analyze, then finish with the policy
//!   decisions (recorded once from the real modules);
//! - `guard`: everything — analyze, the seven Wasm policy modules in
//!   wasmtime (a fresh instance each), finish.
//!
//! - `floor`: a bare parse of the input plus one of the compiled SQL. The
//!   compiler parses the input and, failing closed, parses its own output
//!   again, so no change to the compiler short of dropping that check
//!   goes below this;
//!
//! and prints p50 and p99 over the queries, and the compile/parse ratio.
//! One thread, so one core.
//!
//! `MEETASSIST_BENCH_SLOWEST=n` also lists the n queries with the slowest
//! compile (corpus file, medians, ratio, the SQL's start): what makes the
//! p99, with the time sqlparser's tokenizer alone takes on the input.
//!
//! `MEETASSIST_BENCH_PROFILE=s` instead times each query only roughly, then
//! spends s seconds compiling the 10 slowest questions and bookings, for a
//! profiler (`perf record`) to look at.

// A bench panics on what cannot happen with the corpus it was built for.
#![allow(clippy::unwrap_used)]

/// The allocator the `meetassist` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use meetassist_compiler::describe::Session;
use meetassist_runtime::guard::Audit;
use serde::Deserialize;

// The fixtures' file listing, shared with the tests.
#[path = "../it/script.rs"]
#[allow(dead_code)]
mod script;

#[derive(Deserialize)]
struct CorpusFile {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    sql: String,
    tenant: i64,
    customer: Option<i64>,
    #[serde(skip)]
    realistic: bool,
    #[serde(skip)]
    file: String,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// Median time of `f` over `runs` runs, after a warm-up.
fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..runs / 10 + 1 {
        f();
    }
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect(),
    )
}

/// One accepted corpus query, its policy decisions and its medians.
struct Timed<'a> {
    case: &'a Case,
    session: Session,
    decisions: Vec<meetassist_compiler::PolicyDecision>,
    compiled: String,
    parse: Duration,
    compile: Duration,
    full: Duration,
    floor: Duration,
}

fn main() {
    let guard = meetassist_runtime::testing::guard();
    let cases = corpus();
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let parse = |sql: &str| {
        std::hint::black_box(sqlparser::parser::Parser::parse_sql(&dialect, sql).unwrap());
    };
    let profile = std::env::var("MEETASSIST_BENCH_PROFILE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok());
    // Profiling needs only a rough order of the queries.
    let (many, few) = if profile.is_some() { (3, 3) } else { (200, 50) };

    let mut timed = Vec::new();
    for case in &cases {
        let session = Session {
            tenant_id: case.tenant,
            customer_id: case.customer,
        };
        if guard.compile(&case.sql, session).0.is_err() {
            continue;
        }
        let analysis = meetassist_compiler::analyze(&case.sql, session).unwrap();
        let decisions = guard.decide(&analysis, &mut Audit::default()).unwrap();
        let compiled = analysis.finish(&decisions).unwrap().sql;
        let parse_time = time(many, || parse(&case.sql));
        let floor = parse_time + time(many, || parse(&compiled));
        let compile = time(many, || {
            let analysis = meetassist_compiler::analyze(&case.sql, session).unwrap();
            std::hint::black_box(analysis.finish(&decisions).unwrap());
        });
        let full = time(few, || {
            std::hint::black_box(guard.compile(&case.sql, session).0.unwrap());
        });
        timed.push(Timed {
            case,
            session,
            decisions,
            compiled,
            parse: parse_time,
            compile,
            full,
            floor,
        });
    }
    timed.sort_by_key(|t| std::cmp::Reverse(t.compile));

    if let Some(seconds) = profile {
        let slowest: Vec<&Timed> = timed.iter().filter(|t| t.case.realistic).take(10).collect();
        let until = Instant::now() + Duration::from_secs_f64(seconds);
        while Instant::now() < until {
            for t in &slowest {
                let analysis = meetassist_compiler::analyze(&t.case.sql, t.session).unwrap();
                std::hint::black_box(analysis.finish(&t.decisions).unwrap());
            }
        }
        return;
    }

    Series::of(timed.iter()).print("all accepted corpus queries");
    Series::of(timed.iter().filter(|t| t.case.realistic)).print("questions and bookings only");
    let slowest: usize = std::env::var("MEETASSIST_BENCH_SLOWEST")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if slowest > 0 {
        println!("\nslowest compiles:");
        println!(
            "{:<18} {:>9} {:>9} {:>9} {:>9} {:>7}  sql",
            "file", "tokenize", "parse", "floor", "compile", "ratio"
        );
        for t in timed.iter().take(slowest) {
            let tokenize = time(many, || {
                std::hint::black_box(
                    sqlparser::tokenizer::Tokenizer::new(&dialect, &t.case.sql)
                        .tokenize_with_location()
                        .unwrap(),
                );
            });
            let sql: String = t.case.sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let sql: String = sql.chars().take(80).collect();
            let micros = |d: Duration| d.as_secs_f64() * 1e6;
            println!(
                "{:<18} {:>7.1}µs {:>7.1}µs {:>7.1}µs {:>7.1}µs {:>6.2}×  {sql} ({} → {} bytes)",
                t.case.file,
                micros(tokenize),
                micros(t.parse),
                micros(t.floor),
                micros(t.compile),
                t.compile.as_secs_f64() / t.parse.as_secs_f64(),
                t.case.sql.len(),
                t.compiled.len()
            );
        }
    }
}

/// Every case of `fixtures/sql/`, in file order.
fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    for path in script::fixture_files("sql", "toml") {
        let file: CorpusFile = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // What models write for real questions and bookings, apart from
        // the attack files' pathological shapes (2,000-item IN lists …).
        let stem = path.file_stem().unwrap().to_string_lossy();
        let realistic = stem.starts_with("questions") || stem == "bookings";
        cases.extend(file.case.into_iter().map(|case| Case {
            realistic,
            file: stem.to_string(),
            ..case
        }));
    }
    cases
}

/// The per-query figures of a set of queries, in microseconds, each
/// sorted on its own for its percentiles.
struct Series {
    count: usize,
    rows: [(&'static str, Vec<f64>); 5],
}

impl Series {
    fn of<'a>(timed: impl Iterator<Item = &'a Timed<'a>>) -> Series {
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        let mut rows = [
            ("sqlparser parse", Vec::new()),
            ("floor (parse + reparse of output)", Vec::new()),
            ("compiler (analyze + finish)", Vec::new()),
            ("guard (compiler + 7 Wasm policies)", Vec::new()),
            ("compiler / parse, per query (×)", Vec::new()),
        ];
        let mut count = 0;
        for t in timed {
            count += 1;
            let figures = [
                micros(t.parse),
                micros(t.floor),
                micros(t.compile),
                micros(t.full),
                t.compile.as_secs_f64() / t.parse.as_secs_f64(),
            ];
            for ((_, row), figure) in rows.iter_mut().zip(figures) {
                row.push(figure);
            }
        }
        for (_, row) in &mut rows {
            row.sort_by(f64::total_cmp);
        }
        Series { count, rows }
    }

    fn print(&self, title: &str) {
        println!("\n{title}: {}", self.count);
        println!("{:<36} {:>10} {:>10}", "", "p50", "p99");
        for (name, row) in &self.rows {
            println!(
                "{name:<36} {:>10.2} {:>10.2}",
                percentile(row, 0.5),
                percentile(row, 0.99)
            );
        }
    }
}
