//! Mail: the [`Mailer`] trait the engine sends through, the plain-text
//! [`Email`] it sends, the local [`Outbox`] (the default: one RFC 5322
//! `.eml` file per message in a folder, where SES or SMTP would be in a
//! deployment), and the text of the email that carries a code.

use std::fmt::Write as _;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, FixedOffset, TimeDelta, Utc};

pub use meetassist_conversation::language::Language;

use super::address::EmailAddress;
use super::otp::OtpCode;

/// The longest line RFC 5322 allows, CRLF excluded.
const MAX_LINE: usize = 998;
/// Bytes of UTF-8 in one encoded word: `=?UTF-8?B?` + base64 of 45 bytes
/// (60 characters) + `?=` is 72, under RFC 2047's 75.
const ENCODED_WORD_BYTES: usize = 45;

/// A mailbox: an address and, optionally, the name shown with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The name shown, any Unicode (encoded per RFC 2047 when needed).
    pub name: Option<String>,
    /// The address.
    pub address: EmailAddress,
}

/// One plain-text message, before it is sent. `Date:` and `Message-ID:`
/// are the mailer's to add, when it sends.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    /// Who it is from.
    pub from: Mailbox,
    /// Who it is to.
    pub to: Mailbox,
    /// The subject, any Unicode.
    pub subject: String,
    /// The body, UTF-8 plain text.
    pub text: String,
}

impl std::fmt::Debug for Email {
    /// The body may carry a code: it is left out.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .finish()
    }
}

/// What a mailer did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The `Message-ID:` given to it, with its angle brackets.
    pub message_id: String,
    /// Where the outbox wrote it, for mailers that write files.
    pub path: Option<PathBuf>,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Writing the message failed.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A body line is longer than RFC 5322 allows.
    #[error("line {line} of the body is longer than {MAX_LINE} bytes")]
    LineTooLong {
        /// The line, from 1.
        line: usize,
    },
    /// The OS random number generator failed (for the Message-ID).
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// The writer thread stopped.
    #[error("the mail writer stopped: {0}")]
    Stopped(String),
}

/// Sends email. The local default is [`Outbox`]; SES or SMTP implement the
/// same trait.
pub trait Mailer {
    /// Sends `email`, dated `now` (the caller's clock).
    fn send(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Sent, MailError>> + Send;
}

/// A folder of `.eml` files, one per message, named so that they sort by
/// time (`20260105T093000.123456Z-000001-3f2a9c1d.eml`). Each file is
/// written beside its final name and renamed into place, so a reader never
/// sees half a message.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    /// Orders the messages of one clock instant (a frozen `--now`).
    sequence: AtomicU64,
}

impl Outbox {
    /// An outbox writing into `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Outbox {
            dir: dir.into(),
            sequence: AtomicU64::new(0),
        }
    }

    /// The folder it writes to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `email` as an `.eml` file, blocking: what [`Mailer::send`]
    /// does on a blocking thread.
    pub fn write(&self, email: &Email, now: DateTime<Utc>) -> Result<Sent, MailError> {
        let (name, message_id, message) = self.prepare(email, now)?;
        write_atomically(&self.dir, &name, &message).map(|path| Sent {
            message_id,
            path: Some(path),
        })
    }

    fn prepare(
        &self,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<(String, String, String), MailError> {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|error| MailError::Random(error.to_string()))?;
        let random = hex(&random);
        let stamp = now.format("%Y%m%dT%H%M%S%.6fZ");
        let name = format!("{stamp}-{sequence:06}-{}.eml", &random[..8]);
        let message_id = format!("<{stamp}.{random}@{}>", email.from.address.domain());
        let message = render(email, now, &message_id)?;
        Ok((name, message_id, message))
    }
}

impl Mailer for Outbox {
    async fn send(&self, email: &Email, now: DateTime<Utc>) -> Result<Sent, MailError> {
        let (name, message_id, message) = self.prepare(email, now)?;
        let dir = self.dir.clone();
        let path = tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &message))
            .await
            .map_err(|error| MailError::Stopped(error.to_string()))??;
        tracing::info!(path = %path.display(), message_id, "mail written to the outbox");
        Ok(Sent {
            message_id,
            path: Some(path),
        })
    }
}

