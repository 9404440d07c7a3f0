//! `meetassist chat`: a customer's actions on stdin, one per line; the
//! bot's replies on stdout, one per action. The session lives in the
//! database, so a second run with the same tenant and sender continues the
//! conversation.
//!
//! Exit codes: 0 at end of input, 2 bad usage or no database.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use clap::Args;
use meetassist_runtime::chat::model::{Model, ModelKind};
use meetassist_runtime::chat::{ChatConfig, ChatEngine, ChatError, Input, Reply, Tenant};
use meetassist_runtime::guard::execute::{ExecuteOptions, Executor};
use meetassist_runtime::identity::{OTP_SECRET_ENV, OtpSecret, Outbox};
use serde_json::Value;

use crate::Failure;

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The tenant: its id or its slug.
    #[arg(long)]
    tenant: String,
    /// The sender (Messenger's page-scoped id).
    #[arg(long)]
    psid: String,
    /// Where mail goes: one .eml file per message.
    #[arg(long, default_value = ".meetassist/outbox")]
    outbox: PathBuf,
    /// Freeze the clock at this instant (RFC 3339); OTP expiry and
    /// cooldowns use it too.
    #[arg(long, env = "MEETASSIST_NOW")]
    now: Option<String>,
    /// One JSON object per reply.
    #[arg(long)]
    json: bool,
    /// The policy bundle; default $MEETASSIST_POLICIES, else the one
    /// `meetassist policy build` writes.
    #[arg(long)]
    policies: Option<PathBuf>,
    /// The language model: `offline` (default) or `bedrock`.
    #[arg(long, env = "MEETASSIST_LLM", default_value = "offline")]
    llm: String,
    /// The file the OTP secret is kept in when $MEETASSIST_OTP_SECRET is unset.
    #[arg(long, default_value = ".meetassist/otp-secret")]
    otp_secret_file: PathBuf,
}

/// `meetassist chat`.
pub async fn chat(args: ChatArgs, database_url: Option<&str>) -> Result<(), Failure> {
    let url = database_url.ok_or_else(|| {
        Failure::usage(anyhow!(
            "no database: pass --database-url URL (the application role's connection) or set DATABASE_URL"
        ))
    })?;
    let now = args
        .now
        .as_deref()
        .map(|text| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|error| {
                    Failure::usage(anyhow!("--now {text}: not an RFC 3339 instant: {error}"))
                })
        })
        .transpose()?;
    let kind: ModelKind = args
        .llm
        .parse()
        .map_err(|error: String| Failure::usage(anyhow!(error)))?;
    if args.psid.is_empty() || args.psid.len() > 128 {
        return Err(Failure::usage(anyhow!(
            "--psid must be 1 to 128 characters"
        )));
    }
    let tenant = load_tenant(url, &args.tenant).await?;
    let executor = Executor::connect(
        url,
        ExecuteOptions {
            time_zone: tenant.time_zone.name().to_string(),
            ..ExecuteOptions::default()
        },
    )
    .await
    .map_err(|error| Failure::usage(anyhow!(error)))?;
    let guard = crate::guard::load_guard(args.policies.as_ref())?;
    let secret = OtpSecret::from_env_or_file(
        std::env::var(OTP_SECRET_ENV).ok().as_deref(),
        &args.otp_secret_file,
    )
    .map_err(|error| Failure::usage(anyhow!(error)))?;
    let engine = ChatEngine::new(
        executor,
        Arc::new(guard),
        Model::new(kind)
            .await
            .map_err(|error| Failure::usage(anyhow!(error)))?,
        Outbox::new(args.outbox.clone()),
        secret,
        ChatConfig::default(),
    )
    .map_err(|error| Failure::usage(anyhow!(error)))?;

    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line.map_err(|error| Failure::usage(anyhow!("reading stdin: {error}")))?;
        let input = if args.json {
            parse_json_input(&line)
        } else {
            Input::Text(line)
        };
        let at = now.unwrap_or_else(Utc::now);
        match engine.turn(&tenant, &args.psid, input, at).await {
            Ok(reply) => print_reply(&reply, args.json),
            Err(ChatError::Database(reason)) => {
                return Err(Failure::usage(anyhow!("database: {reason}")));
            }
            Err(error) => {
                // Nothing of the turn was kept; say so and go on.
                tracing::error!(%error, "turn failed");
                eprintln!("error: {error}");
                print_reply(&apology(), args.json);
            }
        }
    }
    Ok(())
}

fn apology() -> Reply {
    Reply {
        messages: vec![meetassist_runtime::chat::Message {
            text: "Xin lỗi, đã có lỗi; bạn thử lại nhé. / Sorry, something went wrong; please try again.".into(),
            quick_replies: Vec::new(),
        }],
        intent: meetassist_conversation::language::Intent::Other,
        awaiting: None,
        language: meetassist_conversation::language::Language::Vi,
    }
}

/// A `--json` input line: a JSON object (`text`, `quick_reply` or
/// `postback`), or else plain text.
fn parse_json_input(line: &str) -> Input {
    let trimmed = line.trim_start();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(object)) = serde_json::from_str::<Value>(trimmed)
    {
        let field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_string);
        if let Some(payload) = field("quick_reply") {
            return Input::QuickReply(payload);
        }
        if let Some(payload) = field("postback") {
            return Input::Postback(payload);
        }
        if let Some(text) = field("text") {
            return Input::Text(text);
        }
    }
    Input::Text(line.to_string())
}

fn print_reply(reply: &Reply, as_json: bool) {
    if as_json {
        match serde_json::to_string(reply) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: cannot print the reply: {error}"),
        }
        return;
    }
    for message in &reply.messages {
        println!("bot: {}", message.text);
        for (index, chip) in message.quick_replies.iter().enumerate() {
            println!("  [{}] {}", index + 1, chip.title);
        }
    }
}

/// The tenant by id or slug, with its name and zone.
async fn load_tenant(url: &str, wanted: &str) -> Result<Tenant, Failure> {
    let client = meetassist_runtime::pg::connect(url)
        .await
        .map_err(|error| {
            Failure::usage(anyhow!(
                "cannot connect to the database: {}",
                meetassist_runtime::pg::describe(&error)
            ))
        })?;
    let row = client
        .query_opt(
            "select id, name, time_zone from tenants where id::text = $1 or slug = $1 order by (id::text = $1) desc limit 1",
            &[&wanted],
        )
        .await
        .map_err(|error| {
            Failure::usage(anyhow!(
                "looking up tenant `{wanted}`: {}",
                meetassist_runtime::pg::describe(&error)
            ))
        })?
        .ok_or_else(|| Failure::usage(anyhow!("no tenant with id or slug `{wanted}`")))?;
    let zone: String = row.get(2);
    let time_zone = zone.parse().map_err(|_| {
        Failure::usage(anyhow!(
            "tenant `{wanted}` has an unknown time zone `{zone}`"
        ))
    })?;
    Ok(Tenant {
        id: row.get(0),
        name: row.get(1),
        time_zone,
    })
}
