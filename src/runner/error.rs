//! Errors of a run: refusals found before anything runs, and failures of a
//! step, which carry the report of what was applied before it.

use crate::backend::BackendError;
use crate::error::TargetError;
use crate::migration::BackendKind;

use super::report::Report;

/// A run was refused or failed. Messages name the file and say the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The migrations of the binary could not be loaded.
    #[error("cannot load the migrations: {0}")]
    Migrations(String),
    /// The target does not resolve against the timeline.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An applied migration was edited since.
    #[error("{path}: migration `{revision_id}` was edited after it was applied to {location}: applied checksum {applied}, file checksum {file}\n  help: restore the file as it was applied (git history) and put the change in a new migration (`cargo dbmigrate new`)")]
    ChecksumMismatch {
        /// The file.
        path: String,
        /// Its revision id.
        revision_id: String,
        /// The database.
        location: String,
        /// Checksum stored when it was applied.
        applied: String,
        /// Checksum of the file in this binary.
        file: String,
    },
    /// A non-atomic step was interrupted.
    #[error("{location}: migration `{revision_id}` ({path}) is dirty: its {direction} step started and did not finish\n  help: check by hand which of its statements took effect, finish or undo them, then run `cargo dbmigrate repair {revision_id} --applied` (its effects are in place) or `cargo dbmigrate repair {revision_id} --forget` (they are not)")]
    Dirty {
        /// The database.
        location: String,
        /// The revision.
        revision_id: String,
        /// The file, or `unknown file` for a revision this binary does not know.
        path: String,
        /// `up` or `down`.
        direction: &'static str,
    },
    /// The database holds a revision this binary does not know, not after its head.
    #[error("{location}: history holds revision `{revision_id}` which this binary does not know, and it does not follow this binary's head{after}\n  help: the database was migrated from another branch of the history; deploy a binary built from that history, or revert its changes by hand and run `cargo dbmigrate repair {revision_id} --forget`")]
    UnknownRevision {
        /// The database.
        location: String,
        /// The unknown revision.
        revision_id: String,
        /// ` (it follows `X`)` when known.
        after: String,
    },
    /// A migration is missing before an applied one.
    #[error("{missing} is not applied but the later {applied} is\n  help: the history has a gap; apply the missing migration by hand and `cargo dbmigrate stamp`, or restore the history row if it was deleted")]
    Gap {
        /// The file that is not applied.
        missing: String,
        /// A later file that is.
        applied: String,
    },
    /// A downgrade of a database that holds revisions newer than this binary.
    #[error("{location} holds revisions newer than this binary ({revisions}); refusing to downgrade\n  help: downgrade with the binary that applied them")]
    Ahead {
        /// The database.
        location: String,
        /// The newer revisions.
        revisions: String,
    },
    /// A downgrade would cross an irreversible migration.
    #[error("{path}: migration `{revision_id}` is irreversible; refusing to downgrade across it\n  help: pick a target after it (`cargo dbmigrate downgrade {revision_id}`), or restore from a backup")]
    Irreversible {
        /// The file.
        path: String,
        /// The revision.
        revision_id: String,
    },
    /// A target lies on the wrong side of the current position.
    #[error(
        "target `{target}` is {side} the current revision `{current}`\n  help: use `{command}`"
    )]
    WrongDirection {
        /// The target as resolved.
        target: String,
        /// `before` or `after`.
        side: &'static str,
        /// The current revision.
        current: String,
        /// The command to use instead.
        command: &'static str,
    },
    /// A step needs a backend the migrator was not given.
    #[error("{path}: migration `{revision_id}` runs on {backend} but no {backend} backend is configured\n  help: pass `.backend(...)` for it (CLI: set {url_env} or pass {url_flag})", url_env = backend.descriptor().url_env, url_flag = backend.descriptor().url_flag)]
    MissingBackend {
        /// The file.
        path: String,
        /// The revision.
        revision_id: String,
        /// The backend it needs.
        backend: BackendKind,
    },
    /// The history changed again and again while this run waited for the
    /// migration lock (another run kept migrating).
    #[error("the history changed while waiting for the migration lock\n  help: run again once the other run has finished")]
    HistoryMoved,
    /// `repair` found nothing to repair.
    #[error("{0}")]
    NothingToRepair(String),
    /// A backend call outside a step failed (reading history, locking).
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A step failed; `report` holds what was applied before it.
    #[error("{direction} of `{revision_id}` failed on {backend}: {cause}\n  help: {help}")]
    Step {
        /// The file.
        path: String,
        /// The revision.
        revision_id: String,
        /// The backend.
        backend: BackendKind,
        /// `upgrade` or `downgrade`.
        direction: &'static str,
        /// What state the failed step left behind, and what to do.
        help: String,
        /// What was applied before the failure.
        report: Box<Report>,
        /// The backend's error. It is part of this message, so it is not also
        /// given as `source()` (the cause would print twice).
        cause: Box<BackendError>,
    },
}

impl RunError {
    /// What was applied before a failed step; `None` when the run was
    /// refused before anything ran.
    pub fn report(&self) -> Option<&Report> {
        match self {
            RunError::Step { report, .. } => Some(report),
            _ => None,
        }
    }
}
