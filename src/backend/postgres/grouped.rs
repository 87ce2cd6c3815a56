//! Running a `Transaction: single` step inside the run's open group (see
//! [`super::group`]): one round trip, the group's commit folded into it
//! where one is due.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sqlx::Row;

use crate::backend::{BackendError, Step};

use super::apply::{execute_counting, step_failure};
use super::backend::PostgresBackend;
use super::group::{self, Group, Shape, COMMIT_ASYNC};
use super::sql::SESSION_RESET;

/// Runs a `Transaction: single` step on the lock session, in the open group
/// or a new one.
pub(super) async fn single(
    backend: &PostgresBackend,
    step: &Step<'_>,
) -> Result<Duration, BackendError> {
    let section = step.migration.section(step.direction).script();
    let alone = group::runs_alone(section);
    if alone {
        // It controls its transaction (SET TRANSACTION, its own COMMIT),
        // adds an enum value or defers constraints: exactly as without
        // groups, its own BEGIN … COMMIT and never inside a savepoint
        // ("must not be called in a subtransaction").
        close(backend, step).await?;
        backend.stepped.store(true, Ordering::Release);
        backend.set_deferrable(None);
        return super::apply::single(backend, step).await;
    }
    let open = backend.group();
    let shape = shape(backend, open, alone);
    let query = group::query(&backend.config, step, shape);
    let mut conn = backend.work_connection().await?;
    let started = Instant::now();
    match execute_counting(&mut conn, &query.text).await {
        Ok(last) => {
            let elapsed = started.elapsed();
            let deferrable = shape.check_deferrable.then(|| {
                last.and_then(|row| row.try_get::<bool, _>(0).ok())
                    .unwrap_or(true)
            });
            if let Some(exists) = deferrable {
                backend.set_deferrable(Some(exists));
            } else if alone {
                // It may have made a constraint deferrable: ask again.
                backend.set_deferrable(None);
            }
            let joined = match open {
                Some(group) if !shape.begin => Group {
                    steps: group.steps + 1,
                    ..group
                },
                _ => Group { started, steps: 1 },
            };
            backend.unflushed.store(true, Ordering::Release);
            if shape.close_after {
                backend.set_group(None);
            } else if deferrable == Some(true) {
                // Its deferred checks run now, at its own commit.
                backend.set_group(None);
                if let Err(error) = sqlx::Executor::execute(&mut *conn, COMMIT_ASYNC).await {
                    let rollback = format!("ROLLBACK;\n{SESSION_RESET}");
                    backend.recover_connection(conn, &rollback).await;
                    return Err(step_failure(backend, step, "", usize::MAX, &error));
                }
            } else {
                backend.set_group(Some(joined));
            }
            backend.keep_connection(conn).await;
            Ok(elapsed)
        }
        Err((completed, error)) => {
            backend.set_group(None);
            let earlier = open.filter(|_| !shape.close_before).map_or(0, |g| g.steps);
            if completed < query.closing {
                let rollback = format!("ROLLBACK;\n{SESSION_RESET}");
                backend.recover_connection(conn, &rollback).await;
                let steps = open.map_or(0, |g| g.steps);
                return Err(lost(backend, steps, step, &error));
            }
            if completed >= query.to_release {
                let rollback = format!("ROLLBACK;\n{SESSION_RESET}");
                backend.recover_connection(conn, &rollback).await;
                return Err(lost(backend, earlier + 1, step, &error));
            }
            let cleanup = group::after_failure(completed >= query.to_savepoint);
            let kept = backend.recover_connection(conn, &cleanup).await;
            if !kept && earlier > 0 {
                return Err(lost(backend, earlier, step, &error));
            }
            Err(step_failure(
                backend,
                step,
                &query.prefix,
                completed,
                &error,
            ))
        }
    }
}

/// How this step's query opens and closes the group.
fn shape(backend: &PostgresBackend, open: Option<Group>, alone: bool) -> Shape {
    let deferrable = backend.deferrable();
    // The run's first step commits on its own: a run of one migration (the
    // usual deploy) is exactly one transaction, as without groups.
    let first = !backend.stepped.swap(true, Ordering::AcqRel);
    let alone = alone || first || deferrable == Some(true);
    let close_before = open.is_some_and(|g| alone || g.started.elapsed() >= backend.group_budget());
    Shape {
        close_before,
        begin: open.is_none() || close_before,
        check_deferrable: !alone && deferrable.is_none(),
        close_after: alone,
    }
}

/// Commits the open group, if any, without waiting for the disk (before a
/// step that runs statement by statement).
pub(super) async fn close(
    backend: &PostgresBackend,
    before: &Step<'_>,
) -> Result<(), BackendError> {
    let Some(open) = backend.group() else {
        return Ok(());
    };
    backend.set_group(None);
    let mut conn = backend.work_connection().await?;
    match sqlx::Executor::execute(&mut *conn, COMMIT_ASYNC).await {
        Ok(_) => {
            backend.keep_connection(conn).await;
            Ok(())
        }
        Err(error) => {
            let rollback = format!("ROLLBACK;\n{SESSION_RESET}");
            backend.recover_connection(conn, &rollback).await;
            Err(lost(backend, open.steps, before, &error))
        }
    }
}

/// A group's commit failed: its steps, reported as applied, are not.
fn lost(
    backend: &PostgresBackend,
    steps: usize,
    at: &Step<'_>,
    error: &sqlx::Error,
) -> BackendError {
    BackendError::Connection {
        location: backend.location.clone(),
        message: format!(
            "committing the last {steps} step(s) of this run (up to {}) failed, so they are not applied \
             although they were reported; `cargo dbmigrate status` shows what is: {error}",
            at.migration.path
        ),
    }
}
