//! One source of truth: the compiler's catalog of the model-visible schema
//! must be exactly what the migrations create, and what `meetassist_bot`
//! may read. This test fails the moment they disagree.

use std::collections::BTreeMap;

use meetassist_compiler::catalog::{ENUMS, TABLES};

use crate::support::TestDatabase;

#[tokio::test]
async fn the_compiler_catalog_is_the_migrated_schema() {
    let database = TestDatabase::migrated().await;
    let client = database.owner().await;
    for table in TABLES {
        let rows = client
            .query(
                "select column_name::text,
                        case when data_type = 'USER-DEFINED' then udt_name::text else data_type::text end,
                        has_column_privilege('meetassist_bot', table_name::regclass, column_name, 'SELECT')
                 from information_schema.columns
                 where table_schema = 'public' and table_name = $1
                 order by ordinal_position",
                &[&table.name],
            )
            .await
            .unwrap();
        let database_columns: BTreeMap<String, (String, bool)> = rows
            .iter()
            .map(|row| (row.get(0), (row.get(1), row.get(2))))
            .collect();
        let catalog_columns: BTreeMap<String, (String, bool)> = table
            .columns
            .iter()
            .map(|c| {
                (
                    c.name.to_string(),
                    (c.kind.sql_name().to_string(), !c.staff_only),
                )
            })
            .collect();
        assert_eq!(
            catalog_columns, database_columns,
            "{}: (type, readable by the bot) per column, catalog vs database",
            table.name
        );
        let is_view: bool = client
            .query_one(
                "select relkind = 'v' from pg_class where oid = $1::text::regclass",
                &[&table.name],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(is_view, table.is_view, "{} view or table", table.name);
    }
}

#[tokio::test]
async fn every_relation_the_bot_can_read_is_in_the_catalog() {
    let database = TestDatabase::migrated().await;
    let client = database.owner().await;
    let readable: Vec<String> = client
        .query(
            "select c.relname::text from pg_class c
             where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v', 'm', 'f', 'p')
               and (has_table_privilege('meetassist_bot', c.oid, 'SELECT')
                    or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attnum > 0
                               and has_column_privilege('meetassist_bot', c.oid, a.attnum, 'SELECT')))
             order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut catalog: Vec<String> = TABLES.iter().map(|t| t.name.to_string()).collect();
    catalog.sort();
    assert_eq!(readable, catalog);
}

#[tokio::test]
async fn catalog_enums_have_the_database_labels() {
    let database = TestDatabase::migrated().await;
    let client = database.owner().await;
    for enum_type in ENUMS {
        let labels: Vec<String> = client
            .query_one(
                "select array_agg(enumlabel::text order by enumsortorder) from pg_enum where enumtypid = $1::text::regtype",
                &[&enum_type.name],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(labels, enum_type.labels, "{}", enum_type.name);
    }
}
