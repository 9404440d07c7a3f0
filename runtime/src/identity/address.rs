//! Email addresses as MeetAssist keeps them: one mailbox, trimmed and
//! lowercased, so that `An@Example.COM` and `an@example.com` are one
//! customer (the `customers` index is on `lower(email)` too).

use std::fmt;

/// Longest address SMTP carries (RFC 5321: a 256-octet path less `<>`).
const MAX_ADDRESS: usize = 254;
/// Longest local part (RFC 5321).
const MAX_LOCAL: usize = 64;
/// Longest domain label (RFC 1035).
const MAX_LABEL: usize = 63;

/// A checked, normalized email address (`local@domain`, ASCII, lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

/// Why a text is not an email address MeetAssist can send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadEmail {
    /// Nothing was given.
    #[error("the email is empty")]
    Empty,
    /// Longer than an address can be.
    #[error("the email is longer than {MAX_ADDRESS} characters")]
    TooLong,
    /// Not one `@` between a local part and a domain.
    #[error("an email has one @ between a name and a domain, like an@example.com")]
    NotAnAddress,
    /// The part before `@` has characters or dots an address cannot have.
    #[error("the part before @ is not valid")]
    BadLocalPart,
    /// The part after `@` is not a domain name like `example.com`.
    #[error("the part after @ is not a domain like example.com")]
    BadDomain,
}

impl EmailAddress {
    /// Checks `text` (surrounding whitespace ignored) and normalizes it to
    /// lowercase.
    pub fn parse(text: &str) -> Result<Self, BadEmail> {
        let text = text.trim();
        if text.is_empty() {
            return Err(BadEmail::Empty);
        }
        if text.len() > MAX_ADDRESS {
            return Err(BadEmail::TooLong);
        }
        let Some((local, domain)) = text.rsplit_once('@') else {
            return Err(BadEmail::NotAnAddress);
        };
        if local.is_empty() || domain.is_empty() || local.contains('@') {
            return Err(BadEmail::NotAnAddress);
        }
        if !valid_local(local) {
            return Err(BadEmail::BadLocalPart);
        }
        if !valid_domain(domain) {
            return Err(BadEmail::BadDomain);
        }
        Ok(EmailAddress(text.to_ascii_lowercase()))
    }

    /// An address read back from an internal table, where only checked
    /// addresses are written.
    pub(crate) fn from_stored(text: String) -> Self {
        EmailAddress(text)
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dot-atom of RFC 5322's `atext`: no quoted local parts, no comments.
fn valid_local(local: &str) -> bool {
    local.len() <= MAX_LOCAL
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
}

/// A host name of two labels or more; the last is not all digits.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lowercased() {
        let address = EmailAddress::parse("  An.Nguyen+lich@Example.COM \n").unwrap();
        assert_eq!(address.as_str(), "an.nguyen+lich@example.com");
        assert_eq!(address.domain(), "example.com");
    }

    #[test]
    fn what_is_not_an_address_says_why() {
        for (text, why) in [
            ("", BadEmail::Empty),
            ("   ", BadEmail::Empty),
            ("not-an-email", BadEmail::NotAnAddress),
            ("@example.com", BadEmail::NotAnAddress),
            ("an@", BadEmail::NotAnAddress),
            ("a@b@example.com", BadEmail::NotAnAddress),
            ("an nguyen@example.com", BadEmail::BadLocalPart),
            (".an@example.com", BadEmail::BadLocalPart),
            ("a..n@example.com", BadEmail::BadLocalPart),
            ("an@localhost", BadEmail::BadDomain),
            ("an@example..com", BadEmail::BadDomain),
            ("an@-example.com", BadEmail::BadDomain),
            ("an@1.2.3.4", BadEmail::BadDomain),
            ("an@exa\r\nmple.com", BadEmail::BadDomain),
            ("an@example.com\r\nBcc: x@y.z", BadEmail::NotAnAddress),
            ("nguyễn@example.com", BadEmail::BadLocalPart),
        ] {
            assert_eq!(EmailAddress::parse(text), Err(why), "{text:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(BadEmail::TooLong));
    }
}
