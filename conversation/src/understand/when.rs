//! Dates and times: "thứ 3 tuần sau", "mai", "15/12", "Dec 15th", "9h30",
//! "3 giờ chiều", "8 tối", "buổi sáng".
//!
//! Dates resolve against today: a weekday is its next occurrence (today only
//! when the customer says "hôm nay"), "tuần sau"/"next" is the week starting
//! next Monday (Vietnamese weeks run Monday to Sunday), a day and month
//! already past means next year, a bare "ngày 15" already past next month.
//! A clock hour without a part of the day takes the business-hours reading:
//! 1–6 is the afternoon, 7–11 the morning, 12 noon. A month named without a
//! day ("tháng sau", "next month") is where a search starts: its first day,
//! or the first day of its third ("đầu/giữa/cuối tháng sau": the 1st, 11th,
//! 21st, as Vietnamese split a month into thượng, trung and hạ tuần).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};

use super::text::{self, Word, is_typo_of};
use super::{Awaiting, Context, DayPart, Scan, TimeOfDay};

/// A weekday phrase, claimed before names so that "tuan" in "thu 2 tuan
/// sau" is a week, not Tuấn.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Found {
    /// The day, when one was named.
    pub date: Option<NaiveDate>,
    /// Where a period named without a day starts: the Monday of a week
    /// ("tuần sau"), the first day of a month or of its third ("tháng sau").
    pub from: Option<NaiveDate>,
    /// The day is where something moves to ("push it to Thursday", "dời
    /// sang thứ 5"): it wins over a day named before it, which says which
    /// appointment moves.
    pub target: bool,
}

/// Words that introduce the day something moves to.
const MOVE_TO: [&str; 5] = ["to", "sang", "qua", "thành", "into"];

/// Which week a weekday falls in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// Its next occurrence after today.
    Next,
    /// In the current week (or next occurrence if already past).
    This,
    /// In the week `n` weeks after the current one.
    WeekAfter(u64),
    /// The first one in the month `n` months after the current one.
    InMonth(u32),
}

fn monday_of(day: NaiveDate) -> Option<NaiveDate> {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
}

