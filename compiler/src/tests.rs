//! The compiler's own tests: binding, description and the rewrite
//! mechanics, with decisions written here (the real policy modules are
//! tested through the runtime).

use crate::describe::{
    Access, ColumnType, ComparisonOp, Decision, Rewrite, Session, SessionValue, StatementKind,
};
use crate::{Compiled, Diagnostic, PolicyDecision, analyze};

mod pg_regress;

pub(crate) const VISITOR: Session = Session {
    tenant_id: 1,
    customer_id: None,
};
pub(crate) const CUSTOMER: Session = Session {
    tenant_id: 1,
    customer_id: Some(7),
};

/// What the tenant, customer, row-limit and Vietnamese-name policies ask
/// for, reduced to their rewrites.
fn scoping(query: &crate::describe::Query) -> Decision {
    let mut rewrites = Vec::new();
    for relation in &query.relations {
        let mut required = vec![(
            relation.tenant_column.clone().unwrap(),
            SessionValue::TenantId,
        )];
        if relation.access == Access::CustomerPrivate && query.session.customer_id.is_some() {
            required.push((
                relation.owner_column.clone().unwrap(),
                SessionValue::CustomerId,
            ));
        }
        for (column, value) in required {
            rewrites.push(if relation.insert_target {
                Rewrite::ForceInsert { column, value }
            } else {
                Rewrite::AddScope {
                    relation: relation.id,
                    column,
                    value,
                }
            });
        }
    }
    for comparison in &query.comparisons {
        let column = &query.columns[comparison.column as usize];
        if matches!(column.column_type, ColumnType::Text { searchable: true })
            && matches!(
                comparison.op,
                ComparisonOp::Eq | ComparisonOp::Like | ComparisonOp::Ilike | ComparisonOp::InList
            )
        {
            rewrites.push(Rewrite::UnaccentIlike(comparison.id));
        }
    }
    if query.kind == StatementKind::Select {
        rewrites.push(Rewrite::CapLimit(100));
    }
    Decision {
        denials: Vec::new(),
        rewrites,
        rules: vec!["test/scoping".into()],
    }
}

pub(crate) fn compile(sql: &str, session: Session) -> Result<Compiled, Diagnostic> {
    let analysis = analyze(sql, session)?;
    let decision = scoping(analysis.query());
    analysis.finish(&[PolicyDecision {
        module: "test@0".into(),
        decision,
    }])
}

#[track_caller]
fn accepted(sql: &str, session: Session) -> Compiled {
    match compile(sql, session) {
        Ok(compiled) => compiled,
        Err(diagnostic) => panic!("{sql}\nwas refused: {}", diagnostic.render(sql)),
    }
}

#[track_caller]
fn refused(sql: &str, session: Session) -> Diagnostic {
    match compile(sql, session) {
        Ok(compiled) => panic!("{sql}\nwas accepted as: {}", compiled.sql),
        Err(diagnostic) => diagnostic,
    }
}

fn params(compiled: &Compiled) -> Vec<String> {
    compiled.params.iter().map(|p| p.value.as_text()).collect()
}

#[test]
fn a_where_with_or_stays_inside_the_tenant_scope() {
    let compiled = accepted(
        "SELECT full_name FROM consultants WHERE is_active OR id = 3",
        VISITOR,
    );
    assert_eq!(
        compiled.sql,
        "SELECT full_name FROM public.consultants AS \"consultants\" WHERE (is_active OR id = $1::INT) AND (\"consultants\".\"tenant_id\" = $2::INT) LIMIT 100"
    );
    assert_eq!(params(&compiled), ["3", "1"]);
}

#[test]
fn every_literal_becomes_a_parameter() {
    let compiled = accepted(
        "SELECT s.name FROM services s WHERE s.duration_minutes > 30 AND s.price_vnd < 1000000 AND s.name <> 'x'",
        VISITOR,
    );
    assert!(
        !compiled.sql.contains("30") && !compiled.sql.contains("'x'"),
        "{}",
        compiled.sql
    );
    assert_eq!(params(&compiled), ["30", "1000000", "x", "1"]);
}

#[test]
fn the_nullable_side_of_an_outer_join_is_scoped_in_place() {
    let compiled = accepted(
        "SELECT c.full_name, count(a.id) FROM consultants c LEFT JOIN appointments a ON a.consultant_id = c.id GROUP BY c.full_name",
        CUSTOMER,
    );
    // The appointments side became a scoped subquery: the join stays outer.
    assert!(
        compiled.sql.contains("LEFT JOIN (SELECT \"a\".\"id\""),
        "{}",
        compiled.sql
    );
    assert!(
        compiled.sql.contains("WHERE \"a\".\"customer_id\" = $"),
        "{}",
        compiled.sql
    );
    assert!(
        compiled.sql.contains("WHERE (\"c\".\"tenant_id\" = $"),
        "{}",
        compiled.sql
    );
}

