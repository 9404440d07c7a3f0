use super::*;
use crate::build::{QueryBuilder, text, value};

#[test]
fn rule_ids_are_module_slash_rule() {
    assert_eq!(
        rule_id("tenant-scope", "scope-relation"),
        "tenant-scope/scope-relation"
    );
}

#[test]
fn the_builder_names_each_rule_once_in_firing_order() {
    let mut b = DecisionBuilder::new("m");
    b.rewrite("b", Rewrite::CapLimit(5));
    b.deny("a", Denial::new(codes::NOT_ALLOWED, "no", Node::Statement));
    b.rewrite("b", Rewrite::CapLimit(5));
    b.rewrite("b", Rewrite::CapLimit(6));
    b.fired("c");
    let d = b.finish();
    assert_eq!(d.rules, ["m/b", "m/a", "m/c"]);
    assert_eq!(d.rewrites, [Rewrite::CapLimit(5), Rewrite::CapLimit(6)]);
    assert!(!d.is_allowed());
    assert!(Decision::allow().is_allowed());
}

#[test]
fn denials_carry_code_message_hint_and_node() {
    let d = Denial::new(codes::ENUM_LABEL, "bad", Node::Comparison(2)).with_hint("try");
    assert_eq!(d.code, "E-ENUM-LABEL");
    assert_eq!(d.message, "bad");
    assert_eq!(d.hint.as_deref(), Some("try"));
    assert_eq!(d.at, Node::Comparison(2));
}

#[test]
fn lookups_by_id_refuse_ids_that_disagree_with_their_index() {
    let mut q = QueryBuilder::select();
    let r = q.relation("consultants");
    q.compare(r, "full_name", ComparisonOp::Eq, vec![text("An")]);
    let mut query = q.build();
    assert_eq!(
        query.relation(0).map(|r| r.table.as_str()),
        Some("consultants")
    );
    assert!(query.column(0).is_some());
    assert!(query.comparison(0).is_some());
    assert!(query.relation(1).is_none());
    assert!(query.relation(u32::MAX).is_none());
    query.relations[0].id = 3;
    assert!(query.relation(0).is_none());
    assert!(query.relation(3).is_none());
}

#[test]
fn the_insert_target_must_be_described_consistently() {
    let booking = QueryBuilder::insert("appointments", &[("topic", value(text("x")))]).build();
    assert_eq!(booking.insert_target(), Ok(Some(0)));
    assert_eq!(QueryBuilder::select().build().insert_target(), Ok(None));

    let mut q = booking.clone();
    q.insert = None;
    assert!(q.insert_target().is_err());
    let mut q = booking.clone();
    q.kind = StatementKind::Select;
    assert!(q.insert_target().is_err());
    let mut q = booking.clone();
    q.relations[0].insert_target = false;
    assert!(q.insert_target().is_err());
    let mut q = booking.clone();
    q.insert.as_mut().unwrap().target = 4;
    assert!(q.insert_target().is_err());
    let mut q = booking.clone();
    q.relations.push(build::demo_relation(
        1,
        "appointments",
        "a",
        1,
        BlockKind::Cte,
    ));
    q.relations[1].insert_target = true;
    assert!(q.insert_target().is_err());
    let mut q = QueryBuilder::select().build();
    q.relations.push(build::demo_relation(
        0,
        "appointments",
        "a",
        0,
        BlockKind::Top,
    ));
    q.relations[0].insert_target = true;
    assert!(q.insert_target().is_err());
}

#[test]
fn rewrites_have_a_canonical_one_line_form() {
    let mut q = QueryBuilder::select();
    let a = q.nested("appointments", "a", 0, BlockKind::Top);
    let c = q.nested("consultants", "c", 1, BlockKind::ExpressionSubquery);
    q.compare(c, "full_name", ComparisonOp::Eq, vec![text("An")]);
    let query = q.build();
    let forms: Vec<String> = [
        Rewrite::AddScope(Scope {
            relation: a,
            column: "tenant_id".into(),
            value: SessionValue::TenantId,
        }),
        Rewrite::AddScope(Scope {
            relation: a,
            column: "customer_id".into(),
            value: SessionValue::CustomerId,
        }),
        Rewrite::ForceInsert(ForcedValue {
            column: "customer_id".into(),
            value: SessionValue::CustomerId,
        }),
        Rewrite::UnaccentIlike(0),
        Rewrite::CapLimit(100),
        Rewrite::AddScope(Scope {
            relation: 9,
            column: "tenant_id".into(),
            value: SessionValue::TenantId,
        }),
        Rewrite::UnaccentIlike(9),
    ]
    .iter()
    .map(|r| r.canonical(&query))
    .collect();
    assert_eq!(
        forms,
        [
            "scope a.tenant_id = tenant",
            "scope a.customer_id = customer",
            "force customer_id = customer",
            "unaccent-ilike c.full_name",
            "cap-limit 100",
            "scope #9.tenant_id = tenant",
            "unaccent-ilike #9",
        ]
    );
}

#[test]
fn literals_display_as_sql() {
    let shown: Vec<String> = [
        Literal::Null,
        Literal::Boolean(true),
        Literal::Integer(-4),
        Literal::Number("1e3".into()),
        text("it's"),
        Literal::Typed(TypedLiteral {
            type_name: "date".into(),
            value: "2026-12-01".into(),
        }),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        shown,
        ["NULL", "TRUE", "-4", "1e3", "'it''s'", "date '2026-12-01'"]
    );
}

#[test]
fn the_demo_catalog_matches_the_schema_contract() {
    let private = ["customers", "appointments", "appointment_changes"];
    for table in [
        "consultants",
        "services",
        "consultant_schedules",
        "schedule_exceptions",
        "busy_slots",
        "customers",
        "appointments",
        "appointment_changes",
    ] {
        let r = build::demo_relation(0, table, table, 0, BlockKind::Top);
        assert_eq!(r.tenant_column.as_deref(), Some("tenant_id"));
        assert_eq!(
            r.access == Access::CustomerPrivate,
            private.contains(&table),
            "{table}"
        );
        assert_eq!(r.owner_column.is_some(), private.contains(&table));
        assert_eq!(r.is_view, table == "busy_slots");
    }
    assert!(build::demo_column("consultants", "email").1);
    assert!(build::demo_column("consultants", "phone").1);
    assert!(!build::demo_column("customers", "email").1);
}
