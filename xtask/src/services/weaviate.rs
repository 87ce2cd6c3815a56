//! Weaviate: `weaviate-server` built once with `go install` from its Go module at a pinned
//! version (cached outside `target/`), run single-node with anonymous access, no
//! telemetry, no modules, HTTP on 127.0.0.1:56080 (see `ports`).
//!
//! Listener note: Weaviate 1.35.2 binds its public gRPC port (`GRPC_PORT`) and its
//! internal cluster gRPC port (`CLUSTER_DATA_BIND_PORT`) on all interfaces (`":port"` is
//! hard-coded in its source); no setting moves them to loopback.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::Context as _;

use super::layout::{create_dir, Layout};
use super::ports::Port;
use super::probe;
use super::process::{run_logged, spawn_logged};
use super::server::Server;
use super::service::Service;
use super::weaviate_cluster::{node_env, NodePorts, BINARY, WEAVIATE_VERSION};

const MODULE: &str = "github.com/weaviate/weaviate/cmd/weaviate-server";

/// The Weaviate service.
pub struct Weaviate;

impl Service for Weaviate {
    fn server(&self) -> Server {
        Server::Weaviate
    }

    fn program(&self) -> &'static str {
        BINARY
    }

    fn ports(&self) -> Vec<(&'static str, u16)> {
        vec![
            ("http", Port::WeaviateHttp.get()),
            ("grpc", Port::WeaviateGrpc.get()),
            ("gossip", Port::WeaviateGossip.get()),
            ("cluster data", Port::WeaviateData.get()),
            ("raft", Port::WeaviateRaft.get()),
            ("raft rpc", Port::WeaviateRaftRpc.get()),
        ]
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![(
            "WEAVIATE_URL".into(),
            format!("http://127.0.0.1:{}", Port::WeaviateHttp.get()),
        )]
    }

    fn prepare(&self, layout: &Layout) -> anyhow::Result<()> {
        build(layout)?;
        create_dir(&layout.data_dir(Server::Weaviate))
    }

    fn spawn(&self, layout: &Layout) -> anyhow::Result<u32> {
        let dir = layout.dir(Server::Weaviate);
        let mut command = Command::new(binary(layout));
        command
            .args(["--host", "127.0.0.1"])
            .args(["--port", &Port::WeaviateHttp.get().to_string()])
            .args(["--scheme", "http"])
            .current_dir(&dir)
            .env_clear()
            .envs(std::env::var_os("PATH").map(|path| ("PATH", path)))
            .env("HOME", &dir)
            .env("PERSISTENCE_DATA_PATH", layout.data_dir(Server::Weaviate))
            .envs(settings());
        spawn_logged(&mut command, &layout.log_file(Server::Weaviate))
    }

    fn answers(&self, _layout: &Layout) -> bool {
        probe::http_ok(Port::WeaviateHttp.get(), "/v1/.well-known/ready")
    }

    fn startup_timeout(&self) -> Duration {
        Duration::from_secs(120)
    }
}

/// Node 1's loopback ports (see `ports`).
pub fn node1_ports() -> NodePorts {
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
fn settings() -> Vec<(&'static str, String)> {
    node_env(0, &[node1_ports()])
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
