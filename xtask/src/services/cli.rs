//! `cargo xtask services up|down|status|env [--provider local|docker] [--keep-data]
//! [postgres|neo4j|weaviate ...]`: the command line (clap) and printing for a person.

use std::process::{Command as Process, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use clap::{Subcommand, ValueEnum};

use super::lifecycle::{self, ServerStatus};
use super::server::Server;

/// `cargo xtask services …`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// Local processes, or Docker containers (reserved: only reports whether Docker answers).
    #[arg(long, value_enum, default_value_t = Provider::Local, global = true)]
    provider: Provider,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the servers (all by default) on 127.0.0.1; reuses running ones.
    Up(UpArgs),
    /// Stop the servers that `up` started and delete their data.
    Down(DownArgs),
    /// Show each server, its port, its PID and whether it answers.
    Status(Selection),
    /// Print `export` lines: eval "$(cargo xtask services env)".
    Env(Selection),
}

/// Which servers a command acts on.
#[derive(Debug, clap::Args)]
struct Selection {
    /// The servers (all when none is named).
    #[arg(value_enum)]
    servers: Vec<Server>,
}

/// `services up`.
#[derive(Debug, clap::Args)]
struct UpArgs {
    #[command(flatten)]
    selection: Selection,
    /// Run Weaviate as a cluster of this many nodes on 127.0.0.1 (every collection
    /// replicated on all of them; `WEAVIATE_CLUSTER_URLS` names them). Default: the size
    /// it runs with, else 1.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=7))]
    weaviate_nodes: Option<u8>,
}

/// `services down`.
#[derive(Debug, clap::Args)]
struct DownArgs {
    #[command(flatten)]
    selection: Selection,
    /// Keep the data folders.
    #[arg(long)]
    keep_data: bool,
}

/// Which way the servers are provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Provider {
    Local,
    Docker,
}

/// Runs `cargo xtask services <args>`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.provider == Provider::Docker {
        return docker_provider();
    }
    match args.command {
        Command::Up(up) => {
            let nodes = up.weaviate_nodes.map(usize::from);
            let env = lifecycle::up_with(&up.selection.servers, nodes)?;
            for line in env.redacted() {
                eprintln!("  {line}");
            }
            eprintln!("point your shell at them: eval \"$(cargo xtask services env)\"");
            Ok(())
        }
        Command::Down(down) => lifecycle::down(&down.selection.servers, down.keep_data),
        Command::Status(selection) => {
            print!("{}", render_status(&lifecycle::status(&selection.servers)?));
            Ok(())
        }
        Command::Env(selection) => {
            print!("{}", lifecycle::env(&selection.servers).shell_exports());
            Ok(())
        }
    }
}

fn render_status(statuses: &[ServerStatus]) -> String {
    let mut out = format!(
        "{:<10} {:<7} {:<9} {:<14} {}\n",
        "server", "port", "pid", "state", "other ports"
    );
    for status in statuses {
        let pid = status.pid.map_or("-".to_string(), |pid| pid.to_string());
        let state = match (status.pid, status.answering) {
            (Some(_), true) => "answering",
            (Some(_), false) => "not answering",
            (None, true) => "foreign",
            (None, false) => "stopped",
        };
        let others: Vec<String> = status.ports[1..]
            .iter()
            .map(|(label, port)| format!("{label} {port}"))
            .collect();
        out.push_str(&format!(
            "{:<10} {:<7} {:<9} {:<14} {}\n",
            status.server.name(),
            status.ports[0].1,
            pid,
            state,
            others.join(", ")
        ));
    }
    out
}

/// `--provider docker`: only reports whether a Docker engine answers.
fn docker_provider() -> anyhow::Result<()> {
    match docker_info(Duration::from_secs(5)) {
        Ok(()) => anyhow::bail!(
            "a Docker engine answered, but `--provider docker` is not implemented yet: \
             use the default local provider (`cargo xtask services up`)"
        ),
        Err(why) => anyhow::bail!(
            "--provider docker: no Docker engine answered ({why}); use the default local \
             provider, which runs the servers as local processes: `cargo xtask services up`"
        ),
    }
}

/// Runs `docker info`, killing it after `timeout`.
fn docker_info(timeout: Duration) -> Result<(), String> {
    let mut child = Process::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("`docker` could not be run: {error}"))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("`docker info` failed with {status}")),
            Ok(None) if start.elapsed() < timeout => sleep(Duration::from_millis(100)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`docker info` did not answer within {timeout:?}"));
            }
            Err(error) => return Err(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &str) -> Result<Args, clap::Error> {
        Cli::try_parse_from(std::iter::once("services").chain(line.split_whitespace()))
            .map(|cli| cli.args)
    }

    #[test]
    fn parses_servers_and_options() {
        let args = parse("down --keep-data neo4j pg").unwrap();
        let Command::Down(down) = args.command else {
            panic!("{args:?}")
        };
        assert!(down.keep_data);
        assert_eq!(
            down.selection.servers,
            vec![Server::Neo4j, Server::Postgres]
        );
        assert_eq!(
            parse("up --provider=docker").unwrap().provider,
            Provider::Docker
        );
        assert!(parse("up mysql").is_err());
        let Command::Up(up) = parse("up weaviate --weaviate-nodes 3").unwrap().command else {
            panic!("up")
        };
        assert_eq!(up.weaviate_nodes, Some(3));
        assert!(parse("up --weaviate-nodes 0").is_err());
        assert!(parse("up --provider podman").is_err());
        assert!(parse("").is_err());
    }
}
