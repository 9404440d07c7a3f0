//! The Rust compiler that builds policy guests for `wasm32-unknown-unknown`.
//!
//! Found in this order (the first that exists wins; one that exists but
//! does not work is an error, not a reason to try the next):
//!
//! 1. `$MEETASSIST_WASM_RUSTC`: a rustc whose sysroot has the
//!    wasm32-unknown-unknown standard library (plain build) or the standard
//!    library's sources (`-Zbuild-std`).
//! 2. rustup with the `wasm32-unknown-unknown` target installed: plain
//!    `cargo build --target wasm32-unknown-unknown`.
//! 3. Debian's `rustc-web` 1.96, unpacked (not apt-installed) into
//!    `.meetassist/toolchain/rust-web/`, driven by rustup's cargo with
//!    `RUSTC_BOOTSTRAP=1 -Zbuild-std=std,panic_abort`.
//! 4. Nothing: (3) is installed with `apt-get download` + `dpkg -x`, which
//!    needs no root, into a temporary directory renamed into place when it
//!    works, so there is never a half-installed toolchain.
//!
//! Why rustc-web: the machines this project runs on have rustup without a
//! wasm32 standard library and without rust-src, and Debian's own rustc
//! 1.63 is too old; `rustc-web` 1.96 with its `rust-web-src` builds the
//! standard library for wasm32 (see DEVELOPERS.md). Apt-installing it would
//! remove Debian's rustc, hence the unpacked prefix.

use std::ffi::OsString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The target policy guests are built for: no WASI, no imports.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// The environment variable naming a rustc to build guests with.
pub const RUSTC_ENV: &str = "MEETASSIST_WASM_RUSTC";

/// The Debian rustc-web series installed when no toolchain is found; the
/// package names carry it (`libstd-rust-web-1.96`).
const RUST_WEB_SERIES: &str = "1.96";
/// The LLVM major version rustc-web 1.96 links and whose lld links wasm.
const LLVM_MAJOR: &str = "22";
/// The host triple of the unpacked compiler (Debian amd64).
const HOST: &str = "x86_64-unknown-linux-gnu";
/// Written into an unpacked toolchain once it has been verified.
const STAMP_FILE: &str = "meetassist-toolchain.txt";

/// A compiler that can build `wasm32-unknown-unknown` guests, and how cargo
/// must be run to use it.
#[derive(Debug, Clone)]
pub struct Toolchain {
    origin: Origin,
    /// The rustc cargo is told to use; `None` leaves it to rustup.
    rustc: Option<PathBuf>,
    /// Whether the standard library is built from source (`-Zbuild-std`).
    build_std: bool,
    /// Directories rustc needs on `LD_LIBRARY_PATH` (an unpacked Debian
    /// rustc finds neither librustc_driver nor libLLVM otherwise).
    library_path: Vec<PathBuf>,
    /// `rustc -V`, e.g. "rustc 1.96.0 (ac68faa20 2026-05-25)".
    version: String,
    /// `rustc --print sysroot`; `None` when rustup's rustc did not say.
    sysroot: Option<PathBuf>,
}

/// Where a toolchain came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `$MEETASSIST_WASM_RUSTC`.
    Env,
    /// rustup, with the wasm32-unknown-unknown target installed.
    Rustup,
    /// Debian rustc-web unpacked into this prefix.
    RustWeb(PathBuf),
}

/// Why no usable toolchain could be found or installed.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("{RUSTC_ENV}={}: {problem}", path.display())]
    EnvRustc { path: PathBuf, problem: String },
    #[error(
        "the Rust toolchain in {} does not work: {problem}; delete that directory to have it installed again",
        prefix.display()
    )]
    Broken { prefix: PathBuf, problem: String },
    #[error(
        "no Rust toolchain can build {TARGET}, and installing one failed: {problem}\n{}",
        install_hint(prefix)
    )]
    Install { prefix: PathBuf, problem: String },
}

impl Toolchain {
    /// Finds a toolchain (see the module's documentation for the order),
    /// installing Debian's rustc-web under `dir` when there is none.
    pub fn find_or_install(dir: &Path) -> Result<Toolchain, ToolchainError> {
        if let Some(toolchain) = Self::find(dir)? {
            return Ok(toolchain);
        }
        let prefix = install_rust_web(dir)?;
        rust_web(&prefix)
    }

