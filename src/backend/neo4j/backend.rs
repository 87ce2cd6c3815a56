//! [`Neo4jBackend`]: the [`Backend`] implementation for Neo4j.

use std::time::Duration;

use tracing::Instrument;

use super::config::{Names, Neo4jConfig};
use super::cypher::Cypher;
use super::db::Db;
use super::execute::{self, check_in, Call, Guard};
use super::history;
use super::lock::{self, NodeLease};
#[cfg(feature = "testing")]
use super::snapshot;
use crate::backend::held_lease::HeldLease;
use crate::backend::lease::{Lease, LeaseHandle, PauseHook};
use crate::backend::{
    AppliedMigration, Backend, BackendError, Capabilities, PlannedCall, RecordChange, RecordState,
    Step,
};
#[cfg(feature = "testing")]
use crate::migration::Migration;
use crate::migration::{BackendKind, Direction};

#[cfg(feature = "testing")]
mod testing;

/// How long [`Neo4jBackend::connect`] lets the server take to answer one
/// request (neo4rs applies its connection timeout to every response).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Stores the migration history of one Neo4j database and runs `.cypher`
/// migrations on it.
pub struct Neo4jBackend {
    db: Db,
    names: Names,
    config: Neo4jConfig,
    held: HeldLease,
    hook: Option<PauseHook>,
}

