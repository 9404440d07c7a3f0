use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text, value};
use meetassist_policy_sdk::{BlockKind, Clause, FeatureKind, Literal, StatementKind};

/// The rewrites of an allowed decision, in the case files' form.
fn rewrites(query: &Query) -> Vec<String> {
    let decision = evaluate(query);
    assert!(decision.is_allowed(), "{decision:?}");
    decision
        .rewrites
        .iter()
        .map(|r| r.canonical(query))
        .collect()
}

fn codes_of(decision: &Decision) -> Vec<&str> {
    decision.denials.iter().map(|d| d.code.as_str()).collect()
}

fn booking() -> QueryBuilder {
    QueryBuilder::insert(
        "appointments",
        &[
            ("consultant_id", value(Literal::Integer(2))),
            ("starts_at", value(text("2026-12-01 09:30+07"))),
            ("ends_at", value(text("2026-12-01 10:30+07"))),
        ],
    )
}

#[test]
fn a_single_table_is_scoped() {
    let mut q = QueryBuilder::select();
    let c = q.relation("consultants");
    q.column(c, "full_name", Clause::Projection);
    let query = q.build();
    assert_eq!(rewrites(&query), ["scope consultants.tenant_id = tenant"]);
    let decision = evaluate(&query);
    assert_eq!(decision.rules, ["tenant-scope/scope-relation"]);
    assert_eq!(
        decision.rewrites,
        [Rewrite::AddScope(Scope {
            relation: 0,
            column: "tenant_id".into(),
            value: SessionValue::TenantId,
        })]
    );
}

#[test]
fn every_relation_at_every_depth_and_block_is_scoped() {
    let mut q = QueryBuilder::select();
    q.relation("consultants");
    q.nested("busy_slots", "b", 1, BlockKind::FromSubquery);
    q.nested("services", "s", 1, BlockKind::LateralSubquery);
    q.nested(
        "consultant_schedules",
        "cs",
        2,
        BlockKind::ExpressionSubquery,
    );
    q.nested("schedule_exceptions", "se", 1, BlockKind::Cte);
    q.nested("consultants", "c2", 0, BlockKind::SetOperationArm);
    q.nested("appointments", "a", 5, BlockKind::ExpressionSubquery);
    let mut query = q.verified(3).build();
    query.relations[1].nullable_side = true;
    assert_eq!(
        rewrites(&query),
        [
            "scope consultants.tenant_id = tenant",
            "scope b.tenant_id = tenant",
            "scope s.tenant_id = tenant",
            "scope cs.tenant_id = tenant",
            "scope se.tenant_id = tenant",
            "scope c2.tenant_id = tenant",
            "scope a.tenant_id = tenant",
        ]
    );
}

#[test]
fn the_same_table_twice_is_scoped_twice() {
    let mut q = QueryBuilder::select();
    q.nested("consultants", "a", 0, BlockKind::Top);
    q.nested("consultants", "b", 0, BlockKind::Top);
    assert_eq!(
        rewrites(&q.build()),
        ["scope a.tenant_id = tenant", "scope b.tenant_id = tenant"]
    );
}

#[test]
fn visitors_and_customers_of_any_tenant_get_the_same_scopes() {
    for (tenant, customer) in [(1, None), (1, Some(3)), (2, None), (2, Some(9))] {
        let mut q = QueryBuilder::select();
        q.tenant(tenant);
        if let Some(c) = customer {
            q.verified(c);
        }
        q.relation("customers");
        assert_eq!(rewrites(&q.build()), ["scope customers.tenant_id = tenant"]);
    }
}

#[test]
fn an_insert_forces_the_tenant_of_its_target() {
    let query = booking().verified(3).build();
    assert_eq!(rewrites(&query), ["force tenant_id = tenant"]);
    assert_eq!(evaluate(&query).rules, ["tenant-scope/force-tenant"]);
}

#[test]
fn an_insert_that_names_the_tenant_still_has_it_forced() {
    let mut q = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("tenant_id", value(Literal::Integer(2))),
            ("appointment_id", value(Literal::Integer(12))),
            ("action", value(text("cancel"))),
        ],
    );
    assert_eq!(
        rewrites(&q.verified(3).build()),
        ["force tenant_id = tenant"]
    );
}

#[test]
fn the_sources_of_an_insert_are_scoped_and_its_target_forced() {
    let mut q = booking();
    q.nested("consultants", "c", 1, BlockKind::ExpressionSubquery);
    q.nested("appointments", "mine", 2, BlockKind::ExpressionSubquery);
    q.feature(FeatureKind::InsertSelect);
    assert_eq!(
        rewrites(&q.verified(3).build()),
        [
            "force tenant_id = tenant",
            "scope c.tenant_id = tenant",
            "scope mine.tenant_id = tenant",
        ]
    );
}