    /// Finds a toolchain without installing one; `Ok(None)` when there is
    /// none.
    pub fn find(dir: &Path) -> Result<Option<Toolchain>, ToolchainError> {
        if let Some(path) = std::env::var_os(RUSTC_ENV).filter(|value| !value.is_empty()) {
            return from_env(PathBuf::from(path)).map(Some);
        }
        if rustup_has_target() {
            let checked = verify(Path::new("rustc"), &[]).ok();
            return Ok(Some(Toolchain {
                origin: Origin::Rustup,
                rustc: None,
                build_std: false,
                library_path: Vec::new(),
                version: checked
                    .as_ref()
                    .map_or_else(|| "rustc (rustup)".into(), |c| c.version.clone()),
                sysroot: checked.map(|c| c.sysroot),
            }));
        }
        let prefix = dir.join("rust-web");
        if prefix.join(STAMP_FILE).is_file() {
            return rust_web(&prefix).map(Some);
        }
        Ok(None)
    }

    /// Where the toolchain came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// One line for people: the compiler's version and where it came from.
    pub fn describe(&self) -> String {
        let origin = match &self.origin {
            Origin::Env => format!("from {RUSTC_ENV}"),
            Origin::Rustup => "rustup".into(),
            Origin::RustWeb(prefix) => format!("Debian rustc-web in {}", prefix.display()),
        };
        let std = if self.build_std { ", build-std" } else { "" };
        format!("{}; {origin}{std}", self.version)
    }

    /// A `cargo` command set up for this toolchain: the right rustc and
    /// environment, and none of the parent's build settings (a `cargo test`
    /// or build script above us may have set RUSTFLAGS, a wrapper, a
    /// target…). Callers add the subcommand and its arguments.
    pub fn cargo(&self) -> Command {
        let mut command = Command::new(cargo_program());
        for variable in [
            "RUSTC",
            "RUSTDOC",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
            "RUSTFLAGS",
            "CARGO_ENCODED_RUSTFLAGS",
            "CARGO_BUILD_RUSTC",
            "CARGO_BUILD_TARGET",
            "CARGO_BUILD_TARGET_DIR",
            "CARGO_TARGET_DIR",
            "RUSTC_BOOTSTRAP",
        ] {
            command.env_remove(variable);
        }
        if let Some(rustc) = &self.rustc {
            command.env("RUSTC", rustc);
        }
        if self.build_std {
            // -Zbuild-std on a stable-channel compiler and cargo.
            command.env("RUSTC_BOOTSTRAP", "1");
        }
        if let Some(path) = library_path_env(&self.library_path) {
            command.env("LD_LIBRARY_PATH", path);
        }
        // Panic locations embed source paths; naming the standard library
        // and the registry by fixed names makes a module's bytes, and so
        // its digest, the same in every checkout and on every machine.
        // (With --target these flags reach only the guest, not build
        // scripts.)
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::home_dir().map(|home| home.join(".cargo")));
        let remaps: Vec<String> = [(&self.sysroot, "/rust"), (&cargo_home, "/cargo")]
            .into_iter()
            .filter_map(|(from, to)| {
                let from = from.as_ref()?;
                Some(format!("--remap-path-prefix={}={to}", from.display()))
            })
            .collect();
        command.env("CARGO_ENCODED_RUSTFLAGS", remaps.join("\x1f"));
        command
    }

    /// The arguments of `cargo build` that select the target (and build
    /// the standard library when this toolchain has none for it).
    pub fn target_args(&self) -> Vec<&'static str> {
        let mut args = vec!["--target", TARGET];
        if self.build_std {
            args.push("-Zbuild-std=std,panic_abort");
        }
        args
    }
}

/// The directory toolchains are installed into: `.meetassist/toolchain` in
/// the repository (git-ignored).
pub fn default_dir() -> PathBuf {
    crate::policy::bundle::repository_root()
        .join(".meetassist")
        .join("toolchain")
}

