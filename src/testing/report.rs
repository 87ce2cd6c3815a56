//! What a stairway run found: every step's verdict, the time per backend,
//! and the table `cargo dbmigrate test` prints.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::migration::{BackendKind, Migration};

use super::step::{StepReport, Verdict};

/// What a stairway run did.
#[derive(Debug, Clone, Default)]
pub struct StairwayReport {
    /// One entry per migration, in order (`not run` after a stop).
    pub steps: Vec<StepReport>,
    /// Wall time spent on each backend (steps, snapshots, fixtures).
    pub time_per_backend: BTreeMap<BackendKind, Duration>,
}

impl StairwayReport {
    /// The report of a run that stopped after `steps` (the first steps of
    /// `migrations`, in order): when `stopped_at` holds what failed while
    /// the next migration was running, that one is `stopped` with it as its
    /// error; every later migration is `not run`. For a caller that
    /// collected [`StairwayEvent`](super::StairwayEvent)s of a run that ended
    /// in an error other than
    /// [`RoundTripError::StepFailed`](super::RoundTripError), which carries
    /// its own report.
    pub fn stopped(
        mut steps: Vec<StepReport>,
        migrations: &[Migration],
        stopped_at: Option<String>,
    ) -> StairwayReport {
        if let (Some(error), Some(migration)) = (stopped_at, migrations.get(steps.len())) {
            let mut step = StepReport::new(migration, Verdict::Stopped);
            step.error = Some(error);
            steps.push(step);
        }
        let mut report = StairwayReport {
            steps,
            time_per_backend: BTreeMap::new(),
        };
        report.fill_not_run(migrations);
        report
    }

    /// Adds a `not run` step for every migration after the steps so far.
    pub(super) fn fill_not_run(&mut self, migrations: &[Migration]) {
        for migration in migrations.iter().skip(self.steps.len()) {
            self.steps.push(StepReport::new(migration, Verdict::NotRun));
        }
    }

    /// Whether no step failed.
    pub fn passed(&self) -> bool {
        !self.steps.iter().any(|step| step.verdict.failed())
    }

    /// `postgres: 6 migrations round-tripped in 1.2s (statements 0.4s)`,
    /// one line per backend; the rest of the time is snapshots, fixtures and
    /// bookkeeping.
    pub fn timing_summary(&self) -> String {
        let mut out = String::new();
        for (backend, time) in &self.time_per_backend {
            let steps = self.steps.iter().filter(|step| step.backend == *backend);
            let (count, statements) = steps.fold((0, Duration::ZERO), |(count, total), step| {
                let moves = step.up + step.down.unwrap_or_default() + step.reup.unwrap_or_default();
                (count + 1, total + moves)
            });
            out.push_str(&format!(
                "{backend}: {count} migrations round-tripped in {time:.2?} (statements {statements:.2?})\n"
            ));
        }
        out
    }

    /// The table of every migration: verdict, revision, slug, backend and a
    /// one-line summary. Holds no durations, so it can be an insta snapshot.
    pub fn table(&self) -> String {
        let width = self
            .steps
            .iter()
            .map(|step| step.verdict.label().len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for step in &self.steps {
            let mut line = format!(
                "{:width$}  {} {} ({})",
                step.verdict.label(),
                step.revision_id,
                step.slug,
                step.backend
            );
            let summary = step.summary();
            if !summary.is_empty() {
                line.push_str(&format!(": {summary}"));
            }
            if step.rebuilt {
                line.push_str(" [rebuilt from base]");
            }
            let notes = step.notes();
            if !notes.is_empty() {
                let mut names: Vec<&str> = notes
                    .iter()
                    .filter_map(|note| note.tolerance.map(|t| t.name()))
                    .collect();
                names.dedup();
                line.push_str(&format!(" [notes: {}]", names.join(", ")));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
