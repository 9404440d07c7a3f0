use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text, value};
use meetassist_policy_sdk::{BlockKind, Clause, Denial, InsertValue, Literal};

fn allowed(query: &Query) {
    let decision = evaluate(query);
    assert!(decision.is_allowed(), "{decision:?}");
    assert!(decision.rewrites.is_empty(), "{decision:?}");
    assert!(decision.rules.is_empty(), "{decision:?}");
}

/// The one denial of `query`, checking that its rule fired.
fn denied(query: &Query, rule: &str) -> Denial {
    let decision = evaluate(query);
    assert_eq!(decision.denials.len(), 1, "{decision:?}");
    assert_eq!(decision.rules, vec![format!("allow-list/{rule}")]);
    assert!(decision.rewrites.is_empty());
    decision.denials[0].clone()
}

fn booking() -> QueryBuilder {
    QueryBuilder::insert(
        "appointments",
        &[
            ("consultant_id", value(Literal::Integer(2))),
            ("starts_at", value(text("2026-12-01 09:30+07"))),
            ("ends_at", value(text("2026-12-01 10:30+07"))),
            ("topic", value(text("Thành lập công ty"))),
        ],
    )
}

fn calling(name: &str, aggregate_or_window: bool) -> Query {
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    q.function(name, 1, aggregate_or_window);
    q.verified(3);
    q.build()
}

// ---- statement kind ----

#[test]
fn a_select_of_every_model_visible_relation_at_every_depth_is_allowed() {
    let mut q = QueryBuilder::select();
    let blocks = [
        BlockKind::Top,
        BlockKind::FromSubquery,
        BlockKind::LateralSubquery,
        BlockKind::ExpressionSubquery,
        BlockKind::Cte,
        BlockKind::SetOperationArm,
    ];
    for (depth, table) in RELATIONS.iter().enumerate() {
        let id = q.nested(table, "x", depth as u32, blocks[depth % blocks.len()]);
        q.column(id, "tenant_id", Clause::Where);
    }
    allowed(&q.build());
}

#[test]
fn other_statements_are_denied_by_name() {
    for keywords in [
        "UPDATE",
        "DELETE",
        "CREATE TABLE",
        "DROP TABLE",
        "COPY",
        "SET",
        "TRUNCATE",
        "GRANT",
        "CALL",
        "DO",
        "LISTEN",
        "VACUUM",
    ] {
        let mut q = QueryBuilder::other(keywords);
        q.relation("appointments");
        let denial = denied(&q.build(), "statement-kind");
        assert_eq!(denial.code, "E-NOT-ALLOWED");
        assert_eq!(denial.at, Node::Statement);
        assert!(
            denial.message.contains(&format!("a {keywords} statement")),
            "{}",
            denial.message
        );
        assert!(denial.hint.unwrap().contains("SELECT"));
    }
}

#[test]
fn an_unnamed_other_statement_is_denied_too() {
    let denial = denied(&QueryBuilder::other("  ").build(), "statement-kind");
    assert!(denial.message.contains("neither"), "{}", denial.message);
}

// ---- relations ----

#[test]
fn tables_off_the_list_are_denied_wherever_they_appear() {
    for (table, depth, block) in [
        ("tenants", 0, BlockKind::Top),
        ("pg_user", 1, BlockKind::FromSubquery),
        ("pg_class", 2, BlockKind::Cte),
        ("pg_catalog.pg_authid", 1, BlockKind::ExpressionSubquery),
        ("information_schema.tables", 1, BlockKind::SetOperationArm),
        ("sessions", 3, BlockKind::LateralSubquery),
        ("otp_challenges", 1, BlockKind::ExpressionSubquery),
        ("sql_audit", 0, BlockKind::Top),
        ("staff_accounts", 0, BlockKind::Top),
        ("meetassist_migrations", 0, BlockKind::Top),
        // Names the catalog spells differently are not the listed tables.
        ("Consultants", 0, BlockKind::Top),
        ("public.consultants", 0, BlockKind::Top),
        ("consultants ", 0, BlockKind::Top),
        ("", 0, BlockKind::Top),
    ] {
        let mut q = QueryBuilder::select();
        q.relation("consultants");
        let id = q.nested(table, "t", depth, block);
        let denial = denied(&q.build(), "relation");
        assert_eq!(denial.code, "E-NOT-ALLOWED");
        assert_eq!(denial.at, Node::Relation(id));
        assert!(denial.message.contains(&format!("\"{table}\"")));
        assert!(
            denial
                .hint
                .unwrap()
                .contains("consultants, services, consultant_schedules")
        );
    }
}

