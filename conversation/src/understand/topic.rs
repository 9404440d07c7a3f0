//! What a booking is about, in the customer's own words: "chị muốn hỏi
//! chuyện đổi việc", "about my lease". The engine writes it to
//! `appointments.topic`, so the consultant knows before the meeting.
//!
//! Only words after a marker are taken, and only up to the end of the
//! clause or to a word another reader claimed (a day, a time, a name):
//! "about my lease tomorrow at 3" is about "my lease".

use super::Scan;
use super::text::{self, Word};

/// Words after which the customer says what the meeting is about. Bare
/// "chuyện" is left out: typed without marks it is "chuyển" (move).
const MARKERS: [&str; 20] = [
    "chủ đề",
    "topic",
    "nội dung",
    "về việc",
    "về vấn đề",
    "về chuyện",
    "hỏi chuyện",
    "chuyện về",
    "vấn đề",
    "liên quan đến",
    "liên quan tới",
    "hỏi về",
    "tư vấn về",
    "nói về",
    "trao đổi về",
    "bàn về",
    "about",
    "regarding",
    "concerning",
    "to discuss",
];

/// Words that end a topic when no punctuation does: they start what comes
/// next ("about my lease with An", "về hợp đồng vào thứ 2 nhé").
const ENDS: [&str; 26] = [
    "with", "on", "at", "please", "pls", "and", "but", "next", "this", "can", "could", "is", "với",
    "vào", "lúc", "nhé", "nha", "nhe", "nhưng", "được", "đc", "không", "ko", "thì", "hả", "thôi",
];

/// Words that say nothing of a topic on their own: "think about it", "tell
/// me about her".
const EMPTY: [&str; 14] = [
    "it", "that", "this", "her", "him", "them", "those", "these", "đó", "này", "gì", "giá",
    "prices", "price",
];

/// The longest topic kept, in characters.
pub const MAX_TOPIC_CHARS: usize = 200;

/// The customer's words for what the meeting is about, if a marker
/// introduces any.
pub(super) fn topic(scan: &Scan) -> Option<String> {
    let words = scan.words;
    let markers: Vec<Vec<Word>> = MARKERS.iter().map(|m| text::phrase(m)).collect();
    for at in 0..words.len() {
        let Some(marker) = markers.iter().find(|m| text::phrase_at(words, at, m)) else {
            continue;
        };
        // "how about Friday?", "what about 3pm": a suggestion, not a topic.
        if marker.len() == 1
            && marker[0].fold == "about"
            && at > 0
            && words[at - 1].is_any(&["how", "what"])
        {
            continue;
        }
        // "about." ends before saying anything.
        if words[at + marker.len() - 1].ends_clause {
            continue;
        }
        // "tư vấn về vấn đề thuế": the second marker is part of the first.
        let mut start = at + marker.len();
        while let Some(next) = markers.iter().find(|m| text::phrase_at(words, start, m)) {
            start += next.len();
        }
        if let Some(found) = words_after(scan, start) {
            return Some(found);
        }
    }
    None
}

/// The free words from `start` up to the clause's end, a claimed word or an
/// ending word, joined; `None` when they say nothing.
fn words_after(scan: &Scan, start: usize) -> Option<String> {
    let mut taken: Vec<&Word> = Vec::new();
    for i in start..scan.words.len() {
        let Some(word) = scan.free(i) else { break };
        // "ạ" ends a Vietnamese sentence; typed without marks, "a" is English.
        if word.is_any(&ENDS) || (word.has_marks() && word.is_str("ạ")) {
            break;
        }
        taken.push(word);
        if word.ends_clause {
            break;
        }
    }
    let says_something =
        |w: &&Word| w.fold.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !w.is_any(&EMPTY);
    if !taken.iter().any(says_something) {
        return None;
    }
    let mut joined = String::new();
    for word in taken {
        // "company" + "'s": the split possessive goes back on its word.
        if !joined.is_empty() && !word.original.starts_with('\'') {
            joined.push(' ');
        }
        joined.push_str(&word.original);
    }
    Some(clip(&joined))
}

/// At most [`MAX_TOPIC_CHARS`] characters, cut at a word.
fn clip(topic: &str) -> String {
    if topic.chars().count() <= MAX_TOPIC_CHARS {
        return topic.to_owned();
    }
    let cut: String = topic.chars().take(MAX_TOPIC_CHARS).collect();
    match cut.rfind(' ') {
        Some(space) => cut[..space].to_owned(),
        None => cut,
    }
}
