//! Turns a section into the exact sequence of calls a step makes (so that
//! `plan` shows what `apply` runs) and runs that sequence.

use std::time::{Duration, Instant};

use neo4rs::Txn;

use super::config::Names;
use super::cypher::Cypher;
use super::db::{server_message, Db};
use super::split::{split_statements, Statement, StatementKind};
use super::stale;
use crate::backend::lease::{Checkpoint, LeaseHandle};
use crate::backend::{BackendError, PlannedCall};
use crate::migration::{Migration, TransactionMode};

/// One call of a step.
#[derive(Debug, Clone)]
pub(super) enum Call {
    /// Starts an explicit transaction.
    Begin,
    /// Commits it.
    Commit,
    /// A statement of the migration, with its line in the file.
    Statement { text: String, line: u32 },
    /// A bookkeeping query (history record), in the transaction when one is open.
    Bookkeeping(Cypher),
    /// Waits until indexes created so far are online.
    AwaitIndexes,
}

impl Call {
    /// How `plan` shows this call.
    pub fn planned(&self) -> PlannedCall {
        let (text, bookkeeping) = match self {
            Call::Begin => (":begin".to_owned(), true),
            Call::Commit => (":commit".to_owned(), true),
            Call::Statement { text, .. } => (text.clone(), false),
            Call::Bookkeeping(cypher) => (cypher.render(), true),
            Call::AwaitIndexes => (super::indexes::planned_text(), true),
        };
        PlannedCall {
            language: "cypher",
            text,
            bookkeeping,
        }
    }
}

/// The statements of `script`, with lines counted from `first_line` of the file.
pub(super) fn statements(script: &str, first_line: u32) -> Vec<Statement> {
    let offset = first_line.max(1) - 1;
    let mut statements = split_statements(script);
    for statement in &mut statements {
        statement.line += offset;
    }
    statements
}

/// Groups statements: runs of data statements share one transaction (unless
/// `Transaction: none`); everything else runs alone in auto-commit. Data
/// after index creation first waits for the indexes.
pub(super) fn group(statements: &[Statement], mode: TransactionMode) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut in_transaction = false;
    let mut indexes_pending = false;
    for statement in statements {
        let alone = mode == TransactionMode::None || statement.kind.is_auto_commit();
        let is_data = !matches!(statement.kind, StatementKind::Schema { .. });
        if in_transaction && alone {
            calls.push(Call::Commit);
            in_transaction = false;
        }
        if is_data && indexes_pending {
            calls.push(Call::AwaitIndexes);
            indexes_pending = false;
        }
        if !alone && !in_transaction {
            calls.push(Call::Begin);
            in_transaction = true;
        }
        if let StatementKind::Schema {
            creates_index: true,
        } = statement.kind
        {
            indexes_pending = true;
        }
        calls.push(Call::Statement {
            text: statement.text.clone(),
            line: statement.line,
        });
    }
    if in_transaction {
        calls.push(Call::Commit);
    }
    if indexes_pending {
        calls.push(Call::AwaitIndexes);
    }
    calls
}

/// Whether the grouped calls are one transaction (or nothing), so the
/// history record can be written inside it.
pub(super) fn is_atomic(calls: &[Call]) -> bool {
    match calls {
        [] => true,
        [Call::Begin, middle @ .., Call::Commit] => middle
            .iter()
            .all(|call| matches!(call, Call::Statement { .. })),
        _ => false,
    }
}

/// Adds the history write `record` to grouped calls: inside the single
/// transaction when atomic, otherwise `dirty` before and `record` after.
pub(super) fn with_bookkeeping(mut calls: Vec<Call>, dirty: Cypher, record: Cypher) -> Vec<Call> {
    if is_atomic(&calls) {
        if calls.is_empty() {
            calls = vec![Call::Begin, Call::Commit];
        }
        calls.insert(calls.len() - 1, Call::Bookkeeping(record));
        calls
    } else {
        let mut all = vec![Call::Bookkeeping(dirty)];
        all.extend(calls);
        all.push(Call::Bookkeeping(record));
        all
    }
}

/// The lease a locked step runs under: checked on the server before each
/// auto-commit call, and inside every transaction just before it commits
/// (`fence_check` holds the lock node's write lock until the commit), so a
/// holder that lost its lease has its transaction fail instead of commit.
/// Every explicit transaction it opens is recorded on the lock node, so a
/// run taking over from a stalled holder can end them ([`stale`]).
pub(super) struct Guard {
    /// The held lease.
    pub lease: LeaseHandle,
    /// The renewal query of the lease's fencing token.
    pub fence_check: Cypher,
    /// The bookkeeping names (transactions are recorded on the lock node).
    pub names: Names,
    /// How long the lease lasts unrenewed.
    pub lease_length: Duration,
}

