//! Many customers book overlapping times with one consultant at the same
//! instant, each on their own connection as the bot: the exclusion
//! constraint lets exactly one through and gives the rest a conflict.

use std::sync::Arc;

use tokio::sync::Barrier;

use crate::support::{TestDatabase, bot_as, message, sqlstate};

const RACERS: i64 = 24;
const EXCLUSION_VIOLATION: &str = "23P01";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_many_overlapping_bookings_wins() {
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    let mut fixture = String::from(
        "insert into tenants (id, slug, name) values (1, 'race', 'Race');
         insert into consultants (id, tenant_id, full_name) values (1, 1, 'Nguyễn Văn An');",
    );
    for customer in 1..=RACERS {
        fixture.push_str(&format!(
            "insert into customers (id, tenant_id, full_name) values ({customer}, 1, 'Khách {customer}');"
        ));
    }
    owner.batch_execute(&fixture).await.unwrap();

    // Every racer connects first, then all insert at once.
    let barrier = Arc::new(Barrier::new(RACERS as usize));
    let mut racers = Vec::new();
    for customer in 1..=RACERS {
        let bot = bot_as(&database, Some(1), Some(customer)).await;
        // The racers queue on the constraint's lock one after another; on
        // a busy CI machine (2 cores, the other tests running) the last
        // may wait longer than the bot's 5 s default. The outcome, not
        // the speed, is what this test is about.
        bot.batch_execute("set statement_timeout = '60s'")
            .await
            .unwrap();
        let barrier = barrier.clone();
        racers.push(tokio::spawn(async move {
            // Start times differ by a few minutes: every pair still overlaps.
            let starts_minute = 15 * (customer % 3);
            barrier.wait().await;
            bot.query_one(
                "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
                 values (1, 1, $1, '2027-03-01 09:00+07'::timestamptz + make_interval(mins => $2::int),
                                   '2027-03-01 10:00+07'::timestamptz + make_interval(mins => $2::int))
                 returning id",
                &[&customer, &(starts_minute as i32)],
            )
            .await
        }));
    }
    let mut winners = 0;
    let mut losers = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => winners += 1,
            Err(error) => {
                assert_eq!(sqlstate(&error), EXCLUSION_VIOLATION, "{error:?}");
                assert!(
                    message(&error).contains("appointments_no_overlap"),
                    "{error:?}"
                );
                losers += 1;
            }
        }
    }
    assert_eq!((winners, losers), (1, RACERS - 1));
    let booked: i64 = owner
        .query_one("select count(*) from appointments", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(booked, 1);
}

#[tokio::test]
async fn touching_and_cancelled_bookings_do_not_conflict() {
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    owner
        .batch_execute(
            "insert into tenants (id, slug, name) values (1, 't', 'T');
             insert into consultants (id, tenant_id, full_name) values (1, 1, 'A'), (2, 1, 'B');
             insert into customers (id, tenant_id) values (1, 1);
             insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at, status) values
                 (1, 1, 1, '2027-03-01 09:00+07', '2027-03-01 10:00+07', 'pending'),
                 (1, 1, 1, '2027-03-01 10:00+07', '2027-03-01 11:00+07', 'pending'),
                 (1, 1, 1, '2027-03-01 10:30+07', '2027-03-01 11:30+07', 'cancelled'),
                 (1, 2, 1, '2027-03-01 09:00+07', '2027-03-01 10:00+07', 'pending');",
        )
        .await
        .expect("back-to-back, cancelled and other consultants' bookings coexist");
    let error = owner
        .execute(
            "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at, status)
             values (1, 1, 1, '2027-03-01 10:59+07', '2027-03-01 11:30+07', 'completed')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        sqlstate(&error),
        EXCLUSION_VIOLATION,
        "any non-cancelled status blocks the slot"
    );
}
