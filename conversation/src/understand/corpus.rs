//! The phrasing corpus (`fixtures/phrasings/*.toml`): realistic customer
//! messages with what they mean, read against tenant 1's demo directory.
//! Prints per-field accuracy (`--nocapture`) and every miss, and fails
//! below the floors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use super::{Awaiting, Context, DayPart, Directory, Named, TimeOfDay, understand};
use crate::language::{Intent, Language};

/// Floors, set a little under what the corpus reaches, so a regression fails.
const INTENT_FLOOR: f64 = 0.97;
const SLOTS_FLOOR: f64 = 0.97;
const LANGUAGE_FLOOR: f64 = 0.95;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    text: String,
    today: Option<String>,
    awaiting: Option<Awaiting>,
    intent: Option<Intent>,
    consultant: Option<String>,
    service: Option<String>,
    date: Option<String>,
    week: Option<String>,
    time: Option<String>,
    language: Option<Language>,
    email: Option<String>,
    code: Option<String>,
    name: Option<String>,
    answer: Option<bool>,
    choice: Option<usize>,
    any_consultant: Option<bool>,
    hours: Option<bool>,
    farewell: Option<bool>,
    same_time: Option<bool>,
    same_day: Option<bool>,
    topic: Option<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads tenant 1's active consultants or its services from a seed CSV:
/// id, tenant_id and the name are the first three columns, unquoted.
fn seed(file: &str, active_column: bool) -> Vec<Named> {
    let path = root().join("schema/seed").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| {
            let mut cells = line.splitn(4, ',');
            let id: i64 = cells.next()?.parse().ok()?;
            let tenant = cells.next()?;
            let name = cells.next()?.to_owned();
            let active = !active_column || line.trim_end().ends_with(",true");
            (tenant == "1" && active).then_some(Named { id, name })
        })
        .collect()
}

/// Tenant 1's demo directory.
pub(crate) fn demo_directory() -> Directory {
    Directory {
        consultants: seed("consultants.csv", true),
        services: seed("services.csv", false),
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("date {text:?}: {e}"))
}

fn time(text: &str) -> TimeOfDay {
    match text {
        "morning" => TimeOfDay::Part(DayPart::Morning),
        "afternoon" => TimeOfDay::Part(DayPart::Afternoon),
        "evening" => TimeOfDay::Part(DayPart::Evening),
        _ => TimeOfDay::At(
            NaiveTime::parse_from_str(text, "%H:%M")
                .unwrap_or_else(|e| panic!("time {text:?}: {e}")),
        ),
    }
}

fn show_time(t: &TimeOfDay) -> String {
    match t {
        TimeOfDay::At(at) => at.format("%H:%M").to_string(),
        TimeOfDay::Part(DayPart::Morning) => "morning".into(),
        TimeOfDay::Part(DayPart::Afternoon) => "afternoon".into(),
        TimeOfDay::Part(DayPart::Evening) => "evening".into(),
    }
}

/// Tally of one field: cases where either side had a value, and hits.
#[derive(Default)]
struct Tally {
    checked: usize,
    right: usize,
}

const SLOT_FIELDS: [&str; 16] = [
    "consultant",
    "service",
    "date",
    "week",
    "time",
    "email",
    "code",
    "name",
    "answer",
    "choice",
    "any_consultant",
    "hours",
    "farewell",
    "same_time",
    "same_day",
    "topic",
];

