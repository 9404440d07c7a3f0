//! A policy module's case file (`policies/<module>/cases.toml`): SQL, a
//! session, and what *that module* must answer — allow or deny (with its
//! code), and the rewrites it asks for in a readable form. Run by
//! `meetassist policy test` and by the test suite, against the built
//! module in wasmtime.
//!
//! Rewrites are written `scope <alias>.<column> = tenant|customer`,
//! `force <column> = tenant|customer`, `unaccent-ilike <alias>.<column>`,
//! `cap-limit <n>`; their order does not matter.

use std::path::{Path, PathBuf};

use meetassist_compiler::describe::{Decision, Query, Rewrite, Session, SessionValue};
use serde::Deserialize;

use super::{Guard, convert};

#[derive(Debug, Deserialize)]
struct CaseFile {
    #[serde(default)]
    case: Vec<Case>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub sql: String,
    pub tenant: i64,
    pub customer: Option<i64>,
    pub expect: Expect,
    pub code: Option<String>,
    pub rewrites: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Allow,
    Deny,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub module: String,
    pub name: String,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

/// Why the cases could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CasesError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}: no module `{module}` in the policy bundle", path.display())]
    NoModule { path: PathBuf, module: String },
}

/// The case files of `policies_root`, as (module name, path), by name.
pub fn case_files(policies_root: &Path) -> Result<Vec<(String, PathBuf)>, CasesError> {
    let read = |path: &Path| {
        std::fs::read_dir(path).map_err(|source| CasesError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut files = Vec::new();
    for entry in read(policies_root)? {
        let entry = entry.map_err(|source| CasesError::Read {
            path: policies_root.to_path_buf(),
            source,
        })?;
        let path = entry.path().join("cases.toml");
        if path.is_file() {
            files.push((entry.file_name().to_string_lossy().into_owned(), path));
        }
    }
    files.sort();
    Ok(files)
}

/// Runs the cases of `path` against `module` of `guard`'s bundle.
pub fn run_file(guard: &Guard, module: &str, path: &Path) -> Result<Vec<CaseResult>, CasesError> {
    let text = std::fs::read_to_string(path).map_err(|source| CasesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: CaseFile = toml::from_str(&text).map_err(|error| CasesError::Parse {
        path: path.to_path_buf(),
        message: error.to_string(),
    })?;
    if !guard.host().modules().any(|m| m.name == module) {
        return Err(CasesError::NoModule {
            path: path.to_path_buf(),
            module: module.to_string(),
        });
    }
    Ok(file
        .case
        .iter()
        .map(|case| CaseResult {
            module: module.to_string(),
            name: case.name.clone(),
            failure: run_case(guard, module, case).err(),
        })
        .collect())
}

fn run_case(guard: &Guard, module: &str, case: &Case) -> Result<(), String> {
    let session = Session {
        tenant_id: case.tenant,
        customer_id: case.customer,
    };
    let analysis = match meetassist_compiler::analyze(&case.sql, session) {
        Ok(analysis) => analysis,
        // The compiler refused before any policy saw it: that satisfies a
        // deny case with the same code.
        Err(diagnostic) => {
            return match (case.expect, &case.code) {
                (Expect::Deny, Some(code)) if *code == diagnostic.code => Ok(()),
                _ => Err(format!("the compiler refused it first: {diagnostic}")),
            };
        }
    };
    let decision = match guard
        .host()
        .evaluate(module, &convert::query(analysis.query()))
    {
        Some(Ok(decision)) => convert::decision(decision),
        Some(Err(error)) => return Err(format!("the module failed: {error}")),
        None => return Err(format!("no module {module}")),
    };
    check(case, analysis.query(), &decision)
}

fn check(case: &Case, query: &Query, decision: &Decision) -> Result<(), String> {
    match (case.expect, decision.denials.first()) {
        (Expect::Allow, Some(denial)) => {
            return Err(format!("denied: {}: {}", denial.code, denial.message));
        }
        (Expect::Deny, None) => return Err("allowed, expected a denial".into()),
        (Expect::Deny, Some(denial)) => {
            if let Some(code) = &case.code
                && *code != denial.code
            {
                return Err(format!("denied with {}, expected {code}", denial.code));
            }
        }
        (Expect::Allow, None) => {}
    }
    if let Some(expected) = &case.rewrites {
        let mut expected = expected.clone();
        let mut actual: Vec<String> = decision.rewrites.iter().map(|r| render(query, r)).collect();
        expected.sort();
        actual.sort();
        actual.dedup();
        if expected != actual {
            return Err(format!("rewrites {actual:?}, expected {expected:?}"));
        }
    }
    Ok(())
}

/// A rewrite in the case files' readable form.
pub fn render(query: &Query, rewrite: &Rewrite) -> String {
    let value = |v: &SessionValue| match v {
        SessionValue::TenantId => "tenant",
        SessionValue::CustomerId => "customer",
    };
    let alias = |relation: u32| {
        query
            .relations
            .get(relation as usize)
            .map_or_else(|| format!("#{relation}"), |r| r.alias.clone())
    };
    match rewrite {
        Rewrite::AddScope {
            relation,
            column,
            value: v,
        } => format!("scope {}.{column} = {}", alias(*relation), value(v)),
        Rewrite::ForceInsert { column, value: v } => format!("force {column} = {}", value(v)),
        Rewrite::UnaccentIlike(id) => match query
            .comparisons
            .get(*id as usize)
            .and_then(|c| query.columns.get(c.column as usize))
        {
            Some(column) => format!(
                "unaccent-ilike {}.{}",
                alias(column.relation),
                column.column
            ),
            None => format!("unaccent-ilike #{id}"),
        },
        Rewrite::CapLimit(n) => format!("cap-limit {n}"),
    }
}
