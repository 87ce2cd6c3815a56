//! [`WeaviateBackend`]: the [`Backend`] trait over the REST API.

use std::time::{Duration, Instant};

use super::client::{WeaviateClient, WeaviateConfig};
use super::exec::{self, Source};
use super::history::{self, history_class};
use super::lock::{self, ensure_class, ObjectLease};
use super::progress::{CopyWatch, FaultHook, RebuildProgress, Recorder};
#[cfg(feature = "testing")]
use super::snapshot;
use crate::backend::held_lease::HeldLease;
use crate::backend::lease::{Checkpoint, Lease, LeaseHandle, PauseHook};
use crate::backend::{
    AppliedMigration, Backend, BackendError, Capabilities, PlannedCall, RecordChange, RecordState,
    Step,
};
use crate::migration::{BackendKind, Direction, Migration};
use crate::weaviate_ops::{validate, Operation, Schema};

#[cfg(feature = "testing")]
mod testing;

/// Weaviate as a migration target. History lives in `{prefix}History`, the
/// lock in `{prefix}Lock` (prefix `Dbmigrate` unless configured).
#[derive(Debug)]
pub struct WeaviateBackend {
    client: WeaviateClient,
    history_class: String,
    lock_class: String,
    lease: HeldLease,
    hook: Option<PauseHook>,
    fault: Option<FaultHook>,
    copies: CopyWatch,
}

impl WeaviateBackend {
    /// A backend over `client`.
    pub fn new(client: WeaviateClient) -> Self {
        let prefix = client.config.collection_prefix.clone();
        WeaviateBackend {
            client,
            history_class: format!("{prefix}History"),
            lock_class: format!("{prefix}Lock"),
            lease: HeldLease::default(),
            hook: None,
            fault: None,
            copies: CopyWatch::default(),
        }
    }

    /// Pauses the run at every [`Checkpoint`] of a locked step until the
    /// hook's future completes, without renewing the lease (fault tests).
    #[cfg(feature = "testing")]
    pub fn with_pause_hook(mut self, hook: PauseHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Stops a `rebuild_collection` right after it recorded a progress the
    /// hook returns `true` for, as a killed process would (fault tests).
    #[cfg(feature = "testing")]
    pub fn with_fault_hook(mut self, hook: FaultHook) -> Self {
        self.fault = Some(hook);
        self
    }

    /// A backend for `url` with default settings; `api_key` is sent as
    /// `Authorization: Bearer` and never printed.
    pub fn connect(url: &str, api_key: Option<String>) -> Result<Self, BackendError> {
        Ok(Self::new(WeaviateClient::new(
            url,
            api_key,
            WeaviateConfig::default(),
        )?))
    }

    /// The client.
    pub fn client(&self) -> &WeaviateClient {
        &self.client
    }

    /// The call that creates the history collection, as
    /// [`Backend::ensure_history`] makes it when missing (`plan --offline`).
    pub fn offline_setup(&self) -> Vec<PlannedCall> {
        let definition = history_class(&self.history_class);
        let call = super::client::Call::new("POST", "/v1/schema", Some(definition));
        vec![bookkeeping(call.render())]
    }

    /// The operations of `migration`'s section for `direction`, validated
    /// offline (irreversibility, shapes) and against `schema`.
    fn checked_ops<'a>(
        &self,
        step: &Step<'a>,
        schema: &Schema,
    ) -> Result<(&'a [Operation], Source<'a>), BackendError> {
        let migration = step.migration;
        let source = Source {
            path: &migration.path,
            line: migration.section_line(step.direction),
        };
        if step.direction == Direction::Down && migration.options.irreversible {
            return Err(refused(migration, format!(
                "{} is irreversible: it cannot be downgraded (restore a backup, or write a new migration)",
                migration.revision_id
            )));
        }
        let ops = migration.section(step.direction).operations();
        if step.direction == Direction::Up && !migration.options.irreversible {
            if let Some(op) = ops.iter().find(|op| !op.has_inverse()) {
                return Err(refused(
                    migration,
                    format!(
                        "`{}` destroys objects and has no inverse: declare \"irreversible\": true \
                     (downgrading across it is then refused)",
                        op.name()
                    ),
                ));
            }
        }
        validate(ops, schema)
            .map_err(|e| refused(migration, format!("{} section: {e}", step.direction)))?;
        Ok((ops, source))
    }

