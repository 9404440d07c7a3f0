//! What the customer wants, from key phrases in both languages.
//!
//! Phrases are tried by priority: a person, then changes to existing
//! appointments, then the customer's own appointments, booking, free slots,
//! services, consultants, help, greetings. "Chào anh, em muốn đặt lịch" is a
//! booking; "hủy lịch hẹn" a cancellation, though it says "lịch hẹn".
//! A pattern starting with `!` counts only when typed with its diacritics:
//! "doi" alone is đợi (wait) as often as đổi (change).
//!
//! Wishes and actions (book, change, cancel, talk to a person) do not count
//! when negated: "I don't want to cancel", "không muốn hủy nữa". A person
//! counts only when asked for ("talk to a human", "gặp nhân viên") or named
//! alone ("agent please"), not when merely mentioned ("verified by staff").

use super::text::{self, Word, is_typo_of};
use super::{Awaiting, Scan, TimeOfDay, Understanding};
use crate::language::Intent;

/// People a customer may ask for instead of the bot. Named alone ("by
/// staff", "the manager said") they ask for nothing: see [`asks_for_person`].
const PERSON: &[&str] = &[
    "nhân viên",
    "người thật",
    "người thực",
    "human",
    "staff",
    "agent",
    "real person",
    "person",
    "operator",
    "tổng đài",
    "tổng đài viên",
    "representative",
    "customer service",
    "customer support",
    "chăm sóc khách hàng",
    "cskh",
    "người trực",
    "quản lý",
    "manager",
    "admin",
];

/// "someone": a person only after a verb of talking ("talk to someone");
/// "I need someone to look at my taxes" is a consultation.
const SOMEONE: &[&str] = &["someone", "somebody", "ai đó"];

/// Verbs that ask to be in touch with a person.
const TALK: &[&str] = &[
    "talk",
    "speak",
    "chat",
    "connect",
    "transfer",
    "put me through",
    "contact",
    "reach",
    "call",
    "nói chuyện",
    "nói",
    "trao đổi",
    "gặp",
    "gọi",
    "gọi cho",
    "liên hệ",
    "liên lạc",
    "kết nối",
    "chuyển",
    "chuyển cho",
];

/// Wishes that ask for a person named right after them ("I want a
/// human", "get me an agent", "cho em nhân viên"). "cần" only with its
/// marks: "can" is English too ("can your staff see my file?").
const WISH: &[&str] = &[
    "want",
    "need",
    "get me",
    "give me",
    "get",
    "muốn",
    "!cần",
    "xin",
    "cho em",
    "cho tôi",
    "cho mình",
];

/// Words that may stand between a request and the person: "talk to a real
/// person", "nói chuyện trực tiếp với nhân viên".
const BETWEEN: &[&str] = &[
    "to", "with", "a", "an", "the", "your", "me", "us", "live", "actual", "one", "of", "với",
    "cho", "một", "bên", "trực", "tiếp", "em", "mình", "tôi",
];

