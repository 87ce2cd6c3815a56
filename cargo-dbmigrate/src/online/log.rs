//! `log`: every migration in timeline order with where it stands in its
//! database — applied, pending, dirty, edited since applied — and when, by
//! whom and how long it took (Alembic's `history --indicate-current`, sqlx's
//! `migrate info`). Records the files do not know follow, as `unknown`.
//! `status` stays the summary.

use std::io::Write;

use dbmigrate_core::backend::{AppliedMigration, RecordState};
use dbmigrate_core::{BackendKind, Migrator};
use serde::Serialize;

use crate::OutputFormat;

/// Where one migration stands in its database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogState {
    /// Applied, with the same checksum as the file.
    Applied,
    /// Not applied yet.
    Pending,
    /// A step started and did not finish (see `dirty_direction`).
    Dirty,
    /// Applied, but the file changed since (checksums differ).
    Edited,
    /// Recorded in the database, but no file has this revision.
    Unknown,
    /// Its database is not configured (no URL given).
    NotConnected,
}

impl LogState {
    fn word(self) -> &'static str {
        match self {
            LogState::Applied => "applied",
            LogState::Pending => "pending",
            LogState::Dirty => "DIRTY",
            LogState::Edited => "EDITED",
            LogState::Unknown => "UNKNOWN",
            LogState::NotConnected => "no connection",
        }
    }

    fn needs_attention(self) -> bool {
        matches!(self, LogState::Dirty | LogState::Edited | LogState::Unknown)
    }
}

/// One line of `log`; field names as in `history` and the run reports.
#[derive(Debug, Serialize)]
pub struct LogEntry {
    /// `20241201_1000_a1b2c3`.
    pub revision_id: String,
    /// The parent revision id (`None`: the root, or unknown).
    pub revises: Option<String>,
    /// `postgres`, `neo4j` or `weaviate`.
    pub backend: BackendKind,
    /// The `Message:` header (for an unknown record: the recorded message).
    pub message: String,
    /// Where it stands.
    pub state: LogState,
    /// For a dirty record: `up` or `down`.
    pub dirty_direction: Option<&'static str>,
    /// When it was applied (RFC 3339, UTC, seconds).
    pub applied_at: Option<String>,
    /// Who applied it.
    pub applied_by: Option<String>,
    /// How long its statements took.
    pub duration_ms: Option<u64>,
    /// The newest applied revision of its database.
    pub current: bool,
}

/// Reads every configured database's history and lists the timeline.
pub async fn entries(migrator: &Migrator) -> anyhow::Result<Vec<LogEntry>> {
    let history = migrator.history()?;
    let mut records: Vec<(BackendKind, Vec<AppliedMigration>)> = Vec::new();
    for kind in BackendKind::all() {
        if let Some(backend) = migrator.backend_of(kind) {
            records.push((kind, backend.read_history().await?));
        }
    }
    let stored = |kind: BackendKind| records.iter().find(|(k, _)| *k == kind).map(|(_, r)| r);
    let mut entries: Vec<LogEntry> = history
        .iter()
        .map(|migration| {
            let record = stored(migration.backend)
                .and_then(|r| r.iter().find(|r| r.revision_id == migration.revision_id));
            let state = match (stored(migration.backend), record) {
                (None, _) => LogState::NotConnected,
                (Some(_), None) => LogState::Pending,
                (_, Some(r)) if matches!(r.state, RecordState::Dirty(_)) => LogState::Dirty,
                (_, Some(r)) if r.checksum != migration.checksum.to_hex() => LogState::Edited,
                (_, Some(_)) => LogState::Applied,
            };
            let mut entry = entry(migration.backend, record, state);
            entry.revision_id.clone_from(&migration.revision_id);
            entry.revises.clone_from(&migration.parent);
            entry.message.clone_from(&migration.message);
            entry
        })
        .collect();
    for (kind, records) in &records {
        for record in records
            .iter()
            .filter(|r| history.get(&r.revision_id).is_none())
        {
            entries.push(entry(*kind, Some(record), LogState::Unknown));
        }
    }
    mark_current(&mut entries);
    Ok(entries)
}

fn entry(backend: BackendKind, record: Option<&AppliedMigration>, state: LogState) -> LogEntry {
    LogEntry {
        revision_id: record.map(|r| r.revision_id.clone()).unwrap_or_default(),
        revises: record.and_then(|r| r.parent.clone()),
        backend,
        message: record.map(|r| r.message.clone()).unwrap_or_default(),
        state,
        dirty_direction: record.and_then(|r| match r.state {
            RecordState::Dirty(direction) => Some(direction.as_str()),
            RecordState::Applied => None,
        }),
        applied_at: record.map(|r| humantime::format_rfc3339_seconds(r.applied_at).to_string()),
        applied_by: record.map(|r| r.applied_by.clone()),
        duration_ms: record.map(|r| r.duration.as_millis() as u64),
        current: false,
    }
}

/// Marks each database's last applied (or edited) migration of the timeline.
fn mark_current(entries: &mut [LogEntry]) {
    for kind in BackendKind::all() {
        if let Some(entry) = entries
            .iter_mut()
            .rev()
            .find(|e| e.backend == kind && matches!(e.state, LogState::Applied | LogState::Edited))
        {
            entry.current = true;
        }
    }
}

/// True when a line needs a person (dirty, edited, unknown): `log` exits 4.
pub fn needs_attention(entries: &[LogEntry]) -> bool {
    entries.iter().any(|e| e.state.needs_attention())
}

/// Prints the entries as a table, or as `{"migrations": [...]}`.
pub fn render(
    entries: &[LogEntry],
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return crate::inspect::print_json(out, &serde_json::json!({ "migrations": entries }));
    }
    for e in entries {
        let state = match e.dirty_direction {
            Some(direction) => format!("{} {direction}", e.state.word()),
            None => e.state.word().to_string(),
        };
        let when = e.applied_at.as_deref().unwrap_or("-");
        let took = e
            .duration_ms
            .map_or("-".to_string(), |ms| format!("{ms}ms"));
        let current = if e.current { " (current)" } else { "" };
        write!(
            out,
            "{:<22} {:<9} {:<13} {:<20} {:>8}  {}{current}",
            e.revision_id, e.backend, state, when, took, e.message
        )?;
        match &e.applied_by {
            Some(by) => writeln!(out, "  [by {by}]")?,
            None => writeln!(out)?,
        }
    }
    let n_applied = entries
        .iter()
        .filter(|e| e.state == LogState::Applied)
        .count();
    let n_pending = entries
        .iter()
        .filter(|e| e.state == LogState::Pending)
        .count();
    writeln!(
        out,
        "\n{} migration(s): {n_applied} applied, {n_pending} pending",
        entries.len()
    )?;
    Ok(())
}
