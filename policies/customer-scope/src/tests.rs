use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text, value};
use meetassist_policy_sdk::{BlockKind, Clause, FeatureKind, StatementKind, TypedLiteral};

/// The rewrites of an allowed decision, in the case files' form.
fn rewrites(query: &Query) -> Vec<String> {
    let decision = evaluate(query);
    assert!(decision.is_allowed(), "{decision:?}");
    canonical(query, &decision)
}

fn canonical(query: &Query, decision: &Decision) -> Vec<String> {
    decision
        .rewrites
        .iter()
        .map(|r| r.canonical(query))
        .collect()
}

fn codes_of(decision: &Decision) -> Vec<&str> {
    decision.denials.iter().map(|d| d.code.as_str()).collect()
}

fn booking_with_status(status: InsertValue) -> QueryBuilder {
    QueryBuilder::insert(
        "appointments",
        &[
            ("consultant_id", value(Literal::Integer(2))),
            ("starts_at", value(text("2026-12-01 09:30+07"))),
            ("ends_at", value(text("2026-12-01 10:30+07"))),
            ("status", status),
        ],
    )
}

fn typed(type_name: &str, value: &str) -> Literal {
    Literal::Typed(TypedLiteral {
        type_name: type_name.into(),
        value: value.into(),
    })
}

// ---- reading ----

#[test]
fn a_customer_reads_only_their_own_private_rows() {
    for (table, expected) in [
        ("appointments", "scope appointments.customer_id = customer"),
        (
            "appointment_changes",
            "scope appointment_changes.customer_id = customer",
        ),
        ("customers", "scope customers.id = customer"),
    ] {
        let mut q = QueryBuilder::select();
        q.relation(table);
        let query = q.verified(3).build();
        assert_eq!(rewrites(&query), [expected]);
        assert_eq!(evaluate(&query).rules, ["customer-scope/scope-relation"]);
        assert_eq!(
            evaluate(&query).rewrites[0],
            Rewrite::AddScope(Scope {
                relation: 0,
                column: if table == "customers" {
                    "id"
                } else {
                    "customer_id"
                }
                .into(),
                value: SessionValue::CustomerId,
            })
        );
    }
}

#[test]
fn public_relations_are_left_alone() {
    let mut q = QueryBuilder::select();
    for table in [
        "consultants",
        "services",
        "consultant_schedules",
        "schedule_exceptions",
        "busy_slots",
    ] {
        q.relation(table);
    }
    let decision = evaluate(&q.verified(3).build());
    assert_eq!(decision, Decision::allow());
}

#[test]
fn access_decides_not_the_presence_of_an_owner_column() {
    let mut q = QueryBuilder::select();
    q.relation("busy_slots");
    let mut query = q.verified(3).build();
    query.relations[0].owner_column = Some("customer_id".into());
    assert_eq!(evaluate(&query), Decision::allow());
}

#[test]
fn private_relations_are_scoped_at_every_depth_and_block() {
    let mut q = QueryBuilder::select();
    let c = q.relation("consultants");
    q.column(c, "full_name", Clause::Projection);
    q.nested("appointments", "a", 0, BlockKind::Top);
    q.nested("appointments", "a2", 1, BlockKind::ExpressionSubquery);
    q.nested("customers", "me", 2, BlockKind::LateralSubquery);
    q.nested("appointment_changes", "ch", 1, BlockKind::Cte);
    q.nested("appointments", "u", 0, BlockKind::SetOperationArm);
    q.nested("appointments", "f", 3, BlockKind::FromSubquery);
    let mut query = q.verified(5).build();
    query.relations[1].nullable_side = true;
    assert_eq!(
        rewrites(&query),
        [
            "scope a.customer_id = customer",
            "scope a2.customer_id = customer",
            "scope me.id = customer",
            "scope ch.customer_id = customer",
            "scope u.customer_id = customer",
            "scope f.customer_id = customer",
        ]
    );
}

#[test]
fn a_visitor_gets_no_customer_scope() {
    // The verification policy refuses this; here there is nothing to add.
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    q.relation("customers");
    assert_eq!(evaluate(&q.build()), Decision::allow());
}

#[test]
fn the_owner_column_is_taken_from_the_description() {
    let mut q = QueryBuilder::select();
    q.relation("appointments");
    let mut query = q.verified(3).build();
    query.relations[0].owner_column = Some("owner_id".into());
    assert_eq!(rewrites(&query), ["scope appointments.owner_id = customer"]);
}

#[test]
fn a_private_relation_without_an_owner_column_is_denied_for_everyone() {
    for customer in [None, Some(3)] {
        for owner in [None, Some(String::new())] {
            let mut q = QueryBuilder::select();
            q.relation("consultants");
            let id = q.nested("appointments", "a", 2, BlockKind::ExpressionSubquery);
            if let Some(c) = customer {
                q.verified(c);
            }
            let mut query = q.build();
            query.relations[1].owner_column = owner.clone();
            let decision = evaluate(&query);
            assert_eq!(codes_of(&decision), ["E-NOT-ALLOWED"]);
            assert_eq!(decision.denials[0].at, Node::Relation(id));
            assert!(decision.denials[0].message.contains("\"appointments\""));
            assert_eq!(decision.rules, ["customer-scope/no-owner-column"]);
        }
    }
}

// ---- inserting ----

#[test]
fn a_booking_gets_the_customer_forced() {
    let query = QueryBuilder::insert(
        "appointments",
        &[
            ("consultant_id", value(Literal::Integer(2))),
            ("customer_id", value(Literal::Integer(7))),
            ("starts_at", value(text("2026-12-01 09:30+07"))),
        ],
    )
    .verified(3)
    .build();
    assert_eq!(rewrites(&query), ["force customer_id = customer"]);
    assert_eq!(evaluate(&query).rules, ["customer-scope/force-owner"]);
}

