//! `cargo xtask services up|down|status|env [--provider local|docker] [--keep-data]
//! [postgres|neo4j|weaviate ...]`: argument parsing and printing for a person.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::lifecycle::{self, ServerStatus};
use super::server::Server;

const USAGE: &str = "\
usage: cargo xtask services <command> [options] [postgres|neo4j|weaviate ...]

commands:
  up       start the servers (all by default) on 127.0.0.1; reuses running ones
  down     stop the servers that `up` started and delete their data
  status   show each server, its port, its PID and whether it answers
  env      print `export` lines: eval \"$(cargo xtask services env)\"

options:
  --provider local|docker   local processes (default) or Docker containers
  --keep-data               `down` keeps the data folders";

/// Which way the servers are provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Local,
    Docker,
}

/// Parsed `services` arguments.
#[derive(Debug)]
struct Args {
    command: String,
    servers: Vec<Server>,
    provider: Provider,
    keep_data: bool,
}

fn parse(args: &[String]) -> anyhow::Result<Args> {
    let mut args = args.iter();
    let command = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("missing command\n{USAGE}"))?
        .clone();
    let mut parsed = Args {
        command,
        servers: Vec::new(),
        provider: Provider::Local,
        keep_data: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keep-data" => parsed.keep_data = true,
            "--provider" => parsed.provider = provider(args.next().map(String::as_str))?,
            other if other.starts_with("--provider=") => {
                parsed.provider = provider(other.strip_prefix("--provider="))?
            }
            "-h" | "--help" => parsed.command = "help".into(),
            other if other.starts_with('-') => anyhow::bail!("unknown option `{other}`\n{USAGE}"),
            name => parsed.servers.push(name.parse()?),
        }
    }
    Ok(parsed)
}

fn provider(value: Option<&str>) -> anyhow::Result<Provider> {
    match value {
        Some("local") => Ok(Provider::Local),
        Some("docker") => Ok(Provider::Docker),
        other => anyhow::bail!("--provider takes `local` or `docker`, not {other:?}"),
    }
}

/// Runs `cargo xtask services <args>`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let args = parse(args)?;
    if args.provider == Provider::Docker {
        return docker_provider();
    }
    match args.command.as_str() {
        "up" => {
            let env = lifecycle::up(&args.servers)?;
            for line in env.redacted() {
                eprintln!("  {line}");
            }
            eprintln!("point your shell at them: eval \"$(cargo xtask services env)\"");
            Ok(())
        }
        "down" => lifecycle::down(&args.servers, args.keep_data),
        "status" => {
            print!("{}", render_status(&lifecycle::status(&args.servers)?));
            Ok(())
        }
        "env" => {
            print!("{}", lifecycle::env(&args.servers).shell_exports());
            Ok(())
        }
        "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => anyhow::bail!("unknown services command `{other}`\n{USAGE}"),
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
    let mut child = Command::new("docker")
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
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| arg.to_string()).collect()
    }

    #[test]
    fn parses_servers_and_options() {
        let args = parse(&strings(&["down", "--keep-data", "neo4j", "postgres"])).unwrap();
        assert_eq!(args.command, "down");
        assert!(args.keep_data);
        assert_eq!(args.servers, vec![Server::Neo4j, Server::Postgres]);
        let args = parse(&strings(&["up", "--provider=docker"])).unwrap();
        assert_eq!(args.provider, Provider::Docker);
        assert!(parse(&strings(&["up", "mysql"])).is_err());
        assert!(parse(&strings(&["up", "--provider", "podman"])).is_err());
        assert!(parse(&[]).is_err());
    }
}
