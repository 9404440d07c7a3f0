//! The languages the bot speaks and the intents it knows.

use serde::{Deserialize, Serialize};

/// A language a customer writes in and the bot answers in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Vietnamese, the default for a tenant in Vietnam.
    Vi,
    /// English.
    En,
}

/// What a customer wants from a turn; the names are the `--json` contract's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Free slots of a consultant, a service or a day.
    Availability,
    /// Make an appointment.
    Book,
    /// Move one of my appointments.
    Reschedule,
    /// Cancel one of my appointments.
    Cancel,
    /// What appointments do I have.
    MyAppointments,
    /// Who are the consultants, what does one do.
    ConsultantInfo,
    /// Which services, how long, how much.
    Services,
    /// Hello.
    Greeting,
    /// What can you do.
    Help,
    /// Let me talk to a person.
    Human,
    /// Anything else.
    Other,
}