#[test]
fn the_list_is_the_eight_model_visible_relations() {
    let mut names = RELATIONS.to_vec();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 8);
    assert!(INSERTABLE.iter().all(|t| RELATIONS.contains(t)));
}

// ---- inserts ----

#[test]
fn booking_an_appointment_is_allowed() {
    allowed(&booking().verified(3).build());
}

#[test]
fn asking_to_cancel_is_allowed() {
    let mut q = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("appointment_id", value(Literal::Integer(12))),
            ("action", value(text("cancel"))),
            ("reason", value(text("Bận việc đột xuất"))),
        ],
    );
    q.feature(FeatureKind::Returning);
    allowed(&q.verified(3).build());
}

#[test]
fn inserting_into_other_tables_is_denied() {
    for table in [
        "consultants",
        "services",
        "consultant_schedules",
        "schedule_exceptions",
        "busy_slots",
        "customers",
    ] {
        let q = QueryBuilder::insert(table, &[("tenant_id", value(Literal::Integer(1)))]);
        let denial = denied(&q.build(), "insert-target");
        assert_eq!(denial.code, "E-NOT-ALLOWED");
        assert_eq!(denial.at, Node::Relation(0));
        assert!(denial.message.contains(table));
        assert!(denial.hint.unwrap().contains("appointment_changes"));
    }
}

#[test]
fn inserting_into_an_unknown_table_is_denied_twice_over() {
    let q = QueryBuilder::insert("tenants", &[("name", value(text("x")))]);
    let decision = evaluate(&q.build());
    assert_eq!(
        decision.rules,
        vec!["allow-list/relation", "allow-list/insert-target"]
    );
}

#[test]
fn inserting_several_rows_is_denied() {
    let mut query = booking().build();
    let insert = query.insert.as_mut().unwrap();
    insert.rows = 3;
    for column in &mut insert.columns {
        column.values = vec![column.values[0].clone(); 3];
    }
    let denial = denied(&query, "insert-rows");
    assert!(denial.message.contains("3 rows"), "{}", denial.message);
}

#[test]
fn insert_select_is_denied_by_its_feature_alone() {
    let mut q = booking();
    q.nested("busy_slots", "b", 0, BlockKind::Top);
    let id = q.feature(FeatureKind::InsertSelect);
    let mut query = q.build();
    let insert = query.insert.as_mut().unwrap();
    insert.rows = 0;
    for column in &mut insert.columns {
        column.values.clear();
    }
    let denial = denied(&query, "feature");
    assert_eq!(denial.at, Node::Feature(id));
    assert!(denial.hint.unwrap().contains("VALUES"));
}

#[test]
fn an_insert_without_values_is_denied() {
    let mut query = QueryBuilder::insert("appointments", &[]).build();
    query.insert.as_mut().unwrap().rows = 0;
    let denial = denied(&query, "insert-rows");
    assert!(denial.message.contains("no row"), "{}", denial.message);
}

