//! [`WeaviateBackend`]: the [`Backend`] trait over the REST API.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::client::{WeaviateClient, WeaviateConfig};
use super::exec::{self, parse_ops, Source};
use super::history::{self, history_class};
use super::lock::{self, ensure_class, Lease};
use crate::backend::{
    AppliedMigration, Backend, BackendError, Capabilities, PlannedCall, RecordChange, RecordState,
    Step,
};
use crate::migration::{BackendKind, Direction, Migration};
use crate::weaviate_ops::{validate, Operation, Schema};

/// Weaviate as a migration target. History lives in `{prefix}History`, the
/// lock in `{prefix}Lock` (prefix `Dbmigrate` unless configured).
#[derive(Debug)]
pub struct WeaviateBackend {
    client: WeaviateClient,
    history_class: String,
    lock_class: String,
    lease: Mutex<Option<Lease>>,
}

impl WeaviateBackend {
    /// A backend over `client`.
    pub fn new(client: WeaviateClient) -> Self {
        let prefix = client.config.collection_prefix.clone();
        WeaviateBackend {
            client,
            history_class: format!("{prefix}History"),
            lock_class: format!("{prefix}Lock"),
            lease: Mutex::new(None),
        }
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

    /// The operations of `migration`'s section for `direction`, validated
    /// offline (irreversibility, shapes) and against `schema`.
    fn checked_ops<'a>(
        &self,
        step: &Step<'a>,
        schema: &Schema,
    ) -> Result<(Vec<Operation>, Source<'a>), BackendError> {
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
        let ops = parse_ops(source, migration.section(step.direction))?;
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
        validate(&ops, schema).map_err(|e| {
            refused(
                migration,
                format!("{} section: {e}", direction_name(step.direction)),
            )
        })?;
        Ok((ops, source))
    }

    async fn put_record(
        &self,
        migration: &Migration,
        state: RecordState,
        applied_by: &str,
        took: Duration,
    ) -> Result<(), BackendError> {
        let properties = history::record(migration, state, applied_by, took);
        let call = history::upsert_call(&self.history_class, &migration.revision_id, properties);
        let results = self.client.expect(&call).await?;
        let error = results
            .pointer("/0/result/errors/error/0/message")
            .and_then(|m| m.as_str());
        match error {
            None => Ok(()),
            Some(message) => Err(BackendError::Other(format!(
                "{}: writing the history record failed: {message}",
                self.location()
            ))),
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
            Err(BackendError::Other(format!(
                "{}: deleting the history record failed: {}",
                self.location(),
                answer.message()
            )))
        }
    }
}

fn refused(migration: &Migration, message: String) -> BackendError {
    BackendError::Refused {
        path: migration.path.clone(),
        message,
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "up",
        Direction::Down => "down",
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
            return Err(BackendError::Other(format!(
                "{}: reading history failed: {}",
                self.location(),
                answer.message()
            )));
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
        let mut held = self.lease.lock().await;
        if held.is_none() {
            *held = Some(lock::acquire(&self.client, &self.lock_class, owner, timeout).await?);
        }
        Ok(())
    }

    async fn unlock(&self) -> Result<(), BackendError> {
        match self.lease.lock().await.take() {
            Some(lease) => lock::release(&self.client, &self.lock_class, lease).await,
            None => Ok(()),
        }
    }

    async fn apply(&self, step: &Step<'_>) -> Result<Duration, BackendError> {
        let schema = exec::read_schema(&self.client).await?;
        let (ops, source) = self.checked_ops(step, &schema)?;
        let migration = step.migration;
        self.put_record(
            migration,
            RecordState::Dirty(step.direction),
            step.applied_by,
            Duration::ZERO,
        )
        .await?;
        let started = Instant::now();
        exec::run_ops(&self.client, source, &ops).await?;
        let took = started.elapsed();
        match step.direction {
            Direction::Up => {
                self.put_record(migration, RecordState::Applied, step.applied_by, took)
                    .await?
            }
            Direction::Down => self.delete_record(&migration.revision_id).await?,
        }
        Ok(took)
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
        let own = exec::plan_ops(&ops, self.client.config.batch_size);
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

#[cfg(feature = "testing")]
#[async_trait::async_trait]
impl crate::testing::TestBackend for WeaviateBackend {
    async fn snapshot(&self) -> Result<crate::testing::SchemaSnapshot, BackendError> {
        let own = [self.history_class.as_str(), self.lock_class.as_str()];
        let text = super::snapshot::snapshot(&self.client, &own).await?;
        Ok(super::snapshot::objects(&text))
    }

    async fn execute_script(
        &self,
        migration: &Migration,
        script: &str,
    ) -> Result<(), BackendError> {
        let source = Source {
            path: &migration.path,
            line: migration.up_line,
        };
        let ops = parse_ops(source, script)?;
        let schema = exec::read_schema(&self.client).await?;
        validate(&ops, &schema).map_err(|e| refused(migration, e.to_string()))?;
        exec::run_ops(&self.client, source, &ops).await
    }
}

impl Drop for WeaviateBackend {
    fn drop(&mut self) {
        let Some(lease) = self.lease.get_mut().take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (client, class) = (self.client.clone(), self.lock_class.clone());
        runtime.spawn(async move {
            let _ = lock::release(&client, &class, lease).await;
        });
    }
}
