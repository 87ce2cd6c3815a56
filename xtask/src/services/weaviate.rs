//! Weaviate: `weaviate-server` built once with `go install` from its Go module at a pinned
//! version (cached outside `target/`), run with anonymous access, no telemetry, no
//! modules, HTTP on 127.0.0.1:56080 (see `ports`): one node, or with
//! `services up --weaviate-nodes N` a cluster of N whose other nodes live in
//! `target/services/weaviate-node<k>/` (settings: `weaviate_cluster`).
//!
//! Listener note: Weaviate 1.35.2 binds its public gRPC port (`GRPC_PORT`) and its
//! internal cluster gRPC port (`CLUSTER_DATA_BIND_PORT`) on all interfaces (`":port"` is
//! hard-coded in its source); no setting moves them to loopback.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::layout::{create_dir, Layout};
use super::ports::Port;
use super::probe;
use super::process::{run_logged, spawn_logged};
use super::server::Server;
use super::service::Service;
#[cfg(test)]
use super::weaviate_cluster::node_env;
use super::weaviate_cluster::{cluster_ready, node_command, NodePorts, BINARY, WEAVIATE_VERSION};

const MODULE: &str = "github.com/weaviate/weaviate/cmd/weaviate-server";

/// The Weaviate service: node `node` (0 = node 1, the one `WEAVIATE_URL` names) of a
/// cluster of `nodes` (1 unless `services up --weaviate-nodes N`).
pub struct Weaviate {
    /// Which node, from 0.
    pub node: usize,
    /// How many nodes the cluster has.
    pub nodes: usize,
}

/// The default: one node.
pub static SINGLE: Weaviate = Weaviate { node: 0, nodes: 1 };

impl Weaviate {
    fn all_ports(&self) -> Vec<NodePorts> {
        (0..self.nodes).map(node_ports).collect()
    }
}

impl Service for Weaviate {
    fn server(&self) -> Server {
        Server::Weaviate
    }

    fn ports(&self) -> Vec<(&'static str, u16)> {
        let own = node_ports(self.node);
        vec![
            ("http", own.http),
            ("grpc", own.grpc),
            ("gossip", own.gossip),
            ("cluster data", own.data),
            ("raft", own.raft),
            ("raft rpc", own.raft_rpc),
        ]
    }

    fn env(&self) -> Vec<(String, String)> {
        let url = |ports: &NodePorts| format!("http://127.0.0.1:{}", ports.http);
        let all = self.all_ports();
        match (self.node, self.nodes) {
            (0, 1) => vec![("WEAVIATE_URL".into(), url(&all[0]))],
            (0, _) => vec![
                ("WEAVIATE_URL".into(), url(&all[0])),
                (
                    "WEAVIATE_CLUSTER_URLS".into(),
                    all.iter().map(url).collect::<Vec<_>>().join(","),
                ),
            ],
            _ => Vec::new(),
        }
    }

    fn prepare(&self, layout: &Layout) -> anyhow::Result<()> {
        build(layout)?;
        create_dir(&layout.data_dir(Server::Weaviate))
    }

    fn spawn(&self, layout: &Layout) -> anyhow::Result<u32> {
        let mut command = node_command(
            &binary(layout),
            self.node,
            &self.all_ports(),
            &layout.dir(Server::Weaviate),
            &layout.data_dir(Server::Weaviate),
        );
        spawn_logged(&mut command, &layout.log_file(Server::Weaviate))
    }

    /// A single node: ready. A cluster node: alive (it is ready only once the
    /// others joined; `after_ready` of the last node waits for that).
    fn answers(&self, _layout: &Layout) -> bool {
        let probe_path = if self.nodes == 1 {
            "/v1/.well-known/ready"
        } else {
            "/v1/.well-known/live"
        };
        probe::http_ok(node_ports(self.node).http, probe_path)
    }

