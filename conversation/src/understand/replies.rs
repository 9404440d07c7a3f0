//! Short replies to the bot's own questions: an email address, the one-time
//! code, yes or no, which of the offered options, the customer's name.

use super::text::{self, Word};
use super::{Awaiting, Scan};

/// Claims the first word that is an email address ("an.nguyen@gmail.com").
pub(super) fn email(scan: &mut Scan) -> Option<String> {
    let at =
        (0..scan.words.len()).find(|&i| scan.free(i).is_some_and(|w| is_email(&w.original)))?;
    scan.take(at, 1);
    Some(scan.words[at].original.clone())
}

/// Whether text has the shape local@domain.tld, without spaces or oddities.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let ok = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
    !local.is_empty()
        && !domain.contains('@')
        && local.chars().all(ok)
        && domain.chars().all(ok)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic))
}

/// Claims a one-time code: a word of exactly six digits, or, when the bot
/// asked for the code, six digits typed in groups ("123 456").
pub(super) fn code(scan: &mut Scan, awaiting: Option<Awaiting>) -> Option<String> {
    let six = |w: &Word| w.fold.len() == 6 && w.is_number();
    if let Some(at) = (0..scan.words.len()).find(|&i| scan.free(i).is_some_and(six)) {
        scan.take(at, 1);
        return Some(scan.words[at].fold.clone());
    }
    if awaiting == Some(Awaiting::Otp) {
        let digits: Vec<usize> = (0..scan.words.len())
            .filter(|&i| scan.words[i].is_number())
            .collect();
        let joined: String = digits
            .iter()
            .map(|&i| scan.words[i].fold.as_str())
            .collect();
        let contiguous = digits.windows(2).all(|p| p[1] == p[0] + 1);
        if joined.len() == 6 && digits.len() > 1 && contiguous {
            for &i in &digits {
                scan.take(i, 1);
            }
            return Some(joined);
        }
    }
    None
}

/// Words that may come around an answer without changing it.
const POLITE: [&str; 14] = [
    "ạ", "nhé", "nhe", "nha", "nhá", "ha", "please", "pls", "thanks", "thank", "you", "bạn", "anh",
    "chị",
];

/// Pronouns a reply may carry without changing it: "ok e đồng ý", "ừ
/// mình chốt".
const PRONOUNS: [&str; 8] = ["em", "e", "tôi", "mình", "mk", "tui", "tớ", "i"];

/// Yes, first: "không sao" (no problem) is yes though it starts with "không".
const YES: [&str; 43] = [
    "không sao",
    "ko sao",
    "no problem",
    "đồng ý",
    "có",
    "ok",
    "oke",
    "okay",
    "okie",
    "oki",
    "okê",
    "ừ",
    "ừm",
    "ừa",
    "uk",
    "ukm",
    "uhm",
    "ừk",
    "okey",
    "uh",
    "vâng",
    "được",
    "dc",
    "đc",
    "yes",
    "yeah",
    "yep",
    "yup",
    "ya",
    "sure",
    "đúng",
    "chuẩn",
    "chốt",
    "xác nhận",
    "confirm",
    "confirmed",
    "correct",
    "right",
    "go ahead",
    "of course",
    "tất nhiên",
    "agree",
    "dạ",
];

/// No.
const NO: [&str; 21] = [
    "không",
    "ko",
    "k",
    "kh",
    "hông",
    "hong",
    "no",
    "nope",
    "nah",
    "thôi",
    "chưa",
    "đừng",
    "sai",
    "not",
    "don't",
    "dont",
    "do not",
    "negative",
    "hủy",
    "never mind",
    "nevermind",
];

/// Verbs of the flows whose summary the bot asks to confirm ("Hủy lịch hẹn
/// …?", "Đổi lịch … sang …?", "Xác nhận đặt lịch …?"). Echoed with an
/// urging particle ("hủy đi", "đặt luôn", "đổi nhé") the verb says yes to
/// its own flow, and the intent read from it says which flow that is: a
/// "hủy đi" under a booking summary starts a cancellation, it books
/// nothing. Bare, "hủy" stays a no ("hủy" under a booking summary drops
/// it). "đổi", "dời" only with their marks: "doi" is also đợi (wait).
const ACTIONS: [&str; 4] = ["hủy", "đặt", "!đổi", "!dời"];

