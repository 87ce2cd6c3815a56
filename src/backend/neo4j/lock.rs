//! The migration lock: one `{prefix}Lock {name: 'lock'}` node under a
//! uniqueness constraint, holding the current holder, its fencing token
//! (`fence`, raised with every acquisition; the node is never deleted, so
//! the token only grows) and a lease expiry on the server's clock. Every
//! query writes the node before reading it, which takes its write lock:
//! an acquisition, a renewal and a step's fence check are serialised.
//! Each of these queries waits for the node at most
//! [`stale::lock_wait_per_attempt`] (its `tx_timeout`): behind a frozen
//! holder's transaction an acquisition reports the holder and retries, and
//! once that holder's lease is over it terminates its transactions.

use std::time::Duration;

use super::config::Names;
use super::cypher::{Cypher, Param};
use super::db::Db;
use super::stale;
use crate::backend::lease::{Attempt, LeaseStore};
use crate::backend::BackendError;

/// The uniqueness constraint the lock node lives under (a schema statement).
pub(super) fn ensure_constraint(names: &Names) -> Cypher {
    Cypher::new(format!(
        "CREATE CONSTRAINT {} IF NOT EXISTS FOR (l:{}) REQUIRE l.name IS UNIQUE",
        names.lock_constraint, names.lock
    ))
}

/// The lock node, write-locked for the rest of the transaction (the dummy
/// write comes before any read, so no read sees a value about to change).
fn locked_node(names: &Names) -> String {
    format!(
        "MERGE (l:{} {{name: 'lock'}}) SET l.write_lock = true REMOVE l.write_lock",
        names.lock
    )
}

/// Takes the lock when nobody holds it or its lease expired on the
/// server's clock, raising the fencing token; returns the transactions the
/// previous holders recorded ([`stale::record`]) and forgets them. (`l.token` is the holder
/// property of releases before fencing: honoured while unexpired.)
fn acquire(names: &Names, owner: &str, lease: Duration) -> Cypher {
    Cypher::new(format!(
        "{} WITH l, datetime.realtime() AS now \
         WITH l, now, ((l.holder IS NULL AND l.token IS NULL) OR l.expires_at < now) AS free \
         WITH l, now, free, coalesce(l.transactions, []) AS recorded \
         FOREACH (_ IN CASE WHEN free THEN [1] ELSE [] END | \
         SET l.fence = coalesce(l.fence, 0) + 1, l.holder = $owner, l.acquired_at = now, \
         l.expires_at = now + duration({{milliseconds: $lease_ms}}), l.transactions = [] REMOVE l.token) \
         RETURN free AS acquired, l.fence AS fence, recorded, \
         coalesce(l.holder, l.owner) AS holder, toString(l.expires_at) AS expires_at",
        locked_node(names)
    ))
    .param("owner", Param::Str(owner.into()))
    .param("lease_ms", millis(lease))
}

/// Extends the lease of `fence` when it is still the current holder;
/// returns how many it renewed (0 or 1). Run inside a step's transaction
/// it is the fence check: it holds the node's write lock until commit, so
/// nobody takes over between the check and the commit.
pub(super) fn renew(names: &Names, fence: u64, lease: Duration) -> Cypher {
    Cypher::new(format!(
        "{} WITH l WHERE l.fence = $fence AND l.holder IS NOT NULL \
         SET l.expires_at = datetime.realtime() + duration({{milliseconds: $lease_ms}}) \
         RETURN count(l) AS renewed",
        locked_node(names)
    ))
    .param(
        "fence",
        Param::Int(i64::try_from(fence).unwrap_or(i64::MAX)),
    )
    .param("lease_ms", millis(lease))
}

/// The lock node read without its write lock (a read waits for no lock):
/// who holds it, until when, whether that lease is over, and the
/// transactions its holders recorded.
/// Reads the lock node without locking it. `stale` once the lease has
/// been over for `grace` more: a healthy holder's own transaction locks the
/// node from its history write to its commit, so its renewals wait and the
/// recorded expiry stops moving; the grace (one lease) is that commit's
/// margin before it counts as frozen.
fn peek(names: &Names, grace: Duration) -> Cypher {
    Cypher::new(format!(
        "MATCH (l:{} {{name: 'lock'}}) \
         RETURN coalesce(l.holder, l.owner) AS holder, toString(l.expires_at) AS expires_at, \
         coalesce(l.transactions, []) AS recorded, \
         coalesce(l.expires_at + duration({{milliseconds: $grace}}) < datetime.realtime(), false) AS expired",
        names.lock
    ))
    .param("grace", millis(grace))
}

