//! The benchmark's own PostgreSQL cluster, with PostgreSQL's DEFAULT
//! durability (fsync, synchronous_commit and full_page_writes on, unlike the
//! fsync-off test server), on 127.0.0.1:57300 under `target/bench-postgres`,
//! run as the `postgres` system user when we are root. Stopped on drop.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

/// The port (this lane's range), loopback only.
pub const PORT: u16 = 57300;

/// A running cluster; stopped and deleted on drop.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
}

impl Cluster {
    /// initdb + start with default settings apart from where it listens.
    pub fn start(target: &Path) -> anyhow::Result<Cluster> {
        let dir = target.join("bench-postgres");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        let cluster = Cluster {
            bin: bin_dir()?,
            dir,
        };
        if let Some((uid, gid)) = postgres_user()? {
            std::os::unix::fs::chown(&cluster.dir, Some(uid), Some(gid))?;
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                "data",
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        )?;
        let options = format!(
            "-p {PORT} -c listen_addresses=127.0.0.1 -k {}",
            cluster.dir.display()
        );
        cluster.run(
            "pg_ctl",
            &["-D", "data", "-l", "log", "-w", "-o", &options, "start"],
        )?;
        Ok(cluster)
    }

    /// The superuser URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{PORT}/{name}")
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

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut command = Command::new(self.bin.join(program));
        command.args(args).current_dir(&self.dir);
        if let Some((uid, gid)) = postgres_user()? {
            command.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        let output = command
            .output()
            .with_context(|| format!("failed to run {program}"))?;
        if !output.status.success() {
            bail!(
                "{program} {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", "data", "-w", "-m", "fast", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    crate::services::postgres_bin_dir()
        .context("no /usr/lib/postgresql/*/bin/initdb: apt-get install postgresql")
}

/// The `postgres` user's ids when we run as root (the server refuses root).
fn postgres_user() -> anyhow::Result<Option<(u32, u32)>> {
    crate::services::cluster_owner()
}
