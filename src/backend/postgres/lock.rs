//! The migration lock: a session-level advisory lock held by a dedicated
//! connection (never a pooled one that goes back to the pool), in autocommit
//! between steps, so it holds no snapshot and a `CREATE INDEX CONCURRENTLY`
//! never waits on it. The steps of a locked run execute on this same
//! session: if the run is dropped mid-step, the lock is released only when
//! the session ends, after the step's transaction did. Dropping the
//! connection ends the session, which releases the lock.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection, PgPool, Row};

use crate::backend::BackendError;

/// The dedicated lock connection, when the lock is held.
#[derive(Default)]
pub(crate) struct AdvisoryLock {
    held: Mutex<Option<PgConnection>>,
    /// The server process id of the lock session (0 when not held), for
    /// cancelling the statement a step runs on it.
    pid: AtomicI32,
}

const POLL_INTERVAL: Duration = Duration::from_millis(100);

impl AdvisoryLock {
    /// Polls `pg_try_advisory_lock(key)` on a new connection until it is
    /// granted or `timeout` passes; a timeout names the holder. Returns at
    /// once when this backend already holds it.
    pub async fn lock(
        &self,
        pool: &PgPool,
        key: i64,
        owner: &str,
        timeout: Duration,
        location: &str,
    ) -> Result<(), BackendError> {
        // The lock contract (see `Backend::lock`): already ours, nothing to wait for.
        if self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return Ok(());
        }
        let name: String = format!("dbmigrate lock: {owner}")
            .chars()
            .take(63)
            .collect();
        let options = (*pool.connect_options()).clone().application_name(&name);
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(|e| connection(location, &e))?;
        refuse_read_only(&mut conn, location).await?;
        let started = Instant::now();
        loop {
            let (granted, pid): (bool, i32) =
                sqlx::query_as("SELECT pg_try_advisory_lock($1), pg_backend_pid()")
                    .bind(key)
                    .persistent(false)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| connection(location, &e))?;
            if granted {
                self.pid.store(pid, Ordering::Release);
                *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
                return Ok(());
            }
            if started.elapsed() >= timeout {
                let holder = holder(&mut conn, key).await;
                return Err(BackendError::LockTimeout {
                    location: location.to_string(),
                    holder,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Unlocks and closes the lock connection; a no-op when not held.
    pub async fn unlock(&self, key: i64, location: &str) -> Result<(), BackendError> {
        let Some(mut conn) = self.held.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        self.pid.store(0, Ordering::Release);
        let result = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .persistent(false)
            .execute(&mut conn)
            .await;
        // Closing ends the session, which releases the lock even if the unlock failed.
        let _ = conn.close().await;
        result.map(|_| ()).map_err(|e| connection(location, &e))
    }

    /// The server process id of the lock session, while the lock is held.
    pub fn pid(&self) -> Option<i32> {
        Some(self.pid.load(Ordering::Acquire)).filter(|pid| *pid != 0)
    }

    /// Lends the lock session to a step (`None` when the lock is not held).
    pub fn take_session(&self) -> Option<PgConnection> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Takes the lock session back after a step.
    pub fn put_session(&self, conn: PgConnection) {
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
    }

    /// Drops the lock connection without waiting (a cancelled run).
    pub fn abandon(&self) {
        self.pid.store(0, Ordering::Release);
        drop(self.held.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// Fails at once on a session that cannot write: a hot standby
/// (`pg_is_in_recovery()`) grants advisory locks, which are local to it, but
/// can never apply a migration, so waiting for its lock would only delay the
/// same failure.
async fn refuse_read_only(conn: &mut PgConnection, location: &str) -> Result<(), BackendError> {
    let (in_recovery, read_only): (bool, String) =
        sqlx::query_as("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
            .persistent(false)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| connection(location, &e))?;
    let reason = if in_recovery {
        "connected to a read-only standby (pg_is_in_recovery() is true)"
    } else if read_only == "on" {
        "connected to a read-only session (transaction_read_only is on, e.g. default_transaction_read_only)"
    } else {
        return Ok(());
    };
    Err(BackendError::ReadOnly {
        location: location.to_string(),
        reason: reason.to_string(),
    })
}

/// Who holds the advisory lock `key` in this database, for the timeout message.
async fn holder(conn: &mut PgConnection, key: i64) -> String {
    let row = sqlx::query(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.backend_start::text, ''), \
                coalesce(a.state_change::text, ''), coalesce(a.state, '') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid = (($1::bigint >> 32) & 4294967295)::oid AND l.objid = ($1::bigint & 4294967295)::oid \
         LIMIT 1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await;
    match row {
        Ok(Some(row)) => format!(
            "pid {} ({}), connected since {}, {} since {}",
            row.get::<i32, _>(0),
            describe_app(&row.get::<String, _>(1)),
            row.get::<String, _>(2),
            row.get::<String, _>(4),
            row.get::<String, _>(3),
        ),
        Ok(None) => "a session that released it just now".to_string(),
        Err(error) => format!("an unknown session (reading pg_locks failed: {error})"),
    }
}

fn describe_app(name: &str) -> String {
    if name.is_empty() {
        "no application_name".to_string()
    } else {
        format!("application_name `{name}`")
    }
}

fn connection(location: &str, error: &sqlx::Error) -> BackendError {
    BackendError::Connection {
        location: location.to_string(),
        message: error.to_string(),
    }
}
