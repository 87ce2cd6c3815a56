//! [`Neo4jBackend`]: the [`Backend`] implementation for Neo4j.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;

use super::config::{Names, Neo4jConfig};
use super::cypher::Cypher;
use super::db::Db;
use super::execute::{self, Call};
use super::history;
use super::lock::{self, Held};
use crate::backend::{
    AppliedMigration, Backend, BackendError, Capabilities, PlannedCall, RecordChange, RecordState,
    Step,
};
use crate::migration::{BackendKind, Direction, Migration};

/// How long [`Neo4jBackend::connect`] lets the server take to answer one
/// request (neo4rs applies its connection timeout to every response).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Stores the migration history of one Neo4j database and runs `.cypher`
/// migrations on it.
pub struct Neo4jBackend {
    db: Db,
    names: Names,
    config: Neo4jConfig,
    held: Mutex<Option<Held>>,
}

impl Neo4jBackend {
    /// A backend on an existing connection pool. neo4rs waits for each
    /// server response at most its `connection_timeout` (30 s by default):
    /// build the graph with a timeout above the longest statement you
    /// migrate with, as [`Neo4jBackend::connect`] does.
    pub fn new(graph: neo4rs::Graph, config: Neo4jConfig) -> Neo4jBackend {
        let location = match &config.database {
            Some(database) if !config.location.contains(database.as_str()) => {
                format!("{} (database {database})", config.location)
            }
            _ => config.location.clone(),
        };
        Neo4jBackend {
            db: Db {
                graph,
                database: config.database.clone(),
                location,
            },
            names: Names::new(&config.label_prefix),
            config,
            held: Mutex::new(None),
        }
    }

    /// Connects to `uri` (`neo4j://`, `bolt://`, …) with the default
    /// configuration; `database` `None` takes the server's default database.
    /// Responses may take up to [`RESPONSE_TIMEOUT`] (a long data statement,
    /// an index coming online).
    pub fn connect(
        uri: &str,
        user: &str,
        password: &str,
        database: Option<&str>,
    ) -> Result<Neo4jBackend, BackendError> {
        let location = crate::backend::redact_url(uri);
        let mut builder = neo4rs::ConfigBuilder::default()
            .uri(uri)
            .user(user)
            .password(password)
            .connection_timeout(RESPONSE_TIMEOUT);
        if let Some(database) = database {
            builder = builder.db(database);
        }
        let graph = builder
            .build()
            .and_then(neo4rs::Graph::connect)
            .map_err(|e| BackendError::Connection {
                location: location.clone(),
                message: e.to_string(),
            })?;
        let config = Neo4jConfig {
            database: database.map(str::to_owned),
            location,
            ..Neo4jConfig::default()
        };
        Ok(Neo4jBackend::new(graph, config))
    }

    /// The same connection with another configuration (label prefix, lease,
    /// …); the location found by [`Neo4jBackend::connect`] is kept unless
    /// `config` names one.
    pub fn with_config(self, mut config: Neo4jConfig) -> Neo4jBackend {
        if config.location == Neo4jConfig::default().location {
            config.location = self.config.location.clone();
        }
        if config.database.is_none() {
            config.database = self.config.database.clone();
        }
        Neo4jBackend::new(self.db.graph.clone(), config)
    }

    /// The configuration in use.
    pub fn config(&self) -> &Neo4jConfig {
        &self.config
    }