    fn after_ready(&self, _layout: &Layout) -> anyhow::Result<()> {
        if self.nodes == 1 || self.node + 1 < self.nodes {
            return Ok(());
        }
        let (all, started) = (self.all_ports(), Instant::now());
        while !cluster_ready(&all) {
            anyhow::ensure!(
                started.elapsed() < self.startup_timeout(),
                "the {}-node Weaviate cluster did not become ready within {:?} (see the logs \
                 under target/services/weaviate*)",
                self.nodes,
                self.startup_timeout()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }
}

/// Node `node`'s loopback ports: node 1 on the fixed ports (see `ports`), the others in
/// blocks of six after them.
pub fn node_ports(node: usize) -> NodePorts {
    if node > 0 {
        return NodePorts::block(Port::weaviate_node_block(node));
    }
    NodePorts {
        http: Port::WeaviateHttp.get(),
        grpc: Port::WeaviateGrpc.get(),
        gossip: Port::WeaviateGossip.get(),
        data: Port::WeaviateData.get(),
        raft: Port::WeaviateRaft.get(),
        raft_rpc: Port::WeaviateRaftRpc.get(),
    }
}

/// Environment settings: single node, loopback, nothing phones home
/// (`weaviate_cluster::node_env`, shared with the cluster and the tests).
#[cfg(test)]
fn settings() -> Vec<(&'static str, String)> {
    node_env(0, &[node_ports(0)])
}

/// The file where `up` records the cluster size, under node 1's folder.
fn nodes_file(layout: &Layout) -> PathBuf {
    layout.dir(Server::Weaviate).join("nodes")
}

/// The cluster size `up` recorded (1 when none).
pub fn recorded_nodes(layout: &Layout) -> usize {
    std::fs::read_to_string(nodes_file(layout))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1)
}

/// Records the cluster size; `None` forgets it.
pub fn record_nodes(layout: &Layout, nodes: Option<usize>) -> anyhow::Result<()> {
    let file = nodes_file(layout);
    match nodes {
        Some(n) => {
            create_dir(&layout.dir(Server::Weaviate))?;
            std::fs::write(&file, format!("{n}\n"))
                .with_context(|| format!("failed to write {}", file.display()))
        }
        None => {
            let _ = std::fs::remove_file(&file);
            Ok(())
        }
    }
}

/// `<cache>/weaviate-<version>/weaviate-server`.
fn binary(layout: &Layout) -> PathBuf {
    layout
        .cache
        .join(format!("weaviate-{WEAVIATE_VERSION}"))
        .join(BINARY)
}

/// Builds `weaviate-server` with `go install` unless this version is already cached.
fn build(layout: &Layout) -> anyhow::Result<()> {
    let binary = binary(layout);
    if binary.is_file() {
        return Ok(());
    }
    let release = binary.parent().context("binary path has no folder")?;
    // go install writes into a scratch GOBIN, renamed into place only when complete.
    let scratch = release.join(".gobin");
    create_dir(&scratch)?;
    let log = layout.dir(Server::Weaviate).join("go-install.log");
    eprintln!(
        "weaviate: building {BINARY} {WEAVIATE_VERSION} with `go install` into {} \
         (minutes the first time; log: {})",
        release.display(),
        log.display()
    );
    let mut command = Command::new(go());
    command
        .args(["install", &format!("{MODULE}@v{WEAVIATE_VERSION}")])
        .env("GOBIN", &scratch);
    run_logged(
        &mut command,
        &log,
        "go install weaviate-server (is Go installed?)",
    )?;
    std::fs::rename(scratch.join(BINARY), &binary)
        .with_context(|| format!("failed to move the build into {}", binary.display()))
}

/// `go` from PATH, else the official tarball's location.
fn go() -> PathBuf {
    let in_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("go"))
            .find(|go| go.is_file())
    });
    in_path.unwrap_or_else(|| PathBuf::from("/usr/local/go/bin/go"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_switch_phone_home_off_and_pin_ports() {
        let settings = settings();
        let get = |name: &str| {
            settings
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("DISABLE_TELEMETRY"), Some("true"));
        assert_eq!(get("GO_PROFILING_DISABLE"), Some("true"));
        assert_eq!(get("CLUSTER_BIND_ADDR"), Some("127.0.0.1"));
        let raft = Port::WeaviateRaft.get().to_string();
        assert_eq!(get("RAFT_PORT"), Some(raft.as_str()));
    }
}
