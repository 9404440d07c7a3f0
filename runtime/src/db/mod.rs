//! The database's life cycle: migrating the schema, loading seed data and
//! purging what retention no longer keeps.

pub mod migrate;
pub mod purge;
pub mod seed;

pub use migrate::{MigrateError, MigrateOptions, MigrationReport, migrate};
pub use purge::{PurgeError, PurgeReport, Retention, purge};
pub use seed::{SeedError, SeedProgress, SeedReport, SeedSource, seed};

/// The role model SQL runs as (SCHEMA.md): SELECT and INSERT on the
/// model-visible tables, under row-level security.
pub const BOT_ROLE: &str = "meetassist_bot";
