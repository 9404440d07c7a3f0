//! The conversation scripts' format (`fixtures/conversations/*.yaml`) and
//! what playing one needs besides the engine: the clock's steps and the
//! codes in the outbox. The test runner (`conversations`) checks every
//! field; the turn bench (`benches/turns.rs`) includes this file too and
//! only replays.

use std::path::{Path, PathBuf};

use chrono::Duration;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// What the conversation shows.
    pub name: String,
    /// The clock at the first step (RFC 3339).
    pub now: String,
    /// The tenant (the demo data's ids).
    pub tenant: i64,
    /// The default sender.
    pub sender: String,
    /// SQL run as the owner before the first step.
    #[serde(default)]
    pub setup: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Typed text.
    pub say: Option<String>,
    /// A chip of the last reply to this sender: its number (1-based) or
    /// its payload.
    pub tap: Option<Tap>,
    /// Type the last emailed code (`right`) or a wrong one (`wrong`).
    pub code: Option<String>,
    /// Move the clock forward first: `30s`, `5m`, `2h`, `31d`.
    pub advance: Option<String>,
    /// Act as another sender.
    pub sender: Option<String>,
    #[serde(default)]
    pub expect: Expect,
    /// Mail sent so far, in total.
    pub emails: Option<usize>,
    /// Database checks after the step, as the owner.
    #[serde(default)]
    pub rows: Vec<RowCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Tap {
    Number(usize),
    Payload(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub intent: Option<String>,
    /// `null` for "asked nothing"; absent for "don't check".
    #[serde(default, deserialize_with = "present")]
    pub awaiting: Option<Option<String>>,
    pub language: Option<String>,
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// At least this many chips on the last message.
    pub chips_at_least: Option<usize>,
    /// Chip titles that must be there.
    #[serde(default)]
    pub chips: Vec<String>,
    /// How many messages the reply holds (0: the bot stays silent).
    pub messages: Option<usize>,
}

pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowCheck {
    /// A query giving one bigint.
    pub sql: String,
    pub equals: i64,
}

/// The conversation scripts (the top folder only: `pending/` is not played).
pub fn scripts() -> Vec<PathBuf> {
    fixture_files("conversations", "yaml")
}

/// The `*.<extension>` files of `fixtures/<folder>` (not its subfolders),
/// by name.
pub fn fixture_files(folder: &str, extension: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

pub fn parse_advance(text: &str) -> Duration {
    let (number, unit) = text.split_at(text.len() - 1);
    let n: i64 = number
        .parse()
        .unwrap_or_else(|_| panic!("bad advance `{text}`"));
    match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => panic!("bad advance unit in `{text}`"),
    }
}

/// The 6-digit code in the newest mail of the outbox.
pub fn last_code(outbox: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let text = std::fs::read_to_string(files.last().expect("no mail was sent")).unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map_or(text.as_str(), |(_, body)| body);
    body.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("no 6-digit code in the mail")
        .to_string()
}

pub fn count_mail(outbox: &Path) -> usize {
    std::fs::read_dir(outbox).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
        .count()
    })
}
