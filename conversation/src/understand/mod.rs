//! A customer message → what it asks and which slots it fills: the offline
//! model's reading, in Vietnamese (with or without diacritics) and English.
//!
//! [`understand`] is a pure function of the message and a [`Context`] (today's
//! date, the tenant's consultants and services, what the bot asked last). It
//! never fails: what it cannot read it leaves `None`, and the turn engine
//! asks again.
//!
//! Words of a message are claimed once, in an order that settles the words
//! that are both a name and a date word without diacritics: weekday phrases
//! first ("thu 2 tuan sau"), then names in a naming context ("gap anh tuan",
//! "chị Mai Anh"), then the other dates and times ("tuan sau", "mai"), then
//! bare names that could be common words ("tuan" when the bot asked which
//! consultant).
//!
//! Files: `text` (folding and words), `when` (dates and times), `names`
//! (consultants and services), `intent`, `replies` (yes/no, choices, email,
//! codes, the customer's name), `topic` (what a meeting is about), `detect`
//! (language).

mod detect;
mod intent;
mod names;
mod replies;
pub(crate) mod text;
mod topic;
mod when;

pub use topic::MAX_TOPIC_CHARS;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::language::{Intent, Language};

/// The most of a message that is read; the rest of a very long one is ignored.
const MAX_CHARS: usize = 2_000;

/// The tenant's consultants and services, as the database has them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Active consultants: id and full name ("Nguyễn Văn An").
    pub consultants: Vec<Named>,
    /// Services: id and name ("Tư vấn thuế cá nhân").
    pub services: Vec<Named>,
}

/// A row with an id and a display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// The row's id in its table.
    pub id: i64,
    /// The name as written in the database, with diacritics.
    pub name: String,
}

/// What the reading of one message may depend on besides its text.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Today in the tenant's time zone; relative dates resolve against it.
    pub today: NaiveDate,
    /// Now in the tenant's time zone ("chiều nay" after 18:00 is still today).
    pub now_time: NaiveTime,
    /// The tenant's consultants and services.
    pub directory: &'a Directory,
    /// What the bot asked for in its last turn, if anything.
    pub awaiting: Option<Awaiting>,
    /// The language of the conversation so far, if known.
    pub language: Option<Language>,
}

/// What the bot asked for in its last turn; it decides how a bare "2" or
/// "Tuan" is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Awaiting {
    /// Which consultant.
    Consultant,
    /// Which service.
    Service,
    /// Which day.
    Date,
    /// What time.
    Time,
    /// Which of the offered slots.
    Slot,
    /// The customer's email address.
    Email,
    /// The one-time code sent by email.
    Otp,
    /// The customer's name.
    Name,
    /// Yes or no to a summary.
    Confirm,
    /// Which of the customer's appointments.
    Appointment,
    /// What the customer wants to do or talk about: the menu of a
    /// greeting, of help, or of a message the bot could not place.
    Topic,
}

/// A part of the day, when no clock time is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayPart {
    /// "sáng", "morning": before noon.
    Morning,
    /// "chiều", "afternoon": noon to about 18:00.
    Afternoon,
    /// "tối", "evening".
    Evening,
}

/// A time the customer named: a clock time or a part of the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeOfDay {
    /// A clock time in the tenant's time zone ("9h30", "3pm" → 15:00).
    At(NaiveTime),
    /// A part of the day ("buổi chiều").
    Part(DayPart),
}

/// What one message says: its intent and the slots it fills.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Understanding {
    /// The message's language; `None` when it says nothing about it ("9h30").
    pub language: Option<Language>,
    /// What the customer wants; `None` when the message only fills slots.
    pub intent: Option<Intent>,
    /// A consultant of the directory, by id.
    pub consultant: Option<i64>,
    /// A service of the directory, by id.
    pub service: Option<i64>,
    /// A day, resolved against today.
    pub date: Option<NaiveDate>,
    /// Where a period named without a day starts, for the engine to search
    /// from: the Monday of a week ("tuần sau", "next week"), or the first
    /// day of a month or of its third ("tháng sau", "cuối tháng sau": the
    /// 21st). The engine reads it as the start of its search, so a month
    /// fits the field though its name says week.
    pub week: Option<NaiveDate>,
    /// A clock time or part of the day.
    pub time: Option<TimeOfDay>,
    /// An email address, as typed.
    pub email: Option<String>,
    /// A one-time code: exactly six digits.
    pub code: Option<String>,
    /// The customer's name, read only when the bot asked for it.
    pub name: Option<String>,
    /// Yes (`true`) or no (`false`) to the bot's question.
    pub answer: Option<bool>,
    /// A 1-based choice among the options the bot offered.
    pub choice: Option<usize>,
    /// The customer leaves the consultant open ("ai cũng được", "anyone
    /// free at 9?", "any consultant"): the engine searches the whole team
    /// instead of asking which consultant.
    #[serde(default)]
    pub any_consultant: bool,
    /// The customer asks when a consultant works ("chị Ngọc t5 làm tới
    /// mấy giờ", "what are An's hours on Friday?"), not for a free slot.
    #[serde(default)]
    pub hours: bool,
    /// Thanks or goodbye, and nothing else to act on.
    #[serde(default)]
    pub farewell: bool,
    /// "the same time" as the booking being confirmed or the appointment
    /// being moved: its clock time, on the day named (or a week later for
    /// "next week"). Only without a clock time of its own.
    #[serde(default)]
    pub same_time: bool,
    /// "cùng ngày", "hôm đó", "that day": the day the conversation was last
    /// about. Only without a day of its own.
    #[serde(default)]
    pub same_day: bool,
    /// What the meeting is about, in the customer's words ("về chuyện đổi
    /// việc", "about my lease"), at most [`MAX_TOPIC_CHARS`] characters.
    #[serde(default)]
    pub topic: Option<String>,
}

