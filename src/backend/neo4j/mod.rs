//! The Neo4j backend (neo4rs, Bolt 4.4/5): history nodes, a lease lock node,
//! and `.cypher` files split into auto-commit schema statements and
//! transactional data statements.

mod backend;
mod config;
mod cypher;
mod db;
mod execute;
mod history;
mod indexes;
mod lock;
#[cfg(feature = "testing")]
mod snapshot;
pub mod split;
mod stale;

pub use backend::{Neo4jBackend, RESPONSE_TIMEOUT};
pub use config::Neo4jConfig;
/// The neo4rs release this backend is built on (a release candidate, pinned
/// exactly): build a graph for [`Neo4jBackend::new`] or
/// [`crate::Migrator::neo4j`] through this path, or connect with
/// [`Neo4jBackend::connect_with`], rather than depending on neo4rs yourself.
pub use neo4rs;