/// Particles that make a bare verb an imperative.
const URGING: [&str; 13] = [
    "đi", "luôn", "lun", "nhé", "nhe", "nha", "ngay", "liền", "giùm", "dùm", "giúp", "hộ", "nhá",
];

/// Words an urged verb may carry: its object, politeness, pronouns.
const OBJECTS: [&str; 12] = [
    "lịch", "hẹn", "đó", "này", "nó", "cái", "ạ", "ha", "cho", "với", "vậy", "thôi",
];

/// Whether the message is an urged action verb ("hủy đi", "uk huy di",
/// "dạ đặt luôn giúp em"), after yes words, "dạ" and pronouns.
fn urged_action(words: &[Word]) -> bool {
    let opener = |w: &Word| {
        w.is_any(&PRONOUNS)
            || w.is_any(&["dạ", "vâng"])
            || YES
                .iter()
                .any(|y| !y.contains(' ') && *y != "có" && w.is_str(y))
    };
    let Some(at) = words.iter().position(|w| !opener(w)) else {
        return false;
    };
    let verb = ACTIONS.iter().any(|a| match a.strip_prefix('!') {
        Some(marked) => words[at].has_marks() && words[at].is_str(marked),
        None => words[at].is_str(a),
    });
    let after = &words[at + 1..];
    verb && after.iter().any(|w| w.is_any(&URGING))
        && after.iter().all(|w| {
            w.is_any(&URGING) || w.is_any(&OBJECTS) || w.is_any(&POLITE) || w.is_any(&PRONOUNS)
        })
}

/// Yes or no, when the message is one.
///
/// Only a short message (four words or fewer) or a reply to a summary the
/// bot asked to confirm counts, and only when the yes/no word opens it:
/// "có lịch trống không?" is a question, "anh An rảnh không" too.
pub(super) fn answer(scan: &Scan, awaiting: Option<Awaiting>) -> Option<bool> {
    let words = scan.words;
    let confirm = awaiting == Some(Awaiting::Confirm);
    // Indices of the words that are not politeness.
    let kept: Vec<usize> = (0..words.len())
        .filter(|&i| !words[i].is_any(&POLITE))
        .collect();
    let content: Vec<&Word> = kept.iter().map(|&i| &words[i]).collect();
    if content.is_empty() || (!confirm && words.len() > 4) {
        return None;
    }
    if confirm && urged_action(words) {
        return Some(true);
    }
    // "dạ" opens replies politely; "dạ không" is no.
    let skip = usize::from(
        content.len() > 1 && content[0].is_any(&["dạ", "vâng"]) && !content[1].is_any(&["vâng"]),
    );
    let skip = skip
        + usize::from(
            content.get(skip).is_some_and(|w| w.is_any(&PRONOUNS)) && content.len() > skip + 1,
        );
    // An opening word another reader claimed ("no preference": anyone will
    // do) is not a yes or no.
    if kept.get(skip).is_some_and(|&i| scan.used[i]) {
        return None;
    }
    let rest: Vec<Word> = content[skip..].iter().map(|w| (*w).clone()).collect();
    let opens = |patterns: &[&str]| {
        patterns
            .iter()
            .any(|p| text::phrase_at(&rest, 0, &text::phrase(p)))
    };
    if confirm && rest.first().is_some_and(|w| w.is_any(&["cancel", "hủy"])) {
        return Some(false);
    }
    if opens(&YES) {
        // "có ... không?" asks; it does not answer.
        let asks = rest.len() > 1
            && rest.first().is_some_and(|w| w.is_str("có"))
            && rest
                .iter()
                .skip(1)
                .any(|w| w.is_any(&["không", "ko", "chưa", "hông", "k"]));
        // "ok e đồng ý": a pronoun inside says nothing more.
        let significant = rest.iter().filter(|w| !w.is_any(&PRONOUNS)).count();
        let short_or_confirm = confirm || significant <= 3;
        return (!asks && short_or_confirm).then_some(true);
    }
    if opens(&NO) && !rest.first().is_some_and(|w| w.is_str("hủy")) {
        return Some(false);
    }
    None
}

