//! The migration lock: one `{prefix}Lock {name: 'lock'}` node under a
//! uniqueness constraint, holding its owner and a lease expiry (server
//! time). The holder renews the lease from a background task; anyone may
//! take over a lock whose lease has expired.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::config::Names;
use super::cypher::{Cypher, Param};
use super::db::Db;
use crate::backend::BackendError;

/// The lock this backend holds.
pub(super) struct Held {
    /// Identifies this holder (owner plus a unique suffix).
    pub token: String,
    /// Renews the lease every third of it.
    pub renewer: JoinHandle<()>,
    /// Set when a renewal found the lock taken by someone else.
    pub lost: Arc<AtomicBool>,
}

/// The uniqueness constraint the lock node lives under (a schema statement).
pub(super) fn ensure_constraint(names: &Names) -> Cypher {
    Cypher::new(format!(
        "CREATE CONSTRAINT {} IF NOT EXISTS FOR (l:{}) REQUIRE l.name IS UNIQUE",
        names.lock_constraint, names.lock
    ))
}

/// Takes the lock when it is free, ours, or expired, in one statement. The
/// dummy write takes the node's write lock before its lease is read, so two
/// contenders cannot both take over an expired lease.
pub(super) fn acquire(names: &Names, token: &str, owner: &str, lease: Duration) -> Cypher {
    Cypher::new(format!(
        "MERGE (l:{} {{name: 'lock'}}) \
         ON CREATE SET l.token = $token, l.owner = $owner, l.acquired_at = datetime(), \
         l.expires_at = datetime() + duration({{milliseconds: $lease_ms}}) \
         SET l.write_lock = true \
         WITH l \
         FOREACH (_ IN CASE WHEN l.token <> $token AND l.expires_at < datetime() THEN [1] ELSE [] END | \
         SET l.token = $token, l.owner = $owner, l.acquired_at = datetime()) \
         FOREACH (_ IN CASE WHEN l.token = $token THEN [1] ELSE [] END | \
         SET l.expires_at = datetime() + duration({{milliseconds: $lease_ms}})) \
         REMOVE l.write_lock \
         RETURN l.token = $token AS acquired, l.owner AS owner, toString(l.expires_at) AS expires_at",
        names.lock
    ))
    .param("token", Param::Str(token.into()))
    .param("owner", Param::Str(owner.into()))
    .param("lease_ms", Param::Int(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)))
}

/// Extends the lease when the lock is still ours; returns how many it renewed.
fn renew(names: &Names, token: &str, lease: Duration) -> Cypher {
    Cypher::new(format!(
        "MATCH (l:{} {{name: 'lock'}}) WHERE l.token = $token \
         SET l.expires_at = datetime() + duration({{milliseconds: $lease_ms}}) \
         RETURN count(l) AS renewed",
        names.lock
    ))
    .param("token", Param::Str(token.into()))
    .param(
        "lease_ms",
        Param::Int(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)),
    )
}

/// Deletes the lock node only when it is still ours.
pub(super) fn release(names: &Names, token: &str) -> Cypher {
    Cypher::new(format!(
        "MATCH (l:{} {{name: 'lock'}}) WHERE l.token = $token DELETE l",
        names.lock
    ))
    .param("token", Param::Str(token.into()))
}

/// A token no other holder has: the owner, this process and a counter.
pub(super) fn new_token(owner: &str) -> String {
    use std::sync::atomic::AtomicU64;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{owner}#{}.{n}.{nanos:x}", std::process::id())
}

/// Tries until `timeout` to take the lock; on timeout names the holder.
pub(super) async fn acquire_until(
    db: &Db,
    query: &Cypher,
    timeout: Duration,
) -> Result<(), BackendError> {
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let rows = db.rows(query.to_query(0)).await.map_err(|e| db.error(e))?;
        let row = rows
            .first()
            .ok_or_else(|| db.corrupt("the lock query returned no row"))?;
        // `null` when the node was deleted (unlocked) under us: try again.
        let acquired: Option<bool> = row.get("acquired").map_err(|e| db.corrupt(e.to_string()))?;
        if acquired == Some(true) {
            return Ok(());
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(BackendError::LockTimeout {
                location: db.location.clone(),
                holder: holder(row),
                waited,
            });
        }
        attempt += 1;
        let pause = Duration::from_millis(100 + u64::from(attempt.min(8)) * 50 + jitter_ms());
        tokio::time::sleep(
            pause
                .min(timeout.saturating_sub(waited))
                .max(Duration::from_millis(10)),
        )
        .await;
    }
}

/// `owner (lease expires at …)` from a row of the acquire query.
fn holder(row: &neo4rs::Row) -> String {
    let owner: Option<String> = row.get("owner").unwrap_or_default();
    let expires: Option<String> = row.get("expires_at").unwrap_or_default();
    format!(
        "{} (lease expires at {})",
        owner.as_deref().unwrap_or("an unknown owner"),
        expires.as_deref().unwrap_or("an unknown time")
    )
}

/// A few milliseconds of noise so contenders do not poll in lockstep.
fn jitter_ms() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos % 97)
}

/// Starts the task that renews the lease every third of it until aborted,
/// or until it finds the lock no longer ours (then `lost` is set).
pub(super) fn spawn_renewer(
    db: Db,
    names: Names,
    token: String,
    lease: Duration,
    lost: Arc<AtomicBool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let query = renew(&names, &token, lease);
        loop {
            tokio::time::sleep(lease / 3).await;
            match db.rows(query.to_query(0)).await {
                Ok(rows) if rows.first().and_then(|r| r.get::<i64>("renewed").ok()) == Some(1) => {}
                Ok(_) => {
                    tracing::error!(location = %db.location, "the migration lock was taken over: its lease expired before it could be renewed");
                    lost.store(true, Ordering::SeqCst);
                    return;
                }
                Err(error) => {
                    tracing::warn!(location = %db.location, %error, "could not renew the migration lock lease; retrying");
                }
            }
        }
    })
}
