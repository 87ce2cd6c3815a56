//! `stamp` under the lock: the history records of every pending step are
//! written per backend as one unit ([`Backend::write_records`]), so a
//! failure half-way leaves that backend's history as it was.

use std::time::Duration;

use crate::backend::{Backend, RecordChange, Step};
use crate::migration::{BackendKind, Direction, Migration};

use super::error::RunError;
use super::migrator::Migrator;
use super::report::{Report, StepReport};

impl Migrator {
    /// Records `pending` (in timeline order) as applied (`Up`) or removed
    /// (`Down`), one unit per backend, running no statement.
    pub(super) async fn stamp_locked(
        &self,
        pending: &[&Migration],
        direction: Direction,
        report: &mut Report,
    ) -> Result<(), RunError> {
        let mut kinds: Vec<BackendKind> = Vec::new();
        for migration in pending {
            if !kinds.contains(&migration.backend) {
                kinds.push(migration.backend);
            }
        }
        for kind in kinds {
            let backend: &dyn Backend = self.backends[&kind].as_ref();
            let mine: Vec<&Migration> = pending
                .iter()
                .copied()
                .filter(|m| m.backend == kind)
                .collect();
            let steps: Vec<Step<'_>> = mine
                .iter()
                .map(|migration| Step {
                    migration,
                    direction,
                    applied_by: &self.options.applied_by,
                })
                .collect();
            let changes: Vec<RecordChange<'_>> = steps.iter().map(RecordChange::stamp).collect();
            backend
                .write_records(&changes)
                .await
                .map_err(|source| stamp_error(mine[0], kind, direction, report, source))?;
            for migration in mine {
                report
                    .applied
                    .push(StepReport::new(migration, direction, Duration::ZERO));
            }
        }
        Ok(())
    }
}

fn stamp_error(
    first: &Migration,
    backend: BackendKind,
    direction: Direction,
    report: &Report,
    source: crate::backend::BackendError,
) -> RunError {
    RunError::Step {
        help: format!(
            "nothing was recorded on {backend}: the records are written as one unit; fix the cause and stamp again"
        ),
        path: first.path.clone(),
        revision_id: first.revision_id.clone(),
        backend,
        direction: direction.verb(),
        report: Box::new(report.clone()),
        cause: Box::new(source),
    }
}
