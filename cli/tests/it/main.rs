//! The `meetassist` command as users and scripts run it: real process, real
//! PostgreSQL (a private cluster started by the tests), exit codes and
//! messages.

// In tests a panic is how a failure is reported; unwrap says where.
#![allow(clippy::unwrap_used)]

mod chat;
mod db_migrate;
mod db_purge;
mod db_seed;
mod guard;
mod policy_build;

use std::path::Path;
use std::process::{Command, Output};

/// Runs `meetassist` with `args` and no inherited DATABASE_URL.
pub fn meetassist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meetassist"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("running meetassist")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies the demo seed CSVs into `dir`, so a test can break one of them.
pub fn copy_demo_seed(dir: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/seed");
    for entry in std::fs::read_dir(demo).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
}
