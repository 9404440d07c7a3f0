//! The database contract, tested on a real PostgreSQL that the tests start
//! themselves (one cluster per test process, a fresh database per test).
//!
//! - `schema_contract`: the migrated schema is SCHEMA.md's.
//! - `bot_role`: what `meetassist_bot` can and cannot do, and row-level
//!   security by tenant and customer.
//! - `booking_race`: many bookings of one slot at once, one winner; a
//!   booking that loses a deadlock is run again and told the slot is taken.
//! - `appointment_changes`: cancel and reschedule through the database.
//! - `migrations`: applying them is idempotent and checked.
//! - `catalog`: the compiler's catalog is the migrated schema.
//! - `guard_corpus`: every case of `fixtures/sql/` through the real guard
//!   (compiler + Wasm policies), snapshotted, and run against the database
//!   as an oracle.
//! - `random_queries`: proptest-generated SELECTs over the catalog:
//!   deterministic, accepted output parses, the oracle holds.
//! - `otp`: email verification codes and their limits (also under
//!   concurrent requests), sender links, the mail outbox, the OTP secret.
//! - `prompts`: every customer message of `fixtures/prompts/` through the
//!   engine with the offline model, and the ones that list Bedrock
//!   recordings again with the Bedrock model on them; the SQL each turn
//!   judged (and each repair), snapshotted.
//! - `conversations`: the scripts of `fixtures/conversations/` played
//!   turn by turn, checked and snapshotted; a turn that fails keeps the
//!   previous state; a session saved meanwhile fails the turn.
//! - `bedrock`: the engine with the Bedrock model (the real SDK against a
//!   fake Converse server replaying `fixtures/bedrock/`).

// In tests a panic is how a failure is reported; unwrap says where.
#![allow(clippy::unwrap_used)]

mod appointment_changes;
mod bedrock;
mod booking_race;
mod bot_role;
mod catalog;
mod conversations;
mod guard_corpus;
mod migrations;
mod otp;
mod policy_cases;
mod prompts;
mod random_queries;
mod schema_contract;
mod script;
mod support;
