use super::*;
use meetassist_policy_sdk::build::{QueryBuilder, text};
use meetassist_policy_sdk::{BlockKind, TypedLiteral};

fn compared(table: &str, column: &str, op: ComparisonOp, literals: Vec<Literal>) -> Query {
    let mut q = QueryBuilder::select();
    let r = q.relation(table);
    q.compare(r, column, op, literals);
    q.verified(3).build()
}

fn rewrites(query: &Query) -> Vec<String> {
    let decision = evaluate(query);
    assert!(decision.is_allowed(), "{decision:?}");
    decision
        .rewrites
        .iter()
        .map(|r| r.canonical(query))
        .collect()
}

#[test]
fn equality_on_a_name_becomes_accent_insensitive() {
    for name in ["Nguyen Van An", "nguyễn văn an", "Nguyễn Văn An", "an"] {
        let query = compared(
            "consultants",
            "full_name",
            ComparisonOp::Eq,
            vec![text(name)],
        );
        let decision = evaluate(&query);
        assert_eq!(decision.rewrites, [Rewrite::UnaccentIlike(0)]);
        assert_eq!(decision.rules, ["vietnamese-names/unaccent-ilike"]);
        assert!(decision.denials.is_empty());
        assert_eq!(rewrites(&query), ["unaccent-ilike consultants.full_name"]);
    }
}

#[test]
fn like_ilike_and_in_on_every_searchable_column_are_rewritten() {
    for (table, column) in [
        ("consultants", "full_name"),
        ("consultants", "specialty"),
        ("services", "name"),
        ("customers", "full_name"),
    ] {
        for (op, literals) in [
            (ComparisonOp::Like, vec![text("%Tuấn%")]),
            (ComparisonOp::Ilike, vec![text("%thue%")]),
            (ComparisonOp::InList, vec![text("An"), text("Ngọc")]),
        ] {
            let query = compared(table, column, op, literals);
            assert_eq!(
                rewrites(&query),
                [format!("unaccent-ilike {table}.{column}")]
            );
        }
    }
}

#[test]
fn negated_comparisons_stay_exact() {
    for (op, literals) in [
        (ComparisonOp::NotEq, vec![text("An")]),
        (ComparisonOp::NotLike, vec![text("%An%")]),
        (ComparisonOp::NotIlike, vec![text("%an%")]),
        (ComparisonOp::NotInList, vec![text("An"), text("Ngọc")]),
    ] {
        let query = compared("consultants", "full_name", op, literals);
        assert_eq!(evaluate(&query), Decision::allow());
    }
}

#[test]
fn other_operators_stay_exact() {
    for (op, literals) in [
        (ComparisonOp::Lt, vec![text("M")]),
        (ComparisonOp::GtEq, vec![text("M")]),
        (ComparisonOp::Between, vec![text("A"), text("M")]),
        (ComparisonOp::IsDistinctFrom, vec![text("An")]),
        (ComparisonOp::IsNotDistinctFrom, vec![text("An")]),
    ] {
        let query = compared("consultants", "full_name", op, literals);
        assert_eq!(evaluate(&query), Decision::allow());
    }
}

#[test]
fn non_text_or_blank_literals_stay_exact() {
    for literals in [
        vec![Literal::Null],
        vec![Literal::Integer(1)],
        vec![Literal::Boolean(true)],
        vec![Literal::Typed(TypedLiteral {
            type_name: "text".into(),
            value: "An".into(),
        })],
        vec![text("")],
        vec![text("   ")],
        vec![text("An"), text("")],
        vec![text("An"), Literal::Null],
        vec![],
    ] {
        let query = compared("consultants", "full_name", ComparisonOp::InList, literals);
        assert_eq!(evaluate(&query), Decision::allow());
    }
}

#[test]
fn columns_that_are_not_searchable_text_stay_exact() {
    for (table, column, literal) in [
        ("consultants", "email", text("an.nguyen@antam.example")),
        ("customers", "phone", text("+84 912 345 678")),
        ("appointments", "topic", text("thuế")),
        ("appointments", "status", text("pending")),
        ("schedule_exceptions", "reason", text("Nghỉ phép")),
        ("consultants", "id", Literal::Integer(1)),
    ] {
        let query = compared(table, column, ComparisonOp::Eq, vec![literal]);
        assert_eq!(evaluate(&query), Decision::allow(), "{table}.{column}");
    }
}

#[test]
fn name_searches_at_any_depth_are_rewritten_under_their_alias() {
    let mut q = QueryBuilder::select();
    let a = q.relation("appointments");
    q.compare(a, "starts_at", ComparisonOp::Gt, vec![text("2026-12-01")]);
    let c = q.nested("consultants", "c", 1, BlockKind::ExpressionSubquery);
    q.compare(c, "full_name", ComparisonOp::Eq, vec![text("Phuc")]);
    let s = q.nested("services", "s", 2, BlockKind::FromSubquery);
    q.compare(s, "name", ComparisonOp::Ilike, vec![text("%dinh cu%")]);
    q.compare(c, "full_name", ComparisonOp::NotEq, vec![text("Bao")]);
    let query = q.verified(3).build();
    let decision = evaluate(&query);
    assert_eq!(
        decision.rewrites,
        [Rewrite::UnaccentIlike(1), Rewrite::UnaccentIlike(2)]
    );
    assert_eq!(
        rewrites(&query),
        ["unaccent-ilike c.full_name", "unaccent-ilike s.name"]
    );
}

#[test]
fn a_comparison_of_an_undescribed_column_stays_exact() {
    let mut query = compared(
        "consultants",
        "full_name",
        ComparisonOp::Eq,
        vec![text("An")],
    );
    query.comparisons[0].column = 9;
    assert_eq!(evaluate(&query), Decision::allow());
}

#[test]
fn the_searchable_flag_is_taken_from_the_description() {
    let mut query = compared(
        "consultants",
        "bio",
        ComparisonOp::Like,
        vec![text("%thuế%")],
    );
    assert_eq!(evaluate(&query), Decision::allow());
    query.columns[0].column_type = ColumnType::Text(TextColumn { searchable: true });
    assert_eq!(rewrites(&query), ["unaccent-ilike consultants.bio"]);
}
