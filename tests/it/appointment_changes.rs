//! Cancel and reschedule happen by inserting an `appointment_changes` row
//! as the bot; the database applies it only to the customer's own open
//! appointment, and otherwise refuses and changes nothing.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use crate::support::{TestDatabase, bot_as, snapshot, sqlstate};

const NOT_YOURS: &str = "MA001";
const CLOSED: &str = "MA002";
const EXCLUSION_VIOLATION: &str = "23P01";
const FOREIGN_KEY: &str = "23503";

/// Two tenants; customers 1 and 2 in tenant 1, customer 3 in tenant 2;
/// appointments 1 and 2 (customer 1), 3 (customer 2), 4 (customer 3),
/// 5 (customer 1, completed).
async fn fixture() -> (TestDatabase, Client) {
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    owner
        .batch_execute(
            "insert into tenants (id, slug, name) values (1, 'one', 'One'), (2, 'two', 'Two');
             insert into consultants (id, tenant_id, full_name) values (1, 1, 'An'), (2, 2, 'Bình');
             insert into customers (id, tenant_id) values (1, 1), (2, 1), (3, 2);
             insert into appointments (id, tenant_id, consultant_id, customer_id, starts_at, ends_at, status) values
                 (1, 1, 1, 1, '2027-03-01 09:00+07', '2027-03-01 10:30+07', 'confirmed'),
                 (2, 1, 1, 1, '2027-03-02 09:00+07', '2027-03-02 10:00+07', 'pending'),
                 (3, 1, 1, 2, '2027-03-01 14:00+07', '2027-03-01 15:00+07', 'pending'),
                 (4, 2, 2, 3, '2027-03-01 09:00+07', '2027-03-01 10:00+07', 'pending'),
                 (5, 1, 1, 1, '2026-03-01 09:00+07', '2026-03-01 10:00+07', 'completed');",
        )
        .await
        .unwrap();
    (database, owner)
}

async fn appointment(owner: &Client, id: i64) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let row = owner
        .query_one(
            "select status::text, starts_at, ends_at from appointments where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_customer_cancels_their_own_appointment() {
    let (database, owner) = fixture().await;
    let bot = bot_as(&database, Some(1), Some(1)).await;
    bot.execute(
        "insert into appointment_changes (tenant_id, appointment_id, customer_id, action, reason)
         values (1, 2, 1, 'cancel', 'bận việc')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(appointment(&owner, 2).await.0, "cancelled");
    assert_eq!(
        appointment(&owner, 1).await.0,
        "confirmed",
        "only that appointment"
    );

    // Cancelling it again is refused: it is closed now.
    let error = bot
        .execute(
            "insert into appointment_changes (tenant_id, appointment_id, customer_id, action) values (1, 2, 1, 'cancel')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), CLOSED);
}

#[tokio::test]
async fn another_customers_or_tenants_appointment_is_refused_and_unchanged() {
    let (database, owner) = fixture().await;
    let before = snapshot(&owner).await;
    let bot = bot_as(&database, Some(1), Some(1)).await;
    let attempts = [
        // Customer 2's appointment, claimed as customer 1's change.
        ("insert into appointment_changes (tenant_id, appointment_id, customer_id, action) values (1, 3, 1, 'cancel')", NOT_YOURS),
        (
            "insert into appointment_changes (tenant_id, appointment_id, customer_id, action, new_starts_at)
             values (1, 3, 1, 'reschedule', '2027-03-05 09:00+07')",
            NOT_YOURS,
        ),
        // Tenant 2's appointment named from tenant 1: the composite foreign
        // key does not find appointment 4 in tenant 1.
        ("insert into appointment_changes (tenant_id, appointment_id, customer_id, action) values (1, 4, 1, 'cancel')", FOREIGN_KEY),
        // A completed appointment.
        ("insert into appointment_changes (tenant_id, appointment_id, customer_id, action) values (1, 5, 1, 'cancel')", CLOSED),
        // A reschedule without a time, a cancel with one.
        ("insert into appointment_changes (tenant_id, appointment_id, customer_id, action) values (1, 2, 1, 'reschedule')", "23514"),
        (
            "insert into appointment_changes (tenant_id, appointment_id, customer_id, action, new_starts_at)
             values (1, 2, 1, 'cancel', '2027-03-05 09:00+07')",
            "23514",
        ),
    ];
    for (sql, code) in attempts {
        let error = bot.execute(sql, &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&error), code, "{sql}: {error:?}");
    }
    // The same, attempted by the owner of appointment 3's tenant but as
    // another tenant's session: row security refuses it first.
    let other_tenant = bot_as(&database, Some(2), Some(3)).await;
    let error = other_tenant
        .execute(
            "insert into appointment_changes (tenant_id, appointment_id, customer_id, action) values (1, 3, 2, 'cancel')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501");
    assert_eq!(snapshot(&owner).await, before, "nothing changed");
}

#[tokio::test]
async fn a_reschedule_moves_the_same_appointment_and_keeps_its_length() {
    let (database, owner) = fixture().await;
    let bot = bot_as(&database, Some(1), Some(1)).await;
    bot.execute(
        "insert into appointment_changes (tenant_id, appointment_id, customer_id, action, new_starts_at)
         values (1, 1, 1, 'reschedule', '2027-03-04 13:15+07')",
        &[],
    )
    .await
    .unwrap();
    let (status, starts_at, ends_at) = appointment(&owner, 1).await;
    assert_eq!(status, "confirmed");
    assert_eq!(starts_at, at("2027-03-04T13:15:00+07:00"));
    assert_eq!(
        ends_at,
        at("2027-03-04T14:45:00+07:00"),
        "90 minutes, as before"
    );
}

#[tokio::test]
async fn a_reschedule_into_an_overlap_is_refused_and_unchanged() {
    let (database, owner) = fixture().await;
    let before = snapshot(&owner).await;
    let bot = bot_as(&database, Some(1), Some(1)).await;
    // Appointment 1 (90 min) moved to 13:00 would run into customer 2's
    // 14:00 booking with the same consultant.
    let error = bot
        .execute(
            "insert into appointment_changes (tenant_id, appointment_id, customer_id, action, new_starts_at)
             values (1, 1, 1, 'reschedule', '2027-03-01 13:00+07')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), EXCLUSION_VIOLATION);
    assert!(
        error.as_db_error().unwrap().message().contains("overlaps"),
        "{error:?}"
    );
    assert_eq!(
        snapshot(&owner).await,
        before,
        "neither the change row nor the appointment was written"
    );

    // Moving it onto its own current time slot overlaps nothing but itself.
    bot.execute(
        "insert into appointment_changes (tenant_id, appointment_id, customer_id, action, new_starts_at)
         values (1, 1, 1, 'reschedule', '2027-03-01 09:30+07')",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        appointment(&owner, 1).await.1,
        at("2027-03-01T09:30:00+07:00")
    );
}
