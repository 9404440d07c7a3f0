//! Email verification with one-time codes, on a real PostgreSQL: every
//! number the product promises (6 digits, 5-minute expiry, single use, 5
//! wrong attempts, 15 s cooldown, 5 sends an hour, 3600 s block of the
//! email and the sender), also under concurrent requests; sender links
//! that end after 30 days; the outbox's `.eml` files; the secret file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use meetassist_runtime::identity::{
    BadCode, BadEmail, CodeIssued, EmailAddress, IdentityError, Language, Mailer, Otp, OtpCode,
    OtpConfig, OtpEmail, OtpRefusal, OtpSecret, Outbox, SecretError, Verified, create_customer,
    customer_by_email, link_sender, linked_customer, otp_email,
};
use tokio_postgres::Client;

use crate::support::{TestDatabase, count, sqlstate};

const TENANT: i64 = 1;
const OTHER_TENANT: i64 = 2;
const SECRET: &str = "4d656574417373697374206f74702074657374207365637265742c2033322b21";

/// Monday 5 January 2026, 09:00 in Ho Chi Minh City.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 2, 0, 0).unwrap()
}

fn secs(seconds: i64) -> TimeDelta {
    TimeDelta::seconds(seconds)
}

fn otp() -> Otp {
    Otp::new(OtpSecret::parse(SECRET).unwrap(), OtpConfig::default())
}

/// A migrated database with two tenants, and an owner connection to it.
async fn database() -> (TestDatabase, Client) {
    let database = TestDatabase::migrated().await;
    let owner = database.owner().await;
    owner
        .batch_execute(
            "insert into tenants (id, slug, name) values (1, 'an-tam', 'An Tâm'), (2, 'sao-mai', 'Sao Mai')",
        )
        .await
        .unwrap();
    (database, owner)
}

/// `request_code` in a transaction of its own, committed.
async fn request(
    otp: &Otp,
    client: &mut Client,
    sender: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<CodeIssued, OtpRefusal> {
    let transaction = client.transaction().await.unwrap();
    let answer = otp
        .request_code(&transaction, TENANT, sender, email, now)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    answer
}

/// `verify_code` in a transaction of its own, committed whatever it says
/// (as the engine must: a wrong attempt is written by the call).
async fn verify(
    otp: &Otp,
    client: &mut Client,
    sender: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Verified, OtpRefusal> {
    let transaction = client.transaction().await.unwrap();
    let answer = otp
        .verify_code(&transaction, TENANT, sender, code, now)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    answer
}

/// A six-digit code that is not `code`.
fn wrong(code: &OtpCode) -> String {
    let number: u32 = code.reveal().parse().unwrap();
    format!("{:06}", (number + 1) % 1_000_000)
}

#[tokio::test]
async fn codes_are_six_random_digits_stored_only_as_an_hmac() {
    // Leading zeros are kept: one draw in ten starts with 0, so 300 draws
    // without one would be a broken generator (odds 2e-14).
    let codes: Vec<String> = (0..300)
        .map(|_| OtpCode::generate().unwrap().reveal().to_string())
        .collect();
    assert!(
        codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(
        codes.iter().any(|c| c.starts_with('0')),
        "leading zeros occur"
    );

    let (_database, mut owner) = database().await;
    let otp = otp();
    let issued = request(&otp, &mut owner, "psid-an", "An.Nguyen@Example.COM", t0())
        .await
        .unwrap();
    let code = issued.code.reveal().to_string();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(issued.email.as_str(), "an.nguyen@example.com");
    assert_eq!(issued.expires_at, t0() + TimeDelta::minutes(5));
    assert!(
        !format!("{issued:?}").contains(&code),
        "Debug redacts the code"
    );

    let row = owner
        .query_one(
            "select t::text, length(code_hmac), email, created_at, expires_at, wrong_attempts, consumed_at is null
             from otp_challenges t",
            &[],
        )
        .await
        .unwrap();
    let whole: String = row.get(0);
    assert!(
        !whole.contains(&code),
        "the code is nowhere in the row: {whole}"
    );
    assert_eq!(row.get::<_, i32>(1), 32, "an HMAC-SHA256");
    assert_eq!(row.get::<_, String>(2), "an.nguyen@example.com");
    assert_eq!(row.get::<_, DateTime<Utc>>(3), t0());
    assert_eq!(row.get::<_, DateTime<Utc>>(4), t0() + TimeDelta::minutes(5));
    assert_eq!(row.get::<_, i32>(5), 0);
    assert!(row.get::<_, bool>(6));
}

#[tokio::test]
async fn the_right_code_verifies_once() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    let issued = request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    // Typed with a space in the middle, as people do.
    let typed = format!(
        "{} {}",
        &issued.code.reveal()[..3],
        &issued.code.reveal()[3..]
    );
    let verified = verify(&otp, &mut owner, "psid-an", &typed, t0() + secs(30))
        .await
        .unwrap();
    assert_eq!(verified.email.as_str(), "an@example.com");
    assert_eq!(verified.challenge, issued.challenge);
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            issued.code.reveal(),
            t0() + secs(31)
        )
        .await,
        Err(OtpRefusal::NoCode),
        "a code is used once"
    );
    // Another sender cannot use someone else's code.
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-bo",
            issued.code.reveal(),
            t0() + secs(32)
        )
        .await,
        Err(OtpRefusal::NoCode)
    );
}

