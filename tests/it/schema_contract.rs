//! The migrated schema is the one SCHEMA.md describes: read the contract's
//! own text (`schema/SCHEMA.md`, a copy of the shared data contract) and
//! compare it with what PostgreSQL reports after migrating.

use std::collections::BTreeMap;

use crate::support::TestDatabase;

/// One column as SCHEMA.md states it.
#[derive(Debug, Clone)]
struct ContractColumn {
    name: String,
    /// PostgreSQL's name for the type (`bigint`, `timestamp with time zone`,
    /// or the enum's name).
    sql_type: String,
    primary_key: bool,
    nullable: bool,
    default: Option<String>,
}

fn contract_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/SCHEMA.md");
    std::fs::read_to_string(path).expect("schema/SCHEMA.md")
}

/// `create type x as enum ('a', 'b')` lines of the contract.
fn contract_enums(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut enums = BTreeMap::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("create type"))
    {
        let name = line.split_whitespace().nth(2).unwrap().to_string();
        let inside = &line[line.find('(').unwrap() + 1..line.rfind(')').unwrap()];
        let labels = inside
            .split(',')
            .map(|label| label.trim().trim_matches('\'').to_string())
            .collect();
        enums.insert(name, labels);
    }
    enums
}

fn canonical_type(word: &str) -> String {
    match word {
        "int" | "integer" => "integer".into(),
        "timestamptz" => "timestamp with time zone".into(),
        "time" => "time without time zone".into(),
        other => other.into(),
    }
}

/// The "Tables the model may see" table: `| \`name\` | col type, … | …`.
fn contract_tables(text: &str) -> BTreeMap<String, Vec<ContractColumn>> {
    let mut tables = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].split('`').nth(1).unwrap().to_string();
        // The column list ends where the prose starts ("reason text: a date
        // override …").
        let columns_text = cells[2].split(": ").next().unwrap();
        let columns: Vec<ContractColumn> = columns_text
            .split(", ")
            .map(|spec| parse_column(spec.trim()))
            .collect();
        tables.insert(name, columns);
    }
    // Columns written without a type take it from the table they come from.
    let appointments = tables["appointments"].clone();
    for columns in tables.values_mut() {
        for column in columns.iter_mut() {
            if column.sql_type.is_empty() {
                column.sql_type = if column.name.ends_with("_id") {
                    "bigint".into()
                } else {
                    appointments
                        .iter()
                        .find(|c| c.name == column.name)
                        .map(|c| c.sql_type.clone())
                        .unwrap()
                };
            }
        }
    }
    tables
}

fn parse_column(spec: &str) -> ContractColumn {
    // A parenthesised remark ("(1 = Monday .. 7 = Sunday)") is prose.
    let spec = match (spec.find('('), spec.rfind(')')) {
        (Some(open), Some(close)) if spec[..open].ends_with(' ') => {
            format!("{}{}", &spec[..open], &spec[close + 1..])
        }
        _ => spec.to_string(),
    };
    let words: Vec<&str> = spec.split_whitespace().collect();
    let mut column = ContractColumn {
        name: words[0].to_string(),
        sql_type: words.get(1).map(|w| canonical_type(w)).unwrap_or_default(),
        primary_key: false,
        nullable: false,
        default: None,
    };
    let mut rest = words.iter().skip(2);
    while let Some(word) = rest.next() {
        match *word {
            "pk" => column.primary_key = true,
            "null" => column.nullable = true,
            "default" => column.default = rest.next().map(|d| d.to_string()),
            other => panic!("SCHEMA.md column `{spec}`: unexpected word `{other}`"),
        }
    }
    column
}