fn resolve(today: NaiveDate, weekday: Weekday, which: Which) -> Option<NaiveDate> {
    let next = || {
        let ahead =
            (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
        today.checked_add_days(Days::new(u64::from(if ahead == 0 { 7 } else { ahead })))
    };
    match which {
        Which::Next => next(),
        Which::This => {
            let day = monday_of(today)?
                .checked_add_days(Days::new(u64::from(weekday.num_days_from_monday())))?;
            if day >= today { Some(day) } else { next() }
        }
        Which::WeekAfter(n) => monday_of(today)?
            .checked_add_days(Days::new(7 * n + u64::from(weekday.num_days_from_monday()))),
        Which::InMonth(n) => {
            let first = day_in_month(today, n, 1)?;
            let ahead =
                (7 + weekday.num_days_from_monday() - first.weekday().num_days_from_monday()) % 7;
            first.checked_add_days(Days::new(u64::from(ahead)))
        }
    }
}

/// Day `day` of the month `months` after today's.
fn day_in_month(today: NaiveDate, months: u32, day: u32) -> Option<NaiveDate> {
    today
        .with_day(1)?
        .checked_add_months(Months::new(months))?
        .with_day(day)
}

/// The weekday named by the word(s) at `i`, and how many words it takes.
fn weekday_at(words: &[Word], i: usize) -> Option<(Weekday, usize)> {
    let w = words.get(i)?;
    let next = words.get(i + 1);
    let vi_number = |n: &Word| -> Option<Weekday> {
        Some(match () {
            _ if n.is_any(&["2", "hai"]) => Weekday::Mon,
            _ if n.is_any(&["3", "ba"]) => Weekday::Tue,
            _ if n.is_any(&["4", "tư", "bốn"]) => Weekday::Wed,
            _ if n.is_any(&["5", "năm"]) => Weekday::Thu,
            _ if n.is_any(&["6", "sáu"]) => Weekday::Fri,
            _ if n.is_any(&["7", "bảy", "bẩy"]) => Weekday::Sat,
            _ => return None,
        })
    };
    if w.is_any(&["thứ", "th", "t"])
        && let Some(day) = next.and_then(vi_number)
    {
        return Some((day, 2));
    }
    if let Some(rest) = w
        .fold
        .strip_prefix('t')
        .filter(|r| !w.has_marks() && r.len() == 1)
        && let Some(day) = vi_number(&Word::new(rest))
    {
        return Some((day, 1));
    }
    if w.is_str("chủ") && next.is_some_and(|n| n.is_any(&["nhật", "nhựt"])) {
        return Some((Weekday::Sun, 2));
    }
    if w.is_str("cn") {
        return Some((Weekday::Sun, 1));
    }
    const ENGLISH: [(&str, &[&str], Weekday); 7] = [
        ("monday", &["mon"], Weekday::Mon),
        ("tuesday", &["tue", "tues"], Weekday::Tue),
        ("wednesday", &["wed", "weds"], Weekday::Wed),
        ("thursday", &["thur", "thurs"], Weekday::Thu),
        ("friday", &["fri"], Weekday::Fri),
        ("saturday", &["sat"], Weekday::Sat),
        ("sunday", &["sun"], Weekday::Sun),
    ];
    let bare = w.fold.strip_suffix("'s").unwrap_or(&w.fold);
    let bare = bare
        .strip_suffix('s')
        .filter(|b| b.ends_with("day"))
        .unwrap_or(bare);
    let bare = Word::new(bare);
    for (full, short, day) in ENGLISH {
        if bare.fold == full || short.contains(&bare.fold.as_str()) {
            return Some((day, 1));
        }
    }
    let typos: Vec<_> = ENGLISH
        .iter()
        .filter(|(full, _, _)| is_typo_of(&bare, full))
        .collect();
    if let [(_, _, day)] = typos.as_slice() {
        return Some((*day, 1));
    }
    None
}

/// "tuần sau", "tuần tới", "next week" and friends at `i`: weeks ahead and length.
fn week_at(words: &[Word], i: usize) -> Option<(u64, usize)> {
    let w = words.get(i)?;
    let next = words.get(i + 1);
    let third = words.get(i + 2);
    if w.is_str("tuần") {
        let n = next?;
        if n.is_any(&["sau", "tới", "toi"]) {
            if third.is_some_and(|t| t.is_str("nữa")) {
                return Some((2, 3));
            }
            return Some((1, 2));
        }
        if n.is_any(&["này", "nay"]) {
            return Some((0, 2));
        }
        return None;
    }
    if w.fold == "next" && next.is_some_and(|n| n.fold == "week") {
        return Some((1, 2));
    }
    if w.fold == "this" && next.is_some_and(|n| n.fold == "week") {
        return Some((0, 2));
    }
    None
}

/// "tháng sau", "tháng tới", "tháng sau nữa", "next month" at `i`: months
/// ahead and length.
fn month_at(words: &[Word], i: usize) -> Option<(u32, usize)> {
    let w = words.get(i)?;
    let next = words.get(i + 1)?;
    if w.is_str("tháng") && next.is_any(&["sau", "tới", "toi"]) {
        if words.get(i + 2).is_some_and(|t| t.is_str("nữa")) {
            return Some((2, 3));
        }
        return Some((1, 2));
    }
    if w.fold == "next" && next.fold == "month" {
        return Some((1, 2));
    }
    None
}

/// A third of a month before a month phrase at `i` ("đầu tháng sau",
/// "early next month", "the end of next month"): its first day and how many
/// words it takes before `i`.
fn third_before(words: &[Word], i: usize) -> (u32, usize) {
    const THIRDS: [(&str, u32); 12] = [
        ("đầu", 1),
        ("early", 1),
        ("beginning of", 1),
        ("start of", 1),
        ("giữa", 11),
        ("mid", 11),
        ("middle of", 11),
        ("the middle of", 11),
        ("cuối", 21),
        ("late", 21),
        ("end of", 21),
        ("the end of", 21),
    ];
    // The longest phrase wins: "the end of" over "end of".
    let mut best = (1, 0);
    for (words_of, day) in THIRDS {
        let phrase = text::phrase(words_of);
        let len = phrase.len();
        if i >= len && text::phrase_at(words, i - len, &phrase) && len > best.1 {
            best = (day, len);
        }
    }
    best
}

/// Claims a month named without a day and returns where it starts.
fn month(scan: &mut Scan, today: NaiveDate) -> Option<NaiveDate> {
    let mut from = None;
    for i in 0..scan.words.len() {
        let Some((months, len)) = month_at(scan.words, i).filter(|(_, len)| scan.all_free(i, *len))
        else {
            continue;
        };
        let (day, before) = match third_before(scan.words, i) {
            (day, before) if scan.all_free(i - before, before) => (day, before),
            _ => (1, 0),
        };
        from = from.or(day_in_month(today, months, day));
        scan.take(i - before, before + len);
    }
    from
}

/// Claims weekday phrases ("thứ 3 tuần sau", "next Tuesday", "t7", "cn này")
/// and weeks without a day ("tuần sau").
pub(super) fn weekday(scan: &mut Scan, today: NaiveDate) -> Found {
    let mut found = Found::default();
    // "from Monday to Thursday" is a range, not a move.
    let mut first_opens_range = false;
    let n = scan.words.len();
    let mut i = 0;
    while i < n {
        if scan.free(i).is_none() {
            i += 1;
            continue;
        }
        let Some((day, len)) = weekday_at(scan.words, i) else {
            i += 1;
            continue;
        };
        // "cái thứ 2", "số thứ 2": an ordinal choice, not Monday.
        if i > 0 && scan.words[i - 1].is_any(&["cái", "số", "chọn", "option", "khung"]) {
            i += 1;
            continue;
        }
        let mut start = i;
        let mut end = i + len;
        let mut which = Which::Next;
        if i > 0 && scan.free(i - 1).is_some() {
            let before = &scan.words[i - 1];
            if before.fold == "next" {
                which = Which::WeekAfter(1);
                start = i - 1;
            } else if before.fold == "this" {
                which = Which::This;
                start = i - 1;
            } else if before.fold == "coming" {
                start = i - 1;
                if i > 1 && scan.words[i - 2].fold == "this" {
                    start = i - 2;
                }
            }
        }
        let after = scan.words.get(end);
        if let Some((weeks, wlen)) = week_at(scan.words, end) {
            which = if weeks == 0 {
                Which::This
            } else {
                Which::WeekAfter(weeks)
            };
            end += wlen;
        } else if after.is_some_and(|a| a.fold == "of")
            && let Some((weeks, wlen)) = week_at(scan.words, end + 1)
        {
            which = if weeks == 0 {
                Which::This
            } else {
                Which::WeekAfter(weeks)
            };
            end += 1 + wlen;
        } else if let Some((months, mlen)) = month_at(scan.words, end) {
            // "thứ 2 tháng sau": the first Monday of next month.
            which = Which::InMonth(months);
            end += mlen;
        } else if after.is_some_and(|a| a.is_any(&["này", "nay"])) {
            which = Which::This;
            end += 1;
        } else if after.is_some_and(|a| a.is_any(&["tới", "sau"])) {
            end += 1;
        }
        let before = |at: usize, words: &[&str]| {
            at > 0 && scan.words.get(at - 1).is_some_and(|w| w.is_any(words))
        };
        let targeted = before(start, &MOVE_TO);
        if found.date.is_none() {
            found.date = resolve(today, day, which);
            found.target = targeted;
            first_opens_range = before(start, &["from", "từ"]);
        } else if targeted && !found.target && !first_opens_range {
            // "my Wednesday one … to Thursday": Thursday.
            found.date = resolve(today, day, which);
            found.target = true;
        }
        scan.take(start, end - start);
        i = end;
    }
    // A week without a day: "tuần sau", "next week".
    for i in 0..n {
        if !scan.all_free(i, 1) {
            continue;
        }
        if let Some((weeks, len)) = week_at(scan.words, i)
            && scan.all_free(i, len)
        {
            // "cuối tuần sau" is a weekend, read by `dates`.
            if i > 0 && scan.words[i - 1].is_any(&["cuối", "đầu"]) && weeks > 0 {
                continue;
            }
            found.from = monday_of(today).and_then(|m| m.checked_add_days(Days::new(7 * weeks)));
            scan.take(i, len);
        }
    }
    found
}

/// Words that rule out the date or time right after them: "not tomorrow,
/// Friday", "không phải thứ 2 mà thứ 3", "thứ 6 chứ không phải mai".
const NOT: [&str; 7] = [
    "not",
    "không phải",
    "ko phải",
    "k phải",
    "instead of",
    "thay vì",
    "rather than",
];

/// Words that may stand between such a negation and its date: "not on
/// Friday", "not free tomorrow", "không phải vào sáng mai".
const NOT_FILLER: [&str; 10] = [
    "on",
    "at",
    "in",
    "the",
    "for",
    "available",
    "free",
    "vào",
    "lúc",
    "là",
];

/// Words that end what a negation rules out: "not tomorrow but Friday",
/// "không phải mai mà là thứ 6".
const CONTRAST: [&str; 8] = [
    "but", "then", "instead", "rather", "mà", "nhưng", "chứ", "thì",
];

/// The most words a negation reaches.
const NOT_REACH: usize = 5;

/// Claims the dates and times a negation rules out, so that the readers
/// after it find the one meant: "not tomorrow, Friday" is Friday.
pub(super) fn rule_out_negated(scan: &mut Scan, context: &Context) {
    let words = scan.words;
    for at in 0..words.len() {
        let Some(len) = NOT.iter().find_map(|n| {
            let phrase = text::phrase(n);
            text::phrase_at(words, at, &phrase).then_some(phrase.len())
        }) else {
            continue;
        };
        if words[at + len - 1].ends_clause {
            continue;
        }
        let start = at + len;
        let mut end = start;
        while end < words.len() && end - start < NOT_REACH && !words[end].is_any(&CONTRAST) {
            end += 1;
            if words[end - 1].ends_clause {
                break;
            }
        }
        for i in dates_in(scan, context, start, end) {
            scan.take(i, 1);
        }
    }
}

/// Words after a date or time that rule it out: "thursday doesn't work for
/// me", "mai không được, thứ 6 nhé".
const RULED_OUT_AFTER: [&str; 8] = [
    "doesn't work",
    "does not work",
    "won't work",
    "isn't good",
    "is not good",
    "không được",
    "ko được",
    "không tiện",
];

/// Claims a date or time that a phrase after it rules out ("thursday
/// doesn't work"): the one right before the phrase, in the same clause.
pub(super) fn rule_out_before(scan: &mut Scan, context: &Context) {
    let words = scan.words;
    for at in 1..words.len() {
        let found = RULED_OUT_AFTER.iter().any(|n| {
            let phrase = text::phrase(n);
            text::phrase_at(words, at, &phrase)
        });
        if !found {
            continue;
        }
        let mut start = at;
        while start > 0 && at - start < NOT_REACH && !words[start - 1].ends_clause {
            start -= 1;
        }
        let claimed = claimed_in(scan, context, start, at);
        // Only what ends right before the phrase ("thursday doesn't
        // work"), not a date earlier in the clause.
        let ends_here = claimed.last().is_some_and(|&last| {
            words[last + 1..at]
                .iter()
                .all(|w| w.is_any(&["is", "are", "thì", "là"]))
        });
        if ends_here {
            for i in claimed {
                scan.take(i, 1);
            }
        }
    }
}

/// The words of `start..end` that the date and time readers claim, read
/// as if the message were that range alone.
fn claimed_in(scan: &Scan, context: &Context, start: usize, end: usize) -> Vec<usize> {
    let mut window = Scan {
        words: scan.words,
        used: (0..scan.words.len())
            .map(|i| scan.used[i] || !(start..end).contains(&i))
            .collect(),
        person: scan.person.clone(),
    };
    weekday(&mut window, context.today);
    dates(&mut window, context);
    time(&mut window, context.awaiting);
    (start..end)
        .filter(|&i| window.used[i] && !scan.used[i])
        .collect()
}

/// The words of `start..end` that the date and time readers claim, when
/// the first of them opens the range (after fillers like "on").
fn dates_in(scan: &Scan, context: &Context, start: usize, end: usize) -> Vec<usize> {
    let claimed = claimed_in(scan, context, start, end);
    let opens = claimed.first().is_some_and(|&first| {
        scan.words[start..first]
            .iter()
            .all(|w| w.is_any(&NOT_FILLER))
    });
    if opens { claimed } else { Vec::new() }
}

const MONTHS: [(&str, &str); 12] = [
    ("january", "jan"),
    ("february", "feb"),
    ("march", "mar"),
    ("april", "apr"),
    ("may", "may"),
    ("june", "jun"),
    ("july", "jul"),
    ("august", "aug"),
    ("september", "sep"),
    ("october", "oct"),
    ("november", "nov"),
    ("december", "dec"),
];

/// The English month a word names (1-based), allowing typos in long names.
fn month_of(word: &Word) -> Option<u32> {
    let f = word.fold.as_str();
    for (k, (full, short)) in MONTHS.iter().enumerate() {
        if f == *full || f == *short || (*short == "sep" && f == "sept") {
            return u32::try_from(k + 1).ok();
        }
    }
    let typos: Vec<usize> = (0..12)
        .filter(|&k| MONTHS[k].0.len() >= 6 && is_typo_of(word, MONTHS[k].0))
        .collect();
    match typos.as_slice() {
        [k] => u32::try_from(k + 1).ok(),
        _ => None,
    }
}

/// A day of month written as a number or an ordinal ("15", "15th", "1st").
fn day_number(word: &Word) -> Option<u32> {
    let f = word.fold.as_str();
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| f.strip_suffix(s))
        .unwrap_or(f);
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// A year: four digits from 2000, or two digits meaning 20xx.
fn year_of(word: &Word) -> Option<i32> {
    let y: i32 = word.fold.parse().ok().filter(|_| word.is_number())?;
    match word.fold.len() {
        4 if (2000..=2100).contains(&y) => Some(y),
        2 => Some(2000 + y),
        _ => None,
    }
}

/// "15/12", "15/12/2026", "15-12-2026", "2026-12-15", "2026/12/15".
fn numeric_date(word: &Word) -> Option<(u32, u32, Option<i32>)> {
    let f = word.fold.as_str();
    let sep = if f.contains('/') {
        '/'
    } else if f.contains('-') {
        '-'
    } else {
        return None;
    };
    let parts: Vec<&str> = f.split(sep).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => Some((num(d)?, num(m)?, i32::try_from(num(y)?).ok())),
        [d, m, y] if d.len() <= 2 && m.len() <= 2 => {
            Some((num(d)?, num(m)?, Some(year_of(&Word::new(y))?)))
        }
        [d, m] if sep == '/' && d.len() <= 2 && m.len() <= 2 => Some((num(d)?, num(m)?, None)),
        _ => None,
    }
}

