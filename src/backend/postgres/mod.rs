//! The PostgreSQL backend: a history table, an advisory lock on a dedicated
//! connection, and steps that commit with their history row in one round trip.

mod apply;
mod backend;
mod concurrent;
mod connect;
mod failure;
mod group;
mod grouped;
mod lock;
#[cfg(feature = "testing")]
mod snapshot;
mod sql;

pub use backend::{PostgresBackend, PostgresConfig};
pub use group::GROUP_BUDGET;
