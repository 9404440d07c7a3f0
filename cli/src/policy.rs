//! `meetassist policy …`: build the bundle of policy modules.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::anyhow;
use clap::Subcommand;
use meetassist_runtime::policy::build::{BuildError, PolicyWorkspace};
use meetassist_runtime::policy::bundle;

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Build every policy module of policies/ into a bundle: one component
    /// per policy and manifest.json. Installs the Wasm toolchain on first
    /// use when none is found.
    Build {
        /// The bundle directory (replaced as a whole); default
        /// $MEETASSIST_POLICIES, else .meetassist/policies in the repository.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(command: PolicyCommand) -> Result<(), Failure> {
    match command {
        PolicyCommand::Build { out } => build(out.unwrap_or_else(bundle::default_dir)),
    }
}

fn build(out: PathBuf) -> Result<(), Failure> {
    let workspace = PolicyWorkspace::in_repository();
    eprintln!(
        "building the policy modules of {} (the first build takes about a minute)",
        workspace.root().display()
    );
    let started = Instant::now();
    let failure = |error| match error {
        // Not the sources' fault: this machine lacks the compiler.
        BuildError::Toolchain(_) => Failure::usage(error),
        error => Failure::refused(error),
    };
    let toolchain = workspace.toolchain().map_err(failure)?;
    eprintln!("with {}", toolchain.describe());
    let manifest = workspace.build_bundle(&out).map_err(failure)?;
    for module in &manifest.modules {
        let path = out.join(&module.file);
        let size = std::fs::metadata(&path)
            .map_err(|error| Failure::refused(anyhow!("{}: {error}", path.display())))?
            .len();
        println!(
            "{:<18} {:<8} {:>7} B  sha256 {}",
            module.name, module.version, size, module.sha256
        );
    }
    println!(
        "built {} policy modules into {} in {:.1} s",
        manifest.modules.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
