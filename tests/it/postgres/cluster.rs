//! Private PostgreSQL clusters for tests that crash a server or need a
//! standby: xtask's `services/pg_cluster.rs` (one copy of that code, shared
//! through `#[path]`), on 127.0.0.1 and a port of the test's lane, under the
//! target folder, stopped and deleted on drop, also on panic.

#[path = "../../../xtask/src/services/pg_cluster.rs"]
mod pg_cluster;

use std::path::Path;

use pg_cluster::PgCluster;

/// A scratch cluster with the default durability settings.
pub struct Cluster(PgCluster);

impl Cluster {
    /// Creates and starts a cluster on `port`.
    pub fn start(port: u16) -> Cluster {
        Cluster(PgCluster::start(&scratch(port), port).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts a streaming hot standby of this cluster on `port`.
    pub fn start_standby(&self, port: u16) -> Cluster {
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

    /// The superuser URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        self.0.url("postgres")
    }
}

fn scratch(port: u16) -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pg-cluster-{port}"))
}
