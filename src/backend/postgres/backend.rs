//! `PostgresBackend`: the history table, the advisory lock and the steps,
//! on a sqlx pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{PgPool, Postgres, Row};

use crate::backend::{
    AppliedMigration, Backend, BackendError, Capabilities, PlannedCall, RecordChange, RecordState,
    Step, UnknownState,
};
use crate::migration::{BackendKind, TransactionMode};

use super::group::{Group, COMMIT_FLUSH};
use super::lock::AdvisoryLock;
use super::{apply, grouped, sql};

/// Where the history lives and how steps run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// Schema of the history table (default `public`).
    pub schema: String,
    /// Name of the history table (default `dbmigrate_history`).
    pub table: String,
    /// Project default `lock_timeout` for steps; a migration header overrides it.
    pub lock_timeout: Option<Duration>,
    /// Project default `statement_timeout` for steps; a migration header overrides it.
    pub statement_timeout: Option<Duration>,
    /// The advisory lock key (default: derived from schema and table).
    pub lock_key: i64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig::for_table("public", "dbmigrate_history")
    }
}

impl PostgresConfig {
    /// A config for a history table, with the lock key derived from its name.
    pub fn for_table(schema: &str, table: &str) -> PostgresConfig {
        PostgresConfig {
            schema: schema.to_string(),
            table: table.to_string(),
            lock_timeout: None,
            statement_timeout: None,
            lock_key: lock_key_for(&format!("dbmigrate:{schema}.{table}")),
        }
    }
}

/// FNV-1a, so the key is stable across builds and platforms.
fn lock_key_for(name: &str) -> i64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash as i64
}

/// PostgreSQL through a sqlx pool.
///
/// History reads, `stamp` and `repair` use the pool. A locked run opens one
/// dedicated session with the pool's connect options (the pool's
/// `after_connect` hook does not run on it: put a `search_path` in the URL's
/// `options` or in the migration) that holds the advisory lock and runs the
/// steps, so the lock cannot outlive or undercut a running step.
pub struct PostgresBackend {
    pub(super) pool: PgPool,
    pub(super) config: PostgresConfig,
    pub(super) location: String,
    lock: AdvisoryLock,
    /// A step committed asynchronously since the last flush.
    pub(super) unflushed: AtomicBool,
    /// The run was cancelled: [`Backend::interrupt`] asked the server to
    /// stop the running statement; steps stop before their next statement.
    pub(super) interrupted: AtomicBool,
    /// How long a group of steps stays open; zero (the default) commits
    /// each step on its own.
    group_budget: std::time::Duration,
    /// The open group of the lock session, if any.
    group: Mutex<Option<Group>>,
    /// Whether the database has deferrable constraints (`None`: not asked
    /// since the lock was taken, or a step may have changed it).
    deferrable: Mutex<Option<bool>>,
    /// A step ran since the lock was taken.
    pub(super) stepped: AtomicBool,
}

/// The connection a step runs on: the lock's own session while the lock is
/// held (so a cancelled run keeps the lock until its step's transaction has
/// ended, and no pool ping per step), else a pooled one.
pub(super) enum Work {
    /// The dedicated lock session.
    Session(sqlx::PgConnection),
    /// A pooled connection (no lock held: tests, fixtures).
    Pooled(PoolConnection<Postgres>),
}

impl std::ops::Deref for Work {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &sqlx::PgConnection {
        match self {
            Work::Session(conn) => conn,
            Work::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Work {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        match self {
            Work::Session(conn) => conn,
            Work::Pooled(conn) => conn,
        }
    }
}

impl PostgresBackend {
    /// The calls of `step` as [`Backend::plan`] gives them, without a
    /// connection (`plan --offline`).
    pub fn offline_calls(config: &PostgresConfig, step: &Step<'_>) -> Vec<PlannedCall> {
        sql::step_calls(config, step)
    }

