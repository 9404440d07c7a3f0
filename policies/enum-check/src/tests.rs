use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text, value};
use meetassist_policy_sdk::{BlockKind, TypedLiteral};

const STATUS_LABELS: &str = "'pending', 'confirmed', 'cancelled', 'completed', 'no_show'";

fn status_compared(op: ComparisonOp, literals: Vec<Literal>) -> Query {
    let mut q = QueryBuilder::select();
    let a = q.relation("appointments");
    q.compare(a, "status", op, literals);
    q.verified(3).build()
}

fn typed(type_name: &str, value: &str) -> Literal {
    Literal::Typed(TypedLiteral {
        type_name: type_name.into(),
        value: value.into(),
    })
}

fn only_denial(query: &Query, rule: &str) -> Denial {
    let decision = evaluate(query);
    assert_eq!(decision.denials.len(), 1, "{decision:?}");
    assert_eq!(decision.rules, [format!("enum-check/{rule}")]);
    assert!(decision.rewrites.is_empty());
    let denial = decision.denials[0].clone();
    assert_eq!(denial.code, "E-ENUM-LABEL");
    denial
}

fn labels_of(list: &[&str]) -> Vec<String> {
    list.iter().map(|l| l.to_string()).collect()
}

// ---- comparisons ----

#[test]
fn every_label_passes_with_every_operator() {
    for label in ["pending", "confirmed", "cancelled", "completed", "no_show"] {
        for op in [
            ComparisonOp::Eq,
            ComparisonOp::NotEq,
            ComparisonOp::Lt,
            ComparisonOp::LtEq,
            ComparisonOp::Gt,
            ComparisonOp::GtEq,
            ComparisonOp::InList,
            ComparisonOp::NotInList,
            ComparisonOp::IsDistinctFrom,
            ComparisonOp::IsNotDistinctFrom,
        ] {
            assert_eq!(
                evaluate(&status_compared(op, vec![text(label)])),
                Decision::allow()
            );
        }
    }
    let between = status_compared(
        ComparisonOp::Between,
        vec![text("pending"), text("cancelled")],
    );
    assert_eq!(evaluate(&between), Decision::allow());
}

#[test]
fn a_literal_typed_as_the_enum_is_checked_as_its_text() {
    let ok = status_compared(
        ComparisonOp::Eq,
        vec![typed("appointment_status", "cancelled")],
    );
    assert_eq!(evaluate(&ok), Decision::allow());
    let bad = status_compared(
        ComparisonOp::Eq,
        vec![typed("appointment_status", "canceled")],
    );
    let denial = only_denial(&bad, "label");
    assert!(denial.message.contains("canceled"));
}

#[test]
fn a_misspelled_label_is_denied_with_the_labels_and_a_suggestion() {
    for (written, meant) in [
        ("canceled", "cancelled"),
        ("Cancelled", "cancelled"),
        ("CANCELLED", "cancelled"),
        ("cancel", "cancelled"),
        ("cancelled ", "cancelled"),
        ("no show", "no_show"),
        ("No-Show", "no_show"),
        ("noshow", "no_show"),
        ("pendng", "pending"),
        ("Pending", "pending"),
        ("confirm", "confirmed"),
        ("comfirmed", "confirmed"),
        ("complete", "completed"),
    ] {
        let query = status_compared(ComparisonOp::Eq, vec![text(written)]);
        let denial = only_denial(&query, "label");
        assert_eq!(denial.at, Node::Comparison(0));
        assert!(
            denial.message.contains(&format!("'{written}'"))
                && denial.message.contains("appointment_status")
                && denial.message.contains("appointments.status"),
            "{}",
            denial.message
        );
        assert_eq!(
            denial.hint.as_deref(),
            Some(
                format!(
                    "Did you mean '{meant}'? The labels of appointment_status are \
                     {STATUS_LABELS}."
                )
                .as_str()
            ),
        );
    }
}

