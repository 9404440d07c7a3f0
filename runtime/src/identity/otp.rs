//! One-time codes: a customer proves an email by typing back the six
//! digits sent to it.
//!
//! The promises, each a field of [`OtpConfig`]: a code is valid 5 minutes
//! and once; a code takes at most 5 wrong attempts; a sender or an email
//! gets a code at most every 15 s and 5 times an hour; when the wrong
//! attempts of an email or of a sender reach 5 (counted across codes: a new
//! code does not reset them), both that email and that sender are blocked
//! for 3600 s. Codes come from the OS CSPRNG, are stored only as an HMAC
//! (see [`OtpSecret`]) and are compared in constant time.
//!
//! Concurrency: both calls take the `otp_limits` rows of the sender and
//! then of the email as row locks (an upsert) before reading anything, and
//! keep them until the caller's transaction ends. Everything that counts
//! toward a limit of a sender or an email therefore happens one transaction
//! at a time, whatever the number of connections. Run them in a READ
//! COMMITTED transaction (PostgreSQL's default); under REPEATABLE READ a
//! concurrent call fails with a serialization error instead (still safe).

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_postgres::Transaction;

use super::address::{BadEmail, EmailAddress};
use super::secret::OtpSecret;
use super::{IdentityError, database};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// The window the hourly send cap counts over.
const SEND_WINDOW: TimeDelta = TimeDelta::hours(1);

/// The limits of the code flow. The defaults are the product's promises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpConfig {
    /// How long a code is valid after it is issued.
    pub ttl: TimeDelta,
    /// Wrong attempts allowed per code, and per email or sender before
    /// both are blocked.
    pub max_wrong: u32,
    /// Shortest time between two codes for one sender or one email.
    pub cooldown: TimeDelta,
    /// Most codes for one sender or one email in any hour.
    pub max_sends_per_hour: u32,
    /// How long an email and a sender stay blocked once the wrong attempts
    /// ran out.
    pub block: TimeDelta,
    /// How long a verified sender stays linked to its customer before the
    /// code is asked again.
    pub link_ttl: TimeDelta,
}

impl Default for OtpConfig {
    fn default() -> Self {
        OtpConfig {
            ttl: TimeDelta::minutes(5),
            max_wrong: 5,
            cooldown: TimeDelta::seconds(15),
            max_sends_per_hour: 5,
            block: TimeDelta::seconds(3600),
            link_ttl: TimeDelta::days(30),
        }
    }
}

/// Six decimal digits. `Debug` redacts them; [`OtpCode::reveal`] is the
/// one way to read them (to put them in the email).
#[derive(Clone)]
pub struct OtpCode(String);

/// Why a text is not a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadCode {
    /// Nothing was given.
    #[error("the code is empty")]
    Empty,
    /// Not six characters (spaces aside).
    #[error("a code has {CODE_DIGITS} digits")]
    Length,
    /// Something other than the digits 0-9.
    #[error("a code has only the digits 0-9")]
    NotDigits,
}

impl OtpCode {
    /// A uniformly random code from the OS CSPRNG; leading zeros included.
    pub fn generate() -> Result<Self, IdentityError> {
        // The largest multiple of 10^6 that fits in a u32: drawing below it
        // and taking the remainder gives every code the same chance.
        const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
        loop {
            let draw =
                getrandom::u32().map_err(|error| IdentityError::Random(error.to_string()))?;
            if draw < LIMIT {
                return Ok(OtpCode(format!("{:06}", draw % 1_000_000)));
            }
        }
    }

    /// Reads a code as a customer types it: six digits, spaces anywhere
    /// ignored ("123 456").
    pub fn parse(text: &str) -> Result<Self, BadCode> {
        let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.is_empty() {
            return Err(BadCode::Empty);
        }
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(BadCode::NotDigits);
        }
        if digits.len() != CODE_DIGITS {
            return Err(BadCode::Length);
        }
        Ok(OtpCode(digits))
    }

    /// The digits, for the email that carries them. Never log them.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

/// A code was issued: send it (after the transaction commits).
#[derive(Debug, Clone)]
pub struct CodeIssued {
    /// The `otp_challenges` row.
    pub challenge: i64,
    /// Where to send it, normalized.
    pub email: EmailAddress,
    /// The code.
    pub code: OtpCode,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// The sender proved the email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The `otp_challenges` row, now consumed.
    pub challenge: i64,
    /// The email proved, normalized.
    pub email: EmailAddress,
}

