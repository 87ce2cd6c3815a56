//! `cargo xtask chaos`: seeded, bounded fault injection against the real
//! servers of `services env` with the debug `cargo-dbmigrate` binary — kills,
//! stalls past the lease, simultaneous boots and an interrupted Weaviate
//! rebuild — each run in scratch databases, labels and collections that a
//! guard removes. Prints a table and fails on any inconsistency.

mod boots;
mod project;
mod rebuild;
mod report;
mod servers;
mod sigkill;
mod stall;

pub use report::{run, run_on, Options};