#[test]
fn subqueries_ctes_and_set_operations_are_scoped_at_every_depth() {
    let compiled = accepted(
        "WITH mine AS (SELECT consultant_id FROM appointments) \
         SELECT full_name FROM consultants WHERE id IN (SELECT consultant_id FROM mine) \
         AND EXISTS (SELECT 1 FROM busy_slots b WHERE b.consultant_id = consultants.id) \
         UNION SELECT name FROM services",
        CUSTOMER,
    );
    let scopes = compiled
        .rewrites
        .iter()
        .filter(|r| matches!(r, Rewrite::AddScope { .. }))
        .count();
    // appointments (tenant + customer), consultants, busy_slots, services.
    assert_eq!(scopes, 5, "{:?}", compiled.rewrites);
    for table in ["appointments", "consultants", "busy_slots", "services"] {
        assert!(
            compiled.sql.contains(&format!("public.{table}")),
            "{table}: {}",
            compiled.sql
        );
    }
}

#[test]
fn names_are_bound_with_hints() {
    let error = refused("SELECT fullname FROM consultants", VISITOR);
    assert_eq!(error.code, "E-UNKNOWN-COLUMN");
    assert_eq!(error.hint.as_deref(), Some("did you mean `full_name`?"));
    let error = refused("SELECT * FROM apointments", CUSTOMER);
    assert_eq!(error.code, "E-UNKNOWN-TABLE");
    assert_eq!(error.hint.as_deref(), Some("did you mean `appointments`?"));
    let error = refused("SELECT id FROM consultants, services", VISITOR);
    assert_eq!(error.code, "E-AMBIGUOUS-COLUMN");
    let span = error.span.unwrap();
    assert_eq!((span.start.line, span.start.column), (1, 8));
}

#[test]
fn what_may_never_run_is_refused_by_the_compiler_itself() {
    for (sql, code) in [
        ("DELETE FROM appointments", "E-NOT-ALLOWED"),
        (
            "UPDATE appointments SET status = 'cancelled'",
            "E-NOT-ALLOWED",
        ),
        ("DROP TABLE appointments", "E-NOT-ALLOWED"),
        ("SELECT 1; SELECT 2", "E-STATEMENT-COUNT"),
        ("SELECT * FROM appointments FOR UPDATE", "E-NOT-ALLOWED"),
        ("SELECT * INTO stolen FROM appointments", "E-NOT-ALLOWED"),
        (
            "WITH x AS (DELETE FROM appointments RETURNING *) SELECT * FROM x",
            "E-NOT-ALLOWED",
        ),
        ("SELECT * FROM pg_catalog.pg_user", "E-NOT-ALLOWED"),
        ("SELECT usename FROM pg_user", "E-NOT-ALLOWED"),
        ("SELECT 'x'::regclass", "E-NOT-ALLOWED"),
        ("SELECT * FROM services WHERE id = $1", "E-NOT-ALLOWED"),
        (
            "INSERT INTO appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at) VALUES (1, 1, 7, '2027-01-01 09:00+07', '2027-01-01 10:00+07') ON CONFLICT DO NOTHING",
            "E-NOT-ALLOWED",
        ),
    ] {
        assert_eq!(refused(sql, CUSTOMER).code, code, "{sql}");
    }
}

#[test]
fn a_visitor_cannot_read_customer_rows_even_if_policies_forget() {
    // The scoping decision above leaves the customer scope out for a
    // visitor; the compiler refuses rather than run it unscoped.
    let error = refused("SELECT * FROM appointments", VISITOR);
    assert_eq!(error.code, "E-POLICY-FAILED");
}

#[test]
fn a_missing_scope_fails_closed() {
    let analysis = analyze("SELECT name FROM services", VISITOR).unwrap();
    let error = analysis
        .finish(&[PolicyDecision {
            module: "lazy@0".into(),
            decision: Decision {
                rewrites: vec![Rewrite::CapLimit(10)],
                ..Decision::default()
            },
        }])
        .unwrap_err();
    assert_eq!(error.code, "E-POLICY-FAILED");
}

#[test]
fn nonsense_rewrites_are_refused() {
    let analysis = analyze("SELECT name FROM services", VISITOR).unwrap();
    let error = analysis
        .finish(&[PolicyDecision {
            module: "broken@0".into(),
            decision: Decision {
                rewrites: vec![Rewrite::AddScope {
                    relation: 9,
                    column: "tenant_id".into(),
                    value: SessionValue::TenantId,
                }],
                ..Decision::default()
            },
        }])
        .unwrap_err();
    assert_eq!(error.code, "E-POLICY-FAILED");
    assert!(error.message.contains("broken@0"), "{}", error.message);
}