#[test]
fn a_change_gets_the_customer_forced_and_its_lookup_scoped() {
    let mut q = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("appointment_id", InsertValue::Expression),
            ("action", value(text("cancel"))),
        ],
    );
    q.nested("appointments", "a", 1, BlockKind::ExpressionSubquery);
    let query = q.verified(3).build();
    assert_eq!(
        rewrites(&query),
        [
            "force customer_id = customer",
            "scope a.customer_id = customer"
        ]
    );
    assert_eq!(
        evaluate(&query).rules,
        [
            "customer-scope/force-owner",
            "customer-scope/scope-relation"
        ]
    );
}

#[test]
fn a_visitors_insert_gets_nothing_forced() {
    let query = booking_with_status(InsertValue::Default).build();
    assert_eq!(evaluate(&query), Decision::allow());
}

#[test]
fn a_contradictory_insert_is_refused_and_everything_scoped() {
    let mut query = booking_with_status(InsertValue::Default)
        .verified(3)
        .build();
    query.kind = StatementKind::Select;
    let decision = evaluate(&query);
    assert_eq!(codes_of(&decision), ["E-INTERNAL"]);
    assert_eq!(
        canonical(&query, &decision),
        ["scope appointments.customer_id = customer"]
    );
}

// ---- the status of a new appointment ----

#[test]
fn pending_or_default_status_is_allowed() {
    for status in [
        value(text("pending")),
        InsertValue::Default,
        value(typed("appointment_status", "pending")),
        value(typed("APPOINTMENT_STATUS", "pending")),
    ] {
        let query = booking_with_status(status).verified(3).build();
        assert_eq!(rewrites(&query), ["force customer_id = customer"]);
    }
}

#[test]
fn any_other_status_is_denied() {
    for (status, shown) in [
        (value(text("confirmed")), "'confirmed'"),
        (value(text("completed")), "'completed'"),
        (value(text("cancelled")), "'cancelled'"),
        (value(text("Pending")), "'Pending'"),
        (value(text("PENDING")), "'PENDING'"),
        (value(text(" pending")), "' pending'"),
        (value(text("pending'; --")), "'pending''; --'"),
        (value(Literal::Null), "NULL"),
        (value(Literal::Integer(1)), "1"),
        (value(Literal::Boolean(true)), "TRUE"),
        (value(typed("text", "pending")), "text 'pending'"),
        (
            value(typed("appointment_status", "confirmed")),
            "appointment_status 'confirmed'",
        ),
        (InsertValue::Expression, "computes it with an expression"),
    ] {
        let query = booking_with_status(status).verified(3).build();
        let decision = evaluate(&query);
        assert_eq!(codes_of(&decision), ["E-NOT-ALLOWED"], "{shown}");
        let denial = &decision.denials[0];
        assert_eq!(denial.at, Node::InsertColumn("status".into()));
        assert!(denial.message.contains(shown), "{}", denial.message);
        assert!(denial.hint.as_deref().unwrap().contains("'pending'"));
        assert!(
            decision
                .rules
                .contains(&"customer-scope/status-pending".to_string())
        );
        // The customer is forced all the same.
        assert_eq!(
            canonical(&query, &decision),
            ["force customer_id = customer"]
        );
    }
}

#[test]
fn the_status_is_checked_for_visitors_too() {
    let query = booking_with_status(value(text("confirmed"))).build();
    assert_eq!(codes_of(&evaluate(&query)), ["E-NOT-ALLOWED"]);
}

#[test]
fn a_status_spelled_in_capitals_is_checked() {
    let query = QueryBuilder::insert("appointments", &[("STATUS", value(text("confirmed")))])
        .verified(3)
        .build();
    let decision = evaluate(&query);
    assert_eq!(codes_of(&decision), ["E-NOT-ALLOWED"]);
    assert_eq!(decision.denials[0].at, Node::InsertColumn("STATUS".into()));
}

#[test]
fn every_row_is_checked() {
    let mut query = booking_with_status(value(text("pending")))
        .verified(3)
        .build();
    let insert = query.insert.as_mut().unwrap();
    insert.rows = 2;
    for column in &mut insert.columns {
        let second = if column.column == "status" {
            value(text("confirmed"))
        } else {
            column.values[0].clone()
        };
        column.values.push(second);
    }
    assert_eq!(codes_of(&evaluate(&query)), ["E-NOT-ALLOWED"]);
}

#[test]
fn a_status_taken_from_a_query_is_denied() {
    let mut q = booking_with_status(InsertValue::Default);
    q.nested("appointments", "old", 0, BlockKind::Top);
    q.feature(FeatureKind::InsertSelect);
    let mut query = q.verified(3).build();
    let insert = query.insert.as_mut().unwrap();
    insert.rows = 0;
    for column in &mut insert.columns {
        column.values.clear();
    }
    let decision = evaluate(&query);
    assert_eq!(codes_of(&decision), ["E-NOT-ALLOWED"]);
    assert!(decision.denials[0].message.contains("from a query"));
    assert_eq!(
        canonical(&query, &decision),
        [
            "force customer_id = customer",
            "scope old.customer_id = customer"
        ]
    );
}

#[test]
fn other_tables_have_no_status_rule() {
    let query = QueryBuilder::insert(
        "appointment_changes",
        &[
            ("appointment_id", value(Literal::Integer(12))),
            ("action", value(text("reschedule"))),
            ("status", value(text("confirmed"))),
        ],
    )
    .verified(3)
    .build();
    assert!(evaluate(&query).is_allowed());
}