#[tokio::test]
async fn a_code_expires_at_exactly_five_minutes() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    let first = request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    let second = request(&otp, &mut owner, "psid-bo", "bo@example.com", t0())
        .await
        .unwrap();
    assert!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            first.code.reveal(),
            t0() + secs(299)
        )
        .await
        .is_ok(),
        "4:59 is in time"
    );
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-bo",
            second.code.reveal(),
            t0() + secs(300)
        )
        .await,
        Err(OtpRefusal::Expired),
        "5:00 is too late"
    );
}

#[tokio::test]
async fn five_wrong_codes_block_the_email_and_the_sender_for_an_hour() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    // Another sender asked for a code to the same email before the block.
    let other = request(&otp, &mut owner, "psid-bo", "an@example.com", t0())
        .await
        .unwrap();
    let issued = request(
        &otp,
        &mut owner,
        "psid-an",
        "an@example.com",
        t0() + secs(20),
    )
    .await
    .unwrap();
    let bad = wrong(&issued.code);
    for (attempt, left) in [(1, 4), (2, 3), (3, 2), (4, 1)] {
        assert_eq!(
            verify(&otp, &mut owner, "psid-an", &bad, t0() + secs(30 + attempt)).await,
            Err(OtpRefusal::Wrong {
                attempts_left: left
            }),
            "attempt {attempt}"
        );
    }
    let blocked_at = t0() + secs(40);
    let until = blocked_at + secs(3600);
    assert_eq!(
        verify(&otp, &mut owner, "psid-an", &bad, blocked_at).await,
        Err(OtpRefusal::Blocked { until }),
        "the fifth wrong code blocks"
    );
    let later = blocked_at + secs(60);
    assert_eq!(
        verify(&otp, &mut owner, "psid-an", issued.code.reveal(), later).await,
        Err(OtpRefusal::Blocked { until }),
        "even the right code is refused while blocked"
    );
    // The email is blocked for every sender ...
    assert_eq!(
        request(&otp, &mut owner, "psid-cu", "AN@example.com", later)
            .await
            .unwrap_err(),
        OtpRefusal::Blocked { until }
    );
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-bo",
            other.code.reveal(),
            t0() + secs(200)
        )
        .await,
        Err(OtpRefusal::Blocked { until }),
        "a code sent to the blocked email before the block is refused too"
    );
    // ... and the sender for every email.
    assert_eq!(
        request(&otp, &mut owner, "psid-an", "an.other@example.com", later)
            .await
            .unwrap_err(),
        OtpRefusal::Blocked { until }
    );
    let blocks: Vec<(String, DateTime<Utc>)> = owner
        .query(
            "select kind || ':' || value, blocked_until from otp_limits
             where blocked_until is not null order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        blocks,
        [
            ("email:an@example.com".to_string(), until),
            ("sender:psid-an".to_string(), until)
        ]
    );
    let wrong_attempts: i32 = owner
        .query_one(
            "select wrong_attempts from otp_challenges where id = $1",
            &[&issued.challenge],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong_attempts, 5, "refused attempts are not counted");
}

