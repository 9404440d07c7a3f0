//! Free slots: weekly hours − schedule exceptions − busy slots → bookable
//! starts on the 15-minute local grid, and the few offered as quick replies.
//!
//! Everything here is plain data in, plain data out: the runtime reads the
//! rows through guarded SQL and passes them in together with "now".
//!
//! Decisions worth knowing:
//! - Working ranges are local wall-clock times of one local date. They are
//!   turned into UTC instants with the tenant zone, so a slot is measured in
//!   real time even across a DST change.
//! - A grid time that does not exist locally (spring forward) is skipped; one
//!   that exists twice (fall back) means its first pass only.
//! - Ranges of one date that overlap or touch are merged: 08:30–12:00 and
//!   12:00–17:30 are one stretch of work, not two.
//! - Malformed rows fail closed: a weekly range that ends before it starts is
//!   ignored, and an exception with only one of its times set, or with an
//!   empty range, makes the date a day off.

use std::collections::BTreeMap;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The booking grid: every start is a whole quarter hour of local time.
pub const GRID: Duration = Duration::minutes(15);

/// The minimum notice a booking needs unless the tenant says otherwise.
pub const DEFAULT_NOTICE: Duration = Duration::hours(2);

/// The grid in seconds, for arithmetic on times of day.
const GRID_SECONDS: u32 = 15 * 60;

/// The longest run of local time a zone has ever skipped (Samoa skipped a day).
const MAX_GAP_MINUTES: i64 = 25 * 60;

/// A consultant, as `consultants.id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConsultantId(pub i64);

/// One row of `consultant_schedules`: on `weekday` the consultant works `start_time`–`end_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeeklyHours {
    /// 1 = Monday .. 7 = Sunday, as in the schema; other values are ignored.
    pub weekday: i16,
    /// Local time the range starts.
    pub start_time: NaiveTime,
    /// Local time the range ends (exclusive).
    pub end_time: NaiveTime,
}

/// One row of `schedule_exceptions`: both times `None` = day off; both set = only that range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScheduleException {
    /// The local date the exception replaces.
    pub on_date: NaiveDate,
    /// Local start of the only range worked that date, or `None` for a day off.
    pub start_time: Option<NaiveTime>,
    /// Local end of the only range worked that date, or `None` for a day off.
    pub end_time: Option<NaiveTime>,
}

/// One row of the `busy_slots` view: `[starts_at, ends_at)` is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusySlot {
    /// Whose time it is; rows of other consultants are ignored.
    pub consultant_id: ConsultantId,
    /// First instant taken.
    pub starts_at: DateTime<Utc>,
    /// First instant free again (half-open).
    pub ends_at: DateTime<Utc>,
}

/// A local range of working time on one date, `start_time`–`end_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkingRange {
    /// Local start.
    pub start_time: NaiveTime,
    /// Local end (exclusive).
    pub end_time: NaiveTime,
}

/// Everything needed to say when one consultant can take one service.
#[derive(Clone, Debug, PartialEq)]
pub struct Availability {
    /// The tenant's time zone: the grid, the dates and the hours are local to it.
    pub time_zone: Tz,
    /// The consultant the hours, exceptions and slots are about.
    pub consultant_id: ConsultantId,
    /// The consultant's `consultant_schedules` rows.
    pub weekly_hours: Vec<WeeklyHours>,
    /// The consultant's `schedule_exceptions` rows.
    pub exceptions: Vec<ScheduleException>,
    /// `busy_slots` rows; rows of other consultants are ignored.
    pub busy_slots: Vec<BusySlot>,
    /// How long the service takes; not positive means nothing is bookable.
    pub duration: Duration,
    /// How far ahead of `now` a booking must start.
    pub notice: Duration,
    /// The current instant, passed in because this crate has no clock.
    pub now: DateTime<Utc>,
}

/// Why a start cannot be booked; the bot turns it into a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unbookable {
    /// Not a whole quarter hour of local time (or the second pass of a repeated hour).
    #[error("starts must fall on the 15-minute grid (:00, :15, :30, :45)")]
    OffGrid,
    /// The start is before now.
    #[error("that time has passed")]
    Past,
    /// The start is after now but inside the minimum notice.
    #[error("bookings need notice: the earliest start is {not_before}")]
    TooSoon {
        /// The first instant that respects the notice.
        not_before: DateTime<Utc>,
    },
    /// The consultant does not work that date at all.
    #[error("the consultant does not work on {date}")]
    DayOff {
        /// The local date asked for.
        date: NaiveDate,
    },
    /// The consultant works that date, but the service does not fit in one range.
    #[error("outside the consultant's hours on {date}")]
    OutsideHours {
        /// The local date asked for.
        date: NaiveDate,
        /// The ranges worked that date, for the reply.
        hours: Vec<WorkingRange>,
    },
    /// Another appointment overlaps.
    #[error("the consultant already has an appointment then")]
    Taken,
    /// The service duration is zero or negative.
    #[error("the service has no duration")]
    InvalidDuration,
}

