//! The lease lock shared by the backends that have no session lock (Neo4j,
//! Weaviate). A backend stores leases (`LeaseStore`); this module waits
//! for one with jittered backoff, renews it in the background, and answers
//! every step whether it still holds it.
//!
//! Every lease carries a *fencing token*: a number the store raises by one
//! with each acquisition, so a holder that stalled past its lease (a paused
//! process, a partition) can be told apart from the one that took over.
//! Expiry is decided by the store on the server's clock; the holder itself
//! trusts its lease only until its last successful renewal was *sent* plus
//! the lease minus a safety margin, measured on its own monotonic clock.
//! Past that it gives up for good (the flag `LeaseHandle::ensure` checks
//! before every step), even if nobody took over — unless the store's
//! renewal is conditional on the token (Neo4j): then a renewal that still
//! succeeds proves nobody did, and the holder carries on.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::backend::BackendError;

/// The lease a lock lasts without renewal, unless configured: a killed
/// holder is taken over after at most this plus one poll (about 11 s),
/// and a live one renews every third of it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// What a backend stores a lease in. One value per contender: it knows
/// its owner name (and, for Weaviate, its own token).
#[async_trait::async_trait]
pub(crate) trait LeaseStore: Send + Sync + 'static {
    /// Where the lock lives, for messages.
    fn location(&self) -> String;

    /// Takes the lease when it is free, released or expired by the
    /// server's clock, raising the fencing token.
    async fn try_acquire(&self, lease: Duration) -> Result<Attempt, BackendError>;

    /// Extends the lease of `fence`; `false` when another holder has a
    /// newer token.
    async fn renew(&self, fence: u64, lease: Duration) -> Result<bool, BackendError>;

    /// Gives up the lease of `fence` if it is still the current one.
    async fn release(&self, fence: u64) -> Result<(), BackendError>;

    /// Whether a successful [`LeaseStore::renew`] proves nobody took the
    /// lease over (the renewal is conditional on the token, atomically).
    /// Then a holder whose lease lapsed locally may try to renew it before
    /// giving up; otherwise a lapse is final.
    fn renew_is_conditional(&self) -> bool {
        false
    }
}

/// The answer to one acquisition attempt.
pub(crate) enum Attempt {
    /// Ours, with this fencing token.
    Acquired(u64),
    /// Held by someone else: who, and until when.
    Busy(String),
}

/// A point inside a step where a test can pause the run, as if the
/// process were stopped: while paused, the lease is not renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// At the start of a step, before the lease is re-checked.
    BeforeStep,
    /// Inside a step: its statements ran, its record is not committed.
    MidStep,
    /// Neo4j: inside a step's open transaction after its fence check, just
    /// before the commit, holding the locks it took (the lock node, the
    /// history node, the data it wrote) — where a frozen process blocks
    /// others the most.
    InTransaction,
}

/// The future a [`PauseHook`] returns.
pub type Pause = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Called at every [`Checkpoint`] with the step's revision id; the run
/// stays paused until the returned future completes. For fault tests.
#[derive(Clone)]
pub struct PauseHook(Arc<PauseFn>);

/// The function inside a [`PauseHook`].
type PauseFn = dyn Fn(Checkpoint, &str) -> Pause + Send + Sync;

impl PauseHook {
    /// A hook from a function.
    pub fn new(hook: impl Fn(Checkpoint, &str) -> Pause + Send + Sync + 'static) -> PauseHook {
        PauseHook(Arc::new(hook))
    }
}

impl std::fmt::Debug for PauseHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PauseHook")
    }
}

/// A held lease: renewed in the background until released or dropped.
pub(crate) struct Lease {
    handle: LeaseHandle,
    renewer: JoinHandle<()>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("fence", &self.handle.0.fence)
            .finish_non_exhaustive()
    }
}

/// What a step needs of a held lease; cheap to clone.
#[derive(Clone)]
pub(crate) struct LeaseHandle(Arc<Shared>);

struct Shared {
    store: Box<dyn LeaseStore>,
    fence: u64,
    lease: Duration,
    lost: AtomicBool,
    paused: AtomicBool,
    trusted_until: Mutex<Instant>,
    hook: Option<PauseHook>,
}