#[tokio::test]
async fn the_block_lifts_after_3600_seconds() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    let issued = request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    let bad = wrong(&issued.code);
    for _ in 0..5 {
        let _ = verify(&otp, &mut owner, "psid-an", &bad, t0() + secs(10)).await;
    }
    let until = t0() + secs(10 + 3600);
    assert_eq!(
        request(
            &otp,
            &mut owner,
            "psid-an",
            "an@example.com",
            until - secs(1)
        )
        .await
        .unwrap_err(),
        OtpRefusal::Blocked { until }
    );
    let again = request(&otp, &mut owner, "psid-an", "an@example.com", until)
        .await
        .expect("the block has lifted");
    // The count started again: one wrong code leaves four attempts.
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            &wrong(&again.code),
            until + secs(5)
        )
        .await,
        Err(OtpRefusal::Wrong { attempts_left: 4 })
    );
    assert!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            again.code.reveal(),
            until + secs(6)
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn a_new_code_does_not_reset_the_failure_count() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    let first = request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    for (at, left) in [(1, 4), (2, 3), (3, 2)] {
        assert_eq!(
            verify(
                &otp,
                &mut owner,
                "psid-an",
                &wrong(&first.code),
                t0() + secs(at)
            )
            .await,
            Err(OtpRefusal::Wrong {
                attempts_left: left
            })
        );
    }
    let second = request(
        &otp,
        &mut owner,
        "psid-an",
        "an@example.com",
        t0() + secs(20),
    )
    .await
    .unwrap();
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            &wrong(&second.code),
            t0() + secs(21)
        )
        .await,
        Err(OtpRefusal::Wrong { attempts_left: 1 }),
        "the new code starts where the old one stopped"
    );
    assert_eq!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            &wrong(&second.code),
            t0() + secs(22)
        )
        .await,
        Err(OtpRefusal::Blocked {
            until: t0() + secs(22 + 3600)
        })
    );
}

