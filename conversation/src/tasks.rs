//! What the turn engine asks a model to write SQL for.
//!
//! Each task names the data it needs and the columns it expects back, in
//! words a language model can follow ([`SqlTask::instruction`]); the
//! offline model writes it itself ([`SqlTask::offline_sql`]). Either way
//! the text is model SQL: the guard judges it like any other, and the
//! engine checks the columns of what comes back ([`SqlTask::columns`]).

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// A piece of data to read, or a write to make, through model SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlTask {
    /// The tenant's active consultants.
    Consultants,
    /// The tenant's services.
    Services,
    /// The weekly working hours of some consultants.
    WeeklyHours {
        /// Whose hours.
        consultants: Vec<i64>,
    },
    /// Date overrides (days off, shorter days) of some consultants.
    Exceptions {
        /// Whose overrides.
        consultants: Vec<i64>,
        /// First local date, inclusive.
        from: NaiveDate,
        /// Last local date, inclusive.
        to: NaiveDate,
    },
    /// Busy intervals of some consultants that end after `from` and start
    /// before `to`.
    Busy {
        /// Whose busy time.
        consultants: Vec<i64>,
        /// Window start.
        from: DateTime<Utc>,
        /// Window end.
        to: DateTime<Utc>,
    },
    /// The verified customer's appointments that are not over and not
    /// cancelled, soonest first.
    MyAppointments {
        /// Appointments ending after this instant.
        after: DateTime<Utc>,
    },
    /// Book an appointment for the verified customer.
    Book {
        /// With whom.
        consultant: i64,
        /// For what, when known.
        service: Option<i64>,
        /// Start.
        starts_at: DateTime<Utc>,
        /// End.
        ends_at: DateTime<Utc>,
        /// What it is about, in the customer's words.
        topic: Option<String>,
    },
    /// Cancel one of the verified customer's appointments.
    Cancel {
        /// Which.
        appointment: i64,
    },
    /// Move one of the verified customer's appointments (the database keeps
    /// its length).
    Reschedule {
        /// Which.
        appointment: i64,
        /// Its new start.
        new_starts_at: DateTime<Utc>,
    },
}

