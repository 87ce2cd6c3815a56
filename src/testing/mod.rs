//! Round-trip (stairway) testing harness: proves every migration's up and
//! down are inverse against real databases, and hands each step's schema
//! snapshot to the caller for review (insta).
//!
//! Declares and re-exports only; see [`Stairway`] for the algorithm.

mod diff;
mod error;
mod fixtures;
mod load;
mod stairway;

#[cfg(feature = "postgres")]
mod fresh;
#[cfg(feature = "postgres")]
mod pg_catalog;
#[cfg(feature = "postgres")]
mod pg_snapshot;

pub use diff::{diff_lines, DiffLine, SnapshotDiff};
pub use error::RoundTripError;
pub use fixtures::{Fixture, FixturePhase, Fixtures};
pub use load::load_history;
pub use stairway::{Scope, Stairway, StairwayReport, StepReport};

#[cfg(feature = "postgres")]
pub use fresh::FreshDatabase;
#[cfg(feature = "postgres")]
pub use pg_snapshot::{postgres_schema_snapshot, HISTORY_TABLE_PREFIXES};
