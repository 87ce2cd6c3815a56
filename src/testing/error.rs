//! Errors of a round-trip run: each names the migration, the step and, for a
//! schema mismatch, the objects that differ.

use crate::backend::BackendError;
use crate::migration::BackendKind;

use super::diff::SnapshotDiff;

/// Which comparison of a round trip failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// After `down`, the schema differs from the one before `up`.
    Downgrade,
    /// After `down` and `up` again, the schema differs from the first `up`.
    Reupgrade,
}

/// A round trip failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoundTripError {
    /// A migration's schema did not round-trip.
    #[error("{}", render_mismatch(.revision_id, .slug, .path, *.backend, *.mismatch, .diff))]
    SchemaMismatch {
        /// The migration's revision id.
        revision_id: String,
        /// Its slug.
        slug: String,
        /// Its file.
        path: String,
        /// The backend it touches.
        backend: BackendKind,
        /// Which comparison failed.
        mismatch: Mismatch,
        /// Expected (earlier) against actual snapshot.
        diff: SnapshotDiff,
    },
    /// A step, snapshot or fixture failed on the database.
    #[error("{revision_id} {slug}: {action} failed on {backend}: {source}")]
    Backend {
        /// The migration's revision id.
        revision_id: String,
        /// Its slug.
        slug: String,
        /// The backend.
        backend: BackendKind,
        /// What the harness was doing (`upgrade`, `downgrade`, `snapshot`, `fixture <path>`).
        action: String,
        /// The database's error.
        #[source]
        source: Box<BackendError>,
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
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Creating, connecting to or dropping a scratch database failed.
    #[error("{location}: {message}")]
    Database {
        /// The server, password removed.
        location: String,
        /// What failed.
        message: String,
    },
}

fn render_mismatch(
    revision_id: &str,
    slug: &str,
    path: &str,
    backend: BackendKind,
    mismatch: Mismatch,
    diff: &SnapshotDiff,
) -> String {
    let has_extra = diff.extra().next().is_some();
    let has_missing = diff.missing().next().is_some();
    let what = match (mismatch, has_extra, has_missing) {
        (Mismatch::Downgrade, true, false) => "downgrade left behind",
        (Mismatch::Downgrade, false, true) => "downgrade removed more than the upgrade added",
        (Mismatch::Downgrade, _, _) => "downgrade did not restore the schema",
        (Mismatch::Reupgrade, _, _) => "upgrade after downgrade differs from the first upgrade",
    };
    let help = match mismatch {
        Mismatch::Downgrade => "make the down section undo exactly what the up section does",
        Mismatch::Reupgrade => "make the down section remove everything, so the up section can run again from a clean state",
    };
    format!(
        "{revision_id} {slug}: {what} ({backend}):\n{}  --> {path}\n  help: {help}",
        diff.changes()
    )
}

impl From<crate::Error> for RoundTripError {
    fn from(error: crate::Error) -> Self {
        RoundTripError::Load(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::diff_lines;

    fn mismatch(expected: &str, actual: &str, mismatch: Mismatch) -> String {
        RoundTripError::SchemaMismatch {
            revision_id: "20241201_1100_b2c3d4".into(),
            slug: "add_guardian_consent".into(),
            path: "migrations/20241201_1100_b2c3d4_add_guardian_consent.sql".into(),
            backend: BackendKind::Postgres,
            mismatch,
            diff: diff_lines(expected, actual),
        }
        .to_string()
    }

    #[test]
    fn a_leftover_object_is_named_with_the_migration() {
        let message = mismatch(
            "table users\n",
            "table users\nindex t.i: CREATE INDEX i\n",
            Mismatch::Downgrade,
        );
        assert_eq!(
            message,
            "20241201_1100_b2c3d4 add_guardian_consent: downgrade left behind (postgres):\n\
             + index t.i: CREATE INDEX i\n  \
             --> migrations/20241201_1100_b2c3d4_add_guardian_consent.sql\n  \
             help: make the down section undo exactly what the up section does"
        );
    }

    #[test]
    fn a_missing_object_and_a_reupgrade_mismatch_say_so() {
        let removed = mismatch("table a\ntable b\n", "table a\n", Mismatch::Downgrade);
        assert!(removed
            .contains("downgrade removed more than the upgrade added (postgres):\n- table b\n"));
        let reup = mismatch("table a\n", "table b\n", Mismatch::Reupgrade);
        assert!(reup.contains("upgrade after downgrade differs from the first upgrade"));
    }
}
