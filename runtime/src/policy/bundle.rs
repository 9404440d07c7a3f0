//! A policy bundle: a directory of compiled policy components and the
//! `manifest.json` that names each one with its version and SHA-256.
//! The host loads only what the manifest lists, and refuses a module whose
//! bytes do not hash to the manifest's digest.
//!
//! ```json
//! {
//!   "format": 1,
//!   "wit": "meetassist:policy@0.1.0",
//!   "source_digest": "…",
//!   "modules": [
//!     {"name": "allow-list", "version": "0.1.0", "file": "allow-list.wasm", "sha256": "…"}
//!   ]
//! }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest's file name inside a bundle directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest format this program reads and writes.
pub const MANIFEST_FORMAT: u32 = 1;
/// The WIT package the modules are built against.
pub const WIT_PACKAGE: &str = "meetassist:policy@0.1.0";

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub wit: String,
    /// SHA-256 over the policy sources the bundle was built from; a bundle
    /// whose digest differs from the sources' is stale.
    pub source_digest: String,
    pub modules: Vec<ModuleEntry>,
}

/// One module of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleEntry {
    /// The policy's name, e.g. "tenant-scope" (its crate's name).
    pub name: String,
    /// Its crate's version.
    pub version: String,
    /// The component's file name in the bundle directory.
    pub file: String,
    /// Hex SHA-256 of the component's bytes.
    pub sha256: String,
}

/// A module read from a bundle, its bytes checked against the manifest.
#[derive(Debug, Clone)]
pub struct VerifiedModule {
    pub entry: ModuleEntry,
    pub bytes: Vec<u8>,
}

/// Why a bundle cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "no policy bundle at {}; build it with `meetassist policy build`",
        dir.display()
    )]
    Missing { dir: PathBuf },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: not a valid manifest: {message}", path.display())]
    BadManifest { path: PathBuf, message: String },
    #[error(
        "{}: module {name} has SHA-256 {actual}, the manifest says {expected}; refusing it (rebuild with `meetassist policy build`)",
        path.display()
    )]
    DigestMismatch {
        path: PathBuf,
        name: String,
        expected: String,
        actual: String,
    },
    #[error("{}: the manifest lists no modules", path.display())]
    Empty { path: PathBuf },
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Manifest {
    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, BundleError> {
        let path = dir.join(MANIFEST_FILE);
        if !path.exists() {
            return Err(BundleError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| BundleError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|error| BundleError::BadManifest {
                path: path.clone(),
                message: error.to_string(),
            })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(BundleError::BadManifest {
                path,
                message: format!(
                    "format {} (this program reads {MANIFEST_FORMAT})",
                    manifest.format
                ),
            });
        }
        if manifest.wit != WIT_PACKAGE {
            return Err(BundleError::BadManifest {
                path,
                message: format!(
                    "built against {} (this program speaks {WIT_PACKAGE})",
                    manifest.wit
                ),
            });
        }
        if manifest.modules.is_empty() {
            return Err(BundleError::Empty { path });
        }
        for module in &manifest.modules {
            let plain = Path::new(&module.file)
                .file_name()
                .is_some_and(|name| name == module.file.as_str());
            if !plain {
                return Err(BundleError::BadManifest {
                    path,
                    message: format!("module file `{}` must be a plain file name", module.file),
                });
            }
        }
        Ok(manifest)
    }

    /// Writes `dir/manifest.json` (pretty-printed, stable order).
    pub fn write(&self, dir: &Path) -> Result<(), BundleError> {
        let path = dir.join(MANIFEST_FILE);
        let text =
            serde_json::to_string_pretty(self).map_err(|error| BundleError::BadManifest {
                path: path.clone(),
                message: error.to_string(),
            })?;
        std::fs::write(&path, text + "\n").map_err(|source| BundleError::Read { path, source })
    }

    /// Reads every module the manifest lists and checks its digest.
    pub fn load_modules(&self, dir: &Path) -> Result<Vec<VerifiedModule>, BundleError> {
        self.modules
            .iter()
            .map(|entry| {
                let path = dir.join(&entry.file);
                let bytes = std::fs::read(&path).map_err(|source| BundleError::Read {
                    path: path.clone(),
                    source,
                })?;
                let actual = sha256_hex(&bytes);
                if actual != entry.sha256 {
                    return Err(BundleError::DigestMismatch {
                        path,
                        name: entry.name.clone(),
                        expected: entry.sha256.clone(),
                        actual,
                    });
                }
                Ok(VerifiedModule {
                    entry: entry.clone(),
                    bytes,
                })
            })
            .collect()
    }
}

/// The default bundle directory: `$MEETASSIST_POLICIES`, else
/// `.meetassist/policies` in the repository this program was built from.
pub fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MEETASSIST_POLICIES") {
        return PathBuf::from(dir);
    }
    repository_root().join(".meetassist").join("policies")
}

/// The repository this program was built from (policy sources live there).
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_with(bytes: &[u8], digest: &str) -> (tempfile::TempDir, Manifest) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.wasm"), bytes).unwrap();
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            wit: WIT_PACKAGE.into(),
            source_digest: "x".into(),
            modules: vec![ModuleEntry {
                name: "p".into(),
                version: "0.1.0".into(),
                file: "p.wasm".into(),
                sha256: digest.into(),
            }],
        };
        manifest.write(dir.path()).unwrap();
        (dir, manifest)
    }

    #[test]
    fn a_module_with_the_listed_digest_loads() {
        let (dir, _) = bundle_with(b"module", &sha256_hex(b"module"));
        let manifest = Manifest::read(dir.path()).unwrap();
        let modules = manifest.load_modules(dir.path()).unwrap();
        assert_eq!(modules[0].bytes, b"module");
    }

    #[test]
    fn a_module_whose_digest_differs_is_refused() {
        let (dir, _) = bundle_with(b"tampered", &sha256_hex(b"module"));
        let manifest = Manifest::read(dir.path()).unwrap();
        let error = manifest.load_modules(dir.path()).unwrap_err();
        assert!(
            matches!(error, BundleError::DigestMismatch { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_missing_bundle_says_how_to_build_one() {
        let dir = tempfile::tempdir().unwrap();
        let error = Manifest::read(dir.path()).unwrap_err();
        assert!(
            error.to_string().contains("meetassist policy build"),
            "{error}"
        );
    }

    #[test]
    fn module_files_cannot_leave_the_bundle_directory() {
        let (dir, mut manifest) = bundle_with(b"module", &sha256_hex(b"module"));
        manifest.modules[0].file = "../p.wasm".into();
        manifest.write(dir.path()).unwrap();
        assert!(matches!(
            Manifest::read(dir.path()),
            Err(BundleError::BadManifest { .. })
        ));
    }
}
