//! Cancelling a run from outside (Ctrl-C, SIGTERM, a shutdown): the
//! [`Cancel`] handle, and how the runner honours it — a lock wait stops, a
//! running step is interrupted on the database and fails as on any error
//! (a transaction rolls back, a `Transaction: none` step stays dirty), no
//! further step starts, and the run releases its locks and returns.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::backend::{Backend, BackendError, Step};
use crate::migration::{Direction, Migration, TransactionMode};

/// A cancellation handle, cloned freely: [`Cancel::cancel`] on any clone
/// stops the runs of every [`Migrator`](super::Migrator) given one with
/// [`Migrator::cancel_on`](super::Migrator::cancel_on).
///
/// ```
/// let cancel = dbmigrate_core::runner::Cancel::new();
/// let handle = cancel.clone();
/// handle.cancel();
/// assert!(cancel.is_cancelled());
/// ```
#[derive(Debug, Clone)]
pub struct Cancel {
    state: Arc<watch::Sender<bool>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl Cancel {
    /// A handle that is not cancelled yet.
    pub fn new() -> Cancel {
        Cancel {
            state: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Cancels: the run stops its running step on the database and starts
    /// no other. Calling it again changes nothing.
    pub fn cancel(&self) {
        self.state.send_replace(true);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.state.borrow()
    }

    /// Completes once [`Cancel::cancel`] is called (at once if it was).
    pub async fn cancelled(&self) {
        let mut receiver = self.state.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}

/// Runs `wait` (a lock wait) unless or until `cancel` fires.
pub(super) async fn waiting<T>(
    cancel: Option<&Cancel>,
    what: &str,
    wait: impl Future<Output = Result<T, BackendError>>,
) -> Result<T, BackendError> {
    let Some(cancel) = cancel else {
        return wait.await;
    };
    let cancelled = || BackendError::Cancelled {
        at: what.to_string(),
        started: false,
    };
    if cancel.is_cancelled() {
        return Err(cancelled());
    }
    tokio::select! {
        result = wait => result,
        () = cancel.cancelled() => Err(cancelled()),
    }
}

/// Applies `step`; once `cancel` fires, asks the backend to interrupt it and
/// waits for the step to end (its rollback or dirty record included). A step
/// is not started after `cancel` fired.
pub(super) async fn apply(
    backend: &dyn Backend,
    step: &Step<'_>,
    cancel: Option<&Cancel>,
) -> Result<Duration, BackendError> {
    let Some(cancel) = cancel else {
        return backend.apply(step).await;
    };
    if cancel.is_cancelled() {
        return Err(BackendError::Cancelled {
            at: step.migration.path.clone(),
            started: false,
        });
    }
    let work = backend.apply(step);
    tokio::pin!(work);
    tokio::select! {
        biased;
        result = &mut work => result,
        () = cancel.cancelled() => {
            tracing::info!(revision = %step.migration.revision_id, "cancelling the running step");
            backend.interrupt().await;
            work.await
        }
    }
}

/// The help line of a cancelled step: the state it left, what to do next.
pub(super) fn help(
    migration: &Migration,
    direction: Direction,
    transactional_ddl: bool,
    started: bool,
) -> String {
    let id = &migration.revision_id;
    let atomic = transactional_ddl && migration.options.transaction == TransactionMode::Single;
    let rerun = "the lock is released: run the command again to continue";
    match (started, atomic, direction) {
        (false, _, _) => format!(
            "the run was cancelled before `{id}` started: nothing of it ran, the steps listed before it are done; {rerun}"
        ),
        (true, true, Direction::Up) => format!(
            "the run was cancelled: `{id}`'s transaction rolled back, so nothing of it was applied; {rerun}"
        ),
        (true, true, Direction::Down) => format!(
            "the run was cancelled: `{id}`'s down transaction rolled back, so it is still applied; {rerun}"
        ),
        (true, false, _) => format!(
            "the run was cancelled: `{id}` is recorded dirty; its statements before the one named above took effect, \
             that one and those after it did not; finish or undo them by hand, then run \
             `cargo dbmigrate repair {id} --applied` (all in place) or `--forget` (none in place)"
        ),
    }
}