#[tokio::test]
async fn migrated_schema_matches_the_contract() {
    let text = contract_text();
    let tables = contract_tables(&text);
    assert_eq!(
        tables.len(),
        8,
        "SCHEMA.md lists eight model-visible relations: {:?}",
        tables.keys()
    );
    let database = TestDatabase::migrated().await;
    let client = database.owner().await;

    for (table, columns) in &tables {
        let rows = client
            .query(
                "select column_name::text,
                        case when data_type = 'USER-DEFINED' then udt_name::text else data_type::text end,
                        is_nullable = 'YES',
                        coalesce(column_default, case when is_identity = 'YES' then 'identity' end)
                 from information_schema.columns
                 where table_schema = 'public' and table_name = $1",
                &[table],
            )
            .await
            .unwrap();
        assert!(!rows.is_empty(), "table {table} is missing");
        let actual: BTreeMap<String, (String, bool, Option<String>)> = rows
            .iter()
            .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
            .collect();
        for column in columns {
            let Some((sql_type, nullable, default)) = actual.get(&column.name) else {
                panic!(
                    "{table}.{} is in SCHEMA.md but not in the database",
                    column.name
                );
            };
            assert_eq!(
                sql_type, &column.sql_type,
                "type of {table}.{}",
                column.name
            );
            if column.nullable {
                assert!(nullable, "{table}.{} must be nullable", column.name);
            }
            if column.primary_key {
                assert!(!nullable, "{table}.{} is a primary key", column.name);
                assert_eq!(
                    default.as_deref(),
                    Some("identity"),
                    "ids are generated: {table}.{}",
                    column.name
                );
            }
            if let Some(expected) = &column.default {
                let default = default.as_deref().unwrap_or_default();
                assert!(
                    default.starts_with(expected.as_str()),
                    "{table}.{} defaults to `{default}`, SCHEMA.md says `{expected}`",
                    column.name
                );
            }
        }
        // Every tenant-owned table: tenant_id bigint not null references tenants.
        let (tenant_type, tenant_nullable, _) = &actual["tenant_id"];
        assert_eq!(tenant_type, "bigint");
        if table != "busy_slots" {
            assert!(!tenant_nullable, "{table}.tenant_id must be not null");
            let references_tenants: bool = client
                .query_one(
                    "select exists (select 1 from pg_constraint
                     where conrelid = $1::text::regclass and contype = 'f'
                       and confrelid = 'tenants'::regclass)",
                    &[table],
                )
                .await
                .unwrap()
                .get(0);
            assert!(
                references_tenants,
                "{table}.tenant_id must reference tenants"
            );
        }
    }

    let primary_keys: Vec<String> = client
        .query(
            "select c.conrelid::regclass::text || '.' || a.attname
             from pg_constraint c join pg_attribute a on a.attrelid = c.conrelid and a.attnum = any (c.conkey)
             where c.contype = 'p' and c.connamespace = 'public'::regnamespace",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for (table, columns) in &tables {
        for column in columns.iter().filter(|c| c.primary_key) {
            assert!(
                primary_keys.contains(&format!("{table}.{}", column.name)),
                "{table}.{} is not the primary key",
                column.name
            );
        }
    }

    let kind: String = client
        .query_one(
            "select relkind::text from pg_class where oid = 'busy_slots'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind, "v", "busy_slots is a view");
}

#[tokio::test]
async fn enums_have_the_contract_labels_in_order() {
    let expected = contract_enums(&contract_text());
    assert_eq!(expected.len(), 2, "SCHEMA.md defines two enums");
    let database = TestDatabase::migrated().await;
    let client = database.owner().await;
    for (name, labels) in expected {
        let actual: Vec<String> = client
            .query_one(
                "select array_agg(enumlabel::text order by enumsortorder) from pg_enum
                 where enumtypid = $1::text::regtype",
                &[&name],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(actual, labels, "labels of {name}");
    }
}

#[tokio::test]
async fn internal_tenants_table_and_extensions_exist() {
    let database = TestDatabase::migrated().await;
    let client = database.owner().await;
    let columns: Vec<String> = client
        .query(
            "select column_name::text || ' ' || data_type from information_schema.columns
             where table_name = 'tenants' order by ordinal_position",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        columns,
        ["id bigint", "slug text", "name text", "time_zone text"]
    );
    let zone: String = client
        .query_one(
            "insert into tenants (id, slug, name) values (9, 'x', 'X') returning time_zone",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(zone, "Asia/Ho_Chi_Minh");
    let duplicate = client
        .execute(
            "insert into tenants (id, slug, name) values (10, 'x', 'Y')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        crate::support::sqlstate(&duplicate),
        "23505",
        "slug is unique"
    );

    let extensions: Vec<String> = client
        .query("select extname::text from pg_extension order by 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        extensions.contains(&"unaccent".to_string()),
        "{extensions:?}"
    );
    assert!(
        extensions.contains(&"btree_gist".to_string()),
        "{extensions:?}"
    );
    let plain: String = client
        .query_one("select unaccent('Nguyễn Văn Ấn')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(plain, "Nguyen Van An");
}

#[test]
fn the_contract_parser_reads_what_it_should() {
    // Guards the parser itself: a parser that read nothing would make the
    // test above pass vacuously.
    let tables = contract_tables(&contract_text());
    let appointments = &tables["appointments"];
    let names: Vec<&str> = appointments.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "tenant_id",
            "consultant_id",
            "customer_id",
            "service_id",
            "starts_at",
            "ends_at",
            "status",
            "topic",
            "created_at"
        ]
    );
    let status = appointments.iter().find(|c| c.name == "status").unwrap();
    assert_eq!(status.sql_type, "appointment_status");
    assert_eq!(status.default.as_deref(), Some("'pending'"));
    assert!(
        appointments
            .iter()
            .find(|c| c.name == "service_id")
            .unwrap()
            .nullable
    );
    let exceptions: Vec<&str> = tables["schedule_exceptions"]
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        exceptions,
        [
            "id",
            "tenant_id",
            "consultant_id",
            "on_date",
            "start_time",
            "end_time",
            "reason"
        ]
    );
    assert_eq!(tables["busy_slots"][2].sql_type, "timestamp with time zone");
}
