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
//! and prints p50 and p99 over the queries, and the compile/parse ratio.
//! One thread, so one core.
//!
//! `MEETASSIST_BENCH_SLOWEST=n` also lists the n queries with the slowest
//! compile (corpus file, parse and compile medians, ratio, the SQL's start):
//! what makes the p99. For each it also times a bare parse of the compiled
//! SQL (`reparse`): the compiler parses the input and, failing closed,
//! parses its own output again, so `parse + reparse` is a floor no
//! compiler change short of dropping that check goes below. The listing
//! only prints; what the percentiles time is the same with or without it.

// A bench panics on what cannot happen with the corpus it was built for.
#![allow(clippy::unwrap_used)]

/// The allocator the `meetassist` binary uses, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::{Duration, Instant};

use meetassist_compiler::describe::Session;
use meetassist_runtime::guard::Audit;
use serde::Deserialize;

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

fn main() {
    let guard = meetassist_runtime::testing::guard();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/sql");
    let mut cases = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let file: CorpusFile = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
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
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let mut all = Series::default();
    let mut realistic = Series::default();
    let mut timed: Vec<(Duration, Duration, &Case, String)> = Vec::new();
    for case in &cases {
        let session = Session {
            tenant_id: case.tenant,
            customer_id: case.customer,
        };
        let (result, _) = guard.compile(&case.sql, session);
        if result.is_err() {
            continue;
        }
        let analysis = meetassist_compiler::analyze(&case.sql, session).unwrap();
        let decisions = guard.decide(&analysis, &mut Audit::default()).unwrap();
        let compiled = analysis.finish(&decisions).unwrap().sql;
        let parse_time = time(200, || {
            std::hint::black_box(
                sqlparser::parser::Parser::parse_sql(&dialect, &case.sql).unwrap(),
            );
        });
        let compile_time = time(200, || {
            let analysis = meetassist_compiler::analyze(&case.sql, session).unwrap();
            std::hint::black_box(analysis.finish(&decisions).unwrap());
        });
        let full_time = time(50, || {
            std::hint::black_box(guard.compile(&case.sql, session).0.unwrap());
        });
        for series in [Some(&mut all), case.realistic.then_some(&mut realistic)]
            .into_iter()
            .flatten()
        {
            series.add(parse_time, compile_time, full_time);
        }
        timed.push((parse_time, compile_time, case, compiled));
    }
    all.print("all accepted corpus queries");
    realistic.print("questions and bookings only");
    let slowest: usize = std::env::var("MEETASSIST_BENCH_SLOWEST")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if slowest > 0 {
        timed.sort_by_key(|(_, compile, ..)| std::cmp::Reverse(*compile));
        println!("\nslowest compiles:");
        println!(
            "{:<18} {:>9} {:>9} {:>9} {:>7}  sql",
            "file", "parse", "reparse", "compile", "ratio"
        );
        for (parse, compile, case, compiled) in timed.iter().take(slowest) {
            let reparse = time(200, || {
                std::hint::black_box(
                    sqlparser::parser::Parser::parse_sql(&dialect, compiled).unwrap(),
                );
            });
            let sql: String = case.sql.split_whitespace().collect::<Vec<_>>().join(" ");
            let sql: String = sql.chars().take(80).collect();
            println!(
                "{:<18} {:>7.1}µs {:>7.1}µs {:>7.1}µs {:>6.2}×  {sql} ({} → {} bytes)",
                case.file,
                parse.as_secs_f64() * 1e6,
                reparse.as_secs_f64() * 1e6,
                compile.as_secs_f64() * 1e6,
                compile.as_secs_f64() / parse.as_secs_f64(),
                case.sql.len(),
                compiled.len()
            );
        }
    }
}

#[derive(Default)]
struct Series {
    parse: Vec<f64>,
    compile: Vec<f64>,
    full: Vec<f64>,
    ratio: Vec<f64>,
}

impl Series {
    fn add(&mut self, parse: Duration, compile: Duration, full: Duration) {
        self.parse.push(parse.as_secs_f64() * 1e6);
        self.compile.push(compile.as_secs_f64() * 1e6);
        self.full.push(full.as_secs_f64() * 1e6);
        self.ratio.push(compile.as_secs_f64() / parse.as_secs_f64());
    }

    fn print(mut self, title: &str) {
        for series in [
            &mut self.parse,
            &mut self.compile,
            &mut self.full,
            &mut self.ratio,
        ] {
            series.sort_by(f64::total_cmp);
        }
        let Series {
            parse,
            compile,
            full,
            ratio,
        } = self;
        println!("\n{title}: {}", parse.len());
        println!("{:<34} {:>10} {:>10}", "", "p50", "p99");
        println!(
            "{:<34} {:>8.1}µs {:>8.1}µs",
            "sqlparser parse",
            percentile(&parse, 0.5),
            percentile(&parse, 0.99)
        );
        println!(
            "{:<34} {:>8.1}µs {:>8.1}µs",
            "compiler (analyze + finish)",
            percentile(&compile, 0.5),
            percentile(&compile, 0.99)
        );
        println!(
            "{:<34} {:>8.1}µs {:>8.1}µs",
            "guard (compiler + 7 Wasm policies)",
            percentile(&full, 0.5),
            percentile(&full, 0.99)
        );
        println!(
            "{:<34} {:>9.2}× {:>9.2}×",
            "compiler / parse, per query",
            percentile(&ratio, 0.5),
            percentile(&ratio, 0.99)
        );
    }
}
