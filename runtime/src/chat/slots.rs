//! Free time, read through model SQL and computed by
//! `meetassist_conversation::availability`, and how it is shown.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use meetassist_conversation::availability::{
    self, Availability, BusySlot, ConsultantId, PartOfDay, Preference, ScheduleException,
    Unbookable, WeeklyHours,
};
use meetassist_conversation::language::Language;
use meetassist_conversation::render;
use meetassist_conversation::tasks::SqlTask;
use meetassist_conversation::understand::{DayPart, TimeOfDay};
use serde_json::Value;

use super::MAX_TITLE_CHARS;
use super::engine::{ChatError, Tenant, Turn};

/// A chip title cut to Messenger's 20 characters.
pub(crate) fn fit_title(title: &str) -> String {
    if title.chars().count() <= MAX_TITLE_CHARS {
        return title.to_string();
    }
    let mut cut: String = title.chars().take(MAX_TITLE_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// "60 phút" / "60 min".
pub(crate) fn duration(language: Language, minutes: i64) -> String {
    render::duration(u32::try_from(minutes).unwrap_or(0), language)
}

/// "500.000 ₫" / "500,000 VND".
pub(crate) fn price(language: Language, vnd: i64) -> String {
    render::price_vnd(vnd, language)
}

/// An instant in a sentence, with its zone.
pub(crate) fn when(language: Language, tenant: &Tenant, at: DateTime<Utc>) -> String {
    render::date_time(at, tenant.time_zone, language)
}

/// The local clock time of an instant: "09:30".
pub(crate) fn clock(tenant: &Tenant, at: DateTime<Utc>) -> String {
    at.with_timezone(&tenant.time_zone)
        .format("%H:%M")
        .to_string()
}

/// A local time of day as a sentence shows it: "08:00" / "8:00 AM".
pub(crate) fn time_of_day(language: Language, time: NaiveTime) -> String {
    match language {
        Language::Vi => time.format("%H:%M").to_string(),
        Language::En => time.format("%-I:%M %p").to_string(),
    }
}

/// The zone times of a local date are in: "giờ Việt Nam, GMT+7".
pub(crate) fn zone(language: Language, tenant: &Tenant, date: NaiveDate) -> String {
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
    let at = local_instant(tenant, date, noon).unwrap_or_default();
    render::zone_label(tenant.time_zone, at, language)
}

/// An instant on a chip.
pub(crate) fn slot_chip(language: Language, tenant: &Tenant, at: DateTime<Utc>) -> String {
    render::chip_title(at, tenant.time_zone, language)
}

/// A date in a sentence.
pub(crate) fn day(language: Language, date: NaiveDate) -> String {
    render::date(date, language)
}

/// A date on a chip: "T3 01/12" / "Tue 1 Dec".
pub(crate) fn day_chip(language: Language, date: NaiveDate) -> String {
    use chrono::Datelike;
    let weekday = render::weekday_short(date.weekday(), language);
    match language {
        Language::Vi => format!("{weekday} {:02}/{:02}", date.day(), date.month()),
        Language::En => format!("{weekday} {}/{}", date.day(), date.month()),
    }
}

/// An appointment status in words.
pub(crate) fn status(language: Language, status: &str) -> String {
    let (vi, en) = match status {
        "pending" => ("chờ xác nhận", "pending"),
        "confirmed" => ("đã xác nhận", "confirmed"),
        "cancelled" => ("đã hủy", "cancelled"),
        "completed" => ("đã xong", "completed"),
        "no_show" => ("vắng mặt", "no-show"),
        other => (other, other),
    };
    match language {
        Language::Vi => vi.to_string(),
        Language::En => en.to_string(),
    }
}

/// The instant of a local date and time in the tenant's zone (the earlier
/// one when the clock repeats; `None` when the clock skips it).
pub(crate) fn local_instant(
    tenant: &Tenant,
    date: NaiveDate,
    time: NaiveTime,
) -> Option<DateTime<Utc>> {
    tenant
        .time_zone
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Why `consultant` cannot take a start, in words.
pub(crate) fn unbookable_by(
    language: Language,
    tenant: &Tenant,
    start: DateTime<Utc>,
    why: &Unbookable,
    consultant: &str,
) -> String {
    match why {
        Unbookable::DayOff { date } => match language {
            Language::Vi => format!("{consultant} nghỉ ngày {}.", day(language, *date)),
            Language::En => format!("{consultant} is off on {}.", day(language, *date)),
        },
        other => unbookable(language, tenant, start, other),
    }
}

/// Why a start is not bookable, in words.
fn unbookable(
    language: Language,
    tenant: &Tenant,
    start: DateTime<Utc>,
    why: &Unbookable,
) -> String {
    let at = when(language, tenant, start);
    let (vi, en) = match why {
        Unbookable::OffGrid => (
            format!("Giờ bắt đầu phải tròn 15 phút (:00, :15, :30, :45); {at} thì không."),
            format!("Starts are on the quarter hour (:00, :15, :30, :45); {at} is not."),
        ),
        Unbookable::Past => (format!("{at} đã qua."), format!("{at} is in the past.")),
        Unbookable::TooSoon { not_before } => (
            format!(
                "Cần đặt trước ít nhất 2 tiếng; sớm nhất là {}.",
                when(language, tenant, *not_before)
            ),
            format!(
                "Bookings need notice; the earliest is {}.",
                when(language, tenant, *not_before)
            ),
        ),
        Unbookable::DayOff { .. } => (
            format!("Tư vấn viên nghỉ vào ngày của {at}."),
            format!("The consultant is off on the day of {at}."),
        ),
        Unbookable::OutsideHours { .. } => (
            format!("{at} nằm ngoài giờ làm việc."),
            format!("{at} is outside working hours."),
        ),
        Unbookable::Taken => (
            format!("{at} đã có người đặt."),
            format!("{at} is already taken."),
        ),
        Unbookable::InvalidDuration => (
            "Dịch vụ chưa có thời lượng.".into(),
            "The service has no duration.".into(),
        ),
    };
    match language {
        Language::Vi => vi,
        Language::En => en,
    }
}

/// A consultant's availability over local dates `from..=to` for a service
/// of `minutes`, read through model SQL. `exclude` is the customer's own
/// appointment being moved: it does not block its new time.
async fn load(
    turn: &mut Turn<'_, '_>,
    consultant: i64,
    from: NaiveDate,
    to: NaiveDate,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Availability, ChatError> {
    let mut team = load_team(turn, &[consultant], from, to, minutes, exclude).await?;
    Ok(team.pop().unwrap_or_else(|| {
        Availability::new(
            turn.tenant.time_zone,
            ConsultantId(consultant),
            Duration::minutes(minutes),
            turn.now,
        )
    }))
}

/// The availability of each of `consultants` (in that order), with three
/// statements for all of them.
pub(crate) async fn load_team(
    turn: &mut Turn<'_, '_>,
    consultants: &[i64],
    from: NaiveDate,
    to: NaiveDate,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Vec<Availability>, ChatError> {
    let tenant = turn.tenant.clone();
    let mut team: Vec<Availability> = consultants
        .iter()
        .map(|id| {
            let mut availability = Availability::new(
                tenant.time_zone,
                ConsultantId(*id),
                Duration::minutes(minutes),
                turn.now,
            );
            availability.notice = turn.engine.config().min_notice;
            availability
        })
        .collect();
    let member = |team: &mut Vec<Availability>, row: &Value| -> Option<usize> {
        let id = int(row, "consultant_id")?;
        team.iter()
            .position(|a| a.consultant_id == ConsultantId(id))
    };
    let weekly = SqlTask::WeeklyHours {
        consultants: consultants.to_vec(),
    };
    for row in turn.read(&weekly).await? {
        if let (Some(index), Some(weekday), Some(start_time), Some(end_time)) = (
            member(&mut team, &row),
            int(&row, "weekday"),
            time(&row, "start_time"),
            time(&row, "end_time"),
        ) {
            team[index].weekly_hours.push(WeeklyHours {
                weekday: i16::try_from(weekday).unwrap_or(0),
                start_time,
                end_time,
            });
        }
    }
    let exceptions = SqlTask::Exceptions {
        consultants: consultants.to_vec(),
        from,
        to,
    };
    for row in turn.read(&exceptions).await? {
        let on_date = row
            .get("on_date")
            .and_then(Value::as_str)
            .and_then(|d| d.parse().ok());
        if let (Some(index), Some(on_date)) = (member(&mut team, &row), on_date) {
            team[index].exceptions.push(ScheduleException {
                on_date,
                start_time: time(&row, "start_time"),
                end_time: time(&row, "end_time"),
            });
        }
    }
    let window_from =
        local_instant(&tenant, from, NaiveTime::MIN).unwrap_or(turn.now) - Duration::days(1);
    let window_to =
        local_instant(&tenant, to, NaiveTime::MIN).unwrap_or(turn.now) + Duration::days(2);
    let busy = SqlTask::Busy {
        consultants: consultants.to_vec(),
        from: window_from,
        to: window_to,
    };
    let mut skipped_own = false;
    for row in turn.read(&busy).await? {
        let (Some(index), Some(starts_at), Some(ends_at)) = (
            member(&mut team, &row),
            instant(&row, "starts_at"),
            instant(&row, "ends_at"),
        ) else {
            continue;
        };
        if !skipped_own && exclude == Some((starts_at, ends_at)) {
            skipped_own = true;
            continue;
        }
        let consultant_id = team[index].consultant_id;
        team[index].busy_slots.push(BusySlot {
            consultant_id,
            starts_at,
            ends_at,
        });
    }
    Ok(team)
}

/// Every bookable start of `consultant` on local dates `from..=to`.
pub(crate) async fn free_starts(
    turn: &mut Turn<'_, '_>,
    consultant: i64,
    from: NaiveDate,
    to: NaiveDate,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Vec<DateTime<Utc>>, ChatError> {
    Ok(load(turn, consultant, from, to, minutes, exclude)
        .await?
        .bookable_starts(from, to))
}

/// Up to five dates after `after` on which `consultant` has room.
pub(crate) async fn free_days(
    turn: &mut Turn<'_, '_>,
    consultant: i64,
    after: NaiveDate,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Vec<NaiveDate>, ChatError> {
    let today = turn.now.with_timezone(&turn.tenant.time_zone).date_naive();
    let from = (after + Duration::days(1)).max(today);
    let to = from + Duration::days(turn.engine.config().horizon_days);
    let starts = free_starts(turn, consultant, from, to, minutes, exclude).await?;
    let mut days: Vec<NaiveDate> = Vec::new();
    for start in starts {
        let date = start.with_timezone(&turn.tenant.time_zone).date_naive();
        if !days.contains(&date) {
            days.push(date);
        }
        if days.len() == turn.engine.config().max_offers {
            break;
        }
    }
    Ok(days)
}

/// Whether `consultant` can take `start` for `minutes`.
pub(crate) async fn check(
    turn: &mut Turn<'_, '_>,
    consultant: i64,
    start: DateTime<Utc>,
    minutes: i64,
    exclude: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Result<(), Unbookable>, ChatError> {
    let date = start.with_timezone(&turn.tenant.time_zone).date_naive();
    Ok(load(turn, consultant, date, date, minutes, exclude)
        .await?
        .is_bookable(start))
}

/// The few of `free` to offer, nearest the wished time first.
pub(crate) fn offer(
    turn: &Turn<'_, '_>,
    free: &[DateTime<Utc>],
    time: Option<TimeOfDay>,
) -> Vec<DateTime<Utc>> {
    let preference = time.map(|time| match time {
        TimeOfDay::At(at) => Preference::Around(at),
        TimeOfDay::Part(DayPart::Morning) => Preference::PartOfDay(PartOfDay::Morning),
        TimeOfDay::Part(DayPart::Afternoon) => Preference::PartOfDay(PartOfDay::Afternoon),
        TimeOfDay::Part(DayPart::Evening) => Preference::PartOfDay(PartOfDay::Evening),
    });
    let config = turn.engine.config();
    let offered = availability::offer(
        free,
        turn.tenant.time_zone,
        config.offer_step,
        config.max_offers,
        preference,
    );
    if let Some(TimeOfDay::At(at)) = time {
        // The very time asked for, when free, comes first, even off the
        // coarser step ("9h30 có rảnh không?" must offer 9:30).
        let zone = turn.tenant.time_zone;
        if let Some(exact) = free
            .iter()
            .find(|s| s.with_timezone(&zone).time() == at)
            .filter(|s| !offered.contains(s))
        {
            let mut offered = offered;
            offered.insert(0, *exact);
            offered.truncate(config.max_offers);
            return offered;
        }
    }
    if offered.is_empty() && matches!(preference, Some(Preference::PartOfDay(_))) {
        // Nothing in that part of the day: the nearest of the rest.
        return availability::offer(
            free,
            turn.tenant.time_zone,
            config.offer_step,
            config.max_offers,
            None,
        );
    }
    offered
}

fn int(row: &Value, column: &str) -> Option<i64> {
    row.get(column)?.as_i64()
}

fn time(row: &Value, column: &str) -> Option<NaiveTime> {
    let text = row.get(column)?.as_str()?;
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .ok()
}

fn instant(row: &Value, column: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(row.get(column)?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
