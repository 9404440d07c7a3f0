//! The flows: what the bot asks next, and what it does once it knows
//! enough. Every write waits for an explicit "yes"; every personal read or
//! write waits for the emailed code.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use meetassist_conversation::availability::Unbookable;
use meetassist_conversation::directory::{Profile, consultants_for};
use meetassist_conversation::language::{Intent, Language};
use meetassist_conversation::tasks::SqlTask;
use meetassist_conversation::understand::{Awaiting, TimeOfDay, Understanding};
use serde_json::Value;

use super::engine::{ChatError, Turn, local_date, reply};
use super::session::{ChatState, Flow, Offer};
use super::slots;
use super::{Input, Reply};
use crate::identity::{self, OtpRefusal};

/// A tap on a chip or button, decoded from its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pick {
    Intent(Intent),
    Consultant(i64),
    Service(i64),
    Date(NaiveDate),
    Slot(i64, DateTime<Utc>),
    Appointment(i64),
    Yes,
    No,
    Resend,
}

impl Pick {
    fn payload(&self) -> String {
        match self {
            Pick::Intent(intent) => format!("INTENT:{}", intent_name(*intent)),
            Pick::Consultant(id) => format!("CONSULTANT:{id}"),
            Pick::Service(id) => format!("SERVICE:{id}"),
            Pick::Date(date) => format!("DATE:{date}"),
            Pick::Slot(consultant, at) => format!("SLOT:{consultant}:{}", at.to_rfc3339()),
            Pick::Appointment(id) => format!("APPOINTMENT:{id}"),
            Pick::Yes => "YES".into(),
            Pick::No => "NO".into(),
            Pick::Resend => "RESEND".into(),
        }
    }

    fn parse(payload: &str) -> Option<Pick> {
        let (kind, rest) = payload.split_once(':').unwrap_or((payload, ""));
        Some(match kind {
            "INTENT" => Pick::Intent(intent_by_name(rest)?),
            "CONSULTANT" => Pick::Consultant(rest.parse().ok()?),
            "SERVICE" => Pick::Service(rest.parse().ok()?),
            "DATE" => Pick::Date(rest.parse().ok()?),
            "SLOT" => {
                let (consultant, at) = rest.split_once(':')?;
                let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
                Pick::Slot(consultant.parse().ok()?, at)
            }
            "APPOINTMENT" => Pick::Appointment(rest.parse().ok()?),
            "YES" => Pick::Yes,
            "NO" => Pick::No,
            "RESEND" => Pick::Resend,
            _ => return None,
        })
    }
}

const INTENTS: [(Intent, &str); 11] = [
    (Intent::Availability, "availability"),
    (Intent::Book, "book"),
    (Intent::Reschedule, "reschedule"),
    (Intent::Cancel, "cancel"),
    (Intent::MyAppointments, "my_appointments"),
    (Intent::ConsultantInfo, "consultant_info"),
    (Intent::Services, "services"),
    (Intent::Greeting, "greeting"),
    (Intent::Help, "help"),
    (Intent::Human, "human"),
    (Intent::Other, "other"),
];

fn intent_name(intent: Intent) -> &'static str {
    INTENTS
        .iter()
        .find(|(i, _)| *i == intent)
        .map_or("other", |(_, name)| name)
}

fn intent_by_name(name: &str) -> Option<Intent> {
    INTENTS.iter().find(|(_, n)| *n == name).map(|(i, _)| *i)
}

fn t(language: Language, vi: &str, en: &str) -> String {
    match language {
        Language::Vi => vi.to_string(),
        Language::En => en.to_string(),
    }
}

fn chip(title: String, pick: &Pick) -> Offer {
    Offer {
        title: slots::fit_title(&title),
        payload: pick.payload(),
    }
}

/// A chip for each of `consultant`'s offered starts.
fn slot_chips(turn: &Turn<'_, '_>, consultant: i64, offered: &[DateTime<Utc>]) -> Vec<Offer> {
    offered
        .iter()
        .map(|at| {
            chip(
                slots::slot_chip(turn.language, turn.tenant, *at),
                &Pick::Slot(consultant, *at),
            )
        })
        .collect()
}

/// Advances the conversation by one customer action.
pub(crate) async fn advance(
    turn: &mut Turn<'_, '_>,
    state: &mut ChatState,
    input: Input,
) -> Result<Reply, ChatError> {
    let awaiting = state.flow.as_ref().and_then(|f| f.awaiting);
    let pick = match &input {
        Input::QuickReply(payload) | Input::Postback(payload) => Some(Pick::parse(payload)),
        Input::Text(text) => {
            // A bare number picks that chip of the last reply (never while
            // a code is expected: "123456" is a code).
            let number = text.trim().parse::<usize>().ok();
            match number {
                Some(n)
                    if awaiting != Some(Awaiting::Otp) && n >= 1 && n <= state.offered.len() =>
                {
                    Some(Pick::parse(&state.offered[n - 1].payload))
                }
                _ => None,
            }
        }
    };
    // The model reads the message while the session still holds the flow:
    // what the bot asked last decides how a short answer reads ("ok e
    // dong y" under a summary is a yes).
    let understanding = match (&pick, &input) {
        (Some(_), _) => None,
        (None, Input::Text(text)) => match turn.understand(text, state).await {
            Some(understanding) => Some(understanding),
            None => {
                // The model is down: keep the flow, ask with buttons.
                let text = text.trim().to_string();
                let mut flow = state.flow.take();
                let reply = fallback(turn, &mut flow, &text).await?;
                state.flow = flow;
                return Ok(reply);
            }
        },
        (None, _) => None,
    };
    // "số 2", "the second one", "sớm nhất", or a time that is one of the
    // offered slots ("ok e lấy 10h"): a tap on that chip, said in words.
    let said = understanding
        .as_ref()
        .and_then(|u| said_pick(turn, &state.offered, awaiting, u));
    let (pick, understanding) = match said {
        Some(said) => {
            // The pick says which slot (or option); the rest of the message
            // may still name a service ("15h nhé, buổi tư vấn ngắn"). It is
            // no answer to a question not yet asked.
            let rest = understanding.map(|u| Understanding {
                intent: None,
                consultant: None,
                any_consultant: false,
                date: None,
                week: None,
                time: None,
                choice: None,
                answer: None,
                ..u
            });
            (Some(Some(said)), rest)
        }
        None => (pick, understanding),
    };
    let mut flow = state.flow.take();
    // An unknown payload (an old chip) changes nothing: the flow's
    // question is asked again.
    // A payload is the customer's to forge: one naming a consultant or
    // service this tenant does not have, or a date outside the bookable
    // horizon, is treated like an unknown one.
    let pick = pick.map(|pick| pick.filter(|pick| plausible_pick(turn, pick)));
    if let Some(Some(pick)) = &pick {
        apply_pick(turn, &mut flow, pick);
    }
    let raw_text = match &input {
        Input::Text(text) => text.trim().to_string(),
        _ => String::new(),
    };
    if pick.is_none()
        && let (Some(held), Some(understanding)) = (flow.as_mut(), understanding.as_ref())
        && let Some(intent) = side_question(held, understanding)
    {
        if let Some(language) = understanding.language {
            turn.language = language;
        }
        let reply = answer_aside(turn, held, intent, understanding).await?;
        state.flow = flow;
        return Ok(reply);
    }
    let understanding = understanding.map(|u| under_booking_summary(flow.as_ref(), u));
    if let Some(understanding) = &understanding {
        // A one-word "ok"/"yes" says little about the language: it follows
        // the customer's only on a message of some length.
        let words = match &input {
            Input::Text(text) => text.split_whitespace().count(),
            _ => 0,
        };
        if let Some(language) = understanding.language
            && (words >= 2 || state.language.is_none())
        {
            turn.language = language;
        }
        park_or_resume(state, &mut flow, understanding);
        apply_understanding(turn, &mut flow, understanding);
    }
    let reply = step(
        turn,
        &mut flow,
        understanding.as_ref(),
        &raw_text,
        pick.flatten(),
    )
    .await?;
    state.flow = flow;
    Ok(reply)
}

/// Whether the message asks about a service or a consultant, and nothing
/// more, while a booking or a change waits for the customer's answer:
/// "how long is it?" at the email question is answered, and the booking
/// goes on. The question's intent, if it is one.
fn side_question(flow: &Flow, understanding: &Understanding) -> Option<Intent> {
    let intent = if understanding.hours {
        Intent::ConsultantInfo
    } else {
        understanding
            .intent
            .filter(|i| matches!(i, Intent::Services | Intent::ConsultantInfo))?
    };
    let aside = matches!(
        flow.intent,
        Intent::Book | Intent::Reschedule | Intent::Cancel
    ) && matches!(
        flow.awaiting,
        Some(
            Awaiting::Email
                | Awaiting::Name
                | Awaiting::Confirm
                | Awaiting::Slot
                | Awaiting::Date
                | Awaiting::Time
                | Awaiting::Consultant
                | Awaiting::Service
                | Awaiting::Appointment
        )
    ) && understanding.email.is_none()
        // A day asked about someone's hours is not a new day to book.
        && (understanding.hours || !understanding.names_when());
    aside.then_some(intent)
}

/// Answers a [`side_question`] about what `held` is about (its service or
/// consultant unless the message names another), then asks `held`'s
/// question again.
async fn answer_aside(
    turn: &mut Turn<'_, '_>,
    held: &mut Flow,
    intent: Intent,
    understanding: &Understanding,
) -> Result<Reply, ChatError> {
    let info = if understanding.hours {
        let consultant = understanding.consultant.or(held.consultant);
        let date = understanding.date.or(held.date);
        hours(turn, consultant, date).await?
    } else {
        let mut aside = Flow::new(intent);
        match intent {
            Intent::Services => aside.service = understanding.service.or(held.service),
            _ => {
                aside.consultant = understanding.consultant.or(held.consultant);
                aside.service = understanding.service;
            }
        }
        let mut aside = Some(aside);
        Box::pin(step(turn, &mut aside, None, "", None)).await?
    };
    let mut resumed = Some(held.clone());
    let again = Box::pin(step(turn, &mut resumed, None, "", None)).await?;
    if let Some(resumed) = resumed {
        *held = resumed;
    }
    let mut messages: Vec<_> = info
        .messages
        .into_iter()
        .map(|mut message| {
            message.quick_replies.clear();
            message
        })
        .collect();
    messages.extend(again.messages);
    Ok(Reply { messages, ..again })
}