fn write_atomically(dir: &Path, name: &str, message: &str) -> Result<PathBuf, MailError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MailError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    // A dot name without `.eml`: readers of the outbox skip it.
    let mut temporary = tempfile::Builder::new()
        .prefix(".writing-")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    temporary
        .write_all(message.as_bytes())
        .map_err(io_error(temporary.path()))?;
    temporary
        .as_file()
        .sync_all()
        .map_err(io_error(temporary.path()))?;
    let path = dir.join(name);
    temporary
        .persist_noclobber(&path)
        .map_err(|error| MailError::Io {
            path: path.clone(),
            source: error.error,
        })?;
    Ok(path)
}

/// `email` as an RFC 5322 message: CRLF line ends, non-ASCII header text
/// as RFC 2047 encoded words, a UTF-8 body sent 8bit.
pub fn render(email: &Email, date: DateTime<Utc>, message_id: &str) -> Result<String, MailError> {
    let mut body = String::with_capacity(email.text.len() + 16);
    let text = email.text.replace("\r\n", "\n").replace('\r', "\n");
    for (index, line) in text.lines().enumerate() {
        if line.len() > MAX_LINE {
            return Err(MailError::LineTooLong { line: index + 1 });
        }
        body.push_str(line);
        body.push_str("\r\n");
    }
    let mut message = String::with_capacity(body.len() + 512);
    // Writing to a String cannot fail.
    let _ = write!(
        message,
        "From: {from}\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Date: {date}\r\n\
         Message-ID: {message_id}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         {body}",
        from = mailbox(&email.from),
        to = mailbox(&email.to),
        subject = header_text(&email.subject),
        date = date.to_rfc2822(),
    );
    Ok(message)
}

/// `"Name" <address>`, or `=?UTF-8?B?…?= <address>` for a non-ASCII name.
fn mailbox(mailbox: &Mailbox) -> String {
    match mailbox.name.as_deref().map(one_line) {
        Some(name) if !name.is_empty() => {
            let shown = if is_plain(&name) {
                format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
            } else {
                encoded_words(&name)
            };
            format!("{shown} <{}>", mailbox.address)
        }
        _ => format!("<{}>", mailbox.address),
    }
}

/// Unstructured header text: as is when it is printable ASCII, else
/// encoded words (folded over lines).
fn header_text(text: &str) -> String {
    let text = one_line(text);
    if is_plain(&text) && !text.contains("=?") && text.len() <= 900 {
        text
    } else {
        encoded_words(&text)
    }
}

/// Line breaks and control characters become spaces: no header injection.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// RFC 2047 `B` encoded words of at most [`ENCODED_WORD_BYTES`] bytes
/// each, never splitting a character, separated by folding whitespace.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + ENCODED_WORD_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(&text[start..end])));
        start = end;
    }
    words.join("\r\n ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What the email carrying a code says.
#[derive(Debug, Clone)]
pub struct OtpEmail<'a> {
    /// The customer's language.
    pub language: Language,
    /// The consultancy, shown as the sender's name and in the text.
    pub tenant_name: &'a str,
    /// The sending address.
    pub from: &'a EmailAddress,
    /// The address being proved.
    pub to: &'a EmailAddress,
    /// The code.
    pub code: &'a OtpCode,
    /// When it expires, in the tenant's time zone.
    pub expires_at: DateTime<FixedOffset>,
    /// How long it is valid for ([`super::OtpConfig::ttl`]).
    pub valid_for: TimeDelta,
}