impl Guard {
    /// The error of a step whose transaction the server ended: the lease's
    /// [`BackendError::LockLost`] when another run took the lock over (it
    /// ends a stalled holder's transactions), else `None`.
    pub async fn taken_over(&self, error: &neo4rs::Error) -> Option<BackendError> {
        if !stale::is_terminated(error) {
            return None;
        }
        self.lease.ensure().await.err()
    }
}

/// Starts an explicit transaction; under the lease of `guard`, recorded on
/// the lock node before it takes any lock ([`stale::record`]).
pub(super) async fn begin(db: &Db, guard: Option<&Guard>) -> Result<Txn, neo4rs::Error> {
    let mut txn = db.begin().await?;
    if let Some(guard) = guard {
        let fence = guard.lease.fence();
        let recorded = stale::record(db, &mut txn, &guard.names, fence, guard.lease_length).await;
        if let Err(error) = recorded {
            let _ = txn.rollback().await;
            return Err(error);
        }
    }
    Ok(txn)
}

/// Runs `calls` in order; returns how long the migration's statements took.
/// A failing statement rolls back its open transaction and is reported as
/// `path:line: message`. The `Statement-Timeout:` header becomes the server's
/// transaction timeout of each auto-commit statement (neo4rs 0.9 cannot set
/// one on an explicit transaction).
pub(super) async fn run(
    db: &Db,
    migration: &Migration,
    calls: &[Call],
    guard: Option<&Guard>,
) -> Result<Duration, BackendError> {
    let mut txn: Option<Txn> = None;
    let mut elapsed = Duration::ZERO;
    // Whether the open transaction passed its fence check already.
    let mut fenced = false;
    for call in calls {
        let started = Instant::now();
        if let Call::AwaitIndexes = call {
            super::indexes::wait_online(db)
                .await
                .map_err(|message| db.error(format!("{}: {message}", migration.path)))?;
            elapsed += started.elapsed();
            continue;
        }
        let own_txn = guard.is_some() && txn.is_none() && matches!(call, Call::Bookkeeping(_));
        if let Call::Begin = call {
            fenced = false;
        }
        if let Some(guard) = guard.filter(|_| !fenced) {
            let result = fence(db, migration, &mut txn, call, guard).await;
            fenced = txn.is_some() && matches!(call, Call::Bookkeeping(_) | Call::Commit);
            if let Err(error) = result {
                if let Some(txn) = txn.take() {
                    let _ = txn.rollback().await;
                }
                return Err(error);
            }
        }
        let mut result = run_one(db, &mut txn, call, elapsed, (migration, guard)).await;
        if own_txn && result.is_ok() {
            result = run_one(db, &mut txn, &Call::Commit, elapsed, (migration, guard)).await;
        }
        if let Call::Statement { .. } = call {
            elapsed += started.elapsed();
        }
        if let Err(error) = result {
            if let Some(txn) = txn.take() {
                let _ = txn.rollback().await;
            }
            if let Some(lost) = taken_over(guard, &error).await {
                return Err(lost);
            }
            return Err(match call {
                Call::Statement { line, .. } => BackendError::Statement {
                    path: migration.path.clone(),
                    line: *line,
                    message: server_message(&error),
                },
                _ => db.error(format!("{}: {}", migration.path, server_message(&error))),
            });
        }
    }
    Ok(elapsed)
}

/// Before `call`: a history write or commit in a transaction first checks
/// the fence inside it;
/// an auto-commit statement first renews the lease on the server; an
/// auto-commit history write gets a transaction of its own with the fence
/// check in it.
async fn fence(
    db: &Db,
    migration: &Migration,
    txn: &mut Option<Txn>,
    call: &Call,
    guard: &Guard,
) -> Result<(), BackendError> {
    match (call, txn.as_mut()) {
        // The first of the history write and the commit: the lock node stays
        // write-locked from here to the commit.
        (Call::Bookkeeping(_) | Call::Commit, Some(open)) => {
            let revision = migration.revision_id.as_str();
            guard.lease.checkpoint(Checkpoint::MidStep, revision).await;
            check_in(db, open, guard).await
        }
        (Call::Bookkeeping(_), None) => {
            let mut open = begin(db, Some(guard)).await.map_err(|e| db.error(e))?;
            let checked = check_in(db, &mut open, guard).await;
            *txn = Some(open);
            // `run` commits it right after the history write.
            checked
        }
        (Call::Statement { .. }, None) => guard.lease.ensure().await,
        _ => Ok(()),
    }
}

