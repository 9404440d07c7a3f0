//! The typed catalog of the model-visible schema (SCHEMA.md): what the
//! compiler binds names against. A test in `tests/` compares it with the
//! migrated database and fails the moment they disagree.

use crate::describe::{Access, ColumnType};

/// A column as the compiler knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    /// Never readable by model SQL (consultants.email, .phone).
    pub staff_only: bool,
}

/// A column's type, statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BigInt,
    Int,
    SmallInt,
    Boolean,
    /// Text; `searchable` for names people search by.
    Text {
        searchable: bool,
    },
    Date,
    Time,
    Timestamptz,
    Enum(&'static EnumType),
}

/// An enum type and its labels, in order.
#[derive(Debug, PartialEq, Eq)]
pub struct EnumType {
    pub name: &'static str,
    pub labels: &'static [&'static str],
}

impl Kind {
    /// PostgreSQL's name for the type (`information_schema` spelling).
    pub fn sql_name(self) -> &'static str {
        match self {
            Kind::BigInt => "bigint",
            Kind::Int => "integer",
            Kind::SmallInt => "smallint",
            Kind::Boolean => "boolean",
            Kind::Text { .. } => "text",
            Kind::Date => "date",
            Kind::Time => "time without time zone",
            Kind::Timestamptz => "timestamp with time zone",
            Kind::Enum(enum_type) => enum_type.name,
        }
    }

    /// The policy-facing type.
    pub fn column_type(self) -> ColumnType {
        match self {
            Kind::BigInt | Kind::Int | Kind::SmallInt => ColumnType::Integer,
            Kind::Boolean => ColumnType::Boolean,
            Kind::Text { searchable } => ColumnType::Text { searchable },
            Kind::Date => ColumnType::Date,
            Kind::Time => ColumnType::Time,
            Kind::Timestamptz => ColumnType::Timestamp,
            Kind::Enum(enum_type) => ColumnType::Enumeration {
                name: enum_type.name.to_string(),
                labels: enum_type.labels.iter().map(|l| l.to_string()).collect(),
            },
        }
    }
}

/// A table or view model SQL may name.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub is_view: bool,
    pub access: Access,
    pub tenant_column: Option<&'static str>,
    /// The column holding the owning customer's id.
    pub owner_column: Option<&'static str>,
    /// The columns model SQL may give in an INSERT (empty: no INSERT).
    /// Ids and creation times are the database's to set.
    pub insertable: &'static [&'static str],
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns model SQL may read.
    pub fn readable_columns(&self) -> impl Iterator<Item = &'static Column> + use<> {
        let columns: &'static [Column] = self.columns;
        columns.iter().filter(|c| !c.staff_only)
    }
}

pub static APPOINTMENT_STATUS: EnumType = EnumType {
    name: "appointment_status",
    labels: &["pending", "confirmed", "cancelled", "completed", "no_show"],
};

pub static CHANGE_ACTION: EnumType = EnumType {
    name: "change_action",
    labels: &["cancel", "reschedule"],
};

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        staff_only: false,
    }
}

const fn staff(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        staff_only: true,
    }
}

const TEXT: Kind = Kind::Text { searchable: false };
const NAME: Kind = Kind::Text { searchable: true };

/// Every relation model SQL may name.
pub static TABLES: &[Table] = &[
    Table {
        name: "consultants",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("full_name", NAME),
            staff("email", TEXT),
            staff("phone", TEXT),
            col("specialty", NAME),
            col("bio", TEXT),
            col("is_active", Kind::Boolean),
        ],
        is_view: false,
        access: Access::TenantPublic,
        tenant_column: Some("tenant_id"),
        owner_column: None,
        insertable: &[],
    },
    Table {
        name: "services",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("name", NAME),
            col("duration_minutes", Kind::Int),
            col("price_vnd", Kind::BigInt),
        ],
        is_view: false,
        access: Access::TenantPublic,
        tenant_column: Some("tenant_id"),
        owner_column: None,
        insertable: &[],
    },
    Table {
        name: "consultant_schedules",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("consultant_id", Kind::BigInt),
            col("weekday", Kind::SmallInt),
            col("start_time", Kind::Time),
            col("end_time", Kind::Time),
        ],
        is_view: false,
        access: Access::TenantPublic,
        tenant_column: Some("tenant_id"),
        owner_column: None,
        insertable: &[],
    },
    Table {
        name: "schedule_exceptions",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("consultant_id", Kind::BigInt),
            col("on_date", Kind::Date),
            col("start_time", Kind::Time),
            col("end_time", Kind::Time),
            col("reason", TEXT),
        ],
        is_view: false,
        access: Access::TenantPublic,
        tenant_column: Some("tenant_id"),
        owner_column: None,
        insertable: &[],
    },
    Table {
        name: "busy_slots",
        columns: &[
            col("tenant_id", Kind::BigInt),
            col("consultant_id", Kind::BigInt),
            col("starts_at", Kind::Timestamptz),
            col("ends_at", Kind::Timestamptz),
        ],
        is_view: true,
        access: Access::TenantPublic,
        tenant_column: Some("tenant_id"),
        owner_column: None,
        insertable: &[],
    },
    Table {
        name: "customers",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("full_name", NAME),
            col("email", TEXT),
            col("phone", TEXT),
            col("messenger_psid", TEXT),
            col("created_at", Kind::Timestamptz),
        ],
        is_view: false,
        access: Access::CustomerPrivate,
        tenant_column: Some("tenant_id"),
        owner_column: Some("id"),
        insertable: &[],
    },
    Table {
        name: "appointments",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("consultant_id", Kind::BigInt),
            col("customer_id", Kind::BigInt),
            col("service_id", Kind::BigInt),
            col("starts_at", Kind::Timestamptz),
            col("ends_at", Kind::Timestamptz),
            col("status", Kind::Enum(&APPOINTMENT_STATUS)),
            col("topic", TEXT),
            col("created_at", Kind::Timestamptz),
        ],
        is_view: false,
        access: Access::CustomerPrivate,
        tenant_column: Some("tenant_id"),
        owner_column: Some("customer_id"),
        insertable: &[
            "tenant_id",
            "consultant_id",
            "customer_id",
            "service_id",
            "starts_at",
            "ends_at",
            "status",
            "topic",
        ],
    },
    Table {
        name: "appointment_changes",
        columns: &[
            col("id", Kind::BigInt),
            col("tenant_id", Kind::BigInt),
            col("appointment_id", Kind::BigInt),
            col("customer_id", Kind::BigInt),
            col("action", Kind::Enum(&CHANGE_ACTION)),
            col("new_starts_at", Kind::Timestamptz),
            col("reason", TEXT),
            col("created_at", Kind::Timestamptz),
        ],
        is_view: false,
        access: Access::CustomerPrivate,
        tenant_column: Some("tenant_id"),
        owner_column: Some("customer_id"),
        insertable: &[
            "tenant_id",
            "appointment_id",
            "customer_id",
            "action",
            "new_starts_at",
            "reason",
        ],
    },
];

/// The enum types of the schema.
pub static ENUMS: &[&EnumType] = &[&APPOINTMENT_STATUS, &CHANGE_ACTION];

/// The table or view called `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}
