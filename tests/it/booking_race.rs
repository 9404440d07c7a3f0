//! Many customers book overlapping times with one consultant at the same
//! instant, each on their own connection as the bot: the exclusion
//! constraint lets exactly one through. Raw, a loser gets a conflict or,
//! when two inserts each wait for the other on the constraint, a deadlock
//! (PostgreSQL documents both); through the guard's executor, which runs a
//! deadlock's loser again, every loser gets `E-CONFLICT`.

use std::sync::Arc;
use std::time::Duration;

use meetassist_compiler::describe::Session;
use meetassist_runtime::guard::execute::{ExecuteError, ExecuteOptions, Executor};
use tokio::sync::Barrier;

use crate::support::{TestDatabase, bot_as, message, sqlstate};

const RACERS: i64 = 24;
const EXCLUSION_VIOLATION: &str = "23P01";
const DEADLOCK: &str = "40P01";

/// One tenant, one consultant and a customer for each racer.
async fn race_fixture(owner: &tokio_postgres::Client) {
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
}

async fn booked(owner: &tokio_postgres::Client) -> i64 {
    owner
        .query_one("select count(*) from appointments", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_of_many_overlapping_bookings_wins() {
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    race_fixture(&owner).await;

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
            Err(error) if sqlstate(&error) == DEADLOCK => losers += 1,
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
    assert_eq!(booked(&owner).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn through_the_guard_every_loser_is_told_the_slot_is_taken() {
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    race_fixture(&owner).await;
    let guard = meetassist_runtime::testing::guard();
    let executor = Arc::new(
        Executor::connect(
            &database.bot_url(),
            ExecuteOptions {
                // As above: the outcome, not the speed, is under test.
                statement_timeout: Duration::from_secs(60),
                time_zone: "Asia/Ho_Chi_Minh".into(),
                pool_size: RACERS as usize,
            },
        )
        .await
        .unwrap(),
    );
    // Open every connection first, so the racers start together.
    let mut warm = Vec::new();
    for _ in 0..RACERS {
        warm.push(executor.pool().get().await.unwrap());
    }
    drop(warm);

    let barrier = Arc::new(Barrier::new(RACERS as usize));
    let mut racers = Vec::new();
    for customer in 1..=RACERS {
        let session = Session {
            tenant_id: 1,
            customer_id: Some(customer),
        };
        let minute = 15 * (customer % 3);
        let sql = format!(
            "INSERT INTO appointments (consultant_id, starts_at, ends_at) \
             VALUES (1, '2027-03-01 09:{minute:02}+07', '2027-03-01 10:{minute:02}+07') RETURNING id"
        );
        let (compiled, _audit) = guard.compile(&sql, session);
        let compiled = compiled.unwrap_or_else(|d| panic!("{sql}: {d:?}"));
        let (executor, barrier) = (executor.clone(), barrier.clone());
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            executor.run(&compiled, session).await
        }));
    }
    let mut winners = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(rows) => {
                assert_eq!(rows.len(), 1, "RETURNING id gives the booking");
                winners += 1;
            }
            Err(ExecuteError::Refused(diagnostic)) => {
                assert_eq!(diagnostic.code, "E-CONFLICT", "{diagnostic:?}")
            }
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(booked(&owner).await, 1);
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

/// A deadlock made on purpose: an outside transaction holds 09:00-10:00,
/// the bot's booking of 09:30-10:30 waits for it, then the outside
/// transaction books 10:00-11:00 and so waits for the bot. PostgreSQL
/// aborts the bot's statement (its deadlock check comes first); run again,
/// it waits once more and, the outside transaction committed, is told the
/// slot is taken: `E-CONFLICT`, never the deadlock itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_booking_that_loses_a_deadlock_is_run_again() {
    for in_callers_transaction in [false, true] {
        let database = TestDatabase::migrated().await;
        let owner = database.owner().await;
        race_fixture(&owner).await;
        // The bot checks for a deadlock after 2 s of waiting, the outside
        // transaction never: the bot is always the one aborted, and the
        // outside transaction has 2 s to close the cycle.
        owner
            .batch_execute(&format!(
                "alter database {} set deadlock_timeout = '2s'",
                database.name
            ))
            .await
            .unwrap();
        let guard = meetassist_runtime::testing::guard();
        let executor = Executor::connect(&database.bot_url(), ExecuteOptions::default())
            .await
            .unwrap();
        let session = Session {
            tenant_id: 1,
            customer_id: Some(1),
        };
        let (compiled, _audit) = guard.compile(
            "INSERT INTO appointments (consultant_id, starts_at, ends_at) \
             VALUES (1, '2027-03-01 09:30+07', '2027-03-01 10:30+07')",
            session,
        );
        let compiled = compiled.unwrap();

        let mut outside = database.owner().await;
        let outside = outside.transaction().await.unwrap();
        outside
            .batch_execute(
                "set local deadlock_timeout = '1h';
                 insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
                 values (1, 1, 2, '2027-03-01 09:00+07', '2027-03-01 10:00+07')",
            )
            .await
            .unwrap();

        let booking = tokio::spawn(async move {
            if in_callers_transaction {
                let mut client = executor.pool().get().await.unwrap();
                let mut transaction = client.transaction().await.unwrap();
                let outcome = executor.run_in(&mut transaction, &compiled, session).await;
                transaction.commit().await.unwrap();
                outcome
            } else {
                executor.run(&compiled, session).await
            }
        });
        // Wait until the bot waits for the outside transaction.
        let mut waited = 0;
        while count_waiting(&owner).await == 0 {
            assert!(waited < 200, "the booking never waited");
            waited += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        outside
            .execute(
                "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
                 values (1, 1, 3, '2027-03-01 10:00+07', '2027-03-01 11:00+07')",
                &[],
            )
            .await
            .unwrap();
        outside.commit().await.unwrap();

        match booking.await.unwrap() {
            Err(ExecuteError::Refused(diagnostic)) => {
                assert_eq!(diagnostic.code, "E-CONFLICT", "{diagnostic:?}")
            }
            other => panic!("expected E-CONFLICT, got {other:?}"),
        }
        assert_eq!(booked(&owner).await, 2, "the outside transaction's two");
    }
}

async fn count_waiting(owner: &tokio_postgres::Client) -> i64 {
    owner
        .query_one(
            "select count(*) from pg_stat_activity
             where datname = current_database() and wait_event_type = 'Lock'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}
