//! The stairway's moves on one floor: apply a step, take a snapshot, run
//! fixtures, rebuild from base; and the errors they report.

use std::time::Duration;

use crate::backend::{BackendError, Step};
use crate::migration::{Direction, Migration};
use crate::testing::backend::{snapshots_of, Owned, TestBackend};
use crate::testing::error::RoundTripError;
use crate::testing::fixtures::FixturePhase;
use crate::testing::snapshot::SchemaSnapshot;
use crate::testing::step::{StepReport, Verdict};

use super::{Floor, Stairway, APPLIED_BY};

impl Stairway<'_> {
    /// Wipes the floor's database (or what the run owns there) and applies
    /// every up from base through step `index`; `None` when it cannot.
    pub(super) async fn rebuild(
        &self,
        floor: &Floor<'_>,
        index: usize,
    ) -> Result<Option<SchemaSnapshot>, RoundTripError> {
        let migration = &self.migrations[index];
        let (now, revisions): (SchemaSnapshot, Vec<String>);
        let owned = match &floor.owned_labels {
            None => None,
            Some(_) if floor.base_clear.get() != Some(&true) => return Ok(None),
            Some(labels) => {
                now = self.snapshot(floor, migration).await?;
                revisions = self
                    .migrations
                    .iter()
                    .filter(|m| m.backend == migration.backend)
                    .map(|m| m.revision_id.clone())
                    .collect();
                Some(Owned {
                    objects: &now,
                    labels,
                    revisions: &revisions,
                })
            }
        };
        let wiped = floor
            .backend
            .reset(owned)
            .await
            .map_err(|source| backend_error(migration, "rebuilding from base", source))?;
        if !wiped {
            return Ok(None);
        }
        ensure_history(floor.backend, &migration.revision_id).await?;
        let kind = floor.backend.kind();
        for earlier in self.migrations[..=index]
            .iter()
            .filter(|m| m.backend == kind)
        {
            self.apply(floor, earlier, Direction::Up)
                .await
                .map_err(|source| backend_error(earlier, "rebuilding from base", source))?;
        }
        Ok(Some(self.snapshot(floor, migration).await?))
    }

    pub(super) async fn snapshot(
        &self,
        floor: &Floor<'_>,
        migration: &Migration,
    ) -> Result<SchemaSnapshot, RoundTripError> {
        let mut snapshots = floor.snapshots.lock().await;
        let snapshot = snapshots
            .get_or_insert_with(|| snapshots_of(floor.backend))
            .snapshot()
            .await
            .map_err(|source| backend_error(migration, "schema snapshot", source))?;
        drop(snapshots);
        Ok(match &floor.scope {
            Some(scope) => scope(snapshot),
            None => snapshot,
        })
    }

    pub(super) async fn apply(
        &self,
        floor: &Floor<'_>,
        migration: &Migration,
        direction: Direction,
    ) -> Result<Duration, BackendError> {
        let step = Step {
            migration,
            direction,
            applied_by: APPLIED_BY,
        };
        let work = floor.backend.apply(&step);
        let Some(cancel) = &self.cancel else {
            return work.await;
        };
        let cancelled = |started| BackendError::Cancelled {
            at: migration.path.clone(),
            started,
        };
        if cancel.is_cancelled() {
            return Err(cancelled(false));
        }
        // The move runs on a pooled session, not a locked one the backend
        // could cancel: it is abandoned, and its session ends when the
        // caller removes what the run made (a scratch database is dropped
        // with its sessions).
        tokio::select! {
            biased;
            result = work => result,
            () = cancel.cancelled() => Err(cancelled(true)),
        }
    }

    pub(super) async fn run_fixtures(
        &self,
        migration: &Migration,
        phase: FixturePhase,
    ) -> Result<(), RoundTripError> {
        for fixture in self.fixtures.for_step(&migration.revision_id, phase)? {
            let floor = self
                .floors
                .iter()
                .find(|floor| floor.backend.kind() == fixture.backend)
                .ok_or_else(|| RoundTripError::NoBackend {
                    path: fixture.path.display().to_string(),
                    backend: fixture.backend,
                })?;
            let action = format!("fixture {}", fixture.path.display());
            let script = match &self.rewrite {
                Some(rewrite) => rewrite(&fixture.script),
                None => fixture.script,
            };
            floor
                .backend
                .execute_script(migration, &script)
                .await
                .map_err(|source| backend_error(migration, &action, source))?;
        }
        Ok(())
    }
}

pub(super) async fn ensure_history(
    backend: &dyn TestBackend,
    at: &str,
) -> Result<(), RoundTripError> {
    backend
        .ensure_history()
        .await
        .map_err(|source| RoundTripError::Backend {
            revision_id: at.into(),
            slug: "history".into(),
            backend: backend.kind(),
            action: "creating the history store".into(),
            cause: Box::new(source),
        })
}

pub(super) fn failed(mut step: StepReport, verdict: Verdict, error: BackendError) -> StepReport {
    step.verdict = verdict;
    step.error = Some(error.to_string());
    step
}

fn backend_error(migration: &Migration, action: &str, source: BackendError) -> RoundTripError {
    RoundTripError::Backend {
        revision_id: migration.revision_id.clone(),
        slug: migration.slug.clone(),
        backend: migration.backend,
        action: action.to_string(),
        cause: Box::new(source),
    }
}
