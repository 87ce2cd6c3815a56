//! `up`, `down`, `status` and `env` for any set of servers, shared by the `services`
//! subcommand and by other xtask subcommands (`demo`, `test-migrations`, `ci`).

use std::fs::{File, OpenOptions};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::layout::{create_dir, Layout};
use super::probe::port_open;
use super::process::{self, Stopped, Watch};
use super::server::{Server, ServiceEnv};
use super::service::{instances, service, Service};
use super::weaviate;

/// How long a server gets to stop after the graceful signal before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Starts `servers` (all when empty) unless they already run, waits until each answers,
/// and returns the environment that points at them. Progress goes to stderr. Weaviate
/// keeps the cluster size it runs with (one node unless `up_with` asked for more).
pub fn up(servers: &[Server]) -> anyhow::Result<ServiceEnv> {
    up_with(servers, None)
}

/// `up`, with Weaviate as a cluster of `weaviate_nodes` on loopback (`None`: the size
/// it runs with, else 1). A running Weaviate of another size is an error.
pub fn up_with(servers: &[Server], weaviate_nodes: Option<usize>) -> anyhow::Result<ServiceEnv> {
    let layout = Layout::discover()?;
    let _lock = lock(&layout)?;
    for server in Server::selection(servers) {
        let nodes = cluster_size(&layout, server, weaviate_nodes)?;
        for (node, service) in instances(server, nodes) {
            up_one(&layout.node(node), service.as_ref())
                .with_context(|| format!("failed to bring up {server}"))?;
        }
    }
    Ok(env(servers))
}

/// How many Weaviate nodes to start, recorded for `env`, `status` and `down`.
fn cluster_size(
    layout: &Layout,
    server: Server,
    requested: Option<usize>,
) -> anyhow::Result<usize> {
    if server != Server::Weaviate {
        return Ok(1);
    }
    let recorded = weaviate::recorded_nodes(layout);
    let nodes = requested.unwrap_or(recorded);
    if nodes != recorded && live_pid(layout, service(server)).is_some() {
        anyhow::bail!(
            "weaviate runs as {recorded} node(s), not {nodes}: stop it first with \
             `cargo xtask services down weaviate`"
        );
    }
    weaviate::record_nodes(layout, Some(nodes))?;
    Ok(nodes)
}

/// Stops the servers that `up` started (from their PID files), gracefully then by force,
/// and deletes their data unless `keep_data`. Progress goes to stderr.
pub fn down(servers: &[Server], keep_data: bool) -> anyhow::Result<()> {
    let layout = Layout::discover()?;
    let _lock = lock(&layout)?;
    for server in Server::selection(servers) {
        let nodes = recorded_size(&layout, server);
        for (node, service) in instances(server, nodes).into_iter().rev() {
            down_one(&layout.node(node), service.as_ref(), keep_data)
                .with_context(|| format!("failed to stop {server}"))?;
        }
        if server == Server::Weaviate && !keep_data {
            weaviate::record_nodes(&layout, None)?;
        }
    }
    Ok(())
}

fn recorded_size(layout: &Layout, server: Server) -> usize {
    match server {
        Server::Weaviate => weaviate::recorded_nodes(layout),
        _ => 1,
    }
}

/// The environment for `servers` (all when empty); it does not check that they run.
pub fn env(servers: &[Server]) -> ServiceEnv {
    let layout = Layout::discover().ok();
    let vars = Server::selection(servers)
        .into_iter()
        .flat_map(|server| {
            let nodes = layout.as_ref().map_or(1, |l| recorded_size(l, server));
            instances(server, nodes)
                .into_iter()
                .flat_map(|(_, service)| service.env())
        })
        .collect();
    ServiceEnv::new(vars)
}