/// The offered chip a typed message picks, if it picks one: a choice by
/// position (the chips come nearest first, so "the earliest" is the first),
/// or, while slots are offered, a clock time (and day, and consultant, when
/// named) that fits exactly one of them. A message about something else
/// (another flow, a new day) picks nothing.
fn said_pick(
    turn: &Turn<'_, '_>,
    offered: &[Offer],
    awaiting: Option<Awaiting>,
    understanding: &Understanding,
) -> Option<Pick> {
    let choosing = matches!(
        awaiting,
        Some(
            Awaiting::Slot
                | Awaiting::Consultant
                | Awaiting::Service
                | Awaiting::Appointment
                | Awaiting::Topic
        )
    );
    let same_flow = matches!(
        understanding.intent,
        None | Some(Intent::Availability | Intent::Book)
    ) || awaiting == Some(Awaiting::Topic);
    if !choosing || !same_flow {
        return None;
    }
    // "the first week of December" names a week, not the first chip.
    if let Some(n) = understanding.choice.filter(|_| !understanding.names_when()) {
        return offered
            .get(n.checked_sub(1)?)
            .and_then(|offer| Pick::parse(&offer.payload));
    }
    let (Some(Awaiting::Slot), Some(TimeOfDay::At(time))) = (awaiting, understanding.time) else {
        return None;
    };
    let mut fitting = offered
        .iter()
        .filter_map(|offer| Pick::parse(&offer.payload))
        .filter(|pick| match pick {
            Pick::Slot(consultant, at) => {
                let local = at.with_timezone(&turn.tenant.time_zone);
                local.time() == time
                    && understanding.date.is_none_or(|d| d == local.date_naive())
                    && understanding.consultant.is_none_or(|c| c == *consultant)
            }
            _ => false,
        });
    match (fitting.next(), fitting.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Under a booking's summary, the verbs of the other flows speak of this
/// booking: "hủy đi" (cancel it) is a no, and "đổi sang 10h" (change it to
/// 10h) changes the time to confirm — neither is about an appointment the
/// customer already has.
fn under_booking_summary(flow: Option<&Flow>, mut understanding: Understanding) -> Understanding {
    let summary =
        flow.is_some_and(|f| f.intent == Intent::Book && f.awaiting == Some(Awaiting::Confirm));
    if !summary {
        return understanding;
    }
    match understanding.intent {
        Some(Intent::Cancel) => {
            understanding.intent = None;
            understanding.answer = Some(false);
        }
        Some(Intent::Reschedule) => {
            understanding.intent = None;
            let changes = understanding.names_when() || understanding.consultant.is_some();
            if changes {
                // Not a no: the booking goes on with the new details.
                understanding.answer = None;
            }
        }
        _ => {}
    }
    understanding
}

/// A new flow for `intent`, keeping what the customer already chose when
/// one flow leads to the other (free slots → booking).
fn switch_to(flow: &mut Option<Flow>, intent: Intent) {
    let mut next = Flow::new(intent);
    if let Some(old) = flow.take() {
        if matches!(old.intent, Intent::Availability | Intent::Book)
            && matches!(intent, Intent::Availability | Intent::Book)
        {
            next.consultant = old.consultant;
            next.service = old.service;
            next.date = old.date;
            next.from = old.from;
            next.time = old.time;
        }
        if old.intent == Intent::ConsultantInfo
            && matches!(intent, Intent::Availability | Intent::Book)
        {
            // "Tell me about Ngọc" → "book": with her.
            next.consultant = old.consultant;
        }
        if old.intent == Intent::Services && matches!(intent, Intent::Availability | Intent::Book) {
            // "How much is the tax consultation?" → "book": that one.
            next.service = old.service;
        }
        // A verification in progress carries over.
        next.email = old.email;
        if matches!(old.awaiting, Some(Awaiting::Otp | Awaiting::Name)) {
            next.awaiting = old.awaiting;
        }
    }
    *flow = Some(next);
}

/// Whether a local date is one the bot can talk about: from yesterday
/// (late-night zones) to a year ahead.
fn plausible_date(turn: &Turn<'_, '_>, date: NaiveDate) -> bool {
    let today = local_date(turn.tenant, turn.now);
    date >= today - Duration::days(1) && date <= today + Duration::days(366)
}

fn plausible_pick(turn: &Turn<'_, '_>, pick: &Pick) -> bool {
    let known_consultant = |id: &i64| turn.directory.consultants.iter().any(|c| c.id == *id);
    match pick {
        Pick::Consultant(id) => known_consultant(id),
        Pick::Service(id) => turn.directory.services.iter().any(|s| s.id == *id),
        Pick::Date(date) => plausible_date(turn, *date),
        Pick::Slot(consultant, at) => {
            known_consultant(consultant) && plausible_date(turn, local_date(turn.tenant, *at))
        }
        Pick::Intent(_) | Pick::Appointment(_) | Pick::Yes | Pick::No | Pick::Resend => true,
    }
}

fn apply_pick(turn: &mut Turn<'_, '_>, flow: &mut Option<Flow>, pick: &Pick) {
    match pick {
        Pick::Intent(intent) => switch_to(flow, *intent),
        Pick::Slot(consultant, at) => {
            if flow
                .as_ref()
                .is_none_or(|f| !matches!(f.intent, Intent::Book | Intent::Reschedule))
            {
                switch_to(flow, Intent::Book);
            }
            if let Some(f) = flow.as_mut() {
                if f.intent == Intent::Book {
                    f.consultant = Some(*consultant);
                }
                f.date = Some(local_date(turn.tenant, *at));
                f.slot = Some(*at);
            }
        }
        _ => {
            let f = flow.get_or_insert_with(|| Flow::new(Intent::Book));
            match pick {
                Pick::Consultant(id) => {
                    f.consultant = Some(*id);
                    f.slot = None;
                }
                Pick::Service(id) => f.service = Some(*id),
                Pick::Date(date) => {
                    f.date = Some(*date);
                    f.slot = None;
                    f.time = None;
                }
                Pick::Appointment(id) => f.appointment = Some(*id),
                Pick::Yes | Pick::No | Pick::Resend | Pick::Intent(_) | Pick::Slot(..) => {}
            }
        }
    }
}

/// "Cho mình gặp nhân viên" in the middle of a booking parks the booking
/// (the staff may not answer soon); "thôi, mình tự đặt tiếp" then takes it
/// up where it was, consultant and day included.
fn park_or_resume(state: &mut ChatState, flow: &mut Option<Flow>, understanding: &Understanding) {
    let changing =
        |f: &Flow| matches!(f.intent, Intent::Book | Intent::Reschedule | Intent::Cancel);
    match understanding.intent {
        Some(Intent::Human) => {
            if let Some(f) = flow.as_ref().filter(|f| changing(f)) {
                state.parked = Some(f.clone());
            }
        }
        Some(intent @ (Intent::Book | Intent::Reschedule | Intent::Cancel))
            if flow.as_ref().is_none_or(|f| f.intent != intent)
                && state.parked.as_ref().is_some_and(|p| p.intent == intent) =>
        {
            let mut parked = state.parked.take();
            if let Some(p) = parked.as_mut() {
                // Asked again from where it stood, not answered by this
                // message's yes.
                p.awaiting = None;
            }
            *flow = parked;
        }
        _ => {}
    }
}

fn apply_understanding(
    turn: &mut Turn<'_, '_>,
    flow: &mut Option<Flow>,
    understanding: &Understanding,
) {
    let awaiting = flow.as_ref().and_then(|f| f.awaiting);
    // While a code is awaited, small talk or a claim ("I am the admin")
    // does not end the check; only another personal request replaces it.
    let intent = understanding.intent.filter(|intent| {
        awaiting != Some(Awaiting::Otp)
            || matches!(
                intent,
                Intent::Book | Intent::Cancel | Intent::Reschedule | Intent::MyAppointments
            )
    });
    // "What about Mr. An on 15/12 at 9:30?" while looking for a time is
    // still about time, not An's biography.
    let looking_for_time = flow
        .as_ref()
        .is_some_and(|f| matches!(f.intent, Intent::Availability | Intent::Book));
    let intent = intent.filter(|intent| {
        !(*intent == Intent::ConsultantInfo
            && looking_for_time
            && !understanding.hours
            && (understanding.date.is_some() || understanding.time.is_some()))
    });
    // "Can I see Ms Ngọc on 1/12 at 10:30 about my company?": a consultant
    // and a clock time are a booking, whatever else the message asks. The
    // offline reader says so itself; a language model may not.
    let intent = intent.map(|intent| {
        let meeting = understanding.consultant.is_some()
            && !understanding.hours
            && matches!(understanding.time, Some(TimeOfDay::At(_)));
        if intent == Intent::ConsultantInfo && meeting {
            Intent::Book
        } else {
            intent
        }
    });
    // After an answer about a consultant or a service, a day or a time
    // ("thứ 7 được không?") goes on to booking with them.
    let after_info = flow
        .as_ref()
        .is_some_and(|f| matches!(f.intent, Intent::ConsultantInfo | Intent::Services));
    let names_when = understanding.names_when() || understanding.any_consultant;
    let intent = intent.or_else(|| (after_info && names_when).then_some(Intent::Book));
    match intent {
        Some(
            intent @ (Intent::Availability | Intent::Book | Intent::Reschedule | Intent::Cancel),
        ) if flow.as_ref().is_none_or(|f| f.intent != intent) => switch_to(flow, intent),
        Some(Intent::Availability | Intent::Book | Intent::Reschedule | Intent::Cancel) => {}
        Some(
            intent @ (Intent::MyAppointments
            | Intent::ConsultantInfo
            | Intent::Services
            | Intent::Human
            | Intent::Help),
        ) => {
            switch_to(flow, intent);
        }
        Some(Intent::Greeting) if flow.is_none() => switch_to(flow, Intent::Greeting),
        _ => {}
    }
    let Some(f) = flow.as_mut() else {
        // A date alone ("thời tiết hôm nay") is not a booking.
        if understanding.consultant.is_some()
            || understanding.any_consultant
            || understanding.time.is_some()
        {
            // "anh An mai 9h" with no verb: a booking in the making.
            let mut next = Flow::new(Intent::Book);
            fill_slots(turn, &mut next, understanding);
            *flow = Some(next);
        }
        return;
    };
    fill_slots(turn, f, understanding);
}

fn fill_slots(turn: &mut Turn<'_, '_>, flow: &mut Flow, understanding: &Understanding) {
    // "friday same time?" under a booking's summary: the clock time being
    // confirmed, on the new day. A reschedule keeps the moved
    // appointment's, which `change` knows.
    let kept_time = if understanding.same_time && understanding.time.is_none() {
        match flow.intent {
            Intent::Reschedule => {
                flow.same_time = true;
                None
            }
            _ => flow
                .slot
                .map(|slot| slot.with_timezone(&turn.tenant.time_zone).time())
                .or(match flow.time {
                    Some(TimeOfDay::At(time)) => Some(time),
                    _ => None,
                }),
        }
    } else {
        None
    };
    if let Some(consultant) = understanding.consultant
        && flow.intent != Intent::Reschedule
        && flow.consultant != Some(consultant)
    {
        flow.consultant = Some(consultant);
        flow.slot = None;
    }
    // "Ai cũng được": the team, until a consultant is named or picked.
    if understanding.any_consultant
        && understanding.consultant.is_none()
        && flow.intent != Intent::Reschedule
    {
        flow.any_consultant = true;
        flow.consultant = None;
        flow.slot = None;
    }
    if let Some(topic) = &understanding.topic
        && flow.intent == Intent::Book
    {
        flow.topic = Some(topic.clone());
    }
    // A new service keeps a chosen slot: `book` checks it again for the
    // service's length before asking to confirm.
    if let Some(service) = understanding.service {
        flow.service = Some(service);
    }
    if understanding.date.is_none()
        && let Some(week) = understanding.week.filter(|d| plausible_date(turn, *d))
    {
        flow.from = Some(week);
        flow.date = None;
        flow.slot = None;
    }
    // "2 giờ chiều cùng ngày hôm đó": the day talked about last.
    let same_day = understanding
        .same_day
        .then_some(turn.last_day)
        .flatten()
        .filter(|_| understanding.date.is_none() && flow.date.is_none());
    if let Some(date) = understanding
        .date
        .or(same_day)
        .filter(|d| plausible_date(turn, *d))
    {
        flow.date = Some(date);
        flow.slot = None;
        flow.time = None;
    }
    if let Some(time) = understanding.time {
        flow.time = Some(time);
        flow.slot = None;
    }
    if let Some(time) = kept_time {
        flow.time = Some(TimeOfDay::At(time));
        flow.slot = None;
    }
}

/// Ends the flow's questions with `text` and the main menu.
fn close(language: Language, f: &mut Flow, text: String) -> Reply {
    f.awaiting = None;
    reply(language, f.intent, None, text, menu(language))
}

/// The main menu: what the bot can do, as chips.
fn menu(language: Language) -> Vec<Offer> {
    vec![
        chip(t(language, "Đặt lịch", "Book"), &Pick::Intent(Intent::Book)),
        chip(
            t(language, "Lịch trống", "Free slots"),
            &Pick::Intent(Intent::Availability),
        ),
        chip(
            t(language, "Lịch của tôi", "My appointments"),
            &Pick::Intent(Intent::MyAppointments),
        ),
        chip(
            t(language, "Đổi lịch", "Reschedule"),
            &Pick::Intent(Intent::Reschedule),
        ),
        chip(
            t(language, "Hủy lịch", "Cancel"),
            &Pick::Intent(Intent::Cancel),
        ),
        chip(
            t(language, "Dịch vụ", "Services"),
            &Pick::Intent(Intent::Services),
        ),
    ]
}

/// When the model is down: keep going with what needs no model (a code,
/// an email, a name), and otherwise ask the current question with buttons.
async fn fallback(
    turn: &mut Turn<'_, '_>,
    flow: &mut Option<Flow>,
    text: &str,
) -> Result<Reply, ChatError> {
    let mut understanding = Understanding::default();
    match flow.as_ref().and_then(|f| f.awaiting) {
        Some(Awaiting::Otp) => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            if digits.len() == 6 {
                understanding.code = Some(digits);
            }
        }
        Some(Awaiting::Email) if text.contains('@') => understanding.email = Some(text.to_string()),
        Some(Awaiting::Name) => understanding.name = Some(text.to_string()),
        _ => {
            if flow.is_none() {
                let language = turn.language;
                return Ok(reply(
                    language,
                    Intent::Other,
                    Some(Awaiting::Topic),
                    t(
                        language,
                        "Xin lỗi, lúc này mình chưa đọc được tin nhắn. Bạn chọn giúp mình một mục bên dưới nhé.",
                        "Sorry, I can't read messages right now. Please pick one of the options below.",
                    ),
                    menu(language),
                ));
            }
        }
    }
    step(turn, flow, Some(&understanding), text, None).await
}

/// Decides the reply from the flow and what this action brought.
async fn step(
    turn: &mut Turn<'_, '_>,
    flow: &mut Option<Flow>,
    understanding: Option<&Understanding>,
    raw_text: &str,
    pick: Option<Pick>,
) -> Result<Reply, ChatError> {
    let language = turn.language;
    let Some(f) = flow.as_mut() else {
        // "ok cảm ơn e nha, bye" with nothing in progress: a goodbye, no menu.
        if understanding.is_some_and(|u| u.farewell) {
            return Ok(reply(
                language,
                Intent::Other,
                None,
                t(
                    language,
                    "Cảm ơn bạn! Khi cần đặt, đổi hay hủy lịch, bạn cứ nhắn mình nhé.",
                    "Thank you! Message me whenever you want to book, move or cancel an appointment.",
                ),
                Vec::new(),
            ));
        }
        return Ok(reply(
            language,
            Intent::Other,
            Some(Awaiting::Topic),
            t(
                language,
                "Mình là trợ lý đặt lịch tư vấn. Bạn muốn làm gì?",
                "I'm the booking assistant. What would you like to do?",
            ),
            menu(language),
        ));
    };
    let answer = match &pick {
        Some(Pick::Yes) => Some(true),
        Some(Pick::No) => Some(false),
        _ => understanding.and_then(|u| u.answer),
    };
    let resend = pick == Some(Pick::Resend);
    // "Không, thôi để tuần sau mình tính" / "no thanks, I'll think about
    // it" while choosing a time: nothing is done, and the flow ends.
    let choosing = matches!(
        f.awaiting,
        Some(
            Awaiting::Slot
                | Awaiting::Date
                | Awaiting::Time
                | Awaiting::Consultant
                | Awaiting::Service
        )
    );
    let names_more = understanding
        .is_some_and(|u| u.names_when() || u.consultant.is_some() || u.service.is_some());
    if answer == Some(false)
        && choosing
        && !names_more
        && matches!(
            f.intent,
            Intent::Availability | Intent::Book | Intent::Reschedule
        )
    {
        let text = if f.intent == Intent::Reschedule {
            t(
                language,
                "Vâng, lịch hẹn của bạn giữ nguyên. Khi cần bạn cứ nhắn mình nhé.",
                "All right, your appointment stays as it is. Message me whenever you need.",
            )
        } else {
            t(
                language,
                "Vâng, mình chưa đặt gì cả. Khi nào cần bạn cứ nhắn mình nhé.",
                "All right, nothing is booked. Message me whenever you're ready.",
            )
        };
        let reply = close(language, f, text);
        *flow = None;
        return Ok(reply);
    }
    match f.intent {
        Intent::Greeting | Intent::Help | Intent::Other => {
            let intent = f.intent;
            *flow = None;
            // The menu asks what the customer wants to do: a topic.
            Ok(reply(
                language,
                intent,
                Some(Awaiting::Topic),
                match intent {
                    Intent::Greeting => format!(
                        "{} {}",
                        t(language, "Xin chào! Đây là", "Hello! This is"),
                        t(
                            language,
                            &format!(
                                "{}. Mình có thể giúp bạn xem lịch trống, đặt, đổi hoặc hủy lịch tư vấn. Bạn cần mình giúp gì?",
                                turn.tenant.name
                            ),
                            &format!(
                                "{}. I can show free slots and book, reschedule or cancel a consultation. What can I do for you?",
                                turn.tenant.name
                            ),
                        )
                    ),
                    _ => t(
                        language,
                        "Mình có thể: xem lịch trống của tư vấn viên, đặt lịch, đổi lịch, hủy lịch, xem lịch hẹn của bạn và giới thiệu dịch vụ. Bạn chọn bên dưới hoặc nhắn, ví dụ: \"đặt lịch với anh An sáng mai\".",
                        "I can show consultants' free slots, book, reschedule or cancel, list your appointments and describe our services. Pick below or write, e.g. \"book with An tomorrow morning\".",
                    ),
                },
                menu(language),
            ))
        }
        Intent::Human => {
            *flow = None;
            Ok(reply(
                language,
                Intent::Human,
                None,
                t(
                    language,
                    "Mình đã báo nhân viên; họ sẽ trả lời bạn tại đây trong giờ làm việc.",
                    "I've let our staff know; they will answer you here during office hours.",
                ),
                Vec::new(),
            ))
        }
        Intent::Services => {
            // "How much is a tax consultation?": that service alone.
            let asked = f.service;
            *flow = None;
            let rows = turn.read(&SqlTask::Services).await?;
            let mut lines = match asked {
                Some(_) => Vec::new(),
                None => vec![t(language, "Các dịch vụ của chúng tôi:", "Our services:")],
            };
            let mut chips = Vec::new();
            for row in &rows {
                let (Some(id), Some(name)) = (int(row, "id"), text(row, "name")) else {
                    continue;
                };
                if asked.is_some_and(|asked| asked != id) {
                    continue;
                }
                let minutes = int(row, "duration_minutes").unwrap_or(0);
                let price = int(row, "price_vnd").unwrap_or(0);
                lines.push(format!(
                    "• {name}: {}, {}",
                    slots::duration(language, minutes),
                    slots::price(language, price)
                ));
                chips.push(chip(name.to_string(), &Pick::Service(id)));
            }
            if let Some(service) = asked {
                // "How much is it, and who would I see?": who does this work.
                let consultants = turn.read(&SqlTask::Consultants).await?;
                let names: Vec<String> = consultants_handling(turn, &consultants, service)
                    .into_iter()
                    .map(|id| consultant_name(turn, id))
                    .collect();
                if !names.is_empty() {
                    lines.push(t(
                        language,
                        &format!("Tư vấn viên: {}", names.join(", ")),
                        &format!(
                            "{}: {}",
                            if names.len() == 1 {
                                "Consultant"
                            } else {
                                "Consultants"
                            },
                            names.join(", ")
                        ),
                    ));
                }
                // One service: the next step is booking it.
                chips = vec![chip(
                    t(language, "Đặt lịch", "Book"),
                    &Pick::Intent(Intent::Book),
                )];
                *flow = Some(Flow {
                    service: asked,
                    ..Flow::new(Intent::Services)
                });
            }
            Ok(reply(
                language,
                Intent::Services,
                None,
                lines.join("\n"),
                chips,
            ))
        }
        Intent::ConsultantInfo if understanding.is_some_and(|u| u.hours) => {
            let (consultant, date) = (f.consultant, f.date);
            // "Free times" next is with that consultant.
            *flow = consultant.map(|consultant| Flow {
                consultant: Some(consultant),
                ..Flow::new(Intent::ConsultantInfo)
            });
            hours(turn, consultant, date).await
        }
        Intent::ConsultantInfo => {
            let mut wanted = f.consultant;
            let service = f.service;
            *flow = None;
            let rows = turn.read(&SqlTask::Consultants).await?;
            // "Who handles visas?": the consultants whose work names the
            // service; one of them is that consultant's card.
            let handling = match (wanted, service) {
                (None, Some(service)) => consultants_handling(turn, &rows, service),
                _ => Vec::new(),
            };
            if let [only] = handling[..] {
                wanted = Some(only);
            }
            let mut lines = Vec::new();
            for row in &rows {
                let (Some(id), Some(name)) = (int(row, "id"), text(row, "full_name")) else {
                    continue;
                };
                if wanted.is_some_and(|w| w != id)
                    || !(handling.is_empty() || handling.contains(&id))
                {
                    continue;
                }
                let specialty = text(row, "specialty").unwrap_or("");
                match (wanted, text(row, "bio")) {
                    (Some(_), Some(bio)) => lines.push(format!("{name} ({specialty}): {bio}")),
                    _ => lines.push(format!("• {name}: {specialty}")),
                }
            }
            if wanted.is_none() {
                let header = match service.filter(|_| !handling.is_empty()) {
                    Some(service) => {
                        let name = service_name(turn, service);
                        t(
                            language,
                            &format!("Tư vấn viên phụ trách {name}:"),
                            &format!("Consultants for {name}:"),
                        )
                    }
                    None => t(language, "Các tư vấn viên:", "Our consultants:"),
                };
                lines.insert(0, header);
            }
            let chips = turn
                .directory
                .consultants
                .iter()
                .map(|c| chip(c.name.clone(), &Pick::Consultant(c.id)))
                .collect();
            let mut reply = reply(
                language,
                Intent::ConsultantInfo,
                None,
                lines.join("\n"),
                chips,
            );
            if wanted.is_some() {
                reply.messages[0].quick_replies = vec![chip(
                    t(language, "Đặt lịch", "Book"),
                    &Pick::Intent(Intent::Book),
                )];
                *flow = Some(Flow {
                    consultant: wanted,
                    ..Flow::new(Intent::ConsultantInfo)
                });
            }
            Ok(reply)
        }
        Intent::Availability => availability(turn, f).await,
        Intent::Book => {
            let reply = book(turn, f, understanding, raw_text, answer, resend).await?;
            if reply.awaiting.is_none() {
                *flow = None;
            }
            Ok(reply)
        }
        Intent::MyAppointments => {
            if turn.customer.is_none()
                && let Some(reply) = verify(turn, f, understanding, raw_text, resend).await?
            {
                return Ok(reply);
            }
            let (consultant, date) = (f.consultant, f.date);
            *flow = None;
            my_appointments(turn, consultant, date).await
        }
        Intent::Cancel | Intent::Reschedule => {
            let reply = change(turn, f, understanding, raw_text, answer, resend).await?;
            if reply.awaiting.is_none() {
                *flow = None;
            }
            Ok(reply)
        }
    }
}

fn int(row: &Value, column: &str) -> Option<i64> {
    row.get(column)?.as_i64()
}

fn text<'r>(row: &'r Value, column: &str) -> Option<&'r str> {
    row.get(column)?.as_str()
}