/// Words that may come with a person named alone ("agent please", "nhân
/// viên ơi"): such a message asks for one.
const CALLING: &[&str] = &[
    "please", "pls", "plz", "now", "ơi", "đâu", "đi", "ạ", "nhé", "nha", "a", "an", "the", "real",
    "live",
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
    "biết giờ hẹn",
    "giờ hẹn của",
    "my appointment",
    "my appointments",
    "my booking",
    "my bookings",
    "do i have",
    "did i book",
    "have i booked",
    "am i booked",
    "when is my",
    "when's my",
    "what is my",
    "what's my",
    "is my appointment",
    "is my meeting",
    "is my session",
    "is my booking",
    "is my consultation",
    "am i seeing",
    "am i meeting",
    "upcoming appointments",
    "my schedule",
    "all appointments",
    "show appointments",
    "show me appointments",
    "list appointments",
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
    "đặt thêm",
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

/// Questions of when: "lịch với anh Tuấn là mấy giờ vậy".
const WHEN_ASKED: &[&str] = &[
    "mấy giờ",
    "mấy h",
    "giờ nào",
    "lúc nào",
    "khi nào",
    "bao giờ",
    "ngày nào",
    "hôm nào",
    "thứ mấy",
    "ngày mấy",
];

/// An appointment spoken of as a thing that exists: "lịch với anh Tuấn",
/// "hẹn với chị Ngọc", "buổi tư vấn với anh An".
const APPOINTMENT_WITH: &[&str] = &[
    "lịch với",
    "lịch vs",
    "hẹn với",
    "hẹn vs",
    "lịch hẹn với",
    "cuộc hẹn",
    "buổi hẹn",
    "buổi tư vấn với",
    "buổi gặp",
];

/// Words that turn a question of when into one of possibility: "đặt lịch
/// với anh Tuấn lúc mấy giờ được?", "hẹn với chị Ngọc ngày nào cũng được".
const POSSIBLE: &[&str] = &[
    "được",
    "dc",
    "đc",
    "có thể",
    "còn",
    "nên",
    "tiện",
    "phù hợp",
    "cũng",
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
    "mấy h",
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
    "are you human",
    "are you a human",
    "are you a real person",
    "bạn là người thật",
    "em là người thật",
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

/// A person already spoken of: "anh ấy", "she". With a question about
/// what they do ([`PROFILE_ASKED`]) the message asks about the consultant
/// just discussed; the engine knows who that is.
const THIRD_PERSON: &[&str] = &[
    "he",
    "she",
    "him",
    "her",
    "his",
    "anh ấy",
    "chị ấy",
    "cô ấy",
    "ông ấy",
    "bà ấy",
    "bạn ấy",
    "anh ta",
    "chị ta",
    "a ấy",
    "c ấy",
    "người này",
    "người đó",
    "người ấy",
    "this consultant",
    "that consultant",
    "this person",
    "that person",
];

/// Questions about what a person does or is.
const PROFILE_ASKED: &[&str] = &[
    "what does",
    "what do",
    "do exactly",
    "tell me more",
    "more about",
    "know more",
    "about",
    "who is",
    "who's",
    "any good",
    "good",
    "qualified",
    "experienced",
    "help with",
    "handle",
    "handles",
    "làm gì",
    "làm nghề gì",
    "làm về",
    "làm mảng",
    "là ai",
    "thế nào",
    "như thế nào",
    "ra sao",
    "giỏi",
    "có tốt",
    "về",
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
pub(super) const OTHER: &[&str] = &[
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

/// Whether the message thanks or says goodbye (and the reader found no
/// other intent in it): the bot answers in kind, with no menu.
pub(super) fn farewell(scan: &Scan, intent: Option<Intent>) -> bool {
    intent == Some(Intent::Other) && any(scan.words, OTHER)
}

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

/// Words that negate the phrase right after them: "don't cancel",
/// "không muốn hủy nữa", "khong huy".
const NEGATION: &[&str] = &[
    "not",
    "don't",
    "dont",
    "do not",
    "didn't",
    "did not",
    "never",
    "no need to",
    "không",
    "ko",
    "k",
    "kh",
    "hông",
    "chưa",
    "đừng",
    "chẳng",
    "chả",
    "khỏi",
];

/// Words between a negation and what it negates: "don't want to cancel",
/// "không cần hủy". Not pronouns: "không em muốn hủy", typed without its
/// comma, is still "no, I want to cancel".
const MODAL: &[&str] = &[
    "want", "wanna", "need", "to", "have", "going", "gonna", "muốn", "cần", "định", "phải",
];

/// Whether `pattern` (see the module notes for `!`) occurs in `words`.
fn has(words: &[Word], pattern: &str) -> bool {
    (0..words.len()).any(|at| match_at(words, at, pattern).is_some())
}

/// Whether `pattern` occurs in `words` not negated: for wishes and actions
/// ("I don't want to cancel" is not a cancellation), not for questions
/// ("anh An không rảnh à" still asks about free time).
fn has_wanted(words: &[Word], pattern: &str) -> bool {
    (0..words.len()).any(|at| match_at(words, at, pattern).is_some() && !negated(words, at))
}

/// The length of `pattern` when it occurs at word `at`.
fn match_at(words: &[Word], at: usize, pattern: &str) -> Option<usize> {
    let (marked, body) = match pattern.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, pattern),
    };
    let phrase = text::phrase(body);
    let exact = text::phrase_at(words, at, &phrase)
        && (!marked || words[at..at + phrase.len()].iter().all(Word::has_marks));
    if exact {
        return Some(phrase.len());
    }
    let typo_ok =
        phrase.len() == 1 && body.len() >= 6 && body.bytes().all(|b| b.is_ascii_lowercase());
    (typo_ok && words.get(at).is_some_and(|w| is_typo_of(w, body))).then_some(1)
}

/// Whether a pattern found at `at` is negated: a negation right before it,
/// maybe through modals, in the same clause. "không hủy được" is "cannot
/// cancel", still a wish to cancel.
fn negated(words: &[Word], at: usize) -> bool {
    let mut start = at;
    while start > 0 && words[start - 1].is_any(MODAL) && !words[start - 1].ends_clause {
        start -= 1;
    }
    let negation = NEGATION.iter().any(|n| {
        let phrase = text::phrase(n);
        start >= phrase.len()
            && text::phrase_at(words, start - phrase.len(), &phrase)
            && !words[start - 1].ends_clause
    });
    let cannot = words
        .get(at + 1..)
        .is_some_and(|rest| rest.iter().take(3).any(|w| w.is_any(&["được", "dc", "đc"])));
    negation && !cannot
}

fn any(words: &[Word], patterns: &[&str]) -> bool {
    patterns.iter().any(|p| has(words, p))
}

fn any_wanted(words: &[Word], patterns: &[&str]) -> bool {
    patterns.iter().any(|p| has_wanted(words, p))
}

/// Whether a request (`requests`) ends right before word `at`, with only
/// [`BETWEEN`] words in between, not negated.
fn requested_before(words: &[Word], at: usize, requests: &[&str]) -> bool {
    let mut end = at;
    loop {
        let found = requests.iter().any(|r| {
            let len = text::phrase(r).len();
            end >= len && match_at(words, end - len, r) == Some(len) && !negated(words, end - len)
        });
        if found {
            return true;
        }
        if end == 0 || at - end >= 4 || !words[end - 1].is_any(BETWEEN) {
            return false;
        }
        end -= 1;
    }
}

/// Whether the message asks for a person instead of the bot: a person after
/// a request ("talk to a human", "gặp nhân viên", "get me an agent"), or
/// named alone ("customer service", "agent please").
fn asks_for_person(words: &[Word]) -> bool {
    // "nhân viên tư vấn", "nhân viên nào": a consultant, unless the
    // customer wants to talk to one directly.
    let talk = ["nói chuyện", "trực tiếp", "chat", "gọi", "talk", "speak"];
    let consultant = |at: usize| {
        match_at(words, at, "nhân viên").is_some()
            && words.get(at + 2).is_some_and(|w| w.is_any(&["tư", "nào"]))
            && !any(words, &talk)
    };
    let person = |at: usize, list: &[&str]| {
        list.iter()
            .find_map(|p| match_at(words, at, p))
            .filter(|_| !consultant(at))
    };
    (0..words.len()).any(|at| {
        if let Some(len) = person(at, PERSON) {
            let alone = words
                .iter()
                .enumerate()
                .all(|(i, w)| (at..at + len).contains(&i) || w.is_any(CALLING));
            return alone || requested_before(words, at, TALK) || requested_before(words, at, WISH);
        }
        person(at, SOMEONE).is_some() && requested_before(words, at, TALK)
    })
}

/// The intent of a message, given what else was read from it (`anyone`:
/// the customer leaves the consultant open).
pub(super) fn intent(
    scan: &Scan,
    awaiting: Option<Awaiting>,
    read: &Understanding,
    anyone: bool,
) -> Option<Intent> {
    let words = scan.words;
    let found = detect(words, read, anyone);
    // Confirming a summary, "hủy"/"cancel" is a no, not a cancellation.
    if awaiting == Some(Awaiting::Confirm)
        && read.answer == Some(false)
        && found == Some(Intent::Cancel)
    {
        return None;
    }
    // "Được, xác nhận giúp tôi": at a summary, "giúp"/"help" inside a yes is
    // politeness, not a request for help.
    if awaiting == Some(Awaiting::Confirm)
        && read.answer == Some(true)
        && found == Some(Intent::Help)
    {
        return None;
    }
    // "Can I see Ms Ngọc on 1/12 at 10:30 about …": a consultant and a
    // clock time are a meeting, whatever the message asks about them —
    // unless times are being looked at ("what about Ngọc at 2:30?").
    let looking_at_times = matches!(
        awaiting,
        Some(Awaiting::Slot | Awaiting::Date | Awaiting::Time)
    );
    if found == Some(Intent::ConsultantInfo)
        && !looking_at_times
        && read.consultant.is_some()
        && matches!(read.time, Some(TimeOfDay::At(_)))
    {
        return Some(Intent::Book);
    }
    if found.is_some() {
        return found;
    }
    let slots = read.consultant.is_some()
        || read.service.is_some()
        || read.date.is_some()
        || read.week.is_some()
        || read.time.is_some();
    if (slots || anyone) && any_wanted(words, DESIRE) {
        return Some(Intent::Book);
    }
    let anything = slots
        || read.email.is_some()
        || read.code.is_some()
        || read.name.is_some()
        || read.answer.is_some()
        || read.choice.is_some()
        || anyone;
    (!anything).then_some(Intent::Other)
}

fn detect(words: &[Word], read: &Understanding, anyone: bool) -> Option<Intent> {
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
    if asks_for_person(words) {
        return Some(Intent::Human);
    }
    // "đổi ý" is changing one's mind, "đổi việc" one's job (a topic to
    // talk about), not the appointment.
    let changed_mind = any(
        words,
        &[
            "đổi ý",
            "đổi việc",
            "đổi công việc",
            "đổi nghề",
            "đổi ngành",
        ],
    );
    if RESCHEDULE
        .iter()
        .any(|p| has_wanted(words, p) && !(changed_mind && *p == "!đổi"))
    {
        return Some(Intent::Reschedule);
    }
    if any_wanted(words, CANCEL) {
        return Some(Intent::Cancel);
    }
    if any(words, MY_APPOINTMENTS) {
        return Some(Intent::MyAppointments);
    }
    if any_wanted(words, BOOK) {
        return Some(Intent::Book);
    }
    if !availability_words && any(words, MY_APPOINTMENTS_WEAK) {
        return Some(Intent::MyAppointments);
    }
    // "lịch với anh Tuấn là mấy giờ vậy": when an appointment with someone
    // is, not when one could be ("… lúc mấy giờ được?", "em muốn hẹn …").
    if !availability_words
        && any(words, APPOINTMENT_WITH)
        && any(words, WHEN_ASKED)
        && !any(words, POSSIBLE)
        && !any_wanted(words, DESIRE)
    {
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
    // "any consultant", "ai cũng được": anyone will do, not a question
    // about the consultants.
    if !anyone && any(words, CONSULTANT_INFO) {
        return Some(Intent::ConsultantInfo);
    }
    // "What does he do exactly?", "anh ấy làm gì?": the consultant just
    // discussed; a price or a time asked of them is answered above.
    if any(words, THIRD_PERSON) && any(words, PROFILE_ASKED) {
        return Some(Intent::ConsultantInfo);
    }
    if any(words, SERVICES) {
        return Some(Intent::Services);
    }
    if !anyone && any(words, CONSULTANT_INFO_WEAK) {
        return Some(Intent::ConsultantInfo);
    }
    if any_wanted(words, BOOK_WEAK) {
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