/// The cargo that drives the guest build: the one running us when cargo
/// did (`$CARGO`), else `cargo` on the PATH (rustup's).
fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn from_env(rustc: PathBuf) -> Result<Toolchain, ToolchainError> {
    let problem = |problem: String| ToolchainError::EnvRustc {
        path: rustc.clone(),
        problem,
    };
    // A Debian-layout rustc (…/usr/bin/rustc) needs its multiarch library
    // directory; a rustup one finds its libraries by itself.
    let library_path: Vec<PathBuf> = rustc
        .parent()
        .map(|bin| bin.join("../lib/x86_64-linux-gnu"))
        .filter(|dir| dir.is_dir())
        .into_iter()
        .collect();
    let checked = verify(&rustc, &library_path).map_err(problem)?;
    let build_std = if checked.sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        false
    } else if has_std_sources(&checked.sysroot) {
        true
    } else {
        return Err(problem(format!(
            "its sysroot {} has neither the {TARGET} standard library nor the standard library's sources (rust-src)",
            checked.sysroot.display()
        )));
    };
    Ok(Toolchain {
        origin: Origin::Env,
        rustc: Some(rustc),
        build_std,
        library_path,
        version: checked.version,
        sysroot: Some(checked.sysroot),
    })
}

fn rust_web(prefix: &Path) -> Result<Toolchain, ToolchainError> {
    let rustc = prefix.join("usr/bin/rustc");
    let library_path = vec![prefix.join("usr/lib/x86_64-linux-gnu")];
    let broken = |problem: String| ToolchainError::Broken {
        prefix: prefix.to_path_buf(),
        problem,
    };
    let checked = verify(&rustc, &library_path).map_err(broken)?;
    if !has_std_sources(&checked.sysroot) {
        return Err(broken(
            "the standard library's sources (rust-web-src) are missing".into(),
        ));
    }
    if !checked.sysroot.join(rust_lld_link()).exists() {
        return Err(broken(format!(
            "the wasm linker {} is missing",
            checked.sysroot.join(rust_lld_link()).display()
        )));
    }
    Ok(Toolchain {
        origin: Origin::RustWeb(prefix.to_path_buf()),
        rustc: Some(rustc),
        build_std: true,
        library_path,
        version: checked.version,
        sysroot: Some(checked.sysroot),
    })
}

/// True when rustup's active toolchain has the wasm32 standard library.
fn rustup_has_target() -> bool {
    run_text(Command::new("rustup").args(["target", "list", "--installed"]))
        .is_ok_and(|targets| targets.lines().any(|line| line.trim() == TARGET))
}

struct Checked {
    version: String,
    sysroot: PathBuf,
}

/// Runs the compiler: it starts, knows the wasm32 target, and names its
/// sysroot.
fn verify(rustc: &Path, library_path: &[PathBuf]) -> Result<Checked, String> {
    let command = |args: &[&str]| {
        let mut command = Command::new(rustc);
        command.args(args);
        if let Some(path) = library_path_env(library_path) {
            command.env("LD_LIBRARY_PATH", path);
        }
        command
    };
    let verbose = run_text(&mut command(&["-vV"]))?;
    let version = verbose.lines().next().unwrap_or_default().trim().to_owned();
    if !version.starts_with("rustc ") {
        return Err(format!("`rustc -vV` printed {verbose:?}"));
    }
    let targets = run_text(&mut command(&["--print", "target-list"]))?;
    if !targets.lines().any(|line| line.trim() == TARGET) {
        return Err(format!("{version} does not know the {TARGET} target"));
    }
    let sysroot = PathBuf::from(run_text(&mut command(&["--print", "sysroot"]))?.trim());
    Ok(Checked { version, sysroot })
}

fn has_std_sources(sysroot: &Path) -> bool {
    sysroot
        .join("lib/rustlib/src/rust/library/std/Cargo.toml")
        .is_file()
}

/// Where rustc looks for `rust-lld` first, relative to the sysroot. Without
/// it an unpacked rustc falls back to `/usr/bin/rust-lld`, which may be
/// another LLVM's (lld-14 beside Debian's rustc 1.63).
fn rust_lld_link() -> PathBuf {
    Path::new("lib/rustlib").join(HOST).join("bin/rust-lld")
}

