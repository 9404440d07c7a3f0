//! Focused cases through [`understand`]: the readings that are easy to get
//! wrong, and odd inputs that must not panic. The broad corpus is
//! `corpus.rs`.

use chrono::{NaiveDate, NaiveTime};

use super::corpus::demo_directory;
use super::{Awaiting, Context, DayPart, Directory, TimeOfDay, Understanding, understand};
use crate::language::{Intent, Language};

const AN: i64 = 1;
const MAI_ANH: i64 = 5;
const TUAN: i64 = 4;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn at(h: u32, m: u32) -> Option<TimeOfDay> {
    NaiveTime::from_hms_opt(h, m, 0).map(TimeOfDay::At)
}

fn read_on(
    text: &str,
    today: NaiveDate,
    awaiting: Option<Awaiting>,
    directory: &Directory,
) -> Understanding {
    let context = Context {
        today,
        now_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
        directory,
        awaiting,
        language: None,
    };
    understand(text, &context)
}

/// Reads on Wednesday 2026-11-25 against tenant 1's demo directory.
fn read(text: &str, awaiting: Option<Awaiting>) -> Understanding {
    read_on(text, day(2026, 11, 25), awaiting, &demo_directory())
}

#[test]
fn tuan_is_a_week_or_tuan() {
    let r = read("tuan sau", None);
    assert_eq!((r.consultant, r.week), (None, Some(day(2026, 11, 30))));
    let r = read("thu 2 tuan sau", None);
    assert_eq!((r.consultant, r.date), (None, Some(day(2026, 11, 30))));
    assert_eq!(read("gap anh tuan", None).consultant, Some(TUAN));
    assert_eq!(read("voi tuan", None).consultant, Some(TUAN));
    assert_eq!(
        read("tuan", Some(Awaiting::Consultant)).consultant,
        Some(TUAN)
    );
    assert_eq!(read("tuần", Some(Awaiting::Consultant)).consultant, None);
    let r = read("gap anh tuan tuan sau", None);
    assert_eq!(
        (r.consultant, r.week),
        (Some(TUAN), Some(day(2026, 11, 30)))
    );
}

#[test]
fn mai_is_tomorrow_or_mai_anh() {
    assert_eq!(read("mai", None).date, Some(day(2026, 11, 26)));
    let r = read("sáng mai", None);
    assert_eq!(
        (r.date, r.time),
        (
            Some(day(2026, 11, 26)),
            Some(TimeOfDay::Part(DayPart::Morning))
        )
    );
    let r = read("chị Mai", None);
    assert_eq!((r.consultant, r.date), (Some(MAI_ANH), None));
    let r = read("mai anh An có rảnh không", None);
    assert_eq!((r.consultant, r.date), (Some(AN), Some(day(2026, 11, 26))));
    let r = read("Mai", Some(Awaiting::Name));
    assert_eq!((r.name.as_deref(), r.date), (Some("Mai"), None));
}

#[test]
fn past_dates_roll_forward() {
    assert_eq!(read("20/11", None).date, Some(day(2027, 11, 20)));
    assert_eq!(read("25/11", None).date, Some(day(2026, 11, 25)));
    assert_eq!(read("ngày 20", None).date, Some(day(2026, 12, 20)));
    let new_year = day(2026, 12, 31);
    let dir = demo_directory();
    assert_eq!(
        read_on("1/1", new_year, None, &dir).date,
        Some(day(2027, 1, 1))
    );
    assert_eq!(
        read_on("ngày 5", new_year, None, &dir).date,
        Some(day(2027, 1, 5))
    );
    assert_eq!(
        read_on("mai", new_year, None, &dir).date,
        Some(day(2027, 1, 1))
    );
    assert_eq!(read("31/2", None).date, None);
    assert_eq!(
        read("15/12/2025", None).date,
        Some(day(2025, 12, 15)),
        "an explicit year is kept"
    );
}

#[test]
fn twelve_and_twenty_four_hours() {
    for (text, expected) in [
        ("12h", at(12, 0)),
        ("3h", at(15, 0)),
        ("6h", at(18, 0)),
        ("7h", at(7, 0)),
        ("11h", at(11, 0)),
        ("15h", at(15, 0)),
        ("03:00", at(3, 0)),
        ("3am", at(3, 0)),
        ("12am", at(0, 0)),
        ("12pm", at(12, 0)),
        ("3 pm", at(15, 0)),
        ("8 tối", at(20, 0)),
        ("10h sáng", at(10, 0)),
        ("1h trưa", at(13, 0)),
        ("9 giờ kém 15", at(8, 45)),
        ("25h", None),
    ] {
        assert_eq!(read(text, None).time, expected, "{text}");
    }
}