fn consultant_name(turn: &Turn<'_, '_>, id: i64) -> String {
    turn.directory
        .consultants
        .iter()
        .find(|c| c.id == id)
        .map_or_else(|| format!("#{id}"), |c| c.name.clone())
}

fn service_name(turn: &Turn<'_, '_>, id: i64) -> String {
    turn.directory
        .services
        .iter()
        .find(|s| s.id == id)
        .map_or_else(String::new, |s| s.name.clone())
}

/// When a consultant works: on `date`, or each day of the coming week; with
/// no consultant, the whole team on `date` (or today).
async fn hours(
    turn: &mut Turn<'_, '_>,
    consultant: Option<i64>,
    date: Option<NaiveDate>,
) -> Result<Reply, ChatError> {
    let language = turn.language;
    let today = local_date(turn.tenant, turn.now);
    let ids: Vec<i64> = match consultant {
        Some(id) => vec![id],
        None => turn.directory.consultants.iter().map(|c| c.id).collect(),
    };
    let first = date.unwrap_or(today);
    let last = match (consultant, date) {
        (Some(_), None) => first + Duration::days(6),
        _ => first,
    };
    let team = slots::load_team(turn, &ids, first, last, 30, None).await?;
    let ranges = |availability: &meetassist_conversation::availability::Availability,
                  day: NaiveDate| {
        let worked: Vec<String> = availability
            .working_hours(day)
            .iter()
            .map(|r| {
                format!(
                    "{}–{}",
                    slots::time_of_day(language, r.start_time),
                    slots::time_of_day(language, r.end_time)
                )
            })
            .collect();
        if worked.is_empty() {
            t(language, "nghỉ", "off")
        } else {
            worked.join(", ")
        }
    };
    let zone = slots::zone(language, turn.tenant, first);
    let mut lines = Vec::new();
    match consultant {
        Some(id) => {
            let name = consultant_name(turn, id);
            lines.push(t(
                language,
                &format!("Giờ làm việc của {name} ({zone}):"),
                &format!("{name}'s working hours ({zone}):"),
            ));
            if let Some(availability) = team.first() {
                for day in first.iter_days().take_while(|d| *d <= last) {
                    lines.push(format!(
                        "• {}: {}",
                        slots::day(language, day),
                        ranges(availability, day)
                    ));
                }
            }
        }
        None => {
            lines.push(t(
                language,
                &format!(
                    "Giờ làm việc ngày {} ({zone}):",
                    slots::day(language, first)
                ),
                &format!("Working hours on {} ({zone}):", slots::day(language, first)),
            ));
            for availability in &team {
                let name = consultant_name(turn, availability.consultant_id.0);
                lines.push(format!("• {name}: {}", ranges(availability, first)));
            }
        }
    }
    let chips = vec![chip(
        t(language, "Xem lịch trống", "Free times"),
        &Pick::Intent(Intent::Availability),
    )];
    Ok(reply(
        language,
        Intent::ConsultantInfo,
        None,
        lines.join("\n"),
        chips,
    ))
}

