//! Migrating is idempotent, recorded, and refuses an edited history.

use meetassist_runtime::db::{self, MigrateError, MigrateOptions};
use meetassist_schema::MIGRATIONS;

use crate::support::TestDatabase;

#[tokio::test]
async fn migrating_twice_applies_everything_once() {
    let database = TestDatabase::empty().await;
    let mut client = database.owner().await;
    let first = db::migrate(&mut client, &MigrateOptions::default())
        .await
        .unwrap();
    assert_eq!(first.applied.len(), MIGRATIONS.len());
    assert_eq!(first.already_applied, 0);
    let second = db::migrate(&mut client, &MigrateOptions::default())
        .await
        .unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.already_applied, MIGRATIONS.len());
    assert_eq!(second.version, MIGRATIONS.last().unwrap().version);
}

#[tokio::test]
async fn an_edited_migration_is_refused() {
    let database = TestDatabase::migrated().await;
    let mut client = database.owner().await;
    client
        .execute(
            "update meetassist_migrations set checksum = 'abc' where version = 2",
            &[],
        )
        .await
        .unwrap();
    let error = db::migrate(&mut client, &MigrateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, MigrateError::Edited { ref file, .. } if file == "0002_appointment_changes.sql"),
        "{error}"
    );
}

#[tokio::test]
async fn a_database_newer_than_the_program_is_refused() {
    let database = TestDatabase::migrated().await;
    let mut client = database.owner().await;
    client
        .execute(
            "insert into meetassist_migrations (version, name, checksum) values (999, 'future', 'x')",
            &[],
        )
        .await
        .unwrap();
    let error = db::migrate(&mut client, &MigrateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, MigrateError::NewerDatabase { database: 999, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_failing_migration_leaves_nothing_behind_and_says_where() {
    // A database where `tenants` already exists: migration 1 fails on it,
    // and none of its other objects stay.
    let database = TestDatabase::empty().await;
    let mut client = database.owner().await;
    client
        .batch_execute("create table tenants (x int)")
        .await
        .unwrap();
    let error = db::migrate(&mut client, &MigrateOptions::default())
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("0001_core_tables.sql:"), "{text}");
    assert!(text.contains("already exists"), "{text}");
    let leftovers: i64 = client
        .query_one(
            "select count(*) from pg_type where typname in ('appointment_status', 'change_action')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        leftovers, 0,
        "the failed migration's transaction was rolled back"
    );
    let recorded: i64 = client
        .query_one("select count(*) from meetassist_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 0);
}

#[tokio::test]
async fn the_bot_password_can_be_set() {
    let database = TestDatabase::migrated().await;
    let mut client = database.owner().await;
    db::migrate(
        &mut client,
        &MigrateOptions {
            bot_password: Some("it's s3cret".into()),
        },
    )
    .await
    .unwrap();
    let has_password: bool = client
        .query_one(
            "select rolpassword is not null from pg_authid where rolname = 'meetassist_bot'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(has_password);
    // Later tests connect as the bot under trust auth; a password does not
    // change that, but leave the role as the other tests expect it.
    client
        .batch_execute("alter role meetassist_bot password null")
        .await
        .unwrap();
}