#[tokio::test]
async fn codes_are_sent_at_most_every_15_seconds() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    assert_eq!(
        request(
            &otp,
            &mut owner,
            "psid-an",
            "an@example.com",
            t0() + secs(14)
        )
        .await
        .unwrap_err(),
        OtpRefusal::Cooldown {
            retry_at: t0() + secs(15)
        }
    );
    // Another email does not get round the sender's cooldown ...
    assert_eq!(
        request(
            &otp,
            &mut owner,
            "psid-an",
            "bo@example.com",
            t0() + secs(14)
        )
        .await
        .unwrap_err(),
        OtpRefusal::Cooldown {
            retry_at: t0() + secs(15)
        }
    );
    // ... nor another sender the email's.
    assert_eq!(
        request(
            &otp,
            &mut owner,
            "psid-bo",
            "an@example.com",
            t0() + secs(14)
        )
        .await
        .unwrap_err(),
        OtpRefusal::Cooldown {
            retry_at: t0() + secs(15)
        }
    );
    let second = request(
        &otp,
        &mut owner,
        "psid-an",
        "an@example.com",
        t0() + secs(15),
    )
    .await
    .expect("15 s later");
    assert_eq!(count(&owner, "select * from otp_challenges").await, 2);
    assert!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            second.code.reveal(),
            t0() + secs(16)
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn the_sixth_code_in_an_hour_is_refused() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    for send in 0..5 {
        request(
            &otp,
            &mut owner,
            "psid-an",
            "an@example.com",
            t0() + secs(15 * send),
        )
        .await
        .unwrap_or_else(|refusal| panic!("send {}: {refusal}", send + 1));
    }
    let hour_after_first = t0() + secs(3600);
    assert_eq!(
        request(
            &otp,
            &mut owner,
            "psid-an",
            "an@example.com",
            t0() + secs(75)
        )
        .await
        .unwrap_err(),
        OtpRefusal::TooManySends {
            retry_at: hour_after_first
        }
    );
    assert_eq!(
        request(
            &otp,
            &mut owner,
            "psid-an",
            "an@example.com",
            hour_after_first - secs(1)
        )
        .await
        .unwrap_err(),
        OtpRefusal::TooManySends {
            retry_at: hour_after_first
        }
    );
    request(
        &otp,
        &mut owner,
        "psid-an",
        "an@example.com",
        hour_after_first,
    )
    .await
    .expect("the first send has left the hour");
    assert_eq!(count(&owner, "select * from otp_challenges").await, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_guesses_count_at_most_five() {
    const GUESSERS: usize = 12;
    let (database, mut owner) = database().await;
    let otp = otp();
    let issued = request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    let bad = wrong(&issued.code);
    let mut clients = Vec::new();
    for _ in 0..GUESSERS {
        clients.push(database.owner().await);
    }
    let guesses = clients.into_iter().map(|mut client| {
        let otp = otp.clone();
        let bad = bad.clone();
        tokio::spawn(
            async move { verify(&otp, &mut client, "psid-an", &bad, t0() + secs(30)).await },
        )
    });
    let answers: Vec<Result<Verified, OtpRefusal>> = futures_util::future::join_all(guesses)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    let wrongs = answers
        .iter()
        .filter(|a| matches!(a, Err(OtpRefusal::Wrong { .. })))
        .count();
    let blocked = answers
        .iter()
        .filter(|a| matches!(a, Err(OtpRefusal::Blocked { .. })))
        .count();
    assert_eq!((wrongs, blocked), (4, GUESSERS - 4), "{answers:?}");
    let mut left: Vec<u32> = answers
        .iter()
        .filter_map(|a| match a {
            Err(OtpRefusal::Wrong { attempts_left }) => Some(*attempts_left),
            _ => None,
        })
        .collect();
    left.sort();
    assert_eq!(left, [1, 2, 3, 4], "each guess saw the ones before it");
    let wrong_attempts: i32 = owner
        .query_one("select wrong_attempts from otp_challenges", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong_attempts, 5);
    assert!(matches!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            issued.code.reveal(),
            t0() + secs(31)
        )
        .await,
        Err(OtpRefusal::Blocked { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_requests_issue_one_code() {
    const REQUESTS: usize = 8;
    let (database, mut owner) = database().await;
    let otp = otp();
    // A code two hours ago: the sender's limits row exists, so nothing but
    // its lock can make the requests below wait for each other.
    request(
        &otp,
        &mut owner,
        "psid-an",
        "guest@example.com",
        t0() - TimeDelta::hours(2),
    )
    .await
    .unwrap();
    let mut clients = Vec::new();
    for _ in 0..REQUESTS {
        clients.push(database.owner().await);
    }
    let requests = clients.into_iter().enumerate().map(|(n, mut client)| {
        let otp = otp.clone();
        tokio::spawn(async move {
            // Different emails: the sender's cooldown holds them all.
            let email = format!("guest{n}@example.com");
            request(&otp, &mut client, "psid-an", &email, t0()).await
        })
    });
    let answers: Vec<Result<CodeIssued, OtpRefusal>> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    assert_eq!(
        answers.iter().filter(|a| a.is_ok()).count(),
        1,
        "{answers:?}"
    );
    assert!(answers.iter().all(|a| match a {
        Ok(_) => true,
        Err(refusal) => matches!(refusal, OtpRefusal::Cooldown { .. }),
    }));
    assert_eq!(count(&owner, "select * from otp_challenges").await, 2);
}

#[tokio::test]
async fn a_verified_sender_is_linked_for_thirty_days_then_asked_again() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    let issued = request(&otp, &mut owner, "psid-an", "An@Example.com", t0())
        .await
        .unwrap();
    let verified = verify(
        &otp,
        &mut owner,
        "psid-an",
        issued.code.reveal(),
        t0() + secs(40),
    )
    .await
    .unwrap();
    let now = t0() + secs(60);

    // The email is new in the tenant: the customer is created with the name
    // the bot asked for.
    assert_eq!(
        customer_by_email(&owner, TENANT, &verified.email)
            .await
            .unwrap(),
        None
    );
    let customer = create_customer(
        &owner,
        TENANT,
        "  Nguyễn Văn An ",
        &verified.email,
        "psid-an",
    )
    .await
    .unwrap();
    let row = owner
        .query_one(
            "select full_name, email, messenger_psid from customers where tenant_id = $1 and id = $2",
            &[&TENANT, &customer],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Nguyễn Văn An");
    assert_eq!(row.get::<_, String>(1), "an@example.com");
    assert_eq!(row.get::<_, String>(2), "psid-an");
    let link = link_sender(
        &owner,
        TENANT,
        "psid-an",
        customer,
        now,
        otp.config().link_ttl,
    )
    .await
    .unwrap();
    assert_eq!(link.expires_at, now + TimeDelta::days(30));

    let thirty_days = now + TimeDelta::days(30);
    assert_eq!(
        linked_customer(&owner, TENANT, "psid-an", thirty_days - secs(1))
            .await
            .unwrap(),
        Some(customer)
    );
    assert_eq!(
        linked_customer(&owner, TENANT, "psid-an", thirty_days)
            .await
            .unwrap(),
        None,
        "after 30 days the code is asked again"
    );
    assert_eq!(
        linked_customer(&owner, OTHER_TENANT, "psid-an", now)
            .await
            .unwrap(),
        None,
        "a link is the tenant's"
    );
    // Asked again and proved again: the link starts over.
    let again = request(&otp, &mut owner, "psid-an", "an@example.com", thirty_days)
        .await
        .unwrap();
    verify(
        &otp,
        &mut owner,
        "psid-an",
        again.code.reveal(),
        thirty_days + secs(9),
    )
    .await
    .unwrap();
    link_sender(
        &owner,
        TENANT,
        "psid-an",
        customer,
        thirty_days + secs(10),
        otp.config().link_ttl,
    )
    .await
    .unwrap();
    assert_eq!(
        linked_customer(&owner, TENANT, "psid-an", thirty_days + secs(11))
            .await
            .unwrap(),
        Some(customer)
    );

    // Another sender proving the same email is linked to the same customer.
    let email = EmailAddress::parse("AN@example.com").unwrap();
    let existing = customer_by_email(&owner, TENANT, &email).await.unwrap();
    assert_eq!(existing, Some(customer));
    assert!(matches!(
        create_customer(&owner, TENANT, "An", &email, "psid-an-2").await,
        Err(IdentityError::EmailTaken { customer: taken, .. }) if taken == customer
    ));
    // A second email for the same sender: the sender id stays with the first.
    let second_email = EmailAddress::parse("an.work@example.com").unwrap();
    let second = create_customer(&owner, TENANT, "An", &second_email, "psid-an")
        .await
        .unwrap();
    let psid: Option<String> = owner
        .query_one(
            "select messenger_psid from customers where id = $1",
            &[&second],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(psid, None);
    // A customer of another tenant cannot be linked (composite foreign key).
    owner
        .execute(
            "insert into customers (id, tenant_id, full_name, email) values (900, 2, 'X', 'x@example.com')",
            &[],
        )
        .await
        .unwrap();
    let error = link_sender(&owner, TENANT, "psid-x", 900, now, otp.config().link_ttl)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, IdentityError::Database { source, .. } if sqlstate(source) == "23503"),
        "{error}"
    );
    assert!(matches!(
        create_customer(&owner, TENANT, "  ", &email, "psid-y").await,
        Err(IdentityError::BadName)
    ));
}

#[tokio::test]
async fn bad_input_is_refused_and_writes_nothing() {
    let (_database, mut owner) = database().await;
    let otp = otp();
    for (email, why) in [
        ("", BadEmail::Empty),
        ("not-an-email", BadEmail::NotAnAddress),
        ("an@example", BadEmail::BadDomain),
        ("an@example.com\nBcc: x@example.com", BadEmail::NotAnAddress),
    ] {
        assert_eq!(
            request(&otp, &mut owner, "psid-an", email, t0())
                .await
                .unwrap_err(),
            OtpRefusal::BadEmail(why),
            "{email:?}"
        );
    }
    for (code, why) in [
        ("", BadCode::Empty),
        ("1234567", BadCode::Length),
        ("12345", BadCode::Length),
        ("12a456", BadCode::NotDigits),
        ("abcdef", BadCode::NotDigits),
    ] {
        assert_eq!(
            verify(&otp, &mut owner, "psid-an", code, t0())
                .await
                .unwrap_err(),
            OtpRefusal::BadCode(why),
            "{code:?}"
        );
    }
    for table in ["otp_challenges", "otp_limits", "sender_links"] {
        assert_eq!(
            count(&owner, &format!("select * from {table}")).await,
            0,
            "{table}"
        );
    }
    // A malformed code is not a wrong attempt.
    let issued = request(&otp, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    assert!(matches!(
        verify(&otp, &mut owner, "psid-an", "1234567", t0() + secs(1)).await,
        Err(OtpRefusal::BadCode(BadCode::Length))
    ));
    assert_eq!(
        count(
            &owner,
            "select * from otp_challenges where wrong_attempts = 0"
        )
        .await,
        1
    );
    assert!(
        verify(
            &otp,
            &mut owner,
            "psid-an",
            issued.code.reveal(),
            t0() + secs(2)
        )
        .await
        .is_ok()
    );
    // An empty sender id is the caller's bug: an error, not a refusal.
    let transaction = owner.transaction().await.unwrap();
    assert!(matches!(
        otp.request_code(&transaction, TENANT, "", "an@example.com", t0())
            .await,
        Err(IdentityError::EmptySender)
    ));
}

#[tokio::test]
async fn the_bot_cannot_touch_the_identity_tables() {
    let (database, _owner) = database().await;
    let bot = database.bot().await;
    for sql in [
        "select * from otp_challenges",
        "select * from otp_limits",
        "select * from sender_links",
        "insert into sender_links (tenant_id, sender_psid, customer_id, verified_at, expires_at)
         values (1, 'p', 1, now(), now() + interval '1 day')",
        "update otp_limits set blocked_until = null",
        "delete from otp_challenges",
    ] {
        let error = bot.batch_execute(sql).await.expect_err(sql);
        assert_eq!(sqlstate(&error), "42501", "{sql}: {error:?}");
    }
}

/// A folder of its own under the system's temp dir, deleted on drop (also
/// when the test fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "meetassist-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Headers (unfolded, in order) and body of an RFC 5322 message.
fn parse_eml(message: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = message
        .split_once("\r\n\r\n")
        .expect("a blank line ends the headers");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if let Some(continued) = line.strip_prefix(' ') {
            headers
                .last_mut()
                .expect("a folded line follows a header")
                .1 += &format!(" {continued}");
        } else {
            let (name, value) = line.split_once(": ").expect("name: value");
            headers.push((name.to_string(), value.to_string()));
        }
    }
    (headers, body.to_string())
}

/// Decodes RFC 2047 `=?UTF-8?B?…?=` words separated by whitespace.
fn decode_encoded_words(value: &str) -> String {
    let mut bytes = Vec::new();
    for word in value.split(' ') {
        let inner = word
            .strip_prefix("=?UTF-8?B?")
            .and_then(|w| w.strip_suffix("?="))
            .unwrap_or_else(|| panic!("not an encoded word: {word}"));
        assert!(word.len() <= 75, "an encoded word is at most 75 characters");
        bytes.extend(decode_base64(inner));
    }
    String::from_utf8(bytes).unwrap()
}

fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|a| *a == byte).expect("base64") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn the_outbox_writes_one_parseable_eml_per_message() {
    let folder = TempDir::new("outbox");
    let outbox = Outbox::new(folder.path().join("outbox"));
    let from = EmailAddress::parse("no-reply@an-tam.vn").unwrap();
    let to = EmailAddress::parse("an@example.com").unwrap();
    let now = t0();
    let tenant_zone = chrono::FixedOffset::east_opt(7 * 3600).unwrap();
    let mut sent = Vec::new();
    let mut codes = Vec::new();
    for language in [Language::Vi, Language::En] {
        let code = OtpCode::generate().unwrap();
        let email = otp_email(&OtpEmail {
            language,
            tenant_name: "An Tâm",
            from: &from,
            to: &to,
            code: &code,
            expires_at: (now + TimeDelta::minutes(5)).with_timezone(&tenant_zone),
            valid_for: TimeDelta::minutes(5),
        });
        // The clock is frozen: both messages have one instant.
        sent.push(outbox.send(&email, now).await.unwrap());
        codes.push(code.reveal().to_string());
    }

    let mut names: Vec<String> = std::fs::read_dir(outbox.dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        2,
        "one file per message, no temporary left: {names:?}"
    );
    for (name, sent) in names.iter().zip(&sent) {
        assert!(
            name.ends_with(".eml") && name.starts_with("20260105T020000.000000Z-"),
            "{name}"
        );
        assert_eq!(
            sent.path.as_deref(),
            Some(outbox.dir().join(name).as_path()),
            "names sort in the order of sending"
        );
    }

    for ((sent, code), (subject, phrase)) in sent.iter().zip(&codes).zip([
        (
            "Mã xác minh email của bạn – An Tâm",
            "có hiệu lực trong 5 phút (đến 09:05 ngày 05/01/2026",
        ),
        (
            "Your email verification code – An Tâm",
            "valid for 5 minutes (until 09:05 on 2026-01-05",
        ),
    ]) {
        let message = std::fs::read_to_string(sent.path.as_ref().unwrap()).unwrap();
        assert!(
            message
                .split("\r\n")
                .all(|line| line.len() <= 998 && !line.contains('\n')),
            "CRLF line ends, short lines"
        );
        let (headers, body) = parse_eml(&message);
        let header = |name: &str| -> String {
            let found: Vec<&String> = headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .collect();
            assert_eq!(found.len(), 1, "one {name}: header in {headers:?}");
            found[0].clone()
        };
        let from_header = header("From");
        let (name, address) = from_header.rsplit_once(' ').unwrap();
        assert_eq!(decode_encoded_words(name), "An Tâm");
        assert_eq!(address, "<no-reply@an-tam.vn>");
        assert_eq!(header("To"), "<an@example.com>");
        let raw_subject = header("Subject");
        assert!(raw_subject.starts_with("=?UTF-8?B?"), "{raw_subject}");
        assert!(raw_subject.is_ascii());
        assert_eq!(decode_encoded_words(&raw_subject), subject);
        assert!(!raw_subject.contains(code.as_str()));
        assert_eq!(header("Date"), "Mon, 5 Jan 2026 02:00:00 +0000");
        assert_eq!(DateTime::parse_from_rfc2822(&header("Date")).unwrap(), now);
        let message_id = header("Message-ID");
        assert_eq!(message_id, sent.message_id);
        assert!(message_id.starts_with('<') && message_id.ends_with("@an-tam.vn>"));
        assert_eq!(header("MIME-Version"), "1.0");
        assert_eq!(header("Content-Type"), "text/plain; charset=utf-8");
        assert_eq!(header("Content-Transfer-Encoding"), "8bit");
        assert!(
            body.contains(&format!("    {code}\r\n")),
            "the code in the body:\n{body}"
        );
        assert!(body.contains(phrase), "{body}");
    }
    assert_ne!(sent[0].message_id, sent[1].message_id);
}

#[tokio::test]
async fn the_secret_file_is_created_0600_and_reused() {
    use std::os::unix::fs::PermissionsExt;

    let folder = TempDir::new("secret");
    let file = folder.path().join(".meetassist").join("otp-secret");
    let created = OtpSecret::load_or_create(&file).unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.trim().len(), 64, "32 bytes in hex");
    assert!(!format!("{created:?}").contains(text.trim()));
    let leftovers = std::fs::read_dir(file.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left");

    // Reused: a code issued under the first load verifies under the second.
    let (_database, mut owner) = database().await;
    let first = Otp::new(created, OtpConfig::default());
    let issued = request(&first, &mut owner, "psid-an", "an@example.com", t0())
        .await
        .unwrap();
    let reloaded = Otp::new(
        OtpSecret::from_env_or_file(None, &file).unwrap(),
        OtpConfig::default(),
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "not rewritten"
    );
    // The environment wins over the file: another secret, the code is wrong.
    let from_env = Otp::new(
        OtpSecret::from_env_or_file(Some(SECRET), &file).unwrap(),
        OtpConfig::default(),
    );
    assert_eq!(
        verify(
            &from_env,
            &mut owner,
            "psid-an",
            issued.code.reveal(),
            t0() + secs(1)
        )
        .await,
        Err(OtpRefusal::Wrong { attempts_left: 4 })
    );
    assert!(
        verify(
            &reloaded,
            &mut owner,
            "psid-an",
            issued.code.reveal(),
            t0() + secs(2)
        )
        .await
        .is_ok()
    );

    // A secret others can read is refused, with the fix.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = OtpSecret::load_or_create(&file).unwrap_err();
    assert!(
        matches!(error, SecretError::Permissive { mode: 0o644, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("chmod 600"));
    // A short secret in the environment is refused.
    assert!(matches!(
        OtpSecret::from_env_or_file(Some("c2hvcnQ="), &file),
        Err(SecretError::TooShort { bytes: 5 })
    ));
}
