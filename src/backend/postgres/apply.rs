//! Running a step. `Transaction: single`: BEGIN, timeouts, the section and
//! the history row as ONE simple query (one round trip), COMMIT.
//! `Transaction: none`: a dirty record, each statement on its own, a clean
//! record; a failed `CREATE INDEX CONCURRENTLY` leaves no invalid index.

use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres};

use crate::backend::{BackendError, Step};
use crate::migration::{Migration, TransactionMode};

use super::backend::PostgresBackend;
use super::split::{split, Statement};
use super::{concurrent, sql};

/// Runs a `Transaction: single` step in one round trip.
pub(super) async fn single(
    backend: &PostgresBackend,
    step: &Step<'_>,
) -> Result<Duration, BackendError> {
    let calls = sql::step_calls(&backend.config, step);
    let section_start: usize = calls
        .iter()
        .take_while(|c| c.bookkeeping)
        .map(|c| c.text.chars().count())
        .sum();
    let text: String = calls.iter().map(|c| c.text.as_str()).collect();
    let mut conn = backend.work_connection().await?;
    let started = Instant::now();
    match sqlx::Executor::execute(&mut *conn, sqlx::raw_sql(&text)).await {
        Ok(_) => {
            let elapsed = started.elapsed();
            backend.keep_connection(conn);
            Ok(elapsed)
        }
        Err(error) => {
            // A failed simple query leaves the explicit transaction aborted.
            let rollback = format!("ROLLBACK;\n{}", sql::SESSION_RESET);
            backend.recover_connection(conn, &rollback).await;
            let section = step.migration.section(step.direction);
            let line = error_line(&error, section_start, section)
                .map_or(step.migration.section_line(step.direction), |offset| {
                    step.migration.section_line(step.direction) + offset
                });
            Err(statement_error(backend, step.migration, line, &error))
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
    let statements = split(migration.section(step.direction));
    let mut statements = statements.iter();
    let mut conn = backend.work_connection().await?;
    let started = Instant::now();
    for call in &calls {
        let result = if call.bookkeeping {
            execute(&mut conn, &call.text)
                .await
                .map_err(|e| backend.error(&e))
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
    backend.keep_connection(conn);
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
        Some(name) => concurrent::exists(conn, name)
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
            Err(statement_error(backend, migration, line, &error))
        }
    }
}

/// Runs a section outside bookkeeping (tests and fixtures).
pub(super) async fn script(
    backend: &PostgresBackend,
    migration: &Migration,
    script: &str,
) -> Result<(), BackendError> {
    let mut conn = acquire(backend).await?;
    let line = migration.up_line.max(1);
    match migration.options.transaction {
        TransactionMode::Single => execute(&mut conn, script)
            .await
            .map_err(|e| statement_error(backend, migration, line, &e)),
        TransactionMode::None => {
            for statement in split(script) {
                execute(&mut conn, statement.text)
                    .await
                    .map_err(|e| statement_error(backend, migration, line + statement.line, &e))?;
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

/// The 0-based line within `section` of the error position the server
/// reported, when it points into the section.
fn error_line(error: &sqlx::Error, section_start: usize, section: &str) -> Option<u32> {
    let database = error
        .as_database_error()?
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()?;
    let sqlx::postgres::PgErrorPosition::Original(position) = database.position()? else {
        return None;
    };
    let offset = position.checked_sub(1)?.checked_sub(section_start)?;
    let before: String = section.chars().take(offset).collect();
    (offset < section.chars().count()).then(|| before.matches('\n').count() as u32)
}

fn statement_error(
    backend: &PostgresBackend,
    migration: &Migration,
    line: u32,
    error: &sqlx::Error,
) -> BackendError {
    match error.as_database_error() {
        Some(database) => BackendError::Statement {
            path: migration.path.clone(),
            line,
            message: match database.code() {
                Some(code) => format!("{} (SQLSTATE {code})", database.message()),
                None => database.message().to_string(),
            },
        },
        None => backend.error(error),
    }
}