/// The consultants (rows of the consultants task) whose specialty or bio
/// names `service`'s subject; empty when none does.
fn consultants_handling(turn: &Turn<'_, '_>, rows: &[Value], service: i64) -> Vec<i64> {
    let profiles: Vec<Profile<'_>> = rows
        .iter()
        .filter_map(|row| {
            Some(Profile {
                id: int(row, "id")?,
                specialty: text(row, "specialty").unwrap_or(""),
                bio: text(row, "bio").unwrap_or(""),
            })
        })
        .collect();
    consultants_for(&service_name(turn, service), &profiles)
}

/// The services `consultant` gives: those their specialty or bio names,
/// and those nobody's does (a short general session).
fn services_of(turn: &Turn<'_, '_>, rows: &[Value], consultant: i64) -> Vec<i64> {
    turn.directory
        .services
        .iter()
        .filter(|service| {
            let handling = consultants_handling(turn, rows, service.id);
            handling.is_empty() || handling.contains(&consultant)
        })
        .map(|service| service.id)
        .collect()
}

fn ask_consultant(turn: &Turn<'_, '_>, f: &mut Flow) -> Reply {
    ask_consultant_among(turn, f, &[])
}

/// Asks which consultant, with chips for those of `among` (everyone when
/// it is empty).
fn ask_consultant_among(turn: &Turn<'_, '_>, f: &mut Flow, among: &[i64]) -> Reply {
    f.awaiting = Some(Awaiting::Consultant);
    let language = turn.language;
    let chips = turn
        .directory
        .consultants
        .iter()
        .filter(|c| among.is_empty() || among.contains(&c.id))
        .map(|c| chip(c.name.clone(), &Pick::Consultant(c.id)))
        .collect();
    reply(
        language,
        f.intent,
        f.awaiting,
        t(
            language,
            "Bạn muốn gặp tư vấn viên nào?",
            "Which consultant would you like to see?",
        ),
        chips,
    )
}