#[test]
fn next_week_from_a_sunday() {
    let dir = demo_directory();
    let sunday = day(2026, 11, 29);
    assert_eq!(
        read_on("thứ 3 tuần sau", sunday, None, &dir).date,
        Some(day(2026, 12, 1))
    );
    assert_eq!(
        read_on("thứ 3", sunday, None, &dir).date,
        Some(day(2026, 12, 1))
    );
    let monday = day(2026, 11, 30);
    assert_eq!(
        read_on("thứ 3 tuần sau", monday, None, &dir).date,
        Some(day(2026, 12, 8))
    );
    // Today counts only when said: "thứ 4" on a Wednesday is next week's.
    assert_eq!(read("thứ 4", None).date, Some(day(2026, 12, 2)));
    assert_eq!(read("hôm nay", None).date, Some(day(2026, 11, 25)));
}

#[test]
fn codes_are_never_choices() {
    let r = read("123456", Some(Awaiting::Otp));
    assert_eq!((r.code.as_deref(), r.choice), (Some("123456"), None));
    let r = read("2", Some(Awaiting::Otp));
    assert_eq!((r.code, r.choice), (None, None));
    assert_eq!(read("2", Some(Awaiting::Slot)).choice, Some(2));
    assert_eq!(read("1234567", Some(Awaiting::Otp)).code, None);
}

#[test]
fn decomposed_text_reads_like_composed() {
    use unicode_normalization::UnicodeNormalization;
    let composed = "Em muốn đặt lịch với anh Tuấn thứ 3 tuần sau";
    let decomposed: String = composed.nfd().collect();
    assert_eq!(read(&decomposed, None), read(composed, None));
    assert_eq!(read(composed, None).intent, Some(Intent::Book));
    assert_eq!(read(composed, None).language, Some(Language::Vi));
}

#[test]
fn an_is_not_the_article() {
    assert_eq!(read("I want to make an appointment", None).consultant, None);
    assert_eq!(
        read("How long is an immigration consultation?", None).consultant,
        None
    );
    assert_eq!(read("an oi mai ranh ko", None).consultant, Some(AN));
}

#[test]
fn an_before_a_preposition_is_the_name() {
    assert_eq!(
        read("Can I book with An on Friday?", None).consultant,
        Some(AN)
    );
    assert_eq!(read("Is An available?", None).consultant, Some(AN));
    assert_eq!(
        read("Is there an opening on Monday?", None).consultant,
        None
    );
}

#[test]
fn a_day_past_the_end_of_next_month_is_none() {
    // From 2027-01-31, next month is February: no 31st.
    let dir = demo_directory();
    let r = read_on("ngày 31 tháng sau", day(2027, 1, 31), None, &dir);
    assert_eq!(r.date, None);
    let r = read_on("tháng sau", day(2027, 1, 31), None, &dir);
    assert_eq!(r.week, Some(day(2027, 2, 1)));
}

#[test]
fn a_customer_name_is_not_a_consultant_or_a_date() {
    let r = read("My name is Nguyễn Minh Tuấn, book with Ngọc", None);
    assert_eq!((r.consultant, r.date), (Some(2), None));
    let r = read("I am Trần Thị Mai", None);
    assert_eq!((r.date, r.language), (None, Some(Language::En)));
}

#[test]
fn empty_directory_reads_no_names() {
    let empty = Directory::default();
    let r = read_on("đặt lịch anh An mai 9h", day(2026, 11, 25), None, &empty);
    assert_eq!(
        (r.consultant, r.service, r.intent),
        (None, None, Some(Intent::Book))
    );
}

/// Odd inputs: nothing panics, and reading is deterministic.
#[test]
fn odd_inputs_do_not_panic() {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\n\t\r",
        "\u{0}\u{1}\u{7f}\u{1b}[31m",
        "😀🎉👍",
        "\u{301}\u{303}\u{323}",
        "ạ",
        "@",
        "a@",
        "@b.c",
        "a@@b.c",
        "99999999999999999999h",
        "99/99/9999",
        "0/0",
        "31/2/2026",
        "24:00",
        "23:60",
        "0h",
        "-1h",
        "thứ",
        "thứ 9",
        "ngày",
        "ngày 0",
        "ngày 99",
        "tháng 13",
        "15 tháng",
        "9 giờ kém",
        "the",
        "on the",
        "'s",
        "''''",
        "a.b.c.d",
        "t",
        "mr.",
        "...",
        "12/12/99999",
        "9999-99-99",
        "١٢/١٢",
        "ＡＢＣ１２３",
        "İstanbul ǅ ß ﬁ",
        "\u{202e}gnp.exe",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    inputs.push("đặt lịch anh Tuấn 9h ".repeat(500));
    inputs.push("a".repeat(10_000));
    inputs.push("9".repeat(10_000));
    inputs.push("😀".repeat(10_000));
    inputs.push("\u{301}".repeat(10_000));
    // A fixed pseudo-random walk over characters the readers care about.
    let alphabet: Vec<char> = "aăâđeêioôơuưy thứ2mai9h:/-.@'ạ́̀ 0123456789tuanTuấnsángtối#pmam"
        .chars()
        .collect();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let mut s = String::new();
        for _ in 0..40 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let k = usize::try_from(state % alphabet.len() as u64).unwrap_or(0);
            s.push(alphabet[k]);
        }
        inputs.push(s);
    }
    for awaiting in [
        None,
        Some(Awaiting::Otp),
        Some(Awaiting::Name),
        Some(Awaiting::Confirm),
        Some(Awaiting::Time),
    ] {
        for input in &inputs {
            let first = read(input, awaiting);
            assert_eq!(first, read(input, awaiting), "deterministic on {input:?}");
            if let Some(code) = &first.code {
                assert!(
                    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
                    "{code:?}"
                );
            }
        }
    }
    let far = NaiveDate::MAX;
    let dir = demo_directory();
    for input in [
        "mai",
        "thứ 3 tuần sau",
        "cuối tuần",
        "15/12",
        "ngày 15",
        "3 ngày nữa",
        "next week",
        "tháng sau",
        "cuối tháng sau nữa",
        "ngày 31 tháng sau",
        "the 15th of next month",
        "thứ 2 tháng sau",
        "not tomorrow, Friday",
    ] {
        let _ = read_on(input, far, None, &dir);
        let _ = read_on(input, NaiveDate::MIN, None, &dir);
    }
}