/// One local date's working time: the local ranges and the same as UTC spans.
struct Day {
    date: NaiveDate,
    hours: Vec<WorkingRange>,
    spans: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl Availability {
    /// A consultant with no hours yet, the default notice and the given service duration.
    pub fn new(
        time_zone: Tz,
        consultant_id: ConsultantId,
        duration: Duration,
        now: DateTime<Utc>,
    ) -> Self {
        Availability {
            time_zone,
            consultant_id,
            weekly_hours: Vec::new(),
            exceptions: Vec::new(),
            busy_slots: Vec::new(),
            duration,
            notice: DEFAULT_NOTICE,
            now,
        }
    }

    /// The local ranges worked on `date`, merged and sorted; empty = not working.
    pub fn working_hours(&self, date: NaiveDate) -> Vec<WorkingRange> {
        let todays: Vec<&ScheduleException> = self
            .exceptions
            .iter()
            .filter(|e| e.on_date == date)
            .collect();
        let mut ranges: Vec<WorkingRange> = if todays.is_empty() {
            let weekday = date.weekday().number_from_monday();
            self.weekly_hours
                .iter()
                .filter(|w| u32::try_from(w.weekday) == Ok(weekday) && w.start_time < w.end_time)
                .map(|w| WorkingRange {
                    start_time: w.start_time,
                    end_time: w.end_time,
                })
                .collect()
        } else {
            let mut ranges = Vec::new();
            for e in todays {
                match (e.start_time, e.end_time) {
                    (Some(start_time), Some(end_time)) if start_time < end_time => {
                        ranges.push(WorkingRange {
                            start_time,
                            end_time,
                        });
                    }
                    // A day off, or a row too broken to trust: not working.
                    _ => return Vec::new(),
                }
            }
            ranges
        };
        ranges.sort();
        let mut merged: Vec<WorkingRange> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(last) if r.start_time <= last.end_time => {
                    last.end_time = last.end_time.max(r.end_time);
                }
                _ => merged.push(r),
            }
        }
        merged
    }

    /// Every bookable start whose local date is in `from..=to`, ascending.
    pub fn bookable_starts(&self, from: NaiveDate, to: NaiveDate) -> Vec<DateTime<Utc>> {
        let mut starts = Vec::new();
        if self.duration <= Duration::zero() {
            return starts;
        }
        let busy = self.busy_intervals();
        for date in from.iter_days().take_while(|d| *d <= to) {
            let day = self.day(date);
            for range in &day.hours {
                let first = ceil_to_grid(range.start_time.num_seconds_from_midnight());
                let end = range.end_time.num_seconds_from_midnight();
                for secs in (first..end).step_by(GRID_SECONDS as usize) {
                    let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(secs, 0) else {
                        continue;
                    };
                    let Some(start) = local_start(self.time_zone, date.and_time(time)) else {
                        continue;
                    };
                    if self.check(start, &day, &busy).is_ok() {
                        starts.push(start);
                    }
                }
            }
        }
        starts.sort();
        starts.dedup();
        starts
    }

    /// Whether `start` can be booked, and if not, the first reason why.
    pub fn is_bookable(&self, start: DateTime<Utc>) -> Result<(), Unbookable> {
        if self.duration <= Duration::zero() {
            return Err(Unbookable::InvalidDuration);
        }
        let offset = self
            .time_zone
            .offset_from_utc_datetime(&start.naive_utc())
            .fix();
        // Only an instant at the very edge of chrono's range has no local time.
        let Some(local) = start.naive_utc().checked_add_offset(offset) else {
            return Err(Unbookable::OffGrid);
        };
        let on_grid = local.nanosecond() == 0
            && local
                .time()
                .num_seconds_from_midnight()
                .is_multiple_of(GRID_SECONDS);
        // The second pass of a repeated hour is not a start we ever offer.
        if !on_grid || local_start(self.time_zone, local) != Some(start) {
            return Err(Unbookable::OffGrid);
        }
        let day = self.day(local.date());
        self.check(start, &day, &self.busy_intervals())
    }

    /// The consultant's busy intervals, non-empty ones only.
    fn busy_intervals(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.busy_slots
            .iter()
            .filter(|b| b.consultant_id == self.consultant_id && b.starts_at < b.ends_at)
            .map(|b| (b.starts_at, b.ends_at))
            .collect()
    }

    /// The working time of one local date, in both local and UTC terms.
    fn day(&self, date: NaiveDate) -> Day {
        let hours = self.working_hours(date);
        let spans = hours
            .iter()
            .filter_map(|r| {
                let start = bound_instant(self.time_zone, date.and_time(r.start_time))?;
                let end = bound_instant(self.time_zone, date.and_time(r.end_time))?;
                Some((start, end))
            })
            .collect();
        Day { date, hours, spans }
    }

    /// The checks after the grid, shared so listing and asking always agree.
    fn check(
        &self,
        start: DateTime<Utc>,
        day: &Day,
        busy: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<(), Unbookable> {
        if start < self.now {
            return Err(Unbookable::Past);
        }
        match self.now.checked_add_signed(self.notice) {
            Some(not_before) if start >= not_before => {}
            Some(not_before) => return Err(Unbookable::TooSoon { not_before }),
            // Notice reaches past the end of time: nothing is ever far enough.
            None => {
                return Err(Unbookable::TooSoon {
                    not_before: DateTime::<Utc>::MAX_UTC,
                });
            }
        }
        if day.hours.is_empty() {
            return Err(Unbookable::DayOff { date: day.date });
        }
        let outside = || Unbookable::OutsideHours {
            date: day.date,
            hours: day.hours.clone(),
        };
        let end = start
            .checked_add_signed(self.duration)
            .ok_or_else(outside)?;
        if !day
            .spans
            .iter()
            .any(|&(from, to)| from <= start && end <= to)
        {
            return Err(outside());
        }
        if busy.iter().any(|&(from, to)| from < end && start < to) {
            return Err(Unbookable::Taken);
        }
        Ok(())
    }
}

/// A start at which at least one consultant of a team is free, and who.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeStart {
    /// The start instant.
    pub start: DateTime<Utc>,
    /// Every consultant who can take it, in the order of the team.
    pub consultants: Vec<ConsultantId>,
}

/// Bookable starts of several consultants merged: one entry per start, ascending.
pub fn team_starts(team: &[Availability], from: NaiveDate, to: NaiveDate) -> Vec<FreeStart> {
    let mut merged: BTreeMap<DateTime<Utc>, Vec<ConsultantId>> = BTreeMap::new();
    for availability in team {
        for start in availability.bookable_starts(from, to) {
            let who = merged.entry(start).or_default();
            if !who.contains(&availability.consultant_id) {
                who.push(availability.consultant_id);
            }
        }
    }
    merged
        .into_iter()
        .map(|(start, consultants)| FreeStart { start, consultants })
        .collect()
}

/// Who of a team can take `start` ("anyone free at 9h tomorrow?").
pub fn who_is_free(team: &[Availability], start: DateTime<Utc>) -> Vec<ConsultantId> {
    let mut who = Vec::new();
    for a in team {
        if a.is_bookable(start).is_ok() && !who.contains(&a.consultant_id) {
            who.push(a.consultant_id);
        }
    }
    who
}

/// A part of the day a customer may ask for ("sáng", "chiều"...), by local start time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartOfDay {
    /// Sáng: starts before 12:00.
    Morning,
    /// Trưa: starts from 11:00 to before 14:00.
    Noon,
    /// Chiều: starts from 12:00 to before 18:00.
    Afternoon,
    /// Tối: starts from 18:00.
    Evening,
}

impl PartOfDay {
    /// Whether a local start time belongs to this part of the day.
    pub fn contains(self, time: NaiveTime) -> bool {
        let hour = time.hour();
        match self {
            PartOfDay::Morning => hour < 12,
            PartOfDay::Noon => (11..14).contains(&hour),
            PartOfDay::Afternoon => (12..18).contains(&hour),
            PartOfDay::Evening => hour >= 18,
        }
    }
}

/// What the customer would like, to choose and order the offered starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preference {
    /// Only starts in this part of the day (empty if none: the bot may ask again without it).
    PartOfDay(PartOfDay),
    /// Starts nearest this local time of day on any date, earlier dates first on ties.
    Around(NaiveTime),
    /// Starts nearest this instant, earlier first on ties.
    Near(DateTime<Utc>),
}

