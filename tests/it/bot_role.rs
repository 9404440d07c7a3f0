//! `meetassist_bot`, the role model SQL runs as: SELECT and INSERT on the
//! model-visible tables and nothing else, and only the rows of the tenant
//! (and customer) set for the session.

use crate::support::{TestDatabase, bot_as, count, snapshot, sqlstate};

const INSUFFICIENT_PRIVILEGE: &str = "42501";
const RLS_VIOLATION: &str = "42501";

/// Demo data: tenant 1 `an-tam` has customers 1-8, tenant 2 `sao-mai` has
/// customers 9-10; customer 1 owns appointments of tenant 1.
const TENANT: i64 = 1;
const OTHER_TENANT: i64 = 2;
const CUSTOMER: i64 = 1;

#[tokio::test]
async fn writes_other_than_insert_and_ddl_are_refused() {
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    let before = snapshot(&owner).await;
    let bot = bot_as(&database, Some(TENANT), Some(CUSTOMER)).await;
    let refused = [
        "update appointments set status = 'cancelled'",
        "update consultants set full_name = 'x'",
        "delete from appointments",
        "delete from appointment_changes",
        "truncate appointments",
        "truncate tenants",
        "create table stolen (x int)",
        "create temporary table appointments (x int)",
        "create view v as select 1",
        "create function f() returns int language sql as 'select 1'",
        "alter table appointments add column x int",
        "drop table appointments",
        "drop view busy_slots",
        "create index on appointments (topic)",
        "grant select on tenants to meetassist_bot",
        "alter role meetassist_bot bypassrls",
        "alter table appointments disable row level security",
        "insert into tenants (slug, name) values ('evil', 'Evil')",
        "insert into consultants (tenant_id, full_name) values (1, 'x')",
        "insert into customers (tenant_id, full_name) values (1, 'x')",
        "insert into services (tenant_id, name, duration_minutes) values (1, 'x', 30)",
        "begin; lock table appointments in share mode; commit",
        "select * from appointments for update",
    ];
    for sql in refused {
        let error = bot.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&error), INSUFFICIENT_PRIVILEGE, "{sql}: {error:?}");
        // Ends the transaction the multi-statement case left aborted.
        bot.batch_execute("rollback").await.unwrap();
    }
    assert_eq!(
        snapshot(&owner).await,
        before,
        "refused statements changed nothing"
    );
}

#[tokio::test]
async fn internal_tables_and_staff_only_columns_are_unreadable() {
    let database = TestDatabase::seeded().await;
    let bot = bot_as(&database, Some(TENANT), Some(CUSTOMER)).await;
    for sql in [
        "select * from tenants",
        "select * from meetassist_migrations",
        "select email from consultants",
        "select phone from consultants",
        "select * from consultants",
    ] {
        let error = bot.query(sql, &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&error), INSUFFICIENT_PRIVILEGE, "{sql}");
    }
    // The columns that are not staff-only stay readable.
    assert_eq!(
        count(
            &bot,
            "select id, full_name, specialty, bio, is_active from consultants"
        )
        .await,
        6
    );
}

#[tokio::test]
async fn a_tenant_sees_only_its_own_rows() {
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    let visitor = bot_as(&database, Some(TENANT), None).await;
    let verified = bot_as(&database, Some(TENANT), Some(CUSTOMER)).await;
    for (table, columns) in [
        ("consultants", "id, tenant_id"),
        ("services", "*"),
        ("consultant_schedules", "*"),
        ("schedule_exceptions", "*"),
        ("busy_slots", "*"),
    ] {
        let sql = format!("select {columns} from {table}");
        let own = count(
            &owner,
            &format!("select 1 from {table} where tenant_id = {TENANT}"),
        )
        .await;
        let own = if table == "busy_slots" {
            count(&owner, &format!("select 1 from appointments where tenant_id = {TENANT} and status <> 'cancelled'")).await
        } else {
            own
        };
        assert!(
            own > 0,
            "the demo data has {table} rows for tenant {TENANT}"
        );
        for client in [&visitor, &verified] {
            assert_eq!(
                count(client, &sql).await,
                own,
                "{table}: all of tenant {TENANT}'s rows"
            );
            let foreign = format!("select 1 from {table} where tenant_id <> {TENANT}");
            assert_eq!(
                count(client, &foreign).await,
                0,
                "{table}: none of another tenant's"
            );
        }
    }
}

#[tokio::test]
async fn customer_data_is_visible_only_to_that_verified_customer() {
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    let visitor = bot_as(&database, Some(TENANT), None).await;
    let verified = bot_as(&database, Some(TENANT), Some(CUSTOMER)).await;
    let own_appointments = count(
        &owner,
        &format!(
            "select 1 from appointments where tenant_id = {TENANT} and customer_id = {CUSTOMER}"
        ),
    )
    .await;
    assert!(own_appointments > 0);
    assert_eq!(
        count(&verified, "select * from appointments").await,
        own_appointments
    );
    assert_eq!(
        count(
            &verified,
            &format!("select 1 from appointments where customer_id <> {CUSTOMER}")
        )
        .await,
        0
    );
    let ids: Vec<i64> = verified
        .query("select id from customers", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        ids,
        [CUSTOMER],
        "a customer reads only their own customer row"
    );
    for table in ["customers", "appointments", "appointment_changes"] {
        assert_eq!(
            count(&visitor, &format!("select * from {table}")).await,
            0,
            "a visitor reads no {table}"
        );
    }
    // A customer id of another tenant shows nothing either.
    let crossed = bot_as(&database, Some(TENANT), Some(9)).await;
    assert_eq!(count(&crossed, "select * from customers").await, 0);
    assert_eq!(count(&crossed, "select * from appointments").await, 0);
}

