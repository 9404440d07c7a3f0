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
    /// Run every module's cases.toml (SQL, session, expected verdict and
    /// rewrites) against the built modules. Exit 1 when a case fails.
    Test {
        /// The bundle to test; default as for `build` (rebuilt first when
        /// the sources changed).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
}

pub fn run(command: PolicyCommand) -> Result<(), Failure> {
    match command {
        PolicyCommand::Build { out } => build(out.unwrap_or_else(bundle::default_dir)),
        PolicyCommand::Test { policies } => test(policies),
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

fn test(policies: Option<PathBuf>) -> Result<(), Failure> {
    use meetassist_runtime::guard::{Guard, cases};
    use meetassist_runtime::policy::host::{EngineConfig, Limits, PolicyEngine, PolicyHost};

    let workspace = PolicyWorkspace::in_repository();
    let dir = match policies {
        Some(dir) => dir,
        None => {
            let dir = bundle::default_dir();
            workspace
                .ensure_fresh_bundle(&dir)
                .map_err(|error| match error {
                    BuildError::Toolchain(_) => Failure::usage(error),
                    error => Failure::refused(error),
                })?;
            dir
        }
    };
    let engine = PolicyEngine::new(EngineConfig::default()).map_err(Failure::usage)?;
    let host = PolicyHost::load(&engine, &dir, Limits::default())
        .map_err(|error| Failure::usage(anyhow!("cannot load the policy bundle: {error}")))?;
    let guard = Guard::new(host);
    let (mut passed, mut failed) = (0, 0);
    for (module, path) in cases::case_files(workspace.root()).map_err(Failure::usage)? {
        let results = cases::run_file(&guard, &module, &path).map_err(Failure::refused)?;
        for result in results {
            match result.failure {
                None => passed += 1,
                Some(why) => {
                    failed += 1;
                    println!("FAIL {}: {}: {why}", result.module, result.name);
                }
            }
        }
    }
    println!("{passed} cases passed, {failed} failed");
    if failed > 0 {
        return Err(Failure::silent(1));
    }
    Ok(())
}
