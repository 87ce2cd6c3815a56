//! `repair`: resolving a dirty (or unknown) record by hand, under the lock.

use crate::backend::RecordChange;
use crate::graph::History;
use crate::migration::BackendKind;
use crate::target::Target;

use super::checks::Stored;
use super::error::RunError;
use super::lock::LockGuard;
use super::migrator::{Migrator, Repair};
use super::report::Report;

impl Migrator {
    /// Resolves a dirty record (or forgets an unknown one) under the lock.
    /// With no revision, repairs the only dirty record.
    pub async fn repair(
        &self,
        revision_id: Option<&str>,
        repair: Repair,
    ) -> Result<String, RunError> {
        let history = self.history()?;
        let mut report = Report::default();
        let stored = self.read_all(&mut report).await?;
        let (kind, revision_id) = find_repair_target(history, &stored, revision_id)?;
        refuse_only_copy(&stored, &revision_id)?;
        let migration = history
            .migrations()
            .iter()
            .find(|m| m.revision_id == revision_id);
        let change = match (repair, migration) {
            (Repair::Forget, _) => RecordChange::Removed {
                revision_id: &revision_id,
            },
            (Repair::MarkApplied, Some(migration)) => RecordChange::Applied {
                migration,
                applied_by: &self.options.applied_by,
            },
            (Repair::MarkApplied, None) => {
                return Err(RunError::NothingToRepair(format!(
                    "revision `{revision_id}` is not in this binary's migrations, so it cannot be marked applied\n  help: use `--forget`, or repair with the binary that has it"
                )))
            }
        };
        let backend = self.backends[&kind].as_ref();
        let guard = LockGuard::acquire(
            vec![backend],
            &self.options.applied_by,
            self.options.lock_timeout,
        )
        .await?;
        let result = backend.write_record(change).await;
        let released = guard.release().await;
        result?;
        released?;
        tracing::info!(revision = %revision_id, backend = %kind, action = ?repair, "repaired");
        Ok(revision_id)
    }
}

/// While an interrupted step's progress says a collection holds the only
/// copy of some data, marking it applied or forgetting it would lose that
/// data: only `upgrade`, which resumes the step, may go on.
fn refuse_only_copy(stored: &[Stored], revision_id: &str) -> Result<(), RunError> {
    let progress = stored
        .iter()
        .flat_map(|s| &s.records)
        .filter(|r| r.revision_id == revision_id)
        .find_map(|r| r.progress.as_ref());
    match progress {
        Some(progress) if progress.only_copy.is_some() => Err(RunError::NothingToRepair(format!(
            "`{revision_id}` cannot be repaired: {}, and `repair` would lose them\n  help: run `cargo dbmigrate upgrade`, which resumes the step from where it stopped",
            progress.summary
        ))),
        _ => Ok(()),
    }
}

fn find_repair_target(
    history: &History,
    stored: &[Stored],
    wanted: Option<&str>,
) -> Result<(BackendKind, String), RunError> {
    let records = stored
        .iter()
        .flat_map(|s| s.records.iter().map(move |r| (s.kind, r)));
    match wanted {
        Some(text) => {
            let id = match history.resolve(&Target::Revision(text.to_string()), None) {
                Ok(Some(index)) => history.migrations()[index].revision_id.clone(),
                _ => text.to_string(),
            };
            let mut found = records.filter(|(_, r)| r.revision_id == id);
            found
                .next()
                .map(|(kind, r)| (kind, r.revision_id.clone()))
                .ok_or_else(|| {
                    RunError::NothingToRepair(format!(
                        "no database holds a record of `{text}`: nothing to repair"
                    ))
                })
        }
        None => {
            let dirty: Vec<(BackendKind, String)> = records
                .filter(|(_, r)| r.state != crate::backend::RecordState::Applied)
                .map(|(kind, r)| (kind, r.revision_id.clone()))
                .collect();
            match dirty.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(RunError::NothingToRepair(
                    "no dirty migration: nothing to repair".to_string(),
                )),
                many => Err(RunError::NothingToRepair(format!(
                    "more than one dirty migration: {}\n  help: name the one to repair",
                    many.iter()
                        .map(|(_, id)| id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
    }
}
