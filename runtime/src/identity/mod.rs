//! Who a customer is: proving an email with a one-time code, the mail that
//! carries the code, and which Messenger sender is which customer.
//!
//! - [`otp`]: issuing and checking codes, with every limit the product
//!   promises (5-minute expiry, single use, 5 wrong attempts, 15 s between
//!   sends, 5 sends an hour, a 3600 s block of the email and the sender),
//!   all against a clock the caller passes in.
//! - [`secret`]: the server secret codes are stored under (HMAC-SHA256).
//! - [`mail`]: the [`Mailer`] trait, the [`Email`] it sends, the local
//!   [`Outbox`] (one `.eml` file per message) and the code's email text.
//! - [`link`]: sender → customer links (30 days by default) and finding or
//!   creating the customer.
//! - [`address`]: email addresses as MeetAssist keeps them.
//!
//! Everything that touches the database takes the caller's client or
//! transaction: the turn engine runs it inside its one transaction per turn
//! and sends the email after that transaction commits. The tables are
//! internal (`schema/migrations/0005_identity.sql`): `meetassist_bot`, the
//! role model SQL runs as, cannot read them.

pub mod address;
pub mod link;
pub mod mail;
pub mod otp;
pub mod secret;

pub use address::{BadEmail, EmailAddress};
pub use link::{SenderLink, create_customer, customer_by_email, link_sender, linked_customer};
pub use mail::{Email, Language, MailError, Mailbox, Mailer, OtpEmail, Outbox, Sent, otp_email};
pub use otp::{BadCode, CodeIssued, Otp, OtpCode, OtpConfig, OtpRefusal, Verified};
pub use secret::{OTP_SECRET_ENV, OtpSecret, SecretError};

/// Why an identity operation could not be carried out. A refusal the
/// customer should hear (a wrong code, a cooldown) is an [`OtpRefusal`],
/// not an error.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The database failed; nothing this call did should be committed.
    #[error("{what}: {}", crate::pg::describe(source))]
    Database {
        /// What was being done.
        what: &'static str,
        /// PostgreSQL's error (its SQLSTATE tells a serialization failure
        /// worth retrying from anything else).
        source: tokio_postgres::Error,
    },
    /// A Messenger sender id was empty: a bug in the caller, not input.
    #[error("the sender id is empty")]
    EmptySender,
    /// A customer's full name was empty, too long or held control
    /// characters.
    #[error("a full name must be 1 to {max} characters, without control characters", max = link::MAX_NAME_CHARS)]
    BadName,
    /// The tenant already has a customer with this email: link to it.
    #[error("customer {customer} of tenant {tenant} already has this email")]
    EmailTaken {
        /// The tenant.
        tenant: i64,
        /// The customer who has the email.
        customer: i64,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// Wraps a PostgreSQL error with what was being done.
fn database(what: &'static str) -> impl FnOnce(tokio_postgres::Error) -> IdentityError {
    move |source| IdentityError::Database { what, source }
}
