use meetassist_runtime::testing::TestDatabase;

use crate::{copy_demo_seed, meetassist, stderr, stdout};

async fn row_counts(database: &TestDatabase) -> Vec<i64> {
    let client = database.owner().await;
    let mut counts = Vec::new();
    for table in meetassist_schema_tables() {
        counts.push(
            client
                .query_one(&format!("select count(*) from {table}"), &[])
                .await
                .unwrap()
                .get(0),
        );
    }
    counts
}

fn meetassist_schema_tables() -> [&'static str; 7] {
    [
        "tenants",
        "consultants",
        "services",
        "consultant_schedules",
        "schedule_exceptions",
        "customers",
        "appointments",
    ]
}

#[tokio::test]
async fn the_demo_data_loads() {
    let database = TestDatabase::migrated().await;
    let output = meetassist(&["db", "seed", "--database-url", &database.owner_url()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("loaded 105 rows in one transaction"),
        "{}",
        stdout(&output)
    );
    assert_eq!(row_counts(&database).await, [2, 8, 6, 53, 7, 10, 19]);
    // Vietnamese text arrives intact.
    let name: String = database
        .owner()
        .await
        .query_one("select full_name from consultants where id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Nguyễn Văn An");

    // The sequences moved past the loaded ids.
    let next: i64 = database
        .owner()
        .await
        .query_one(
            "insert into appointments (tenant_id, consultant_id, customer_id, starts_at, ends_at)
             values (1, 1, 1, '2027-06-01 09:00+07', '2027-06-01 10:00+07') returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(next, 20);
}

#[tokio::test]
async fn a_csv_dir_of_the_same_files_loads_the_same() {
    let database = TestDatabase::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    copy_demo_seed(dir.path());
    let output = meetassist(&[
        "db",
        "seed",
        "--database-url",
        &database.owner_url(),
        "--csv-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(row_counts(&database).await, [2, 8, 6, 53, 7, 10, 19]);
}

/// Replaces line `line` (1-based) of `file` in a copy of the demo data,
/// seeds it, and checks the load failed at `file:line` saying `expected`,
/// with nothing loaded.
async fn assert_bad_row_refused(
    file: &str,
    line: usize,
    edit: impl Fn(&str) -> String,
    expected: &str,
) {
    let database = TestDatabase::migrated().await;
    let before = row_counts(&database).await;
    let dir = tempfile::tempdir().unwrap();
    copy_demo_seed(dir.path());
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[line - 1] = edit(&lines[line - 1]);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let output = meetassist(&[
        "db",
        "seed",
        "--database-url",
        &database.owner_url(),
        "--csv-dir",
        dir.path().to_str().unwrap(),
    ]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    let location = format!("{}:{line}: ", path.display());
    assert!(
        message.contains(&location),
        "expected `{location}` in: {message}"
    );
    assert!(
        message.contains(expected),
        "expected `{expected}` in: {message}"
    );
    assert!(message.contains("nothing was loaded"), "{message}");
    assert_eq!(
        row_counts(&database).await,
        before,
        "the database is unchanged"
    );
}

#[tokio::test]
async fn a_bad_enum_fails_with_file_and_line() {
    assert_bad_row_refused(
        "appointments.csv",
        5,
        |row| {
            let status = ["pending", "confirmed", "cancelled", "completed", "no_show"]
                .into_iter()
                .find(|status| row.contains(&format!(",{status},")))
                .unwrap();
            row.replacen(&format!(",{status},"), ",booked,", 1)
        },
        "column `status`: `booked` is not a valid appointment_status; one of: pending, confirmed, cancelled, completed, no_show",
    )
    .await;
}

#[tokio::test]
async fn a_bad_date_fails_with_file_and_line() {
    assert_bad_row_refused(
        "schedule_exceptions.csv",
        3,
        |row| {
            let mut cells: Vec<&str> = row.split(',').collect();
            cells[3] = "2026-12-32";
            cells.join(",")
        },
        "column `on_date`: `2026-12-32` is not a date (YYYY-MM-DD)",
    )
    .await;
}

#[tokio::test]
async fn a_cross_tenant_reference_fails_with_file_and_line() {
    // Appointment on line 2 is tenant 1's; point it at tenant 2's customer 9.
    assert_bad_row_refused(
        "appointments.csv",
        2,
        |row| {
            let mut cells: Vec<&str> = row.split(',').collect();
            cells[3] = "9";
            cells.join(",")
        },
        "column `customer_id`: customer 9 belongs to tenant 2, not to this row's tenant 1",
    )
    .await;
}

#[tokio::test]
async fn a_row_the_database_refuses_fails_with_file_and_line() {
    // Two overlapping bookings of consultant 1: only the database can tell.
    assert_bad_row_refused(
        "appointments.csv",
        3,
        |_| {
            "99,1,1,2,1,2026-11-16T09:30:00+07:00,2026-11-16T10:30:00+07:00,pending,overlap"
                .to_string()
        },
        "appointments_no_overlap",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_column_and_an_unknown_file_are_refused() {
    assert_bad_row_refused(
        "services.csv",
        1,
        |header| header.replace("price_vnd", "price"),
        "`price` is not a column of services; its columns are: id, tenant_id, name, duration_minutes, price_vnd",
    )
    .await;

    let database = TestDatabase::migrated().await;
    let dir = tempfile::tempdir().unwrap();
    copy_demo_seed(dir.path());
    std::fs::write(dir.path().join("staff.csv"), "id\n1\n").unwrap();
    let output = meetassist(&[
        "db",
        "seed",
        "--database-url",
        &database.owner_url(),
        "--csv-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("`staff.csv` is not a seed file"),
        "{}",
        stderr(&output)
    );
}