async fn availability(turn: &mut Turn<'_, '_>, f: &mut Flow) -> Result<Reply, ChatError> {
    let Some(consultant) = f.consultant else {
        if f.any_consultant || f.date.is_some() || f.time.is_some() {
            return team_availability(turn, f).await;
        }
        return Ok(ask_consultant(turn, f));
    };
    let minutes = service_minutes(turn, f.service).await?;
    offer_slots(turn, f, consultant, minutes, None).await
}

/// The local days to look for free times in: the day asked for, or from
/// the period asked for (or today) to the horizon.
fn search_days(turn: &Turn<'_, '_>, f: &Flow) -> (NaiveDate, NaiveDate) {
    match f.date {
        Some(date) => (date, date),
        None => {
            let today = local_date(turn.tenant, turn.now);
            let from = f.from.unwrap_or(today).max(today);
            (
                from,
                from + Duration::days(turn.engine.config().horizon_days),
            )
        }
    }
}

/// "Anyone free tomorrow at 9?": who of the team is free at that time, or
/// each one's first free times that day, as chips that start a booking.
async fn team_availability(turn: &mut Turn<'_, '_>, f: &mut Flow) -> Result<Reply, ChatError> {
    let language = turn.language;
    let minutes = service_minutes(turn, f.service).await?;
    let ids: Vec<i64> = turn.directory.consultants.iter().map(|c| c.id).collect();
    // A day named is that day; none ("anyone free?") is the first day from
    // today (or the week asked for) on which someone has room.
    let (first, last) = search_days(turn, f);
    let team = slots::load_team(turn, &ids, first, last, minutes, None).await?;
    let date = first
        .iter_days()
        .take_while(|day| *day <= last)
        .find(|day| {
            team.iter()
                .any(|a| !a.bookable_starts(*day, *day).is_empty())
        })
        .unwrap_or(first);
    let mut lines = Vec::new();
    let mut chips = Vec::new();
    let asked = match f.time {
        Some(TimeOfDay::At(time)) => slots::local_instant(turn.tenant, date, time),
        _ => None,
    };
    let zone = slots::zone(language, turn.tenant, date);
    if let Some(start) = asked {
        for availability in team.iter().filter(|a| a.is_bookable(start).is_ok()) {
            let id = availability.consultant_id.0;
            let name = consultant_name(turn, id);
            chips.push(chip(
                format!("{} {}", given_name(&name), slots::clock(turn.tenant, start)),
                &Pick::Slot(id, start),
            ));
            lines.push(format!("• {name}"));
        }
        let when = slots::when(language, turn.tenant, start);
        if !lines.is_empty() {
            lines.insert(
                0,
                t(
                    language,
                    &format!("Lúc {when} còn trống:"),
                    &format!("Free at {when}:"),
                ),
            );
            f.awaiting = Some(Awaiting::Slot);
            return Ok(reply(
                language,
                f.intent,
                f.awaiting,
                lines.join("\n"),
                chips,
            ));
        }
        lines.push(t(
            language,
            &format!("Lúc {when} không ai trống. Giờ trống khác trong ngày ({zone}):"),
            &format!("Nobody is free at {when}. Other free times that day ({zone}):"),
        ));
    } else {
        lines.push(t(
            language,
            &format!("Giờ trống ngày {} ({zone}):", slots::day(language, date)),
            &format!("Free times on {} ({zone}):", slots::day(language, date)),
        ));
    }
    let header = lines.len();
    // Each consultant's first free time, nearest first (then by name): the
    // chips come in the order "the earliest" counts them.
    let mut rows = Vec::new();
    for availability in &team {
        let id = availability.consultant_id.0;
        let starts = availability.bookable_starts(date, date);
        let offered = slots::offer(turn, &starts, f.time);
        let Some(first) = offered.first().copied() else {
            continue;
        };
        let name = consultant_name(turn, id);
        let times: Vec<String> = offered
            .iter()
            .take(4)
            .map(|at| slots::clock(turn.tenant, *at))
            .collect();
        rows.push((first, id, name, times));
    }
    rows.sort_by_key(|(first, ..)| *first);
    for (first, id, name, times) in rows {
        lines.push(format!("• {name}: {}", times.join(", ")));
        chips.push(chip(
            format!("{} {}", given_name(&name), slots::clock(turn.tenant, first)),
            &Pick::Slot(id, first),
        ));
    }
    if lines.len() == header {
        f.awaiting = Some(Awaiting::Date);
        let text = t(
            language,
            &format!(
                "Ngày {} không còn ai trống. Bạn chọn ngày khác nhé.",
                slots::day(language, date)
            ),
            &format!(
                "Nobody is free on {}. Please pick another day.",
                slots::day(language, date)
            ),
        );
        f.date = None;
        return Ok(reply(language, f.intent, f.awaiting, text, Vec::new()));
    }
    f.awaiting = Some(Awaiting::Slot);
    Ok(reply(
        language,
        f.intent,
        f.awaiting,
        lines.join("\n"),
        chips,
    ))
}

/// What a Vietnamese full name is called by: its last word ("An").
fn given_name(full_name: &str) -> &str {
    full_name.split_whitespace().last().unwrap_or(full_name)
}

/// The length of a service (60 minutes when none was chosen yet).
async fn service_minutes(turn: &mut Turn<'_, '_>, service: Option<i64>) -> Result<i64, ChatError> {
    // Read with the directory at the start of the turn.
    Ok(service
        .and_then(|service| turn.service_minutes.iter().find(|(id, _)| *id == service))
        .map_or(60, |(_, minutes)| *minutes))
}