impl SqlTask {
    /// A short stable name, for logs and snapshots.
    pub fn name(&self) -> &'static str {
        match self {
            SqlTask::Consultants => "consultants",
            SqlTask::Services => "services",
            SqlTask::WeeklyHours { .. } => "weekly_hours",
            SqlTask::Exceptions { .. } => "exceptions",
            SqlTask::Busy { .. } => "busy",
            SqlTask::MyAppointments { .. } => "my_appointments",
            SqlTask::Book { .. } => "book",
            SqlTask::Cancel { .. } => "cancel",
            SqlTask::Reschedule { .. } => "reschedule",
        }
    }

    /// The columns every row must have, by name, in this order.
    pub fn columns(&self) -> &'static [&'static str] {
        match self {
            SqlTask::Consultants => &["id", "full_name", "specialty", "bio"],
            SqlTask::Services => &["id", "name", "duration_minutes", "price_vnd"],
            SqlTask::WeeklyHours { .. } => &["consultant_id", "weekday", "start_time", "end_time"],
            SqlTask::Exceptions { .. } => &["consultant_id", "on_date", "start_time", "end_time"],
            SqlTask::Busy { .. } => &["consultant_id", "starts_at", "ends_at"],
            SqlTask::MyAppointments { .. } => &[
                "id",
                "consultant_id",
                "service_id",
                "starts_at",
                "ends_at",
                "status",
                "topic",
            ],
            SqlTask::Book { .. } => &["id", "starts_at", "ends_at"],
            SqlTask::Cancel { .. } | SqlTask::Reschedule { .. } => &["id"],
        }
    }

    /// Whether the task writes (and so needs a verified customer).
    pub fn writes(&self) -> bool {
        matches!(
            self,
            SqlTask::Book { .. } | SqlTask::Cancel { .. } | SqlTask::Reschedule { .. }
        )
    }

    /// The task in words, for a language model that writes the SQL.
    pub fn instruction(&self) -> String {
        let columns = self.columns().join(", ");
        let what = match self {
            SqlTask::Consultants => {
                "Select the active consultants (is_active), ordered by full_name.".to_string()
            }
            SqlTask::Services => "Select the services, ordered by id.".to_string(),
            SqlTask::WeeklyHours { consultants } => format!(
                "Select the weekly schedules of consultants {}, ordered by consultant_id, weekday, start_time.",
                id_list(consultants)
            ),
            SqlTask::Exceptions {
                consultants,
                from,
                to,
            } => format!(
                "Select the schedule exceptions of consultants {} with on_date between {from} and {to}.",
                id_list(consultants)
            ),
            SqlTask::Busy {
                consultants,
                from,
                to,
            } => format!(
                "Select the busy slots of consultants {} that end after {} and start before {}, ordered by starts_at.",
                id_list(consultants),
                timestamp(*from),
                timestamp(*to)
            ),
            SqlTask::MyAppointments { after } => format!(
                "Select my appointments that end after {} and are not cancelled, ordered by starts_at.",
                timestamp(*after)
            ),
            SqlTask::Book {
                consultant,
                service,
                starts_at,
                ends_at,
                topic,
            } => format!(
                "Insert an appointment with consultant {consultant}{} from {} to {}{}, returning the new row.",
                service.map_or(String::new(), |s| format!(", service {s}")),
                timestamp(*starts_at),
                timestamp(*ends_at),
                topic
                    .as_deref()
                    .map_or(String::new(), |t| format!(", topic {}", quote(t)))
            ),
            SqlTask::Cancel { appointment } => {
                format!("Insert a change that cancels appointment {appointment}, returning it.")
            }
            SqlTask::Reschedule {
                appointment,
                new_starts_at,
            } => format!(
                "Insert a change that reschedules appointment {appointment} to start at {}, returning it.",
                timestamp(*new_starts_at)
            ),
        };
        format!("{what} Return exactly these columns: {columns}.")
    }

    /// The SQL the offline model writes for the task.
    pub fn offline_sql(&self) -> String {
        match self {
            SqlTask::Consultants => "SELECT id, full_name, specialty, bio FROM consultants \
                 WHERE is_active ORDER BY full_name"
                .to_string(),
            SqlTask::Services => {
                "SELECT id, name, duration_minutes, price_vnd FROM services ORDER BY id".to_string()
            }
            SqlTask::WeeklyHours { consultants } => format!(
                "SELECT consultant_id, weekday, start_time, end_time FROM consultant_schedules \
                 WHERE consultant_id IN ({}) ORDER BY consultant_id, weekday, start_time",
                id_list(consultants)
            ),
            SqlTask::Exceptions {
                consultants,
                from,
                to,
            } => format!(
                "SELECT consultant_id, on_date, start_time, end_time FROM schedule_exceptions \
                 WHERE consultant_id IN ({}) AND on_date BETWEEN '{from}' AND '{to}' \
                 ORDER BY consultant_id, on_date",
                id_list(consultants)
            ),
            SqlTask::Busy {
                consultants,
                from,
                to,
            } => format!(
                "SELECT consultant_id, starts_at, ends_at FROM busy_slots \
                 WHERE consultant_id IN ({}) AND ends_at > '{}' AND starts_at < '{}' \
                 ORDER BY starts_at",
                id_list(consultants),
                timestamp(*from),
                timestamp(*to)
            ),
            SqlTask::MyAppointments { after } => format!(
                "SELECT id, consultant_id, service_id, starts_at, ends_at, status, topic \
                 FROM appointments WHERE ends_at > '{}' AND status <> 'cancelled' \
                 ORDER BY starts_at",
                timestamp(*after)
            ),
            SqlTask::Book {
                consultant,
                service,
                starts_at,
                ends_at,
                topic,
            } => format!(
                "INSERT INTO appointments (consultant_id, service_id, starts_at, ends_at, topic) \
                 VALUES ({consultant}, {}, '{}', '{}', {}) RETURNING id, starts_at, ends_at",
                service.map_or("NULL".to_string(), |s| s.to_string()),
                timestamp(*starts_at),
                timestamp(*ends_at),
                topic.as_deref().map_or("NULL".to_string(), quote)
            ),
            SqlTask::Cancel { appointment } => format!(
                "INSERT INTO appointment_changes (appointment_id, action) \
                 VALUES ({appointment}, 'cancel') RETURNING id"
            ),
            SqlTask::Reschedule {
                appointment,
                new_starts_at,
            } => format!(
                "INSERT INTO appointment_changes (appointment_id, action, new_starts_at) \
                 VALUES ({appointment}, 'reschedule', '{}') RETURNING id",
                timestamp(*new_starts_at)
            ),
        }
    }
}

fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        // IN () is not SQL; no id matches 0 (ids start at 1).
        return "0".to_string();
    }
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// An instant as a SQL timestamptz literal's text, in UTC.
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A SQL string literal (standard-conforming strings: only `'` doubles).
/// The guard would refuse anything that escaped it; this keeps the
/// customer's words intact instead.
pub fn quote(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| *c != '\0').collect();
    format!("'{}'", cleaned.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn quoting_doubles_quotes_and_drops_nul() {
        assert_eq!(quote("O'Brien"), "'O''Brien'");
        assert_eq!(quote("a\0b"), "'ab'");
        assert_eq!(quote("'); DROP TABLE x; --"), "'''); DROP TABLE x; --'");
    }

    #[test]
    fn booking_sql_carries_every_value() {
        let sql = SqlTask::Book {
            consultant: 3,
            service: Some(2),
            starts_at: at("2026-12-01T02:30:00Z"),
            ends_at: at("2026-12-01T04:00:00Z"),
            topic: Some("Visa du học".into()),
        }
        .offline_sql();
        assert!(
            sql.contains(
                "VALUES (3, 2, '2026-12-01T02:30:00Z', '2026-12-01T04:00:00Z', 'Visa du học')"
            ),
            "{sql}"
        );
        assert!(sql.ends_with("RETURNING id, starts_at, ends_at"));
    }

    #[test]
    fn an_empty_id_list_matches_nothing() {
        let sql = SqlTask::WeeklyHours {
            consultants: vec![],
        }
        .offline_sql();
        assert!(sql.contains("IN (0)"), "{sql}");
    }

    #[test]
    fn instructions_name_the_columns() {
        let text = SqlTask::Services.instruction();
        assert!(
            text.ends_with("Return exactly these columns: id, name, duration_minutes, price_vnd.")
        );
        assert!(SqlTask::Cancel { appointment: 1 }.writes());
        assert!(!SqlTask::Consultants.writes());
    }
}