impl Lease {
    /// Polls `store` until the lease is ours or `timeout` passes; a timeout
    /// names the holder. Starts renewing it every third of `lease`.
    pub async fn acquire(
        store: Box<dyn LeaseStore>,
        lease: Duration,
        timeout: Duration,
        hook: Option<PauseHook>,
    ) -> Result<Lease, BackendError> {
        let started = Instant::now();
        let mut delays = ExponentialBuilder::new()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_millis(500).min(lease / 4))
            .with_jitter()
            .without_max_times()
            .build();
        let fence = loop {
            let sent = Instant::now();
            match store.try_acquire(lease).await? {
                Attempt::Acquired(fence) => break (fence, sent),
                Attempt::Busy(holder) => {
                    let waited = started.elapsed();
                    if waited >= timeout {
                        // A contender may have left a trace (Weaviate: its object).
                        let _ = store.release(0).await;
                        return Err(BackendError::LockTimeout {
                            location: store.location(),
                            holder,
                            waited,
                        });
                    }
                    let delay = delays.next().unwrap_or(Duration::from_millis(500));
                    tokio::time::sleep(delay.min(timeout - waited)).await;
                }
            }
        };
        let (fence, sent) = fence;
        tracing::debug!(location = %store.location(), fence, "migration lock taken");
        let handle = LeaseHandle(Arc::new(Shared {
            store,
            fence,
            lease,
            lost: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            trusted_until: Mutex::new(sent + trust(lease)),
            hook,
        }));
        let renewer = tokio::spawn(renew_loop(handle.clone()));
        Ok(Lease { handle, renewer })
    }

    /// The handle steps check.
    pub fn handle(&self) -> LeaseHandle {
        self.handle.clone()
    }

    /// Stops renewing and releases the lease if it is still ours.
    pub async fn release(self) -> Result<(), BackendError> {
        self.renewer.abort();
        self.handle.0.store.release(self.handle.0.fence).await
    }

    /// Stops renewing and, when a runtime is at hand, releases the lease
    /// in the background; otherwise it lapses when it expires.
    pub fn abandon(self) {
        self.renewer.abort();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let shared = self.handle.0;
            runtime.spawn(async move { shared.store.release(shared.fence).await });
        }
    }
}

/// How long after a renewal was sent the holder trusts its lease: the
/// lease minus a fifth, for message delays and clock-rate differences.
fn trust(lease: Duration) -> Duration {
    lease - lease / 5
}

impl LeaseHandle {
    /// The fencing token of this lease.
    #[cfg_attr(not(feature = "neo4j"), allow(dead_code))]
    pub fn fence(&self) -> u64 {
        self.0.fence
    }

    /// Whether the lease was lost (taken over, or not renewed in time).
    pub fn is_lost(&self) -> bool {
        self.0.lost.load(Ordering::SeqCst)
    }

    /// Fails when the lease is lost or no longer trusted, without a round
    /// trip: the check before each call of a step.
    pub fn check(&self) -> Result<(), BackendError> {
        if !self.is_lost() && Instant::now() < self.trusted_until() {
            return Ok(());
        }
        self.0.lost.store(true, Ordering::SeqCst);
        Err(self.lost_error())
    }

    /// Renews the lease on the server now and fails when it is lost: the
    /// check before each step.
    pub async fn ensure(&self) -> Result<(), BackendError> {
        if !self.0.store.renew_is_conditional() || self.is_lost() {
            self.check()?;
        }
        let sent = Instant::now();
        if self.0.store.renew(self.0.fence, self.0.lease).await? {
            self.trust_from(sent);
            self.check()
        } else {
            self.0.lost.store(true, Ordering::SeqCst);
            Err(self.lost_error())
        }
    }

    /// Pauses at `point` when a test hook asks to; meanwhile the lease is
    /// not renewed, as in a stopped process.
    pub async fn checkpoint(&self, point: Checkpoint, revision_id: &str) {
        if let Some(hook) = &self.0.hook {
            self.0.paused.store(true, Ordering::SeqCst);
            (hook.0)(point, revision_id).await;
            self.0.paused.store(false, Ordering::SeqCst);
        }
    }

    /// The error a step fails with once the lease is lost.
    pub fn lost_error(&self) -> BackendError {
        BackendError::LockLost {
            location: self.0.store.location(),
            fence: self.0.fence,
        }
    }

