//! What the chatbot understands and says, without IO.
//!
//! Pure like `compiler/`: no database, no network, no clock (the caller
//! passes "now"). The runtime's turn engine calls it; so do benchmarks and
//! the phrasing corpus.
//!
//! - `language`: which language a message is in, and the one name per
//!   concept shared by every module ([`Language`], [`Intent`]).
//! - `understand`: a message → intent and slots (consultant, service, date,
//!   time, email, code, yes/no, choice) — the offline model's reading.
//! - `availability`: weekly hours − exceptions − busy slots → bookable
//!   starts on the 15-minute grid, and the few offered as quick replies.
//! - `render`: dates, times, prices as the customer reads them.
//! - `tasks`: the SQL the engine asks a model for, and what the offline
//!   model writes for it.
//! - `directory`: which consultants handle a service (from their
//!   specialty and bio: the schema links none).

pub mod availability;
pub mod directory;
pub mod language;
pub mod render;
pub mod tasks;
pub mod understand;
