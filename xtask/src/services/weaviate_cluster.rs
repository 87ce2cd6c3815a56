//! Weaviate on loopback, one node or a cluster: the environment of node `k` of `n`
//! (ports, memberlist and Raft join lists, nothing phones home), where `go install`
//! caches the binary, and [`LocalCluster`], which starts `n` nodes as child processes
//! and kills them on drop (also on panic).
//!
//! Shared code: xtask's `services` computes every node's settings here, and the
//! integration tests include this same file with `#[path]` to start a cluster of their
//! own, so it uses `std` only.
//!
//! On one host the nodes need distinct ports: `CLUSTER_IN_LOCALHOST=true` makes
//! Weaviate take each node's Raft port from `RAFT_JOIN` (`nodeK:port`) and its internal
//! Raft RPC port as that port + 1, and memberlist use its local-network timings.

// Each includer uses a part of it.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned release (collection aliases need 1.32 or newer).
pub const WEAVIATE_VERSION: &str = "1.35.2";

/// The binary's name.
pub const BINARY: &str = "weaviate-server";

/// The loopback ports of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePorts {
    /// REST API.
    pub http: u16,
    /// Public gRPC API.
    pub grpc: u16,
    /// Memberlist gossip.
    pub gossip: u16,
    /// Internal cluster data.
    pub data: u16,
    /// Raft.
    pub raft: u16,
    /// Internal Raft RPC; must be `raft + 1` in a cluster on one host.
    pub raft_rpc: u16,
}

impl NodePorts {
    /// Six consecutive ports from `first`, in the field order.
    pub fn block(first: u16) -> NodePorts {
        NodePorts {
            http: first,
            grpc: first + 1,
            gossip: first + 2,
            data: first + 3,
            raft: first + 4,
            raft_rpc: first + 5,
        }
    }
}

/// `node1`, `node2`, … (`CLUSTER_HOSTNAME`).
pub fn node_name(index: usize) -> String {
    format!("node{}", index + 1)
}

/// The environment of node `index` of the cluster `nodes` (one entry: a single node).
/// Everything listens on 127.0.0.1 where Weaviate lets us choose; nothing phones home.
pub fn node_env(index: usize, nodes: &[NodePorts]) -> Vec<(&'static str, String)> {
    let own = nodes[index];
    let fixed = [
        ("DISABLE_TELEMETRY", "true"),
        ("GO_PROFILING_DISABLE", "true"),
        ("PROMETHEUS_MONITORING_ENABLED", "false"),
        ("SENTRY_ENABLED", "false"),
        ("DEFAULT_VECTORIZER_MODULE", "none"),
        ("ENABLE_MODULES", ""),
        ("API_BASED_MODULES_DISABLED", "true"),
        ("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "true"),
        ("AUTOSCHEMA_ENABLED", "false"),
        ("QUERY_DEFAULTS_LIMIT", "25"),
        ("CLUSTER_BIND_ADDR", "127.0.0.1"),
        ("CLUSTER_ADVERTISE_ADDR", "127.0.0.1"),
    ];
    let raft_join: Vec<String> = nodes
        .iter()
        .enumerate()
        .map(|(i, ports)| format!("{}:{}", node_name(i), ports.raft))
        .collect();
    let mut env: Vec<(&'static str, String)> = fixed
        .into_iter()
        .map(|(name, value)| (name, value.to_string()))
        .collect();
    env.extend([
        ("CLUSTER_HOSTNAME", node_name(index)),
        ("GRPC_PORT", own.grpc.to_string()),
        ("CLUSTER_GOSSIP_BIND_PORT", own.gossip.to_string()),
        ("CLUSTER_DATA_BIND_PORT", own.data.to_string()),
        ("RAFT_PORT", own.raft.to_string()),
        ("RAFT_INTERNAL_RPC_PORT", own.raft_rpc.to_string()),
        ("RAFT_JOIN", raft_join.join(",")),
        ("RAFT_BOOTSTRAP_EXPECT", nodes.len().to_string()),
    ]);
    if nodes.len() > 1 {
        env.push(("CLUSTER_IN_LOCALHOST", "true".into()));
        // Every collection, dbmigrate's History and Lock included, on every node.
        env.push(("REPLICATION_MINIMUM_FACTOR", nodes.len().to_string()));
        if index > 0 {
            env.push(("CLUSTER_JOIN", format!("127.0.0.1:{}", nodes[0].gossip)));
        }
    }
    env
}

/// The command that runs node `index` of `nodes`, its data in `data`, from `dir`.
pub fn node_command(
    binary: &Path,
    index: usize,
    nodes: &[NodePorts],
    dir: &Path,
    data: &Path,
) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--host", "127.0.0.1"])
        .args(["--port", &nodes[index].http.to_string()])
        .args(["--scheme", "http"])
        .current_dir(dir)
        .env_clear()
        .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
        .env("HOME", dir)
        .env("PERSISTENCE_DATA_PATH", data)
        .envs(node_env(index, nodes));
    command
}

/// Where `cargo xtask services up weaviate` caches the binary:
/// `<cache>/weaviate-<version>/weaviate-server`, the cache being `$DBMIGRATE_CACHE`,
/// else `$XDG_CACHE_HOME/dbmigrate`, else `~/.cache/dbmigrate`.
pub fn cached_binary() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    let cache = set("DBMIGRATE_CACHE")
        .map(PathBuf::from)
        .or_else(|| set("XDG_CACHE_HOME").map(|dir| PathBuf::from(dir).join("dbmigrate")))
        .or_else(|| set("HOME").map(|dir| PathBuf::from(dir).join(".cache/dbmigrate")))?;
    Some(
        cache
            .join(format!("weaviate-{WEAVIATE_VERSION}"))
            .join(BINARY),
    )
}