#[test]
fn the_tenant_column_is_taken_from_the_description() {
    let mut q = QueryBuilder::select();
    q.relation("consultants");
    let mut query = q.build();
    query.relations[0].tenant_column = Some("org_id".into());
    assert_eq!(rewrites(&query), ["scope consultants.org_id = tenant"]);
}

#[test]
fn a_relation_without_a_tenant_column_is_denied_at_any_depth() {
    for (table, depth, block) in [
        ("tenants", 0, BlockKind::Top),
        ("pg_user", 2, BlockKind::ExpressionSubquery),
        ("staff_accounts", 1, BlockKind::Cte),
    ] {
        let mut q = QueryBuilder::select();
        q.relation("consultants");
        let id = q.nested(table, "t", depth, block);
        let decision = evaluate(&q.build());
        assert_eq!(codes_of(&decision), ["E-NOT-ALLOWED"]);
        assert_eq!(decision.denials[0].at, Node::Relation(id));
        assert!(decision.denials[0].message.contains(table));
        // The other relation is still scoped.
        assert_eq!(decision.rewrites.len(), 1);
        assert_eq!(
            decision.rules,
            [
                "tenant-scope/scope-relation",
                "tenant-scope/unscoped-relation"
            ]
        );
    }
}

#[test]
fn an_empty_tenant_column_counts_as_none() {
    let mut q = QueryBuilder::select();
    q.relation("services");
    let mut query = q.build();
    query.relations[0].tenant_column = Some(String::new());
    assert_eq!(codes_of(&evaluate(&query)), ["E-NOT-ALLOWED"]);
}

#[test]
fn an_insert_target_without_a_tenant_column_is_denied() {
    let mut query = booking().verified(3).build();
    query.relations[0].tenant_column = None;
    let decision = evaluate(&query);
    assert_eq!(codes_of(&decision), ["E-NOT-ALLOWED"]);
    assert!(decision.rewrites.is_empty());
}

#[test]
fn a_select_that_claims_an_insert_target_is_refused_and_still_scoped() {
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    let mut query = q.verified(3).build();
    query.relations[0].insert_target = true;
    let decision = evaluate(&query);
    assert_eq!(codes_of(&decision), ["E-INTERNAL"]);
    assert_eq!(
        decision
            .rewrites
            .iter()
            .map(|r| r.canonical(&query))
            .collect::<Vec<_>>(),
        ["scope appointments.tenant_id = tenant"]
    );
}

#[test]
fn contradictory_insert_descriptions_are_refused() {
    // INSERT without its insert record: nothing would be forced.
    let mut query = booking().build();
    query.insert = None;
    assert!(codes_of(&evaluate(&query)).contains(&"E-INTERNAL"));
    // The target is not marked as one.
    let mut query = booking().build();
    query.relations[0].insert_target = false;
    assert_eq!(codes_of(&evaluate(&query)), ["E-INTERNAL"]);
    // The target points nowhere.
    let mut query = booking().build();
    query.insert.as_mut().unwrap().target = 9;
    assert!(codes_of(&evaluate(&query)).contains(&"E-INTERNAL"));
    // A second relation marked as inserted into.
    let mut q = booking();
    q.relation("appointment_changes");
    let mut query = q.build();
    query.relations[1].insert_target = true;
    let decision = evaluate(&query);
    assert_eq!(codes_of(&decision), ["E-INTERNAL"]);
    assert_eq!(decision.denials[0].at, Node::Statement);
    assert_eq!(decision.rules[0], "tenant-scope/description");
    // Fail closed: both are scoped, neither is forced.
    assert_eq!(
        decision
            .rewrites
            .iter()
            .map(|r| r.canonical(&query))
            .collect::<Vec<_>>(),
        [
            "scope appointments.tenant_id = tenant",
            "scope appointment_changes.tenant_id = tenant"
        ]
    );
    // A SELECT with an insert record.
    let mut query = booking().build();
    query.kind = StatementKind::Select;
    assert!(codes_of(&evaluate(&query)).contains(&"E-INTERNAL"));
}

#[test]
fn other_statements_are_scoped_too() {
    let mut q = QueryBuilder::other("DELETE");
    q.relation("appointments");
    assert_eq!(
        rewrites(&q.build()),
        ["scope appointments.tenant_id = tenant"]
    );
}

#[test]
fn a_statement_without_relations_needs_nothing() {
    let mut q = QueryBuilder::select();
    q.function("now", 0, false);
    let decision = evaluate(&q.build());
    assert_eq!(decision, Decision::allow());
}