/// Why no code was issued, or a code was not accepted: what the customer is
/// told. Each has a stable code ([`OtpRefusal::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpRefusal {
    /// The email given is not an address. Nothing was written.
    #[error("{0}")]
    BadEmail(#[from] BadEmail),
    /// The text given is not a code. Nothing was written, and it does not
    /// count as a wrong attempt.
    #[error("{0}")]
    BadCode(#[from] BadCode),
    /// A code was sent less than the cooldown ago.
    #[error("a code was just sent; ask again after {retry_at}")]
    Cooldown {
        /// When a new code may be asked for.
        retry_at: DateTime<Utc>,
    },
    /// The hourly number of codes is used up.
    #[error("too many codes were sent this hour; ask again after {retry_at}")]
    TooManySends {
        /// When a new code may be asked for.
        retry_at: DateTime<Utc>,
    },
    /// The email or the sender is blocked after too many wrong codes.
    #[error("too many wrong codes; blocked until {until}")]
    Blocked {
        /// When the block lifts.
        until: DateTime<Utc>,
    },
    /// Not the code that was sent.
    #[error("that is not the code; {attempts_left} attempts left")]
    Wrong {
        /// Wrong attempts left before the block.
        attempts_left: u32,
    },
    /// The code is past its time (or out of attempts): ask for a new one.
    #[error("the code has expired; ask for a new one")]
    Expired,
    /// This sender has no code waiting (none asked for, or already used).
    #[error("no code is waiting; ask for one first")]
    NoCode,
}

impl OtpRefusal {
    /// The stable code of the refusal, as in the guard's `E-…` codes.
    pub fn code(&self) -> &'static str {
        match self {
            OtpRefusal::BadEmail(_) => "E-OTP-BAD-EMAIL",
            OtpRefusal::BadCode(_) => "E-OTP-BAD-CODE",
            OtpRefusal::Cooldown { .. } => "E-OTP-COOLDOWN",
            OtpRefusal::TooManySends { .. } => "E-OTP-TOO-MANY-SENDS",
            OtpRefusal::Blocked { .. } => "E-OTP-BLOCKED",
            OtpRefusal::Wrong { .. } => "E-OTP-WRONG",
            OtpRefusal::Expired => "E-OTP-EXPIRED",
            OtpRefusal::NoCode => "E-OTP-NO-CODE",
        }
    }
}

/// Issues and checks codes under one secret and one set of limits.
#[derive(Debug, Clone)]
pub struct Otp {
    secret: OtpSecret,
    config: OtpConfig,
}

/// What an `otp_limits` row says, read while holding its lock.
#[derive(Debug, Clone, Copy)]
struct Limit {
    blocked_until: Option<DateTime<Utc>>,
}

/// The two things limits are kept for.
#[derive(Debug, Clone, Copy)]
enum LimitKind {
    Sender,
    Email,
}

impl LimitKind {
    fn as_str(self) -> &'static str {
        match self {
            LimitKind::Sender => "sender",
            LimitKind::Email => "email",
        }
    }
}

impl Otp {
    /// Codes under `secret`, with `config`'s limits.
    pub fn new(secret: OtpSecret, config: OtpConfig) -> Self {
        Otp { secret, config }
    }

    /// The limits in force.
    pub fn config(&self) -> &OtpConfig {
        &self.config
    }