/// Sao Mai's (tenant 2) services: "thue" without marks is thuế or thuê.
fn sao_mai() -> Directory {
    Directory {
        consultants: Vec::new(),
        services: vec![
            super::Named {
                id: 5,
                name: "Tư vấn thuế doanh nghiệp".to_owned(),
            },
            super::Named {
                id: 6,
                name: "Soạn thảo hợp đồng".to_owned(),
            },
        ],
    }
}

#[test]
fn thue_is_rent_or_tax() {
    let dir = sao_mai();
    let service = |text: &str| read_on(text, day(2026, 11, 25), None, &dir).service;
    for text in [
        "e can soan hop dong thue nha",
        "ad oi chi Lan thu 7 nay con trong ko a, e can soan hop dong thue nha",
        "soan hop dong cho thue",
        "em cần soạn hợp đồng thuê nhà",
        "soan hop dong thue",
    ] {
        assert_eq!(service(text), Some(6), "{text}");
    }
    for text in [
        "tu van thue doanh nghiep",
        "e can tu van thue",
        "quyet toan thue cho cong ty",
        "tư vấn thuế",
    ] {
        assert_eq!(service(text), Some(5), "{text}");
    }
    // Tenant 1 keeps its tax readings.
    for text in ["tu van thue ca nhan", "thue ca nhan", "quyet toan thue"] {
        assert_eq!(read(text, None).service, Some(1), "{text}");
    }
}

#[test]
fn help_inside_a_confirmation_is_politeness() {
    for text in [
        "Được, xác nhận giúp tôi",
        "xác nhận",
        "xac nhan",
        "confirm",
        "confirmed",
        "xác nhận giúp",
        "được, xác nhận",
        "ok xác nhận đi",
        "yes please confirm",
        "xac nhan giup em",
        "ok confirm, thanks for your help",
    ] {
        let r = read(text, Some(Awaiting::Confirm));
        assert_eq!((r.answer, r.intent), (Some(true), None), "{text}");
    }
    assert_eq!(read("giúp tôi đặt lịch", None).intent, Some(Intent::Book));
    assert_eq!(read("bạn giúp được gì", None).intent, Some(Intent::Help));
    assert_eq!(read("giúp", None).intent, Some(Intent::Help));
}

#[test]
fn a_topic_is_clipped_at_a_word_and_keeps_no_punctuation() {
    let long = format!(
        "book An about {}",
        "the inheritance of my grandmother ".repeat(20)
    );
    let topic = read(&long, None).topic.unwrap_or_default();
    assert!(topic.chars().count() <= super::MAX_TOPIC_CHARS, "{topic}");
    // Cut between two words of the message, never inside one.
    let whole = format!("{topic} ");
    assert!(
        topic.starts_with("the inheritance") && long.contains(&whole),
        "{topic}"
    );
    let injected = read("book about my lease'); DELETE FROM customers; --", None);
    assert_eq!(injected.topic.as_deref(), Some("my lease"));
}

#[test]
fn sql_typed_at_the_bot_is_no_booking() {
    let sql = read(
        "'; drop table appointments; -- and also run SELECT full_name, email, phone FROM customers",
        None,
    );
    assert_eq!(sql.intent, Some(Intent::Other));
    // A request with SQL around it is still the request.
    let wrapped = read(
        "anh An mai ranh khong' UNION SELECT email, phone, NULL FROM customers --",
        None,
    );
    assert_eq!(wrapped.intent, Some(Intent::Availability));
    assert!(wrapped.consultant.is_some() && wrapped.date.is_some());
    // Two of the words are English, not SQL.
    assert_eq!(
        read("I'd like an appointment from 9, where possible", None).intent,
        Some(Intent::Book)
    );
}
