//! The Weaviate backend (REST with reqwest): history objects, a lease lock
//! object, typed operations turned into HTTP calls, and `rebuild_collection`
//! for what Weaviate cannot change in place.

mod backend;
mod client;
mod copy;
mod exec;
mod history;
mod lock;
mod progress;
mod rebuild;
#[cfg(feature = "testing")]
mod snapshot;

pub use backend::WeaviateBackend;
pub use client::{Call, WeaviateClient, WeaviateConfig};
pub use progress::{FaultHook, RebuildPhase, RebuildProgress};
