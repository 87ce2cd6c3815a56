//! The loopback ports of the test servers. By default each has a fixed port (56432,
//! 56687, …), the ones every README and `services.env` name. `DBMIGRATE_SERVICES_PORT_BASE`
//! moves all of them to consecutive ports from that base (PostgreSQL first), so a second
//! set of servers — say, to test `cargo xtask services` itself — runs beside the first
//! (with its own `CARGO_TARGET_DIR`, which holds the data and PID files).

/// The environment variable that moves every port.
pub const PORT_BASE_VAR: &str = "DBMIGRATE_SERVICES_PORT_BASE";

/// One port a test server listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// PostgreSQL's SQL port.
    Postgres,
    /// Neo4j's Bolt port.
    Neo4jBolt,
    /// Neo4j's HTTP API.
    Neo4jHttp,
    /// Weaviate's REST API.
    WeaviateHttp,
    /// Weaviate's public gRPC API.
    WeaviateGrpc,
    /// Weaviate's memberlist gossip.
    WeaviateGossip,
    /// Weaviate's internal cluster data port.
    WeaviateData,
    /// Weaviate's Raft port.
    WeaviateRaft,
    /// Weaviate's internal Raft RPC port.
    WeaviateRaftRpc,
}

impl Port {
    /// Every port, in the order they follow a base.
    pub const ALL: [Port; 9] = [
        Port::Postgres,
        Port::Neo4jBolt,
        Port::Neo4jHttp,
        Port::WeaviateHttp,
        Port::WeaviateGrpc,
        Port::WeaviateGossip,
        Port::WeaviateData,
        Port::WeaviateRaft,
        Port::WeaviateRaftRpc,
    ];

    /// The fixed port used when no base is set.
    pub fn default_port(self) -> u16 {
        match self {
            Port::Postgres => 56432,
            Port::Neo4jBolt => 56687,
            Port::Neo4jHttp => 56474,
            Port::WeaviateHttp => 56080,
            Port::WeaviateGrpc => 56051,
            Port::WeaviateGossip => 56946,
            Port::WeaviateData => 56947,
            Port::WeaviateRaft => 56300,
            Port::WeaviateRaftRpc => 56301,
        }
    }

    /// The port: `base + position` when `$DBMIGRATE_SERVICES_PORT_BASE` is set, else the
    /// fixed default. A base that is not a port number is ignored with a warning.
    pub fn get(self) -> u16 {
        self.with_base(base())
    }

    /// The first of the six ports of Weaviate node `node` (from 1; node 0 uses the
    /// Weaviate ports above): after the other ports when a base is set, else from 56310.
    pub fn weaviate_node_block(node: usize) -> u16 {
        weaviate_node_block(base(), node)
    }

    fn with_base(self, base: Option<u16>) -> u16 {
        let position = Port::ALL.iter().position(|port| *port == self).unwrap_or(0);
        match base.and_then(|base| base.checked_add(position as u16)) {
            Some(port) => port,
            None => self.default_port(),
        }
    }
}

fn weaviate_node_block(base: Option<u16>, node: usize) -> u16 {
    let first = base.map_or(56310, |base| base.saturating_add(Port::ALL.len() as u16));
    first.saturating_add(6 * (node.saturating_sub(1)) as u16)
}

fn base() -> Option<u16> {
    let value = std::env::var(PORT_BASE_VAR)
        .ok()
        .filter(|v| !v.is_empty())?;
    match value.parse::<u16>() {
        Ok(base) if base > 1024 => Some(base),
        _ => {
            eprintln!("warning: {PORT_BASE_VAR}={value:?} is not a port above 1024; ignored");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_moves_every_port_to_consecutive_ones() {
        assert_eq!(Port::Postgres.with_base(None), 56432);
        assert_eq!(Port::Neo4jBolt.with_base(None), 56687);
        assert_eq!(Port::Postgres.with_base(Some(57600)), 57600);
        assert_eq!(Port::WeaviateRaftRpc.with_base(Some(57600)), 57608);
        assert_eq!(Port::WeaviateRaftRpc.with_base(Some(u16::MAX)), 56301);
        assert_eq!(weaviate_node_block(None, 2), 56316);
        assert_eq!(weaviate_node_block(Some(57640), 1), 57649);
    }
}
