//! `cargo xtask`: the project's automation — real test servers, migration round-trips,
//! CI, the demo and benchmarks. Each subcommand lives in its own module; this file only
//! parses the command line (clap) and dispatches.

mod bench;
mod chaos;
mod ci;
mod demo;
mod package;
mod paths;
mod peers;
mod services;
mod test_migrations;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The project's automation: real test servers, round trips, CI, demo, benchmarks.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Real PostgreSQL, Neo4j and Weaviate servers on 127.0.0.1 (no Docker).
    Services(services::Args),
    /// Round-trip every edututor migration (up, down, up) on the real servers.
    TestMigrations(test_migrations::Args),
    /// Start the servers and run the edututor demo app twice.
    Demo,
    /// The other migration tools the import tests run.
    #[command(subcommand)]
    Peers(peers::PeersCommand),
    /// Benchmarks against PostgreSQL with default durability.
    Bench(bench::Options),
    /// Seeded, bounded fault injection (kills, stalls, simultaneous boots) on the real
    /// servers of `services env`; prints a table and fails on any inconsistency.
    Chaos(chaos::Options),
    /// Check that the three .crate files build a sample app.
    Package,
    /// Everything CI runs, in order, with the time of each step.
    Ci(ci::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Services(args) => services::run(args),
        Command::TestMigrations(args) => test_migrations::run(&args),
        Command::Demo => demo::run(),
        Command::Peers(command) => peers::run(command),
        Command::Bench(options) => bench::run(&options),
        Command::Chaos(options) => chaos::run(&options),
        Command::Package => package::run(),
        Command::Ci(args) => ci::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_parses() {
        for line in [
            "services up",
            "services down --keep-data neo4j postgres",
            "services status --provider docker",
            "services env pg",
            "test-migrations -- --nocapture",
            "demo",
            "peers install alembic squawk",
            "peers dir",
            "bench --migrations 10 --rounds 2 --big-mb 1 --release --shared --check",
            "package",
            "chaos --seed 7 --runs 2 --migrations 20 --boots 4 --objects 100",
            "ci --keep-services --skip-lints",
        ] {
            let args = std::iter::once("xtask").chain(line.split(' '));
            if let Err(error) = Cli::try_parse_from(args) {
                panic!("`{line}`: {error}");
            }
        }
        for line in [
            "services up mysql",
            "bench --rounds 0",
            "peers install pip",
            "demo x",
        ] {
            let args = std::iter::once("xtask").chain(line.split(' '));
            assert!(Cli::try_parse_from(args).is_err(), "`{line}` parsed");
        }
    }
}
