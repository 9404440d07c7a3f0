use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text, value};
use meetassist_policy_sdk::{BlockKind, FeatureKind, Literal};

fn capped() -> Decision {
    Decision {
        denials: vec![],
        rewrites: vec![Rewrite::CapLimit(100)],
        rules: vec!["row-limit/cap-limit".to_string()],
    }
}

#[test]
fn the_cap_is_one_hundred() {
    assert_eq!(MAX_ROWS, 100);
}

#[test]
fn a_select_without_a_limit_is_capped() {
    let mut q = QueryBuilder::select();
    q.relation("busy_slots");
    let query = q.build();
    assert_eq!(evaluate(&query), capped());
    assert_eq!(
        evaluate(&query).rewrites[0].canonical(&query),
        "cap-limit 100"
    );
}

#[test]
fn a_select_with_any_limit_is_capped_all_the_same() {
    for limit in [0, 1, 10, 99, 100, 101, 1000, u64::MAX] {
        let mut q = QueryBuilder::select();
        q.relation("consultants");
        q.limit(limit);
        assert_eq!(evaluate(&q.build()), capped(), "LIMIT {limit}");
    }
}

#[test]
fn visitors_customers_and_every_shape_of_select_are_capped() {
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    q.nested("appointments", "u", 0, BlockKind::SetOperationArm);
    q.feature(FeatureKind::SetOperation);
    assert_eq!(evaluate(&q.build()), capped());
    assert_eq!(evaluate(&q.verified(3).build()), capped());
    // A SELECT of no table (`SELECT now()`) too.
    assert_eq!(evaluate(&QueryBuilder::select().build()), capped());
}

#[test]
fn inserts_are_not_capped() {
    let q = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("appointment_id", value(Literal::Integer(12))),
            ("action", value(text("cancel"))),
        ],
    );
    assert_eq!(evaluate(&q.build()), Decision::allow());
}

#[test]
fn other_statements_are_not_capped() {
    for keywords in ["UPDATE", "DELETE", "SET"] {
        let mut q = QueryBuilder::other(keywords);
        q.relation("appointments");
        assert_eq!(evaluate(&q.build()), Decision::allow());
    }
}