#[test]
fn a_stranger_gets_the_labels_without_a_guess() {
    for written in [
        "booked",
        "đã hủy",
        "",
        "x",
        "'; DROP TABLE appointments; --",
        "co",
    ] {
        let query = status_compared(ComparisonOp::Eq, vec![text(written)]);
        let denial = only_denial(&query, "label");
        assert_eq!(
            denial.hint.as_deref(),
            Some(format!("The labels of appointment_status are {STATUS_LABELS}.").as_str()),
            "{written}"
        );
    }
}

#[test]
fn each_bad_literal_of_a_list_is_denied() {
    let query = status_compared(
        ComparisonOp::InList,
        vec![text("pending"), text("Confirmed"), text("done")],
    );
    let decision = evaluate(&query);
    assert_eq!(decision.denials.len(), 2);
    assert!(decision.denials[0].message.contains("'Confirmed'"));
    assert!(decision.denials[1].message.contains("'done'"));
    assert_eq!(decision.rules, ["enum-check/label"]);

    let query = status_compared(
        ComparisonOp::NotBetween,
        vec![text("pending"), text("complete")],
    );
    assert_eq!(evaluate(&query).denials.len(), 1);
}

#[test]
fn non_text_literals_are_denied() {
    for literal in [
        Literal::Integer(1),
        Literal::Number("2.5".into()),
        Literal::Boolean(false),
        typed("text", "cancelled"),
        typed("change_action", "cancel"),
        typed("date", "2026-12-01"),
    ] {
        let query = status_compared(ComparisonOp::Eq, vec![literal.clone()]);
        let denial = only_denial(&query, "literal-type");
        assert!(
            denial.message.contains(&literal.to_string()),
            "{}",
            denial.message
        );
        assert!(denial.hint.unwrap().contains(STATUS_LABELS));
    }
}

#[test]
fn null_is_denied_with_a_hint_at_is_null() {
    let query = status_compared(ComparisonOp::Eq, vec![Literal::Null]);
    let denial = only_denial(&query, "literal-type");
    assert!(denial.hint.unwrap().contains("appointments.status IS NULL"));
}

#[test]
fn patterns_are_denied() {
    for op in [
        ComparisonOp::Like,
        ComparisonOp::Ilike,
        ComparisonOp::NotLike,
        ComparisonOp::NotIlike,
    ] {
        let query = status_compared(op, vec![text("cancel%")]);
        let denial = only_denial(&query, "pattern");
        assert!(denial.hint.unwrap().contains(STATUS_LABELS));
    }
}

#[test]
fn enum_comparisons_are_checked_at_any_depth_and_under_their_alias() {
    let mut q = QueryBuilder::select();
    q.relation("consultants");
    let a = q.nested("appointments", "a", 2, BlockKind::ExpressionSubquery);
    q.compare(a, "status", ComparisonOp::NotEq, vec![text("canceled")]);
    let c = q.nested("appointment_changes", "ch", 1, BlockKind::Cte);
    q.compare(c, "action", ComparisonOp::Eq, vec![text("Reschedule")]);
    let decision = evaluate(&q.verified(3).build());
    assert_eq!(decision.denials.len(), 2);
    assert!(decision.denials[0].message.contains("a.status"));
    assert_eq!(decision.denials[1].at, Node::Comparison(1));
    assert_eq!(
        decision.denials[1].hint.as_deref(),
        Some(
            "Did you mean 'reschedule'? The labels of change_action are 'cancel', \
             'reschedule'."
        )
    );
}

#[test]
fn other_columns_are_not_this_policys_business() {
    let mut q = QueryBuilder::select();
    let c = q.relation("consultants");
    q.compare(c, "full_name", ComparisonOp::Eq, vec![text("cancelled")]);
    q.compare(c, "id", ComparisonOp::Eq, vec![Literal::Integer(1)]);
    let a = q.relation("appointments");
    q.compare(a, "topic", ComparisonOp::Like, vec![text("%thuế%")]);
    q.compare(a, "starts_at", ComparisonOp::Gt, vec![Literal::Null]);
    assert_eq!(evaluate(&q.build()), Decision::allow());
}

#[test]
fn a_comparison_of_an_undescribed_column_is_refused() {
    let mut query = status_compared(ComparisonOp::Eq, vec![text("pending")]);
    query.comparisons[0].column = 42;
    let decision = evaluate(&query);
    assert_eq!(decision.denials[0].code, "E-INTERNAL");
    assert_eq!(decision.rules, ["enum-check/description"]);
}

