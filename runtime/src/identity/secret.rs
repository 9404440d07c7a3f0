//! The server secret one-time codes are stored under: a code is kept only
//! as HMAC-SHA256(secret, context ‖ code), so a copy of the database alone
//! does not let anyone try the million codes offline.
//!
//! It comes from `MEETASSIST_OTP_SECRET` (hex or base64, at least 32 bytes)
//! or, when that is unset, from a file the first run creates with the OS
//! CSPRNG, readable by its owner only (0600).

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The environment variable a deployment gives the secret in.
pub const OTP_SECRET_ENV: &str = "MEETASSIST_OTP_SECRET";
/// The fewest bytes a secret may have (HMAC-SHA256's output size).
pub const MIN_SECRET_BYTES: usize = 32;
/// Bytes of a generated secret.
const GENERATED_BYTES: usize = 32;
/// Names the HMAC's input format, so that a future format cannot collide.
const HMAC_DOMAIN: &[u8] = b"meetassist-otp-v1";

/// The OTP secret. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct OtpSecret {
    bytes: Vec<u8>,
    /// HMAC-SHA256 keyed with `bytes`, cloned for each code.
    keyed: Hmac<Sha256>,
}

/// Why no secret could be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Fewer bytes than [`MIN_SECRET_BYTES`].
    #[error("the OTP secret has {bytes} bytes; it needs at least {MIN_SECRET_BYTES}")]
    TooShort {
        /// How many it has.
        bytes: usize,
    },
    /// Neither hex nor base64.
    #[error("the OTP secret is neither hex nor base64")]
    NotHexOrBase64,
    /// The secret file says something that is not a secret.
    #[error("{path}: {reason}", path = path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its content.
        reason: Box<SecretError>,
    },
    /// The secret file can be read by others than its owner.
    #[error("{path} is readable by others (mode {mode:o}); hint: chmod 600 {path}", path = path.display())]
    Permissive {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Reading or writing the secret file failed.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

impl OtpSecret {
    /// A secret of these bytes, when there are enough of them.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort { bytes: bytes.len() });
        }
        // HMAC takes keys of any length; this arm is for the type's sake.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
            .map_err(|_| SecretError::TooShort { bytes: bytes.len() })?;
        Ok(OtpSecret { bytes, keyed })
    }

    /// Reads a secret written as hex (an even number of hex digits) or
    /// else as base64 (standard or URL-safe, padded or not).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let bytes = if !text.is_empty()
            && text.len().is_multiple_of(2)
            && text.bytes().all(|b| b.is_ascii_hexdigit())
        {
            decode_hex(text)
        } else {
            decode_base64(text)
        };
        Self::from_bytes(bytes.ok_or(SecretError::NotHexOrBase64)?)
    }

    /// A new secret from the OS CSPRNG.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = vec![0; GENERATED_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| SecretError::Random(error.to_string()))?;
        Self::from_bytes(bytes)
    }

    /// The secret of `env_value` when given (the value of
    /// [`OTP_SECRET_ENV`]), else the one in `file`, created on first use.
    pub fn from_env_or_file(env_value: Option<&str>, file: &Path) -> Result<Self, SecretError> {
        match env_value {
            Some(text) if !text.trim().is_empty() => Self::parse(text),
            _ => Self::load_or_create(file),
        }
    }

    /// The secret stored in `file`; when there is none, a new one written
    /// there (hex, mode 0600, through a temporary file renamed into place,
    /// so that a reader never sees half a secret and two processes starting
    /// at once end up with the same one). A file others can read is refused.
    pub fn load_or_create(file: &Path) -> Result<Self, SecretError> {
        match Self::load(file) {
            Err(SecretError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
            loaded => return loaded,
        }
        let secret = Self::generate()?;
        match secret.write_new(file) {
            Ok(()) => {
                tracing::info!(path = %file.display(), "created a new OTP secret");
                Ok(secret)
            }
            // Another process created it first: use theirs.
            Err(SecretError::Io { source, .. })
                if source.kind() == io::ErrorKind::AlreadyExists =>
            {
                Self::load(file)
            }
            Err(error) => Err(error),
        }
    }

    fn load(file: &Path) -> Result<Self, SecretError> {
        let io_error = |source| SecretError::Io {
            path: file.to_path_buf(),
            source,
        };
        let metadata = fs::metadata(file).map_err(io_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(SecretError::Permissive {
                    path: file.to_path_buf(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let text = fs::read_to_string(file).map_err(io_error)?;
        Self::parse(&text).map_err(|reason| SecretError::BadFile {
            path: file.to_path_buf(),
            reason: Box::new(reason),
        })
    }

    fn write_new(&self, file: &Path) -> Result<(), SecretError> {
        let folder = match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SecretError::Io { path, source }
        };
        fs::create_dir_all(folder).map_err(io_error(folder))?;
        // tempfile creates the file 0600 on Unix; it is deleted if anything
        // below fails.
        let mut temporary = tempfile::Builder::new()
            .prefix(".otp-secret.")
            .tempfile_in(folder)
            .map_err(io_error(folder))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temporary
                .as_file()
                .set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(io_error(temporary.path()))?;
        }
        writeln!(temporary, "{}", encode_hex(&self.bytes)).map_err(io_error(temporary.path()))?;
        temporary
            .as_file()
            .sync_all()
            .map_err(io_error(temporary.path()))?;
        temporary
            .persist_noclobber(file)
            .map_err(|error| SecretError::Io {
                path: file.to_path_buf(),
                source: error.error,
            })?;
        Ok(())
    }

    /// HMAC-SHA256 of `code` for this tenant, sender and email: the value
    /// stored in `otp_challenges.code_hmac`.
    pub(crate) fn code_hmac(&self, tenant: i64, sender: &str, email: &str, code: &str) -> Vec<u8> {
        self.mac(tenant, sender, email, code)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// Whether `code` is the code `stored` was computed from, compared in
    /// constant time (`hmac`'s `verify_slice`).
    pub(crate) fn verify_code(
        &self,
        tenant: i64,
        sender: &str,
        email: &str,
        code: &str,
        stored: &[u8],
    ) -> bool {
        self.mac(tenant, sender, email, code)
            .verify_slice(stored)
            .is_ok()
    }

    /// Every field is length-prefixed, so no two contexts give one input.
    fn mac(&self, tenant: i64, sender: &str, email: &str, code: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        for field in [
            HMAC_DOMAIN,
            &tenant.to_be_bytes(),
            sender.as_bytes(),
            email.as_bytes(),
            code.as_bytes(),
        ] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac
    }
}

impl fmt::Debug for OtpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpSecret(<redacted>)")
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn hex_and_base64_give_the_same_secret() {
        let from_hex = OtpSecret::parse(HEX).unwrap();
        let from_base64 = OtpSecret::parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_eq!(from_hex.bytes, from_base64.bytes);
        assert_eq!(from_hex.bytes.len(), 32);
        assert_eq!(
            OtpSecret::parse(&HEX.to_uppercase()).unwrap().bytes,
            from_hex.bytes
        );
    }

    #[test]
    fn short_or_garbled_secrets_are_refused() {
        assert!(matches!(
            OtpSecret::parse("00ff"),
            Err(SecretError::TooShort { bytes: 2 })
        ));
        assert!(matches!(
            OtpSecret::parse("not a secret!"),
            Err(SecretError::NotHexOrBase64)
        ));
        assert!(matches!(
            OtpSecret::parse(""),
            Err(SecretError::TooShort { bytes: 0 })
        ));
    }

    #[test]
    fn debug_redacts() {
        let secret = OtpSecret::parse(HEX).unwrap();
        assert_eq!(format!("{secret:?}"), "OtpSecret(<redacted>)");
    }

    #[test]
    fn the_hmac_binds_the_context_and_checks_in_constant_time() {
        let secret = OtpSecret::parse(HEX).unwrap();
        let stored = secret.code_hmac(1, "psid", "an@example.com", "012345");
        assert_eq!(stored.len(), 32);
        assert!(secret.verify_code(1, "psid", "an@example.com", "012345", &stored));
        assert!(!secret.verify_code(1, "psid", "an@example.com", "012346", &stored));
        assert!(!secret.verify_code(2, "psid", "an@example.com", "012345", &stored));
        assert!(!secret.verify_code(1, "other", "an@example.com", "012345", &stored));
        assert!(!secret.verify_code(1, "psid", "bo@example.com", "012345", &stored));
        // Moving bytes between fields does not give the same input.
        assert_ne!(
            secret.code_hmac(1, "ab", "c@d.ee", "012345"),
            secret.code_hmac(1, "a", "bc@d.ee", "012345")
        );
        let other = OtpSecret::generate().unwrap();
        assert!(!other.verify_code(1, "psid", "an@example.com", "012345", &stored));
        assert!(!secret.verify_code(1, "psid", "an@example.com", "012345", &stored[..31]));
    }
}
