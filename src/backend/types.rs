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
    /// How far an interrupted step got, when its backend records progress
    /// (Weaviate's `rebuild_collection`); `None` otherwise.
    pub progress: Option<StepProgress>,
}

/// How far a step that copies data has got (Weaviate's
/// `rebuild_collection` copies every object out and back): for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyProgress {
    /// The collection being rebuilt.
    pub collection: String,
    /// False while copying out into the temporary collection, true while copying back.
    pub back: bool,
    /// Objects copied so far in this copy.
    pub done: u64,
    /// Objects to copy, when known.
    pub total: Option<u64>,
}

/// Called by a backend after every batch a step copies; it should return quickly.
pub type CopyObserver = std::sync::Arc<dyn Fn(&CopyProgress) + Send + Sync>;

/// How far an interrupted, resumable step got, as its backend recorded it
/// in the dirty record. `upgrade` resumes such a step from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProgress {
    /// For people: what was done, where the data is now.
    pub summary: String,
    /// The collection holding the only copy of some data, when one does:
    /// `repair` is refused while it is set.
    pub only_copy: Option<String>,
    /// The backend's own record of the progress, which it reads back to
    /// resume.
    pub state: String,
}

/// Whether a history record is trustworthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// The step completed.
    Applied,
    /// A non-atomic step in this direction started and did not finish.
    Dirty(Direction),
}

impl RecordState {
    /// Every state.
    const ALL: [RecordState; 3] = [
        RecordState::Applied,
        RecordState::Dirty(Direction::Up),
        RecordState::Dirty(Direction::Down),
    ];

    /// The `state` string a history record stores: the one mapping all
    /// backends write, and read back with `str::parse`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Applied => "applied",
            RecordState::Dirty(Direction::Up) => "dirty_up",
            RecordState::Dirty(Direction::Down) => "dirty_down",
        }
    }
}

impl std::fmt::Display for RecordState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RecordState {
    type Err = UnknownState;

    /// Reads a stored `state` string; anything else is an error, never a default.
    fn from_str(text: &str) -> Result<RecordState, UnknownState> {
        RecordState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| UnknownState(text.to_string()))
    }
}

/// A history record's `state` is none of `applied`, `dirty_up`, `dirty_down`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state `{0}` (dbmigrate writes `applied`, `dirty_up` or `dirty_down`)")]
pub struct UnknownState(pub String);

/// What a backend can promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// DDL and the history record commit in one transaction.
    pub transactional_ddl: bool,
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

/// A history record written or removed by hand (`stamp`, `repair`).
#[derive(Debug, Clone, Copy)]
pub enum RecordChange<'a> {
    /// Record `migration` as cleanly applied (duration zero) by `applied_by`,
    /// replacing any record of it.
    Applied {
        /// The migration.
        migration: &'a Migration,
        /// Who records it.
        applied_by: &'a str,
    },
    /// Remove the record of this revision id, if any.
    Removed {
        /// The revision id.
        revision_id: &'a str,
    },
}

impl<'a> RecordChange<'a> {
    /// What stamping `step` records: an applied record up, none down.
    pub fn stamp(step: &Step<'a>) -> RecordChange<'a> {
        match step.direction {
            Direction::Up => RecordChange::Applied {
                migration: step.migration,
                applied_by: step.applied_by,
            },
            Direction::Down => RecordChange::Removed {
                revision_id: &step.migration.revision_id,
            },
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_states_read_back_what_they_store_and_nothing_else() {
        for state in RecordState::ALL {
            assert_eq!(state.as_str().parse::<RecordState>(), Ok(state));
        }
        assert_eq!(
            RecordState::Dirty(Direction::Down).to_string(),
            "dirty_down"
        );
        for unknown in ["", "Applied", "dirty", "done"] {
            assert_eq!(
                unknown.parse::<RecordState>(),
                Err(UnknownState(unknown.to_string()))
            );
        }
    }
}