/// Ordinal words: 1-based position.
const ORDINALS: [(&str, usize); 16] = [
    ("first", 1),
    ("1st", 1),
    ("nhất", 1),
    ("second", 2),
    ("2nd", 2),
    ("third", 3),
    ("3rd", 3),
    ("fourth", 4),
    ("4th", 4),
    ("fifth", 5),
    ("5th", 5),
    ("sixth", 6),
    ("6th", 6),
    ("đầu", 1),
    ("seventh", 7),
    ("7th", 7),
];

/// Words that introduce an option number ("số 2", "option 3").
const PICK: [&str; 10] = [
    "số", "cái", "option", "number", "no", "slot", "chọn", "lấy", "khung", "#",
];

/// Phrases that put the decision off: the customer will come back later.
const DEFER: [&str; 13] = [
    "tính lại",
    "tính sau",
    "suy nghĩ thêm",
    "suy nghĩ lại",
    "nghĩ thêm",
    "để sau nha",
    "để sau nhé",
    "think about it",
    "think it over",
    "maybe later",
    "get back to you",
    "not now",
    "not yet",
];

/// Whether the customer puts the decision off ("thôi để tuần sau chị tính
/// lại", "I'll think about it"): a no to what was asked, and any day named
/// is when they will decide, not a day to book.
pub(super) fn defers(scan: &Scan) -> bool {
    text::has_any_phrase(scan.words, &DEFER)
}

/// Phrases that keep the clock time of what is being changed.
const SAME_TIME: [&str; 7] = [
    "same time",
    "same hour",
    "cùng giờ",
    "giờ cũ",
    "giờ như cũ",
    "y giờ",
    "giữ giờ",
];

/// Whether the customer keeps the time: "friday same time?", "dời sang
/// tuần sau cùng giờ".
pub(super) fn same_time(scan: &Scan) -> bool {
    text::has_any_phrase(scan.words, &SAME_TIME)
}

/// Phrases that point back to the day already talked about.
const SAME_DAY: [&str; 7] = [
    "cùng ngày",
    "hôm đó",
    "ngày đó",
    "hôm ấy",
    "ngày hôm đó",
    "same day",
    "that day",
];

/// Whether the customer means the day already talked about: "2 giờ chiều
/// cùng ngày hôm đó", "9h30 sáng hôm đó", "the same day at 4".
pub(super) fn same_day(scan: &Scan) -> bool {
    text::has_any_phrase(scan.words, &SAME_DAY)
}

/// Phrases that ask when a consultant works.
const HOURS: [&str; 19] = [
    "làm tới mấy",
    "làm đến mấy",
    "làm việc tới mấy",
    "làm việc đến mấy",
    "làm từ mấy",
    "làm việc từ mấy",
    "mấy giờ nghỉ",
    "nghỉ lúc mấy",
    "giờ làm việc",
    "giờ làm",
    "working hours",
    "work hours",
    "office hours",
    "opening hours",
    "work until",
    "works until",
    "working until",
    "what hours",
    "until what time",
];

/// Whether the customer asks when a consultant works.
pub(super) fn asks_hours(scan: &Scan) -> bool {
    text::has_any_phrase(scan.words, &HOURS)
}

/// "the earliest", "sớm nhất", "soonest": the first of the offered slots,
/// which come nearest first.
const EARLIEST: [&str; 5] = [
    "earliest",
    "soonest",
    "sớm nhất",
    "first available",
    "first free",
];

