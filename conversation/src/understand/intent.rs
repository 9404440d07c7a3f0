//! What the customer wants, from key phrases in both languages.
//!
//! Phrases are tried by priority: a person, then changes to existing
//! appointments, then the customer's own appointments, booking, free slots,
//! services, consultants, help, greetings. "Chào anh, em muốn đặt lịch" is a
//! booking; "hủy lịch hẹn" a cancellation, though it says "lịch hẹn".
//! A pattern starting with `!` counts only when typed with its diacritics:
//! "doi" alone is đợi (wait) as often as đổi (change).

use super::text::{self, Word, is_typo_of};
use super::{Awaiting, Scan, Understanding};
use crate::language::Intent;

const HUMAN: &[&str] = &[
    "nhân viên",
    "người thật",
    "người thực",
    "human",
    "staff",
    "agent",
    "real person",
    "a person",
    "operator",
    "tổng đài",
    "tổng đài viên",
    "representative",
    "customer service",
    "chăm sóc khách hàng",
    "cskh",
    "talk to someone",
    "speak to someone",
    "người trực",
    "quản lý",
    "manager",
    "admin",
];

const RESCHEDULE: &[&str] = &[
    "đổi lịch",
    "đổi giờ",
    "đổi ngày",
    "đổi sang",
    "đổi qua",
    "đổi lại",
    "đổi hẹn",
    "!đổi",
    "!dời",
    "dời lịch",
    "dời hẹn",
    "dời lại",
    "dời sang",
    "lùi lịch",
    "lùi lại",
    "lùi sang",
    "chuyển lịch",
    "chuyển sang",
    "chuyển qua",
    "chuyển giờ",
    "chuyển ngày",
    "đặt lại",
    "hoãn",
    "reschedule",
    "rescheduling",
    "rescheduled",
    "move",
    "postpone",
    "push back",
    "change my appointment",
    "change the time",
    "change the date",
    "change my booking",
    "change it",
    "another time",
    "another day",
    "different time",
    "different day",
    "instead",
];

const CANCEL: &[&str] = &[
    "hủy",
    "cancel",
    "cancelled",
    "canceled",
    "cancellation",
    "bỏ lịch",
    "bỏ hẹn",
    "xóa lịch",
    "xoá lịch",
    "không đến được",
    "không đi được",
    "ko đến được",
    "ko đi được",
    "can't make it",
    "cannot make it",
    "call off",
    "delete my",
];

const MY_APPOINTMENTS: &[&str] = &[
    "lịch của tôi",
    "lịch của em",
    "lịch của mình",
    "lịch của tui",
    "lịch của tớ",
    "lịch hẹn của",
    "lịch tôi đã đặt",
    "lịch em đã đặt",
    "lịch mình đã đặt",
    "lịch đã đặt",
    "đã đặt",
    "xem lịch hẹn",
    "kiểm tra lịch hẹn",
    "lịch hẹn sắp tới",
    "my appointment",
    "my appointments",
    "my booking",
    "my bookings",
    "do i have",
    "did i book",
    "have i booked",
    "am i booked",
    "when is my",
    "what is my",
    "what's my",
    "upcoming appointments",
    "my schedule",
];

/// Own-appointment phrases that also open availability questions ("em có
/// lịch trống không"): they count only without availability words.
const MY_APPOINTMENTS_WEAK: &[&str] = &[
    "em có lịch",
    "tôi có lịch",
    "mình có lịch",
    "có lịch hẹn",
    "có hẹn",
    "lịch hẹn",
];

const BOOK: &[&str] = &[
    "đặt lịch",
    "đặt hẹn",
    "đặt chỗ",
    "đặt giờ",
    "book",
    "booking",
    "make an appointment",
    "make a booking",
    "schedule a",
    "schedule an",
    "schedule me",
    "set up",
    "set me up",
    "lấy lịch",
    "giữ chỗ",
    "giữ lịch",
    "đăng ký",
    "đăng kí",
    "reserve",
    "chốt lịch",
    "sign up",
    "hẹn gặp",
    "book in",
];

/// Booking phrases weaker than an availability question ("còn lịch hẹn
/// trống không" asks for free slots).
const BOOK_WEAK: &[&str] = &[
    "hẹn",
    "đặt",
    "appointment",
    "muốn gặp",
    "cần gặp",
    "want to see",
    "want to meet",
    "like to see",
    "like to meet",
    "muốn tư vấn",
    "cần tư vấn",
    "consultation",
    "a session",
    "meeting",
    "!gặp",
    "gap anh",
    "gap chi",
    "gap a",
    "gap c",
    "gap co",
    "gap thay",
];