    /// Runs a schema statement of our own, tolerating a concurrent runner
    /// that created the same constraint a moment earlier.
    async fn ensure_constraint(&self, cypher: Cypher) -> Result<(), BackendError> {
        let mut last_error = None;
        for _ in 0..3 {
            match self.db.run(cypher.to_query(0)).await {
                Ok(()) => return Ok(()),
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(self.db.error(format!(
            "could not create the bookkeeping constraint ({})",
            last_error.map(|e| e.to_string()).unwrap_or_default()
        )))
    }

    /// Fails when the lease renewal found the lock taken by someone else.
    fn check_lock(&self, migration: &Migration) -> Result<(), BackendError> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.as_ref() {
            Some(held) if held.lost.load(Ordering::SeqCst) => Err(BackendError::Refused {
                path: migration.path.clone(),
                message: format!(
                    "the migration lock on {} expired and was taken by another run; nothing was run\n  help: run again; raise the lease if steps stall longer than it",
                    self.db.location
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The exact calls of a step: statements and bookkeeping.
    fn calls(&self, step: &Step<'_>) -> Vec<Call> {
        let migration = step.migration;
        let statements = execute::statements(
            migration.section(step.direction),
            migration.section_line(step.direction),
        );
        let grouped = execute::group(&statements, migration.options.transaction);
        let (dirty, record) = match step.direction {
            Direction::Up => (
                history::write(
                    &self.names,
                    migration,
                    RecordState::Dirty(Direction::Up),
                    step.applied_by,
                ),
                history::write(
                    &self.names,
                    migration,
                    RecordState::Applied,
                    step.applied_by,
                ),
            ),
            Direction::Down => (
                history::mark_reverting(&self.names, migration, step.applied_by),
                history::delete(&self.names, &migration.revision_id),
            ),
        };
        execute::with_bookkeeping(grouped, dirty, record)
    }

    /// Stops renewing the lease and, when a runtime is at hand, releases the
    /// lock in the background; otherwise it lapses when its lease expires.
    fn release_in_background(&self) {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(held) = held else { return };
        held.renewer.abort();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let db = self.db.clone();
            let query = lock::release(&self.names, &held.token).to_query(0);
            runtime.spawn(async move { db.run(query).await });
        }
    }

    /// Runs one bookkeeping query in auto-commit.
    async fn run_bookkeeping(&self, cypher: Cypher) -> Result<(), BackendError> {
        self.db
            .run(cypher.to_query(0))
            .await
            .map_err(|e| self.db.error(e))
    }
}

#[async_trait::async_trait]
impl Backend for Neo4jBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Neo4j
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: false,
        }
    }

    fn location(&self) -> String {
        self.db.location.clone()
    }

    async fn read_history(&self) -> Result<Vec<AppliedMigration>, BackendError> {
        let rows = self
            .db
            .rows(history::read(&self.names).to_query(0))
            .await
            .map_err(|e| self.db.error(e))?;
        rows.iter()
            .map(|row| history::from_row(row).map_err(|e| self.db.corrupt(e)))
            .collect()
    }

    async fn ensure_history(&self) -> Result<(), BackendError> {
        self.ensure_constraint(history::ensure_constraint(&self.names))
            .await
    }

    async fn lock(&self, owner: &str, timeout: Duration) -> Result<(), BackendError> {
        if self
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
        {
            return Ok(());
        }
        self.ensure_constraint(lock::ensure_constraint(&self.names))
            .await?;
        let owner = self.config.owner.as_deref().unwrap_or(owner);
        let token = lock::new_token(owner);
        let query = lock::acquire(&self.names, &token, owner, self.config.lease);
        lock::acquire_until(&self.db, &query, timeout).await?;
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = lock::spawn_renewer(
            self.db.clone(),
            self.names.clone(),
            token.clone(),
            self.config.lease,
            lost.clone(),
        );
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some(Held {
            token,
            renewer,
            lost,
        });
        Ok(())
    }

    fn abandon_lock(&self) {
        self.release_in_background();
    }

    async fn unlock(&self) -> Result<(), BackendError> {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(held) = held else { return Ok(()) };
        held.renewer.abort();
        self.run_bookkeeping(lock::release(&self.names, &held.token))
            .await
    }

    async fn apply(&self, step: &Step<'_>) -> Result<Duration, BackendError> {
        self.check_lock(step.migration)?;
        let calls = self.calls(step);
        let span = tracing::info_span!("neo4j_step", revision = %step.migration.revision_id, direction = ?step.direction);
        execute::run(&self.db, step.migration, &calls)
            .instrument(span)
            .await
    }

    fn plan(&self, step: &Step<'_>) -> Result<Vec<PlannedCall>, BackendError> {
        Ok(self.calls(step).iter().map(Call::planned).collect())
    }

    async fn write_record(&self, change: RecordChange<'_>) -> Result<(), BackendError> {
        let cypher = match change {
            RecordChange::Applied {
                migration,
                applied_by,
            } => history::write(&self.names, migration, RecordState::Applied, applied_by),
            RecordChange::Removed { revision_id } => history::delete(&self.names, revision_id),
        };
        self.run_bookkeeping(cypher).await
    }
}

#[cfg(feature = "testing")]
#[async_trait::async_trait]
impl crate::testing::TestBackend for Neo4jBackend {
    async fn snapshot(&self) -> Result<crate::testing::SchemaSnapshot, BackendError> {
        let scope = self.config.schema_scope.as_deref();
        let text = super::snapshot::snapshot(&self.db, &self.names, scope).await?;
        Ok(crate::testing::SchemaSnapshot::from_lines(&text))
    }

    async fn execute_script(
        &self,
        migration: &Migration,
        script: &str,
    ) -> Result<(), BackendError> {
        let first_line = if script == migration.up {
            migration.up_line
        } else if script == migration.down {
            migration.down_line
        } else {
            1
        };
        let statements = execute::statements(script, first_line);
        let calls = execute::group(&statements, migration.options.transaction);
        execute::run(&self.db, migration, &calls).await.map(drop)
    }
}

impl Drop for Neo4jBackend {
    /// Stops renewing the lease and, when a runtime is at hand, releases the
    /// lock; otherwise it lapses when its lease expires.
    fn drop(&mut self) {
        self.release_in_background();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn location_never_shows_the_password() {
        let backend = Neo4jBackend::connect(
            "bolt://neo4j:s3cret@127.0.0.1:1",
            "neo4j",
            "s3cret",
            Some("edu"),
        )
        .expect("connecting is lazy");
        assert_eq!(
            backend.location(),
            "bolt://neo4j:***@127.0.0.1:1 (database edu)"
        );
        let backend = Neo4jBackend::connect("bolt://127.0.0.1:1", "neo4j", "s3cret", None)
            .expect("connecting is lazy");
        assert_eq!(backend.location(), "bolt://127.0.0.1:1");
    }
}
