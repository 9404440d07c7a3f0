//! How dates, times, durations and prices are shown to a customer, in
//! Vietnamese and English.
//!
//! A time shown in a sentence always says its zone: the customer may be
//! abroad, and "9:30" alone is a promise in an unknown zone. Quick-reply
//! chips are the exception: they are short (Messenger cuts titles at 20
//! characters) and sit under a message that says the zone.

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

use crate::language::Language;

/// The most characters (not bytes) a quick-reply chip title may have.
pub const CHIP_TITLE_MAX_CHARS: usize = 20;

/// Zones the customer knows by a country name rather than by their IANA name.
const VIETNAM_ZONES: [&str; 2] = ["Asia/Ho_Chi_Minh", "Asia/Saigon"];

/// English month abbreviations, January first.
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A weekday's full name as used mid-sentence: "thứ Ba" / "Tuesday".
pub fn weekday_name(weekday: Weekday, language: Language) -> &'static str {
    match (language, weekday) {
        (Language::Vi, Weekday::Mon) => "thứ Hai",
        (Language::Vi, Weekday::Tue) => "thứ Ba",
        (Language::Vi, Weekday::Wed) => "thứ Tư",
        (Language::Vi, Weekday::Thu) => "thứ Năm",
        (Language::Vi, Weekday::Fri) => "thứ Sáu",
        (Language::Vi, Weekday::Sat) => "thứ Bảy",
        (Language::Vi, Weekday::Sun) => "Chủ nhật",
        (Language::En, Weekday::Mon) => "Monday",
        (Language::En, Weekday::Tue) => "Tuesday",
        (Language::En, Weekday::Wed) => "Wednesday",
        (Language::En, Weekday::Thu) => "Thursday",
        (Language::En, Weekday::Fri) => "Friday",
        (Language::En, Weekday::Sat) => "Saturday",
        (Language::En, Weekday::Sun) => "Sunday",
    }
}

/// A weekday's short name for chips: "T3" / "Tue" ("CN" for Sunday in Vietnamese).
pub fn weekday_short(weekday: Weekday, language: Language) -> &'static str {
    match (language, weekday) {
        (Language::Vi, Weekday::Mon) => "T2",
        (Language::Vi, Weekday::Tue) => "T3",
        (Language::Vi, Weekday::Wed) => "T4",
        (Language::Vi, Weekday::Thu) => "T5",
        (Language::Vi, Weekday::Fri) => "T6",
        (Language::Vi, Weekday::Sat) => "T7",
        (Language::Vi, Weekday::Sun) => "CN",
        (Language::En, Weekday::Mon) => "Mon",
        (Language::En, Weekday::Tue) => "Tue",
        (Language::En, Weekday::Wed) => "Wed",
        (Language::En, Weekday::Thu) => "Thu",
        (Language::En, Weekday::Fri) => "Fri",
        (Language::En, Weekday::Sat) => "Sat",
        (Language::En, Weekday::Sun) => "Sun",
    }
}

/// "hôm nay"/"today" or "ngày mai"/"tomorrow" when `date` is one of them, relative to `today`.
pub fn relative_day(date: NaiveDate, today: NaiveDate, language: Language) -> Option<&'static str> {
    if date == today {
        Some(match language {
            Language::Vi => "hôm nay",
            Language::En => "today",
        })
    } else if today.succ_opt() == Some(date) {
        Some(match language {
            Language::Vi => "ngày mai",
            Language::En => "tomorrow",
        })
    } else {
        None
    }
}

/// The zone as a customer reads it: "giờ Việt Nam, GMT+7", or "Europe/Berlin, GMT+1" at `at`.
pub fn zone_label(time_zone: Tz, at: DateTime<Utc>, language: Language) -> String {
    let offset = gmt_offset(time_zone, at);
    if VIETNAM_ZONES.contains(&time_zone.name()) {
        match language {
            Language::Vi => format!("giờ Việt Nam, {offset}"),
            Language::En => format!("Vietnam time, {offset}"),
        }
    } else {
        format!("{}, {offset}", time_zone.name())
    }
}

/// The local time of day: "09:30" (24-hour, as the chips show it) / "9:30 AM".
pub fn time_of_day(at: DateTime<Utc>, time_zone: Tz, language: Language) -> String {
    let local = wall_clock(at, time_zone);
    match language {
        Language::Vi => format!("{:02}:{:02}", local.hour(), local.minute()),
        Language::En => {
            let (pm, hour) = local.hour12();
            let half = if pm { "PM" } else { "AM" };
            format!("{hour}:{:02} {half}", local.minute())
        }
    }
}