    /// The statement that creates the history table when missing, as
    /// [`Backend::ensure_history`] runs it (`plan --offline`).
    pub fn offline_setup(config: &PostgresConfig) -> Vec<PlannedCall> {
        vec![PlannedCall {
            language: "sql",
            text: format!("{}\n", sql::create_history(config)),
            bookkeeping: true,
        }]
    }

    /// A backend on `pool`.
    pub fn new(pool: PgPool, config: PostgresConfig) -> PostgresBackend {
        let location = describe(&pool.connect_options());
        PostgresBackend {
            pool,
            config,
            location,
            lock: AdvisoryLock::default(),
            unflushed: AtomicBool::new(false),
            interrupted: AtomicBool::new(false),
            group_budget: Duration::ZERO,
            group: Mutex::new(None),
            deferrable: Mutex::new(None),
            stepped: AtomicBool::new(false),
        }
    }

    /// Sets how long consecutive transactional steps of a locked run share
    /// one transaction (each in a savepoint) before it commits; zero, the
    /// default, commits each step on its own. Opt in (for example with
    /// [`super::GROUP_BUDGET`]) only where holding a finished step's locks
    /// through the next step is harmless — a database no application uses
    /// yet: a quick `ALTER TABLE` followed by a long backfill would keep
    /// the table locked for the whole backfill.
    pub fn with_group_budget(mut self, budget: Duration) -> PostgresBackend {
        self.group_budget = budget;
        self
    }

    pub(super) fn group_budget(&self) -> Duration {
        self.group_budget
    }

    pub(super) fn group(&self) -> Option<Group> {
        *self.group.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_group(&self, group: Option<Group>) {
        *self.group.lock().unwrap_or_else(PoisonError::into_inner) = group;
    }

    pub(super) fn deferrable(&self) -> Option<bool> {
        *self
            .deferrable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_deferrable(&self, exists: Option<bool>) {
        *self
            .deferrable
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = exists;
    }

    /// Whether a transactional step joins a group: a budget is set and the
    /// step runs on the lock session.
    fn grouping(&self) -> bool {
        !self.group_budget.is_zero() && self.lock.pid().is_some()
    }

    /// Connects a small pool to `url` (errors never show the password). A
    /// refused connection, a wrong scheme or a refused login is reported at
    /// once; only a server starting up or out of slots is retried, briefly.
    pub async fn connect(url: &str) -> Result<PostgresBackend, BackendError> {
        let redacted = crate::backend::redact_url(url);
        let pool = super::connect::open_pool(url, &redacted).await?;
        Ok(PostgresBackend::new(pool, PostgresConfig::default()))
    }

    /// Replaces the config.
    pub fn with_config(mut self, config: PostgresConfig) -> PostgresBackend {
        self.config = config;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The connection for a step: the lock session when held, else a pooled one.
    pub(super) async fn work_connection(&self) -> Result<Work, BackendError> {
        match self.lock.take_session() {
            Some(conn) => Ok(Work::Session(conn)),
            None => self
                .pool
                .acquire()
                .await
                .map(Work::Pooled)
                .map_err(|e| self.error(&e)),
        }
    }

    /// Gives a connection back after a step (the lock session stays the lock's).
    /// The step's session reset ran `DEALLOCATE ALL`, which removed sqlx's
    /// cached prepared statements on the server too: forget them on our side
    /// (closing a statement that no longer exists is not an error), or the
    /// next query on this connection would name one that is gone.
    pub(super) async fn keep_connection(&self, mut work: Work) {
        if sqlx::Connection::clear_cached_statements(&mut *work)
            .await
            .is_err()
        {
            if let Work::Pooled(mut conn) = work {
                conn.close_on_drop();
            }
            return;
        }
        if let Work::Session(conn) = work {
            self.lock.put_session(conn);
        }
    }

    /// Gives a connection back after a failed step, once `cleanup` (a
    /// ROLLBACK and the session reset) ran on it. A session that cannot run
    /// it is broken: a pooled one is closed instead of returned, and the lock
    /// session is dropped (ending it releases the lock).
    /// Whether `cleanup` ran.
    pub(super) async fn recover_connection(&self, mut work: Work, cleanup: &str) -> bool {
        let cleaned = sqlx::Executor::execute(&mut *work, sqlx::raw_sql(cleanup)).await;
        match (work, cleaned) {
            (work, Ok(_)) => {
                self.keep_connection(work).await;
                return true;
            }
            (Work::Session(conn), Err(_)) => drop(conn),
            (Work::Pooled(mut conn), Err(_)) => conn.close_on_drop(),
        }
        false
    }

    /// Whether the run was cancelled ([`Backend::interrupt`]).
    pub(super) fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Acquire)
    }

    /// Whether `error` is the server stopping a statement because this run
    /// was cancelled (SQLSTATE 57014 after [`Backend::interrupt`]; without
    /// it, 57014 is a `statement_timeout`).
    pub(super) fn cancelled_by_us(&self, error: &sqlx::Error) -> bool {
        self.is_interrupted()
            && error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "57014")
    }

