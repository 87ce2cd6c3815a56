//! Errors of a round-trip run: each names the migration, the step and, for a
//! schema mismatch, the objects that differ.

use crate::backend::BackendError;
use crate::migration::BackendKind;

use super::step::{StepReport, Verdict, DETAIL_LINES};

/// A round trip failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoundTripError {
    /// A migration did not round-trip (its up or down failed, or the down
    /// is not the up's inverse); the step's findings say which objects.
    #[error("{}", render_failure(step))]
    StepFailed {
        /// What the failing step found.
        step: Box<StepReport>,
        /// Every step up to it (the rest `not run`).
        report: Box<super::StairwayReport>,
    },
    /// A step, snapshot or fixture failed on the database.
    #[error("{revision_id} {slug}: {action} failed on {backend}: {cause}")]
    Backend {
        /// The migration's revision id.
        revision_id: String,
        /// Its slug.
        slug: String,
        /// The backend.
        backend: BackendKind,
        /// What the harness was doing (`upgrade`, `downgrade`, `snapshot`, `fixture <path>`).
        action: String,
        /// The database's error. It is part of this message, so it is not also
        /// given as `source()` (the cause would print twice).
        cause: Box<BackendError>,
    },
    /// A migration targets a backend the stairway was not given.
    #[error("{path}: is a {backend} migration but the stairway has no {backend} backend\n  help: add one with `Stairway::backend` (or `Stairway::postgres`)")]
    NoBackend {
        /// The migration's file.
        path: String,
        /// Its backend.
        backend: BackendKind,
    },
    /// Migrations could not be read or parsed.
    #[error(transparent)]
    Load(Box<crate::Error>),
    /// A fixture file could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error. It is part of this message, so it is not also
        /// given as `source()` (the cause would print twice).
        cause: std::io::Error,
    },
    /// The run was cancelled ([`Stairway::cancel_on`](super::Stairway::cancel_on)):
    /// the step that was running was not judged.
    #[error("interrupted: the round trip stopped before its end")]
    Interrupted,
    /// Creating, connecting to or dropping a scratch database failed.
    #[error("{location}: {message}")]
    Database {
        /// The server, password removed.
        location: String,
        /// What failed.
        message: String,
    },
}

impl RoundTripError {
    /// What failed, in a few words, for the table row of the migration that
    /// was running (`schema snapshot failed`); the error itself says more.
    pub fn what_failed(&self) -> String {
        match self {
            RoundTripError::Backend { action, .. } => format!("{action} failed"),
            RoundTripError::Interrupted => "interrupted".to_string(),
            other => other
                .to_string()
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

fn render_failure(step: &StepReport) -> String {
    let reupgrade_only = step.downgrade.passes() && !step.reupgrade.passes();
    let (what, help) = match step.verdict {
        Verdict::UpFailed => ("the up section failed", "fix the up section's statement"),
        Verdict::DownFailed => ("the down section failed", "fix the down section's statement"),
        _ if reupgrade_only => (
            "upgrade after downgrade differs from the first upgrade",
            "make the down section remove everything, so the up section can run again from a clean state",
        ),
        _ => (
            "downgrade did not restore the schema",
            "make the down section undo exactly what the up section does",
        ),
    };
    format!(
        "{} {}: {what} ({}):\n{}  --> {}\n  help: {help}",
        step.revision_id,
        step.slug,
        step.backend,
        step.findings_text(Some(DETAIL_LINES)),
        step.path
    )
}

impl From<crate::Error> for RoundTripError {
    fn from(error: crate::Error) -> Self {
        RoundTripError::Load(Box::new(error))
    }
}
