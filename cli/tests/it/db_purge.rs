use meetassist_runtime::testing::TestDatabase;

use crate::{meetassist, stderr, stdout};

const NOW: &str = "2026-11-25T09:00:00Z";

/// Rows on both sides of every retention line, around `NOW`.
async fn old_and_new_rows(database: &TestDatabase) {
    database
        .owner()
        .await
        .batch_execute(
            "
            insert into sql_audit (tenant_id, psid, original_sql, elapsed_us, created_at) values
                (1, 'old', 'select 1', 10, timestamptz '2026-11-25T09:00Z' - interval '100 days'),
                (1, 'new', 'select 1', 10, timestamptz '2026-11-25T09:00Z' - interval '10 days');
            insert into chat_sessions (tenant_id, psid, state, updated_at) values
                (1, 'idle', '{}', timestamptz '2026-11-25T09:00Z' - interval '40 days'),
                (1, 'active', '{}', timestamptz '2026-11-25T09:00Z' - interval '1 day');
            insert into otp_challenges (tenant_id, sender_psid, email, code_hmac, created_at, expires_at) values
                (1, 'old', 'a@example.com', decode(repeat('ab', 32), 'hex'),
                 timestamptz '2026-11-23T09:00Z', timestamptz '2026-11-23T09:05Z'),
                (1, 'new', 'a@example.com', decode(repeat('ab', 32), 'hex'),
                 timestamptz '2026-11-25T08:50Z', timestamptz '2026-11-25T08:55Z');
            insert into sender_links (tenant_id, sender_psid, customer_id, verified_at, expires_at) values
                (1, 'lapsed', 1, timestamptz '2026-10-25T09:00Z', timestamptz '2026-11-24T09:00Z'),
                (1, 'linked', 2, timestamptz '2026-11-20T09:00Z', timestamptz '2026-12-20T09:00Z');
            insert into otp_limits (tenant_id, kind, value, failures, blocked_until) values
                (1, 'email', 'clean@example.com', 0, null),
                (1, 'email', 'blocked@example.com', 0, timestamptz '2026-11-25T09:30Z'),
                (1, 'sender', 'guessing', 3, null),
                (1, 'sender', 'was-blocked', 0, timestamptz '2026-11-25T08:00Z');
            ",
        )
        .await
        .unwrap();
}

async fn remaining(database: &TestDatabase) -> Vec<String> {
    let rows = database
        .owner()
        .await
        .query(
            "select 'audit ' || psid from sql_audit
             union all select 'session ' || psid from chat_sessions
             union all select 'code ' || sender_psid from otp_challenges
             union all select 'link ' || sender_psid from sender_links
             union all select 'limit ' || value from otp_limits
             order by 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test]
async fn purge_deletes_what_retention_no_longer_keeps_and_nothing_a_limit_needs() {
    let database = TestDatabase::seeded().await;
    old_and_new_rows(&database).await;
    let url = database.owner_url();
    let output = meetassist(&["db", "purge", "--database-url", &url, "--now", NOW]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    for line in [
        "sql_audit              1 rows deleted",
        "chat_sessions          1 rows deleted",
        "otp_challenges         1 rows deleted",
        "sender_links           1 rows deleted",
        "otp_limits             2 rows deleted",
    ] {
        assert!(printed.contains(line), "no `{line}` in:\n{printed}");
    }
    assert_eq!(
        remaining(&database).await,
        [
            "audit new",
            "code new",
            // A block in force and a count above zero are limits.
            "limit blocked@example.com",
            "limit guessing",
            "link linked",
            "session active",
        ]
    );
    // Again: nothing left to delete.
    let again = meetassist(&["db", "purge", "--database-url", &url, "--now", NOW]);
    assert!(stdout(&again).contains("otp_limits             0 rows deleted"));
    assert_eq!(remaining(&database).await.len(), 6);
}

#[tokio::test]
async fn a_retention_shorter_than_the_send_limits_is_refused_and_deletes_nothing() {
    let database = TestDatabase::seeded().await;
    old_and_new_rows(&database).await;
    let before = remaining(&database).await;
    let url = database.owner_url();
    let output = meetassist(&[
        "db",
        "purge",
        "--database-url",
        &url,
        "--now",
        NOW,
        "--code-hours",
        "0",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("retention of codes must be at least 60 minutes, not 0 minutes"),
        "{}",
        stderr(&output)
    );
    assert_eq!(remaining(&database).await, before);
}