#[test]
fn an_enum_without_labels_accepts_nothing() {
    let mut query = status_compared(ComparisonOp::Eq, vec![text("pending")]);
    if let ColumnType::Enumeration(e) = &mut query.columns[0].column_type {
        e.labels.clear();
    }
    let denial = only_denial(&query, "label");
    assert!(denial.hint.unwrap().contains("(none)"));
}

#[test]
fn labels_are_compared_exactly_even_when_they_differ_only_in_case() {
    let mut query = status_compared(ComparisonOp::Eq, vec![text("a")]);
    if let ColumnType::Enumeration(e) = &mut query.columns[0].column_type {
        e.labels = labels_of(&["A", "a"]);
    }
    assert_eq!(evaluate(&query), Decision::allow());
}

// ---- inserts ----

#[test]
fn inserted_labels_are_checked() {
    let ok = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("appointment_id", value(Literal::Integer(12))),
            ("action", value(text("reschedule"))),
            ("new_starts_at", value(text("2026-12-02 14:00+07"))),
        ],
    )
    .verified(3)
    .build();
    assert_eq!(evaluate(&ok), Decision::allow());

    for (action, rule, hint_start) in [
        ("Cancel", "insert-label", "Did you mean 'cancel'?"),
        ("cancelled", "insert-label", "Did you mean 'cancel'?"),
        ("hủy", "insert-label", "The labels of change_action"),
    ] {
        let query = QueryBuilder::insert(
            "appointment_changes",
            &[
                ("appointment_id", value(Literal::Integer(12))),
                ("action", value(text(action))),
            ],
        )
        .verified(3)
        .build();
        let denial = only_denial(&query, rule);
        assert_eq!(denial.at, Node::InsertColumn("action".into()));
        assert!(
            denial.hint.as_deref().unwrap().starts_with(hint_start),
            "{action}: {:?}",
            denial.hint
        );
    }
}

#[test]
fn inserted_non_text_literals_are_denied_and_expressions_left_to_the_database() {
    for (status, expected) in [
        (value(Literal::Integer(0)), Some("literal-type")),
        (value(Literal::Null), Some("literal-type")),
        (value(typed("appointment_status", "pending")), None),
        (
            value(typed("appointment_status", "Pending")),
            Some("insert-label"),
        ),
        (InsertValue::Default, None),
        (InsertValue::Expression, None),
    ] {
        let query = QueryBuilder::insert("appointments", &[("status", status)])
            .verified(3)
            .build();
        match expected {
            Some(rule) => {
                only_denial(&query, rule);
            }
            None => assert_eq!(evaluate(&query), Decision::allow()),
        }
    }
}

#[test]
fn every_row_of_an_insert_is_checked() {
    let mut query =
        QueryBuilder::insert("appointment_changes", &[("action", value(text("cancel")))]).build();
    let insert = query.insert.as_mut().unwrap();
    insert.rows = 3;
    insert.columns[0].values = vec![
        value(text("cancel")),
        value(text("reschedule")),
        value(text("delete")),
    ];
    assert_eq!(evaluate(&query).denials.len(), 1);
}

// ---- suggestions ----

#[test]
fn suggestions_are_unambiguous_or_absent() {
    let labels = labels_of(&["pending", "confirmed", "cancelled", "completed", "no_show"]);
    assert_eq!(suggestion("co", &labels), None); // too short for a prefix
    assert_eq!(suggestion("comp", &labels), Some("completed"));
    assert_eq!(suggestion("c", &labels), None);
    assert_eq!(suggestion("", &labels), None);
    let close = labels_of(&["ab_x", "ab_y"]);
    assert_eq!(suggestion("ab_z", &close), None); // one edit from both
    assert_eq!(suggestion("ab", &close), None); // a prefix of both
    assert_eq!(suggestion("AB_X", &close), Some("ab_x"));
    assert_eq!(suggestion("anything", &[]), None);
}

#[test]
fn edit_distance_counts_characters_not_bytes() {
    assert_eq!(edit_distance("hủy", "huy"), 1);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}