/// A choice among offered options: "2", "số 2", "the second", "cái thứ hai",
/// and, among offered slots, "the earliest".
pub(super) fn choice(scan: &mut Scan, awaiting: Option<Awaiting>) -> Option<usize> {
    if matches!(
        awaiting,
        Some(Awaiting::Otp | Awaiting::Time | Awaiting::Date | Awaiting::Email)
    ) {
        return None;
    }
    let words = scan.words;
    let n = words.len();
    if awaiting == Some(Awaiting::Slot) {
        for pattern in EARLIEST {
            let pattern = text::phrase(pattern);
            if let Some(at) = (0..n).find(|&at| {
                text::phrase_at(words, at, &pattern)
                    && (at..at + pattern.len()).all(|i| !scan.used[i])
            }) {
                scan.take(at, pattern.len());
                return Some(1);
            }
        }
    }
    let small = |w: &Word| {
        w.number()
            .map(|v| v as usize)
            .filter(|v| (1..=20).contains(v))
    };
    for i in 0..n {
        let Some(w) = scan.free(i) else { continue };
        let prev = if i > 0 { scan.free(i - 1) } else { None };
        // "cái thứ 2", "cái thứ hai", "thứ nhất".
        if w.is_str("thứ") {
            let next = scan.free(i + 1);
            let number = next.and_then(|x| {
                small(x).or_else(|| {
                    [
                        ("nhất", 1),
                        ("hai", 2),
                        ("ba", 3),
                        ("tư", 4),
                        ("năm", 5),
                        ("sáu", 6),
                    ]
                    .iter()
                    .find(|(t, _)| x.is_str(t))
                    .map(|(_, v)| *v)
                })
            });
            let picked =
                prev.is_some_and(|p| p.is_any(&PICK)) || next.is_some_and(|x| x.is_str("nhất"));
            if let Some(v) = number.filter(|_| picked) {
                scan.take(i, 2);
                return Some(v);
            }
            continue;
        }
        if let Some(v) = small(w) {
            let introduced = prev.is_some_and(|p| p.is_any(&PICK));
            let rest_filler = words.iter().enumerate().all(|(j, x)| {
                j == i
                    || x.is_any(&PICK)
                    || x.is_any(&POLITE)
                    || x.is_any(&[
                        "em", "tôi", "mình", "i'll", "take", "ok", "dạ", "the", "one", "i",
                        "choose", "pick", "want", "muốn",
                    ])
            });
            if introduced || rest_filler {
                scan.take(i, 1);
                return Some(v);
            }
        }
        if let Some(&(_, v)) = ORDINALS.iter().find(|(t, _)| w.is_str(t)) {
            // "đầu" only as "đầu tiên"; "first"/"second" alone or with "one"/"option".
            if w.is_str("đầu") && !scan.free(i + 1).is_some_and(|x| x.is_str("tiên")) {
                continue;
            }
            if w.is_str("nhất") {
                continue;
            }
            let english_time =
                w.fold == "second" && scan.free(i + 1).is_some_and(|x| x.fold == "week");
            if !english_time {
                scan.take(i, 1);
                return Some(v);
            }
        }
    }
    None
}

/// The customer's name, when the bot asked for it: the words after "tên
/// em là", "my name is", "I'm"…, letters only, up to six words.
pub(super) fn name(scan: &mut Scan, awaiting: Option<Awaiting>) -> Option<String> {
    if awaiting != Some(Awaiting::Name) {
        return None;
    }
    let words = scan.words;
    let intro = ["là", "is", "i'm", "im", "tên", "name", "am", "it's"];
    let mut start = words
        .iter()
        .take(6)
        .rposition(|w| w.is_any(&intro))
        .map_or(0, |p| p + 1);
    while start + 1 < words.len()
        && words[start].is_any(&["dạ", "vâng", "em", "tôi", "mình", "my", "i", "ok"])
    {
        start += 1;
    }
    let stop = [
        "ạ", "nhé", "nha", "nhe", "please", "thanks", "email", "mail", "và", "and", "số", "sđt",
        "sdt",
    ];
    let parts: Vec<&str> = words
        .iter()
        .enumerate()
        .skip(start)
        .take_while(|(i, w)| {
            !scan.used[*i]
                && !w.is_any(&stop)
                && w.original.chars().all(|c| c.is_alphabetic() || c == '\'')
        })
        .map(|(_, w)| w.original.as_str())
        .collect();
    if parts.is_empty() || parts.len() > 6 {
        return None;
    }
    scan.take_person(start, parts.len());
    Some(parts.join(" "))
}
