//! Real PostgreSQL, Neo4j and Weaviate servers on 127.0.0.1 for tests, without Docker:
//! `cargo xtask services up|down|status|env`, and the same as a library for the other
//! xtask subcommands (`services::up(&[])` returns the environment to hand to a child).

mod cli;
mod layout;
mod lifecycle;
mod neo4j;
pub mod pg_cluster;
mod ports;
mod postgres;
mod probe;
mod process;
mod server;
mod service;
mod weaviate;
pub mod weaviate_cluster;

pub use cli::{run, Args};
pub use layout::Layout;
pub use process::tail;
// `chaos` finds the Neo4j HTTP endpoint it checks effects through.
pub use ports::Port;
// The library API for `demo`, `test-migrations` and `ci`; unused until they call it.
#[allow(unused_imports)]
pub use lifecycle::{down, env, status, up, ServerStatus};
#[allow(unused_imports)]
pub use server::{Server, ServiceEnv};