/// A day and month (and maybe year) → a date not in the past.
fn calendar(today: NaiveDate, day: u32, month: u32, year: Option<i32>) -> Option<NaiveDate> {
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day),
        None => {
            let this = NaiveDate::from_ymd_opt(today.year(), month, day);
            match this {
                Some(d) if d >= today => Some(d),
                _ => NaiveDate::from_ymd_opt(today.year() + 1, month, day),
            }
        }
    }
}

/// A day of month alone → this month, or next month if already past.
fn day_of_month(today: NaiveDate, day: u32) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), today.month(), day);
    match this {
        Some(d) if d >= today => Some(d),
        _ => {
            let (y, m) = if today.month() == 12 {
                (today.year() + 1, 1)
            } else {
                (today.year(), today.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, day)
        }
    }
}

/// Words that start a part of the day; "nay" after them means today.
const PART_WORDS: [&str; 8] = [
    "sáng", "trưa", "chiều", "tối", "đêm", "khuya", "morning", "tonight",
];

/// Reads calendar dates and relative days ("mai", "hôm nay", "15/12",
/// "Dec 15", "ngày 15", "2 ngày nữa", "cuối tuần").
pub(super) fn dates(scan: &mut Scan, context: &Context) -> Found {
    let today = context.today;
    let words = scan.words;
    let n = words.len();
    let mut numeric: Option<NaiveDate> = None;
    let mut relative: Option<NaiveDate> = None;
    let mut week = None;
    let add = |d: u64| today.checked_add_days(Days::new(d));
    let mut i = 0;
    while i < n {
        let Some(w) = scan.free(i) else {
            i += 1;
            continue;
        };
        let next = scan.free(i + 1);
        let third = scan.free(i + 2);
        // "15/12", "2026-12-15", possibly after "ngày".
        if let Some((d, m, y)) = numeric_date(w) {
            if numeric.is_none() {
                numeric = calendar(today, d, m, y);
            }
            scan.take(i, 1);
            i += 1;
            continue;
        }
        // "ngày 15", "ngày 15 tháng 12", "ngày 15 tháng 12 năm 2026".
        if w.is_str("ngày")
            && let Some(d) = next
                .and_then(|x| x.number())
                .filter(|d| (1..=31).contains(d))
        {
            let mut len = 2;
            let mut date = day_of_month(today, d);
            if third.is_some_and(|t| t.is_str("tháng"))
                && let Some(m) = scan.free(i + 3).and_then(Word::number)
            {
                len = 4;
                let mut year = None;
                if scan.free(i + 4).is_some_and(|x| x.is_str("năm"))
                    && let Some(y) = scan.free(i + 5).and_then(year_of)
                {
                    year = Some(y);
                    len = 6;
                }
                date = calendar(today, d, m, year);
            } else if let Some((months, mlen)) =
                month_at(words, i + 2).filter(|(_, mlen)| scan.all_free(i + 2, *mlen))
            {
                // "ngày 15 tháng sau": the 15th of next month.
                len = 2 + mlen;
                date = day_in_month(today, months, d);
            }
            numeric = numeric.or(date);
            scan.take(i, len);
            i += len;
            continue;
        }
        // "15 tháng 12".
        if let Some(d) = w.number().filter(|d| (1..=31).contains(d))
            && next.is_some_and(|x| x.is_str("tháng"))
            && let Some(m) = third.and_then(Word::number)
        {
            numeric = numeric.or(calendar(today, d, m, None));
            scan.take(i, 3);
            i += 3;
            continue;
        }
        // "Dec 15", "December 15th 2026", "15 Dec", "15th of December".
        if let Some(m) = month_of(w)
            && let Some(d) = next.and_then(day_number)
        {
            let (year, len) = match third
                .and_then(year_of)
                .filter(|_| third.is_some_and(|t| t.fold.len() == 4))
            {
                Some(y) => (Some(y), 3),
                None => (None, 2),
            };
            numeric = numeric.or(calendar(today, d, m, year));
            scan.take(i, len);
            i += len;
            continue;
        }
        if let Some(d) = day_number(w) {
            let (of, month_word) = if next.is_some_and(|x| x.fold == "of") {
                (1, i + 2)
            } else {
                (0, i + 1)
            };
            if let Some(m) = scan
                .free(month_word)
                .filter(|x| x.fold != "may" || of == 1)
                .and_then(month_of)
            {
                let mut len = 2 + of;
                let mut year = None;
                if let Some(y) = scan
                    .free(month_word + 1)
                    .filter(|x| x.fold.len() == 4)
                    .and_then(year_of)
                {
                    year = Some(y);
                    len += 1;
                }
                numeric = numeric.or(calendar(today, d, m, year));
                scan.take(i, len);
                i += len;
                continue;
            }
            // "the 15th of next month", "15th next month".
            if let Some((months, mlen)) = month_at(words, month_word)
                .filter(|(_, mlen)| scan.all_free(month_word, *mlen))
                .filter(|_| of == 1 || !w.is_number())
            {
                numeric = numeric.or(day_in_month(today, months, d));
                scan.take(i, 1 + of + mlen);
                i += 1 + of + mlen;
                continue;
            }
            // "the 15th", "on the 1st": a day of this month ("the 2nd" alone
            // is more often the second option).
            let on = i > 0 && words[i - 1].fold == "on";
            let on_the = i > 1 && words[i - 1].fold == "the" && words[i - 2].fold == "on";
            let the = i > 0 && words[i - 1].fold == "the" && d > 3;
            if w.fold.len() > 2 && !w.is_number() && (on || on_the || the) {
                numeric = numeric.or(day_of_month(today, d));
                scan.take(i, 1);
                i += 1;
                continue;
            }
        }
        // Relative days.
        let rel: Option<(Option<NaiveDate>, usize)> =
            if w.is_any(&["hôm", "bữa"]) && next.is_some_and(|x| x.is_str("nay")) {
                Some((add(0), 2))
            } else if w.is_any(&["today", "tday", "2day"]) {
                Some((add(0), 1))
            } else if w.fold == "tonight" {
                // Left for `time` to read as the evening.
                Some((add(0), 0))
            } else if (w.is_any(&["nay"]) && i > 0 && words[i - 1].is_any(&PART_WORDS))
                || (w.fold == "this"
                    && next.is_some_and(|x| x.is_any(&["morning", "afternoon", "evening"])))
            {
                Some((add(0), 1))
            } else if w.is_str("ngày") && next.is_some_and(|x| x.is_str("mai")) {
                Some((add(1), 2))
            } else if w.is_str("mai")
                || w.is_any(&["tmr", "tmrw", "tomorow", "tmw"])
                || is_typo_of(w, "tomorrow")
            {
                Some((add(1), 1))
            } else if w.is_str("ngày") && next.is_some_and(|x| x.is_any(&["mốt", "kia"])) {
                Some((add(2), 2))
            } else if w.is_str("mốt")
                && (w.has_marks()
                    || (i > 0 && words[i - 1].is_any(&PART_WORDS))
                    || (n == 1 && context.awaiting == Some(Awaiting::Date)))
            {
                Some((add(2), 1))
            } else if w.fold == "day"
                && next.is_some_and(|x| x.fold == "after")
                && third.is_some_and(|x| is_typo_of(x, "tomorrow"))
            {
                let start = if i > 0 && words[i - 1].fold == "the" {
                    1
                } else {
                    0
                };
                scan.take(i - start, 3 + start);
                relative = relative.or(add(2));
                i += 3;
                continue;
            } else if w.fold == "overmorrow" {
                Some((add(2), 1))
            } else if let Some(k) = w.number().filter(|k| (1..=60).contains(k))
                && next.is_some_and(|x| x.is_any(&["ngày", "hôm", "bữa", "days", "day"]))
                && (third.is_some_and(|x| x.is_str("nữa"))
                    || (i > 0 && words[i - 1].is_any(&["sau", "in"])))
            {
                let len = if third.is_some_and(|x| x.is_str("nữa")) {
                    3
                } else {
                    2
                };
                Some((add(u64::from(k)), len))
            } else if w.is_str("cuối") && next.is_some_and(|x| x.is_str("tuần")) {
                let later = scan.free(i + 2).is_some_and(|x| x.is_any(&["sau", "tới"]));
                Some((weekend(today, later), if later { 3 } else { 2 }))
            } else if w.fold == "weekend" || w.fold == "weekends" {
                let later = i > 0 && words[i - 1].fold == "next";
                Some((weekend(today, later), 1))
            } else {
                None
            };
        if let Some((date, len)) = rel {
            relative = relative.or(date);
            scan.take(i, len);
            i += len.max(1);
            continue;
        }
        // A bare day of month when the bot asked which day: "15".
        if n == 1
            && context.awaiting == Some(Awaiting::Date)
            && let Some(d) = w.number().filter(|d| (1..=31).contains(d))
        {
            numeric = day_of_month(today, d);
            scan.take(i, 1);
        }
        i += 1;
    }
    if numeric.is_none() && relative.is_none() {
        // "đầu tuần sau": the week.
        for i in 0..n {
            if scan.free(i).is_some_and(|w| w.is_str("tuần"))
                && scan.free(i + 1).is_some_and(|w| w.is_any(&["sau", "tới"]))
            {
                week = monday_of(today).and_then(|m| m.checked_add_days(Days::new(7)));
                scan.take(i, 2);
            }
        }
    }
    let month = month(scan, today);
    Found {
        date: numeric.or(relative),
        from: week.or(month),
        target: false,
    }
}