const AVAILABILITY: &[&str] = &[
    "còn trống",
    "lịch trống",
    "!trống",
    "giờ trống",
    "slot trống",
    "chỗ trống",
    "rảnh",
    "free",
    "available",
    "availability",
    "avail",
    "open slot",
    "open slots",
    "openings",
    "opening",
    "khi nào",
    "lúc nào",
    "bao giờ",
    "mấy giờ",
    "giờ nào",
    "ngày nào",
    "hôm nào",
    "when",
    "what time",
    "what times",
    "which days",
    "which day",
    "còn slot",
    "còn chỗ",
    "còn lịch",
    "còn giờ",
    "slots",
    "xem lịch",
    "lịch làm việc",
    "schedule",
    "có thể gặp",
    "gặp được không",
    "kín lịch",
    "làm việc",
    "open",
    "mở cửa",
    "còn không",
    "còn ko",
    "còn hông",
    "có làm",
    "làm không",
    "làm ko",
];

const SERVICES: &[&str] = &[
    "dịch vụ",
    "!giá",
    "giá bao nhiêu",
    "giá cả",
    "bảng giá",
    "bao nhiêu tiền",
    "bao nhiêu",
    "chi phí",
    "!phí",
    "mất phí",
    "miễn phí",
    "price",
    "prices",
    "pricing",
    "cost",
    "costs",
    "fee",
    "fees",
    "how much",
    "services",
    "service",
    "how long",
    "bao lâu",
    "kéo dài",
    "thời lượng",
    "offer",
    "tư vấn gì",
    "tư vấn những gì",
    "gói",
    "free consultation",
    "for free",
    "charge",
    "online",
    "trực tuyến",
    "zoom",
    "video call",
    "là gì",
    "gồm những gì",
    "what is",
    "what's included",
];

/// Questions about the bot itself: help, not consultant info.
const HELP_STRONG: &[&str] = &[
    "bạn là ai",
    "em là ai",
    "who are you",
    "are you a bot",
    "bot",
    "làm được gì",
    "làm gì được",
    "what can you do",
    "giúp được gì",
];

/// Questions about the consultants that beat a price question ("chị Mai
/// Anh có kinh nghiệm bao lâu").
const CONSULTANT_INFO: &[&str] = &[
    "tư vấn viên",
    "chuyên gia",
    "consultant",
    "consultants",
    "giới thiệu",
    "thông tin về",
    "kinh nghiệm",
    "chuyên môn",
    "chuyên về",
    "specialty",
    "specialise",
    "specialize",
    "specializes",
    "specialises",
    "experience",
    "background",
    "tell me about",
    "luật sư nào",
    "người nào",
    "anh nào",
    "chị nào",
    "bio",
    "profile",
    "team",
    "expert",
    "experts",
    "lawyer",
    "lawyers",
    "mảng nào",
    "mảng gì",
    "lĩnh vực",
];

/// Weaker signs of a question about consultants: "ai", "who".
const CONSULTANT_INFO_WEAK: &[&str] = &["ai", "who", "những ai"];

const HELP: &[&str] = &[
    "giúp",
    "help",
    "hướng dẫn",
    "hỗ trợ",
    "how does this work",
    "how do i",
    "how to",
    "menu",
    "bắt đầu",
    "start",
    "cách",
];

const GREETING: &[&str] = &[
    "chào",
    "xin chào",
    "hi",
    "hello",
    "hey",
    "alo",
    "helo",
    "hellu",
    "hii",
    "hallo",
    "good morning",
    "good afternoon",
    "good evening",
    "yo",
];

/// Thanks and goodbyes: something, but nothing the bot acts on.
const OTHER: &[&str] = &[
    "cảm ơn",
    "cám ơn",
    "thanks",
    "thank you",
    "thank",
    "bye",
    "tạm biệt",
    "goodbye",
    "tks",
    "thx",
];

/// Words that turn named slots into a wish to book ("em muốn … anh An mai").
const DESIRE: &[&str] = &[
    "muốn",
    "cần",
    "want",
    "would like",
    "i'd like",
    "need",
    "cho em",
    "cho tôi",
    "cho mình",
    "xin",
    "can i",
    "could i",
    "giúp em",
    "giúp tôi",
];

