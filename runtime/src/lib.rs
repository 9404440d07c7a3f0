//! MeetAssist's runtime: every side effect of the product lives here.
//!
//! Today that is PostgreSQL: a private local cluster ([`pg::LocalCluster`]),
//! connections, the schema migrator ([`db::migrate`]) and the seed loader
//! ([`db::seed`]). The policy host (wasmtime) and the conversation engine
//! join it in later issues.

pub mod chat;
pub mod db;
pub mod guard;
pub mod identity;
pub mod pg;
pub mod policy;
pub mod testing;