/// The Saturday of this weekend (today when already in it), or of the next.
fn weekend(today: NaiveDate, later: bool) -> Option<NaiveDate> {
    let base = match today.weekday() {
        Weekday::Sat | Weekday::Sun => Some(today),
        _ => resolve(today, Weekday::Sat, Which::Next),
    }?;
    if later {
        resolve(today, Weekday::Sat, Which::WeekAfter(1))
    } else {
        Some(base)
    }
}

/// A part of the day, or noon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Day(DayPart),
    Noon,
}

/// Whether a word can be a clock time on its own or the hour before "giờ".
fn clock_word(word: &Word) -> Option<(u32, u32, Option<bool>, bool)> {
    // Returns (hour, minute, Some(pm) when am/pm given, explicit 24-hour).
    let f = word.fold.as_str();
    let (body, pm) = if let Some(b) = f.strip_suffix("pm") {
        (b, Some(true))
    } else if let Some(b) = f.strip_suffix("am") {
        (b, Some(false))
    } else {
        (f, None)
    };
    let digits_end = body
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    if digits_end == 0 || digits_end > 2 {
        return None;
    }
    let hour: u32 = body[..digits_end].parse().ok()?;
    let explicit = digits_end == 2 && body.starts_with('0') || hour > 12;
    let rest = &body[digits_end..];
    let minutes = |s: &str| -> Option<u32> {
        let s = ["phút", "phut", "ph", "p", "m"]
            .iter()
            .find_map(|u| s.strip_suffix(u))
            .unwrap_or(s);
        if s.is_empty() {
            return Some(0);
        }
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse().ok()
        } else {
            None
        }
    };
    let minute = if rest.is_empty() {
        pm?;
        0
    } else if let Some(m) = rest.strip_prefix(':') {
        minutes(m)?
    } else if let Some(m) = ["giờ", "gio", "h", "g"]
        .iter()
        .find_map(|u| rest.strip_prefix(u))
    {
        minutes(m)?
    } else {
        return None;
    };
    (hour <= 23 && minute <= 59).then_some((hour, minute, pm, explicit))
}

