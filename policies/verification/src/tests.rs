use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text, value};
use meetassist_policy_sdk::{BlockKind, Clause, Literal};

fn denials_at(decision: &Decision) -> Vec<(&str, Node)> {
    decision
        .denials
        .iter()
        .map(|d| (d.code.as_str(), d.at.clone()))
        .collect()
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
fn a_visitor_reads_public_relations() {
    let mut q = QueryBuilder::select();
    for table in [
        "consultants",
        "services",
        "consultant_schedules",
        "schedule_exceptions",
        "busy_slots",
    ] {
        let id = q.relation(table);
        q.column(id, "tenant_id", Clause::Where);
    }
    q.nested("busy_slots", "b", 2, BlockKind::ExpressionSubquery);
    assert_eq!(evaluate(&q.build()), Decision::allow());
}

#[test]
fn a_visitor_cannot_read_private_relations_at_any_depth() {
    for (table, depth, block) in [
        ("appointments", 0, BlockKind::Top),
        ("customers", 0, BlockKind::Top),
        ("appointment_changes", 0, BlockKind::Top),
        ("appointments", 1, BlockKind::ExpressionSubquery),
        ("appointments", 1, BlockKind::Cte),
        ("customers", 3, BlockKind::LateralSubquery),
        ("appointments", 0, BlockKind::SetOperationArm),
        ("appointments", 2, BlockKind::FromSubquery),
    ] {
        let mut q = QueryBuilder::select();
        q.relation("consultants");
        let id = q.nested(table, "x", depth, block);
        let decision = evaluate(&q.build());
        assert_eq!(
            denials_at(&decision),
            [("E-NOT-VERIFIED", Node::Relation(id))]
        );
        let denial = &decision.denials[0];
        assert!(
            denial.message.contains(table) && denial.message.contains("verify their email first"),
            "{}",
            denial.message
        );
        assert!(denial.hint.as_deref().unwrap().contains("one-time code"));
        assert_eq!(decision.rules, ["verification/private-relation"]);
        assert!(decision.rewrites.is_empty());
    }
}

#[test]
fn every_private_relation_is_named() {
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    q.nested("customers", "c", 1, BlockKind::ExpressionSubquery);
    let decision = evaluate(&q.build());
    assert_eq!(
        denials_at(&decision),
        [
            ("E-NOT-VERIFIED", Node::Relation(0)),
            ("E-NOT-VERIFIED", Node::Relation(1))
        ]
    );
    assert_eq!(decision.rules, ["verification/private-relation"]);
}

#[test]
fn a_visitor_cannot_book() {
    let decision = evaluate(&booking().build());
    assert_eq!(denials_at(&decision), [("E-NOT-VERIFIED", Node::Statement)]);
    assert!(decision.denials[0].message.starts_with("Booking"));
    assert!(
        decision.denials[0]
            .message
            .contains("verify their email first")
    );
    assert_eq!(decision.rules, ["verification/write"]);
}

#[test]
fn a_visitor_cannot_cancel_nor_look_up_what_to_cancel() {
    let mut q = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("appointment_id", value(Literal::Integer(12))),
            ("action", value(text("cancel"))),
        ],
    );
    q.nested("appointments", "a", 1, BlockKind::ExpressionSubquery);
    let decision = evaluate(&q.build());
    assert_eq!(
        denials_at(&decision),
        [
            ("E-NOT-VERIFIED", Node::Statement),
            ("E-NOT-VERIFIED", Node::Relation(1))
        ]
    );
    assert_eq!(
        decision.rules,
        ["verification/write", "verification/private-relation"]
    );
}

#[test]
fn a_visitor_cannot_run_other_statements() {
    for keywords in ["UPDATE", "DELETE", "SET", "COPY"] {
        let mut q = QueryBuilder::other(keywords);
        q.relation("consultants");
        let decision = evaluate(&q.build());
        assert_eq!(denials_at(&decision), [("E-NOT-VERIFIED", Node::Statement)]);
    }
}

#[test]
fn a_select_described_as_writing_is_refused_for_a_visitor() {
    // an insert record on a SELECT
    let mut query = booking().build();
    query.kind = meetassist_policy_sdk::StatementKind::Select;
    assert_eq!(
        denials_at(&evaluate(&query)),
        [("E-NOT-VERIFIED", Node::Statement)]
    );
    // an insert target on a SELECT, on a public relation
    let mut q = QueryBuilder::select();
    q.relation("consultants");
    let mut query = q.build();
    query.relations[0].insert_target = true;
    assert_eq!(
        denials_at(&evaluate(&query)),
        [("E-NOT-VERIFIED", Node::Statement)]
    );
}

#[test]
fn a_verified_customer_passes_untouched() {
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    q.nested("customers", "c", 1, BlockKind::ExpressionSubquery);
    assert_eq!(evaluate(&q.verified(3).build()), Decision::allow());
    assert_eq!(evaluate(&booking().verified(3).build()), Decision::allow());
}

#[test]
fn the_tenant_does_not_matter() {
    let mut q = QueryBuilder::select();
    q.tenant(2);
    q.relation("customers");
    assert_eq!(evaluate(&q.build()).denials.len(), 1);
    q.verified(9);
    assert_eq!(evaluate(&q.build()), Decision::allow());
}
