//! MeetAssist's database schema as data: the versioned SQL migrations in
//! `schema/migrations/` and the demo seed CSVs in `schema/seed/`, embedded
//! so that the `meetassist` binary carries them wherever it runs.
//!
//! This crate only holds text. Applying it is `meetassist-runtime`'s job.

use sha2::{Digest, Sha256};

/// One versioned migration: applied once, in version order, in its own
/// transaction, and never edited after it has shipped (its checksum is
/// recorded and compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// The number the file name starts with.
    pub version: u32,
    /// The file name without the extension: `0001_core_tables`.
    pub stem: &'static str,
    /// The SQL text, run as one batch.
    pub sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of the SQL text, recorded when the migration is applied.
    pub fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The file name in `schema/migrations/`.
    pub fn file_name(&self) -> String {
        format!("{}.sql", self.stem)
    }

    /// What the migration does, as its file name says (`core_tables`).
    pub fn name(&self) -> &'static str {
        self.stem
            .split_once('_')
            .map_or(self.stem, |(_, name)| name)
    }
}

macro_rules! migration {
    ($version:literal, $stem:literal) => {
        Migration {
            version: $version,
            stem: $stem,
            sql: include_str!(concat!("../migrations/", $stem, ".sql")),
        }
    };
}

/// Every migration, in the order it is applied. A test checks that this
/// list and the `migrations/` folder agree.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_core_tables"),
    migration!(2, "0002_appointment_changes"),
    migration!(3, "0003_bot_role_and_row_security"),
    migration!(4, "0004_tenant_by_slug"),
    migration!(5, "0005_identity"),
    migration!(6, "0006_chat_sessions"),
    migration!(7, "0007_audit_refusal"),
];

/// The tables `meetassist db seed` loads, in load order (a row may only
/// refer to rows of tables before it). The CSV for table `t` is `t.csv`.
pub const SEED_TABLES: &[&str] = &[
    "tenants",
    "consultants",
    "services",
    "consultant_schedules",
    "schedule_exceptions",
    "customers",
    "appointments",
];

/// The demo data shipped with the binary, as `(table, csv text)` in
/// [`SEED_TABLES`] order.
pub const DEMO_SEED: &[(&str, &str)] = &[
    ("tenants", include_str!("../seed/tenants.csv")),
    ("consultants", include_str!("../seed/consultants.csv")),
    ("services", include_str!("../seed/services.csv")),
    (
        "consultant_schedules",
        include_str!("../seed/consultant_schedules.csv"),
    ),
    (
        "schedule_exceptions",
        include_str!("../seed/schedule_exceptions.csv"),
    ),
    ("customers", include_str!("../seed/customers.csv")),
    ("appointments", include_str!("../seed/appointments.csv")),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn migration_list_matches_the_folder() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        on_disk.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(Migration::file_name).collect();
        assert_eq!(
            listed, on_disk,
            "MIGRATIONS must list every file in {folder:?}, in order"
        );
    }

    #[test]
    fn versions_increase_by_one_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                migration.version as usize,
                index + 1,
                "{}",
                migration.file_name()
            );
        }
    }

    #[test]
    fn demo_seed_covers_every_seed_table_in_order() {
        let tables: Vec<&str> = DEMO_SEED.iter().map(|(table, _)| *table).collect();
        assert_eq!(tables, SEED_TABLES);
    }

    #[test]
    fn migrations_hold_no_data_rows() {
        // SCHEMA.md: structure only; tenants come from `db seed` or tests.
        for migration in MIGRATIONS {
            let lowered = migration.sql.to_lowercase();
            assert!(
                !lowered.contains("insert into"),
                "{} inserts rows",
                migration.file_name()
            );
        }
    }
}
