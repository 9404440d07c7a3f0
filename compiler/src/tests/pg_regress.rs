//! Every one of the 55,140 statements of PostgreSQL's regression tests
//! (`fixtures/pg-regress/`) goes through the compiler: none may panic or
//! hang; each is either accepted as one SELECT or INSERT that parses again,
//! or refused with a coded diagnostic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{CUSTOMER, VISITOR, compile};
use crate::code;

const KNOWN_CODES: &[&str] = &[
    code::SYNTAX,
    code::STATEMENT_COUNT,
    code::NOT_ALLOWED,
    code::UNSUPPORTED,
    code::UNKNOWN_TABLE,
    code::UNKNOWN_COLUMN,
    code::AMBIGUOUS_COLUMN,
    code::TOO_LARGE,
    code::POLICY_FAILED,
];

#[test]
fn every_regression_statement_is_accepted_safely_or_refused_clearly() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/pg-regress/statements.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("fixtures/pg-regress/statements.jsonl");
    let (mut accepted, mut refused) = (0, 0);
    let mut failures = Vec::new();
    for line in text.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let sql = entry["sql"].as_str().expect("sql");
        let place = format!(
            "{}:{}",
            entry["file"].as_str().unwrap_or("?"),
            entry["line"]
        );
        for session in [VISITOR, CUSTOMER] {
            match catch_unwind(AssertUnwindSafe(|| compile(sql, session))) {
                Err(_) => failures.push(format!("{place}: PANIC on {sql}")),
                Ok(Ok(compiled)) => {
                    accepted += 1;
                    let reparsed = sqlparser::parser::Parser::parse_sql(
                        &sqlparser::dialect::PostgreSqlDialect {},
                        &compiled.sql,
                    );
                    let one_select_or_insert = matches!(
                        reparsed.as_deref(),
                        Ok([sqlparser::ast::Statement::Query(_)
                            | sqlparser::ast::Statement::Insert(_)])
                    );
                    if !one_select_or_insert {
                        failures.push(format!(
                            "{place}: accepted output is not one SELECT/INSERT: {}",
                            compiled.sql
                        ));
                    }
                }
                Ok(Err(diagnostic)) => {
                    refused += 1;
                    if !KNOWN_CODES.contains(&diagnostic.code.as_str())
                        || diagnostic.message.trim().is_empty()
                    {
                        failures.push(format!("{place}: unclear refusal {diagnostic:?}"));
                    }
                }
            }
        }
    }
    eprintln!("pg-regress: {accepted} accepted, {refused} refused (two sessions each)");
    assert!(
        accepted + refused >= 2 * 55_000,
        "the corpus was read whole"
    );
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