#[test]
fn vietnamese_names_match_without_accents() {
    let compiled = accepted(
        "SELECT id FROM consultants WHERE full_name = 'Nguyen Van An'",
        VISITOR,
    );
    assert!(
        compiled
            .sql
            .contains("(unaccent(full_name) ILIKE unaccent($1))"),
        "{}",
        compiled.sql
    );
    assert_eq!(params(&compiled)[0], "%Nguyen Van An%");
    let compiled = accepted(
        "SELECT id FROM consultants WHERE full_name = '50%_off'",
        VISITOR,
    );
    assert_eq!(params(&compiled)[0], "%50\\%\\_off%");
    let compiled = accepted(
        "SELECT id FROM consultants WHERE full_name LIKE 'Ng%'",
        VISITOR,
    );
    assert_eq!(params(&compiled)[0], "Ng%", "a pattern is kept");
    let compiled = accepted(
        "SELECT id FROM consultants WHERE full_name IN ('An', 'Ngọc')",
        VISITOR,
    );
    assert!(
        compiled
            .sql
            .contains(" OR unaccent(full_name) ILIKE unaccent($2)"),
        "{}",
        compiled.sql
    );
}

#[test]
fn inserts_get_the_session_tenant_and_customer_forced() {
    let compiled = accepted(
        "INSERT INTO appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at, topic) \
         VALUES (2, 1, 99, '2027-01-04 09:00+07', '2027-01-04 10:00+07', 'thuế') RETURNING id",
        CUSTOMER,
    );
    assert_eq!(compiled.kind, StatementKind::Insert);
    // tenant 2 and customer 99 were replaced by the session's 1 and 7.
    let values = params(&compiled);
    assert!(
        values.contains(&"1".to_string()) && values.contains(&"7".to_string()),
        "{values:?}"
    );
    assert!(!compiled.sql.contains("99"), "{}", compiled.sql);
    let compiled = accepted(
        "INSERT INTO appointment_changes (appointment_id, action) VALUES (3, 'cancel')",
        CUSTOMER,
    );
    assert!(
        compiled.sql.contains("\"tenant_id\""),
        "missing columns are added: {}",
        compiled.sql
    );
}

#[test]
fn wildcards_never_expand_to_staff_only_columns() {
    let compiled = accepted("SELECT * FROM consultants", VISITOR);
    assert!(
        !compiled.sql.contains("email") && !compiled.sql.contains("phone"),
        "{}",
        compiled.sql
    );
    assert!(
        compiled.sql.contains("\"consultants\".\"full_name\""),
        "{}",
        compiled.sql
    );
}

#[test]
fn limits_are_capped() {
    assert!(
        accepted("SELECT name FROM services LIMIT 5", VISITOR)
            .sql
            .ends_with("LIMIT 5")
    );
    assert!(
        accepted("SELECT name FROM services LIMIT 5000", VISITOR)
            .sql
            .ends_with("LIMIT 100")
    );
    assert!(
        accepted("SELECT name FROM services", VISITOR)
            .sql
            .ends_with("LIMIT 100")
    );
}

#[test]
fn table_and_values_are_handled() {
    // sqlparser reads `TABLE x` as a set-operation arm only.
    let compiled = accepted(
        "SELECT * FROM services WHERE id = 1 UNION TABLE services",
        VISITOR,
    );
    assert_eq!(
        compiled
            .sql
            .matches("\"services\".\"tenant_id\" = $2")
            .count(),
        2,
        "{}",
        compiled.sql
    );
    let compiled = accepted(
        "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, s)",
        VISITOR,
    );
    assert_eq!(params(&compiled), ["1", "a", "2", "b"]);
}

#[test]
fn compiling_is_deterministic() {
    let sql = "SELECT c.full_name, s.weekday FROM consultants c JOIN consultant_schedules s ON s.consultant_id = c.id WHERE c.full_name ILIKE '%an%' ORDER BY 2";
    assert_eq!(accepted(sql, VISITOR), accepted(sql, VISITOR));
}

#[test]
fn set_operations_inside_subqueries_keep_every_scope() {
    // Regression: a UNION inside EXISTS once left a scope open, and the
    // outer query's tenant/customer predicates were never added.
    for sql in [
        "SELECT id FROM customers WHERE EXISTS (SELECT 1 FROM services UNION SELECT 2 FROM services)",
        "SELECT id FROM appointments WHERE id IN (SELECT 1 UNION SELECT 2)",
        "SELECT id FROM appointments WHERE id IN (VALUES (1), (2))",
        "SELECT a.id FROM appointments a, (SELECT 1 AS x UNION SELECT 2) u",
        "SELECT id, (SELECT 1 UNION SELECT 2 LIMIT 1) FROM appointments",
    ] {
        let compiled = accepted(sql, CUSTOMER);
        let owner = if sql.contains("FROM customers") {
            "\"customers\".\"id\" = $"
        } else {
            "\"customer_id\" = $"
        };
        assert!(compiled.sql.contains(owner), "{sql}\n=> {}", compiled.sql);
    }
}

