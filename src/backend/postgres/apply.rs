//! Running a step. `Transaction: single`: BEGIN, timeouts, the section and
//! the history row as ONE simple query (one round trip), COMMIT.
//! `Transaction: none`: a dirty record, each statement on its own, a clean
//! record; a failed `CREATE INDEX CONCURRENTLY` leaves no invalid index.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres};

use crate::backend::{BackendError, Step};
use crate::migration::{Migration, TransactionMode};

use futures_util::TryStreamExt as _;

use super::backend::PostgresBackend;
use super::failure::{self, Failed};
use super::{concurrent, sql};
use crate::sql::{split, Statement};

/// Runs a `Transaction: single` step in one round trip.
pub(super) async fn single(
    backend: &PostgresBackend,
    step: &Step<'_>,
) -> Result<Duration, BackendError> {
    let calls = sql::step_calls(&backend.config, step);
    let prefix: String = calls
        .iter()
        .take_while(|c| c.bookkeeping)
        .map(|c| c.text.as_str())
        .collect();
    let text: String = calls.iter().map(|c| c.text.as_str()).collect();
    let mut conn = backend.work_connection().await?;
    let started = Instant::now();
    match execute_counting(&mut conn, &text).await {
        Ok(_) => {
            let elapsed = started.elapsed();
            backend.unflushed.store(true, Ordering::Release);
            backend.keep_connection(conn).await;
            Ok(elapsed)
        }
        Err((completed, error)) if completed >= committed_after(&calls) => {
            // The COMMIT went through; only the session reset after it
            // failed (a cancel arriving late): the step is applied.
            tracing::warn!(%error, "resetting the session after a committed step failed");
            backend.recover_connection(conn, sql::SESSION_RESET).await;
            backend.unflushed.store(true, Ordering::Release);
            Ok(started.elapsed())
        }
        Err((completed, error)) => {
            // A failed simple query leaves the explicit transaction aborted.
            let rollback = format!("ROLLBACK;\n{}", sql::SESSION_RESET);
            backend.recover_connection(conn, &rollback).await;
            Err(step_failure(backend, step, &prefix, completed, &error))
        }
    }
}

/// The error of a transactional step whose simple query failed after
/// `completed` statements, `prefix` being the bookkeeping text before its
/// section: the failing statement's file:line, or the run's cancellation.
pub(super) fn step_failure(
    backend: &PostgresBackend,
    step: &Step<'_>,
    prefix: &str,
    completed: usize,
    error: &sqlx::Error,
) -> BackendError {
    let section = step.migration.section(step.direction).script();
    let statements = split(section);
    let statement = failure::failing(&statements, completed, split(prefix).len());
    let first = step.migration.section_line(step.direction);
    let offset = failure::position_line(error, prefix.chars().count(), section)
        .or(statement.map(|s| s.line));
    let failed = Failed {
        migration: step.migration,
        line: offset.map_or(first, |offset| first + offset),
        statement: statement.map(|s| s.text),
    };
    if backend.cancelled_by_us(error) {
        return cancelled(format!("{}:{}", failed.migration.path, failed.line));
    }
    failure::statement_error(&backend.location, &failed, error)
}

/// How many statements of a step's simple query complete up to its COMMIT
/// (the session reset follows it, in the last call).
fn committed_after(calls: &[crate::backend::PlannedCall]) -> usize {
    let until_commit: String = calls[..calls.len() - 1]
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    split(&until_commit).len()
}

/// The error of a step stopped by [`super::backend::PostgresBackend`]'s interrupt.
pub(super) fn cancelled(at: String) -> BackendError {
    BackendError::Cancelled { at, started: true }
}

/// Runs a multi-statement simple query and returns the last row it gave;
/// on failure, how many of its statements completed before the one that
/// failed.
pub(super) async fn execute_counting(
    conn: &mut PgConnection,
    text: &str,
) -> Result<Option<PgRow>, (usize, sqlx::Error)> {
    let mut results = sqlx::Executor::fetch_many(conn, sqlx::raw_sql(text));
    let mut completed = 0;
    let mut last = None;
    loop {
        match results.try_next().await {
            Ok(Some(sqlx::Either::Left(_))) => completed += 1,
            Ok(Some(sqlx::Either::Right(row))) => last = Some(row),
            Ok(None) => return Ok(last),
            Err(error) => return Err((completed, error)),
        }
    }
}

