//! Loads seed data from CSV files, one per table (`<table>.csv`, a header
//! row of column names, an empty cell for NULL), in one transaction: every
//! row is checked against the table's column types before it is inserted,
//! and the first bad row fails the whole load with `file:line: what is
//! wrong`, leaving the database as it was.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime};
use meetassist_schema::{DEMO_SEED, SEED_TABLES};
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::pg::describe;

/// Where the CSV files come from.
#[derive(Debug, Clone)]
pub enum SeedSource {
    /// The demo data built into the program (`schema/seed/`).
    Demo,
    /// A directory of `<table>.csv` files; a missing file loads nothing
    /// into that table, a file that names no seed table is an error.
    Dir(PathBuf),
}

/// How far the load is, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct SeedProgress {
    pub rows_done: u64,
    pub rows_total: u64,
}

/// What was loaded: rows per table, in load order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub tables: Vec<(String, u64)>,
}

/// Why the load failed. The transaction was rolled back: nothing was
/// loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A row (or the header, line 1) is wrong.
    #[error("{file}:{line}: {message}")]
    Row {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: `{file}` is not a seed file; expected some of: {}", dir.display(), expected_files())]
    UnknownFile { dir: PathBuf, file: String },
    #[error("{}: no seed files found; expected some of: {}", dir.display(), expected_files())]
    Empty { dir: PathBuf },
    #[error("{what}: {message}")]
    Database { what: String, message: String },
}

