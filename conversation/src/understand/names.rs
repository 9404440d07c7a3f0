//! Consultants and services of the tenant's directory, found in a message.
//!
//! A consultant is named by full name ("Lê Hoàng Phúc"), by the last two
//! words ("Mai Anh", "Hoàng Phúc") or by the given name, the last word
//! ("Phúc", "phuc"), often after an honorific ("anh An", "chị Ngọc", "Mr.
//! Phuc", "ms ngoc"). A given name that is also a common word ("An" — an,
//! ăn; "Tuan" — tuần; "Mai" — tomorrow) counts only in a naming context:
//! after an honorific or "với"/"gặp"/"with", typed with the name's own marks
//! ("Tuấn"), or when the bot asked which consultant. Two consultants read
//! equally well → none (the bot asks).

use super::text::{self, Word, distance, fold};
use super::{Awaiting, Context, Directory, Scan};

/// Words that name a person by role before a name.
const HONORIFICS: [&str; 21] = [
    "anh", "chị", "em", "cô", "chú", "thầy", "ông", "bà", "bác", "bạn", "mr", "ms", "mrs", "miss",
    "mister", "dr", "sir", "madam", "ls", "c", "a",
];

/// Words after which a person's name is expected.
const NAMING: [&str; 15] = [
    "với", "gặp", "with", "see", "meet", "about", "về", "của", "sư", "viên", "tên", "is", "by",
    "and", "vs",
];

/// Common Vietnamese and English words that are also given names: they need
/// a naming context to count as a name.
const COMMON: [&str; 30] = [
    "an", "ăn", "mai", "tuần", "bao", "bão", "anh", "năm", "nam", "lần", "lan", "hai", "ba", "tư",
    "minh", "mình", "my", "long", "hoa", "sơn", "thu", "thứ", "những", "hà", "hà", "vân", "vui",
    "hiếu", "trung", "thành",
];

/// How sure a match is; the strongest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Strength {
    /// A bare given name that could be a common word, accepted from context.
    Weak,
    /// A given name in a naming context, or unambiguous.
    Given,
    /// The last two words of the name.
    Compound,
    /// The full name.
    Full,
}

/// Which names a pass accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pass {
    /// Names that cannot be a date word: run before dates are read.
    Strong,
    /// Bare given names that may be common words: run after dates.
    Weak,
}

/// Whether the word at `i` follows an honorific or a naming word.
fn in_naming_context(words: &[Word], i: usize) -> bool {
    if i == 0 {
        return false;
    }
    let prev = &words[i - 1];
    prev.is_any(&HONORIFICS)
        || prev.is_any(&NAMING)
        || (prev.fold == "s" && i > 1 && words[i - 2].fold == "luat")
}

/// Whether a message word is ambiguous with a common word.
fn is_common(word: &Word) -> bool {
    word.is_any(&COMMON)
}

/// A name read from a message: which consultant, where, how sure.
struct Hit {
    id: i64,
    at: usize,
    len: usize,
    strength: Strength,
}

