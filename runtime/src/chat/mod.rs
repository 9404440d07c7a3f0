//! The conversation engine: one customer action in, one reply out.
//!
//! A turn is one PostgreSQL transaction on the application role's pool:
//! the session row is locked and loaded, the model reads the message, the
//! flow in progress advances, every piece of data it needs is asked of the
//! model as SQL that the guard judges and that runs as `meetassist_bot`
//! inside the turn (in a savepoint), and the session is written back. A
//! failure anywhere rolls the whole turn back: the previous state stays,
//! never half of one. Mail (the OTP) is sent only after the commit.

pub mod bedrock;
mod engine;
mod flows;
pub mod model;
pub mod session;
mod slots;

pub use engine::{ChatConfig, ChatEngine, ChatError, Tenant};

use meetassist_conversation::language::{Intent, Language};
use meetassist_conversation::understand::Awaiting;
use serde::Serialize;

pub use session::Offer;

/// What the customer did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A typed message.
    Text(String),
    /// A tap on a quick reply, with its payload.
    QuickReply(String),
    /// A tap on a button, with its payload.
    Postback(String),
}

/// Messenger's limits on quick replies.
pub const MAX_QUICK_REPLIES: usize = 13;
/// Longest quick-reply title Messenger shows, in characters.
pub const MAX_TITLE_CHARS: usize = 20;

/// One message the customer sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Chips under it (≤ 13, titles ≤ 20 characters).
    pub quick_replies: Vec<Offer>,
}

/// The bot's answer to one action: the `--json` contract of `meetassist
/// chat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reply {
    /// What the customer sees, in order.
    pub messages: Vec<Message>,
    /// The flow this turn belongs to.
    pub intent: Intent,
    /// What the bot asked for, if anything.
    pub awaiting: Option<Awaiting>,
    /// The language of the reply.
    pub language: Language,
}
