//! Integration tests against real PostgreSQL, Neo4j and Weaviate servers.
//!
//! The servers come from `cargo xtask services up`; the tests read their
//! URLs from the environment and fail (never skip) when one is missing.

mod common;
mod free_ports;
mod guards;
mod history_records;
mod neo4j;
mod pause;
mod postgres;
mod response_timeout;
mod roundtrip;
mod roundtrip_snapshots;
mod services;
mod weaviate;