#[test]
fn generated_columns_cannot_be_inserted() {
    for column in ["id", "created_at"] {
        let sql = format!(
            "INSERT INTO appointments ({column}, consultant_id, starts_at, ends_at) VALUES ('2027-01-01', 1, '2027-01-04 09:00+07', '2027-01-04 10:00+07')"
        );
        let error = refused(&sql, CUSTOMER);
        assert_eq!(error.code, "E-NOT-ALLOWED", "{sql}");
    }
}

#[test]
fn set_returning_functions_in_from_are_function_calls() {
    let analysis = analyze(
        "SELECT g FROM generate_series(now(), now() + interval '1 day', interval '30 minutes') AS g",
        VISITOR,
    )
    .unwrap();
    let names: Vec<&str> = analysis
        .query()
        .functions
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["generate_series", "now", "now"]);
    assert!(analysis.query().relations.is_empty());
    let error = refused("SELECT nope FROM generate_series(1, 3) AS g(n)", VISITOR);
    assert_eq!(error.code, "E-UNKNOWN-COLUMN");
}

#[test]
fn a_literal_a_policy_replaced_leaves_no_parameter_behind() {
    let compiled = accepted(
        "INSERT INTO appointments (tenant_id, customer_id, consultant_id, starts_at, ends_at) VALUES (5, 99, 1, '2027-01-04 09:00+07', '2027-01-04 10:00+07')",
        CUSTOMER,
    );
    let values = params(&compiled);
    assert!(
        !values.contains(&"5".to_string()) && !values.contains(&"99".to_string()),
        "{values:?}"
    );
    let highest = (1..=values.len())
        .rev()
        .find(|n| compiled.sql.contains(&format!("${n}")));
    assert_eq!(
        highest,
        Some(values.len()),
        "every parameter is used: {}",
        compiled.sql
    );
    assert!(
        !compiled.sql.contains(&format!("${}", values.len() + 1)),
        "{}",
        compiled.sql
    );
}

#[test]
fn a_name_on_the_right_is_matched_without_accents_too() {
    let compiled = accepted(
        "SELECT id FROM consultants WHERE 'Pham Minh Tuan' = full_name",
        VISITOR,
    );
    assert!(
        compiled
            .sql
            .contains("unaccent(full_name) ILIKE unaccent($1)"),
        "{}",
        compiled.sql
    );
}

#[test]
fn only_ascii_letters_are_folded() {
    // PostgreSQL folds unquoted names with ASCII rules only.
    let compiled = accepted("SELECT Đ.name FROM services Đ", VISITOR);
    assert!(
        compiled.sql.contains("\"Đ\".\"tenant_id\""),
        "{}",
        compiled.sql
    );
}

#[test]
fn compiling_the_output_again_changes_nothing() {
    for (sql, session) in [
        (
            "SELECT full_name FROM consultants WHERE is_active OR id = 3",
            VISITOR,
        ),
        (
            "SELECT id FROM consultants WHERE full_name = 'Nguyễn Văn An' AND id > -2",
            VISITOR,
        ),
        (
            "SELECT c.full_name, count(a.id) FROM consultants c LEFT JOIN appointments a ON a.consultant_id = c.id GROUP BY c.full_name",
            CUSTOMER,
        ),
        (
            "WITH mine AS (SELECT consultant_id FROM appointments) SELECT full_name FROM consultants WHERE id IN (SELECT consultant_id FROM mine) UNION SELECT name FROM services",
            CUSTOMER,
        ),
        (
            "SELECT * FROM schedule_exceptions WHERE on_date >= DATE '2026-12-01' AND start_time IS NULL",
            VISITOR,
        ),
        (
            "INSERT INTO appointments (tenant_id, consultant_id, starts_at, ends_at, topic) VALUES (9, 1::bigint, '2027-01-04 09:00+07', '2027-01-04 10:00+07', 'it''s') RETURNING id",
            CUSTOMER,
        ),
        (
            "SELECT * FROM busy_slots b FULL JOIN consultants c ON c.id = b.consultant_id LIMIT 5",
            VISITOR,
        ),
    ] {
        let first = accepted(sql, session);
        let again = accepted(&first.inlined_sql(), session);
        assert_eq!(again.inlined_sql(), first.inlined_sql(), "{sql}");
    }
}