/// Offers free starts of `consultant` (on the chosen date when there is
/// one, near the wished time), or asks for another day.
async fn offer_slots(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    consultant: i64,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Reply, ChatError> {
    let language = turn.language;
    let (from, to) = search_days(turn, f);
    let free = slots::free_starts(turn, consultant, from, to, minutes, exclude).await?;
    let name = consultant_name(turn, consultant);
    // "Tuần này chị Mai Anh còn trống buổi nào?": the days of that week
    // with room, each with its first times; a day is picked next.
    let week_asked = f.date.is_none()
        && f.time.is_none()
        && matches!(f.intent, Intent::Availability | Intent::Book);
    if let (true, Some(week)) = (week_asked, f.from) {
        let mut days: Vec<(NaiveDate, Vec<DateTime<Utc>>)> = Vec::new();
        for at in &free {
            let day = local_date(turn.tenant, *at);
            if day > week + Duration::days(6) {
                break;
            }
            match days.last_mut() {
                Some((last, starts)) if *last == day => starts.push(*at),
                _ => days.push((day, vec![*at])),
            }
        }
        if !days.is_empty() {
            let zone = slots::zone(language, turn.tenant, week);
            let mut lines = vec![t(
                language,
                &format!("Những ngày {name} còn trống ({zone}):"),
                &format!("Days {name} has free times ({zone}):"),
            )];
            let mut chips = Vec::new();
            let mut all_offered = Vec::new();
            for (day, starts) in &days {
                // The times a day's slots are offered at (a coarser step).
                let offered = slots::offer(turn, starts, None);
                all_offered.extend(offered.iter().copied());
                let shown: Vec<String> = offered
                    .iter()
                    .take(4)
                    .map(|at| slots::clock(turn.tenant, *at))
                    .collect();
                let more = if offered.len() > shown.len() {
                    ", …"
                } else {
                    ""
                };
                lines.push(format!(
                    "• {}: {}{more}",
                    slots::day(language, *day),
                    shown.join(", ")
                ));
                chips.push(chip(slots::day_chip(language, *day), &Pick::Date(*day)));
            }
            // A week with only a few times left: those times are the
            // choice ("lấy cái thứ 2"), not the days.
            if all_offered.len() <= turn.engine.config().max_offers {
                f.awaiting = Some(Awaiting::Slot);
                chips = slot_chips(turn, consultant, &all_offered);
            } else {
                f.awaiting = Some(Awaiting::Date);
            }
            return Ok(reply(
                language,
                f.intent,
                f.awaiting,
                lines.join("\n"),
                chips,
            ));
        }
    }
    let offered = slots::offer(turn, &free, f.time);
    if offered.is_empty() {
        if let Some(date) = f.date {
            // Nothing that day: the next days that have room.
            f.date = None;
            let days = slots::free_days(turn, consultant, date, minutes, exclude).await?;
            f.awaiting = Some(Awaiting::Date);
            let chips = days
                .iter()
                .map(|d| chip(slots::day_chip(language, *d), &Pick::Date(*d)))
                .collect();
            return Ok(reply(
                language,
                f.intent,
                f.awaiting,
                format!(
                    "{} {}",
                    t(
                        language,
                        &format!(
                            "{name} không còn giờ trống ngày {}.",
                            slots::day(language, date)
                        ),
                        &format!("{name} has no free time on {}.", slots::day(language, date)),
                    ),
                    if days.is_empty() {
                        t(
                            language,
                            "Hai tuần tới cũng đã kín lịch.",
                            "The next two weeks are full too.",
                        )
                    } else {
                        t(
                            language,
                            "Bạn chọn ngày khác nhé:",
                            "Please pick another day:",
                        )
                    }
                ),
                chips,
            ));
        }
        return Ok(close(
            language,
            f,
            t(
                language,
                &format!("{name} đã kín lịch trong hai tuần tới."),
                &format!("{name} is fully booked for the next two weeks."),
            ),
        ));
    }
    f.awaiting = Some(Awaiting::Slot);
    let lines: Vec<String> = offered
        .iter()
        .enumerate()
        .map(|(i, at)| format!("{}. {}", i + 1, slots::when(language, turn.tenant, *at)))
        .collect();
    let chips = slot_chips(turn, consultant, &offered);
    Ok(reply(
        language,
        f.intent,
        f.awaiting,
        format!(
            "{}\n{}",
            t(
                language,
                &format!("Giờ trống gần nhất của {name}:"),
                &format!("{name}'s nearest free times:"),
            ),
            lines.join("\n")
        ),
        chips,
    ))
}

async fn book(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    understanding: Option<&Understanding>,
    raw_text: &str,
    answer: Option<bool>,
    resend: bool,
) -> Result<Reply, ChatError> {
    let language = turn.language;
    // Asked for an email, the customer changes the booking instead ("can
    // we do next week?"): answer that first; the email is asked again
    // before anything is booked.
    let changes_booking = understanding.is_some_and(|u| {
        u.email.is_none()
            && (u.consultant.is_some() || u.any_consultant || u.service.is_some() || u.names_when())
    });
    if f.awaiting == Some(Awaiting::Email) && changes_booking {
        f.awaiting = None;
    }
    if turn.customer.is_none()
        && matches!(
            f.awaiting,
            Some(Awaiting::Email | Awaiting::Otp | Awaiting::Name)
        )
        && let Some(reply) = verify(turn, f, understanding, raw_text, resend).await?
    {
        return Ok(reply);
    }
    let consultant = match f.consultant {
        Some(consultant) => consultant,
        None if f.any_consultant => return team_availability(turn, f).await,
        None => {
            // "Đặt lịch tư vấn định cư": the one who handles it, or a
            // choice among those who do.
            let handling = match f.service {
                Some(service) => {
                    let rows = turn.read(&SqlTask::Consultants).await?;
                    consultants_handling(turn, &rows, service)
                }
                None => Vec::new(),
            };
            match handling[..] {
                [only] => {
                    f.consultant = Some(only);
                    only
                }
                _ => return Ok(ask_consultant_among(turn, f, &handling)),
            }
        }
    };
    let mut given = Vec::new();
    if f.service.is_none() {
        // "Chị Mai Anh, tầm 30p": the only service she gives is the one.
        given = services_of(turn, &turn.consultant_rows, consultant);
        if let [only] = given[..] {
            f.service = Some(only);
        }
    }
    let Some(service) = f.service else {
        f.awaiting = Some(Awaiting::Service);
        let chips = turn
            .directory
            .services
            .iter()
            .filter(|s| given.is_empty() || given.contains(&s.id))
            .map(|s| chip(s.name.clone(), &Pick::Service(s.id)))
            .collect();
        return Ok(reply(
            language,
            f.intent,
            f.awaiting,
            t(
                language,
                "Bạn cần tư vấn dịch vụ nào?",
                "Which service do you need?",
            ),
            chips,
        ));
    };
    let minutes = service_minutes(turn, Some(service)).await?;
    let start = match chosen_start(turn, f, consultant, minutes, None).await? {
        Ok(start) => start,
        Err(reply) => return Ok(reply),
    };
    if turn.customer.is_none()
        && let Some(reply) = verify(turn, f, understanding, raw_text, resend).await?
    {
        return Ok(reply);
    }
    let ends = start + Duration::minutes(minutes);
    let service_name = service_name(turn, service);
    if f.awaiting != Some(Awaiting::Confirm) || answer.is_none() {
        f.awaiting = Some(Awaiting::Confirm);
        return Ok(confirm_question(
            turn,
            f,
            format!(
                "{} {} — {} — {}{}?",
                t(language, "Xác nhận đặt lịch:", "Confirm the booking:"),
                consultant_name(turn, consultant),
                service_name,
                slots::when(language, turn.tenant, start),
                f.topic.as_deref().map_or(String::new(), |topic| format!(
                    " — {} «{topic}»",
                    t(language, "về", "about")
                ))
            ),
        ));
    }
    if answer == Some(false) {
        return Ok(close(
            language,
            f,
            t(
                language,
                "Đã hủy, chưa đặt lịch nào.",
                "OK, nothing was booked.",
            ),
        ));
    }
    let task = SqlTask::Book {
        consultant,
        service: Some(service),
        starts_at: start,
        ends_at: ends,
        topic: f.topic.clone(),
    };
    match turn.run(&task).await? {
        Ok(_) => {
            f.awaiting = None;
            Ok(reply(
                language,
                Intent::Book,
                None,
                t(
                    language,
                    &format!(
                        "Đã đặt lịch với {} lúc {}. Lịch đang chờ xác nhận; bạn sẽ nhận tin khi tư vấn viên xác nhận.",
                        consultant_name(turn, consultant),
                        slots::when(language, turn.tenant, start)
                    ),
                    &format!(
                        "Booked with {} at {}. It is pending until the consultant confirms it.",
                        consultant_name(turn, consultant),
                        slots::when(language, turn.tenant, start)
                    ),
                ),
                Vec::new(),
            ))
        }
        Err(diagnostic) if diagnostic.code == "E-CONFLICT" => {
            // Taken between offer and confirm: say sorry, offer fresh ones.
            forget_slot(turn, f, start);
            offer_after(
                turn,
                f,
                consultant,
                minutes,
                None,
                taken_meanwhile(language),
            )
            .await
        }
        Err(diagnostic) => Ok(refusal(turn, f, &diagnostic)),
    }
}

/// The start to confirm: the one chosen, checked again (a chip may be
/// stale or forged, and the service's length may have changed since it was
/// offered; the database itself only prevents overlaps), or the one asked
/// for by name. Otherwise the reply that says why and offers others.
async fn chosen_start(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    consultant: i64,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Result<DateTime<Utc>, Reply>, ChatError> {
    let language = turn.language;
    let chosen = f.slot.is_some();
    let asked = match (f.slot, f.date, f.time) {
        (Some(start), _, _) => Some(start),
        (None, Some(date), Some(TimeOfDay::At(time))) => {
            slots::local_instant(turn.tenant, date, time)
        }
        _ => None,
    };
    let Some(start) = asked else {
        return offer_slots(turn, f, consultant, minutes, exclude)
            .await
            .map(Err);
    };
    let Err(why) = slots::check(turn, consultant, start, minutes, exclude).await? else {
        f.slot = Some(start);
        return Ok(Ok(start));
    };
    let because = if f.awaiting == Some(Awaiting::Confirm) && why == Unbookable::Taken {
        taken_meanwhile(language)
    } else {
        slots::unbookable_by(
            language,
            turn.tenant,
            start,
            &why,
            &consultant_name(turn, consultant),
        )
    };
    if chosen {
        // A time asked by name keeps its day and time, so the others come
        // nearest to it; a chosen one is dropped for others that day.
        forget_slot(turn, f, start);
    }
    offer_after(turn, f, consultant, minutes, exclude, because)
        .await
        .map(Err)
}

/// Drops the chosen `start`, keeping its day for the next offer.
fn forget_slot(turn: &Turn<'_, '_>, f: &mut Flow, start: DateTime<Utc>) {
    f.slot = None;
    f.time = None;
    f.date = Some(local_date(turn.tenant, start));
}

/// Offers other starts, after saying `because` why.
async fn offer_after(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    consultant: i64,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
    because: String,
) -> Result<Reply, ChatError> {
    let mut reply = offer_slots(turn, f, consultant, minutes, exclude).await?;
    reply.messages[0].text = format!("{because}\n{}", reply.messages[0].text);
    Ok(reply)
}

/// The sorry for a slot someone else took between offer and confirm.
fn taken_meanwhile(language: Language) -> String {
    t(
        language,
        "Xin lỗi, giờ đó vừa có người đặt mất. Bạn chọn giờ khác nhé.",
        "Sorry, that time was just taken. Please choose another.",
    )
}

fn confirm_question(turn: &Turn<'_, '_>, f: &Flow, text: String) -> Reply {
    let language = turn.language;
    reply(
        language,
        f.intent,
        Some(Awaiting::Confirm),
        text,
        vec![
            chip(t(language, "Đồng ý", "Yes"), &Pick::Yes),
            chip(t(language, "Không", "No"), &Pick::No),
        ],
    )
}

fn refusal(
    turn: &Turn<'_, '_>,
    f: &mut Flow,
    diagnostic: &meetassist_compiler::Diagnostic,
) -> Reply {
    let language = turn.language;
    f.awaiting = None;
    tracing::warn!(tenant = turn.tenant.id, sender = turn.psid, code = %diagnostic.code, "write refused");
    let why = match diagnostic.code.as_str() {
        "E-CLOSED" => t(
            language,
            "Lịch hẹn này đã đóng (đã hủy hoặc đã qua).",
            "That appointment is closed (cancelled or over).",
        ),
        "E-NOT-YOURS" => t(
            language,
            "Lịch hẹn này không phải của bạn.",
            "That appointment is not yours.",
        ),
        _ => t(
            language,
            "Mình chưa làm được việc này; nhân viên sẽ hỗ trợ bạn.",
            "I couldn't do that; our staff will help you.",
        ),
    };
    reply(language, f.intent, None, why, menu(language))
}

/// The email check: ask the email, send a code, check it, ask a name if
/// the email is new. Resumes the flow once the customer is verified.
async fn verify(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    understanding: Option<&Understanding>,
    raw_text: &str,
    resend: bool,
) -> Result<Option<Reply>, ChatError> {
    let asked = verify_step(turn, f, understanding, raw_text, resend).await?;
    if asked.is_none() {
        let language = turn.language;
        turn.preface.push(t(
            language,
            "Cảm ơn, bạn đã được xác minh.",
            "Thank you, you are verified.",
        ));
    }
    Ok(asked)
}

/// One step of [`verify`]: `Some` asks the customer something, `None`
/// means verified just now.
async fn verify_step(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    understanding: Option<&Understanding>,
    raw_text: &str,
    resend: bool,
) -> Result<Option<Reply>, ChatError> {
    let language = turn.language;
    let typed_email = understanding.and_then(|u| u.email.clone());
    match f.awaiting {
        Some(Awaiting::Email | Awaiting::Otp) if resend || typed_email.is_some() => {
            let Some(email) = typed_email.or_else(|| f.email.clone()) else {
                return Ok(Some(ask_email(turn, f, None)));
            };
            send_code(turn, f, &email).await.map(Some)
        }
        Some(Awaiting::Email) => Ok(Some(ask_email(
            turn,
            f,
            (!raw_text.is_empty()).then(|| {
                t(
                    language,
                    "Mình chưa thấy địa chỉ email trong tin nhắn.",
                    "I couldn't find an email address in that.",
                )
            }),
        ))),
        Some(Awaiting::Otp) => {
            let Some(code) = understanding.and_then(|u| u.code.clone()) else {
                return Ok(Some(reply(
                    language,
                    f.intent,
                    f.awaiting,
                    t(
                        language,
                        "Bạn nhập mã 6 số trong email giúp mình nhé.",
                        "Please type the 6-digit code from the email.",
                    ),
                    vec![chip(
                        t(language, "Gửi lại mã", "Resend code"),
                        &Pick::Resend,
                    )],
                )));
            };
            let (tenant, psid, now) = (turn.tenant.id, turn.psid, turn.now);
            let outcome = turn
                .engine
                .otp()
                .verify_code(turn.transaction, tenant, psid, &code, now)
                .await
                .map_err(identity_error)?;
            let verified = match outcome {
                Ok(verified) => verified,
                Err(refusal) => return Ok(Some(otp_refusal(turn, f, &refusal))),
            };
            let existing =
                identity::customer_by_email(&**turn.transaction, tenant, &verified.email)
                    .await
                    .map_err(identity_error)?;
            match existing {
                Some(customer) => {
                    link(turn, customer).await?;
                    f.awaiting = None;
                    Ok(None)
                }
                None => {
                    f.email = Some(verified.email.as_str().to_string());
                    f.awaiting = Some(Awaiting::Name);
                    Ok(Some(reply(
                        language,
                        f.intent,
                        f.awaiting,
                        t(
                            language,
                            "Email đã được xác minh. Cho mình xin họ tên của bạn?",
                            "Your email is verified. What is your full name?",
                        ),
                        Vec::new(),
                    )))
                }
            }
        }
        Some(Awaiting::Name) => {
            let name = understanding
                .and_then(|u| u.name.clone())
                .unwrap_or_else(|| raw_text.to_string());
            let name = name.trim().to_string();
            let email = f
                .email
                .as_deref()
                .and_then(|e| identity::EmailAddress::parse(e).ok());
            let (Some(email), true) = (email, (2..=100).contains(&name.chars().count())) else {
                return Ok(Some(reply(
                    language,
                    f.intent,
                    f.awaiting,
                    t(
                        language,
                        "Bạn cho mình họ tên đầy đủ nhé (2–100 ký tự).",
                        "Please give your full name (2–100 characters).",
                    ),
                    Vec::new(),
                )));
            };
            let created = identity::create_customer(
                &**turn.transaction,
                turn.tenant.id,
                &name,
                &email,
                turn.psid,
            )
            .await;
            let customer = match created {
                Ok(customer) => customer,
                // Created meanwhile (another sender with this email).
                Err(identity::IdentityError::EmailTaken { customer, .. }) => customer,
                Err(identity::IdentityError::BadName) => {
                    return Ok(Some(reply(
                        language,
                        f.intent,
                        f.awaiting,
                        t(
                            language,
                            "Tên này chưa hợp lệ; bạn nhập lại họ tên nhé.",
                            "That name can't be used; please type your full name.",
                        ),
                        Vec::new(),
                    )));
                }
                Err(error) => return Err(identity_error(error)),
            };
            link(turn, customer).await?;
            f.awaiting = None;
            Ok(None)
        }
        // "my email is …, show my appointments": no need to ask for it.
        _ => match typed_email {
            Some(email) => send_code(turn, f, &email).await.map(Some),
            None => Ok(Some(ask_email(turn, f, None))),
        },
    }
}

fn identity_error(error: identity::IdentityError) -> ChatError {
    ChatError::Database(error.to_string())
}

/// Links the sender to `customer` for the configured time; the rest of
/// the turn acts for that customer.
async fn link(turn: &mut Turn<'_, '_>, customer: i64) -> Result<(), ChatError> {
    let ttl = turn.engine.config().otp.link_ttl;
    identity::link_sender(
        &**turn.transaction,
        turn.tenant.id,
        turn.psid,
        customer,
        turn.now,
        ttl,
    )
    .await
    .map_err(identity_error)?;
    turn.customer = Some(customer);
    Ok(())
}

fn ask_email(turn: &Turn<'_, '_>, f: &mut Flow, problem: Option<String>) -> Reply {
    let language = turn.language;
    f.awaiting = Some(Awaiting::Email);
    let ask = t(
        language,
        "Để bảo vệ thông tin của bạn, mình cần xác minh email. Bạn cho mình địa chỉ email nhé.",
        "To protect your information I need to verify your email. What is your email address?",
    );
    reply(
        language,
        f.intent,
        f.awaiting,
        problem.map_or(ask.clone(), |p| format!("{p}\n{ask}")),
        Vec::new(),
    )
}

async fn send_code(turn: &mut Turn<'_, '_>, f: &mut Flow, email: &str) -> Result<Reply, ChatError> {
    let language = turn.language;
    let (tenant, psid, now) = (turn.tenant.id, turn.psid, turn.now);
    let outcome = turn
        .engine
        .otp()
        .request_code(turn.transaction, tenant, psid, email, now)
        .await
        .map_err(identity_error)?;
    let issued = match outcome {
        Ok(issued) => issued,
        Err(refusal) => return Ok(otp_refusal(turn, f, &refusal)),
    };
    f.email = Some(issued.email.as_str().to_string());
    f.awaiting = Some(Awaiting::Otp);
    let valid_for = turn.engine.config().otp.ttl;
    let expires_at = issued
        .expires_at
        .with_timezone(&turn.tenant.time_zone)
        .fixed_offset();
    turn.outgoing.push(identity::otp_email(&identity::OtpEmail {
        language,
        tenant_name: &turn.tenant.name,
        from: turn.engine.mail_from(),
        to: &issued.email,
        code: &issued.code,
        expires_at,
        valid_for,
    }));
    let minutes = valid_for.num_minutes();
    Ok(reply(
        language,
        f.intent,
        f.awaiting,
        t(
            language,
            &format!(
                "Mình đã gửi mã 6 số tới {}. Mã có hiệu lực {minutes} phút; bạn nhập mã vào đây nhé.",
                issued.email.as_str()
            ),
            &format!(
                "I've sent a 6-digit code to {}. It is valid for {minutes} minutes; please type it here.",
                issued.email.as_str()
            ),
        ),
        vec![chip(
            t(language, "Gửi lại mã", "Resend code"),
            &Pick::Resend,
        )],
    ))
}

fn otp_refusal(turn: &Turn<'_, '_>, f: &mut Flow, refusal: &OtpRefusal) -> Reply {
    let language = turn.language;
    let tenant = turn.tenant;
    let (text, awaiting, chips) = match refusal {
        OtpRefusal::BadEmail(_) => {
            return ask_email(
                turn,
                f,
                Some(t(
                    language,
                    "Email này chưa đúng định dạng.",
                    "That doesn't look like an email address.",
                )),
            );
        }
        OtpRefusal::Cooldown { retry_at } => (
            t(
                language,
                &format!(
                    "Bạn đợi {} giây rồi yêu cầu mã mới nhé.",
                    seconds_until(turn.now, *retry_at)
                ),
                &format!(
                    "Please wait {} seconds before asking for a new code.",
                    seconds_until(turn.now, *retry_at)
                ),
            ),
            f.awaiting,
            vec![chip(
                t(language, "Gửi lại mã", "Resend code"),
                &Pick::Resend,
            )],
        ),
        OtpRefusal::TooManySends { retry_at } | OtpRefusal::Blocked { until: retry_at } => {
            f.awaiting = None;
            (
                t(
                    language,
                    &format!(
                        "Tạm thời không thể xác minh email này. Bạn thử lại sau {} nhé.",
                        slots::when(language, tenant, *retry_at)
                    ),
                    &format!(
                        "This email can't be verified for now. Please try again after {}.",
                        slots::when(language, tenant, *retry_at)
                    ),
                ),
                None,
                Vec::new(),
            )
        }
        OtpRefusal::Wrong { attempts_left } => (
            t(
                language,
                &format!("Mã chưa đúng. Bạn còn {attempts_left} lần thử."),
                &format!("That code is wrong. {attempts_left} attempts left."),
            ),
            f.awaiting,
            vec![chip(
                t(language, "Gửi lại mã", "Resend code"),
                &Pick::Resend,
            )],
        ),
        OtpRefusal::BadCode(_) => (
            t(
                language,
                "Mã gồm đúng 6 chữ số.",
                "The code is exactly 6 digits.",
            ),
            f.awaiting,
            vec![chip(
                t(language, "Gửi lại mã", "Resend code"),
                &Pick::Resend,
            )],
        ),
        OtpRefusal::Expired | OtpRefusal::NoCode => (
            t(
                language,
                "Mã đã hết hạn hoặc đã dùng. Bấm \"Gửi lại mã\" để nhận mã mới.",
                "That code has expired or was used. Tap \"Resend code\" for a new one.",
            ),
            f.awaiting,
            vec![chip(
                t(language, "Gửi lại mã", "Resend code"),
                &Pick::Resend,
            )],
        ),
    };
    f.awaiting = awaiting;
    reply(language, f.intent, awaiting, text, chips)
}

fn seconds_until(now: DateTime<Utc>, then: DateTime<Utc>) -> i64 {
    (then - now).num_seconds().max(1)
}

/// The customer's upcoming appointments, as rows.
async fn upcoming(turn: &mut Turn<'_, '_>) -> Result<Vec<Value>, ChatError> {
    let now = turn.now;
    turn.read(&SqlTask::MyAppointments { after: now }).await
}

/// One of the customer's appointments, as the flows show and change it.
#[derive(Clone, Debug)]
struct Appointment {
    id: i64,
    /// "9:00 thứ Ba, … — Nguyễn Văn An (chờ xác nhận)".
    line: String,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    consultant: i64,
}

fn appointment_line(turn: &Turn<'_, '_>, row: &Value) -> Option<Appointment> {
    let id = int(row, "id")?;
    let consultant = int(row, "consultant_id")?;
    let starts = parse_instant(text(row, "starts_at")?)?;
    let ends = parse_instant(text(row, "ends_at")?)?;
    let language = turn.language;
    let status = slots::status(language, text(row, "status").unwrap_or(""));
    let line = format!(
        "{} — {} ({status})",
        slots::when(language, turn.tenant, starts),
        consultant_name(turn, consultant)
    );
    Some(Appointment {
        id,
        line,
        starts,
        ends,
        consultant,
    })
}

fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The customer's upcoming appointments; those with `consultant` or on
/// `date` when the customer asked about one ("what time is my appointment
/// with Tuấn?"), all of them when none matches.
async fn my_appointments(
    turn: &mut Turn<'_, '_>,
    consultant: Option<i64>,
    date: Option<NaiveDate>,
) -> Result<Reply, ChatError> {
    let language = turn.language;
    let rows = upcoming(turn).await?;
    let all: Vec<Appointment> = rows
        .iter()
        .filter_map(|row| appointment_line(turn, row))
        .collect();
    let tenant = turn.tenant;
    let asked: Vec<&Appointment> = all
        .iter()
        .filter(|a| consultant.is_none_or(|c| a.consultant == c))
        .filter(|a| date.is_none_or(|d| local_date(tenant, a.starts) == d))
        .collect();
    let bullets = |list: &[&Appointment]| {
        list.iter()
            .map(|a| format!("• {}", a.line))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let filtered = consultant.is_some() || date.is_some();
    let text = if all.is_empty() {
        t(
            language,
            "Bạn chưa có lịch hẹn sắp tới nào.",
            "You have no upcoming appointments.",
        )
    } else if filtered && !asked.is_empty() {
        let with = consultant.map(|c| consultant_name(turn, c));
        let header = match (&with, date) {
            (Some(name), _) => t(
                language,
                &format!("Lịch hẹn của bạn với {name}:"),
                &format!("Your appointments with {name}:"),
            ),
            (None, _) => t(
                language,
                "Lịch hẹn của bạn hôm đó:",
                "Your appointments that day:",
            ),
        };
        format!("{header}\n{}", bullets(&asked))
    } else {
        let everything: Vec<&Appointment> = all.iter().collect();
        let header = t(
            language,
            "Lịch hẹn sắp tới của bạn:",
            "Your upcoming appointments:",
        );
        let none_asked = match consultant {
            Some(c) if filtered => t(
                language,
                &format!(
                    "Bạn không có lịch hẹn sắp tới nào với {}. ",
                    consultant_name(turn, c)
                ),
                &format!(
                    "You have no upcoming appointment with {}. ",
                    consultant_name(turn, c)
                ),
            ),
            None if filtered => t(
                language,
                "Bạn không có lịch hẹn nào hôm đó. ",
                "You have no appointment that day. ",
            ),
            _ => String::new(),
        };
        format!("{none_asked}{header}\n{}", bullets(&everything))
    };
    Ok(reply(
        language,
        Intent::MyAppointments,
        None,
        text,
        menu(language),
    ))
}

/// Cancel or reschedule one of the customer's appointments.
async fn change(
    turn: &mut Turn<'_, '_>,
    f: &mut Flow,
    understanding: Option<&Understanding>,
    raw_text: &str,
    answer: Option<bool>,
    resend: bool,
) -> Result<Reply, ChatError> {
    let language = turn.language;
    if turn.customer.is_none()
        && let Some(reply) = verify(turn, f, understanding, raw_text, resend).await?
    {
        return Ok(reply);
    }
    // "Thôi, không hủy nữa" while asked which appointment: nothing changes.
    if f.awaiting == Some(Awaiting::Appointment) && answer == Some(false) {
        return Ok(close(
            language,
            f,
            t(
                language,
                "Vâng, lịch hẹn của bạn giữ nguyên.",
                "OK, your appointments stay as they are.",
            ),
        ));
    }
    let rows = upcoming(turn).await?;
    let appointments: Vec<_> = rows
        .iter()
        .filter_map(|row| appointment_line(turn, row))
        .collect();
    // The customer may have said which: its day (for a cancel; a
    // reschedule's day is the new one) or its consultant.
    let tenant = turn.tenant;
    let theirs: Vec<&Appointment> = appointments
        .iter()
        .filter(|a| f.consultant.is_none_or(|c| c == a.consultant))
        .collect();
    let on_day = |same: &dyn Fn(NaiveDate, NaiveDate) -> bool| -> Vec<&Appointment> {
        theirs
            .iter()
            .copied()
            .filter(|a| {
                f.intent != Intent::Cancel
                    || f.date.is_none_or(|d| same(local_date(tenant, a.starts), d))
            })
            .collect()
    };
    let mut matching = on_day(&|day, asked| day == asked);
    if matching.is_empty() {
        // "cái lịch thứ 6 với chị Ngọc": a weekday is read as the next
        // one, but the appointment may be a later Friday. The summary
        // names the full date before anything changes.
        use chrono::Datelike;
        matching = on_day(&|day, asked| day.weekday() == asked.weekday());
    }
    let chosen = f
        .appointment
        .and_then(|id| appointments.iter().find(|a| a.id == id))
        .or_else(|| (matching.len() == 1).then(|| matching[0]))
        .cloned();
    let Some(Appointment {
        id: appointment,
        line,
        starts,
        ends,
        consultant,
    }) = chosen
    else {
        if appointments.is_empty() {
            return Ok(close(
                language,
                f,
                t(
                    language,
                    "Bạn không có lịch hẹn sắp tới nào để thay đổi.",
                    "You have no upcoming appointment to change.",
                ),
            ));
        }
        f.awaiting = Some(Awaiting::Appointment);
        let lines: Vec<String> = appointments
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}. {}", i + 1, a.line))
            .collect();
        let chips = appointments
            .iter()
            .map(|a| {
                chip(
                    slots::slot_chip(language, turn.tenant, a.starts),
                    &Pick::Appointment(a.id),
                )
            })
            .collect();
        return Ok(reply(
            language,
            f.intent,
            f.awaiting,
            format!(
                "{}\n{}",
                if f.intent == Intent::Cancel {
                    t(
                        language,
                        "Bạn muốn hủy lịch hẹn nào?",
                        "Which appointment do you want to cancel?",
                    )
                } else {
                    t(
                        language,
                        "Bạn muốn đổi lịch hẹn nào?",
                        "Which appointment do you want to move?",
                    )
                },
                lines.join("\n")
            ),
            chips,
        ));
    };
    f.appointment = Some(appointment);
    if f.intent == Intent::Reschedule {
        f.consultant = Some(consultant);
        if std::mem::take(&mut f.same_time) {
            // "the same time next week": its clock time, on the day named,
            // or on its weekday in the week named.
            use chrono::Datelike;
            let local = starts.with_timezone(&turn.tenant.time_zone);
            f.time = Some(TimeOfDay::At(local.time()));
            if f.date.is_none()
                && let Some(week) = f.from
            {
                let monday =
                    week - Duration::days(i64::from(week.weekday().num_days_from_monday()));
                f.date = Some(
                    monday + Duration::days(i64::from(local.weekday().num_days_from_monday())),
                );
            }
        }
        let minutes = (ends - starts).num_minutes();
        let exclude = Some((starts, ends));
        let new_start = match chosen_start(turn, f, consultant, minutes, exclude).await? {
            Ok(start) => start,
            Err(mut reply) => {
                // Say which appointment the new times are for.
                if let Some(first) = reply.messages.first_mut() {
                    first.text = format!(
                        "{}\n{}",
                        t(
                            language,
                            &format!("Đổi lịch hẹn {line}."),
                            &format!("Moving your appointment {line}."),
                        ),
                        first.text
                    );
                }
                return Ok(reply);
            }
        };
        if f.awaiting != Some(Awaiting::Confirm) || answer.is_none() {
            f.awaiting = Some(Awaiting::Confirm);
            return Ok(confirm_question(
                turn,
                f,
                t(
                    language,
                    &format!(
                        "Đổi lịch {line} sang {}?",
                        slots::when(language, turn.tenant, new_start)
                    ),
                    &format!(
                        "Move {line} to {}?",
                        slots::when(language, turn.tenant, new_start)
                    ),
                ),
            ));
        }
        if answer == Some(false) {
            return Ok(close(
                language,
                f,
                t(
                    language,
                    "Đã giữ nguyên lịch hẹn.",
                    "OK, the appointment stays as it was.",
                ),
            ));
        }
        let task = SqlTask::Reschedule {
            appointment,
            new_starts_at: new_start,
        };
        return match turn.run(&task).await? {
            Ok(_) => {
                f.awaiting = None;
                Ok(reply(
                    language,
                    f.intent,
                    None,
                    t(
                        language,
                        &format!(
                            "Đã đổi lịch sang {}.",
                            slots::when(language, turn.tenant, new_start)
                        ),
                        &format!(
                            "Moved to {}.",
                            slots::when(language, turn.tenant, new_start)
                        ),
                    ),
                    Vec::new(),
                ))
            }
            Err(diagnostic) if diagnostic.code == "E-CONFLICT" => {
                forget_slot(turn, f, new_start);
                offer_after(
                    turn,
                    f,
                    consultant,
                    minutes,
                    exclude,
                    taken_meanwhile(language),
                )
                .await
            }
            Err(diagnostic) => Ok(refusal(turn, f, &diagnostic)),
        };
    }
    // Cancel.
    if f.awaiting != Some(Awaiting::Confirm) || answer.is_none() {
        f.awaiting = Some(Awaiting::Confirm);
        return Ok(confirm_question(
            turn,
            f,
            t(
                language,
                &format!("Hủy lịch hẹn {line}?"),
                &format!("Cancel the appointment {line}?"),
            ),
        ));
    }
    if answer == Some(false) {
        return Ok(close(
            language,
            f,
            t(
                language,
                "Đã giữ nguyên lịch hẹn.",
                "OK, the appointment stays.",
            ),
        ));
    }
    match turn.run(&SqlTask::Cancel { appointment }).await? {
        Ok(_) => {
            f.awaiting = None;
            Ok(reply(
                language,
                f.intent,
                None,
                t(
                    language,
                    &format!("Đã hủy lịch hẹn {line}."),
                    &format!("Cancelled: {line}."),
                ),
                Vec::new(),
            ))
        }
        Err(diagnostic) => Ok(refusal(turn, f, &diagnostic)),
    }
}