    /// Issues a code for `sender` (a Messenger PSID) to prove `email`, in
    /// the caller's transaction. It does not send anything: the caller
    /// sends [`super::otp_email`] after the transaction commits (a rolled
    /// back turn then sends nothing, and its code never existed).
    ///
    /// The outer `Result` is the database; the inner one is the answer. A
    /// refusal writes nothing worth keeping, and is refused again however
    /// many connections ask at once.
    pub async fn request_code(
        &self,
        transaction: &Transaction<'_>,
        tenant: i64,
        sender: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<CodeIssued, OtpRefusal>, IdentityError> {
        let email = match EmailAddress::parse(email) {
            Ok(email) => email,
            Err(bad) => return Ok(Err(bad.into())),
        };
        if sender.is_empty() {
            return Err(IdentityError::EmptySender);
        }
        // Sender first, then email: the one order every caller locks in.
        let by_sender = lock_limit(transaction, tenant, LimitKind::Sender, sender).await?;
        let by_email = lock_limit(transaction, tenant, LimitKind::Email, email.as_str()).await?;
        if let Some(until) = blocked(now, [by_sender, by_email]) {
            tracing::info!(tenant, sender, "otp code refused: blocked");
            return Ok(Err(OtpRefusal::Blocked { until }));
        }
        let sends: Vec<DateTime<Utc>> = transaction
            .query(
                "select created_at from otp_challenges
                 where tenant_id = $1 and (sender_psid = $2 or email = $3) and created_at > $4
                 order by created_at",
                &[&tenant, &sender, &email.as_str(), &(now - SEND_WINDOW)],
            )
            .await
            .map_err(database("reading the codes sent this hour"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let allowed = self.config.max_sends_per_hour as usize;
        if sends.len() >= allowed {
            // The send that has to leave the window before one more fits.
            let retry_at = sends.get(sends.len() - allowed).map_or(now, |sent| *sent) + SEND_WINDOW;
            tracing::info!(tenant, sender, "otp code refused: hourly cap");
            return Ok(Err(OtpRefusal::TooManySends { retry_at }));
        }
        if let Some(last) = sends.last() {
            let retry_at = *last + self.config.cooldown;
            if now < retry_at {
                tracing::info!(tenant, sender, "otp code refused: cooldown");
                return Ok(Err(OtpRefusal::Cooldown { retry_at }));
            }
        }
        let code = OtpCode::generate()?;
        let code_hmac = self
            .secret
            .code_hmac(tenant, sender, email.as_str(), code.reveal());
        let expires_at = now + self.config.ttl;
        let challenge: i64 = transaction
            .query_one(
                "insert into otp_challenges (tenant_id, sender_psid, email, code_hmac, created_at, expires_at)
                 values ($1, $2, $3, $4, $5, $6) returning id",
                &[&tenant, &sender, &email.as_str(), &code_hmac, &now, &expires_at],
            )
            .await
            .map_err(database("storing the code"))?
            .get(0);
        tracing::info!(tenant, sender, challenge, "otp code issued");
        Ok(Ok(CodeIssued {
            challenge,
            email,
            code,
            expires_at,
        }))
    }

    /// Checks `code_text` against the sender's newest code, in the caller's
    /// transaction. On success the code is used up; the caller then finds
    /// or creates the customer and links the sender ([`super::link`]).
    ///
    /// Commit the transaction whatever the inner answer: a wrong attempt
    /// and a block are written by this call, and a rollback would let a
    /// guess go uncounted. The outer `Result` is the database.
    pub async fn verify_code(
        &self,
        transaction: &Transaction<'_>,
        tenant: i64,
        sender: &str,
        code_text: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<Verified, OtpRefusal>, IdentityError> {
        let code = match OtpCode::parse(code_text) {
            Ok(code) => code,
            Err(bad) => return Ok(Err(bad.into())),
        };
        if sender.is_empty() {
            return Err(IdentityError::EmptySender);
        }
        let by_sender = lock_limit(transaction, tenant, LimitKind::Sender, sender).await?;
        if let Some(until) = blocked(now, [by_sender]) {
            tracing::info!(tenant, sender, "otp check refused: blocked");
            return Ok(Err(OtpRefusal::Blocked { until }));
        }
        // Only the newest code of a sender counts; codes for a sender are
        // only written under the sender's lock, which this transaction holds.
        let Some(row) = transaction
            .query_opt(
                "select id, email, code_hmac, expires_at, wrong_attempts, consumed_at
                 from otp_challenges
                 where tenant_id = $1 and sender_psid = $2
                 order by created_at desc, id desc
                 limit 1",
                &[&tenant, &sender],
            )
            .await
            .map_err(database("reading the sender's code"))?
        else {
            return Ok(Err(OtpRefusal::NoCode));
        };
        let challenge: i64 = row.get(0);
        let email = EmailAddress::from_stored(row.get(1));
        let stored: Vec<u8> = row.get(2);
        let expires_at: DateTime<Utc> = row.get(3);
        let wrong_attempts: i32 = row.get(4);
        let consumed_at: Option<DateTime<Utc>> = row.get(5);
        if consumed_at.is_some() {
            return Ok(Err(OtpRefusal::NoCode));
        }
        let by_email = lock_limit(transaction, tenant, LimitKind::Email, email.as_str()).await?;
        if let Some(until) = blocked(now, [by_email]) {
            tracing::info!(
                tenant,
                sender,
                challenge,
                "otp check refused: email blocked"
            );
            return Ok(Err(OtpRefusal::Blocked { until }));
        }
        let max_wrong = i64::from(self.config.max_wrong);
        if now >= expires_at || i64::from(wrong_attempts) >= max_wrong {
            tracing::info!(tenant, sender, challenge, "otp check refused: expired");
            return Ok(Err(OtpRefusal::Expired));
        }

        if self
            .secret
            .verify_code(tenant, sender, email.as_str(), code.reveal(), &stored)
        {
            transaction
                .execute(
                    "update otp_challenges set consumed_at = $2 where id = $1",
                    &[&challenge, &now],
                )
                .await
                .map_err(database("using up the code"))?;
            // The email is proved: its and the sender's mistakes are forgiven.
            transaction
                .execute(
                    "update otp_limits set failures = 0
                     where tenant_id = $1
                       and ((kind = 'sender' and value = $2) or (kind = 'email' and value = $3))",
                    &[&tenant, &sender, &email.as_str()],
                )
                .await
                .map_err(database("clearing the wrong attempts"))?;
            tracing::info!(tenant, sender, challenge, "otp code verified");
            return Ok(Ok(Verified { challenge, email }));
        }

        let attempts: i32 = transaction
            .query_one(
                "update otp_challenges set wrong_attempts = wrong_attempts + 1
                 where id = $1 returning wrong_attempts",
                &[&challenge],
            )
            .await
            .map_err(database("counting a wrong attempt"))?
            .get(0);
        let failures: Option<i32> = transaction
            .query_one(
                "with counted as (
                     update otp_limits set failures = failures + 1
                     where tenant_id = $1
                       and ((kind = 'sender' and value = $2) or (kind = 'email' and value = $3))
                     returning failures)
                 select max(failures) from counted",
                &[&tenant, &sender, &email.as_str()],
            )
            .await
            .map_err(database("counting a wrong attempt"))?
            .get(0);
        let used = i64::from(attempts.max(failures.unwrap_or(0)));
        if used < max_wrong {
            let attempts_left = u32::try_from(max_wrong - used).unwrap_or(0);
            tracing::info!(tenant, sender, challenge, attempts_left, "otp code wrong");
            return Ok(Err(OtpRefusal::Wrong { attempts_left }));
        }
        let until = now + self.config.block;
        transaction
            .execute(
                "update otp_limits
                 set failures = 0, blocked_until = greatest(coalesce(blocked_until, $4), $4)
                 where tenant_id = $1
                   and ((kind = 'sender' and value = $2) or (kind = 'email' and value = $3))",
                &[&tenant, &sender, &email.as_str(), &until],
            )
            .await
            .map_err(database("blocking the email and the sender"))?;
        tracing::warn!(tenant, sender, challenge, %until, "otp attempts used up: email and sender blocked");
        Ok(Err(OtpRefusal::Blocked { until }))
    }
}

/// Takes (creating it when missing) the `otp_limits` row of one sender or
/// email as a row lock held until the transaction ends, and reads it. The
/// no-op update is what makes the upsert lock an existing row; a row being
/// inserted by another transaction is waited for.
async fn lock_limit(
    transaction: &Transaction<'_>,
    tenant: i64,
    kind: LimitKind,
    value: &str,
) -> Result<Limit, IdentityError> {
    let row = transaction
        .query_one(
            "insert into otp_limits (tenant_id, kind, value) values ($1, $2, $3)
             on conflict (tenant_id, kind, value) do update set failures = otp_limits.failures
             returning blocked_until",
            &[&tenant, &kind.as_str(), &value],
        )
        .await
        .map_err(database("locking the code limits"))?;
    Ok(Limit {
        blocked_until: row.get(0),
    })
}

/// The latest block among `limits` still in force at `now`.
fn blocked<const N: usize>(now: DateTime<Utc>, limits: [Limit; N]) -> Option<DateTime<Utc>> {
    limits
        .iter()
        .filter_map(|limit| limit.blocked_until)
        .filter(|until| *until > now)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..200)
            .map(|_| OtpCode::generate().unwrap().reveal().to_string())
            .collect();
        for code in &codes {
            assert_eq!(code.len(), CODE_DIGITS, "{code}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
        let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
        assert!(
            distinct.len() > 190,
            "200 draws from a million collide rarely"
        );
    }

    #[test]
    fn typed_codes_are_read_or_refused() {
        assert_eq!(OtpCode::parse("012345").unwrap().reveal(), "012345");
        assert_eq!(OtpCode::parse(" 012 345\n").unwrap().reveal(), "012345");
        assert_eq!(OtpCode::parse("").unwrap_err(), BadCode::Empty);
        assert_eq!(OtpCode::parse("12345").unwrap_err(), BadCode::Length);
        assert_eq!(OtpCode::parse("1234567").unwrap_err(), BadCode::Length);
        assert_eq!(OtpCode::parse("12345a").unwrap_err(), BadCode::NotDigits);
        assert_eq!(
            OtpCode::parse("１２３４５６").unwrap_err(),
            BadCode::NotDigits
        );
    }

    #[test]
    fn debug_never_shows_the_code() {
        let code = OtpCode::parse("987654").unwrap();
        let issued = CodeIssued {
            challenge: 1,
            email: EmailAddress::parse("an@example.com").unwrap(),
            code,
            expires_at: DateTime::UNIX_EPOCH,
        };
        let shown = format!("{issued:?} {issued:#?}");
        assert!(!shown.contains("987654"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn defaults_are_the_promises() {
        let config = OtpConfig::default();
        assert_eq!(config.ttl.num_seconds(), 300);
        assert_eq!(config.max_wrong, 5);
        assert_eq!(config.cooldown.num_seconds(), 15);
        assert_eq!(config.max_sends_per_hour, 5);
        assert_eq!(config.block.num_seconds(), 3600);
        assert_eq!(config.link_ttl.num_days(), 30);
    }
}