    async fn put_record(
        &self,
        migration: &Migration,
        state: RecordState,
        applied_by: &str,
        took: Duration,
    ) -> Result<(), BackendError> {
        let class = &self.history_class;
        history::put(
            &self.client,
            class,
            migration,
            state,
            applied_by,
            took,
            None,
        )
        .await
    }

    /// Records the end of a step: applied (up) or removed (down), once the
    /// lease is confirmed on the server.
    async fn finish(
        &self,
        step: &Step<'_>,
        lease: Option<&LeaseHandle>,
        took: Duration,
    ) -> Result<(), BackendError> {
        if let Some(lease) = lease {
            lease.ensure().await?;
        }
        let migration = step.migration;
        match step.direction {
            Direction::Up => {
                self.put_record(migration, RecordState::Applied, step.applied_by, took)
                    .await
            }
            Direction::Down => self.delete_record(&migration.revision_id).await,
        }
    }

    fn recorder<'a>(&'a self, step: &Step<'a>, lease: Option<&'a LeaseHandle>) -> Recorder<'a> {
        Recorder {
            client: &self.client,
            history_class: &self.history_class,
            migration: step.migration,
            direction: step.direction,
            applied_by: step.applied_by,
            lease,
            fault: self.fault.as_ref(),
            copies: self.copies.get(),
        }
    }

    async fn delete_record(&self, revision_id: &str) -> Result<(), BackendError> {
        let answer = self
            .client
            .send(&history::delete_call(&self.history_class, revision_id))
            .await?;
        if answer.ok() || answer.status == 404 {
            Ok(())
        } else {
            Err(BackendError::Rejected {
                location: self.location(),
                what: "deleting the history record".to_string(),
                message: answer.message(),
            })
        }
    }
}

fn refused(migration: &Migration, message: String) -> BackendError {
    BackendError::Refused {
        path: migration.path.clone(),
        message,
    }
}

fn bookkeeping(text: String) -> PlannedCall {
    PlannedCall {
        language: "http",
        text,
        bookkeeping: true,
    }
}

