//! `repair`: resolving a dirty (or unknown) record by hand, under the lock.

use crate::backend::{RecordChange, RecordState};
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
        if repair == Repair::MarkApplied {
            refuse_clean_record(&stored, kind, &revision_id, migration)?;
        }
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
        self.write_locked(kind, change).await?;
        tracing::info!(revision = %revision_id, backend = %kind, action = ?repair, "repaired");
        Ok(revision_id)
    }

    /// Records the file's current checksum for a cleanly applied migration
    /// whose file was edited since (a comment or formatting change that
    /// alters nothing applied). Refused for a dirty record (use
    /// [`Migrator::repair`]) and when the checksums already match.
    pub async fn accept_checksum(&self, revision_id: &str) -> Result<AcceptedChecksum, RunError> {
        let history = self.history()?;
        let mut report = Report::default();
        let stored = self.read_all(&mut report).await?;
        let (kind, revision_id) = find_repair_target(history, &stored, Some(revision_id))?;
        let record = stored_record(&stored, kind, &revision_id);
        let migration = history.get(&revision_id).ok_or_else(|| {
            RunError::NothingToRepair(format!(
                "revision `{revision_id}` is not in this binary's migrations: there is no file checksum to accept"
            ))
        })?;
        let old = record.map(|r| r.checksum.clone()).unwrap_or_default();
        let new = migration.checksum.to_hex();
        if record.is_some_and(|r| r.state != RecordState::Applied) {
            return Err(RunError::NothingToRepair(format!(
                "`{revision_id}` is dirty, not edited\n  help: check which of its statements took effect, then `cargo dbmigrate repair {revision_id} --applied` or `--forget`"
            )));
        }
        if old.eq_ignore_ascii_case(&new) {
            return Err(RunError::NothingToRepair(format!(
                "`{revision_id}` is applied and its file is unchanged (checksum {new}): nothing to accept"
            )));
        }
        let change = RecordChange::Applied {
            migration,
            applied_by: &self.options.applied_by,
        };
        self.write_locked(kind, change).await?;
        tracing::info!(revision = %revision_id, backend = %kind, %old, %new, "accepted the edited file's checksum");
        Ok(AcceptedChecksum {
            revision_id,
            backend: kind,
            old,
            new,
        })
    }

    async fn write_locked(
        &self,
        kind: BackendKind,
        change: RecordChange<'_>,
    ) -> Result<(), RunError> {
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
        Ok(())
    }
}

/// What [`Migrator::accept_checksum`] changed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AcceptedChecksum {
    /// The revision.
    pub revision_id: String,
    /// Its backend.
    pub backend: BackendKind,
    /// The checksum recorded when it was applied (64 hex digits).
    pub old: String,
    /// The file's checksum, now recorded.
    pub new: String,
}

fn stored_record<'s>(
    stored: &'s [Stored],
    kind: BackendKind,
    revision_id: &str,
) -> Option<&'s crate::backend::AppliedMigration> {
    stored
        .iter()
        .filter(|s| s.kind == kind)
        .flat_map(|s| s.records.iter())
        .find(|r| r.revision_id == revision_id)
}

/// `repair --applied` resolves dirty records only: on a clean record it
/// would silently re-record an edited file's checksum.
fn refuse_clean_record(
    stored: &[Stored],
    kind: BackendKind,
    revision_id: &str,
    migration: Option<&crate::migration::Migration>,
) -> Result<(), RunError> {
    let Some(record) = stored_record(stored, kind, revision_id) else {
        return Ok(());
    };
    if record.state != RecordState::Applied {
        return Ok(());
    }
    let file = migration.map(|m| m.checksum.to_hex());
    match file {
        Some(file) if !record.checksum.eq_ignore_ascii_case(&file) => Err(RunError::NothingToRepair(format!(
            "`{revision_id}` is applied cleanly, but its file was edited since (recorded checksum {}, file checksum {file})\n  help: if the edit changes nothing that was applied (a comment, formatting), run `cargo dbmigrate repair {revision_id} --accept-checksum`; otherwise restore the file and put the change in a new migration",
            record.checksum
        ))),
        _ => Err(RunError::NothingToRepair(format!(
            "`{revision_id}` is applied and clean: nothing to repair"
        ))),
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
