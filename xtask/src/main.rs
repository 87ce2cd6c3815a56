//! `cargo xtask`: the project's automation — real test servers, migration round-trips,
//! CI, the demo and benchmarks. Each subcommand lives in its own module.

mod bench;
mod ci;
mod demo;
mod package;
mod peers;
mod services;
mod test_migrations;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  services up|down|status|env [postgres|neo4j|weaviate ...]   real test servers on 127.0.0.1
  test-migrations                                              round-trip every migration
  demo                                                         run the edututor demo
  peers install [golang-migrate|alembic|sqlx-cli|diesel_cli|refinery_cli|flyway|squawk ...]   the tools the import tests run
  bench                                                        benchmarks
  package                                                      the three .crate files build a sample app
  ci                                                           everything CI runs";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let Some((command, rest)) = args.split_first() else {
        anyhow::bail!("missing command\n{USAGE}");
    };
    match command.as_str() {
        "services" => services::run(rest),
        "test-migrations" => test_migrations::run(rest),
        "demo" => demo::run(rest),
        "peers" => peers::run(rest),
        "bench" => bench::run(rest),
        "package" => package::run(rest),
        "ci" => ci::run(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown command `{other}`\n{USAGE}"),
    }
}