    fn trusted_until(&self) -> Instant {
        *self
            .0
            .trusted_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn trust_from(&self, sent: Instant) {
        let mut until = self
            .0
            .trusted_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *until = (*until).max(sent + trust(self.0.lease));
    }
}

/// Renews every third of the lease until the lease is lost or the task
/// aborted; skips renewals while a test pauses the run.
async fn renew_loop(handle: LeaseHandle) {
    let shared = &handle.0;
    loop {
        tokio::time::sleep(shared.lease / 3).await;
        if shared.paused.load(Ordering::SeqCst) {
            continue;
        }
        if !shared.store.renew_is_conditional() && handle.check().is_err() {
            tracing::error!(location = %shared.store.location(), fence = shared.fence, "the migration lock lease lapsed before it could be renewed");
            return;
        }
        let sent = Instant::now();
        match shared.store.renew(shared.fence, shared.lease).await {
            Ok(true) => handle.trust_from(sent),
            Ok(false) => {
                tracing::error!(location = %shared.store.location(), fence = shared.fence, "the migration lock was taken over by a newer holder");
                shared.lost.store(true, Ordering::SeqCst);
                return;
            }
            Err(error) => {
                tracing::warn!(location = %shared.store.location(), %error, "could not renew the migration lock lease; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// A store in memory: one holder at a time, fence raised per take.
    #[derive(Default)]
    struct Memory {
        fence: Arc<AtomicU64>,
        busy: Arc<AtomicBool>,
        renewals: Arc<AtomicU64>,
    }

    #[async_trait::async_trait]
    impl LeaseStore for Memory {
        fn location(&self) -> String {
            "memory".into()
        }
        async fn try_acquire(&self, _: Duration) -> Result<Attempt, BackendError> {
            if self.busy.swap(true, Ordering::SeqCst) {
                return Ok(Attempt::Busy("someone".into()));
            }
            Ok(Attempt::Acquired(
                self.fence.fetch_add(1, Ordering::SeqCst) + 1,
            ))
        }
        async fn renew(&self, fence: u64, _: Duration) -> Result<bool, BackendError> {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            Ok(self.fence.load(Ordering::SeqCst) == fence)
        }
        async fn release(&self, _: u64) -> Result<(), BackendError> {
            self.busy.store(false, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_newer_fence_makes_the_holder_fail_its_next_step() {
        let store = Memory::default();
        let fence = store.fence.clone();
        let lease = Lease::acquire(Box::new(store), DEFAULT_LEASE, DEFAULT_LEASE, None)
            .await
            .unwrap();
        let handle = lease.handle();
        assert_eq!(handle.fence(), 1);
        handle.ensure().await.unwrap();
        fence.store(2, Ordering::SeqCst);
        let error = handle.ensure().await.unwrap_err();
        assert!(
            matches!(error, BackendError::LockLost { fence: 1, .. }),
            "{error}"
        );
        assert!(handle.check().is_err(), "a lost lease stays lost");
    }

    #[tokio::test(start_paused = true)]
    async fn a_holder_paused_past_its_lease_gives_up_even_if_nobody_took_over() {
        let store = Memory::default();
        let renewals = store.renewals.clone();
        let lease = Lease::acquire(Box::new(store), DEFAULT_LEASE, DEFAULT_LEASE, None)
            .await
            .unwrap();
        let handle = lease.handle();
        // The clock is paused: sleeping advances it, letting the renewer run.
        tokio::time::sleep(DEFAULT_LEASE).await;
        assert!(
            renewals.load(Ordering::SeqCst) >= 2,
            "renewed while running"
        );
        handle.check().unwrap();
        handle.0.paused.store(true, Ordering::SeqCst);
        tokio::time::sleep(DEFAULT_LEASE).await;
        handle.0.paused.store(false, Ordering::SeqCst);
        assert!(handle.ensure().await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_lock_times_out_naming_the_holder() {
        let store = Memory::default();
        store.busy.store(true, Ordering::SeqCst);
        let error = Lease::acquire(Box::new(store), DEFAULT_LEASE, Duration::from_secs(2), None)
            .await
            .err()
            .unwrap();
        assert!(error.to_string().contains("someone"), "{error}");
    }
}
