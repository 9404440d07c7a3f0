//! PostgreSQL: connecting, and a private cluster of our own.

mod cluster;

pub use cluster::{ClusterError, LocalCluster, SUPERUSER};

/// Connects to `url` (a `postgres://` URL or a libpq key=value string) and
/// drives the connection on the current tokio runtime.
pub async fn connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "postgres connection ended");
        }
    });
    Ok(client)
}

/// `error`'s message with PostgreSQL's detail and hint, when it has them:
/// what a user needs to see of a database error.
pub fn describe(error: &tokio_postgres::Error) -> String {
    let Some(db) = error.as_db_error() else {
        return error.to_string();
    };
    let mut text = db.message().to_string();
    if let Some(detail) = db.detail() {
        text.push_str(&format!(" ({detail})"));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("; hint: {hint}"));
    }
    text
}
