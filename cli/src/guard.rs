//! `meetassist compile` and `meetassist query`: model SQL on stdin, a
//! refusal or an accepted statement (and, for `query`, its rows) out.
//!
//! Exit codes: 0 accepted, 1 refused (by the compiler, a policy or the
//! database), 2 bad usage, no database, or no policy bundle.

use std::io::Read;
use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use meetassist_compiler::describe::{Session, StatementKind};
use meetassist_compiler::{Compiled, Diagnostic, ParamValue};
use meetassist_runtime::guard::execute::{ExecuteError, ExecuteOptions, Executor};
use meetassist_runtime::guard::{Audit, Guard, diagnostic_json};
use meetassist_runtime::policy::bundle;
use meetassist_runtime::policy::host::{EngineConfig, Limits, PolicyEngine, PolicyHost};
use serde_json::{Value, json};

use crate::Failure;

#[derive(Debug, Args)]
pub struct GuardArgs {
    /// The tenant: its id or its slug.
    #[arg(long)]
    tenant: String,
    /// A customer who has passed the email check (verified); without it the
    /// caller is an unverified visitor.
    #[arg(long)]
    customer: Option<i64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The policy bundle; default $MEETASSIST_POLICIES, else the one
    /// `meetassist policy build` writes.
    #[arg(long)]
    policies: Option<PathBuf>,
}

/// `meetassist compile`.
pub async fn compile(args: GuardArgs, database_url: Option<&str>) -> Result<(), Failure> {
    let sql = read_stdin()?;
    let tenant = resolve_tenant_for_compile(&args.tenant, database_url).await?;
    let session = Session {
        tenant_id: tenant,
        customer_id: args.customer,
    };
    let guard = load_guard(args.policies.as_ref())?;
    let (result, audit) = guard.compile(&sql, session);
    match result {
        Ok(compiled) => {
            print_accepted(&compiled, None, &audit, args.json);
            Ok(())
        }
        Err(diagnostic) => refuse(&diagnostic, &sql, args.json),
    }
}

/// `meetassist query`.
pub async fn query(args: GuardArgs, database_url: Option<&str>) -> Result<(), Failure> {
    let sql = read_stdin()?;
    let url = database_url.ok_or_else(|| {
        Failure::usage(anyhow!("no database: pass --database-url URL (the meetassist_bot connection) or set DATABASE_URL"))
    })?;
    let executor = Executor::connect(url, ExecuteOptions::default())
        .await
        .map_err(|error| Failure::usage(anyhow!(error)))?;
    let tenant = resolve_tenant_in_database(&args.tenant, url).await?;
    let session = Session {
        tenant_id: tenant,
        customer_id: args.customer,
    };
    let guard = load_guard(args.policies.as_ref())?;
    let (result, audit) = guard.compile(&sql, session);
    let compiled = match result {
        Ok(compiled) => compiled,
        Err(diagnostic) => return refuse(&diagnostic, &sql, args.json),
    };
    match executor.run(&compiled, session).await {
        Ok(rows) => {
            print_accepted(&compiled, Some(&rows), &audit, args.json);
            Ok(())
        }
        Err(ExecuteError::Refused(diagnostic)) => refuse(&diagnostic, &sql, args.json),
        Err(error @ ExecuteError::Unavailable(_)) => Err(Failure::usage(anyhow!(error))),
    }
}

fn read_stdin() -> Result<String, Failure> {
    let mut sql = String::new();
    std::io::stdin()
        .read_to_string(&mut sql)
        .map_err(|error| Failure::usage(anyhow!("reading the SQL from stdin: {error}")))?;
    Ok(sql)
}

pub(crate) fn load_guard(policies: Option<&PathBuf>) -> Result<Guard, Failure> {
    let dir = policies.cloned().unwrap_or_else(bundle::default_dir);
    let engine = PolicyEngine::new(EngineConfig::default())
        .map_err(|error| Failure::usage(anyhow!(error)))?;
    let host = PolicyHost::load(&engine, &dir, Limits::default())
        .map_err(|error| Failure::usage(anyhow!("cannot load the policy bundle: {error}")))?;
    Ok(Guard::new(host))
}