#[test]
fn an_inconsistent_insert_description_is_refused() {
    let internal = |query: Query| {
        let decision = evaluate(&query);
        assert!(
            decision
                .denials
                .iter()
                .any(|d| d.code == "E-INTERNAL" && d.at == Node::Statement),
            "{decision:?}"
        );
        assert!(
            decision
                .rules
                .contains(&"allow-list/description".to_string())
        );
    };
    // INSERT without its insert record
    let mut query = booking().build();
    query.insert = None;
    internal(query);
    // a SELECT that claims an insert target
    let mut query = QueryBuilder::select().build();
    query
        .relations
        .push(meetassist_policy_sdk::build::demo_relation(
            0,
            "appointments",
            "appointments",
            0,
            BlockKind::Top,
        ));
    query.relations[0].insert_target = true;
    internal(query);
    // a SELECT with an insert record
    let mut query = booking().build();
    query.kind = StatementKind::Select;
    internal(query);
    // the target points nowhere
    let mut query = booking().build();
    query.insert.as_mut().unwrap().target = 7;
    internal(query);
    // the target is not marked as one
    let mut query = booking().build();
    query.relations[0].insert_target = false;
    internal(query);
    // two targets
    let mut q = booking();
    q.relation("appointment_changes");
    let mut query = q.build();
    query.relations[1].insert_target = true;
    internal(query);
    // a column with more values than rows
    let mut query = booking().build();
    query.insert.as_mut().unwrap().columns[0]
        .values
        .push(InsertValue::Default);
    internal(query);
}

// ---- features ----

#[test]
fn dangerous_features_are_denied_where_they_are() {
    for kind in [
        FeatureKind::LockingClause,
        FeatureKind::SelectInto,
        FeatureKind::WritableCte,
        FeatureKind::OnConflict,
        FeatureKind::MultipleStatements,
        FeatureKind::RecursiveCte,
    ] {
        let mut q = QueryBuilder::select();
        q.relation("busy_slots");
        q.feature(FeatureKind::SetOperation);
        let id = q.feature(kind);
        let denial = denied(&q.build(), "feature");
        assert_eq!(denial.code, "E-NOT-ALLOWED");
        assert_eq!(denial.at, Node::Feature(id), "{kind:?}");
        assert!(denial.hint.is_some());
    }
}

#[test]
fn harmless_features_are_allowed() {
    let mut q = QueryBuilder::select();
    let c = q.relation("consultants");
    q.nested("busy_slots", "b", 1, BlockKind::LateralSubquery);
    q.nested("consultants", "c2", 0, BlockKind::SetOperationArm);
    q.column(c, "full_name", Clause::Projection);
    q.function("row_number", 0, true);
    for kind in [
        FeatureKind::SetOperation,
        FeatureKind::WindowFunction,
        FeatureKind::Lateral,
    ] {
        q.feature(kind);
    }
    allowed(&q.build());
}

// ---- columns ----

#[test]
fn staff_only_columns_are_denied_in_every_clause_and_depth() {
    for (column, clause, depth) in [
        ("email", Clause::Projection, 0),
        ("phone", Clause::Where, 0),
        ("email", Clause::FunctionArgument, 2),
        ("phone", Clause::OrderBy, 1),
        ("email", Clause::GroupBy, 1),
        ("phone", Clause::JoinOn, 0),
        ("email", Clause::Other, 3),
    ] {
        let mut q = QueryBuilder::select();
        let c = q.nested("consultants", "c", depth, BlockKind::ExpressionSubquery);
        q.column(c, "full_name", Clause::Projection);
        let id = q.column(c, column, clause);
        let denial = denied(&q.build(), "staff-only-column");
        assert_eq!(denial.code, "E-NOT-ALLOWED");
        assert_eq!(denial.at, Node::Column(id));
        assert!(denial.message.contains(&format!("consultants.{column}")));
        assert!(denial.hint.is_some());
    }
}

#[test]
fn a_customers_own_email_is_not_staff_only() {
    let mut q = QueryBuilder::select();
    let c = q.relation("customers");
    q.column(c, "email", Clause::Projection);
    q.column(c, "phone", Clause::Projection);
    allowed(&q.verified(3).build());
}

// ---- functions ----

#[test]
fn every_listed_function_is_allowed() {
    for name in FUNCTIONS {
        allowed(&calling(name, false));
        allowed(&calling(name, true));
    }
    for name in WINDOW_FUNCTIONS {
        allowed(&calling(name, true));
    }
}

#[test]
fn window_functions_need_over() {
    let denial = denied(&calling("row_number", false), "function");
    assert!(denial.hint.unwrap().contains("OVER"));
}