/// Whether `pattern` (see the module notes for `!`) occurs in `words`.
fn has(words: &[Word], pattern: &str) -> bool {
    let (marked, body) = match pattern.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, pattern),
    };
    let phrase = text::phrase(body);
    let typo_ok =
        phrase.len() == 1 && body.len() >= 6 && body.bytes().all(|b| b.is_ascii_lowercase());
    (0..words.len()).any(|at| {
        let exact = text::phrase_at(words, at, &phrase)
            && (!marked || words[at..at + phrase.len()].iter().all(Word::has_marks));
        exact || (typo_ok && is_typo_of(&words[at], body))
    })
}

fn any(words: &[Word], patterns: &[&str]) -> bool {
    patterns.iter().any(|p| has(words, p))
}

/// The intent of a message, given what else was read from it.
pub(super) fn intent(
    scan: &Scan,
    awaiting: Option<Awaiting>,
    read: &Understanding,
) -> Option<Intent> {
    let words = scan.words;
    let found = detect(words, read);
    // Confirming a summary, "hủy"/"cancel" is a no, not a cancellation.
    if awaiting == Some(Awaiting::Confirm)
        && read.answer == Some(false)
        && found == Some(Intent::Cancel)
    {
        return None;
    }
    if found.is_some() {
        return found;
    }
    let slots = read.consultant.is_some()
        || read.service.is_some()
        || read.date.is_some()
        || read.week.is_some()
        || read.time.is_some();
    if slots && any(words, DESIRE) {
        return Some(Intent::Book);
    }
    let anything = slots
        || read.email.is_some()
        || read.code.is_some()
        || read.name.is_some()
        || read.answer.is_some()
        || read.choice.is_some();
    (!anything).then_some(Intent::Other)
}

fn detect(words: &[Word], read: &Understanding) -> Option<Intent> {
    let availability_words = any(
        words,
        &[
            "trống",
            "rảnh",
            "free",
            "available",
            "availability",
            "slot",
            "slots",
        ],
    );
    let talk = any(
        words,
        &["nói chuyện", "trực tiếp", "chat", "gọi", "talk", "speak"],
    );
    let human = HUMAN.iter().any(|p| {
        // "nhân viên tư vấn", "nhân viên nào": a consultant, unless the
        // customer wants to talk to one directly.
        if *p == "nhân viên" && !talk {
            return (0..words.len()).any(|at| {
                text::phrase_at(words, at, &text::phrase(p))
                    && !words.get(at + 2).is_some_and(|w| w.is_any(&["tư", "nào"]))
            });
        }
        has(words, p)
    });
    if human {
        return Some(Intent::Human);
    }
    // "đổi ý" is changing one's mind, not the appointment.
    let changed_mind = any(words, &["đổi ý"]);
    if RESCHEDULE
        .iter()
        .any(|p| has(words, p) && !(changed_mind && *p == "!đổi"))
    {
        return Some(Intent::Reschedule);
    }
    if any(words, CANCEL) {
        return Some(Intent::Cancel);
    }
    if any(words, MY_APPOINTMENTS) {
        return Some(Intent::MyAppointments);
    }
    if any(words, BOOK) {
        return Some(Intent::Book);
    }
    if !availability_words && any(words, MY_APPOINTMENTS_WEAK) {
        return Some(Intent::MyAppointments);
    }
    // "free consultation", "miễn phí": a price question, not a free slot.
    let free_price = any(
        words,
        &[
            "free consultation",
            "for free",
            "free session",
            "miễn phí",
            "free of charge",
        ],
    );
    if !free_price && any(words, AVAILABILITY) {
        return Some(Intent::Availability);
    }
    if any(words, HELP_STRONG) {
        return Some(Intent::Help);
    }
    if any(words, CONSULTANT_INFO) {
        return Some(Intent::ConsultantInfo);
    }
    if any(words, SERVICES) {
        return Some(Intent::Services);
    }
    // "ai cũng được": anyone will do, not a question about consultants.
    if any(words, CONSULTANT_INFO_WEAK) && !any(words, &["ai cũng", "bất kỳ ai", "ai cũng"]) {
        return Some(Intent::ConsultantInfo);
    }
    if any(words, BOOK_WEAK) {
        return Some(Intent::Book);
    }
    // "about Ngọc": about a consultant; "about my taxes" is not.
    if read.consultant.is_some() && any(words, &["about", "về"]) {
        return Some(Intent::ConsultantInfo);
    }
    if any(words, HELP) {
        return Some(Intent::Help);
    }
    if any(words, GREETING) {
        return Some(Intent::Greeting);
    }
    if any(words, OTHER) {
        return Some(Intent::Other);
    }
    None
}
