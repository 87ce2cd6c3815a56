//! Round-trip (stairway) testing harness: proves every migration's up and
//! down are inverse against real databases, judges the differences object
//! by object, and hands each step's schema snapshot to the caller for
//! review (insta).
//!
//! Declares and re-exports only; see [`Stairway`] for the algorithm and
//! [`judge`] for what counts as a difference.

mod backend;
mod body_whitespace;
mod error;
mod fixtures;
mod judge;
mod load;
mod report;
mod snapshot;
mod stairway;
mod step;
mod time_literal;
mod view_order;

#[cfg(feature = "postgres")]
mod fresh;

pub use backend::{Owned, Snapshots, TestBackend};
pub use error::RoundTripError;
pub use fixtures::{Fixture, FixturePhase, Fixtures};
pub use judge::{judge, Finding, ObjectDiff, Policy, Tolerance};
pub use load::load_history;
pub use report::StairwayReport;
pub use snapshot::{SchemaObject, SchemaSnapshot};
pub use stairway::{Scope, Stairway, StairwayEvent};
pub use step::{StepReport, Verdict, DETAIL_LINES};

#[cfg(feature = "postgres")]
pub use fresh::{drop_database, drop_database_from_guard, FreshDatabase};