impl Understanding {
    /// Whether the message names a day, a period or a time of day.
    pub fn names_when(&self) -> bool {
        self.date.is_some() || self.week.is_some() || self.time.is_some()
    }
}

/// Reads one customer message.
pub fn understand(message: &str, context: &Context) -> Understanding {
    let clipped: String = message.chars().take(MAX_CHARS).collect();
    let words = text::words(&clipped);
    if words.is_empty() {
        // A thumbs-up or OK hand answers yes; other emoji say nothing.
        let yes = clipped.chars().any(|c| matches!(c, '👍' | '👌' | '🆗'));
        return Understanding {
            answer: yes.then_some(true),
            ..Understanding::default()
        };
    }
    let mut scan = Scan {
        words: &words,
        used: vec![false; words.len()],
        person: vec![false; words.len()],
    };
    let mut out = Understanding {
        email: replies::email(&mut scan),
        code: replies::code(&mut scan, context.awaiting),
        ..Understanding::default()
    };
    // Asked for a name, "Mai" is a name, not tomorrow.
    out.name = replies::name(&mut scan, context.awaiting);
    // "I am Lê Thị Thu Hà": a customer's own name, neither dates nor
    // consultants, and no sign of the language.
    names::people(&mut scan, context.directory);
    let any_consultant = names::anyone(&mut scan, context.awaiting);
    when::rule_out_negated(&mut scan, context);
    when::rule_out_before(&mut scan, context);
    let weekday = when::weekday(&mut scan, context.today);
    let strong = names::consultant(&mut scan, context, names::Pass::Strong);
    let dates = when::dates(&mut scan, context);
    let time = when::time(&mut scan, context.awaiting);
    let consultant = strong.or_else(|| names::consultant(&mut scan, context, names::Pass::Weak));
    out.consultant = consultant;
    out.service = names::service(&scan, context.directory);
    out.date = if weekday.target {
        weekday.date.or(dates.date)
    } else {
        dates.date.or(weekday.date)
    };
    out.week = if out.date.is_some() {
        None
    } else {
        weekday.from.or(dates.from)
    };
    out.time = time;
    out.choice = replies::choice(&mut scan, context.awaiting);
    // "ok, but make it 10h instead", "không, 4h chiều cơ": a yes or a no
    // that brings a new day, time, consultant or service changes what was
    // asked; it neither accepts nor drops it.
    let changes = out.consultant.is_some() || out.service.is_some() || out.names_when();
    out.answer = replies::answer(&scan, context.awaiting).filter(|_| !changes);
    out.intent = intent::intent(&scan, context.awaiting, &out, any_consultant);
    // "'; drop table appointments; --" names no wish: "appointments" there
    // is a table, not a booking. SQL around a real request keeps it.
    if text::looks_like_sql(scan.words)
        && out.consultant.is_none()
        && out.service.is_none()
        && !out.names_when()
    {
        out.intent = Some(Intent::Other);
    }
    out.hours = replies::asks_hours(&scan);
    if out.hours {
        // A question about a consultant, whatever the flow was.
        out.intent = Some(Intent::ConsultantInfo);
    }
    if replies::defers(&scan) {
        // "để tuần sau chị tính lại": next week is when she decides.
        out.answer = Some(false);
        out.intent = None;
        out.date = None;
        out.week = None;
        out.time = None;
        out.choice = None;
    }
    out.farewell = intent::farewell(&scan, out.intent);
    out.same_time = out.time.is_none() && replies::same_time(&scan);
    out.same_day = out.date.is_none() && out.week.is_none() && replies::same_day(&scan);
    // A topic belongs to a booking; "Ai tư vấn về thuế?" asks who.
    if matches!(out.intent, Some(Intent::Book | Intent::Other) | None) && out.answer != Some(false)
    {
        out.topic = topic::topic(&scan);
    }
    out.language = detect::language(&scan, context.directory);
    out.any_consultant = any_consultant;
    out
}

/// The words of a message and which of them a reader has claimed.
pub(crate) struct Scan<'w> {
    /// The message's words.
    words: &'w [text::Word],
    /// Whether each word was claimed (by a date, a name, an email…).
    used: Vec<bool>,
    /// Whether each word is part of a person's name (says nothing of language).
    person: Vec<bool>,
}

impl Scan<'_> {
    /// The word at `i`, if there is one and nobody claimed it.
    fn free(&self, i: usize) -> Option<&text::Word> {
        match self.used.get(i) {
            Some(false) => self.words.get(i),
            _ => None,
        }
    }

    /// Whether words `at..at + len` exist and are all unclaimed.
    fn all_free(&self, at: usize, len: usize) -> bool {
        at + len <= self.words.len() && self.used[at..at + len].iter().all(|u| !u)
    }

    /// Claims words `at..at + len` as a person's name.
    fn take_person(&mut self, at: usize, len: usize) {
        self.take(at, len);
        let end = (at + len).min(self.person.len());
        for p in &mut self.person[at.min(end)..end] {
            *p = true;
        }
    }

    /// Claims words `at..at + len`.
    fn take(&mut self, at: usize, len: usize) {
        let end = (at + len).min(self.used.len());
        for u in &mut self.used[at.min(end)..end] {
            *u = true;
        }
    }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
