//! Words of a message: lowercased, split, and folded to plain ASCII with the
//! Vietnamese marks kept aside.
//!
//! Customers type with full diacritics, with none ("dat lich ngay mai"),
//! with old-style tone placement ("huỷ" for "hủy") or decomposed (NFD) text
//! from some keyboards. Every comparison therefore goes through a [`Word`]:
//! its folded letters must be equal, and a word typed with marks must carry
//! exactly the pattern's marks. "tuan" matches both "tuần" (week) and "Tuấn"
//! (a name); "tuần" matches only the week; "ăn" never matches "An"; "tôi"
//! (I) never matches "tối" (evening). A word typed with only some of its
//! marks is read as a different word: that costs a few typos and saves the
//! many real words that differ only by a mark.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

const GRAVE: u16 = 1;
const ACUTE: u16 = 1 << 1;
const TILDE: u16 = 1 << 2;
const HOOK: u16 = 1 << 3;
const DOT: u16 = 1 << 4;
const CIRCUMFLEX: u16 = 1 << 5;
const BREVE: u16 = 1 << 6;
const HORN: u16 = 1 << 7;
const STROKE: u16 = 1 << 8;
/// Any other combining mark (French accents, stray marks): not Vietnamese.
const OTHER: u16 = 1 << 9;
const VIETNAMESE: u16 = OTHER - 1;

/// One word of a message, or of a pattern written with diacritics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    /// The word as typed (case kept, NFC), for emails and names.
    pub original: String,
    /// Lowercase ASCII-folded letters: "Tuấn" → "tuan", "Đặt" → "dat".
    pub fold: String,
    /// The Vietnamese marks the word carries, as a set.
    marks: u16,
    /// Whether punctuation that ends a clause (, . ; ! ?) follows the word:
    /// "not tomorrow, Friday" negates only "tomorrow".
    pub ends_clause: bool,
}

impl Word {
    /// Builds a word from its text (no splitting).
    pub(crate) fn new(text: &str) -> Word {
        let (fold, marks) = fold_marks(text);
        Word {
            original: text.nfc().collect(),
            fold,
            marks,
            ends_clause: false,
        }
    }

    /// Whether this (message) word can be the pattern word: same letters,
    /// and either no marks or the pattern's marks.
    pub(crate) fn is(&self, pattern: &Word) -> bool {
        self.fold == pattern.fold && (self.marks == 0 || self.marks == pattern.marks)
    }

    /// Whether this word can be the single-word pattern `text`.
    pub(crate) fn is_str(&self, text: &str) -> bool {
        if text.is_ascii() {
            // Fast path: an ASCII pattern has no marks.
            return self.marks == 0 && self.fold.eq_ignore_ascii_case(text);
        }
        PATTERNS.with_borrow_mut(|cache| {
            if cache.len() > 4_096 {
                let (fold, marks) = fold_marks(text);
                return self.fold == fold && (self.marks == 0 || self.marks == marks);
            }
            let (fold, marks) = cache
                .entry(text.to_owned())
                .or_insert_with(|| fold_marks(text));
            self.fold == *fold && (self.marks == 0 || self.marks == *marks)
        })
    }

    /// Whether this word can be any of `texts`.
    pub(crate) fn is_any(&self, texts: &[&str]) -> bool {
        texts.iter().any(|t| self.is_str(t))
    }

    /// Whether the word carries Vietnamese marks (tones, hats, đ).
    pub(crate) fn has_marks(&self) -> bool {
        self.marks & VIETNAMESE != 0
    }

    /// Whether the word is all ASCII digits.
    pub(crate) fn is_number(&self) -> bool {
        !self.fold.is_empty() && self.fold.bytes().all(|b| b.is_ascii_digit())
    }

    /// The word's value when it is a short number.
    pub(crate) fn number(&self) -> Option<u32> {
        if self.is_number() && self.fold.len() <= 4 {
            self.fold.parse().ok()
        } else {
            None
        }
    }
}