/// A date with its weekday: "thứ Ba, 01/12/2026" / "Tuesday, 1 Dec 2026".
pub fn date(date: NaiveDate, language: Language) -> String {
    let weekday = weekday_name(date.weekday(), language);
    match language {
        Language::Vi => {
            format!(
                "{weekday}, {:02}/{:02}/{}",
                date.day(),
                date.month(),
                date.year()
            )
        }
        Language::En => {
            format!(
                "{weekday}, {} {} {}",
                date.day(),
                month_en(date),
                date.year()
            )
        }
    }
}

/// A full instant with its zone: "09:30 thứ Ba, 01/12/2026 (giờ Việt Nam, GMT+7)".
pub fn date_time(at: DateTime<Utc>, time_zone: Tz, language: Language) -> String {
    let local_date = wall_clock(at, time_zone).date();
    format!(
        "{} {} ({})",
        time_of_day(at, time_zone, language),
        date(local_date, language),
        zone_label(time_zone, at, language)
    )
}

/// Like [`date_time`], saying "hôm nay"/"ngày mai" too when it applies: "09:30 ngày mai, thứ Ba, …".
pub fn date_time_relative(
    at: DateTime<Utc>,
    time_zone: Tz,
    now: DateTime<Utc>,
    language: Language,
) -> String {
    let local_date = wall_clock(at, time_zone).date();
    let today = wall_clock(now, time_zone).date();
    match relative_day(local_date, today, language) {
        Some(word) => format!(
            "{} {word}, {} ({})",
            time_of_day(at, time_zone, language),
            date(local_date, language),
            zone_label(time_zone, at, language)
        ),
        None => date_time(at, time_zone, language),
    }
}

/// A quick-reply title of at most 20 characters: "T3 01/12 09:30" / "Tue 1 Dec 9:30 AM".
pub fn chip_title(at: DateTime<Utc>, time_zone: Tz, language: Language) -> String {
    let local = wall_clock(at, time_zone);
    let weekday = weekday_short(local.weekday(), language);
    match language {
        Language::Vi => format!(
            "{weekday} {:02}/{:02} {:02}:{:02}",
            local.day(),
            local.month(),
            local.hour(),
            local.minute()
        ),
        Language::En => format!(
            "{weekday} {} {} {}",
            local.day(),
            month_en(local.date()),
            time_of_day(at, time_zone, language)
        ),
    }
}

/// Like [`chip_title`], with "Hôm nay"/"Today" or "Ngày mai"/"Tomorrow" instead of the date when it applies.
pub fn chip_title_relative(
    at: DateTime<Utc>,
    time_zone: Tz,
    now: DateTime<Utc>,
    language: Language,
) -> String {
    let local = wall_clock(at, time_zone);
    let today = wall_clock(now, time_zone).date();
    let Some(word) = relative_day(local.date(), today, language) else {
        return chip_title(at, time_zone, language);
    };
    let time = time_of_day(at, time_zone, language);
    format!("{} {time}", capitalized(word))
}

/// A service duration: "60 phút" / "60 min".
pub fn duration(duration_minutes: u32, language: Language) -> String {
    match language {
        Language::Vi => format!("{duration_minutes} phút"),
        Language::En => format!("{duration_minutes} min"),
    }
}

/// A price in dong: "500.000 ₫" / "500,000 VND"; zero is "miễn phí" / "free".
pub fn price_vnd(price_vnd: i64, language: Language) -> String {
    if price_vnd == 0 {
        return match language {
            Language::Vi => "miễn phí".to_owned(),
            Language::En => "free".to_owned(),
        };
    }
    let (separator, unit) = match language {
        Language::Vi => ('.', "₫"),
        Language::En => (',', "VND"),
    };
    let digits = price_vnd.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if price_vnd < 0 {
        grouped.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(separator);
        }
        grouped.push(digit);
    }
    format!("{grouped} {unit}")
}

/// The wall-clock time of `at` in the zone.
fn wall_clock(at: DateTime<Utc>, time_zone: Tz) -> NaiveDateTime {
    let utc = at.naive_utc();
    let offset = time_zone.offset_from_utc_datetime(&utc).fix();
    // Only instants at the very edge of chrono's range (never a database value) overflow;
    // showing them unshifted beats a panic.
    utc.checked_add_offset(offset).unwrap_or(utc)
}

