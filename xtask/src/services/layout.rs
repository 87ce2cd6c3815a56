//! Where the servers keep data, logs and PID files (`target/services/<name>/`) and where
//! downloads and builds are cached (outside `target/`, so `cargo clean` keeps them).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::server::Server;

/// The folders one `cargo xtask services` run works in.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `<target>/services`: one folder per server with its data, logs and PID file.
    pub services: PathBuf,
    /// The download and build cache: `$DBMIGRATE_CACHE`, else
    /// `$XDG_CACHE_HOME/dbmigrate`, else `~/.cache/dbmigrate`.
    pub cache: PathBuf,
}

impl Layout {
    /// The layout of this workspace: `$CARGO_TARGET_DIR` or `<workspace>/target`.
    pub fn discover() -> anyhow::Result<Layout> {
        Ok(Layout {
            services: crate::paths::target_dir().join("services"),
            cache: cache_dir()?,
        })
    }

    /// The layout of cluster node `node` (from 0): node 0 is this one; node `k` keeps
    /// its files under `target/services/weaviate-node<k+1>/`.
    pub fn node(&self, node: usize) -> Layout {
        if node == 0 {
            return self.clone();
        }
        Layout {
            services: self.services.join(format!("weaviate-node{}", node + 1)),
            cache: self.cache.clone(),
        }
    }

    /// `target/services/<name>/`.
    pub fn dir(&self, server: Server) -> PathBuf {
        self.services.join(server.name())
    }

    /// The PID file of the process `up` started.
    pub fn pid_file(&self, server: Server) -> PathBuf {
        self.dir(server).join("server.pid")
    }

    /// The file the server's stdout and stderr go to.
    pub fn log_file(&self, server: Server) -> PathBuf {
        self.dir(server).join(format!("{}.log", server.name()))
    }

    /// The folder `down` deletes unless asked to keep the data.
    pub fn data_dir(&self, server: Server) -> PathBuf {
        self.dir(server).join("data")
    }

    /// The lock file that serialises concurrent `up` and `down` runs.
    pub fn lock_file(&self) -> PathBuf {
        self.services.join(".lock")
    }
}

fn cache_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = non_empty_env("DBMIGRATE_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = non_empty_env("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("dbmigrate"));
    }
    let home = non_empty_env("HOME").context(
        "neither DBMIGRATE_CACHE nor HOME is set: set DBMIGRATE_CACHE to a cache folder",
    )?;
    Ok(PathBuf::from(home).join(".cache").join("dbmigrate"))
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Creates `dir` and its parents, naming it in the error.
pub fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))
}