/// A tenant id as given, or a slug looked up: in the database when there
/// is one, else among the built-in demo tenants.
async fn resolve_tenant_for_compile(
    tenant: &str,
    database_url: Option<&str>,
) -> Result<i64, Failure> {
    if let Ok(id) = tenant.parse::<i64>() {
        return Ok(id);
    }
    if let Some(url) = database_url {
        return resolve_tenant_in_database(tenant, url).await;
    }
    demo_tenant(tenant).ok_or_else(|| {
        Failure::usage(anyhow!(
            "no tenant `{tenant}` among the demo tenants; give a tenant id, or --database-url to look the slug up"
        ))
    })
}

async fn resolve_tenant_in_database(tenant: &str, url: &str) -> Result<i64, Failure> {
    if let Ok(id) = tenant.parse::<i64>() {
        return Ok(id);
    }
    let client = meetassist_runtime::pg::connect(url)
        .await
        .map_err(|error| {
            Failure::usage(anyhow!(
                "cannot connect to the database: {}",
                meetassist_runtime::pg::describe(&error)
            ))
        })?;
    let id: Option<i64> = client
        .query_one("select meetassist_tenant_by_slug($1)", &[&tenant])
        .await
        .map_err(|error| {
            Failure::usage(anyhow!(
                "looking up tenant `{tenant}`: {}",
                meetassist_runtime::pg::describe(&error)
            ))
        })?
        .get(0);
    id.ok_or_else(|| Failure::usage(anyhow!("no tenant with slug `{tenant}`")))
}

fn demo_tenant(slug: &str) -> Option<i64> {
    let (_, csv) = meetassist_schema::DEMO_SEED
        .iter()
        .find(|(table, _)| *table == "tenants")?;
    csv.lines().skip(1).find_map(|line| {
        let mut cells = line.split(',');
        let id = cells.next()?.parse().ok()?;
        (cells.next()? == slug).then_some(id)
    })
}

fn param_json(value: &ParamValue) -> Value {
    match value {
        ParamValue::Integer(n) => json!(n),
        ParamValue::Number(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| json!(text), Value::Number),
        ParamValue::Text(text) => json!(text),
    }
}

fn print_accepted(compiled: &Compiled, rows: Option<&[Value]>, audit: &Audit, as_json: bool) {
    if as_json {
        let mut object = serde_json::Map::new();
        object.insert("sql".into(), json!(compiled.sql));
        object.insert(
            "params".into(),
            Value::Array(
                compiled
                    .params
                    .iter()
                    .map(|p| param_json(&p.value))
                    .collect(),
            ),
        );
        if let Some(rows) = rows {
            object.insert("rows".into(), Value::Array(rows.to_vec()));
        }
        object.insert(
            "audit".into(),
            json!({
                "original_sql": audit.original_sql,
                "policies": audit.policies.iter().map(|p| json!({
                    "module": p.name, "version": p.version, "sha256": p.digest, "rules": p.rules,
                })).collect::<Vec<_>>(),
                "elapsed_us": audit.elapsed.as_micros() as u64,
            }),
        );
        println!("{}", Value::Object(object));
        return;
    }
    let kind = match compiled.kind {
        StatementKind::Select => "SELECT",
        StatementKind::Insert => "INSERT",
        StatementKind::Other(_) => "statement",
    };
    println!("accepted ({kind}):\n  {}", compiled.sql);
    for (index, param) in compiled.params.iter().enumerate() {
        println!("  ${} = {}", index + 1, param_json(&param.value));
    }
    if let Some(rows) = rows {
        println!(
            "{} row{}:",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
        for row in rows {
            println!("  {row}");
        }
    }
    let fired: Vec<String> = audit
        .policies
        .iter()
        .flat_map(|p| p.rules.iter().cloned())
        .collect();
    println!(
        "policies: {} ({} µs)",
        fired.join(", "),
        audit.elapsed.as_micros()
    );
}

fn refuse(diagnostic: &Diagnostic, sql: &str, as_json: bool) -> Result<(), Failure> {
    if as_json {
        println!("{}", json!({"error": diagnostic_json(diagnostic)}));
    } else {
        print!("{}", diagnostic.render(sql));
    }
    Err(Failure::silent(1))
}
