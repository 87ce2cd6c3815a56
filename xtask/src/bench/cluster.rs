//! The benchmark's own PostgreSQL cluster, with PostgreSQL's DEFAULT
//! durability (fsync, synchronous_commit and full_page_writes on, unlike the
//! fsync-off test server), on 127.0.0.1:57300 under `target/bench-postgres`:
//! the shared `services::pg_cluster::PgCluster`, which the
//! integration tests use too. Stopped and deleted on drop.

use std::path::Path;
use std::process::Command;

use crate::services::pg_cluster::PgCluster;

/// The port (this lane's range), loopback only.
pub const PORT: u16 = 57300;

/// A running cluster; stopped and deleted on drop.
pub struct Cluster {
    cluster: PgCluster,
}

impl Cluster {
    /// initdb + start with default settings apart from where it listens.
    pub fn start(target: &Path) -> anyhow::Result<Cluster> {
        let cluster =
            PgCluster::start(&target.join("bench-postgres"), PORT).map_err(anyhow::Error::msg)?;
        Ok(Cluster { cluster })
    }

    /// The superuser URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        self.cluster.url(name)
    }

    /// `fsync`, `synchronous_commit`, `full_page_writes` as the server reports them.
    pub fn settings(&self, psql: &Path) -> String {
        let output = Command::new(psql)
            .args(["-X", "-At", "-c"])
            .arg("SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method')")
            .arg(self.url("postgres"))
            .output();
        output.map_or_else(
            |e| format!("unknown ({e})"),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
    }
}
