//! Building policy modules from `policies/`: the guest crates compiled to
//! `wasm32-unknown-unknown` core modules (one cargo invocation), each made
//! into a component with `wit-component`, and collected into a bundle
//! ([`super::bundle`]).
//!
//! Guests are built with their own toolchain ([`Toolchain`], installed on
//! first use when missing) into their own target directory
//! (`policies/target`), so host and guest builds never wait for each other
//! or mix artifacts.
//!
//! Architecture invariant: a component built here imports no function (no
//! WASI, no host calls); only the type-only `types` interface its world
//! `use`s. This is checked on every component (wasmparser), and the host
//! may rely on it.

mod toolchain;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use wasmparser::component_types::ComponentEntityType;
use wasmparser::{Parser, Payload, Validator};

use super::bundle::{
    BundleError, MANIFEST_FILE, MANIFEST_FORMAT, Manifest, ModuleEntry, WIT_PACKAGE, sha256_hex,
};
pub use toolchain::{Origin, RUSTC_ENV, TARGET, Toolchain, ToolchainError};

/// The export every policy component has (the WIT world's one function).
pub const EVALUATE: &str = "evaluate";

/// One component built from a policy crate.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    /// The crate's name, e.g. "tenant-scope".
    pub name: String,
    /// The crate's version.
    pub version: String,
    /// The component's bytes.
    pub bytes: Vec<u8>,
}

/// Why policy modules could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No toolchain, and none could be installed: the one error a person
    /// fixes on their machine rather than in the sources.
    #[error(transparent)]
    Toolchain(#[from] ToolchainError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status})\n{stderr}")]
    Cargo {
        command: String,
        status: String,
        /// What cargo printed on stderr (the compiler's messages).
        stderr: String,
    },
    #[error("cannot read what `{command}` printed: {message}")]
    CargoOutput { command: String, message: String },
    #[error(
        "no crate `{name}` in the policy workspace {}; it has: {}",
        root.display(),
        known.join(", ")
    )]
    UnknownCrate {
        name: String,
        root: PathBuf,
        known: Vec<String>,
    },
    #[error(
        "crate `{name}` builds no cdylib, so no Wasm module; add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml"
    )]
    NotCdylib { name: String },
    #[error(
        "the policy workspace {} has no policy crates (members other than sdk and testing/*)",
        root.display()
    )]
    NoPolicies { root: PathBuf },
    #[error("{name}: not a valid policy component: {message}")]
    Component { name: String, message: String },
    #[error(
        "{name}: a policy module must import nothing, but it imports {}",
        imports.join(", ")
    )]
    Imports { name: String, imports: Vec<String> },
    #[error(
        "{} is not a policy bundle (no {MANIFEST_FILE}); refusing to replace it — choose an empty or new directory",
        dir.display()
    )]
    NotABundle { dir: PathBuf },
    #[error("the policy sources in {} changed during the build; build again", root.display())]
    SourcesChanged { root: PathBuf },
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// The state of a bundle directory against the sources.
#[derive(Debug)]
pub enum BundleStatus {
    /// Built from exactly these sources, every module's digest checked.
    Fresh(Manifest),
    /// Built from other sources.
    Stale { built_from: String, sources: String },
    /// No bundle there.
    Missing,
    /// A bundle that cannot be used (bad manifest, a module missing or
    /// altered).
    Unusable(BundleError),
}

/// The policies workspace: the guest crates' sources and where they are
/// built. Tests point it at a copy of `policies/`.
#[derive(Debug, Clone)]
pub struct PolicyWorkspace {
    root: PathBuf,
    target_dir: PathBuf,
    toolchain_dir: PathBuf,
}

/// Builds the named crates of the repository's `policies/` workspace (by
/// package name, or by member path such as "testing/spin") into
/// components, in one cargo invocation.
pub fn build_components(crates: &[&str]) -> Result<Vec<BuiltComponent>, BuildError> {
    PolicyWorkspace::in_repository().build_components(crates)
}

/// Builds every policy of the repository's `policies/` into a bundle in
/// `out_dir`, replacing what is there.
pub fn build_bundle(out_dir: &Path) -> Result<Manifest, BuildError> {
    PolicyWorkspace::in_repository().build_bundle(out_dir)
}