fn expected_files() -> String {
    SEED_TABLES
        .iter()
        .map(|t| format!("{t}.csv"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads `source` into the database behind `client`, reporting progress.
pub async fn seed(
    client: &mut Client,
    source: &SeedSource,
    mut progress: impl FnMut(SeedProgress),
) -> Result<SeedReport, SeedError> {
    let files = read_source(source)?;
    let rows_total = files
        .iter()
        .map(|file| file.text.lines().count().saturating_sub(1) as u64)
        .sum();
    let enums = enum_labels(client).await?;

    let transaction = client
        .transaction()
        .await
        .map_err(database("starting the load"))?;
    let mut loaded = LoadedRows::default();
    let mut report = SeedReport { tables: Vec::new() };
    let mut rows_done = 0;
    for file in &files {
        let columns = table_columns(&transaction, &file.table).await?;
        let table = TableLoad::new(file, &columns, &enums)?;
        let mut count = 0;
        for record in csv::ReaderBuilder::new()
            .from_reader(file.text.as_bytes())
            .records()
        {
            let record = record.map_err(|error| file.csv_error(&error))?;
            let line = record.position().map_or(0, |p| p.line());
            let values = table.check(&record, line, &loaded)?;
            let params: Vec<&(dyn ToSql + Sync)> =
                values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            transaction
                .execute(&table.insert, &params)
                .await
                .map_err(|error| file.row_error(line, describe(&error)))?;
            table.remember(&values, &mut loaded);
            count += 1;
            rows_done += 1;
            progress(SeedProgress {
                rows_done,
                rows_total,
            });
        }
        report.tables.push((file.table.clone(), count));
    }
    for file in &files {
        // Explicit ids do not move identity sequences; the next generated
        // id must come after the loaded ones.
        transaction
            .execute(
                &format!(
                    "select setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) from {table}",
                    table = file.table
                ),
                &[],
            )
            .await
            .map_err(database(format!("advancing the id sequence of {}", file.table)))?;
    }
    transaction
        .commit()
        .await
        .map_err(database("committing the load"))?;
    Ok(report)
}

fn database(what: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> SeedError {
    let what = what.into();
    move |error| SeedError::Database {
        what,
        message: describe(&error),
    }
}

/// One CSV file, read whole.
struct SeedFile {
    table: String,
    /// The name to show in errors: the path, or `demo/<table>.csv`.
    shown_as: String,
    text: String,
}

impl SeedFile {
    fn row_error(&self, line: u64, message: String) -> SeedError {
        SeedError::Row {
            file: self.shown_as.clone(),
            line,
            message,
        }
    }

    fn csv_error(&self, error: &csv::Error) -> SeedError {
        let line = error.position().map_or(0, |p| p.line());
        let message = match error.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("{len} fields where the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
            _ => error.to_string(),
        };
        self.row_error(line, message)
    }
}

fn read_source(source: &SeedSource) -> Result<Vec<SeedFile>, SeedError> {
    match source {
        SeedSource::Demo => Ok(DEMO_SEED
            .iter()
            .map(|(table, text)| SeedFile {
                table: table.to_string(),
                shown_as: format!("demo/{table}.csv"),
                text: text.to_string(),
            })
            .collect()),
        SeedSource::Dir(dir) => read_dir(dir),
    }
}

fn read_dir(dir: &Path) -> Result<Vec<SeedFile>, SeedError> {
    let entries = std::fs::read_dir(dir).map_err(|source| SeedError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| SeedError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(table) = name.strip_suffix(".csv")
            && !SEED_TABLES.contains(&table)
        {
            return Err(SeedError::UnknownFile {
                dir: dir.to_path_buf(),
                file: name,
            });
        }
    }
    let mut files = Vec::new();
    for table in SEED_TABLES {
        let path = dir.join(format!("{table}.csv"));
        if !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| SeedError::Read {
            path: path.clone(),
            source,
        })?;
        files.push(SeedFile {
            table: table.to_string(),
            shown_as: path.display().to_string(),
            text,
        });
    }
    if files.is_empty() {
        return Err(SeedError::Empty {
            dir: dir.to_path_buf(),
        });
    }
    Ok(files)
}

/// A column's type, as far as checking a CSV cell needs to know it.
#[derive(Debug, Clone, PartialEq)]
enum CellType {
    SmallInt,
    Integer,
    BigInt,
    Boolean,
    Text,
    Date,
    Time,
    Timestamptz,
    Enum { name: String, labels: Vec<String> },
}

impl CellType {
    fn sql_name(&self) -> &str {
        match self {
            CellType::SmallInt => "smallint",
            CellType::Integer => "integer",
            CellType::BigInt => "bigint",
            CellType::Boolean => "boolean",
            CellType::Text => "text",
            CellType::Date => "date",
            CellType::Time => "time",
            CellType::Timestamptz => "timestamptz",
            CellType::Enum { name, .. } => name,
        }
    }

    /// Checks `cell` and returns it in the form PostgreSQL reads.
    fn check(&self, cell: &str) -> Result<String, String> {
        let cell = cell.trim();
        let ok = |valid: bool, what: &str| {
            if valid {
                Ok(cell.to_string())
            } else {
                Err(format!("`{cell}` is not {what}"))
            }
        };
        match self {
            CellType::SmallInt => ok(cell.parse::<i16>().is_ok(), "a smallint"),
            CellType::Integer => ok(cell.parse::<i32>().is_ok(), "an integer"),
            CellType::BigInt => ok(cell.parse::<i64>().is_ok(), "a bigint"),
            CellType::Boolean => match cell.to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "1" => Ok("true".into()),
                "false" | "f" | "no" | "0" => Ok("false".into()),
                _ => Err(format!("`{cell}` is not a boolean (true or false)")),
            },
            CellType::Text => Ok(cell.to_string()),
            CellType::Date => ok(
                NaiveDate::parse_from_str(cell, "%Y-%m-%d").is_ok(),
                "a date (YYYY-MM-DD)",
            ),
            CellType::Time => ok(
                NaiveTime::parse_from_str(cell, "%H:%M").is_ok()
                    || NaiveTime::parse_from_str(cell, "%H:%M:%S").is_ok(),
                "a time of day (HH:MM or HH:MM:SS)",
            ),
            CellType::Timestamptz => ok(
                DateTime::parse_from_rfc3339(cell).is_ok(),
                "a timestamp with an offset (RFC 3339, e.g. 2026-12-01T09:30:00+07:00)",
            ),
            CellType::Enum { name, labels } => {
                if labels.iter().any(|label| label == cell) {
                    Ok(cell.to_string())
                } else {
                    Err(format!(
                        "`{cell}` is not a valid {name}; one of: {}",
                        labels.join(", ")
                    ))
                }
            }
        }
    }
}

/// A column of the table being loaded.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    cell_type: CellType,
    nullable: bool,
    /// Has a default or is an identity: may be left out of the CSV.
    defaulted: bool,
}

type EnumLabels = HashMap<String, Vec<String>>;

async fn enum_labels(client: &Client) -> Result<EnumLabels, SeedError> {
    let rows = client
        .query(
            "select t.typname::text, array_agg(e.enumlabel::text order by e.enumsortorder)
             from pg_enum e join pg_type t on t.oid = e.enumtypid
             join pg_namespace n on n.oid = t.typnamespace
             where n.nspname = 'public'
             group by t.typname",
            &[],
        )
        .await
        .map_err(database("reading the enum types"))?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

async fn table_columns(
    client: &impl tokio_postgres::GenericClient,
    table: &str,
) -> Result<Vec<Column>, SeedError> {
    let rows = client
        .query(
            "select column_name::text, data_type::text, udt_name::text, is_nullable = 'YES',
                    column_default is not null or is_identity = 'YES'
             from information_schema.columns
             where table_schema = 'public' and table_name = $1
             order by ordinal_position",
            &[&table],
        )
        .await
        .map_err(database(format!("reading the columns of {table}")))?;
    if rows.is_empty() {
        return Err(SeedError::Database {
            what: format!("loading {table}"),
            message: format!(
                "the table `{table}` does not exist; run `meetassist db migrate` first"
            ),
        });
    }
    let mut columns = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let data_type: String = row.get(1);
        let udt: String = row.get(2);
        let cell_type = match data_type.as_str() {
            "smallint" => CellType::SmallInt,
            "integer" => CellType::Integer,
            "bigint" => CellType::BigInt,
            "boolean" => CellType::Boolean,
            "text" | "character varying" => CellType::Text,
            "date" => CellType::Date,
            "time without time zone" => CellType::Time,
            "timestamp with time zone" => CellType::Timestamptz,
            "USER-DEFINED" => CellType::Enum {
                labels: Vec::new(),
                name: udt,
            },
            other => {
                return Err(SeedError::Database {
                    what: format!("loading {table}"),
                    message: format!(
                        "column {name} has type {other}, which the seed loader cannot check"
                    ),
                });
            }
        };
        columns.push(Column {
            name,
            cell_type,
            nullable: row.get(3),
            defaulted: row.get(4),
        });
    }
    Ok(columns)
}

/// Rows loaded so far: table → id → tenant, to refuse a reference to
/// another tenant's row with a message that names both tenants.
#[derive(Default)]
struct LoadedRows {
    tenants: HashMap<&'static str, HashMap<i64, i64>>,
}

/// Columns that refer to a row of another seed table by id.
const REFERENCES: &[(&str, &str, &str)] = &[
    ("consultant_id", "consultants", "consultant"),
    ("customer_id", "customers", "customer"),
    ("service_id", "services", "service"),
    ("appointment_id", "appointments", "appointment"),
];

/// The load of one table: its header mapped to columns and the INSERT.
struct TableLoad<'a> {
    file: &'a SeedFile,
    /// The header's columns, in CSV order.
    columns: Vec<Column>,
    insert: String,
}