#[test]
fn phrasing_accuracy() {
    let directory = demo_directory();
    assert!(
        directory.consultants.len() >= 4,
        "tenant 1 consultants from the seed"
    );
    let name_of = |id: Option<i64>, rows: &[Named]| {
        id.map(|id| {
            rows.iter()
                .find(|r| r.id == id)
                .map_or(format!("#{id}"), |r| r.name.clone())
        })
    };
    let dir = root().join("fixtures/phrasings");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut misses: Vec<String> = Vec::new();
    // Per file: (intent right, cases, slots right, slots checked).
    let mut per_file: Vec<(String, [usize; 4])> = Vec::new();
    let mut total = 0;
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let parsed: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let short = file
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned());
        let mut counts = [0usize; 4];
        for (k, case) in parsed.case.iter().enumerate() {
            total += 1;
            counts[1] += 1;
            let context = Context {
                today: date(case.today.as_deref().unwrap_or("2026-11-25")),
                now_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
                directory: &directory,
                awaiting: case.awaiting,
                language: None,
            };
            let got = &understand(&case.text, &context);
            let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            let fields: [(&str, Option<String>, Option<String>); 18] = [
                (
                    "intent",
                    case.intent.map(|i| format!("{i:?}")),
                    got.intent.map(|i| format!("{i:?}")),
                ),
                (
                    "language",
                    case.language.map(|l| format!("{l:?}")),
                    got.language.map(|l| format!("{l:?}")),
                ),
                (
                    "consultant",
                    case.consultant.clone(),
                    name_of(got.consultant, &directory.consultants),
                ),
                (
                    "service",
                    case.service.clone(),
                    name_of(got.service, &directory.services),
                ),
                (
                    "date",
                    case.date.as_deref().map(|d| date(d).to_string()),
                    got.date.map(|d| d.to_string()),
                ),
                (
                    "week",
                    case.week.as_deref().map(|d| date(d).to_string()),
                    got.week.map(|d| d.to_string()),
                ),
                (
                    "time",
                    case.time.as_deref().map(|t| show_time(&time(t))),
                    got.time.as_ref().map(show_time),
                ),
                ("email", case.email.clone(), got.email.clone()),
                ("code", case.code.clone(), got.code.clone()),
                ("name", case.name.clone(), got.name.clone()),
                (
                    "answer",
                    case.answer.map(|a| a.to_string()),
                    got.answer.map(|a| a.to_string()),
                ),
                (
                    "choice",
                    case.choice.map(|c| c.to_string()),
                    got.choice.map(|c| c.to_string()),
                ),
                // Only `true` is a value: leaving it out means false.
                (
                    "any_consultant",
                    case.any_consultant.filter(|a| *a).map(|a| a.to_string()),
                    got.any_consultant.then(|| true.to_string()),
                ),
                (
                    "hours",
                    case.hours.filter(|h| *h).map(|h| h.to_string()),
                    got.hours.then(|| true.to_string()),
                ),
                (
                    "farewell",
                    case.farewell.filter(|f| *f).map(|f| f.to_string()),
                    got.farewell.then(|| true.to_string()),
                ),
                (
                    "same_time",
                    case.same_time.filter(|s| *s).map(|s| s.to_string()),
                    got.same_time.then(|| true.to_string()),
                ),
                (
                    "same_day",
                    case.same_day.filter(|s| *s).map(|s| s.to_string()),
                    got.same_day.then(|| true.to_string()),
                ),
                ("topic", case.topic.clone(), got.topic.clone()),
            ];
            for (field, expected, actual) in fields {
                let tally = tallies.entry(field).or_default();
                // Intent is scored on every case (None is an answer too);
                // other fields where either side has a value.
                if field != "intent" && expected.is_none() && actual.is_none() {
                    continue;
                }
                tally.checked += 1;
                let slot = SLOT_FIELDS.contains(&field);
                counts[3] += usize::from(slot);
                if expected == actual {
                    tally.right += 1;
                    counts[0] += usize::from(field == "intent");
                    counts[2] += usize::from(slot);
                } else {
                    misses.push(format!(
                        "{short}#{} {:?}: {field} expected {} got {}",
                        k + 1,
                        case.text,
                        show(expected),
                        show(actual)
                    ));
                }
            }
        }
        per_file.push((short, counts));
    }
    let ratio = |t: &Tally| {
        if t.checked == 0 {
            1.0
        } else {
            t.right as f64 / t.checked as f64
        }
    };
    let mut slots = Tally::default();
    println!(
        "phrasing corpus: {total} phrasings in {} files",
        files.len()
    );
    println!(
        "{:<12} {:>8} {:>8} {:>8}",
        "field", "right", "checked", "accuracy"
    );
    for (field, t) in &tallies {
        println!(
            "{field:<12} {:>8} {:>8} {:>7.1}%",
            t.right,
            t.checked,
            100.0 * ratio(t)
        );
        if SLOT_FIELDS.contains(field) {
            slots.checked += t.checked;
            slots.right += t.right;
        }
    }
    println!(
        "{:<12} {:>8} {:>8} {:>7.1}%",
        "slots (all)",
        slots.right,
        slots.checked,
        100.0 * ratio(&slots)
    );
    println!("{:<20} {:>14} {:>14}", "file", "intent", "slots");
    for (file, [ir, n, sr, sc]) in &per_file {
        println!("{file:<20} {:>8}/{n:<5} {:>8}/{sc:<5}", ir, sr);
    }
    for miss in &misses {
        println!("MISS {miss}");
    }
    assert!(
        total >= 300,
        "the corpus should hold at least 300 phrasings, has {total}"
    );
    let intent = tallies.get("intent").map_or(1.0, ratio);
    let language = tallies.get("language").map_or(1.0, ratio);
    assert!(
        intent >= INTENT_FLOOR && ratio(&slots) >= SLOTS_FLOOR && language >= LANGUAGE_FLOOR,
        "accuracy below the floor: intent {:.1}%, slots {:.1}%, language {:.1}%; misses:\n{}",
        100.0 * intent,
        100.0 * ratio(&slots),
        100.0 * language,
        misses.join("\n")
    );
}