/// At most `max` of `starts` to offer as quick replies, nearest first.
///
/// Nearest means nearest to the preference, or earliest without one. Starts
/// on the coarser `step` of local time (e.g. every hour) come first; when
/// they are fewer than `max`, the rest is filled with grid starts at least a
/// `step` apart, then half a `step` apart, and with any only to reach two.
/// Only members of `starts` are ever returned.
pub fn offer(
    starts: &[DateTime<Utc>],
    time_zone: Tz,
    step: Duration,
    max: usize,
    preferred: Option<Preference>,
) -> Vec<DateTime<Utc>> {
    let mut candidates: Vec<DateTime<Utc>> = starts.to_vec();
    candidates.sort();
    candidates.dedup();
    let local_time = |s: &DateTime<Utc>| s.with_timezone(&time_zone).time();
    if let Some(Preference::PartOfDay(part)) = preferred {
        candidates.retain(|s| part.contains(local_time(s)));
    }
    let distance = |s: &DateTime<Utc>| -> i64 {
        match preferred {
            Some(Preference::Near(at)) => (*s - at).num_seconds().abs(),
            Some(Preference::Around(at)) => {
                let secs = i64::from(local_time(s).num_seconds_from_midnight());
                (secs - i64::from(at.num_seconds_from_midnight())).abs()
            }
            Some(Preference::PartOfDay(_)) | None => 0,
        }
    };
    // Stable sort keeps ascending time among equally near starts.
    candidates.sort_by_key(distance);

    let step_seconds = step.num_seconds();
    let aligned = |s: &DateTime<Utc>| {
        step_seconds <= 0
            || i64::from(local_time(s).num_seconds_from_midnight()) % step_seconds == 0
    };
    let mut picked: Vec<DateTime<Utc>> = Vec::with_capacity(max);
    for s in candidates.iter().filter(|s| aligned(s)) {
        if picked.len() >= max {
            break;
        }
        picked.push(*s);
    }
    // Then starts a step apart, then half a step apart: a list of choices
    // reads as a spread of the day, not a cluster (8:30, 8:45, 9:00).
    for spacing in [step_seconds, step_seconds / 2] {
        for s in &candidates {
            if picked.len() >= max {
                break;
            }
            let spaced = picked
                .iter()
                .all(|p| (*s - *p).num_seconds().abs() >= spacing);
            if spaced && !picked.contains(s) {
                picked.push(*s);
            }
        }
    }
    // Any start at all only when that leaves fewer than two choices.
    for s in &candidates {
        if picked.len() >= max.min(2) {
            break;
        }
        if !picked.contains(s) {
            picked.push(*s);
        }
    }
    picked.sort_by_key(|s| (distance(s), *s));
    picked
}

/// Seconds from midnight rounded up to the grid.
fn ceil_to_grid(seconds: u32) -> u32 {
    seconds.div_ceil(GRID_SECONDS) * GRID_SECONDS
}