/// The email that carries a code, in Vietnamese or English. The code is in
/// the body only, not the subject (which notifications show).
pub fn otp_email(message: &OtpEmail<'_>) -> Email {
    let tenant = one_line(message.tenant_name);
    let code = message.code.reveal();
    let minutes = message.valid_for.num_minutes().max(1);
    let at = message.expires_at;
    let (subject, text) = match message.language {
        Language::Vi => (
            format!("Mã xác minh email của bạn – {tenant}"),
            format!(
                "Xin chào,\n\n\
                 Mã xác minh email của bạn tại {tenant} là:\n\n\
                 \x20   {code}\n\n\
                 Mã có hiệu lực trong {minutes} phút (đến {time} ngày {date}, giờ UTC{offset}) và chỉ dùng được một lần.\n\
                 Đừng chia sẻ mã này với bất kỳ ai. Nếu bạn không yêu cầu mã, hãy bỏ qua email này.\n\n\
                 {tenant}\n",
                time = at.format("%H:%M"),
                date = at.format("%d/%m/%Y"),
                offset = at.format("%:z"),
            ),
        ),
        Language::En => (
            format!("Your email verification code – {tenant}"),
            format!(
                "Hello,\n\n\
                 Your email verification code for {tenant} is:\n\n\
                 \x20   {code}\n\n\
                 It is valid for {minutes} minutes (until {time} on {date}, UTC{offset}) and can be used once.\n\
                 Do not share it with anyone. If you did not ask for it, ignore this email.\n\n\
                 {tenant}\n",
                time = at.format("%H:%M"),
                date = at.format("%Y-%m-%d"),
                offset = at.format("%:z"),
            ),
        ),
    };
    Email {
        from: Mailbox {
            name: Some(tenant.clone()),
            address: message.from.clone(),
        },
        to: Mailbox {
            name: None,
            address: message.to.clone(),
        },
        subject,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_words(header: &str) -> String {
        header
            .split("\r\n ")
            .map(|word| {
                let inner = word
                    .strip_prefix("=?UTF-8?B?")
                    .and_then(|w| w.strip_suffix("?="))
                    .unwrap();
                assert!(word.len() <= 75, "{word}");
                String::from_utf8(BASE64.decode(inner).unwrap()).unwrap()
            })
            .collect()
    }

    #[test]
    fn non_ascii_headers_are_encoded_words_that_decode_back() {
        let subject = "Mã xác minh email của bạn – Công ty Tư vấn Ánh Dương Đà Nẵng";
        let encoded = header_text(subject);
        assert!(encoded.starts_with("=?UTF-8?B?"), "{encoded}");
        assert!(encoded.contains("\r\n "), "long subjects fold: {encoded}");
        assert_eq!(decode_words(&encoded), subject);
        assert_eq!(header_text("Plain subject"), "Plain subject");
        assert_eq!(
            header_text("evil\r\nBcc: x@y.z"),
            "evil  Bcc: x@y.z",
            "no header injection"
        );
    }

    #[test]
    fn mailboxes_quote_or_encode_names() {
        let address = EmailAddress::parse("no-reply@an-tam.vn").unwrap();
        let plain = Mailbox {
            name: Some("An \"Tam\"".into()),
            address: address.clone(),
        };
        assert_eq!(mailbox(&plain), "\"An \\\"Tam\\\"\" <no-reply@an-tam.vn>");
        let vietnamese = Mailbox {
            name: Some("An Tâm".into()),
            address: address.clone(),
        };
        let shown = mailbox(&vietnamese);
        let (words, rest) = shown.split_once(' ').unwrap();
        assert_eq!(decode_words(words), "An Tâm");
        assert_eq!(rest, "<no-reply@an-tam.vn>");
        assert_eq!(
            mailbox(&Mailbox {
                name: None,
                address
            }),
            "<no-reply@an-tam.vn>"
        );
    }

    #[test]
    fn bodies_get_crlf_and_overlong_lines_are_refused() {
        let email = Email {
            from: Mailbox {
                name: None,
                address: EmailAddress::parse("a@example.com").unwrap(),
            },
            to: Mailbox {
                name: None,
                address: EmailAddress::parse("b@example.com").unwrap(),
            },
            subject: "s".into(),
            text: "one\ntwo\r\nthree".into(),
        };
        let message = render(&email, DateTime::UNIX_EPOCH, "<x@example.com>").unwrap();
        assert!(
            message.ends_with("\r\n\r\none\r\ntwo\r\nthree\r\n"),
            "{message:?}"
        );
        assert!(message.contains("Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"));
        let long = Email {
            text: format!("ok\n{}", "x".repeat(999)),
            ..email
        };
        assert!(matches!(
            render(&long, DateTime::UNIX_EPOCH, "<x@example.com>"),
            Err(MailError::LineTooLong { line: 2 })
        ));
    }

    #[test]
    fn debug_leaves_the_body_out() {
        let code = OtpCode::parse("424242").unwrap();
        let from = EmailAddress::parse("no-reply@an-tam.vn").unwrap();
        let to = EmailAddress::parse("an@example.com").unwrap();
        let email = otp_email(&OtpEmail {
            language: Language::En,
            tenant_name: "An Tam",
            from: &from,
            to: &to,
            code: &code,
            expires_at: DateTime::UNIX_EPOCH.fixed_offset(),
            valid_for: TimeDelta::minutes(5),
        });
        assert!(email.text.contains("424242"));
        assert!(!email.subject.contains("424242"));
        assert!(!format!("{email:?}").contains("424242"));
    }
}
