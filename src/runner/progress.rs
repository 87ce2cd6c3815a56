//! Live progress of a run: what a [`Migrator`](super::Migrator) reports to
//! its observer while it runs, so a caller can show each step as it
//! completes instead of waiting for the final [`Report`](super::Report).

use std::sync::Arc;

use crate::backend::CopyProgress;
use crate::migration::{Direction, Migration};

use super::report::StepReport;

/// One event of a run, in the order they happen. Dry runs and `plan`
/// report none; a failed step reports its start and no finish.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// The run holds its locks and is about to run `n_steps` steps.
    Started {
        /// Up or down.
        direction: Direction,
        /// How many steps follow.
        n_steps: usize,
    },
    /// A step is about to run (`index` counts from 0).
    StepStarted {
        /// The migration.
        migration: &'a Migration,
        /// Up or down.
        direction: Direction,
        /// Its place in this run.
        index: usize,
    },
    /// A step finished and its history record is written.
    StepFinished(&'a StepReport),
    /// The running step copied another batch (Weaviate's
    /// `rebuild_collection`): objects copied so far, of how many.
    Copying(&'a CopyProgress),
}

/// The observer a [`Migrator`](super::Migrator) calls with each [`Progress`]
/// event, on the task that runs the step: it should return quickly.
pub type ProgressObserver = Arc<dyn Fn(Progress<'_>) + Send + Sync>;
