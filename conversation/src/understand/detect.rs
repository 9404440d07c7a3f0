//! Which language a message is written in.
//!
//! Vietnamese marks are the surest sign; without them, common Vietnamese
//! words ("dat lich ngay mai") and common English words are counted. Names
//! of consultants, numbers, times and emails say nothing, so "9h30", "2",
//! "Tuấn" or an email give `None`.

use super::text::{Word, fold, is_typo_of};
use super::{Directory, Scan};
use crate::language::Language;

/// Vietnamese words as typed without diacritics (folded).
const VI: &[&str] = &[
    "dat", "lich", "ngay", "mai", "gio", "chieu", "sang", "toi", "khong", "ko", "duoc", "dc", "em",
    "anh", "chi", "muon", "cho", "hen", "huy", "doi", "thu", "tuan", "sau", "nay", "hom", "con",
    "trong", "ranh", "xin", "chao", "cam", "vang", "nhe", "nha", "voi", "gap", "gi", "nao", "bao",
    "nhieu", "tien", "gia", "dich", "vu", "tu", "van", "cua", "minh", "co", "la", "va", "oi",
    "buoi", "luc", "roi", "ban", "giup", "lam", "xem", "biet", "hay", "nhung", "cac", "nguoi",
    "nhan", "vien", "thue", "phap", "ly", "dinh", "cu", "ngan", "kia", "mot", "nua", "truoc",
    "dang", "ky", "tui", "khi", "ai", "vay", "the", "duoc", "can", "ve", "tim", "hoi", "ạ", "a",
    "chua", "roi", "thi", "lai", "moi", "cuoi", "dau", "tot", "ngoai", "qua", "luon", "nhat",
    "chu", "nhat", "cn", "t2", "t3", "t4", "t5", "t6", "t7", "alo", "vs", "dk", "nhan", "tu",
    "phut", "tieng", "rui", "hok", "hem", "k", "kh", "dong", "so", "cai", "shop", "de", "suy",
    "nghi", "tinh",
];

/// English words common in customers' messages.
const EN: &[&str] = &[
    "i",
    "my",
    "me",
    "you",
    "your",
    "the",
    "is",
    "are",
    "can",
    "could",
    "would",
    "want",
    "like",
    "book",
    "appointment",
    "appointments",
    "tomorrow",
    "today",
    "next",
    "week",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "morning",
    "afternoon",
    "evening",
    "free",
    "available",
    "when",
    "what",
    "who",
    "with",
    "at",
    "please",
    "thanks",
    "thank",
    "hello",
    "hi",
    "hey",
    "cancel",
    "reschedule",
    "move",
    "time",
    "day",
    "do",
    "have",
    "need",
    "meet",
    "see",
    "there",
    "any",
    "slot",
    "slots",
    "how",
    "much",
    "long",
    "price",
    "services",
    "service",
    "help",
    "human",
    "staff",
    "agent",
    "yes",
    "no",
    "not",
    "it",
    "this",
    "that",
    "for",
    "of",
    "and",
    "in",
    "be",
    "will",
    "tax",
    "legal",
    "immigration",
    "short",
    "consultation",
    "session",
    "booking",
    "schedule",
    "to",
    "an",
    "a",
    "am",
    "mr",
    "ms",
    "mrs",
    "after",
    "before",
    "about",
    "tonight",
    "let",
    "let's",
    "i'm",
    "i'd",
    "yeah",
    "yep",
    "sure",
    "okay",
    "cool",
    "great",
    "good",
    "which",
    "one",
    "first",
    "second",
    "third",
    "option",
    "number",
    "change",
    "make",
    "get",
    "need",
    "talk",
    "person",
    "name",
    "code",
    "sorry",
    "thx",
    "pls",
    "on",
    "from",
    "instead",
    "earlier",
    "later",
    "date",
    "dec",
    "december",
    "january",
    "nope",
    "bye",
    "confirm",
    "confirmed",
    "take",
    "i'll",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "goodbye",
    "anyone",
    "anybody",
    "month",
    "hello",
    "there",
    "sounds",
    "fine",
    "works",
    "yes",
    "please",
];

/// Words both languages use as typed without marks: no evidence either way.
const BOTH: &[&str] = &[
    "an", "a", "to", "the", "me", "con", "can", "ban", "ok", "on", "am", "van",
];

/// Long English words often mistyped ("tommorow", "apointment").
const EN_TYPOS: &[&str] = &[
    "tomorrow",
    "appointment",
    "reschedule",
    "available",
    "availability",
    "consultation",
];

/// The language of a message, or `None` when it gives no sign.
pub(super) fn language(scan: &Scan, directory: &Directory) -> Option<Language> {
    let names: Vec<String> = directory
        .consultants
        .iter()
        .flat_map(|c| {
            fold(&c.name)
                .split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut vi = 0usize;
    let mut en = 0usize;
    let person = |i: usize| scan.person.get(i).copied().unwrap_or(false);
    for (i, word) in scan.words.iter().enumerate() {
        // A person's name is no sign of language: "Tuấn", "Nguyen Van An".
        if word.original.contains('@') || person(i) {
            continue;
        }
        let f = word.fold.as_str();
        // "a Tuấn": "a" is short for "anh" before a name.
        if f == "a" && person(i + 1) {
            vi += 1;
            continue;
        }
        if word.fold.bytes().any(|b| b.is_ascii_digit()) {
            vi += usize::from(VI.contains(&f));
            continue;
        }
        if EN_TYPOS.iter().any(|k| is_typo_of(word, k)) {
            en += 1;
            continue;
        }
        if word.has_marks() {
            vi += 2;
            continue;
        }
        if names.contains(&word.fold) && !is_function_word(word) {
            continue;
        }
        if BOTH.contains(&f) {
            continue;
        }
        if VI.contains(&f) {
            vi += 1;
        }
        if EN.contains(&f) {
            en += 1;
        }
    }
    match vi.cmp(&en) {
        std::cmp::Ordering::Greater => Some(Language::Vi),
        std::cmp::Ordering::Less => Some(Language::En),
        std::cmp::Ordering::Equal => None,
    }
}

/// Name words that are far more often Vietnamese words ("anh", "mai").
fn is_function_word(word: &Word) -> bool {
    word.is_any(&["anh", "mai"])
}