#[tokio::test]
async fn with_no_tenant_set_nothing_is_visible() {
    let database = TestDatabase::seeded().await;
    let nobody = bot_as(&database, None, None).await;
    let only_customer = bot_as(&database, None, Some(CUSTOMER)).await;
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
        let sql = if table == "consultants" {
            "select id from consultants".to_string()
        } else {
            format!("select * from {table}")
        };
        assert_eq!(count(&nobody, &sql).await, 0, "{table} with nothing set");
        assert_eq!(
            count(&only_customer, &sql).await,
            0,
            "{table} with a customer but no tenant"
        );
    }
}

#[tokio::test]
async fn transaction_local_settings_end_with_the_transaction() {
    let database = TestDatabase::seeded().await;
    let mut bot = database.bot().await;
    let transaction = bot.transaction().await.unwrap();
    transaction
        .execute("select set_config('meetassist.tenant_id', '1', true)", &[])
        .await
        .unwrap();
    assert!(count(&transaction, "select * from services").await > 0);
    transaction.commit().await.unwrap();
    assert_eq!(
        count(&bot, "select * from services").await,
        0,
        "the setting ended with the transaction"
    );
}

#[tokio::test]
async fn inserts_are_forced_to_the_session_tenant_and_customer() {
    let database = TestDatabase::seeded().await;
    let owner = database.owner().await;
    let before = snapshot(&owner).await;
    let bot = bot_as(&database, Some(TENANT), Some(CUSTOMER)).await;
    let attempts = [
        // Another tenant's consultant and customer, in the other tenant.
        format!(
            "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
             values ({OTHER_TENANT}, 7, 9, '2027-02-01 09:00+07', '2027-02-01 10:00+07')"
        ),
        // This tenant, another customer.
        "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
         values (1, 1, 2, '2027-02-01 09:00+07', '2027-02-01 10:00+07')"
            .to_string(),
        // Status other than pending.
        "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at, status)
         values (1, 1, 1, '2027-02-01 09:00+07', '2027-02-01 10:00+07', 'confirmed')"
            .to_string(),
        // A change for another tenant.
        format!(
            "insert into appointment_changes (tenant_id, appointment_id, customer_id, action)
             values ({OTHER_TENANT}, 17, 9, 'cancel')"
        ),
    ];
    for sql in &attempts {
        let error = bot.execute(sql.as_str(), &[]).await.expect_err(sql);
        assert_eq!(sqlstate(&error), RLS_VIOLATION, "{sql}: {error:?}");
    }
    // Choosing the id is not the bot's to do.
    let error = bot
        .execute(
            "insert into appointments (id, tenant_id, consultant_id, customer_id, starts_at, ends_at)
             values (999, 1, 1, 1, '2027-02-01 09:00+07', '2027-02-01 10:00+07')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), INSUFFICIENT_PRIVILEGE);
    assert_eq!(
        snapshot(&owner).await,
        before,
        "refused inserts changed nothing"
    );

    // The allowed booking goes through, with a generated id and `pending`.
    let row = bot
        .query_one(
            "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at, topic)
             values (1, 1, 1, '2027-02-01 09:00+07', '2027-02-01 10:00+07', 'test')
             returning id, status::text",
            &[],
        )
        .await
        .unwrap();
    let id: i64 = row.get(0);
    let status: String = row.get(1);
    assert!(id > 19, "a fresh id after the seeded ones, got {id}");
    assert_eq!(status, "pending");
}

#[tokio::test]
async fn a_bot_insert_skips_ids_taken_by_explicit_inserts() {
    // Fixtures load rows with explicit ids without moving the sequence; a
    // booking made afterwards must not collide with them.
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    owner
        .batch_execute(
            "insert into tenants (id, slug, name) values (1, 't', 'T');
             insert into consultants (id, tenant_id, full_name) values (1, 1, 'C');
             insert into customers (id, tenant_id, full_name) values (1, 1, 'K');
             insert into appointments (id, tenant_id, consultant_id, customer_id, starts_at, ends_at)
             values (1, 1, 1, 1, '2027-01-04 09:00+07', '2027-01-04 10:00+07'),
                    (2, 1, 1, 1, '2027-01-04 10:00+07', '2027-01-04 11:00+07');",
        )
        .await
        .unwrap();
    let bot = bot_as(&database, Some(1), Some(1)).await;
    let id: i64 = bot
        .query_one(
            "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
             values (1, 1, 1, '2027-01-05 09:00+07', '2027-01-05 10:00+07') returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, 3);
}