/// Returns the bundle in `out_dir`, building it first when it is missing,
/// unusable or built from other sources than the repository's
/// `policies/`. Safe to call from several processes at once.
pub fn ensure_fresh_bundle(out_dir: &Path) -> Result<Manifest, BuildError> {
    PolicyWorkspace::in_repository().ensure_fresh_bundle(out_dir)
}

impl PolicyWorkspace {
    /// The workspace at `root` (a directory with the workspace's
    /// Cargo.toml), built into `root/target`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        PolicyWorkspace {
            target_dir: root.join("target"),
            root,
            toolchain_dir: toolchain::default_dir(),
        }
    }

    /// The repository's `policies/`.
    pub fn in_repository() -> Self {
        Self::new(super::bundle::repository_root().join("policies"))
    }

    /// The workspace's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where cargo builds the guests (`CARGO_TARGET_DIR`).
    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// The toolchain guests are built with, installed when missing.
    pub fn toolchain(&self) -> Result<Toolchain, BuildError> {
        Ok(Toolchain::find_or_install(&self.toolchain_dir)?)
    }

    /// SHA-256 over every file under the workspace except `target/`
    /// directories (the WIT interface included): the sorted relative paths
    /// with `/` separators, each followed by its contents. Where the
    /// workspace lies does not change it.
    pub fn source_digest(&self) -> Result<String, BuildError> {
        let mut files = BTreeMap::new();
        collect_sources(&self.root, "", &mut files)?;
        let mut hasher = Sha256::new();
        for (relative, path) in files {
            let bytes = fs::read(&path).map_err(|source| BuildError::Io { path, source })?;
            hasher.update(relative.as_bytes());
            hasher.update([0]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        Ok(format!("{:x}", hasher.finalize()))
    }

    /// The names of the crates that make up the bundle: the workspace's
    /// members except `sdk` and `testing/*`, in the workspace's order.
    pub fn policy_crates(&self) -> Result<Vec<String>, BuildError> {
        let toolchain = self.toolchain()?;
        Ok(self
            .members(&toolchain)?
            .into_iter()
            .filter(Member::is_policy)
            .map(|member| member.name)
            .collect())
    }

    /// Builds the named crates (package names or member paths) into
    /// components, in one cargo invocation, in the order asked.
    pub fn build_components(&self, crates: &[&str]) -> Result<Vec<BuiltComponent>, BuildError> {
        let toolchain = self.toolchain()?;
        let members = self.members(&toolchain)?;
        let selected = crates
            .iter()
            .map(|wanted| {
                members
                    .iter()
                    .find(|member| member.name == *wanted || member.dir == *wanted)
                    .ok_or_else(|| BuildError::UnknownCrate {
                        name: (*wanted).to_owned(),
                        root: self.root.clone(),
                        known: members.iter().map(|member| member.name.clone()).collect(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.compile(&toolchain, &selected)
    }

    /// Builds every policy crate into a bundle in `out_dir`: `<name>.wasm`
    /// files and `manifest.json`, written into a directory beside it and
    /// renamed into place, so `out_dir` holds either the old bundle or the
    /// new one, whole. Refuses an `out_dir` that is neither empty nor a
    /// bundle.
    pub fn build_bundle(&self, out_dir: &Path) -> Result<Manifest, BuildError> {
        let _lock = BundleLock::acquire(out_dir)?;
        self.build_bundle_locked(out_dir)
    }

    /// Returns the bundle in `out_dir`, building it first unless it is
    /// [`BundleStatus::Fresh`]. Holds a lock beside `out_dir` meanwhile, so
    /// processes racing here build once and the others wait and reuse it.
    pub fn ensure_fresh_bundle(&self, out_dir: &Path) -> Result<Manifest, BuildError> {
        let _lock = BundleLock::acquire(out_dir)?;
        match self.bundle_status(out_dir)? {
            BundleStatus::Fresh(manifest) => Ok(manifest),
            status => {
                tracing::info!(dir = %out_dir.display(), ?status, "rebuilding the policy bundle");
                self.build_bundle_locked(out_dir)
            }
        }
    }

    /// Compares the bundle in `out_dir` with the sources, without building.
    pub fn bundle_status(&self, out_dir: &Path) -> Result<BundleStatus, BuildError> {
        let manifest = match Manifest::read(out_dir) {
            Ok(manifest) => manifest,
            Err(BundleError::Missing { .. }) => return Ok(BundleStatus::Missing),
            Err(error) => return Ok(BundleStatus::Unusable(error)),
        };
        let sources = self.source_digest()?;
        if manifest.source_digest != sources {
            return Ok(BundleStatus::Stale {
                built_from: manifest.source_digest,
                sources,
            });
        }
        Ok(match manifest.load_modules(out_dir) {
            Ok(_) => BundleStatus::Fresh(manifest),
            Err(error) => BundleStatus::Unusable(error),
        })
    }

    fn build_bundle_locked(&self, out_dir: &Path) -> Result<Manifest, BuildError> {
        if out_dir.exists() && !out_dir.join(MANIFEST_FILE).exists() && !is_empty_dir(out_dir)? {
            return Err(BuildError::NotABundle {
                dir: out_dir.to_path_buf(),
            });
        }
        let toolchain = self.toolchain()?;
        // Resolving the workspace first brings Cargo.lock up to date, so
        // the digest taken next covers the lock the build uses.
        let members = self.members(&toolchain)?;
        let policies: Vec<&Member> = members.iter().filter(|member| member.is_policy()).collect();
        if policies.is_empty() {
            return Err(BuildError::NoPolicies {
                root: self.root.clone(),
            });
        }
        // The digest names the sources the modules were built from, so a
        // source edited during the build means building again.
        let mut attempts = 0;
        let (source_digest, built) = loop {
            let before = self.source_digest()?;
            let built = self.compile(&toolchain, &policies)?;
            if self.source_digest()? == before {
                break (before, built);
            }
            attempts += 1;
            if attempts == 3 {
                return Err(BuildError::SourcesChanged {
                    root: self.root.clone(),
                });
            }
        };
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            wit: WIT_PACKAGE.to_owned(),
            source_digest,
            modules: built
                .iter()
                .map(|component| ModuleEntry {
                    name: component.name.clone(),
                    version: component.version.clone(),
                    file: format!("{}.wasm", component.name),
                    sha256: sha256_hex(&component.bytes),
                })
                .collect(),
        };
        write_bundle(out_dir, &manifest, &built)?;
        Ok(manifest)
    }

    /// The workspace's members, from `cargo metadata` (which also writes
    /// or updates Cargo.lock).
    fn members(&self, toolchain: &Toolchain) -> Result<Vec<Member>, BuildError> {
        let mut command = toolchain.cargo();
        command
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(self.root.join("Cargo.toml"))
            .current_dir(&self.root);
        let (text, shown) = run_cargo(&mut command)?;
        let metadata: Metadata =
            serde_json::from_str(&text).map_err(|error| BuildError::CargoOutput {
                command: shown,
                message: error.to_string(),
            })?;
        let root = metadata.workspace_root;
        Ok(metadata
            .workspace_members
            .iter()
            .filter_map(|id| metadata.packages.iter().find(|package| package.id == *id))
            .map(|package| Member {
                id: package.id.clone(),
                name: package.name.clone(),
                version: package.version.clone(),
                dir: package
                    .manifest_path
                    .parent()
                    .and_then(|dir| dir.strip_prefix(&root).ok())
                    .map(|dir| {
                        dir.components()
                            .map(|part| part.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// One `cargo build` of `crates`, then each core module made into a
    /// component.
    fn compile(
        &self,
        toolchain: &Toolchain,
        crates: &[&Member],
    ) -> Result<Vec<BuiltComponent>, BuildError> {
        if crates.is_empty() {
            return Ok(Vec::new());
        }
        let mut command = toolchain.cargo();
        command
            .args([
                "build",
                "--release",
                "--message-format=json-render-diagnostics",
            ])
            .args(toolchain.target_args())
            .arg("--manifest-path")
            .arg(self.root.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .current_dir(&self.root);
        for member in crates {
            command.args(["-p", &member.name]);
        }
        let started = std::time::Instant::now();
        let (stdout, shown) = run_cargo(&mut command)?;
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            toolchain = %toolchain.describe(),
            "built the policy guests"
        );

        // The core module of each crate, from cargo's artifact messages.
        let mut modules: BTreeMap<&str, PathBuf> = BTreeMap::new();
        for line in stdout.lines().filter(|line| line.starts_with('{')) {
            let message: Message =
                serde_json::from_str(line).map_err(|error| BuildError::CargoOutput {
                    command: shown.clone(),
                    message: error.to_string(),
                })?;
            if message.reason != "compiler-artifact"
                || !message.target.kind.iter().any(|kind| kind == "cdylib")
            {
                continue;
            }
            let Some(member) = crates.iter().find(|member| member.id == message.package_id) else {
                continue;
            };
            if let Some(wasm) = message
                .filenames
                .into_iter()
                .find(|file| file.extension().is_some_and(|ext| ext == "wasm"))
            {
                modules.insert(member.id.as_str(), wasm);
            }
        }
        crates
            .iter()
            .map(|member| {
                let path =
                    modules
                        .get(member.id.as_str())
                        .ok_or_else(|| BuildError::NotCdylib {
                            name: member.name.clone(),
                        })?;
                let core = fs::read(path).map_err(|source| BuildError::Io {
                    path: path.clone(),
                    source,
                })?;
                Ok(BuiltComponent {
                    name: member.name.clone(),
                    version: member.version.clone(),
                    bytes: componentize(&member.name, &core)?,
                })
            })
            .collect()
    }
}

/// Makes a core module (built with wit-bindgen against the policy world)
/// into a component, validates it, and checks that it exports `evaluate`
/// and imports nothing.
pub fn componentize(name: &str, core_module: &[u8]) -> Result<Vec<u8>, BuildError> {
    let invalid = |message: String| BuildError::Component {
        name: name.to_owned(),
        message,
    };
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true);
    encoder
        .module(core_module)
        .map_err(|error| invalid(format!("{error:#}")))?;
    let component = encoder
        .encode()
        .map_err(|error| invalid(format!("{error:#}")))?;
    check_component(name, &component)?;
    Ok(component)
}

/// Validates a component and checks the policy contract: it exports the
/// function `evaluate` and imports no function, instance with functions,
/// module or component (a type-only interface, like the world's `types`,
/// is fine).
pub fn check_component(name: &str, component: &[u8]) -> Result<(), BuildError> {
    let invalid = |message: String| BuildError::Component {
        name: name.to_owned(),
        message,
    };
    let types = Validator::new()
        .validate_all(component)
        .map_err(|error| invalid(error.to_string()))?;
    let mut imports = Vec::new();
    let mut depth = 0_u32;
    for payload in Parser::new(0).parse_all(component) {
        match payload.map_err(|error| invalid(error.to_string()))? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    let import = import.map_err(|error| invalid(error.to_string()))?;
                    imports.push(import.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    let functional: Vec<String> = imports
        .into_iter()
        .filter(|import| {
            let only_types = |ty: &ComponentEntityType| match ty {
                ComponentEntityType::Type { .. } => true,
                ComponentEntityType::Instance(id) => types[*id]
                    .exports
                    .values()
                    .all(|item| matches!(item.ty, ComponentEntityType::Type { .. })),
                _ => false,
            };
            !types
                .component_item_for_import(import)
                .is_some_and(|item| only_types(&item.ty))
        })
        .collect();
    if !functional.is_empty() {
        return Err(BuildError::Imports {
            name: name.to_owned(),
            imports: functional,
        });
    }
    match types.component_item_for_export(EVALUATE) {
        Some(item) if matches!(item.ty, ComponentEntityType::Func(_)) => Ok(()),
        _ => Err(invalid(format!(
            "it does not export the function `{EVALUATE}`"
        ))),
    }
}

/// A member of the policies workspace.
#[derive(Debug)]
struct Member {
    /// Cargo's package id (matches its build messages).
    id: String,
    name: String,
    version: String,
    /// Its directory relative to the workspace root, `/`-separated.
    dir: String,
}

impl Member {
    /// Policies are the members other than the SDK and the test modules.
    fn is_policy(&self) -> bool {
        self.dir != "sdk" && !self.dir.starts_with("testing/")
    }
}

/// The parts of `cargo metadata` read here.
#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    id: String,
    name: String,
    version: String,
    manifest_path: PathBuf,
}

/// The parts of cargo's `--message-format=json` lines read here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    package_id: String,
    #[serde(default)]
    target: MessageTarget,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

#[derive(Deserialize, Default)]
struct MessageTarget {
    #[serde(default)]
    kind: Vec<String>,
}

/// Runs a cargo command; returns its stdout and the command as shown in
/// errors. Its stderr (progress, compiler messages) goes into the error.
fn run_cargo(command: &mut Command) -> Result<(String, String), BuildError> {
    let shown = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|source| BuildError::Io {
            path: PathBuf::from(command.get_program()),
            source,
        })?;
    if !output.status.success() {
        return Err(BuildError::Cargo {
            command: shown,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr)
                .trim_end()
                .to_owned(),
        });
    }
    Ok((String::from_utf8_lossy(&output.stdout).into_owned(), shown))
}

/// Collects `relative path → path` of every file under `dir`, skipping
/// `target` directories.
fn collect_sources(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, PathBuf>,
) -> Result<(), BuildError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path, source }
    };
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        // Follows symbolic links: what counts is what the build reads.
        let metadata = fs::metadata(&path).map_err(io(&path))?;
        if metadata.is_dir() {
            if name != "target" {
                collect_sources(&path, &relative, files)?;
            }
        } else {
            files.insert(relative, path);
        }
    }
    Ok(())
}

fn is_empty_dir(dir: &Path) -> Result<bool, BuildError> {
    Ok(fs::read_dir(dir)
        .map_err(|source| BuildError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .next()
        .is_none())
}

/// Writes the bundle into a new directory beside `out_dir`, then swaps it
/// in: the old bundle is renamed away and deleted only once the new one is
/// in place.
fn write_bundle(
    out_dir: &Path,
    manifest: &Manifest,
    components: &[BuiltComponent],
) -> Result<(), BuildError> {
    let (parent, name) = split_dir(out_dir)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path, source }
    };
    // Called under the bundle's lock: what is left of a writer that was
    // killed half-way can go.
    toolchain::remove_leftovers(&parent, &format!(".{name}.new-"));
    toolchain::remove_leftovers(&parent, &format!(".{name}.old-"));
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    for (entry, component) in manifest.modules.iter().zip(components) {
        let path = staging.path().join(&entry.file);
        fs::write(&path, &component.bytes).map_err(io(&path))?;
    }
    manifest.write(staging.path())?;

    // The old bundle moves onto an empty temporary directory (rename
    // replaces an empty one), which deletes it when dropped.
    let old = if out_dir.exists() {
        let old = tempfile::Builder::new()
            .prefix(&format!(".{name}.old-"))
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        fs::rename(out_dir, old.path()).map_err(io(out_dir))?;
        Some(old)
    } else {
        None
    };
    if let Err(source) = fs::rename(staging.path(), out_dir) {
        if let Some(old) = &old {
            // Put the old bundle back; the error below is what matters.
            let _ = fs::rename(old.path(), out_dir);
        }
        return Err(BuildError::Io {
            path: out_dir.to_path_buf(),
            source,
        });
    }
    // The staging directory is now `out_dir`: it must not be cleaned up.
    let _ = staging.keep();
    drop(old);
    Ok(())
}

/// `out_dir`'s parent (created) and file name.
fn split_dir(out_dir: &Path) -> Result<(PathBuf, String), BuildError> {
    let absolute = std::path::absolute(out_dir).map_err(|source| BuildError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let (Some(parent), Some(name)) = (absolute.parent(), absolute.file_name()) else {
        return Err(BuildError::NotABundle {
            dir: out_dir.to_path_buf(),
        });
    };
    fs::create_dir_all(parent).map_err(|source| BuildError::Io {
        path: parent.to_path_buf(),
        source,
    })?;
    Ok((parent.to_path_buf(), name.to_string_lossy().into_owned()))
}

/// An exclusive lock on `.<name>.lock` beside a bundle directory, held
/// while the bundle is checked and built; released when dropped (or when
/// the process dies).
struct BundleLock {
    _file: File,
}

impl BundleLock {
    fn acquire(out_dir: &Path) -> Result<Self, BuildError> {
        let (parent, name) = split_dir(out_dir)?;
        let path = parent.join(format!(".{name}.lock"));
        let io = |source| BuildError::Io {
            path: path.clone(),
            source,
        };
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        Ok(BundleLock { _file: file })
    }
}

#[cfg(test)]
mod tests;