    pub(super) fn error(&self, error: &sqlx::Error) -> BackendError {
        BackendError::Connection {
            location: self.location.clone(),
            message: error.to_string(),
        }
    }

    async fn run(&self, text: &str) -> Result<(), BackendError> {
        sqlx::Executor::execute(&self.pool, sqlx::raw_sql(text))
            .await
            .map(|_| ())
            .map_err(|e| self.error(&e))
    }
}

/// `postgres://user@host:port/db`: the options never hold a password we show.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

/// A history row, or the error naming the record whose value dbmigrate
/// never writes (nothing is defaulted).
fn record(row: &PgRow, location: &str) -> Result<AppliedMigration, BackendError> {
    let unreadable = |e: sqlx::Error| BackendError::CorruptHistory {
        location: location.to_string(),
        message: e.to_string(),
    };
    let revision_id: String = row.try_get(0).map_err(unreadable)?;
    let corrupt = |message: String| BackendError::CorruptRecord {
        location: location.to_string(),
        backend: BackendKind::Postgres,
        revision_id: revision_id.clone(),
        message,
    };
    let millis = |column: usize, name: &str| {
        let text: String = row.try_get(column).map_err(unreadable)?;
        text.parse::<u64>().map_err(|_| {
            corrupt(format!(
                "`{name}` is {text} ms, not a count of milliseconds"
            ))
        })
    };
    let applied_at = millis(4, "applied_at")?;
    let duration_ms = millis(5, "duration_ms")?;
    let state: String = row.try_get(6).map_err(unreadable)?;
    let state = state
        .parse()
        .map_err(|e: UnknownState| corrupt(e.to_string()))?;
    Ok(AppliedMigration {
        parent: row.try_get(1).map_err(unreadable)?,
        message: row.try_get(2).map_err(unreadable)?,
        checksum: row.try_get(3).map_err(unreadable)?,
        applied_at: SystemTime::UNIX_EPOCH + Duration::from_millis(applied_at),
        duration: Duration::from_millis(duration_ms),
        state,
        applied_by: row.try_get(7).map_err(unreadable)?,
        progress: None,
        revision_id,
    })
}

fn missing_table(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "42P01" || code == "3F000")
}

#[async_trait::async_trait]
impl Backend for PostgresBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: true,
        }
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    async fn read_history(&self) -> Result<Vec<AppliedMigration>, BackendError> {
        let rows = match sqlx::Executor::fetch_all(
            &self.pool,
            sqlx::raw_sql(&sql::select_history(&self.config)),
        )
        .await
        {
            Ok(rows) => rows,
            Err(error) if missing_table(&error) => return Ok(Vec::new()),
            Err(error) => return Err(self.error(&error)),
        };
        rows.iter().map(|row| record(row, &self.location)).collect()
    }

    async fn ensure_history(&self) -> Result<(), BackendError> {
        self.run(&sql::create_history(&self.config)).await
    }

    async fn lock(&self, owner: &str, timeout: Duration) -> Result<(), BackendError> {
        self.interrupted.store(false, Ordering::Release);
        self.set_group(None);
        self.set_deferrable(None);
        self.stepped.store(false, Ordering::Release);
        self.lock
            .lock(
                &self.pool,
                self.config.lock_key,
                owner,
                timeout,
                &self.location,
            )
            .await
    }

    async fn unlock(&self) -> Result<(), BackendError> {
        let flushed = self.flush().await;
        let unlocked = self.lock.unlock(self.config.lock_key, &self.location).await;
        flushed.and(unlocked)
    }

    /// Commits the open group synchronously, which also flushes every
    /// earlier asynchronous commit; without a group, one WAL-writing
    /// synchronous commit does.
    async fn flush(&self) -> Result<(), BackendError> {
        let open = self
            .group
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if !self.unflushed.swap(false, Ordering::AcqRel) && open.is_none() {
            return Ok(());
        }
        let text = if open.is_some() {
            COMMIT_FLUSH
        } else {
            sql::FLUSH
        };
        let mut conn = self.work_connection().await?;
        let result = sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(text)).await;
        self.keep_connection(conn).await;
        result.map(|_| ()).map_err(|e| match open {
            Some(group) => BackendError::Connection {
                location: self.location.clone(),
                message: format!(
                    "committing the last {} step(s) of this run failed, so they are not applied \
                     although they were reported; `cargo dbmigrate status` shows what is: {e}",
                    group.steps
                ),
            },
            None => self.error(&e),
        })
    }

    /// Sends `pg_cancel_backend` for the lock session, which runs the
    /// steps, from a pooled connection. A statement running there fails
    /// with SQLSTATE 57014 and its step cleans up as on any error; a
    /// session between statements ignores it, and the step stops before
    /// its next statement.
    async fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Release);
        let Some(pid) = self.lock.pid() else {
            return;
        };
        let sent = sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .persistent(false)
            .execute(&self.pool)
            .await;
        match sent {
            Ok(_) => tracing::info!(pid, "asked PostgreSQL to cancel the running statement"),
            Err(error) => {
                tracing::warn!(pid, %error, "asking PostgreSQL to cancel the running statement failed")
            }
        }
    }

    fn abandon_lock(&self) {
        self.lock.abandon();
    }

    async fn apply(&self, step: &Step<'_>) -> Result<Duration, BackendError> {
        match step.migration.options.transaction {
            TransactionMode::Single if self.grouping() => grouped::single(self, step).await,
            TransactionMode::Single => apply::single(self, step).await,
            TransactionMode::None => {
                grouped::close(self, step).await?;
                self.set_deferrable(None);
                apply::none(self, step).await
            }
        }
    }

    fn plan(&self, step: &Step<'_>) -> Result<Vec<PlannedCall>, BackendError> {
        Ok(sql::step_calls(&self.config, step))
    }

    async fn write_record(&self, change: RecordChange<'_>) -> Result<(), BackendError> {
        let text = match change {
            RecordChange::Applied {
                migration,
                applied_by,
            } => sql::upsert_record(
                &self.config,
                migration,
                applied_by,
                RecordState::Applied.as_str(),
                "0",
            ),
            RecordChange::Removed { revision_id } => sql::delete_record(&self.config, revision_id),
        };
        self.run(&text).await
    }

    async fn write_records(&self, changes: &[RecordChange<'_>]) -> Result<(), BackendError> {
        // One explicit transaction: a failing record leaves none written.
        let mut text = String::from("BEGIN;\n");
        for change in changes {
            text.push_str(&match *change {
                RecordChange::Applied {
                    migration,
                    applied_by,
                } => sql::upsert_record(&self.config, migration, applied_by, "applied", "0"),
                RecordChange::Removed { revision_id } => {
                    sql::delete_record(&self.config, revision_id)
                }
            });
            text.push('\n');
        }
        text.push_str("COMMIT;");
        self.run(&text).await
    }
}