/// The instant a local grid time starts: none if it does not exist, the first if repeated.
fn local_start(time_zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    time_zone
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The instant a range bound means: inside a spring-forward gap, the moment the clocks jump.
fn bound_instant(time_zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    (0..=MAX_GAP_MINUTES).find_map(|minutes| {
        let shifted = local.checked_add_signed(Duration::minutes(minutes))?;
        local_start(time_zone, shifted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh as VIETNAM;
    use chrono_tz::Europe::Berlin;

    const AN: ConsultantId = ConsultantId(1);
    const NGOC: ConsultantId = ConsultantId(2);

    fn t(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).unwrap()
    }

    fn d(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).unwrap()
    }

    /// A local wall-clock time in `tz` as an instant (earliest if repeated).
    fn at(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        tz.from_local_datetime(&date.and_time(t(hour, minute)))
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    /// Tuesday 1 Dec 2026, Hanoi/Saigon time.
    fn tue() -> NaiveDate {
        d(2026, 12, 1)
    }

    fn vn(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        at(VIETNAM, date, hour, minute)
    }

    fn local_times(tz: Tz, starts: &[DateTime<Utc>]) -> Vec<String> {
        starts
            .iter()
            .map(|s| s.with_timezone(&tz).format("%m-%d %H:%M").to_string())
            .collect()
    }

    /// Mon–Fri 08:30–12:00 and 13:30–17:30, Sat 08:30–11:30: consultant 1 of the seed.
    fn office_hours() -> Vec<WeeklyHours> {
        let mut hours = Vec::new();
        for weekday in 1..=5 {
            hours.push(WeeklyHours {
                weekday,
                start_time: t(8, 30),
                end_time: t(12, 0),
            });
            hours.push(WeeklyHours {
                weekday,
                start_time: t(13, 30),
                end_time: t(17, 30),
            });
        }
        hours.push(WeeklyHours {
            weekday: 6,
            start_time: t(8, 30),
            end_time: t(11, 30),
        });
        hours
    }

    /// Consultant 1, one hour service, now = Monday 30 Nov 2026 08:00.
    fn an(minutes: i64) -> Availability {
        let mut a = Availability::new(
            VIETNAM,
            AN,
            Duration::minutes(minutes),
            vn(d(2026, 11, 30), 8, 0),
        );
        a.weekly_hours = office_hours();
        a
    }

    fn busy(consultant_id: ConsultantId, from: DateTime<Utc>, to: DateTime<Utc>) -> BusySlot {
        BusySlot {
            consultant_id,
            starts_at: from,
            ends_at: to,
        }
    }

    #[test]
    fn a_slot_ending_exactly_at_end_time_fits_and_one_overrunning_does_not() {
        let a = an(60);
        assert_eq!(a.is_bookable(vn(tue(), 8, 30)), Ok(()));
        assert_eq!(a.is_bookable(vn(tue(), 11, 0)), Ok(()));
        assert_eq!(a.is_bookable(vn(tue(), 16, 30)), Ok(()));
        let outside = Err(Unbookable::OutsideHours {
            date: tue(),
            hours: vec![
                WorkingRange {
                    start_time: t(8, 30),
                    end_time: t(12, 0),
                },
                WorkingRange {
                    start_time: t(13, 30),
                    end_time: t(17, 30),
                },
            ],
        });
        assert_eq!(a.is_bookable(vn(tue(), 11, 15)), outside);
        assert_eq!(a.is_bookable(vn(tue(), 16, 45)), outside);
        assert_eq!(a.is_bookable(vn(tue(), 8, 15)), outside);
        assert_eq!(a.is_bookable(vn(tue(), 17, 30)), outside);
    }

    #[test]
    fn the_lunch_break_splits_the_day_in_two_ranges() {
        let a = an(60);
        let starts = local_times(VIETNAM, &a.bookable_starts(tue(), tue()));
        let expected: Vec<String> = [
            "08:30", "08:45", "09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30",
            "10:45", "11:00", "13:30", "13:45", "14:00", "14:15", "14:30", "14:45", "15:00",
            "15:15", "15:30", "15:45", "16:00", "16:15", "16:30",
        ]
        .iter()
        .map(|hm| format!("12-01 {hm}"))
        .collect();
        assert_eq!(starts, expected);
        // 90 minutes cannot straddle lunch.
        let a = an(90);
        assert_eq!(a.is_bookable(vn(tue(), 10, 30)), Ok(()));
        assert!(matches!(
            a.is_bookable(vn(tue(), 11, 0)),
            Err(Unbookable::OutsideHours { .. })
        ));
        assert!(matches!(
            a.is_bookable(vn(tue(), 12, 0)),
            Err(Unbookable::OutsideHours { .. })
        ));
        assert_eq!(a.is_bookable(vn(tue(), 13, 30)), Ok(()));
    }

    #[test]
    fn touching_ranges_are_one_stretch_of_work() {
        let mut a = an(60);
        a.weekly_hours = vec![
            WeeklyHours {
                weekday: 2,
                start_time: t(8, 0),
                end_time: t(12, 0),
            },
            WeeklyHours {
                weekday: 2,
                start_time: t(12, 0),
                end_time: t(13, 0),
            },
            WeeklyHours {
                weekday: 2,
                start_time: t(12, 30),
                end_time: t(14, 0),
            },
        ];
        assert_eq!(
            a.working_hours(tue()),
            vec![WorkingRange {
                start_time: t(8, 0),
                end_time: t(14, 0)
            }]
        );
        assert_eq!(a.is_bookable(vn(tue(), 11, 30)), Ok(()));
    }

    #[test]
    fn a_day_off_and_a_weekday_without_hours_are_days_off() {
        let mut a = an(60);
        a.exceptions.push(ScheduleException {
            on_date: tue(),
            start_time: None,
            end_time: None,
        });
        assert_eq!(
            a.is_bookable(vn(tue(), 9, 0)),
            Err(Unbookable::DayOff { date: tue() })
        );
        assert!(a.bookable_starts(tue(), tue()).is_empty());
        // Sunday has no weekly hours.
        let sunday = d(2026, 12, 6);
        assert_eq!(
            a.is_bookable(vn(sunday, 9, 0)),
            Err(Unbookable::DayOff { date: sunday })
        );
        // Wednesday is untouched by Tuesday's exception.
        assert_eq!(a.bookable_starts(d(2026, 12, 2), d(2026, 12, 2)).len(), 24);
    }

    #[test]
    fn an_exception_with_hours_replaces_the_weekly_hours() {
        let mut a = an(60);
        a.exceptions.push(ScheduleException {
            on_date: tue(),
            start_time: Some(t(13, 0)),
            end_time: Some(t(15, 0)),
        });
        let starts = local_times(VIETNAM, &a.bookable_starts(tue(), tue()));
        assert_eq!(
            starts,
            [
                "12-01 13:00",
                "12-01 13:15",
                "12-01 13:30",
                "12-01 13:45",
                "12-01 14:00"
            ]
        );
        assert_eq!(
            a.is_bookable(vn(tue(), 9, 0)),
            Err(Unbookable::OutsideHours {
                date: tue(),
                hours: vec![WorkingRange {
                    start_time: t(13, 0),
                    end_time: t(15, 0)
                }],
            })
        );
    }

    #[test]
    fn a_broken_exception_fails_closed() {
        let mut a = an(60);
        a.exceptions.push(ScheduleException {
            on_date: tue(),
            start_time: Some(t(13, 0)),
            end_time: None,
        });
        assert!(a.bookable_starts(tue(), tue()).is_empty());
        let mut a = an(60);
        a.exceptions.push(ScheduleException {
            on_date: tue(),
            start_time: Some(t(15, 0)),
            end_time: Some(t(13, 0)),
        });
        assert_eq!(
            a.is_bookable(vn(tue(), 9, 0)),
            Err(Unbookable::DayOff { date: tue() })
        );
    }

    #[test]
    fn busy_slots_block_partial_and_containing_overlaps_but_not_adjacent_ones() {
        let mut a = an(60);
        a.busy_slots = vec![
            busy(AN, vn(tue(), 9, 0), vn(tue(), 10, 0)),
            busy(AN, vn(tue(), 13, 0), vn(tue(), 18, 0)),
            // Someone else's appointment, and an empty row: neither blocks.
            busy(NGOC, vn(tue(), 10, 0), vn(tue(), 12, 0)),
            busy(AN, vn(tue(), 11, 0), vn(tue(), 11, 0)),
        ];
        assert_eq!(a.is_bookable(vn(tue(), 8, 30)), Err(Unbookable::Taken)); // overlaps its start
        assert_eq!(a.is_bookable(vn(tue(), 9, 30)), Err(Unbookable::Taken)); // overlaps its end
        assert_eq!(a.is_bookable(vn(tue(), 9, 0)), Err(Unbookable::Taken)); // the same hour
        assert_eq!(a.is_bookable(vn(tue(), 14, 0)), Err(Unbookable::Taken)); // contained
        assert_eq!(a.is_bookable(vn(tue(), 10, 0)), Ok(())); // starts when it ends
        let starts = local_times(VIETNAM, &a.bookable_starts(tue(), tue()));
        assert_eq!(
            starts,
            [
                "12-01 10:00",
                "12-01 10:15",
                "12-01 10:30",
                "12-01 10:45",
                "12-01 11:00"
            ]
        );
        // A slot that contains a short appointment is blocked too.
        a.busy_slots = vec![busy(AN, vn(tue(), 9, 20), vn(tue(), 9, 40))];
        assert_eq!(a.is_bookable(vn(tue(), 9, 0)), Err(Unbookable::Taken));
        assert_eq!(
            a.is_bookable(vn(tue(), 8, 15 + 5)),
            Err(Unbookable::OffGrid)
        );
        assert_eq!(a.is_bookable(vn(tue(), 9, 45)), Ok(()));
    }

    #[test]
    fn the_minimum_notice_and_the_past() {
        let mut a = an(60);
        a.now = vn(tue(), 7, 40);
        let not_before = vn(tue(), 9, 40);
        assert_eq!(
            a.is_bookable(vn(tue(), 9, 30)),
            Err(Unbookable::TooSoon { not_before })
        );
        assert_eq!(a.is_bookable(vn(tue(), 9, 45)), Ok(()));
        assert_eq!(
            a.bookable_starts(tue(), tue()).first(),
            Some(&vn(tue(), 9, 45))
        );
        assert_eq!(a.is_bookable(vn(tue(), 7, 0)), Err(Unbookable::Past));
        assert_eq!(
            a.is_bookable(vn(d(2026, 11, 30), 9, 0)),
            Err(Unbookable::Past)
        );
        // Exactly now + notice is soon enough.
        a.now = vn(tue(), 7, 30);
        assert_eq!(a.is_bookable(vn(tue(), 9, 30)), Ok(()));
        // No notice: anything not yet past.
        a.notice = Duration::zero();
        a.now = vn(tue(), 8, 30);
        assert_eq!(a.is_bookable(vn(tue(), 8, 30)), Ok(()));
        a.now = vn(tue(), 8, 31);
        assert_eq!(a.is_bookable(vn(tue(), 8, 30)), Err(Unbookable::Past));
        // A range asked for entirely in the past has nothing.
        assert!(
            a.bookable_starts(d(2026, 11, 1), d(2026, 11, 30))
                .is_empty()
        );
    }

    #[test]
    fn starts_are_on_the_local_quarter_hour_grid() {
        let mut a = an(30);
        a.weekly_hours = vec![WeeklyHours {
            weekday: 2,
            start_time: t(8, 10),
            end_time: t(9, 20),
        }];
        let starts = local_times(VIETNAM, &a.bookable_starts(tue(), tue()));
        assert_eq!(starts, ["12-01 08:15", "12-01 08:30", "12-01 08:45"]);
        assert_eq!(a.is_bookable(vn(tue(), 8, 10)), Err(Unbookable::OffGrid));
        assert_eq!(a.is_bookable(vn(tue(), 8, 40)), Err(Unbookable::OffGrid));
        let half_a_minute_late = vn(tue(), 8, 30) + Duration::seconds(30);
        assert_eq!(a.is_bookable(half_a_minute_late), Err(Unbookable::OffGrid));
        let a_nanosecond_late = vn(tue(), 8, 30) + Duration::nanoseconds(1);
        assert_eq!(a.is_bookable(a_nanosecond_late), Err(Unbookable::OffGrid));
        // Off-grid is reported before anything else, even for a past time.
        a.now = vn(tue(), 12, 0);
        assert_eq!(a.is_bookable(vn(tue(), 8, 40)), Err(Unbookable::OffGrid));
    }

    #[test]
    fn a_45_minute_service_uses_the_same_grid() {
        let a = an(45);
        let starts = a.bookable_starts(tue(), tue());
        let local = local_times(VIETNAM, &starts);
        assert_eq!(local.first().map(String::as_str), Some("12-01 08:30"));
        assert!(local.contains(&"12-01 11:15".to_owned())); // ends 12:00
        assert!(!local.contains(&"12-01 11:30".to_owned()));
        assert_eq!(local.last().map(String::as_str), Some("12-01 16:45")); // ends 17:30
        assert_eq!(starts.len(), 12 + 14);
        assert_eq!(a.is_bookable(vn(tue(), 11, 15)), Ok(()));
    }

    #[test]
    fn no_duration_means_nothing_is_bookable() {
        let a = an(0);
        assert!(a.bookable_starts(tue(), tue()).is_empty());
        assert_eq!(
            a.is_bookable(vn(tue(), 9, 0)),
            Err(Unbookable::InvalidDuration)
        );
    }

    #[test]
    fn an_empty_or_reversed_date_range_has_no_starts() {
        let a = an(60);
        assert!(a.bookable_starts(d(2026, 12, 2), tue()).is_empty());
        assert!(a.bookable_starts(NaiveDate::MAX, NaiveDate::MAX).is_empty());
    }

    #[test]
    fn the_edges_of_time_do_not_panic() {
        for tz in [VIETNAM, chrono_tz::America::New_York] {
            let mut a = an(60);
            a.time_zone = tz;
            a.now = DateTime::<Utc>::MIN_UTC;
            a.weekly_hours = (1..=7)
                .map(|weekday| WeeklyHours {
                    weekday,
                    start_time: t(0, 0),
                    end_time: t(23, 45),
                })
                .collect();
            for instant in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                assert!(a.is_bookable(instant).is_err());
            }
            let first = NaiveDate::MIN;
            let last = NaiveDate::MAX;
            assert!(a.bookable_starts(first, first + Duration::days(1)).len() > 80);
            assert!(a.bookable_starts(last - Duration::days(1), last).len() > 80);
            a.notice = Duration::MAX;
            a.now = vn(tue(), 8, 0);
            assert!(a.bookable_starts(tue(), tue()).is_empty());
            let far = a.is_bookable(vn(tue(), 12, 0));
            assert!(matches!(far, Err(Unbookable::TooSoon { .. })));
        }
    }

    #[test]
    fn spring_forward_skips_the_missing_hour_and_measures_real_time() {
        // Berlin, Sunday 29 Mar 2026: 02:00 CET jumps to 03:00 CEST.
        let sunday = d(2026, 3, 29);
        let mut a = Availability::new(
            Berlin,
            AN,
            Duration::minutes(60),
            at(Berlin, d(2026, 3, 27), 9, 0),
        );
        a.weekly_hours = vec![WeeklyHours {
            weekday: 7,
            start_time: t(1, 0),
            end_time: t(4, 0),
        }];
        let starts = a.bookable_starts(sunday, sunday);
        // 01:00–04:00 on the wall is two real hours; 03:15 + 1 h would end after 04:00.
        assert_eq!(
            local_times(Berlin, &starts),
            [
                "03-29 01:00",
                "03-29 01:15",
                "03-29 01:30",
                "03-29 01:45",
                "03-29 03:00"
            ]
        );
        for s in &starts {
            assert_eq!(a.is_bookable(*s), Ok(()));
        }
        // The UTC offsets differ across the jump.
        assert_eq!(
            starts.first(),
            Some(&Utc.with_ymd_and_hms(2026, 3, 29, 0, 0, 0).unwrap())
        );
        assert_eq!(
            starts.last(),
            Some(&Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap())
        );
        // A range that starts inside the gap starts when the clocks jump.
        a.weekly_hours = vec![WeeklyHours {
            weekday: 7,
            start_time: t(2, 30),
            end_time: t(5, 0),
        }];
        assert_eq!(
            local_times(Berlin, &a.bookable_starts(sunday, sunday)),
            [
                "03-29 03:00",
                "03-29 03:15",
                "03-29 03:30",
                "03-29 03:45",
                "03-29 04:00"
            ]
        );
        // An ordinary Monday afterwards keeps its wall-clock hours.
        a.weekly_hours = vec![WeeklyHours {
            weekday: 1,
            start_time: t(9, 0),
            end_time: t(10, 0),
        }];
        let monday = d(2026, 3, 30);
        assert_eq!(
            local_times(Berlin, &a.bookable_starts(monday, monday)),
            ["03-30 09:00"]
        );
    }

    #[test]
    fn fall_back_offers_the_repeated_hour_once() {
        // Berlin, Sunday 25 Oct 2026: 03:00 CEST goes back to 02:00 CET.
        let sunday = d(2026, 10, 25);
        let mut a = Availability::new(
            Berlin,
            AN,
            Duration::minutes(60),
            at(Berlin, d(2026, 10, 23), 9, 0),
        );
        a.weekly_hours = vec![WeeklyHours {
            weekday: 7,
            start_time: t(1, 0),
            end_time: t(4, 0),
        }];
        let starts = a.bookable_starts(sunday, sunday);
        assert_eq!(
            local_times(Berlin, &starts),
            [
                "10-25 01:00",
                "10-25 01:15",
                "10-25 01:30",
                "10-25 01:45",
                "10-25 02:00",
                "10-25 02:15",
                "10-25 02:30",
                "10-25 02:45",
                "10-25 03:00"
            ]
        );
        // 02:00 means its first pass (CEST, 00:00 UTC); the second pass is not a start.
        assert!(starts.contains(&Utc.with_ymd_and_hms(2026, 10, 25, 0, 0, 0).unwrap()));
        let second_pass = Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap();
        assert_eq!(a.is_bookable(second_pass), Err(Unbookable::OffGrid));
        // 01:00–04:00 on the wall is four real hours: 03:00 CET + 1 h ends at 04:00.
        assert_eq!(
            starts.last(),
            Some(&Utc.with_ymd_and_hms(2026, 10, 25, 2, 0, 0).unwrap())
        );
    }

    #[test]
    fn is_bookable_explains_each_reason() {
        let mut a = an(60);
        a.now = vn(tue(), 8, 0);
        a.busy_slots = vec![busy(
            AN,
            vn(d(2026, 12, 2), 9, 0),
            vn(d(2026, 12, 2), 10, 0),
        )];
        a.exceptions.push(ScheduleException {
            on_date: d(2026, 12, 3),
            start_time: None,
            end_time: None,
        });
        let cases = [
            (vn(tue(), 9, 10), Err(Unbookable::OffGrid)),
            (vn(tue(), 7, 0), Err(Unbookable::Past)),
            (
                vn(tue(), 9, 0),
                Err(Unbookable::TooSoon {
                    not_before: vn(tue(), 10, 0),
                }),
            ),
            (
                vn(d(2026, 12, 3), 9, 0),
                Err(Unbookable::DayOff {
                    date: d(2026, 12, 3),
                }),
            ),
            (vn(d(2026, 12, 2), 9, 0), Err(Unbookable::Taken)),
            (vn(d(2026, 12, 2), 10, 0), Ok(())),
        ];
        for (start, expected) in cases {
            assert_eq!(a.is_bookable(start), expected, "{start}");
        }
        assert!(matches!(
            a.is_bookable(vn(tue(), 12, 0)),
            Err(Unbookable::OutsideHours { .. })
        ));
        // The reasons read as plain words.
        assert_eq!(
            Unbookable::Taken.to_string(),
            "the consultant already has an appointment then"
        );
    }

    #[test]
    fn offers_prefer_the_coarse_step_nearest_first() {
        let a = an(60);
        let starts = a.bookable_starts(tue(), d(2026, 12, 2));
        let offered = offer(&starts, VIETNAM, Duration::minutes(60), 5, None);
        assert_eq!(
            local_times(VIETNAM, &offered),
            [
                "12-01 09:00",
                "12-01 10:00",
                "12-01 11:00",
                "12-01 14:00",
                "12-01 15:00"
            ]
        );
        assert!(offer(&starts, VIETNAM, Duration::minutes(60), 0, None).is_empty());
        assert!(offer(&[], VIETNAM, Duration::minutes(60), 5, None).is_empty());
        // Duplicates in the input are offered once.
        let twice: Vec<_> = starts.iter().chain(starts.iter()).copied().collect();
        assert_eq!(
            offer(&twice, VIETNAM, Duration::minutes(60), 5, None),
            offered
        );
    }

    #[test]
    fn offers_fall_back_to_spaced_grid_starts() {
        let mut a = an(30);
        a.busy_slots = vec![
            busy(AN, vn(tue(), 9, 0), vn(tue(), 9, 15)),
            busy(AN, vn(tue(), 10, 0), vn(tue(), 10, 15)),
            busy(AN, vn(tue(), 11, 0), vn(tue(), 11, 15)),
        ];
        a.weekly_hours = vec![WeeklyHours {
            weekday: 2,
            start_time: t(8, 30),
            end_time: t(12, 0),
        }];
        let starts = a.bookable_starts(tue(), tue());
        // Nothing free on the hour: one start per hour instead of a cluster.
        let offered = offer(&starts, VIETNAM, Duration::minutes(60), 4, None);
        assert_eq!(
            local_times(VIETNAM, &offered),
            ["12-01 08:30", "12-01 09:30", "12-01 10:30", "12-01 11:30"]
        );
        // Room for five, but no fifth start 30 minutes from the others:
        // four spread over the morning rather than a cluster.
        let offered = offer(&starts, VIETNAM, Duration::minutes(60), 5, None);
        assert_eq!(
            local_times(VIETNAM, &offered),
            ["12-01 08:30", "12-01 09:30", "12-01 10:30", "12-01 11:30"]
        );
        // Two close starts and nothing else: both (any start fills up to two).
        let few = &starts[..2];
        assert_eq!(offer(few, VIETNAM, Duration::minutes(60), 5, None), few);
    }

    #[test]
    fn offers_follow_the_preference() {
        let a = an(60);
        let starts = a.bookable_starts(tue(), d(2026, 12, 2));
        let step = Duration::minutes(60);
        let afternoon = offer(
            &starts,
            VIETNAM,
            step,
            3,
            Some(Preference::PartOfDay(PartOfDay::Afternoon)),
        );
        assert_eq!(
            local_times(VIETNAM, &afternoon),
            ["12-01 14:00", "12-01 15:00", "12-01 16:00"]
        );
        let evening = offer(
            &starts,
            VIETNAM,
            step,
            3,
            Some(Preference::PartOfDay(PartOfDay::Evening)),
        );
        assert!(evening.is_empty());
        let near = offer(
            &starts,
            VIETNAM,
            step,
            5,
            Some(Preference::Near(vn(tue(), 14, 10))),
        );
        assert_eq!(
            local_times(VIETNAM, &near),
            [
                "12-01 14:00",
                "12-01 15:00",
                "12-01 16:00",
                "12-01 11:00",
                "12-01 10:00"
            ]
        );
        let around = offer(&starts, VIETNAM, step, 5, Some(Preference::Around(t(9, 0))));
        assert_eq!(
            local_times(VIETNAM, &around),
            [
                "12-01 09:00",
                "12-02 09:00",
                "12-01 10:00",
                "12-02 10:00",
                "12-01 11:00"
            ]
        );
    }

    #[test]
    fn a_team_is_merged_per_start() {
        let a = an(60);
        let mut b = an(60);
        b.consultant_id = NGOC;
        b.weekly_hours = vec![WeeklyHours {
            weekday: 2,
            start_time: t(9, 0),
            end_time: t(10, 0),
        }];
        // Both read the same tenant-wide busy rows.
        let rows = vec![busy(AN, vn(tue(), 9, 0), vn(tue(), 10, 0))];
        let mut a = a;
        a.busy_slots = rows.clone();
        b.busy_slots = rows;
        let team = [a, b];
        assert_eq!(who_is_free(&team, vn(tue(), 9, 0)), [NGOC]);
        assert_eq!(who_is_free(&team, vn(tue(), 10, 0)), [AN]);
        assert!(who_is_free(&team, vn(tue(), 12, 0)).is_empty());
        let merged = team_starts(&team, tue(), tue());
        let nine = merged.iter().find(|f| f.start == vn(tue(), 9, 0));
        assert_eq!(nine.map(|f| f.consultants.clone()), Some(vec![NGOC]));
        // 8:30 and 8:45 would run into consultant 1's appointment; consultant 2 starts at 9.
        assert_eq!(merged.first().map(|f| f.start), Some(vn(tue(), 9, 0)));
        assert!(merged.windows(2).all(|w| w[0].start < w[1].start));
        // Every start in the merge is bookable with every consultant it names.
        for free in &merged {
            for who in &free.consultants {
                let member = team.iter().find(|m| m.consultant_id == *who).unwrap();
                assert_eq!(member.is_bookable(free.start), Ok(()));
            }
        }
    }

    /// The demo tenant from `schema/seed/`, read the way the runtime would.
    mod seed {
        use super::*;

        const SCHEDULES: &str = include_str!("../../schema/seed/consultant_schedules.csv");
        const EXCEPTIONS: &str = include_str!("../../schema/seed/schedule_exceptions.csv");
        const APPOINTMENTS: &str = include_str!("../../schema/seed/appointments.csv");
        const SERVICES: &str = include_str!("../../schema/seed/services.csv");
        const TENANTS: &str = include_str!("../../schema/seed/tenants.csv");

        /// Data rows as fields; the quoted free-text column is always last, so it stays whole.
        fn rows(csv: &str, columns: usize) -> Vec<Vec<&str>> {
            csv.lines()
                .skip(1)
                .map(|l| l.splitn(columns, ',').collect())
                .collect()
        }

        fn time(field: &str) -> Option<NaiveTime> {
            NaiveTime::parse_from_str(field, "%H:%M").ok()
        }

        fn instant(field: &str) -> DateTime<Utc> {
            DateTime::parse_from_rfc3339(field)
                .unwrap()
                .with_timezone(&Utc)
        }

        /// What the runtime would pass for one consultant and one service of tenant 1.
        pub(super) fn availability(
            consultant: i64,
            service: &str,
            now: DateTime<Utc>,
        ) -> Availability {
            let tz: Tz = rows(TENANTS, 4)
                .iter()
                .find(|r| r[0] == "1")
                .map(|r| r[3].parse().unwrap())
                .unwrap();
            let minutes: i64 = rows(SERVICES, 5)
                .iter()
                .find(|r| r[0] == service && r[1] == "1")
                .map(|r| r[3].parse().unwrap())
                .unwrap();
            let id = consultant.to_string();
            let mut a = Availability::new(
                tz,
                ConsultantId(consultant),
                Duration::minutes(minutes),
                now,
            );
            a.weekly_hours = rows(SCHEDULES, 6)
                .iter()
                .filter(|r| r[1] == "1" && r[2] == id)
                .map(|r| WeeklyHours {
                    weekday: r[3].parse().unwrap(),
                    start_time: time(r[4]).unwrap(),
                    end_time: time(r[5]).unwrap(),
                })
                .collect();
            a.exceptions = rows(EXCEPTIONS, 7)
                .iter()
                .filter(|r| r[1] == "1" && r[2] == id)
                .map(|r| ScheduleException {
                    on_date: r[3].parse().unwrap(),
                    start_time: time(r[4]),
                    end_time: time(r[5]),
                })
                .collect();
            // busy_slots: every non-cancelled appointment of the tenant, all consultants.
            a.busy_slots = rows(APPOINTMENTS, 9)
                .iter()
                .filter(|r| r[1] == "1" && r[7] != "cancelled")
                .map(|r| BusySlot {
                    consultant_id: ConsultantId(r[2].parse().unwrap()),
                    starts_at: instant(r[5]),
                    ends_at: instant(r[6]),
                })
                .collect();
            a
        }
    }

    #[test]
    fn the_demo_tenant_consultant_1_tax_hour() {
        let now = vn(d(2026, 11, 26), 9, 0);
        let a = seed::availability(1, "1", now);
        assert_eq!(a.time_zone, VIETNAM);
        assert_eq!(a.duration, Duration::minutes(60));
        // Friday 27 Nov: 14:00–15:00 confirmed and 15:00–16:00 pending.
        let friday = d(2026, 11, 27);
        let starts = local_times(VIETNAM, &a.bookable_starts(friday, friday));
        let mut expected: Vec<String> = (0..11)
            .map(|q| {
                let m = 8 * 60 + 30 + q * 15;
                format!("11-27 {:02}:{:02}", m / 60, m % 60)
            })
            .collect();
        expected.extend(["11-27 16:00", "11-27 16:15", "11-27 16:30"].map(String::from));
        assert_eq!(starts, expected);
        assert_eq!(a.is_bookable(vn(friday, 14, 0)), Err(Unbookable::Taken));
        assert_eq!(a.is_bookable(vn(friday, 13, 30)), Err(Unbookable::Taken));
        // Saturday 28 Nov: 08:30–11:30 only.
        let saturday = d(2026, 11, 28);
        assert_eq!(a.bookable_starts(saturday, saturday).len(), 9);
        // Christmas Eve is a day off (leave), New Year's Day a holiday.
        let eve = d(2026, 12, 24);
        assert_eq!(
            a.is_bookable(vn(eve, 9, 0)),
            Err(Unbookable::DayOff { date: eve })
        );
        assert!(a.bookable_starts(d(2027, 1, 1), d(2027, 1, 1)).is_empty());
        // 23 Dec: a 30-minute question at 11:00 takes 11:00–11:30.
        let dec23 = d(2026, 12, 23);
        assert_eq!(a.is_bookable(vn(dec23, 10, 30)), Err(Unbookable::Taken));
        assert_eq!(a.is_bookable(vn(dec23, 10, 0)), Ok(()));
        assert_eq!(
            a.is_bookable(vn(dec23, 11, 30)),
            Err(Unbookable::OutsideHours {
                date: dec23,
                hours: a.working_hours(dec23),
            })
        );
        // Today (Thursday 26 Nov) only from 11:00 on, two hours after 9:00.
        let today = a.bookable_starts(d(2026, 11, 26), d(2026, 11, 26));
        assert_eq!(today.first(), Some(&vn(d(2026, 11, 26), 11, 0)));
        // The week's offers: on the hour, the earliest first.
        let week = a.bookable_starts(d(2026, 11, 26), d(2026, 12, 2));
        let offered = offer(&week, VIETNAM, Duration::minutes(60), 5, None);
        assert_eq!(
            local_times(VIETNAM, &offered),
            [
                "11-26 11:00",
                "11-26 14:00",
                "11-26 15:00",
                "11-26 16:00",
                "11-27 09:00"
            ]
        );
    }

    #[test]
    fn the_demo_tenant_exception_with_shorter_hours() {
        // Consultant 4 works only 13:00–15:00 on 15 Dec and has 14:00–14:30 booked.
        let a = seed::availability(4, "4", vn(d(2026, 12, 14), 9, 0));
        let day = d(2026, 12, 15);
        let starts = local_times(VIETNAM, &a.bookable_starts(day, day));
        assert_eq!(
            starts,
            ["12-15 13:00", "12-15 13:15", "12-15 13:30", "12-15 14:30"]
        );
        // Who is free in the whole team at 9:00 on Friday 27 Nov, for a short session?
        let now = vn(d(2026, 11, 26), 9, 0);
        let team: Vec<Availability> = (1..=5).map(|c| seed::availability(c, "4", now)).collect();
        let who = who_is_free(&team, vn(d(2026, 11, 27), 9, 0));
        assert!(!who.is_empty());
        for id in &who {
            assert!(team.iter().any(|m| m.consultant_id == *id));
        }
    }

    mod properties {
        use super::*;
        use chrono_tz::America::New_York;
        use chrono_tz::Asia::Kathmandu;
        use proptest::prelude::*;

        fn zone() -> impl Strategy<Value = Tz> {
            prop_oneof![Just(VIETNAM), Just(Berlin), Just(New_York), Just(Kathmandu)]
        }

        /// Days around both 2026 DST changes in Europe and America.
        fn first_day() -> impl Strategy<Value = NaiveDate> {
            prop_oneof![
                Just(d(2026, 3, 6)),
                Just(d(2026, 3, 27)),
                Just(d(2026, 10, 23)),
                Just(d(2026, 10, 30)),
                Just(d(2026, 11, 30)),
            ]
        }

        fn weekly() -> impl Strategy<Value = Vec<WeeklyHours>> {
            prop::collection::vec((1i16..=7, 0u32..(24 * 12), 1u32..(10 * 12)), 1..14).prop_map(
                |rows| {
                    rows.into_iter()
                        .filter_map(|(weekday, start, length)| {
                            let start_time =
                                NaiveTime::from_num_seconds_from_midnight_opt(start * 300, 0)?;
                            let end = (start + length).min(24 * 12 - 1);
                            let end_time =
                                NaiveTime::from_num_seconds_from_midnight_opt(end * 300, 0)?;
                            Some(WeeklyHours {
                                weekday,
                                start_time,
                                end_time,
                            })
                        })
                        .collect()
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            #[test]
            fn listing_asking_and_offering_agree(
                tz in zone(),
                from in first_day(),
                weekly_hours in weekly(),
                off_days in prop::collection::vec(0u64..4, 0..2),
                busy_rows in prop::collection::vec((0i64..(4 * 24 * 12), 1i64..40, any::<bool>()), 0..12),
                duration in 5i64..200,
                notice in 0i64..300,
                now_minutes in -600i64..(3 * 24 * 60),
                step in prop_oneof![Just(30i64), Just(60), Just(120)],
                max in 0usize..8,
            ) {
                let to = from + Duration::days(3);
                let base = at(tz, from, 0, 0);
                let now = base + Duration::minutes(now_minutes);
                let mut a = Availability::new(tz, AN, Duration::minutes(duration), now);
                a.notice = Duration::minutes(notice);
                a.weekly_hours = weekly_hours;
                a.exceptions = off_days
                    .iter()
                    .map(|n| ScheduleException {
                        on_date: from + chrono::Days::new(*n),
                        start_time: None,
                        end_time: None,
                    })
                    .collect();
                a.busy_slots = busy_rows
                    .iter()
                    .map(|(start, length, mine)| {
                        let starts_at = base + Duration::minutes(start * 5);
                        BusySlot {
                            consultant_id: if *mine { AN } else { NGOC },
                            starts_at,
                            ends_at: starts_at + Duration::minutes(length * 5),
                        }
                    })
                    .collect();
                let starts = a.bookable_starts(from, to);
                let own_busy: Vec<_> = a.busy_slots.iter().filter(|b| b.consultant_id == AN).collect();
                for s in &starts {
                    prop_assert_eq!(a.is_bookable(*s), Ok(()));
                    prop_assert!(*s >= now + a.notice);
                    prop_assert_eq!(s.with_timezone(&tz).minute() % 15, 0);
                    let end = *s + a.duration;
                    prop_assert!(own_busy.iter().all(|b| !(b.starts_at < end && *s < b.ends_at)));
                }
                prop_assert!(starts.windows(2).all(|w| w[0] < w[1]));
                // Completeness: every instant on the grid that is bookable is listed.
                let mut probe = at(tz, from, 0, 0) - Duration::hours(2);
                let stop = at(tz, to, 0, 0) + Duration::hours(26);
                while probe < stop {
                    let local_date = probe.with_timezone(&tz).date_naive();
                    if (from..=to).contains(&local_date) {
                        prop_assert_eq!(a.is_bookable(probe).is_ok(), starts.contains(&probe), "{}", probe);
                    }
                    probe += GRID;
                }
                let offered = offer(&starts, tz, Duration::minutes(step), max, None);
                prop_assert!(offered.len() <= max);
                // Some choice whenever there is a start; fewer than `max`
                // only where more would cluster.
                prop_assert!(offered.len() >= max.min(2).min(starts.len()));
                for o in &offered {
                    prop_assert!(starts.contains(o));
                    prop_assert_eq!(a.is_bookable(*o), Ok(()));
                }
                for preferred in [
                    Preference::Near(now + Duration::days(1)),
                    Preference::Around(NaiveTime::MIN),
                    Preference::PartOfDay(PartOfDay::Afternoon),
                ] {
                    let picked = offer(&starts, tz, Duration::minutes(step), max, Some(preferred));
                    prop_assert!(picked.len() <= max);
                    prop_assert!(picked.iter().all(|p| starts.contains(p)));
                }
                let mut distinct = offered.clone();
                distinct.dedup();
                prop_assert_eq!(distinct.len(), offered.len());
                prop_assert!(offered.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