impl<'a> TableLoad<'a> {
    fn new(
        file: &'a SeedFile,
        table_columns: &[Column],
        enums: &EnumLabels,
    ) -> Result<Self, SeedError> {
        let header_error = |message: String| file.row_error(1, message);
        let mut reader = csv::ReaderBuilder::new().from_reader(file.text.as_bytes());
        let header = reader
            .headers()
            .map_err(|error| file.csv_error(&error))?
            .clone();
        let valid_names = || {
            table_columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut columns: Vec<Column> = Vec::new();
        for name in header.iter().map(str::trim) {
            let Some(column) = table_columns.iter().find(|c| c.name == name) else {
                return Err(header_error(format!(
                    "`{name}` is not a column of {}; its columns are: {}",
                    file.table,
                    valid_names()
                )));
            };
            if columns.iter().any(|c| c.name == name) {
                return Err(header_error(format!("column `{name}` appears twice")));
            }
            let mut column = column.clone();
            if let CellType::Enum { name, labels } = &mut column.cell_type {
                *labels = enums.get(name.as_str()).cloned().unwrap_or_default();
            }
            columns.push(column);
        }
        if let Some(missing) = table_columns
            .iter()
            .find(|c| !c.nullable && !c.defaulted && !columns.iter().any(|h| h.name == c.name))
        {
            return Err(header_error(format!(
                "the header lacks column `{}`, which {} requires",
                missing.name, file.table
            )));
        }
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let values: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::text::{}", i + 1, c.cell_type.sql_name()))
            .collect();
        // Table and column names come from the catalog, not from the CSV.
        let insert = format!(
            "insert into {} ({}) values ({})",
            file.table,
            names.join(", "),
            values.join(", ")
        );
        Ok(TableLoad {
            file,
            columns,
            insert,
        })
    }

    /// Checks one record; returns its cells ready to bind (None = NULL).
    fn check(
        &self,
        record: &csv::StringRecord,
        line: u64,
        loaded: &LoadedRows,
    ) -> Result<Vec<Option<String>>, SeedError> {
        let error = |message: String| self.file.row_error(line, message);
        let mut values = Vec::with_capacity(self.columns.len());
        for (column, cell) in self.columns.iter().zip(record.iter()) {
            if cell.trim().is_empty() && column.cell_type != CellType::Text || cell.is_empty() {
                if !column.nullable && !column.defaulted {
                    return Err(error(format!("column `{}` may not be empty", column.name)));
                }
                values.push(None);
                continue;
            }
            let value = column
                .cell_type
                .check(cell)
                .map_err(|message| error(format!("column `{}`: {message}", column.name)))?;
            values.push(Some(value));
        }
        self.check_tenant_references(&values, loaded)
            .map_err(error)?;
        Ok(values)
    }

    fn value_of(&self, values: &[Option<String>], column: &str) -> Option<i64> {
        let index = self.columns.iter().position(|c| c.name == column)?;
        values.get(index)?.as_deref()?.parse().ok()
    }

    /// A row may refer only to rows of its own tenant.
    fn check_tenant_references(
        &self,
        values: &[Option<String>],
        loaded: &LoadedRows,
    ) -> Result<(), String> {
        let Some(tenant) = self.value_of(values, "tenant_id") else {
            return Ok(());
        };
        for (column, table, noun) in REFERENCES {
            let Some(id) = self.value_of(values, column) else {
                continue;
            };
            match loaded.tenants.get(table).and_then(|ids| ids.get(&id)) {
                Some(&owner) if owner != tenant => {
                    return Err(format!(
                        "column `{column}`: {noun} {id} belongs to tenant {owner}, not to this row's tenant {tenant}"
                    ));
                }
                // Unknown here: the foreign key decides (rows loaded
                // before this run).
                _ => {}
            }
        }
        Ok(())
    }

    fn remember(&self, values: &[Option<String>], loaded: &mut LoadedRows) {
        let Some(table) = SEED_TABLES.iter().find(|t| **t == self.file.table) else {
            return;
        };
        if let (Some(id), Some(tenant)) = (
            self.value_of(values, "id"),
            self.value_of(values, "tenant_id"),
        ) {
            loaded.tenants.entry(table).or_default().insert(id, tenant);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CellType;

    #[test]
    fn cells_are_checked_by_type() {
        assert!(CellType::BigInt.check("42").is_ok());
        assert!(CellType::BigInt.check("4x2").is_err());
        assert_eq!(CellType::Boolean.check("T").as_deref(), Ok("true"));
        assert!(CellType::Date.check("2026-02-30").is_err());
        assert!(CellType::Time.check("9:30").is_ok());
        assert!(CellType::Time.check("25:00").is_err());
        assert!(CellType::Timestamptz.check("2026-12-01T09:30:00").is_err());
        assert!(
            CellType::Timestamptz
                .check("2026-12-01T09:30:00+07:00")
                .is_ok()
        );
        let status = CellType::Enum {
            name: "appointment_status".into(),
            labels: vec!["pending".into(), "confirmed".into()],
        };
        assert_eq!(
            status.check("booked"),
            Err("`booked` is not a valid appointment_status; one of: pending, confirmed".into())
        );
    }
}
