//! `meetassist`: parses the command line, calls the runtime, reports the
//! outcome. Errors are printed once, here, and mapped to exit codes:
//! 0 done, 1 refused (bad data, a failed migration, a policy that does not
//! build), 2 bad usage, no database or no Wasm toolchain.

mod chat;
mod db;
mod guard;
mod policy;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// sqlparser and the compiler allocate per token and per node; mimalloc
/// takes a fifth off a compile against glibc malloc (tests/benches/compile.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "meetassist",
    version,
    about = "A scheduling chatbot whose SQL is compiled under guard"
)]
struct Cli {
    /// PostgreSQL connection URL (the owner/application role).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage the database: schema migrations, seed data, a local server.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Build the policy modules (Wasm components) into a bundle.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Judge model SQL (stdin) for a tenant, and print the statement that
    /// may run, or the refusal. Exit 1 when refused.
    Compile(guard::GuardArgs),
    /// Judge model SQL (stdin), then run what was accepted as
    /// meetassist_bot (--database-url is that role's connection) and print
    /// the rows. Exit 1 when refused by the guard or the database.
    Query(guard::GuardArgs),
    /// Talk to the bot as a customer: actions on stdin, one per line;
    /// replies on stdout. --database-url is the application role's
    /// connection; model SQL still runs as meetassist_bot.
    Chat(chat::ChatArgs),
}

/// A failure and the exit code it maps to.
pub struct Failure {
    code: u8,
    /// None when the outcome was already printed.
    error: Option<anyhow::Error>,
}

impl Failure {
    /// Bad usage, or nothing to talk to (no database): exit 2.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 2,
            error: Some(error.into()),
        }
    }

    /// Exit with `code`, the outcome already printed (a refusal).
    pub fn silent(code: u8) -> Self {
        Failure { code, error: None }
    }

    /// The request was refused or failed: exit 1.
    pub fn refused(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 1,
            error: Some(error.into()),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MEETASSIST_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Db(command) => db::run(command, cli.database_url.as_deref()).await,
            Command::Policy(command) => policy::run(command),
            Command::Compile(args) => guard::compile(args, cli.database_url.as_deref()).await,
            Command::Query(args) => guard::query(args, cli.database_url.as_deref()).await,
            Command::Chat(args) => chat::chat(args, cli.database_url.as_deref()).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, error }) => {
            if let Some(error) = error {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(code)
        }
    }
}