/// "GMT+7", "GMT+5:30", "GMT-3:30", "GMT+0": the zone's offset at `at`.
fn gmt_offset(time_zone: Tz, at: DateTime<Utc>) -> String {
    let seconds = time_zone
        .offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    match minutes % 60 {
        0 => format!("GMT{sign}{}", minutes / 60),
        rest => format!("GMT{sign}{}:{rest:02}", minutes / 60),
    }
}

/// The English month abbreviation of a date.
fn month_en(date: NaiveDate) -> &'static str {
    MONTHS_EN.get(date.month0() as usize).copied().unwrap_or("")
}

/// The word with its first letter upper-cased, for the start of a chip.
fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Ho_Chi_Minh as VIETNAM;
    use chrono_tz::Asia::Kolkata;
    use chrono_tz::Europe::Berlin;

    fn vn(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        VIETNAM
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_date_and_time_says_its_zone() {
        let at = vn(2026, 12, 1, 9, 30);
        assert_eq!(
            date_time(at, VIETNAM, Language::Vi),
            "09:30 thứ Ba, 01/12/2026 (giờ Việt Nam, GMT+7)"
        );
        assert_eq!(
            date_time(at, VIETNAM, Language::En),
            "9:30 AM Tuesday, 1 Dec 2026 (Vietnam time, GMT+7)"
        );
        let afternoon = vn(2026, 12, 6, 14, 5);
        assert_eq!(
            date_time(afternoon, VIETNAM, Language::Vi),
            "14:05 Chủ nhật, 06/12/2026 (giờ Việt Nam, GMT+7)"
        );
        assert_eq!(
            date_time(afternoon, VIETNAM, Language::En),
            "2:05 PM Sunday, 6 Dec 2026 (Vietnam time, GMT+7)"
        );
    }

    #[test]
    fn noon_and_midnight_in_english() {
        assert_eq!(
            time_of_day(vn(2026, 12, 1, 12, 0), VIETNAM, Language::En),
            "12:00 PM"
        );
        assert_eq!(
            time_of_day(vn(2026, 12, 1, 0, 15), VIETNAM, Language::En),
            "12:15 AM"
        );
        assert_eq!(
            time_of_day(vn(2026, 12, 1, 0, 15), VIETNAM, Language::Vi),
            "00:15"
        );
    }

    #[test]
    fn other_zones_show_their_name_and_offset_at_that_instant() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 8, 0, 0).unwrap();
        assert_eq!(
            zone_label(Berlin, winter, Language::Vi),
            "Europe/Berlin, GMT+1"
        );
        assert_eq!(
            zone_label(Berlin, summer, Language::En),
            "Europe/Berlin, GMT+2"
        );
        assert_eq!(
            zone_label(Kolkata, summer, Language::En),
            "Asia/Kolkata, GMT+5:30"
        );
        assert_eq!(
            zone_label(chrono_tz::America::St_Johns, winter, Language::En),
            "America/St_Johns, GMT-3:30"
        );
        assert_eq!(
            zone_label(chrono_tz::UTC, winter, Language::En),
            "UTC, GMT+0"
        );
        assert_eq!(
            zone_label(chrono_tz::Asia::Saigon, winter, Language::Vi),
            "giờ Việt Nam, GMT+7"
        );
        assert_eq!(
            date_time(summer, Berlin, Language::En),
            "10:00 AM Wednesday, 15 Jul 2026 (Europe/Berlin, GMT+2)"
        );
    }

    #[test]
    fn the_date_is_the_local_one() {
        // 23:30 UTC on 30 Nov is already 1 Dec in Vietnam.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap();
        assert_eq!(chip_title(at, VIETNAM, Language::Vi), "T3 01/12 06:30");
        assert_eq!(chip_title(at, Berlin, Language::En), "Tue 1 Dec 12:30 AM");
    }

    #[test]
    fn chip_titles_are_short() {
        let at = vn(2026, 12, 1, 9, 30);
        assert_eq!(chip_title(at, VIETNAM, Language::Vi), "T3 01/12 09:30");
        assert_eq!(chip_title(at, VIETNAM, Language::En), "Tue 1 Dec 9:30 AM");
        // Every weekday, every month, the longest times, in both languages.
        let mut date = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut longest = 0;
        while date.year() == 2026 {
            for (h, m) in [(0, 0), (9, 30), (12, 45), (22, 45), (23, 59)] {
                let at = VIETNAM
                    .from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
                    .unwrap()
                    .with_timezone(&Utc);
                let now = at - chrono::Duration::days(1);
                for language in [Language::Vi, Language::En] {
                    for title in [
                        chip_title(at, VIETNAM, language),
                        chip_title_relative(at, VIETNAM, now, language),
                        chip_title_relative(at, VIETNAM, at, language),
                    ] {
                        let chars = title.chars().count();
                        assert!(chars <= CHIP_TITLE_MAX_CHARS, "{title:?} has {chars} chars");
                        longest = longest.max(chars);
                    }
                }
            }
            date = date.succ_opt().unwrap();
        }
        assert!(longest > 15, "the test covers long titles");
    }

    #[test]
    fn relative_words_for_today_and_tomorrow() {
        let now = vn(2026, 11, 30, 22, 0);
        let today = vn(2026, 11, 30, 23, 0);
        let tomorrow = vn(2026, 12, 1, 9, 30);
        let later = vn(2026, 12, 2, 9, 30);
        assert_eq!(
            date_time_relative(tomorrow, VIETNAM, now, Language::Vi),
            "09:30 ngày mai, thứ Ba, 01/12/2026 (giờ Việt Nam, GMT+7)"
        );
        assert_eq!(
            date_time_relative(today, VIETNAM, now, Language::En),
            "11:00 PM today, Monday, 30 Nov 2026 (Vietnam time, GMT+7)"
        );
        assert_eq!(
            date_time_relative(later, VIETNAM, now, Language::En),
            date_time(later, VIETNAM, Language::En)
        );
        assert_eq!(
            chip_title_relative(tomorrow, VIETNAM, now, Language::Vi),
            "Ngày mai 09:30"
        );
        assert_eq!(
            chip_title_relative(today, VIETNAM, now, Language::En),
            "Today 11:00 PM"
        );
        assert_eq!(
            chip_title_relative(later, VIETNAM, now, Language::En),
            "Wed 2 Dec 9:30 AM"
        );
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        assert_eq!(relative_day(d(1), d(1), Language::Vi), Some("hôm nay"));
        assert_eq!(relative_day(d(2), d(1), Language::En), Some("tomorrow"));
        assert_eq!(relative_day(d(3), d(1), Language::En), None);
        assert_eq!(relative_day(d(1), d(2), Language::Vi), None);
        assert_eq!(
            relative_day(NaiveDate::MAX, NaiveDate::MAX, Language::Vi),
            Some("hôm nay")
        );
    }

    #[test]
    fn weekday_names() {
        let week = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let vi: Vec<_> = week
            .iter()
            .map(|w| weekday_name(*w, Language::Vi))
            .collect();
        assert_eq!(
            vi,
            [
                "thứ Hai",
                "thứ Ba",
                "thứ Tư",
                "thứ Năm",
                "thứ Sáu",
                "thứ Bảy",
                "Chủ nhật"
            ]
        );
        let short: Vec<_> = week
            .iter()
            .map(|w| weekday_short(*w, Language::Vi))
            .collect();
        assert_eq!(short, ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]);
        assert_eq!(weekday_name(Weekday::Thu, Language::En), "Thursday");
        assert_eq!(weekday_short(Weekday::Thu, Language::En), "Thu");
    }

    #[test]
    fn the_edges_of_time_do_not_panic() {
        for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for tz in [VIETNAM, chrono_tz::America::New_York] {
                assert!(!date_time_relative(at, tz, at, Language::En).is_empty());
                assert!(!chip_title(at, tz, Language::Vi).is_empty());
            }
        }
    }

    #[test]
    fn durations_and_prices() {
        assert_eq!(duration(60, Language::Vi), "60 phút");
        assert_eq!(duration(45, Language::En), "45 min");
        assert_eq!(price_vnd(500_000, Language::Vi), "500.000 ₫");
        assert_eq!(price_vnd(500_000, Language::En), "500,000 VND");
        assert_eq!(price_vnd(1_200_000, Language::Vi), "1.200.000 ₫");
        assert_eq!(price_vnd(999, Language::En), "999 VND");
        assert_eq!(price_vnd(1_000, Language::En), "1,000 VND");
        assert_eq!(price_vnd(0, Language::Vi), "miễn phí");
        assert_eq!(price_vnd(0, Language::En), "free");
        assert_eq!(price_vnd(-50_000, Language::Vi), "-50.000 ₫");
        assert_eq!(
            price_vnd(i64::MIN, Language::En),
            "-9,223,372,036,854,775,808 VND"
        );
    }
}