/// What `status` found for one server.
#[derive(Debug, Clone)]
pub struct ServerStatus {
    /// Which server.
    pub server: Server,
    /// Its labelled loopback ports, the client port first.
    pub ports: Vec<(&'static str, u16)>,
    /// The PID from its PID file, when that process is alive.
    pub pid: Option<u32>,
    /// Whether it answers a real request.
    pub answering: bool,
}

/// The state of `servers` (all when empty).
pub fn status(servers: &[Server]) -> anyhow::Result<Vec<ServerStatus>> {
    let layout = Layout::discover()?;
    Ok(Server::selection(servers)
        .into_iter()
        .flat_map(|server| {
            let layout = &layout;
            instances(server, recorded_size(layout, server))
                .into_iter()
                .map(move |(node, service)| {
                    let layout = layout.node(node);
                    ServerStatus {
                        server,
                        ports: service.ports(),
                        pid: live_pid(&layout, service.as_ref()),
                        answering: service.answers(&layout),
                    }
                })
        })
        .collect())
}

fn live_pid(layout: &Layout, service: &dyn Service) -> Option<u32> {
    process::read_pid(&layout.pid_file(service.server()))
        .filter(|pid| process::is_alive(*pid, service.program()))
}

fn up_one(layout: &Layout, service: &dyn Service) -> anyhow::Result<()> {
    let server = service.server();
    create_dir(&layout.dir(server))?;
    if let Some(pid) = live_pid(layout, service) {
        if !service.answers(layout) {
            eprintln!("{server}: running (pid {pid}) but not answering yet, waiting");
            wait_ready(layout, service, pid)?;
        }
        service.after_ready(layout)?;
        eprintln!("{server}: already running (pid {pid}), reusing it");
        return Ok(());
    }
    process::remove_pid(&layout.pid_file(server))?;
    ensure_ports_free(layout, service)?;
    let start = Instant::now();
    service.prepare(layout)?;
    let prepared = start.elapsed();
    let log = layout.log_file(server);
    eprintln!("{server}: starting, log: {}", log.display());
    let pid = service.spawn(layout)?;
    process::write_pid(&layout.pid_file(server), pid)?;
    if let Err(error) = wait_ready(layout, service, pid).and_then(|_| service.after_ready(layout)) {
        let _ = process::kill(pid);
        let _ = process::remove_pid(&layout.pid_file(server));
        return Err(error);
    }
    eprintln!(
        "{server}: ready on 127.0.0.1:{} (pid {pid}) in {:.1}s ({:.1}s preparing)",
        service.ports()[0].1,
        start.elapsed().as_secs_f64(),
        prepared.as_secs_f64(),
    );
    Ok(())
}

fn wait_ready(layout: &Layout, service: &dyn Service, pid: u32) -> anyhow::Result<Duration> {
    let logs = service.logs(layout);
    let logs: Vec<&std::path::Path> = logs.iter().map(|log| log.as_path()).collect();
    let watch = Watch {
        pid,
        program: service.program(),
        timeout: service.startup_timeout(),
        logs: &logs,
    };
    process::wait_ready(&watch, || service.answers(layout))
}

fn ensure_ports_free(layout: &Layout, service: &dyn Service) -> anyhow::Result<()> {
    for (label, port) in service.ports() {
        anyhow::ensure!(
            !port_open(port),
            "127.0.0.1:{port} ({label} port) is taken by a process that `cargo xtask services` \
             did not start (no live PID in {}): stop that process or free the port",
            layout.pid_file(service.server()).display()
        );
    }
    Ok(())
}

fn down_one(layout: &Layout, service: &dyn Service, keep_data: bool) -> anyhow::Result<()> {
    let server = service.server();
    let pid_file = layout.pid_file(server);
    match process::read_pid(&pid_file) {
        Some(pid) => {
            match process::stop(pid, service.program(), service.stop_signal(), STOP_GRACE)? {
                Stopped::NotRunning => eprintln!("{server}: not running (stale PID {pid})"),
                Stopped::Gracefully => eprintln!("{server}: stopped (pid {pid})"),
                Stopped::Killed => eprintln!("{server}: killed after {STOP_GRACE:?} (pid {pid})"),
            }
            process::remove_pid(&pid_file)?;
        }
        None => eprintln!("{server}: not running (no PID file)"),
    }
    let data = layout.data_dir(server);
    if keep_data {
        eprintln!("{server}: data kept in {}", data.display());
    } else if data.exists() {
        std::fs::remove_dir_all(&data)
            .with_context(|| format!("failed to delete {}", data.display()))?;
        eprintln!("{server}: data deleted ({})", data.display());
    }
    Ok(())
}

/// Holds an exclusive lock on `target/services/.lock` so two runs never race.
fn lock(layout: &Layout) -> anyhow::Result<File> {
    create_dir(&layout.services)?;
    let path = layout.lock_file();
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    if file.try_lock().is_err() {
        eprintln!(
            "waiting for another `cargo xtask services` run ({})",
            path.display()
        );
        file.lock()
            .with_context(|| format!("failed to lock {}", path.display()))?;
    }
    Ok(file)
}