impl Neo4jBackend {
    /// A backend on an existing connection pool. neo4rs waits for each
    /// server response at most its `connection_timeout` (30 s by default):
    /// build the graph with a timeout above the longest statement you
    /// migrate with, as [`Neo4jBackend::connect`] does. The pool must allow
    /// at least two connections (neo4rs' default is 16): under the lock,
    /// each explicit transaction records its id on the lock node in a write
    /// of its own while it stays open, so with one connection that write
    /// would wait for ever.
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
            held: HeldLease::default(),
            hook: None,
        }
    }

    /// Connects to `uri` (`neo4j://`, `bolt://`, …) with the default
    /// configuration; `database` `None` takes the server's default database.
    /// Responses may take up to [`RESPONSE_TIMEOUT`] (a long data statement,
    /// an index coming online); [`Neo4jBackend::connect_with`] sets another.
    pub fn connect(
        uri: &str,
        user: &str,
        password: &str,
        database: Option<&str>,
    ) -> Result<Neo4jBackend, BackendError> {
        let config = Neo4jConfig {
            database: database.map(str::to_owned),
            ..Neo4jConfig::default()
        };
        Neo4jBackend::connect_with(uri, user, password, config)
    }

    /// Connects to `uri` with `config`: its database, and
    /// [`Neo4jConfig::response_timeout`] as the longest a server answer may
    /// take. No neo4rs type is needed, so an application does not depend on
    /// the neo4rs release this crate pins.
    pub fn connect_with(
        uri: &str,
        user: &str,
        password: &str,
        mut config: Neo4jConfig,
    ) -> Result<Neo4jBackend, BackendError> {
        let location = crate::backend::redact_url(uri);
        let mut builder = neo4rs::ConfigBuilder::default()
            .uri(uri)
            .user(user)
            .password(password)
            .connection_timeout(config.response_timeout);
        if let Some(database) = &config.database {
            builder = builder.db(database.as_str());
        }
        let graph = builder
            .build()
            .and_then(neo4rs::Graph::connect)
            .map_err(|e| BackendError::Connection {
                location: location.clone(),
                message: e.to_string(),
            })?;
        if config.location == Neo4jConfig::default().location {
            config.location = location;
        }
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
    async fn ensure_constraint(&self, name: &str, cypher: Cypher) -> Result<(), BackendError> {
        // A schema statement waits for open transactions, even when the
        // constraint exists (a stalled run's transaction would block the
        // run taking over): look first, with a read.
        let exists =
            Cypher::new("SHOW CONSTRAINTS YIELD name WHERE name = $name RETURN count(*) AS n")
                .param("name", super::cypher::Param::Str(name.to_owned()));
        let rows = self
            .db
            .rows(exists.to_query(0))
            .await
            .map_err(|e| self.db.error(e))?;
        if rows.first().and_then(|row| row.get::<i64>("n").ok()) == Some(1) {
            return Ok(());
        }
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

    /// Pauses the run at every [`Checkpoint`](crate::backend::lease::Checkpoint)
    /// of a locked step until the hook's future completes, without renewing
    /// the lease (fault tests).
    #[cfg(feature = "testing")]
    pub fn with_pause_hook(mut self, hook: PauseHook) -> Neo4jBackend {
        self.hook = Some(hook);
        self
    }

    /// Before a locked step: the lease checked ([`HeldLease::before_step`])
    /// and the fence check its step transaction starts with.
    async fn guard(&self, step: &Step<'_>) -> Result<Option<Guard>, BackendError> {
        let lease = self.held.before_step(self, step).await?;
        Ok(lease.map(|lease| self.fenced(lease)))
    }

    /// A held lease with the check of its fencing token.
    fn fenced(&self, lease: LeaseHandle) -> Guard {
        Guard {
            fence_check: lock::renew(&self.names, lease.fence(), self.config.lease),
            lease,
            names: self.names.clone(),
            lease_length: self.config.lease,
        }
    }

    /// The exact calls of a step: statements and bookkeeping.
    fn calls(&self, step: &Step<'_>) -> Vec<Call> {
        step_calls(&self.names, step)
    }

    /// The calls of `step` as [`Backend::plan`] gives them, without a
    /// connection (`plan --offline`).
    pub fn offline_calls(config: &Neo4jConfig, step: &Step<'_>) -> Vec<PlannedCall> {
        let names = Names::new(&config.label_prefix);
        step_calls(&names, step).iter().map(Call::planned).collect()
    }

    /// The constraint that [`Backend::ensure_history`] creates when missing
    /// (`plan --offline`).
    pub fn offline_setup(config: &Neo4jConfig) -> Vec<PlannedCall> {
        let names = Names::new(&config.label_prefix);
        vec![Call::Bookkeeping(history::ensure_constraint(&names)).planned()]
    }
}

/// The exact calls of a step: statements and bookkeeping.
fn step_calls(names: &Names, step: &Step<'_>) -> Vec<Call> {
    let migration = step.migration;
    let statements = execute::statements(
        migration.section(step.direction).script(),
        migration.section_line(step.direction),
    );
    let grouped = execute::group(&statements, migration.options.transaction);
    let (dirty, record) = match step.direction {
        Direction::Up => (
            history::write(
                names,
                migration,
                RecordState::Dirty(Direction::Up),
                step.applied_by,
            ),
            history::write(names, migration, RecordState::Applied, step.applied_by),
        ),
        Direction::Down => (
            history::mark_reverting(names, migration, step.applied_by),
            history::delete(names, &migration.revision_id),
        ),
    };
    execute::with_bookkeeping(grouped, dirty, record)
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
        let name = format!("{}Migration_revision_id", self.names.prefix);
        self.ensure_constraint(&name, history::ensure_constraint(&self.names))
            .await
    }

    async fn lock(&self, owner: &str, timeout: Duration) -> Result<(), BackendError> {
        if self.held.still_held() {
            return Ok(());
        }
        let name = format!("{}Lock_name", self.names.prefix);
        self.ensure_constraint(&name, lock::ensure_constraint(&self.names))
            .await?;
        let store = NodeLease {
            db: self.db.clone(),
            names: self.names.clone(),
            owner: self.config.owner.as_deref().unwrap_or(owner).to_owned(),
            lease: self.config.lease,
        };
        let lease = Lease::acquire(
            Box::new(store),
            self.config.lease,
            timeout,
            self.hook.clone(),
        )
        .await?;
        self.held.keep(lease);
        Ok(())
    }

    fn abandon_lock(&self) {
        self.held.abandon();
    }

    async fn unlock(&self) -> Result<(), BackendError> {
        self.held.release().await
    }

    async fn apply(&self, step: &Step<'_>) -> Result<Duration, BackendError> {
        let guard = self.guard(step).await?;
        let calls = self.calls(step);
        let span = tracing::info_span!("neo4j_step", revision = %step.migration.revision_id, direction = ?step.direction);
        execute::run(&self.db, step.migration, &calls, guard.as_ref())
            .instrument(span)
            .await
    }

    fn plan(&self, step: &Step<'_>) -> Result<Vec<PlannedCall>, BackendError> {
        Ok(self.calls(step).iter().map(Call::planned).collect())
    }

    async fn write_record(&self, change: RecordChange<'_>) -> Result<(), BackendError> {
        self.write_records(&[change]).await
    }

    async fn write_records(&self, changes: &[RecordChange<'_>]) -> Result<(), BackendError> {
        // One explicit transaction: a failing record leaves none written.
        // Under a lease it starts with the fence check of its token, which
        // holds the lock node until the commit: a stale holder writes nothing.
        let guard = self.held.handle().map(|lease| self.fenced(lease));
        let mut txn = execute::begin(&self.db, guard.as_ref())
            .await
            .map_err(|e| self.db.error(e))?;
        if let Some(guard) = &guard {
            if let Err(error) = check_in(&self.db, &mut txn, guard).await {
                let _ = txn.rollback().await;
                return Err(error);
            }
        }
        let mut result = Ok(());
        for change in changes {
            let cypher = match *change {
                RecordChange::Applied {
                    migration,
                    applied_by,
                } => history::write(&self.names, migration, RecordState::Applied, applied_by),
                RecordChange::Removed { revision_id } => history::delete(&self.names, revision_id),
            };
            result = txn.run(cypher.to_query(0)).await.map(drop);
            if result.is_err() {
                break;
            }
        }
        let result = match result {
            Ok(()) => txn.commit().await.map(drop),
            Err(error) => {
                let _ = txn.rollback().await;
                Err(error)
            }
        };
        match (result, &guard) {
            (Ok(()), _) => Ok(()),
            (Err(error), Some(guard)) => Err(guard
                .taken_over(&error)
                .await
                .unwrap_or_else(|| self.db.error(error))),
            (Err(error), None) => Err(self.db.error(error)),
        }
    }
}

impl Drop for Neo4jBackend {
    /// Stops renewing the lease and, when a runtime is at hand, releases the
    /// lock; otherwise it lapses when its lease expires.
    fn drop(&mut self) {
        self.held.abandon();
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