#[test]
fn dangerous_and_unknown_functions_are_denied() {
    for name in [
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_reload_conf",
        "pg_advisory_lock",
        "lo_import",
        "lo_export",
        "lo_get",
        "lo_from_bytea",
        "dblink",
        "dblink_exec",
        "dblink_connect",
        "set_config",
        "current_setting",
        "nextval",
        "setval",
        "currval",
        "lastval",
        "query_to_xml",
        "query_to_xml_and_xmlschema",
        "table_to_xml",
        "cursor_to_xml",
        "database_to_xml",
        "schema_to_xml",
        "txid_current",
        "txid_current_snapshot",
        "version",
        "current_user",
        "session_user",
        "current_database",
        "inet_server_addr",
        "repeat",
        "lpad",
        "rpad",
        "row_to_json",
        "to_jsonb",
        "json_agg",
        "format",
        "random",
        "md5",
        "convert_from",
        "has_table_privilege",
        "my_function",
        "",
    ] {
        let denial = denied(&calling(name, false), "function");
        assert_eq!(denial.code, "E-NOT-ALLOWED");
        assert_eq!(denial.at, Node::Function(0));
        assert!(denial.message.contains(name), "{}", denial.message);
        assert!(denial.hint.unwrap().contains("now"));
    }
}

#[test]
fn case_variants_and_padding_match_nothing() {
    for name in [
        "PG_SLEEP",
        "Pg_Read_File",
        "PG_CATALOG.PG_SLEEP",
        "NOW",
        "Count",
        "now ",
        " now",
        "now()",
        "lower\u{0}",
        "ℓower",
    ] {
        denied(&calling(name, false), "function");
    }
}

#[test]
fn schema_qualified_calls_are_denied_even_of_allowed_functions() {
    for (name, hint) in [
        ("pg_catalog.now", "Call now(…) without the schema."),
        ("public.lower", "Call lower(…) without the schema."),
        ("pg_catalog.count", "Call count(…) without the schema."),
        (
            "extensions.unaccent",
            "Call unaccent(…) without the schema.",
        ),
        (
            "pg_catalog.row_number",
            "Call row_number(…) without the schema.",
        ),
    ] {
        let denial = denied(&calling(name, true), "function");
        assert!(denial.message.contains("schema"), "{}", denial.message);
        assert_eq!(denial.hint.as_deref(), Some(hint));
    }
    for name in [
        "pg_catalog.pg_sleep",
        "pg_catalog.set_config",
        "public.dblink",
        "information_schema._pg_expandarray",
    ] {
        let denial = denied(&calling(name, false), "function");
        assert!(denial.hint.unwrap().starts_with("Use only these functions"));
    }
}

#[test]
fn no_listed_function_looks_like_a_system_one() {
    for name in FUNCTIONS.iter().chain(WINDOW_FUNCTIONS) {
        assert_eq!(name.to_lowercase(), *name);
        assert!(!name.contains('.'));
        for prefix in [
            "pg_",
            "lo_",
            "dblink",
            "txid",
            "set_",
            "current_setting",
            "nextval",
            "setval",
            "currval",
            "query_to",
        ] {
            assert!(!name.starts_with(prefix), "{name}");
        }
    }
}

// ---- everything at once ----

#[test]
fn every_problem_is_reported_and_each_rule_once() {
    let mut q = QueryBuilder::other("UPDATE");
    q.relation("tenants");
    q.relation("pg_shadow");
    let c = q.relation("consultants");
    q.column(c, "email", Clause::Projection);
    q.column(c, "phone", Clause::Projection);
    q.function("pg_sleep", 1, false);
    q.function("dblink", 2, false);
    q.feature(FeatureKind::LockingClause);
    let decision = evaluate(&q.build());
    assert_eq!(decision.denials.len(), 8);
    assert_eq!(
        decision.rules,
        vec![
            "allow-list/statement-kind",
            "allow-list/relation",
            "allow-list/feature",
            "allow-list/staff-only-column",
            "allow-list/function",
        ]
    );
}
