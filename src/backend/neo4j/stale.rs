//! Transactions a stalled lock holder left open. A frozen process (SIGSTOP,
//! a paused container) keeps its Bolt connection and so its open
//! transaction, with the locks it took on the lock node, its history node
//! and the data its step touched; Neo4j's default `db.transaction.timeout`
//! is none, so the next holder would wait on those locks until the frozen
//! one resumes.
//!
//! A server-side timeout cannot be tied to the lease: neo4rs 0.9 sends
//! `BEGIN` without `tx_timeout`, the server ignores a `tx_timeout` on a
//! `RUN` inside an explicit transaction, and a step longer than any fixed
//! timeout is healthy as long as its lease is renewed. Instead every
//! explicit transaction opened under a lease first looks up its own id
//! (`SHOW TRANSACTIONS` inside it) and records it, with its start time, on
//! the lock node in a committed write of its own, before it takes any lock.
//! The run that takes the lease over — after it expired on the server's
//! clock, so its holder stopped renewing — terminates the recorded
//! transactions that are still open (`TERMINATE TRANSACTIONS`): their locks
//! go, and a resumed holder's commit fails. (`tx.setMetaData` tags were
//! tried first: on 5.26 that procedure fails in unrelated new transactions
//! for a while after a termination.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use neo4rs::Txn;

use super::config::Names;
use super::cypher::{Cypher, Param};
use super::db::Db;

/// How many recorded transactions the lock node keeps (the newest).
const RECORDED: usize = 32;

/// How long one query on the lock node may take, waiting for the node
/// included (a per-attempt lock wait, sent as the auto-commit
/// transaction's `tx_timeout`): half the lease, between 2 s (planning a
/// query on a loaded server took over 0.5 s here) and 10 s. A frozen
/// holder's transaction that locks the node makes the attempt fail after
/// this instead of waiting for as long as that holder stays frozen.
pub(super) fn lock_wait_per_attempt(lease: Duration) -> Duration {
    (lease / 2).clamp(Duration::from_secs(2), Duration::from_secs(10))
}

/// `query` as an auto-commit transaction the server ends after `timeout`.
pub(super) fn with_timeout(query: neo4rs::Query, timeout: Duration) -> neo4rs::Query {
    let millis = i64::try_from(timeout.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    query.extra("tx_timeout", millis)
}

/// Whether the server ended a query because its transaction ran past its
/// timeout (a lock wait included) or was terminated.
pub(super) fn is_terminated(error: &neo4rs::Error) -> bool {
    match error {
        neo4rs::Error::Neo4j(e) => [
            "Transaction.LockClientStopped",
            "Transaction.TransactionTimedOut",
            "Transaction.Terminated",
        ]
        .iter()
        .any(|code| e.code().contains(code)),
        _ => false,
    }
}

/// Records the open transaction `txn`, begun under the lease of `fence`,
/// on the lock node (a committed write of its own, bounded like every
/// query on the node), so a run taking over can end it.
pub(super) async fn record(
    db: &Db,
    txn: &mut Txn,
    names: &Names,
    fence: u64,
    lease: Duration,
) -> Result<(), neo4rs::Error> {
    let entry = own_entry(txn).await?;
    let write = Cypher::new(format!(
        "MATCH (l:{} {{name: 'lock'}}) WHERE l.fence = $fence \
         SET l.transactions = (coalesce(l.transactions, []) + $entry)[-{RECORDED}..]",
        names.lock
    ))
    .param(
        "fence",
        Param::Int(i64::try_from(fence).unwrap_or(i64::MAX)),
    )
    .param("entry", Param::Str(entry));
    let query = with_timeout(write.to_query(0), lock_wait_per_attempt(lease));
    db.run(query).await
}

/// `"{transactionId} {startTime}"` of the transaction `txn`, found by a
/// marker only its own query text carries.
async fn own_entry(txn: &mut Txn) -> Result<String, neo4rs::Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let marker = format!(
        "dbmigrate-{:x}-{nanos:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let show = neo4rs::query(&format!(
        "SHOW TRANSACTIONS YIELD transactionId, startTime, currentQuery \
         WHERE currentQuery CONTAINS '{marker}' \
         RETURN transactionId + ' ' + startTime AS entry"
    ));
    let mut rows = txn.execute(show).await?;
    let mut entry = String::new();
    while let Some(row) = rows.next(txn.handle()).await? {
        entry = row.get::<String>("entry").unwrap_or_default();
    }
    Ok(entry)
}

/// Terminates those of the `recorded` transactions (`"{id} {startTime}"`)
/// that are still open; returns how many.
pub(super) async fn terminate(db: &Db, recorded: Vec<String>) -> Result<usize, neo4rs::Error> {
    if recorded.is_empty() {
        return Ok(0);
    }
    let open = neo4rs::query(
        "SHOW TRANSACTIONS YIELD transactionId, startTime \
         WHERE transactionId + ' ' + startTime IN $recorded RETURN transactionId",
    )
    .param("recorded", recorded);
    let ids: Vec<String> = db
        .rows(open)
        .await?
        .iter()
        .filter_map(|row| row.get::<String>("transactionId").ok())
        .collect();
    if ids.is_empty() {
        return Ok(0);
    }
    let terminate = neo4rs::query(
        "TERMINATE TRANSACTIONS $ids YIELD transactionId, message RETURN transactionId, message",
    )
    .param("ids", ids.clone());
    db.rows(terminate).await?;
    tracing::warn!(
        location = %db.location,
        transactions = ?ids,
        "terminated the open transactions of a migration lock holder whose lease is over"
    );
    Ok(ids.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_wait_per_attempt_follows_the_lease_within_bounds() {
        let wait = |ms| lock_wait_per_attempt(Duration::from_millis(ms));
        assert_eq!(wait(1), Duration::from_secs(2));
        assert_eq!(wait(10_000), Duration::from_secs(5));
        assert_eq!(wait(600_000), Duration::from_secs(10));
    }
}
