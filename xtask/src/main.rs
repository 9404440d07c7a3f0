//! `cargo xtask <task>`: the project's own commands that are more than
//! `cargo build` (the cargo-xtask pattern). Each installs or checks what it
//! needs first, and says exactly what is missing when it cannot.
//!
//! - `cargo xtask test`: what CI runs: format check, the policy bundle
//!   (`meetassist policy build`, which installs the Wasm toolchain when
//!   missing), clippy with warnings denied, every test.
//! - `cargo xtask run [ARGS]`: builds and runs the product on local
//!   defaults (today `meetassist db up`: a private PostgreSQL, migrated and
//!   seeded with the demo data).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let result = match task.as_deref() {
        Some("test") => test(),
        Some("run") => run(&rest),
        _ => {
            eprintln!("usage: cargo xtask test | cargo xtask run [meetassist arguments]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

fn test() -> Result {
    ensure_postgresql()?;
    cargo(&["fmt", "--all", "--check"])?;
    // The policy modules are a workspace of their own: their rules are
    // unit-tested natively, under the same lints.
    const POLICIES: &str = "--manifest-path=policies/Cargo.toml";
    cargo(&["fmt", POLICIES, "--all", "--check"])?;
    // The policy bundle before the checks that take minutes: this installs
    // the Wasm toolchain when it is missing (and fails here, saying how to
    // install it, when it cannot), and the tests load the bundle.
    cargo(&[
        "run",
        "--quiet",
        "--package",
        "meetassist",
        "--",
        "policy",
        "build",
    ])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&[
        "clippy",
        POLICIES,
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", POLICIES, "--workspace"])?;
    cargo(&["test", "--workspace"])
}

fn run(args: &[String]) -> Result {
    ensure_postgresql()?;
    let mut command = vec!["run", "--release", "--package", "meetassist", "--"];
    if args.is_empty() {
        command.extend(["db", "up"]);
    } else {
        command.extend(args.iter().map(String::as_str));
    }
    cargo(&command)
}

fn cargo(args: &[&str]) -> Result {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|error| format!("running {cargo}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// PostgreSQL's server binaries and the `unaccent` extension, which the
/// tests and the local cluster start from. Installed with apt when missing
/// and this user may (root, or password-less sudo).
fn ensure_postgresql() -> Result {
    if postgresql_present() {
        return Ok(());
    }
    const PACKAGES: [&str; 2] = ["postgresql", "postgresql-contrib"];
    let install = format!("apt-get install -y {}", PACKAGES.join(" "));
    let prefix: &[&str] = if is_root() {
        &[]
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        &["sudo", "-n"]
    } else {
        return Err(format!(
            "PostgreSQL's server is not installed. Install it with:\n    sudo apt-get update && sudo {install}"
        ));
    };
    eprintln!(
        "xtask: PostgreSQL is missing; installing {}",
        PACKAGES.join(" ")
    );
    for step in [vec!["apt-get", "update"], {
        let mut args = vec!["apt-get", "install", "-y", "--no-install-recommends"];
        args.extend(PACKAGES);
        args
    }] {
        let mut words: Vec<&str> = prefix.to_vec();
        words.extend(step);
        let status = Command::new(words[0])
            .args(&words[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|error| format!("running {}: {error}", words.join(" ")))?;
        if !status.success() {
            return Err(format!(
                "`{}` failed ({status}); install by hand: {install}",
                words.join(" ")
            ));
        }
    }
    if postgresql_present() {
        Ok(())
    } else {
        Err(format!(
            "installed {} but still cannot find the server binaries",
            PACKAGES.join(" ")
        ))
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// The server binaries and unaccent's control file, found the way the
/// runtime finds them (`pg_config`, or Debian's versioned directories).
fn postgresql_present() -> bool {
    let Ok(versions) = std::fs::read_dir("/usr/lib/postgresql") else {
        return pg_config_has_server();
    };
    versions.filter_map(|entry| entry.ok()).any(|entry| {
        let version = entry.file_name();
        let bin = entry.path().join("bin");
        bin.join("postgres").is_file()
            && bin.join("initdb").is_file()
            && Path::new("/usr/share/postgresql")
                .join(&version)
                .join("extension/unaccent.control")
                .is_file()
    }) || pg_config_has_server()
}

fn pg_config_has_server() -> bool {
    let read = |flag: &str| {
        Command::new("pg_config")
            .arg(flag)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
    };
    match (read("--bindir"), read("--sharedir")) {
        (Some(bin), Some(share)) => {
            bin.join("postgres").is_file() && share.join("extension/unaccent.control").is_file()
        }
        _ => false,
    }
}