/// `GET path` on 127.0.0.1:`port` over HTTP/1.0: the status and the body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = connect(port)?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Some((status, body.to_string()))
}

/// Whether every node of `nodes` is ready and node 1 sees them all healthy.
pub fn cluster_ready(nodes: &[NodePorts]) -> bool {
    let ready = nodes
        .iter()
        .all(|node| http_get(node.http, "/v1/.well-known/ready").is_some_and(|(s, _)| s == 200));
    ready
        && http_get(nodes[0].http, "/v1/nodes").is_some_and(|(status, body)| {
            status == 200 && body.matches("\"status\":\"HEALTHY\"").count() >= nodes.len()
        })
}

/// Whether node 1's memberlist accepts TCP connections on `port`.
fn gossip_listens(port: u16) -> bool {
    connect(port).is_some()
}

/// A connection to a server on 127.0.0.1:`port`; never one to itself, which
/// a connect to a free port in the ephemeral range can make (and which holds
/// the port a node is about to bind).
fn connect(port: u16) -> Option<TcpStream> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&address, Duration::from_millis(500)).ok()?;
    (stream.local_addr().ok() != Some(address)).then_some(stream)
}

/// A cluster of child processes in a scratch folder; killed and deleted on drop.
pub struct LocalCluster {
    dir: PathBuf,
    nodes: Vec<NodePorts>,
    children: Vec<Child>,
}

impl LocalCluster {
    /// Starts one node of `binary` per entry of `nodes`, on its ports, in `dir` (emptied
    /// first), and waits until all are ready and see each other, or `timeout`.
    pub fn start(
        binary: &Path,
        dir: &Path,
        nodes: Vec<NodePorts>,
        timeout: Duration,
    ) -> Result<LocalCluster, String> {
        let _ = std::fs::remove_dir_all(dir);
        let n = nodes.len();
        let mut cluster = LocalCluster {
            dir: dir.to_path_buf(),
            nodes,
            children: Vec::new(),
        };
        let started = Instant::now();
        for index in 0..n {
            let child = cluster.spawn(binary, index)?;
            cluster.children.push(child);
            // The others join through node 1's gossip port: it must listen first.
            let gossip = cluster.nodes[0].gossip;
            cluster.wait(started, timeout, |_| gossip_listens(gossip))?;
        }
        cluster.wait(started, timeout, cluster_ready)?;
        Ok(cluster)
    }

    /// Polls `ready` until it holds, a node exits, or `timeout` from `started` passes.
    fn wait(
        &mut self,
        started: Instant,
        timeout: Duration,
        ready: impl Fn(&[NodePorts]) -> bool,
    ) -> Result<(), String> {
        let n = self.nodes.len();
        let cluster = self;
        while !ready(&cluster.nodes) {
            if let Some(exited) = cluster.exited() {
                return Err(format!(
                    "{exited} exited before the cluster was ready\n{}",
                    cluster.logs()
                ));
            }
            if started.elapsed() > timeout {
                return Err(format!(
                    "the {n}-node Weaviate cluster was not ready within {timeout:?}\n{}",
                    cluster.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }

    fn spawn(&self, binary: &Path, index: usize) -> Result<Child, String> {
        let dir = self.dir.join(node_name(index));
        std::fs::create_dir_all(dir.join("data"))
            .map_err(|e| format!("create {}: {e}", dir.display()))?;
        let log = std::fs::File::create(dir.join("log")).map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        node_command(binary, index, &self.nodes, &dir, &dir.join("data"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("failed to start {}: {e}", binary.display()))
    }

    fn exited(&mut self) -> Option<String> {
        self.children
            .iter_mut()
            .enumerate()
            .find_map(|(i, child)| matches!(child.try_wait(), Ok(Some(_))).then(|| node_name(i)))
    }

    fn logs(&self) -> String {
        (0..self.nodes.len())
            .map(|i| {
                let log = self.dir.join(node_name(i)).join("log");
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(8)..].join("\n");
                format!("--- last lines of {} ---\n{tail}", log.display())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The REST URL of each node, node 1 first.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("http://127.0.0.1:{}", node.http))
            .collect()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_nodes_join_node1_and_list_every_raft_port() {
        let nodes: Vec<NodePorts> = (0..3).map(|i| NodePorts::block(57620 + 6 * i)).collect();
        let env = node_env(2, &nodes);
        let get = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("CLUSTER_HOSTNAME"), Some("node3"));
        assert_eq!(
            get("RAFT_JOIN"),
            Some("node1:57624,node2:57630,node3:57636")
        );
        assert_eq!(get("RAFT_BOOTSTRAP_EXPECT"), Some("3"));
        assert_eq!(get("CLUSTER_JOIN"), Some("127.0.0.1:57622"));
        assert_eq!(get("CLUSTER_IN_LOCALHOST"), Some("true"));
        assert_eq!(get("DISABLE_TELEMETRY"), Some("true"));
        assert_eq!(get("RAFT_INTERNAL_RPC_PORT"), Some("57637"));
        let single = node_env(0, &nodes[..1]);
        assert!(!single
            .iter()
            .any(|(key, _)| *key == "CLUSTER_JOIN" || *key == "CLUSTER_IN_LOCALHOST"));
    }
}
