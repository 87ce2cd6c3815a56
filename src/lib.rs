//! `dbmigrate-core`: one migration timeline for PostgreSQL, Neo4j and Weaviate.
//!
//! The crate owns the migration model, the one file parser, the checksums, the
//! revision graph and planner, and — behind cargo features — the runner and
//! the backends (`postgres`, `neo4j`, `weaviate`) and the round-trip testing
//! harness (`testing`). With no feature it links no database driver and no
//! async runtime; `dbmigrate-build` uses it that way.
#![warn(missing_docs)]

pub mod checksum;
pub mod embedded;
pub mod error;
pub mod graph;
pub mod migration;
pub mod parse;
mod sql;
pub mod target;
pub mod weaviate_ops;

#[cfg(feature = "runtime")]
pub mod backend;
#[cfg(feature = "lint")]
pub mod lint;
#[cfg(feature = "runtime")]
pub mod runner;
#[cfg(feature = "testing")]
pub mod testing;

pub use checksum::{chain_hash, checksum, Checksum};
pub use embedded::{EmbeddedFile, Migrations};
pub use error::{Error, GraphError, ParseError, ParseErrorKind};
pub use graph::History;
pub use migration::{BackendKind, Direction, Migration, MigrationOptions, TransactionMode};
pub use target::Target;

#[cfg(feature = "runtime")]
pub use runner::{Migrator, Report};