fn library_path_env(dirs: &[PathBuf]) -> Option<OsString> {
    if dirs.is_empty() {
        return None;
    }
    let inherited = std::env::var_os("LD_LIBRARY_PATH");
    let all = dirs
        .iter()
        .cloned()
        .chain(inherited.iter().flat_map(std::env::split_paths));
    std::env::join_paths(all).ok()
}

/// Runs `command` and returns its stdout, or a one-line reason it failed.
fn run_text(command: &mut Command) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run {}: {error}", show(command)))?;
    check(command, &output)?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn check(command: &Command, output: &Output) -> Result<(), String> {
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.trim().lines().last().unwrap_or_default();
    Err(format!(
        "`{}` failed ({}): {last}",
        show(command),
        output.status
    ))
}

fn show(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| word.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Installs Debian's rustc-web into `<dir>/rust-web` and returns that
/// prefix. Holds `<dir>/.lock` so that processes racing here install once.
fn install_rust_web(dir: &Path) -> Result<PathBuf, ToolchainError> {
    let prefix = dir.join("rust-web");
    let failed = |problem: String| ToolchainError::Install {
        prefix: prefix.clone(),
        problem,
    };
    fs::create_dir_all(dir).map_err(|error| failed(format!("{}: {error}", dir.display())))?;
    let lock_path = dir.join(".lock");
    let lock = File::create(&lock_path)
        .map_err(|error| failed(format!("{}: {error}", lock_path.display())))?;
    lock.lock()
        .map_err(|error| failed(format!("locking {}: {error}", lock_path.display())))?;
    if prefix.join(STAMP_FILE).is_file() {
        // Another process installed it while we waited for the lock.
        return Ok(prefix);
    }
    remove_leftovers(dir, ".rust-web-");
    if prefix.exists() {
        // Not ours (no stamp): an interrupted manual install, say. Keep it
        // out of the way rather than delete what someone may have made.
        let aside = dir.join(format!("rust-web.unverified-{}", std::process::id()));
        fs::rename(&prefix, &aside)
            .map_err(|error| failed(format!("{}: {error}", prefix.display())))?;
        progress(&format!(
            "moved an unfinished {} aside to {}",
            prefix.display(),
            aside.display()
        ));
    }

    progress(&format!(
        "no Rust toolchain here can build {TARGET}; installing Debian's rustc-web {RUST_WEB_SERIES} into {} (about 150 MB to download, 900 MB unpacked; no root needed)",
        prefix.display()
    ));
    let started = std::time::Instant::now();
    let version = rust_web_version().map_err(&failed)?;
    let staging = tempfile::Builder::new()
        .prefix(".rust-web-")
        .tempdir_in(dir)
        .map_err(|error| {
            failed(format!(
                "a temporary directory in {}: {error}",
                dir.display()
            ))
        })?;
    let debs = staging.path().join("debs");
    let root = staging.path().join("root");
    for made in [&debs, &root] {
        fs::create_dir(made).map_err(|error| failed(format!("{}: {error}", made.display())))?;
    }

    let packages = packages(&version);
    progress(&format!("apt-get download {}", packages.join(" ")));
    let mut download = Command::new("apt-get");
    download.arg("download").args(&packages).current_dir(&debs);
    run_text(&mut download).map_err(&failed)?;
    let downloaded = started.elapsed();

    let mut files: Vec<PathBuf> = fs::read_dir(&debs)
        .map_err(|error| failed(format!("{}: {error}", debs.display())))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .collect();
    files.sort();
    progress(&format!("unpacking {} packages with dpkg -x", files.len()));
    for deb in &files {
        let mut unpack = Command::new("dpkg");
        unpack.arg("-x").arg(deb).arg(&root);
        run_text(&mut unpack).map_err(&failed)?;
    }

    let link = root.join("usr").join(rust_lld_link());
    if !link.exists() {
        if let Some(bin) = link.parent() {
            fs::create_dir_all(bin)
                .map_err(|error| failed(format!("{}: {error}", bin.display())))?;
        }
        std::os::unix::fs::symlink(format!("../../../../lib/llvm-{LLVM_MAJOR}/bin/lld"), &link)
            .map_err(|error| failed(format!("{}: {error}", link.display())))?;
    }
    let checked = rust_web(&root).map_err(|error| failed(error.to_string()))?;
    let stamp = format!(
        "Debian rustc-web, unpacked by meetassist (see DEVELOPERS.md)\n{}\npackages: {}\n",
        checked.version,
        packages.join(" ")
    );
    fs::write(root.join(STAMP_FILE), stamp)
        .map_err(|error| failed(format!("{STAMP_FILE}: {error}")))?;
    fs::rename(&root, &prefix).map_err(|error| failed(format!("{}: {error}", prefix.display())))?;
    progress(&format!(
        "installed {} in {:.1} s (download {:.1} s)",
        checked.version,
        started.elapsed().as_secs_f64(),
        downloaded.as_secs_f64()
    ));
    Ok(prefix)
}

/// Removes what an install killed half-way left in `dir` (its temporary
/// directories, named `<prefix>…`). Only called under the lock, when no
/// other install can be running.
pub(super) fn remove_leftovers(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing what an interrupted build left");
            // Best effort: a leftover that stays only takes space.
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// The rustc-web packages to download, pinned to one version of the series,
/// and the LLVM they link.
fn packages(version: &str) -> Vec<String> {
    let libstd = format!("libstd-rust-web-{RUST_WEB_SERIES}");
    let pinned = [
        "rustc-web",
        "rust-web-src",
        "libstd-rust-web-dev",
        &libstd,
        "rust-web-llvm",
    ]
    .map(|package| format!("{package}={version}"));
    let llvm = [
        format!("libllvm{LLVM_MAJOR}"),
        format!("lld-{LLVM_MAJOR}"),
        format!("liblld-{LLVM_MAJOR}"),
    ];
    pinned.into_iter().chain(llvm).collect()
}

/// The newest rustc-web version of the series apt knows. When apt's lists
/// predate it and we are root, refreshes them once (`apt-get update`).
fn rust_web_version() -> Result<String, String> {
    let find = || -> Result<Option<String>, String> {
        let listing = run_text(Command::new("apt-cache").args(["madison", "rustc-web"]))?;
        Ok(listing.lines().find_map(|line| {
            let version = line.split('|').nth(1)?.trim();
            version
                .starts_with(&format!("{RUST_WEB_SERIES}."))
                .then(|| version.to_owned())
        }))
    };
    if let Some(version) = find()? {
        return Ok(version);
    }
    if is_root() {
        progress(&format!(
            "apt knows no rustc-web {RUST_WEB_SERIES}; refreshing its package lists (apt-get update)"
        ));
        run_text(Command::new("apt-get").arg("update"))?;
        if let Some(version) = find()? {
            return Ok(version);
        }
    }
    Err(format!(
        "apt knows no rustc-web {RUST_WEB_SERIES} (it comes from bookworm-security; run `sudo apt-get update`)"
    ))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A line about what the installer does, for the person waiting: the
/// install is rare, slow and changes the disk, so it is always shown, not
/// left to the log filter.
fn progress(message: &str) {
    eprintln!("meetassist: {message}");
}

/// The exact commands that install a toolchain by hand, either way.
fn install_hint(prefix: &Path) -> String {
    let packages = packages("<VERSION>").join(" ");
    format!(
        "Install one of these, then run again:
  (a) rustup's standard library for {TARGET}:
        rustup target add {TARGET}
  (b) Debian's rustc-web {RUST_WEB_SERIES}, unpacked without root (<VERSION> from `apt-cache madison rustc-web`, e.g. 1.96.0+dfsg1-1~deb12u2; `sudo apt-get update` if it is missing):
        cd \"$(mktemp -d)\"
        apt-get download {packages}
        mkdir -p {prefix}.tmp && for f in *.deb; do dpkg -x \"$f\" {prefix}.tmp; done
        mkdir -p {prefix}.tmp/usr/lib/rustlib/{HOST}/bin
        ln -sfn ../../../../lib/llvm-{LLVM_MAJOR}/bin/lld {prefix}.tmp/usr/lib/rustlib/{HOST}/bin/rust-lld
        echo manual > {prefix}.tmp/{STAMP_FILE} && mv {prefix}.tmp {prefix}
  or set {RUSTC_ENV} to a rustc that has the {TARGET} standard library or rust-src.",
        prefix = prefix.display()
    )
}