#[async_trait::async_trait]
impl Backend for WeaviateBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Weaviate
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: false,
        }
    }

    fn location(&self) -> String {
        self.client.location().to_string()
    }

    async fn read_history(&self) -> Result<Vec<AppliedMigration>, BackendError> {
        let answer = self
            .client
            .send(&history::read_call(&self.history_class))
            .await?;
        if answer.status == 404 {
            return Ok(Vec::new());
        }
        if !answer.ok() {
            return Err(BackendError::Rejected {
                location: self.location(),
                what: "reading history".to_string(),
                message: answer.message(),
            });
        }
        history::parse_records(&answer.body).map_err(|message| BackendError::CorruptHistory {
            location: self.location(),
            message,
        })
    }

    async fn ensure_history(&self) -> Result<(), BackendError> {
        ensure_class(&self.client, &history_class(&self.history_class)).await
    }

    async fn lock(&self, owner: &str, timeout: Duration) -> Result<(), BackendError> {
        if self.lease.still_held() {
            return Ok(());
        }
        ensure_class(&self.client, &lock::lock_class(&self.lock_class)).await?;
        let store = ObjectLease::new(
            self.client.clone(),
            self.lock_class.clone(),
            owner.to_string(),
        );
        let duration = self.client.config.lease_ttl;
        let lease = Lease::acquire(Box::new(store), duration, timeout, self.hook.clone()).await?;
        self.lease.keep(lease);
        Ok(())
    }

    fn abandon_lock(&self) {
        self.lease.abandon();
    }

    fn observe_copies(&self, observer: Option<crate::backend::CopyObserver>) {
        self.copies.set(observer);
    }

    async fn unlock(&self) -> Result<(), BackendError> {
        self.lease.release().await
    }

    async fn apply(&self, step: &Step<'_>) -> Result<Duration, BackendError> {
        let lease = self.lease.before_step(self, step).await?;
        let schema = exec::read_schema(&self.client).await?;
        let (ops, source) = self.checked_ops(step, &schema)?;
        let migration = step.migration;
        if let Some(lease) = &lease {
            lease.check()?;
        }
        self.put_record(
            migration,
            RecordState::Dirty(step.direction),
            step.applied_by,
            Duration::ZERO,
        )
        .await?;
        let started = Instant::now();
        let recorder = self.recorder(step, lease.as_ref());
        exec::run_ops(&self.client, source, ops, Some(&recorder), None).await?;
        let took = started.elapsed();
        self.finish(step, lease.as_ref(), took).await?;
        Ok(took)
    }

    async fn resume(
        &self,
        step: &Step<'_>,
        record: &AppliedMigration,
    ) -> Result<Option<Duration>, BackendError> {
        let Some(progress) = &record.progress else {
            return Ok(None);
        };
        let migration = step.migration;
        let resume: RebuildProgress = serde_json::from_str(&progress.state).map_err(|e| {
            refused(
                migration,
                format!("the recorded progress is unreadable: {e}"),
            )
        })?;
        let lease = self.lease.handle();
        if let Some(lease) = &lease {
            lease
                .checkpoint(Checkpoint::BeforeStep, &migration.revision_id)
                .await;
            lease.ensure().await?;
            let records = self.read_history().await?;
            if !records.iter().any(|r| r == record) {
                tracing::error!(revision = %migration.revision_id, "the interrupted step's record changed under a held lock");
                return Err(lease.lost_error());
            }
        }
        tracing::info!(revision = %migration.revision_id, progress = %progress.summary, "resuming an interrupted step");
        let source = Source {
            path: &migration.path,
            line: migration.section_line(step.direction),
        };
        let ops = migration.section(step.direction).operations();
        let started = Instant::now();
        let recorder = self.recorder(step, lease.as_ref());
        exec::run_ops(&self.client, source, ops, Some(&recorder), Some(resume)).await?;
        let took = started.elapsed();
        self.finish(step, lease.as_ref(), took).await?;
        Ok(Some(took))
    }

    fn plan(&self, step: &Step<'_>) -> Result<Vec<PlannedCall>, BackendError> {
        let offline = Schema::default();
        let (ops, _) = self.checked_ops(step, &offline)?;
        let migration = step.migration;
        let mut calls = vec![
            bookkeeping("GET /v1/schema".into()),
            bookkeeping("GET /v1/aliases".into()),
        ];
        let dirty = history::record(
            migration,
            RecordState::Dirty(step.direction),
            step.applied_by,
            Duration::ZERO,
        );
        calls.push(bookkeeping(
            history::upsert_call(&self.history_class, &migration.revision_id, dirty).render(),
        ));
        let own = exec::plan_ops(ops, self.client.config.batch_size);
        calls.extend(own.into_iter().map(|text| PlannedCall {
            language: "http",
            text,
            bookkeeping: false,
        }));
        let last = match step.direction {
            Direction::Up => {
                let applied = history::record(
                    migration,
                    RecordState::Applied,
                    step.applied_by,
                    Duration::ZERO,
                );
                history::upsert_call(&self.history_class, &migration.revision_id, applied)
            }
            Direction::Down => history::delete_call(&self.history_class, &migration.revision_id),
        };
        calls.push(bookkeeping(last.render()));
        Ok(calls)
    }

    async fn write_record(&self, change: RecordChange<'_>) -> Result<(), BackendError> {
        if let Some(lease) = self.lease.handle() {
            lease.ensure().await?;
        }
        match change {
            RecordChange::Applied {
                migration,
                applied_by,
            } => {
                self.put_record(migration, RecordState::Applied, applied_by, Duration::ZERO)
                    .await
            }
            RecordChange::Removed { revision_id } => self.delete_record(revision_id).await,
        }
    }
}

impl Drop for WeaviateBackend {
    /// Stops renewing the lease and, when a runtime is at hand, releases the
    /// lock; otherwise it lapses when its lease expires.
    fn drop(&mut self) {
        self.lease.abandon();
    }
}
