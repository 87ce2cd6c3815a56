//! What a run did (or would do), and where each backend stands: plain data
//! for the CLI to render as text or JSON.

use std::time::Duration;

use crate::backend::PlannedCall;
use crate::migration::{BackendKind, Direction, Migration};

fn as_millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_millis() as u64)
}

/// What a run did. A failed run returns it inside [`RunError::Step`](super::RunError::Step).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// The revision the timeline stood at before the run (`None`: base).
    pub from: Option<String>,
    /// The revision it stands at after the run (or would, for a dry run).
    pub to: Option<String>,
    /// Steps applied, in order.
    pub applied: Vec<StepReport>,
    /// Steps a dry run (or `plan`) would apply, with their exact calls.
    pub planned: Vec<PlannedStep>,
    /// Migrations of the timeline that were already applied.
    pub n_already_applied: usize,
    /// Revisions the databases hold that are newer than this binary.
    pub ahead: Vec<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// How many history reads the run made (one per backend when nothing was pending).
    pub history_reads: usize,
    /// Whether the run took the migration locks.
    pub locked: bool,
}

/// One applied step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepReport {
    /// Revision id.
    pub revision_id: String,
    /// File name.
    pub file_name: String,
    /// The message.
    pub message: String,
    /// The backend it ran on.
    pub backend: BackendKind,
    /// Up or down.
    pub direction: Direction,
    /// How long it took.
    #[serde(rename = "duration_ms", serialize_with = "as_millis")]
    pub duration: Duration,
}

impl StepReport {
    pub(crate) fn new(migration: &Migration, direction: Direction, duration: Duration) -> Self {
        StepReport {
            revision_id: migration.revision_id.clone(),
            file_name: migration.file_name.clone(),
            message: migration.message.clone(),
            backend: migration.backend,
            direction,
            duration,
        }
    }
}

/// One step a run would apply, with the exact calls, bookkeeping included.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlannedStep {
    /// Revision id.
    pub revision_id: String,
    /// File name.
    pub file_name: String,
    /// The message.
    pub message: String,
    /// The backend it would run on.
    pub backend: BackendKind,
    /// Up or down.
    pub direction: Direction,
    /// The calls, in order.
    pub calls: Vec<PlannedCall>,
}

/// Where every configured backend stands.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// The newest revision of the binary's timeline.
    pub head: Option<String>,
    /// The revision the timeline stands at (`None`: base).
    pub current: Option<String>,
    /// Migrations from the current revision to head, all backends.
    pub n_pending: usize,
    /// One entry per configured backend, in lock order.
    pub backends: Vec<BackendStatus>,
    /// Problems that would stop an upgrade (edited files, gaps, unknown revisions).
    pub problems: Vec<String>,
}

/// Where one backend stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackendStatus {
    /// Which backend.
    pub backend: BackendKind,
    /// Where it is (password removed).
    pub location: String,
    /// Its newest applied revision known to this binary (`None`: none).
    pub current: Option<String>,
    /// How many of its migrations are applied.
    pub n_applied: usize,
    /// How many of its migrations are pending up to head.
    pub n_pending: usize,
    /// Chain hash of the records this database holds, in stored order, each
    /// revision folded with its stored checksum (64 hex digits).
    pub chain_hash: String,
    /// Dirty records: `revision_id (up|down)`.
    pub dirty: Vec<String>,
    /// Revisions newer than this binary.
    pub ahead: Vec<String>,
}
