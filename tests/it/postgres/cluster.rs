//! Private PostgreSQL clusters for tests that crash a server or need a
//! standby: xtask's `services/pg_cluster.rs` (one copy of that code, shared
//! through `#[path]`), on 127.0.0.1 and a port free when it starts (so two
//! `cargo test` runs on one machine do not clash), under the target folder,
//! stopped and deleted on drop, also on panic.

#[path = "../../../xtask/src/services/pg_cluster.rs"]
mod pg_cluster;

use std::path::Path;

use pg_cluster::PgCluster;

/// A scratch cluster with the default durability settings.
pub struct Cluster(PgCluster);

impl Cluster {
    /// Creates and starts a cluster on a free port.
    pub fn start() -> Cluster {
        let port = free_port();
        Cluster(PgCluster::start(&scratch(port), port).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts a streaming hot standby of this cluster on a free port.
    pub fn start_standby(&self) -> Cluster {
        let port = free_port();
        Cluster(
            PgCluster::start_standby(&self.0, &scratch(port), port)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    /// Starts the stopped cluster (crash recovery runs first).
    pub fn start_again(&self) {
        self.0.start_again().unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops the server as a crash would: no checkpoint, no WAL flush.
    pub fn crash(&self) {
        self.0.crash().unwrap_or_else(|e| panic!("{e}"));
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.0.port()
    }

    /// The superuser URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        self.0.url("postgres")
    }
}

/// A port free now, released for the server to bind.
fn free_port() -> u16 {
    crate::free_ports::FreePorts::default().tcp()
}

fn scratch(port: u16) -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pg-cluster-{port}"))
}
