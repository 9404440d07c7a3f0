use meetassist_runtime::testing::TestDatabase;

use crate::{meetassist, stderr, stdout};

#[tokio::test]
async fn migrate_twice_on_a_fresh_database() {
    let database = TestDatabase::empty().await;
    let url = database.owner_url();

    let first = meetassist(&["db", "migrate", "--database-url", &url]);
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(text.contains("applied 0001_core_tables.sql"), "{text}");
    assert!(
        text.contains("applied 0003_bot_role_and_row_security.sql"),
        "{text}"
    );

    let second = meetassist(&["db", "migrate", "--database-url", &url]);
    assert!(second.status.success(), "{}", stderr(&second));
    let text = stdout(&second);
    let newest = meetassist_schema::MIGRATIONS.last().unwrap().version;
    assert!(
        text.contains(&format!("up to date at schema version {newest}")),
        "{text}"
    );
    assert!(!text.contains("applied"), "{text}");
}

#[tokio::test]
async fn the_url_may_come_from_the_environment() {
    let database = TestDatabase::empty().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meetassist"))
        .args(["db", "migrate"])
        .env("DATABASE_URL", database.owner_url())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let tables: i64 = database
        .owner()
        .await
        .query_one("select count(*) from meetassist_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, meetassist_schema::MIGRATIONS.len() as i64);
}

#[test]
fn no_database_is_a_usage_error() {
    let output = meetassist(&["db", "migrate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--database-url"),
        "{}",
        stderr(&output)
    );

    // Nothing listens on port 1.
    let output = meetassist(&[
        "db",
        "migrate",
        "--database-url",
        "postgres://postgres@127.0.0.1:1/x",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot connect to the database"),
        "{}",
        stderr(&output)
    );
}