thread_local! {
    /// Folded forms of the (static, few hundred) non-ASCII patterns.
    static PATTERNS: std::cell::RefCell<std::collections::HashMap<String, (String, u16)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    /// Split patterns and names, see [`phrase`].
    static PHRASES: std::cell::RefCell<std::collections::HashMap<String, Vec<Word>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Folds text to lowercase ASCII letters and collects its Vietnamese marks.
fn fold_marks(text: &str) -> (String, u16) {
    let mut fold = String::with_capacity(text.len());
    let mut marks = 0;
    for c in text.nfd() {
        if is_combining_mark(c) {
            marks |= match c {
                '\u{300}' => GRAVE,
                '\u{301}' => ACUTE,
                '\u{303}' => TILDE,
                '\u{309}' => HOOK,
                '\u{323}' => DOT,
                '\u{302}' => CIRCUMFLEX,
                '\u{306}' => BREVE,
                '\u{31B}' => HORN,
                _ => OTHER,
            };
            continue;
        }
        match c {
            'đ' | 'Đ' => {
                fold.push('d');
                marks |= STROKE;
            }
            '’' | '‘' | '`' => fold.push('\''),
            _ => fold.extend(c.to_lowercase()),
        }
    }
    (fold, marks)
}

/// Folds text to lowercase ASCII-ish letters: "Nguyễn Văn An" → "nguyen van an".
pub(crate) fn fold(text: &str) -> String {
    fold_marks(text).0
}

/// Characters that may sit inside a word between two letters or digits:
/// "9:30", "15/12/2026", "2026-12-15", "an.nguyen@x.vn", "o'clock".
fn is_joiner(c: char) -> bool {
    matches!(c, ':' | '/' | '-' | '.' | '@' | '_' | '+' | '\'' | '’')
}

/// Splits a message into words.
///
/// Joiners are kept only between two word characters; then, outside emails,
/// a word is split again where a joiner is not between two digits
/// ("Mr.Phuc" → "Mr", "Phuc"; "9:30" stays) and where two or more letters
/// run into digits ("thu2" → "thu", "2"; "t2" and "9h30" stay).
pub(crate) fn words(text: &str) -> Vec<Word> {
    let chars: Vec<char> = text.nfc().collect();
    let is_word = |c: char| c.is_alphanumeric() || is_combining_mark(c);
    // Each piece with whether a clause ends after it.
    let mut pieces: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let keep = is_word(c)
            || (is_joiner(c)
                && !current.is_empty()
                && chars.get(i + 1).is_some_and(|&n| is_word(n)));
        if keep {
            current.push(c);
            continue;
        }
        if !current.is_empty() {
            pieces.push((std::mem::take(&mut current), false));
        }
        if is_clause_end(c)
            && let Some(last) = pieces.last_mut()
        {
            last.1 = true;
        }
    }
    if !current.is_empty() {
        pieces.push((current, false));
    }
    let mut out = Vec::new();
    for (piece, ends_clause) in pieces {
        split_into(&piece, &mut out);
        if let Some(last) = out.last_mut() {
            last.ends_clause = ends_clause;
        }
    }
    out
}

/// Punctuation that ends a clause.
fn is_clause_end(c: char) -> bool {
    matches!(c, ',' | '.' | ';' | '!' | '?' | '…' | '，' | '。')
}

/// Splits one piece (see [`words`]) into words, appended to `out`.
fn split_into(piece: &str, out: &mut Vec<Word>) {
    if piece.contains('@') {
        out.push(Word::new(piece));
        return;
    }
    for part in split_piece(piece) {
        // English possessives and contractions: "Tuan's" → "Tuan", "'s".
        match part.strip_suffix("'s").or_else(|| part.strip_suffix("’s")) {
            Some(stem) if !stem.is_empty() => {
                out.push(Word::new(stem));
                out.push(Word::new("'s"));
            }
            _ => out.push(Word::new(&part)),
        }
    }
}