/// Runs a `Transaction: none` step statement by statement.
pub(super) async fn none(
    backend: &PostgresBackend,
    step: &Step<'_>,
) -> Result<Duration, BackendError> {
    let migration = step.migration;
    let calls = sql::step_calls(&backend.config, step);
    let statements = split(migration.section(step.direction).script());
    let mut statements = statements.iter();
    let mut conn = backend.work_connection().await?;
    let started = Instant::now();
    for (n, call) in calls.iter().enumerate() {
        if backend.is_interrupted() {
            // Cancelled between statements: stop before this one.
            let at = match (call.bookkeeping, statements.clone().next()) {
                (false, Some(next)) => format!(
                    "{}:{}",
                    migration.path,
                    migration.section_line(step.direction) + next.line
                ),
                _ => migration.path.clone(),
            };
            backend.recover_connection(conn, sql::SESSION_RESET).await;
            return Err(BackendError::Cancelled { at, started: n > 0 });
        }
        let result = if call.bookkeeping {
            execute(&mut conn, &call.text).await.map_err(|e| {
                if backend.cancelled_by_us(&e) {
                    cancelled(migration.path.clone())
                } else {
                    backend.error(&e)
                }
            })
        } else {
            let statement = statements.next().expect("one planned call per statement");
            run_statement(backend, &mut conn, migration, step.direction, statement).await
        };
        if let Err(error) = result {
            backend.recover_connection(conn, sql::SESSION_RESET).await;
            return Err(error);
        }
    }
    let elapsed = started.elapsed();
    backend.keep_connection(conn).await;
    Ok(elapsed)
}

async fn run_statement(
    backend: &PostgresBackend,
    conn: &mut PgConnection,
    migration: &Migration,
    direction: crate::migration::Direction,
    statement: &Statement<'_>,
) -> Result<(), BackendError> {
    let line = migration.section_line(direction) + statement.line;
    let index = concurrent::index_name(statement.text);
    let existed = match &index {
        Some(name) => concurrent::prepare(conn, name)
            .await
            .map_err(|e| backend.error(&e))?,
        None => true,
    };
    match execute(conn, statement.text).await {
        Ok(()) => Ok(()),
        Err(error) => {
            if let (Some(name), false) = (&index, existed) {
                if let Err(cleanup) = concurrent::drop_if_invalid(conn, name).await {
                    tracing::warn!(index = %name, error = %cleanup, "dropping the invalid index left by a failed CREATE INDEX CONCURRENTLY failed");
                }
            }
            if backend.cancelled_by_us(&error) {
                return Err(cancelled(format!("{}:{line}", migration.path)));
            }
            let failed = Failed {
                migration,
                line,
                statement: Some(statement.text),
            };
            Err(failure::statement_error(&backend.location, &failed, &error))
        }
    }
}

/// Runs a section outside bookkeeping (tests and fixtures).
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(super) async fn script(
    backend: &PostgresBackend,
    migration: &Migration,
    script: &str,
) -> Result<(), BackendError> {
    let mut conn = acquire(backend).await?;
    let first = migration.up_line.max(1);
    let statements = split(script);
    let fail = |statement: Option<&Statement<'_>>, line: Option<u32>, error: &sqlx::Error| {
        let failed = Failed {
            migration,
            line: first + line.or(statement.map(|s| s.line)).unwrap_or(0),
            statement: statement.map(|s| s.text),
        };
        failure::statement_error(&backend.location, &failed, error)
    };
    match migration.options.transaction {
        TransactionMode::Single => execute_counting(&mut conn, script)
            .await
            .map(|_| ())
            .map_err(|(completed, e)| {
                let line = failure::position_line(&e, 0, script);
                fail(failure::failing(&statements, completed, 0), line, &e)
            }),
        TransactionMode::None => {
            for statement in &statements {
                execute(&mut conn, statement.text)
                    .await
                    .map_err(|e| fail(Some(statement), None, &e))?;
            }
            Ok(())
        }
    }
}

async fn acquire(backend: &PostgresBackend) -> Result<PoolConnection<Postgres>, BackendError> {
    backend.pool.acquire().await.map_err(|e| backend.error(&e))
}

async fn execute(conn: &mut PgConnection, text: &str) -> Result<(), sqlx::Error> {
    sqlx::Executor::execute(conn, sqlx::raw_sql(text))
        .await
        .map(|_| ())
}
