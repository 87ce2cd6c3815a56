//! `dbmigrate-core`: one migration timeline for PostgreSQL, Neo4j and Weaviate.
//!
//! The crate owns the migration model, the one file parser, the checksums, the
//! revision graph and planner, and — behind cargo features — the runner and
//! the backends (`postgres`, `neo4j`, `weaviate`) and the round-trip testing
//! harness (`testing`). With no feature it links no database driver and no
//! async runtime; `dbmigrate-build` uses it that way.
//!
//! # Embedding the migrations
//!
//! Migration files live in one folder (`migrations/`), one file per
//! migration, the extension naming the database: `.sql` PostgreSQL, `.cypher`
//! Neo4j, `.weaviate.json` Weaviate. `dbmigrate-build` checks and checksums
//! them at build time and [`embedded!`] puts them in the binary:
//!
//! ```text
//! // build.rs
//! fn main() { dbmigrate_build::embed("migrations").expect("migrations"); }
//!
//! // main.rs
//! static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::embedded!();
//! ```
//!
//! The examples below stand `MIGRATIONS` in for that static.
//!
//! # PostgreSQL (feature `postgres`)
//!
//! A pool from sqlx; the runner takes its advisory lock on a dedicated
//! connection and commits each migration with its history row.
//!
//! ```no_run
//! # #[cfg(feature = "postgres")]
//! # async fn boot() -> Result<(), Box<dyn std::error::Error>> {
//! # static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::Migrations::from_embedded(&[]);
//! use dbmigrate_core::{Migrator, Target};
//!
//! let pool = sqlx::PgPool::connect(&std::env::var("DATABASE_URL")?).await?;
//! let report = Migrator::new(&MIGRATIONS).postgres(pool).upgrade(Target::Head).await?;
//! println!("{} applied, now at {:?}", report.applied.len(), report.to);
//! # Ok(())
//! # }
//! ```
//!
//! # Neo4j (feature `neo4j`)
//!
//! [`Neo4jBackend::connect`](backend::neo4j::Neo4jBackend::connect) sets a
//! response timeout long enough for schema statements;
//! [`Migrator::neo4j`] takes a `neo4rs::Graph` you built yourself.
//!
//! ```no_run
//! # #[cfg(feature = "neo4j")]
//! # async fn boot() -> Result<(), Box<dyn std::error::Error>> {
//! # static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::Migrations::from_embedded(&[]);
//! use dbmigrate_core::backend::neo4j::Neo4jBackend;
//! use dbmigrate_core::{Migrator, Target};
//!
//! let neo4j = Neo4jBackend::connect("bolt://127.0.0.1:7687", "neo4j", "password", None)?;
//! let report = Migrator::new(&MIGRATIONS)
//!     .backend(Box::new(neo4j))
//!     .upgrade(Target::Head)
//!     .await?;
//! # let _ = report;
//! # Ok(())
//! # }
//! ```
//!
//! # Weaviate (feature `weaviate`)
//!
//! ```no_run
//! # #[cfg(feature = "weaviate")]
//! # async fn boot() -> Result<(), Box<dyn std::error::Error>> {
//! # static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::Migrations::from_embedded(&[]);
//! use dbmigrate_core::backend::weaviate::{WeaviateClient, WeaviateConfig};
//! use dbmigrate_core::{Migrator, Target};
//!
//! let api_key = std::env::var("WEAVIATE_API_KEY").ok();
//! let client = WeaviateClient::new("http://127.0.0.1:8080", api_key, WeaviateConfig::default())?;
//! let report = Migrator::new(&MIGRATIONS).weaviate(client).upgrade(Target::Head).await?;
//! # let _ = report;
//! # Ok(())
//! # }
//! ```
//!
//! # All three on one timeline
//!
//! One [`Migrator`] with every backend applies the timeline in order, each
//! migration on its own database, under every backend's lock.
//!
//! ```no_run
//! # #[cfg(all(feature = "postgres", feature = "neo4j", feature = "weaviate"))]
//! # async fn boot(
//! #     pool: sqlx::PgPool,
//! #     neo4j: dbmigrate_core::backend::neo4j::Neo4jBackend,
//! #     client: dbmigrate_core::backend::weaviate::WeaviateClient,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! # static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::Migrations::from_embedded(&[]);
//! use dbmigrate_core::{Migrator, Target};
//!
//! let report = Migrator::new(&MIGRATIONS)
//!     .postgres(pool)
//!     .backend(Box::new(neo4j))
//!     .weaviate(client)
//!     .upgrade(Target::Head)
//!     .await?;
//! # let _ = report;
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//!
//! No feature is on by default.
//!
#![doc = document_features::document_features!()]
#![warn(missing_docs)]

pub mod backend;
pub mod checksum;
pub mod embedded;
pub mod error;
pub mod graph;
pub mod migration;
pub mod parse;
mod sql;
pub mod target;
pub mod weaviate_ops;

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
pub use migration::{
    BackendKind, Direction, Migration, MigrationOptions, Section, TransactionMode,
};
pub use target::Target;

#[cfg(feature = "runtime")]
pub use runner::{Migrator, Report};