/// Runs the fence check in `txn`; fails when the lease is no longer ours
/// (also when a run that took over terminated the transaction).
pub(super) async fn check_in(db: &Db, txn: &mut Txn, guard: &Guard) -> Result<(), BackendError> {
    let row = match txn.execute(guard.fence_check.to_query(0)).await {
        Ok(mut rows) => rows.next(txn.handle()).await,
        Err(error) => Err(error),
    };
    match row {
        Ok(row) if row.as_ref().and_then(|r| r.get::<i64>("renewed").ok()) == Some(1) => Ok(()),
        Ok(_) => Err(guard.lease.lost_error()),
        Err(error) => Err(match guard.taken_over(&error).await {
            Some(lost) => lost,
            None => db.error(server_message(&error)),
        }),
    }
}

/// The lease's error when the server ended the step's transaction because
/// another run took the lock over.
async fn taken_over(guard: Option<&Guard>, error: &neo4rs::Error) -> Option<BackendError> {
    guard?.taken_over(error).await
}

/// Runs one call of `migration`, in the open transaction when there is one;
/// under a lease, a transaction pauses at [`Checkpoint::InTransaction`]
/// before it commits.
async fn run_one(
    db: &Db,
    txn: &mut Option<Txn>,
    call: &Call,
    elapsed: Duration,
    (migration, guard): (&Migration, Option<&Guard>),
) -> Result<(), neo4rs::Error> {
    let query = match call {
        Call::Begin => {
            *txn = Some(begin(db, guard).await?);
            return Ok(());
        }
        Call::Commit => {
            let Some(open) = txn.take() else {
                return Ok(());
            };
            if let Some(guard) = guard {
                let revision = migration.revision_id.as_str();
                guard
                    .lease
                    .checkpoint(Checkpoint::InTransaction, revision)
                    .await;
            }
            return open.commit().await.map(drop);
        }
        Call::Statement { text, .. } => {
            let mut query = neo4rs::query(text);
            if txn.is_none() {
                if let Some(timeout) = migration.options.statement_timeout {
                    query = stale::with_timeout(query, timeout);
                }
            }
            query
        }
        Call::Bookkeeping(cypher) => cypher.to_query(super::history::millis(elapsed)),
        Call::AwaitIndexes => return Ok(()), // polled by `run`, outside any transaction
    };
    match txn {
        Some(open) => open.run(query).await.map(drop),
        None => db.run(query).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(script: &str, mode: TransactionMode) -> String {
        group(&statements(script, 10), mode)
            .iter()
            .map(|call| match call {
                Call::Begin => "begin".to_owned(),
                Call::Commit => "commit".to_owned(),
                Call::Statement { line, .. } => format!("s{line}"),
                Call::Bookkeeping(_) => "book".to_owned(),
                Call::AwaitIndexes => "await".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn groups_data_into_transactions_between_schema_statements() {
        let script = "CREATE INDEX i FOR (n:A) ON (n.x);\nCREATE (:A);\nCREATE (:A);\n\
                      DROP INDEX j;\nMATCH (n) CALL (n) { SET n.y = 1 } IN TRANSACTIONS;\nCREATE (:B);";
        assert_eq!(
            shape(script, TransactionMode::Single),
            "s10 await begin s11 s12 commit s13 s14 begin s15 commit"
        );
        assert_eq!(
            shape(script, TransactionMode::None),
            "s10 await s11 s12 s13 s14 s15"
        );
    }

    #[test]
    fn a_pure_data_section_is_atomic() {
        let calls = group(
            &statements("CREATE (:A);\nCREATE (:B);", 1),
            TransactionMode::Single,
        );
        assert!(is_atomic(&calls));
        let calls = with_bookkeeping(calls, Cypher::new("dirty"), Cypher::new("record"));
        assert!(matches!(calls[3], Call::Bookkeeping(ref c) if c.text == "record"));
        assert_eq!(calls.len(), 5);
        let empty = with_bookkeeping(Vec::new(), Cypher::new("dirty"), Cypher::new("record"));
        assert_eq!(empty.len(), 3);
    }

    #[test]
    fn schema_sections_are_recorded_dirty_first() {
        let calls = group(
            &statements("CREATE CONSTRAINT c FOR (n:A) REQUIRE n.x IS UNIQUE;", 1),
            TransactionMode::Single,
        );
        assert!(!is_atomic(&calls));
        let calls = with_bookkeeping(calls, Cypher::new("dirty"), Cypher::new("record"));
        let texts: Vec<String> = calls.iter().map(|c| c.planned().text).collect();
        assert_eq!(texts[0], "dirty");
        assert_eq!(texts.last().map(String::as_str), Some("record"));
        assert!(texts[2].starts_with("SHOW INDEXES"), "{texts:?}");
    }
}