/// Frees the lock when `fence` still holds it; keeps the node (and so the
/// fencing token).
fn release(names: &Names, fence: u64) -> Cypher {
    Cypher::new(format!(
        "{} WITH l WHERE l.fence = $fence \
         SET l.holder = null, l.expires_at = datetime.realtime()",
        locked_node(names)
    ))
    .param(
        "fence",
        Param::Int(i64::try_from(fence).unwrap_or(i64::MAX)),
    )
}

fn millis(duration: Duration) -> Param {
    Param::Int(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
}

/// One contender for the lock node.
pub(super) struct NodeLease {
    pub db: Db,
    pub names: Names,
    pub owner: String,
    /// The lease length, which bounds each query's wait for the node.
    pub lease: Duration,
}

#[async_trait::async_trait]
impl LeaseStore for NodeLease {
    fn location(&self) -> String {
        self.db.location.clone()
    }

    async fn try_acquire(&self, lease: Duration) -> Result<Attempt, BackendError> {
        let query = acquire(&self.names, &self.owner, lease).to_query(0);
        let rows = match self.db.rows(self.bounded(query)).await {
            Ok(rows) => rows,
            Err(error) if stale::is_terminated(&error) => return self.behind_a_transaction().await,
            Err(error) => return Err(self.db.error(error)),
        };
        let row = rows
            .first()
            .ok_or_else(|| self.db.corrupt("the lock query returned no row"))?;
        let acquired: bool = row
            .get("acquired")
            .map_err(|e| self.db.corrupt(e.to_string()))?;
        if acquired {
            let fence: i64 = row
                .get("fence")
                .map_err(|e| self.db.corrupt(e.to_string()))?;
            // A stalled holder's transactions may still lock the data and
            // history nodes our steps write.
            self.terminate(row.get("recorded").unwrap_or_default())
                .await;
            return Ok(Attempt::Acquired(u64::try_from(fence).unwrap_or(0)));
        }
        let holder: Option<String> = row.get("holder").unwrap_or_default();
        let expires: Option<String> = row.get("expires_at").unwrap_or_default();
        Ok(Attempt::Busy(format!(
            "{} (lease expires at {})",
            holder.as_deref().unwrap_or("an unknown owner"),
            expires.as_deref().unwrap_or("an unknown time")
        )))
    }

    async fn renew(&self, fence: u64, lease: Duration) -> Result<bool, BackendError> {
        let query = renew(&self.names, fence, lease).to_query(0);
        let rows = self
            .db
            .rows(self.bounded(query))
            .await
            .map_err(|e| self.db.error(e))?;
        Ok(rows.first().and_then(|r| r.get::<i64>("renewed").ok()) == Some(1))
    }

    /// The renewal writes under the node's write lock only when `fence`
    /// still holds it, and every takeover raises the fence.
    fn renew_is_conditional(&self) -> bool {
        true
    }

    async fn release(&self, fence: u64) -> Result<(), BackendError> {
        let query = release(&self.names, fence).to_query(0);
        self.db
            .run(self.bounded(query))
            .await
            .map_err(|e| self.db.error(e))
    }
}

impl NodeLease {
    /// `query` on the lock node, waiting for it one attempt's time at most.
    fn bounded(&self, query: neo4rs::Query) -> neo4rs::Query {
        stale::with_timeout(query, stale::lock_wait_per_attempt(self.lease))
    }

    /// An acquisition that waited its time for the lock node: another
    /// transaction holds it. When the lease on the node is over, that is a
    /// stalled holder's: its transactions are terminated and the next
    /// attempt takes the lease.
    async fn behind_a_transaction(&self) -> Result<Attempt, BackendError> {
        let rows = self
            .db
            .rows(peek(&self.names, self.lease).to_query(0))
            .await
            .map_err(|e| self.db.error(e))?;
        let row = rows.first();
        let field = |name: &str| row.and_then(|r| r.get::<String>(name).ok());
        let holder = field("holder").unwrap_or_else(|| "an unknown owner".into());
        let expires = field("expires_at").unwrap_or_else(|| "an unknown time".into());
        let expired = row.and_then(|r| r.get::<bool>("expired").ok()) == Some(true);
        let state = if expired {
            let recorded = row.and_then(|r| r.get("recorded").ok()).unwrap_or_default();
            self.terminate(recorded).await;
            "its transaction, frozen a lease past its lease, held the lock; ending its recorded transactions"
        } else {
            "its transaction holds the lock node"
        };
        Ok(Attempt::Busy(format!(
            "{holder} (lease expires at {expires}; {state})"
        )))
    }

    /// Terminates the open ones of the `recorded` transactions of holders
    /// whose lease is over; a failure (no privilege to list or end them) is
    /// logged, and the takeover then waits for them as before.
    async fn terminate(&self, recorded: Vec<String>) {
        if let Err(error) = stale::terminate(&self.db, recorded).await {
            tracing::warn!(location = %self.db.location, %error, "could not end the transactions of a stalled lock holder");
        }
    }
}