/// Splits one run of word characters and joiners (see [`words`]).
fn split_piece(piece: &str) -> Vec<String> {
    let chars: Vec<char> = piece.chars().collect();
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut letters_run = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        if is_joiner(c) {
            let prev_digit = i > 0 && chars[i - 1].is_ascii_digit();
            let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
            let apostrophe = matches!(c, '\'' | '’');
            if (prev_digit && next_digit) || apostrophe {
                current.push(c);
            } else if !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            letters_run = 0;
            continue;
        }
        if c.is_ascii_digit() && letters_run >= 2 && !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        if c.is_alphabetic() {
            letters_run += 1;
        } else if !is_combining_mark(c) {
            letters_run = 0;
        }
        current.push(c);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// A pattern of one or more words, written with diacritics.
pub(crate) fn phrase(text: &str) -> Vec<Word> {
    PHRASES.with_borrow_mut(|cache| {
        // Patterns are a few hundred constants and the directory's names;
        // anything else (a huge directory) is split without caching.
        if cache.len() > 4_096 {
            return words(text);
        }
        cache
            .entry(text.to_owned())
            .or_insert_with(|| words(text))
            .clone()
    })
}

/// Whether `pattern` (a phrase) starts at word `at` of `message`.
pub(crate) fn phrase_at(message: &[Word], at: usize, pattern: &[Word]) -> bool {
    !pattern.is_empty()
        && message.len() >= at + pattern.len()
        && pattern.iter().zip(&message[at..]).all(|(p, w)| w.is(p))
}

/// Words of SQL that a customer's sentence rarely holds three of.
const SQL_WORDS: [&str; 14] = [
    "select", "drop", "delete", "insert", "update", "union", "truncate", "alter", "grant", "table",
    "from", "where", "into", "values",
];

/// Whether the message reads like SQL: three different SQL words or more.
pub(crate) fn looks_like_sql(message: &[Word]) -> bool {
    SQL_WORDS
        .iter()
        .filter(|keyword| message.iter().any(|w| w.is_str(keyword)))
        .count()
        >= 3
}

/// Whether any of `patterns` occurs anywhere in `message`.
pub(crate) fn has_any_phrase(message: &[Word], patterns: &[&str]) -> bool {
    patterns.iter().any(|pattern| {
        let pattern = phrase(pattern);
        (0..message.len()).any(|at| phrase_at(message, at, &pattern))
    })
}

/// Edit distance with adjacent transpositions, capped: anything above `max`
/// is reported as `max + 1`. Used for typos in English keywords and names.
pub(crate) fn distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max || a.len() > 40 || b.len() > 40 {
        return max + 1;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()].min(max + 1)
}

/// Whether a message word is an English keyword, allowing one typo for
/// words of six or seven letters and two for longer ones, when the first
/// letter is right ("tommorow", "cancle", "apointment").
pub(crate) fn is_typo_of(word: &Word, keyword: &str) -> bool {
    if word.fold == keyword {
        return true;
    }
    let max = match keyword.len() {
        0..=5 => return false,
        6..=7 => 1,
        _ => 2,
    };
    word.fold.len() >= 5
        && word.fold.chars().next() == keyword.chars().next()
        && word.fold.bytes().all(|b| b.is_ascii_lowercase())
        && distance(&word.fold, keyword, max) <= max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_vietnamese() {
        assert_eq!(fold("Nguyễn Văn Đạt"), "nguyen van dat");
        assert_eq!(fold("HỦY"), "huy");
    }

    #[test]
    fn marks_decide() {
        let tuan = Word::new("tuan");
        assert!(tuan.is_str("tuần") && tuan.is_str("Tuấn"));
        assert!(!Word::new("tuần").is_str("Tuấn"));
        assert!(Word::new("huỷ").is_str("hủy"));
        assert!(!Word::new("ăn").is_str("an"));
        // Decomposed input (NFD) reads the same as precomposed.
        let nfd: String = "tuần".nfd().collect();
        assert!(Word::new(&nfd).is_str("tuần"));
    }

    #[test]
    fn splits() {
        let w: Vec<String> = words("Mr.Phuc, 9:30 15/12/2026 thu2 t2 an.nguyen@x.vn 9h30!")
            .into_iter()
            .map(|w| w.fold)
            .collect();
        assert_eq!(
            w,
            [
                "mr",
                "phuc",
                "9:30",
                "15/12/2026",
                "thu",
                "2",
                "t2",
                "an.nguyen@x.vn",
                "9h30"
            ]
        );
    }

    #[test]
    fn clause_ends() {
        let ends: Vec<bool> = words("not tomorrow, Friday. 9:30 Mr.An")
            .iter()
            .map(|w| w.ends_clause)
            .collect();
        assert_eq!(ends, [false, true, true, false, false, false]);
    }

    #[test]
    fn typos() {
        assert!(is_typo_of(&Word::new("tommorow"), "tomorrow"));
        assert!(is_typo_of(&Word::new("cancle"), "cancel"));
        assert!(!is_typo_of(&Word::new("phut"), "phuc"));
    }
}
