//! Shared helpers: sessions as the bot role, and reading SQLSTATEs.

pub use meetassist_runtime::testing::TestDatabase;
use tokio_postgres::{Client, GenericClient};

/// A `meetassist_bot` connection whose session acts for `tenant` and, when
/// given, the verified `customer` (session-level settings: the runtime sets
/// them per transaction, the row-level security reads either).
pub async fn bot_as(database: &TestDatabase, tenant: Option<i64>, customer: Option<i64>) -> Client {
    let client = database.bot().await;
    let setting = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    client
        .execute(
            "select set_config('meetassist.tenant_id', $1, false), set_config('meetassist.customer_id', $2, false)",
            &[&setting(tenant), &setting(customer)],
        )
        .await
        .expect("setting the session's tenant and customer");
    client
}

/// The SQLSTATE of a database error, or a panic naming what the error was.
#[track_caller]
pub fn sqlstate(error: &tokio_postgres::Error) -> &str {
    match error.as_db_error() {
        Some(db) => db.code().code(),
        None => panic!("expected a database error, got: {error}"),
    }
}

/// The message of a database error.
#[track_caller]
pub fn message(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_string(),
        None => panic!("expected a database error, got: {error}"),
    }
}

/// Counts the rows `sql` returns for `client`.
pub async fn count(client: &impl GenericClient, sql: &str) -> i64 {
    client
        .query_one(&format!("select count(*) from ({sql}) counted"), &[])
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .get(0)
}

/// Row counts of every seeded table, to show that a failed statement
/// changed nothing.
pub async fn snapshot(owner: &Client) -> Vec<(String, String)> {
    let mut state = Vec::new();
    for table in meetassist_schema::SEED_TABLES
        .iter()
        .chain(&["appointment_changes"])
    {
        let row = owner
            .query_one(
                &format!("select count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' order by t.id)), '') from {table} t"),
                &[],
            )
            .await
            .unwrap();
        state.push((table.to_string(), row.get(0)));
    }
    state
}
