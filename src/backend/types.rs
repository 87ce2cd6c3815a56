//! Plain data shared by the backends and the runner.

use std::time::{Duration, SystemTime};

use crate::migration::{Direction, Migration};

/// One history record as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Revision id (`20241201_1200_abc123`).
    pub revision_id: String,
    /// Its parent when applied.
    pub parent: Option<String>,
    /// Its message when applied.
    pub message: String,
    /// Checksum (64 hex digits) of the file that was applied.
    pub checksum: String,
    /// When it was applied.
    pub applied_at: SystemTime,
    /// How long its statements took.
    pub duration: Duration,
    /// Clean, or dirty in the middle of a step.
    pub state: RecordState,
    /// Who applied it: binary name and version, host, pid.
    pub applied_by: String,
}

/// Whether a history record is trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// The step completed.
    Applied,
    /// A non-atomic step in this direction started and did not finish.
    Dirty(Direction),
}

/// What a backend can promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// DDL and the history record commit in one transaction.
    pub transactional_ddl: bool,
    /// The lock is a lease that expires when its holder dies.
    pub lease_lock: bool,
}

/// One step for a backend to run.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// Up or down.
    pub direction: Direction,
    /// Who runs it (recorded as `applied_by`).
    pub applied_by: &'a str,
}

/// How `repair` resolves a dirty record.
#[derive(Debug, Clone, Copy)]
pub enum RepairAction<'a> {
    /// The migration's effects are in place: record it as cleanly applied.
    MarkApplied(&'a Migration),
    /// The migration's effects are not in place: remove the record.
    Forget,
}

/// One call a backend would make: SQL, Cypher or an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedCall {
    /// `sql`, `cypher` or `http`.
    pub language: &'static str,
    /// The statement or `METHOD /path` plus body.
    pub text: String,
    /// Whether this is bookkeeping (history, lock) rather than the migration's own.
    pub bookkeeping: bool,
}