/// Reads a clock time or a part of the day.
pub(super) fn time(scan: &mut Scan, awaiting: Option<Awaiting>) -> Option<TimeOfDay> {
    let words = scan.words;
    let n = words.len();
    let mut clock: Option<(u32, u32, Option<bool>, bool)> = None;
    let mut clock_end = 0;
    let mut clock_start = 0;
    for i in 0..n {
        if clock.is_some() {
            break;
        }
        let Some(w) = scan.free(i) else { continue };
        let next = scan.free(i + 1);
        if let Some(mut c) = clock_word(w) {
            let mut len = 1;
            if c.1 == 0 && next.is_some_and(|x| x.is_any(&["rưỡi", "ruoi"])) {
                c.1 = 30;
                len = 2;
            } else if c.1 == 0
                && !w.fold.contains(':')
                && let Some(m) = next
                    .and_then(Word::number)
                    .filter(|m| *m <= 59 && next.is_some_and(|x| x.fold.len() == 2))
            {
                c.1 = m;
                len = 2;
                if scan.free(i + 2).is_some_and(|x| x.is_any(&["phút", "p"])) {
                    len = 3;
                }
            }
            if c.2.is_none()
                && let Some(ampm) = scan.free(i + len).and_then(am_pm)
            {
                c.2 = Some(ampm);
                len += 1;
            }
            clock = Some(c);
            clock_start = i;
            clock_end = i + len;
            continue;
        }
        // "half past two", "quarter to 3 pm": English fractions of an hour.
        if let Some(minutes_off) = match w.fold.as_str() {
            "half" => Some(30),
            "quarter" => Some(15),
            _ => None,
        } && let Some(toward) = next.and_then(|x| match x.fold.as_str() {
            "past" | "after" => Some(false),
            "to" | "till" => Some(true),
            _ => None,
        }) && !(toward && minutes_off == 30)
            && let Some(hour) = scan.free(i + 2).and_then(hour_word)
        {
            let (h, minute) = if toward {
                ((hour + 23) % 24, 60 - minutes_off)
            } else {
                (hour, minutes_off)
            };
            let mut len = 3;
            let pm = scan.free(i + 3).and_then(am_pm);
            if pm.is_some() {
                len += 1;
            }
            clock = Some((h, minute, pm, false));
            clock_start = i;
            clock_end = i + len;
            continue;
        }
        let Some(hour) = w.number().filter(|h| *h <= 23 && w.fold.len() <= 2) else {
            continue;
        };
        let explicit = w.fold.len() == 2 && w.fold.starts_with('0') || hour > 12;
        let before = if i > 0 { scan.free(i - 1) } else { None };
        // "9 giờ", "9 giờ 30", "9 giờ rưỡi", "9 giờ kém 15", "9 h".
        if next.is_some_and(|x| x.is_any(&["giờ", "h", "g"])) {
            let mut minute = 0;
            let mut len = 2;
            let mut h = hour;
            let third = scan.free(i + 2);
            if let Some(m) = third.and_then(Word::number).filter(|m| *m <= 59) {
                minute = m;
                len = 3;
                if scan.free(i + 3).is_some_and(|x| x.is_any(&["phút", "p"])) {
                    len = 4;
                }
            } else if third.is_some_and(|x| x.is_any(&["rưỡi", "ruoi"])) {
                minute = 30;
                len = 3;
            } else if third.is_some_and(|x| x.is_str("kém"))
                && let Some(m) = scan
                    .free(i + 3)
                    .and_then(Word::number)
                    .filter(|m| (1..=59).contains(m))
            {
                minute = 60 - m;
                h = (hour + 23) % 24;
                len = 4;
            }
            let pm = scan.free(i + len).and_then(am_pm);
            if pm.is_some() {
                len += 1;
            }
            clock = Some((h, minute, pm, explicit));
            clock_start = i;
            clock_end = i + len;
            continue;
        }
        // "3 pm", "3 o'clock", "8 tối", "10 sáng".
        if let Some(pm) = next.and_then(am_pm) {
            clock = Some((hour, 0, Some(pm), explicit));
            clock_start = i;
            clock_end = i + 2;
            continue;
        }
        if next.is_some_and(|x| x.is_any(&["o'clock", "oclock"])) {
            clock = Some((hour, 0, None, explicit));
            clock_start = i;
            clock_end = i + 2;
            continue;
        }
        let after_part = next.and_then(|x| part_word(words, i + 1, x));
        let cue = before.is_some_and(|b| {
            b.is_any(&[
                "lúc", "at", "around", "khoảng", "tầm", "by", "after", "sau", "trước", "before",
            ])
        });
        let alone = n == 1 && awaiting == Some(Awaiting::Time);
        if after_part.is_some() || cue || alone {
            if hour == 0 && !explicit {
                continue;
            }
            clock = Some((hour, 0, None, explicit));
            clock_start = i;
            clock_end = i + 1;
        }
    }
    if clock.is_some() {
        scan.take(clock_start, clock_end - clock_start);
    }
    // Part of the day anywhere else in the message.
    let mut part = None;
    for i in 0..n {
        let Some(w) = scan.free(i) else { continue };
        if let Some(p) = part_word(words, i, w) {
            part = Some(p);
            scan.take(i, 1);
            break;
        }
    }
    match clock {
        Some((hour, minute, pm, explicit)) => {
            let hour = match (pm, part) {
                (Some(true), _) if hour < 12 => hour + 12,
                (Some(false), _) if hour == 12 => 0,
                (Some(_), _) => hour,
                (None, _) if explicit => hour,
                (None, Some(Part::Day(DayPart::Morning))) => hour,
                (None, Some(Part::Day(_))) if hour < 12 => hour + 12,
                (None, Some(Part::Noon)) if (1..=5).contains(&hour) => hour + 12,
                (None, Some(_)) => hour,
                (None, None) if (1..=6).contains(&hour) => hour + 12,
                (None, None) => hour,
            };
            NaiveTime::from_hms_opt(hour, minute, 0).map(TimeOfDay::At)
        }
        None => match part? {
            Part::Day(p) => Some(TimeOfDay::Part(p)),
            Part::Noon => NaiveTime::from_hms_opt(12, 0, 0).map(TimeOfDay::At),
        },
    }
}

