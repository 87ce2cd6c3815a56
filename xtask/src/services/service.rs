//! What every server module provides to the shared start/stop logic in `lifecycle`.

use std::path::PathBuf;
use std::time::Duration;

use super::layout::Layout;
use super::server::Server;
use super::{neo4j, postgres, weaviate};

/// One kind of server: how to prepare, start and probe it. The lifecycle code never
/// matches on a server's name; it only calls these.
pub trait Service: Sync {
    /// Which server this is.
    fn server(&self) -> Server;

    /// A word of the server process's command line, to recognise it in `/proc`.
    fn program(&self) -> &'static str {
        self.server().program()
    }

    /// The loopback ports it listens on, labelled; the first is the one clients use.
    fn ports(&self) -> Vec<(&'static str, u16)>;

    /// The environment variables that point clients at it.
    fn env(&self) -> Vec<(String, String)>;

    /// Installs, downloads or builds what it needs (cached) and creates its data folder
    /// when missing. Idempotent.
    fn prepare(&self, layout: &Layout) -> anyhow::Result<()>;

    /// Starts the server process with its output in the log file; returns its PID.
    fn spawn(&self, layout: &Layout) -> anyhow::Result<u32>;

    /// Whether the server answers a real request.
    fn answers(&self, layout: &Layout) -> bool;

    /// One-time setup once it answers (roles, databases). Idempotent.
    fn after_ready(&self, _layout: &Layout) -> anyhow::Result<()> {
        Ok(())
    }

    /// The signal that asks it to shut down cleanly.
    fn stop_signal(&self) -> &'static str {
        "TERM"
    }

    /// How long a start may take before `up` gives up.
    fn startup_timeout(&self) -> Duration;

    /// The logs whose tails explain a failed start.
    fn logs(&self, layout: &Layout) -> Vec<PathBuf> {
        vec![layout.log_file(self.server())]
    }
}

/// The implementation of `server`.
pub fn service(server: Server) -> &'static dyn Service {
    match server {
        Server::Postgres => &postgres::Postgres,
        Server::Neo4j => &neo4j::Neo4j,
        Server::Weaviate => &weaviate::SINGLE,
    }
}

/// The processes of `server` as `(node, service)`: one, or a Weaviate cluster of
/// `weaviate_nodes`. Node `k > 0` keeps its files under `Layout::node(k)`.
pub fn instances(server: Server, weaviate_nodes: usize) -> Vec<(usize, Box<dyn Service>)> {
    match server {
        Server::Weaviate if weaviate_nodes > 1 => (0..weaviate_nodes)
            .map(|node| {
                let service: Box<dyn Service> = Box::new(weaviate::Weaviate {
                    node,
                    nodes: weaviate_nodes,
                });
                (node, service)
            })
            .collect(),
        Server::Postgres => vec![(0, Box::new(postgres::Postgres))],
        Server::Neo4j => vec![(0, Box::new(neo4j::Neo4j))],
        Server::Weaviate => vec![(0, Box::new(weaviate::Weaviate { node: 0, nodes: 1 }))],
    }
}
