//! The guard: model SQL in; a refusal, or a checked, parameterised
//! statement and its audit record out. The compiler analyses the SQL, every
//! policy module of the bundle judges the description in the Wasm sandbox,
//! and the compiler applies their decisions. `execute` then runs what was
//! accepted as `meetassist_bot`.

pub mod cases;
mod convert;
pub mod execute;

use std::time::{Duration, Instant};

use meetassist_compiler::describe::Session;
use meetassist_compiler::{Analysis, Compiled, Diagnostic, PolicyDecision, code};

use crate::policy::host::PolicyHost;

/// What was decided about one statement, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// The SQL as the model wrote it.
    pub original_sql: String,
    /// The SQL that may run, when it was accepted.
    pub final_sql: Option<String>,
    /// Every policy module consulted, in order.
    pub policies: Vec<PolicyRecord>,
    /// The refusal's code, when it was refused.
    pub refused_with: Option<String>,
    /// Time from the text to the verdict.
    pub elapsed: Duration,
}

/// A diagnostic as JSON, the shape the model's repair loop, `compile
/// --json` and the audit all use: `{"code", "message", "span": {"start":
/// {"line", "column"}, "end": …} | null, "hint": … | null}`.
pub fn diagnostic_json(diagnostic: &Diagnostic) -> serde_json::Value {
    let span = diagnostic.span.map(|span| {
        serde_json::json!({
            "start": {"line": span.start.line, "column": span.start.column},
            "end": {"line": span.end.line, "column": span.end.column},
        })
    });
    serde_json::json!({
        "code": diagnostic.code,
        "message": diagnostic.message,
        "span": span,
        "hint": diagnostic.hint,
    })
}

/// One policy module's part in a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRecord {
    pub name: String,
    pub version: String,
    /// SHA-256 of the module's component.
    pub digest: String,
    /// The rule ids that fired.
    pub rules: Vec<String>,
}

/// The compiler and the policy modules, ready to judge statements. Cheap
/// to share across threads (`Arc<Guard>`).
pub struct Guard {
    host: PolicyHost,
}

impl Guard {
    pub fn new(host: PolicyHost) -> Self {
        Guard { host }
    }

    /// The policy modules in force.
    pub fn host(&self) -> &PolicyHost {
        &self.host
    }

    /// Judges `sql` for `session`.
    pub fn compile(&self, sql: &str, session: Session) -> (Result<Compiled, Diagnostic>, Audit) {
        let started = Instant::now();
        let mut audit = Audit {
            original_sql: sql.to_string(),
            final_sql: None,
            policies: Vec::new(),
            refused_with: None,
            elapsed: Duration::ZERO,
        };
        let result = self.judge(sql, session, &mut audit);
        audit.elapsed = started.elapsed();
        match &result {
            Ok(compiled) => audit.final_sql = Some(compiled.sql.clone()),
            Err(diagnostic) => audit.refused_with = Some(diagnostic.code.clone()),
        }
        (result, audit)
    }

    fn judge(
        &self,
        sql: &str,
        session: Session,
        audit: &mut Audit,
    ) -> Result<Compiled, Diagnostic> {
        let analysis = meetassist_compiler::analyze(sql, session)?;
        let decisions = self.decide(&analysis, audit)?;
        analysis.finish(&decisions)
    }

    /// Every policy module's decision about an analysed statement, in
    /// bundle order; a module that fails refuses the statement.
    pub fn decide(
        &self,
        analysis: &Analysis,
        audit: &mut Audit,
    ) -> Result<Vec<PolicyDecision>, Diagnostic> {
        let description = convert::query(analysis.query());
        let mut decisions = Vec::new();
        for (module, outcome) in self.host.evaluate_all(&description) {
            let decision = match outcome {
                Ok(decision) => convert::decision(decision),
                Err(error) => {
                    // Fail closed: a module that could not answer refuses.
                    audit.policies.push(record(module, Vec::new()));
                    return Err(Diagnostic::new(
                        code::POLICY_FAILED,
                        format!(
                            "the policy {} failed, so the statement is refused: {error}",
                            module.name
                        ),
                    ));
                }
            };
            audit.policies.push(record(module, decision.rules.clone()));
            decisions.push(PolicyDecision {
                module: format!("{}@{}", module.name, module.version),
                decision,
            });
        }
        Ok(decisions)
    }
}

fn record(module: &crate::policy::bundle::ModuleEntry, rules: Vec<String>) -> PolicyRecord {
    PolicyRecord {
        name: module.name.clone(),
        version: module.version.clone(),
        digest: module.sha256.clone(),
        rules,
    }
}