/// An hour of a 12-hour clock, in digits or English words ("2", "two").
fn hour_word(word: &Word) -> Option<u32> {
    const WORDS: [&str; 12] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
        "twelve",
    ];
    word.number().filter(|h| (1..=12).contains(h)).or_else(|| {
        WORDS
            .iter()
            .position(|w| word.fold == *w)
            .and_then(|i| u32::try_from(i + 1).ok())
    })
}

/// "am"/"pm" as a separate word ("3 pm", "9 a.m").
fn am_pm(word: &Word) -> Option<bool> {
    match word.fold.as_str() {
        "pm" | "p.m" => Some(true),
        "am" | "a.m" => Some(false),
        _ => None,
    }
}

/// Whether the word at `i` names a part of the day, in its context.
///
/// "sang" and "toi" without diacritics are also "over to" (đổi sang) and
/// "I" (tôi): they count only next to a time or a day ("8 toi", "toi nay",
/// "sang mai", "buoi sang").
fn part_word(words: &[Word], i: usize, w: &Word) -> Option<Part> {
    let prev = if i > 0 { words.get(i - 1) } else { None };
    let next = words.get(i + 1);
    // "good morning", "chào buổi sáng" are greetings.
    if prev.is_some_and(|p| p.fold == "good")
        || (prev.is_some_and(|p| p.is_str("buổi"))
            && i > 1
            && words.get(i - 2).is_some_and(|p| p.is_str("chào")))
    {
        return None;
    }
    let near_time = |p: Option<&Word>, nx: Option<&Word>| {
        p.is_some_and(|p| {
            p.is_number()
                || clock_word(p).is_some()
                || p.is_any(&["buổi", "vào", "lúc", "giờ", "h", "rưỡi", "ruoi"])
        }) || nx.is_some_and(|x| {
            x.is_any(&["nay", "mai", "mốt", "thứ", "cn", "chủ", "hôm", "ngày"])
                || x.is_number()
                || clock_word(x).is_some()
                || (x.fold.len() == 2
                    && x.fold.starts_with('t')
                    && x.fold.as_bytes()[1].is_ascii_digit())
        }) || words.len() == 1
    };
    if w.is_str("sáng") {
        if w.has_marks() {
            return Some(Part::Day(DayPart::Morning));
        }
        // "doi lich hen sang thu 5": over to Thursday, after a verb of moving.
        let moving = words[..i]
            .iter()
            .any(|p| p.is_any(&["đổi", "dời", "chuyển", "lùi", "dịch", "hoãn", "move"]));
        // Who types "dời lịch" with its marks writes sáng with them too.
        let marked_elsewhere = words.iter().filter(|w| w.has_marks()).count() >= 2;
        if moving || marked_elsewhere || prev.is_some_and(|p| p.is_any(&["qua"])) {
            return None;
        }
        return near_time(prev, next).then_some(Part::Day(DayPart::Morning));
    }
    if w.is_str("tối") {
        if w.has_marks() {
            return Some(Part::Day(DayPart::Evening));
        }
        if prev.is_some_and(|p| p.is_any(&["của", "cho", "với", "giúp", "dùm", "là", "và"]))
        {
            return None;
        }
        return near_time(prev, next).then_some(Part::Day(DayPart::Evening));
    }
    if w.is_any(&["chiều", "afternoon"]) {
        return Some(Part::Day(DayPart::Afternoon));
    }
    if w.is_any(&["morning"]) {
        return Some(Part::Day(DayPart::Morning));
    }
    if w.is_any(&["evening", "tonight", "night"]) {
        return Some(Part::Day(DayPart::Evening));
    }
    if w.is_any(&["trưa", "noon", "midday", "lunchtime"]) {
        return Some(Part::Noon);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or_default()
    }

    #[test]
    fn weekdays_resolve() {
        let wed = d(2026, 11, 25);
        assert_eq!(
            resolve(wed, Weekday::Wed, Which::Next),
            Some(d(2026, 12, 2))
        );
        assert_eq!(
            resolve(wed, Weekday::Fri, Which::Next),
            Some(d(2026, 11, 27))
        );
        assert_eq!(
            resolve(wed, Weekday::Tue, Which::WeekAfter(1)),
            Some(d(2026, 12, 1))
        );
        let sun = d(2026, 11, 29);
        assert_eq!(
            resolve(sun, Weekday::Tue, Which::WeekAfter(1)),
            Some(d(2026, 12, 1))
        );
    }

    #[test]
    fn clock_words() {
        assert_eq!(clock_word(&Word::new("9h30")), Some((9, 30, None, false)));
        assert_eq!(clock_word(&Word::new("15:45")), Some((15, 45, None, true)));
        assert_eq!(
            clock_word(&Word::new("3pm")),
            Some((3, 0, Some(true), false))
        );
        assert_eq!(clock_word(&Word::new("9")), None);
        assert_eq!(clock_word(&Word::new("25h")), None);
    }
}