/// Finds the consultant the message names, claiming the words.
pub(super) fn consultant(scan: &mut Scan, context: &Context, pass: Pass) -> Option<i64> {
    let words = scan.words;
    let mut hits: Vec<Hit> = Vec::new();
    let awaiting = context.awaiting == Some(Awaiting::Consultant);
    for person in &context.directory.consultants {
        let name = text::phrase(&person.name);
        let Some(given) = name.last() else { continue };
        let compound = (name.len() >= 2).then(|| &name[name.len() - 2..]);
        for at in 0..words.len() {
            if scan.free(at).is_none() {
                continue;
            }
            if name.len() >= 2 && scan.all_free(at, name.len()) && text::phrase_at(words, at, &name)
            {
                hits.push(Hit {
                    id: person.id,
                    at,
                    len: name.len(),
                    strength: Strength::Full,
                });
                continue;
            }
            if let Some(pair) = compound
                && scan.all_free(at, 2)
                && text::phrase_at(words, at, pair)
            {
                // "mai anh An": tomorrow, with An — not Mai Anh.
                let followed_by_name = words.get(at + 2).is_some_and(|w| {
                    context
                        .directory
                        .consultants
                        .iter()
                        .any(|c| text::phrase(&c.name).last().is_some_and(|g| w.is(g)))
                });
                let then_week = words
                    .get(at + 2)
                    .is_some_and(|w| w.is_any(&["sau", "tới", "này"]));
                // "mai anh ranh ko" (tomorrow, are you free): a compound
                // starting with a common word needs capitals or a context.
                let named = in_naming_context(words, at)
                    || awaiting
                    || (capital(&words[at]) && capital(&words[at + 1]));
                let plain = is_common(&words[at]) && !named;
                if !followed_by_name && !then_week && !plain {
                    hits.push(Hit {
                        id: person.id,
                        at,
                        len: 2,
                        strength: Strength::Compound,
                    });
                    continue;
                }
            }
            let w = &words[at];
            let context_before = in_naming_context(words, at);
            // The first word of a compound given name after an honorific:
            // "chị Mai" for Võ Thị Mai Anh, whose last word is also "anh".
            if let Some(pair) = compound
                && given.is_any(&HONORIFICS)
                && context_before
                && w.is(&pair[0])
            {
                hits.push(Hit {
                    id: person.id,
                    at,
                    len: 1,
                    strength: Strength::Given,
                });
                continue;
            }
            if given.is_any(&HONORIFICS) {
                continue;
            }
            let exact = w.is(given);
            // After an honorific a near miss is a typo of the name: "anh
            // Tuân", "anh Phuk", "chi ngocc".
            let typo = !exact
                && context_before
                && w.fold.len() >= 3
                && (w.fold == given.fold
                    || (w.fold.len() >= 4
                        && distance(&w.fold, &given.fold, 1) <= 1
                        && w.fold.chars().next() == given.fold.chars().next()));
            // "is an immigration…", "and an hour": the English article.
            if w.fold == "an"
                && !words[at - usize::from(at > 0)].is_any(&HONORIFICS)
                && english_article(words, at)
            {
                continue;
            }
            if !exact && !typo {
                continue;
            }
            // "phục vụ", "hạnh phúc" without marks are not Phúc.
            let idiom = words.get(at + 1).is_some_and(|n| n.is_any(&["vụ", "hồi"]))
                || (at > 0 && words[at - 1].is_any(&["hạnh"]));
            if idiom && !context_before {
                continue;
            }
            let strength = if context_before || !is_common(w) {
                Strength::Given
            } else {
                Strength::Weak
            };
            let accept = match (pass, strength) {
                (_, Strength::Weak) => {
                    pass == Pass::Weak
                        && (awaiting
                            || alone(words, at)
                            || capitalised_inside(words, at)
                            || reads_as_name(words, at))
                }
                _ => true,
            };
            if accept {
                hits.push(Hit {
                    id: person.id,
                    at,
                    len: 1,
                    strength,
                });
            }
        }
    }
    let best = hits.iter().map(|h| h.strength).max()?;
    let mut ids: Vec<i64> = hits
        .iter()
        .filter(|h| h.strength == best)
        .map(|h| h.id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for h in hits.iter().filter(|h| h.strength == best) {
        scan.take_person(h.at, h.len);
    }
    match ids.as_slice() {
        [id] => Some(*id),
        _ => None,
    }
}

/// Whether the word at `at` is the whole message but for politeness words.
fn alone(words: &[Word], at: usize) -> bool {
    const FILLER: [&str; 12] = [
        "ạ", "a", "nhé", "nhe", "nha", "đi", "please", "pls", "thôi", "ok", "được", "dc",
    ];
    words
        .iter()
        .enumerate()
        .all(|(i, w)| i == at || w.is_any(&FILLER) || w.is_any(&HONORIFICS))
}

/// Whether a word starts with a capital letter.
fn capital(word: &Word) -> bool {
    word.original.chars().next().is_some_and(char::is_uppercase)
}

/// Whether a bare common-word name, left over after dates were read, is
/// more likely the name: "tuan co ranh khong" (no "sau", "tới", "mỗi"
/// around it, so not a week), "an oi" (not the English article before a
/// vowel).
fn reads_as_name(words: &[Word], at: usize) -> bool {
    let w = &words[at];
    let prev = if at > 0 { words.get(at - 1) } else { None };
    let next = words.get(at + 1);
    if w.is_str("tuan") {
        let week_before = prev.is_some_and(|p| {
            p.is_number()
                || p.is_any(&[
                    "mỗi", "trong", "cuối", "đầu", "một", "hai", "ba", "các", "những", "mấy", "cả",
                    "1",
                ])
        });
        let week_after = next.is_some_and(|n| {
            n.is_any(&[
                "sau", "tới", "này", "nay", "trước", "nào", "nữa", "rồi", "toi",
            ])
        });
        return !week_before && !week_after;
    }
    if w.is_str("an") && !w.has_marks() {
        let article = english_article(words, at);
        let phrase = next.is_some_and(|n| {
            n.is_any(&["toàn", "ninh", "tâm", "khang", "ủi", "cư", "nhiên", "sinh"])
        }) || prev.is_some_and(|p| p.is_any(&["bình", "bảo", "đi", "bữa"]));
        return !article && !phrase;
    }
    false
}

/// Whether "an" at `at` reads as the English article: before a word that
/// starts with a vowel sound ("an appointment", "an hour"), but not before
/// a preposition or conjunction ("with An on Friday", "An at 9"), and not
/// capitalised inside a sentence before a lowercase word ("Is An free").
fn english_article(words: &[Word], at: usize) -> bool {
    const NOT_AFTER_ARTICLE: [&str; 17] = [
        "at", "on", "in", "or", "and", "is", "if", "until", "as", "also", "again", "after",
        "around", "asap", "instead", "oi", "o",
    ];
    let Some(next) = words.get(at + 1) else {
        return false;
    };
    let next_capital = next.original.chars().next().is_some_and(char::is_uppercase);
    if capitalised_inside(words, at) && !next_capital {
        return false;
    }
    !next.has_marks()
        && next.fold.starts_with(['a', 'e', 'i', 'o', 'u', 'h'])
        && !next.is_any(&NOT_AFTER_ARTICLE)
        && !next.is_any(&["ơi", "ấy", "ay", "hôm", "hả", "ha", "ở", "ah"])
}

/// Whether the word is capitalised in the middle of a sentence ("hẹn An 9h").
fn capitalised_inside(words: &[Word], at: usize) -> bool {
    at > 0
        && words[at]
            .original
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
        && !words[at].original.chars().skip(1).any(char::is_uppercase)
        && !words[at - 1].fold.ends_with('.')
}

/// Topics a customer names a service by, in both languages; a service whose
/// name contains the first phrase of a topic matches any phrase of it.
const TOPICS: [&[&str]; 5] = [
    &[
        "thuế",
        "tax",
        "taxes",
        "quyết toán",
        "hoàn thuế",
        "pit",
        "thu nhập cá nhân",
    ],
    &[
        "pháp lý",
        "legal",
        "law",
        "luật",
        "hợp đồng",
        "contract",
        "contracts",
        "thành lập",
        "lawyer",
        "doanh nghiệp",
        "business law",
        "business setup",
        "company law",
        "setting up a company",
        "set up a company",
        "start a company",
        "starting a company",
        "register a company",
        "company registration",
        "incorporate",
        "mở công ty",
    ],
    &[
        "định cư",
        "immigration",
        "immigrate",
        "visa",
        "du học",
        "tạm trú",
        "residence",
        "migrate",
    ],
    &["ngắn", "short", "brief", "quick", "nhanh"],
    // A service named for contracts alone ("Soạn thảo hợp đồng").
    &[
        "hợp đồng",
        "contract",
        "contracts",
        "lease",
        "drafting",
        "draft",
        "soạn thảo",
    ],
];

/// Words of service names that say nothing about the service.
const GENERIC: [&str; 6] = ["tư", "vấn", "buổi", "dịch", "vụ", "consultation"];

/// Where a "cho …" / "for …" clause begins after a topic was named: in
/// "tư vấn thuế cho doanh nghiệp" the topic is tax and the business is who
/// it is for, so "doanh nghiệp" must not make it the business-law service.
/// `words.len()` when there is none ("cho em đặt lịch" is "let me book").
fn for_clause(words: &[Word]) -> usize {
    let first_topic = TOPICS
        .iter()
        .flat_map(|topic| all_matches(words, topic))
        .map(|(at, _)| at)
        .min();
    let Some(first_topic) = first_topic else {
        return words.len();
    };
    (first_topic + 1..words.len())
        .find(|&at| words[at].is_any(&["cho", "for"]) && !rent_at(words, at + 1))
        .unwrap_or(words.len())
}

/// Finds the service the message names.
pub(super) fn service(scan: &Scan, directory: &Directory) -> Option<i64> {
    let words = scan.words;
    let for_clause = for_clause(words);
    let mut best: Vec<((usize, usize), i64)> = Vec::new();
    for service in &directory.services {
        let name = text::phrase(&service.name);
        let folded = fold(&service.name);
        let distinctive: Vec<Word> = name
            .iter()
            .filter(|w| !w.is_any(&GENERIC))
            .cloned()
            .collect();
        let mut score = 0;
        if !distinctive.is_empty()
            && (0..words.len()).any(|at| text::phrase_at(words, at, &distinctive))
        {
            score = 3;
        }
        for topic in TOPICS {
            let Some(anchor) = topic.first() else {
                continue;
            };
            if !format!(" {folded} ").contains(&format!(" {} ", fold(anchor))) {
                continue;
            }
            for (at, len) in all_matches(words, topic) {
                // "luật sư Ngọc" is a person, not the legal service.
                if words.get(at + len).is_some_and(|w| w.is_str("sư")) {
                    continue;
                }
                // "free" / "brief" in other senses are rare; "short notice" is not a service.
                if words.get(at + len).is_some_and(|w| w.fold == "notice") {
                    continue;
                }
                if rent_at(words, at) {
                    continue;
                }
                // Named only as whom it is for: a weaker match.
                score = score.max(if at > for_clause { 1 } else { 2 });
            }
        }
        if score == 0 {
            // Two distinctive words in a row ("doanh nghiệp", "cá nhân").
            for pair in distinctive.windows(2) {
                if (0..words.len()).any(|at| text::phrase_at(words, at, pair)) {
                    score = 1;
                }
            }
        }
        if score > 0 {
            // How many of the name's words the message has: "soan hop
            // dong" names "Soạn thảo hợp đồng" more than "thue" names a tax
            // service.
            let overlap = distinctive
                .iter()
                .filter(|d| {
                    words.iter().enumerate().any(|(i, w)| {
                        w.is(d) && i < for_clause && !(d.fold == "thue" && rent_at(words, i))
                    })
                })
                .count();
            best.push(((overlap, score), service.id));
        }
    }
    let top = best.iter().map(|(s, _)| *s).max()?;
    let ids: Vec<i64> = best
        .iter()
        .filter(|(s, _)| *s == top)
        .map(|(_, id)| *id)
        .collect();
    match ids.as_slice() {
        [id] => Some(*id),
        _ => None,
    }
}

/// Whether the word at `at` is "thue" without marks read as thuê (rent),
/// not thuế (tax): "cho thue", "hop dong thue", "thue nha" (but not "thue
/// nha dat", property tax, nor "tu van thue nha", "quyet toan thue nha").
fn rent_at(words: &[Word], at: usize) -> bool {
    let Some(word) = words.get(at) else {
        return false;
    };
    if word.fold != "thue" || word.has_marks() {
        return false;
    }
    let before = |back: usize, text: &str| {
        at.checked_sub(back)
            .and_then(|i| words.get(i))
            .is_some_and(|w| w.is_str(text))
    };
    if before(1, "vấn") || before(1, "toán") || before(1, "hoàn") {
        return false;
    }
    let after = |ahead: usize, text: &str| words.get(at + ahead).is_some_and(|w| w.is_str(text));
    before(1, "cho")
        || (before(2, "hợp") && before(1, "đồng"))
        || (after(1, "nhà") && !after(2, "đất"))
}

/// Every place one of `patterns` occurs: start and length.
fn all_matches(words: &[Word], patterns: &[&str]) -> Vec<(usize, usize)> {
    let patterns: Vec<Vec<Word>> = patterns.iter().map(|p| text::phrase(p)).collect();
    let mut out = Vec::new();
    for at in 0..words.len() {
        for p in &patterns {
            if text::phrase_at(words, at, p) {
                out.push((at, p.len()));
            }
        }
    }
    out
}

/// Phrases that leave the consultant open, anywhere in a message.
const ANYONE: [&str; 24] = [
    "anyone",
    "any1",
    "anybody",
    "any consultant",
    "any consultants",
    "any advisor",
    "any expert",
    "any lawyer",
    "any of them",
    "any of you",
    "whoever",
    "who is free",
    "who's free",
    "who is available",
    "who's available",
    "ai cũng",
    "bất kỳ ai",
    "bất kì ai",
    "bất cứ ai",
    "ai rảnh",
    "ai trống",
    "ai còn trống",
    "người nào cũng",
    "viên nào cũng",
];

/// Phrases that leave it open only as a reply to "which consultant?".
const ANYONE_WHEN_ASKED: [&str; 17] = [
    "any",
    "either",
    "no preference",
    "doesn't matter",
    "does not matter",
    "don't mind",
    "whichever",
    "you choose",
    "anh nào cũng",
    "chị nào cũng",
    "bạn nào cũng",
    "nào cũng được",
    "sao cũng được",
    "gì cũng được",
    "không quan trọng",
    "tùy",
    "tùy bạn",
];

/// Whether the customer leaves the consultant open ("ai cũng được",
/// "anyone free at 9?", "any consultant"), claiming the words: the engine
/// may then search the whole team.
pub(super) fn anyone(scan: &mut Scan, awaiting: Option<Awaiting>) -> bool {
    let asked = awaiting == Some(Awaiting::Consultant);
    let patterns = ANYONE
        .iter()
        .chain(ANYONE_WHEN_ASKED.iter().filter(|_| asked));
    let mut found = false;
    for pattern in patterns {
        let phrase = text::phrase(pattern);
        for at in 0..scan.words.len() {
            // "is anyone there?" asks whether the chat is staffed.
            let there = scan
                .words
                .get(at + phrase.len())
                .is_some_and(|w| w.is_any(&["there", "here"]));
            if scan.all_free(at, phrase.len()) && text::phrase_at(scan.words, at, &phrase) && !there
            {
                scan.take(at, phrase.len());
                found = true;
            }
        }
    }
    found
}

/// Common Vietnamese family names: a capitalised run of words that starts
/// with one is a person's full name ("Lê Thị Thu Hà", "Nguyen Van Binh").
const SURNAMES: [&str; 40] = [
    "nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ",
    "hồ", "ngô", "dương", "lý", "đinh", "trương", "đoàn", "lâm", "mai", "cao", "tạ", "châu", "lưu",
    "trịnh", "tô", "hà", "lương", "quách", "kiều", "đào", "đàm", "triệu", "vương", "hứa", "phùng",
    "chu", "tống", "diệp",
];

/// The longest full name read: surname, middle names, given name.
const MAX_NAME_WORDS: usize = 5;

/// Claims the full names of people outside the directory ("I am Lê Thị
/// Thu Hà"): a name says nothing of the message's language, and its words
/// are not dates ("Mai") or consultants ("Tuấn"). A consultant's own name
/// is left to [`consultant`].
pub(super) fn people(scan: &mut Scan, directory: &Directory) {
    let mut at = 0;
    while at < scan.words.len() {
        let len = name_run(scan, at);
        let run = &scan.words[at..at + len];
        if len >= 2 && !directory.consultants.iter().any(|c| names(run, &c.name)) {
            scan.take_person(at, len);
        }
        at += len.max(1);
    }
}

/// Whether `run` is a form of the full name `name`: its last words ("Mai
/// Anh", "Hoàng Phúc", "Nguyễn Văn An") or surname and given name ("Trần
/// Ngọc").
fn names(run: &[Word], name: &str) -> bool {
    let name = text::phrase(name);
    let tail = run.len() <= name.len()
        && run
            .iter()
            .zip(&name[name.len() - run.len()..])
            .all(|(w, n)| w.is(n));
    let ends = match (run, name.as_slice()) {
        ([first, .., last], [surname, .., given]) => first.is(surname) && last.is(given),
        _ => false,
    };
    tail || ends
}

/// How many capitalised name words start at `at`, the first a surname
/// (0 when none).
fn name_run(scan: &Scan, at: usize) -> usize {
    let name_word = |i: usize| {
        scan.free(i).is_some_and(|w| {
            let mut chars = w.original.chars();
            chars.next().is_some_and(char::is_uppercase)
                && chars.all(char::is_lowercase)
                && w.fold.len() <= 7
        })
    };
    if !name_word(at) || !scan.words[at].is_any(&SURNAMES) {
        return 0;
    }
    let mut len = 1;
    while len < MAX_NAME_WORDS && !scan.words[at + len - 1].ends_clause && name_word(at + len) {
        len += 1;
    }
    len
}
