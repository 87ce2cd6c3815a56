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
        let reached = Arc::new(Notify::new());
        let (release, released) = oneshot::channel::<()>();
        let released = Arc::new(Mutex::new(Some(released)));
        let (wanted, signal) = (revision_id.to_owned(), reached.clone());
        let hook = PauseHook::new(move |at, revision| {
            let mine = at == point && revision == wanted;
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
