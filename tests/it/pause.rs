//! A controllable stall for the lease tests: a [`PauseHook`] that holds a
//! run at one checkpoint of one step — with its lease unrenewed, as in a
//! stopped process — until the test lets it go.

use std::sync::{Arc, Mutex};

use dbmigrate_core::backend::lease::{Checkpoint, PauseHook};
use tokio::sync::{oneshot, Notify};

/// Where the run is held, and the switches to observe and release it.
pub struct Stall {
    reached: Arc<Notify>,
    release: Mutex<Option<oneshot::Sender<()>>>,
    /// Give this to the backend (`with_pause_hook`).
    pub hook: PauseHook,
}

impl Stall {
    /// Holds the run the first time it reaches `point` of `revision_id`.
    pub fn at(point: Checkpoint, revision_id: &str) -> Stall {
        Stall::at_nth(point, revision_id, 1)
    }

    /// Holds the run the `nth` time (from 1) it reaches `point` of
    /// `revision_id`: [`Checkpoint::MidStep`] comes before every call of a
    /// Weaviate step, so `nth = 2` is after its first call took effect.
    pub fn at_nth(point: Checkpoint, revision_id: &str, nth: usize) -> Stall {
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reached = Arc::new(Notify::new());
        let (release, released) = oneshot::channel::<()>();
        let released = Arc::new(Mutex::new(Some(released)));
        let (wanted, signal) = (revision_id.to_owned(), reached.clone());
        let hook = PauseHook::new(move |at, revision| {
            let mine = at == point
                && revision == wanted
                && seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == nth;
            let held = if mine {
                released.lock().unwrap().take()
            } else {
                None
            };
            let signal = signal.clone();
            Box::pin(async move {
                if let Some(held) = held {
                    signal.notify_one();
                    let _ = held.await;
                }
            })
        });
        Stall {
            reached,
            release: Mutex::new(Some(release)),
            hook,
        }
    }

    /// Waits until the run is held.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the run go on.
    pub fn release(&self) {
        if let Some(release) = self.release.lock().unwrap().take() {
            let _ = release.send(());
        }
    }
}
