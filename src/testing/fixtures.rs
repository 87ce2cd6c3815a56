//! Optional data fixtures of a round trip: scripts that seed rows before a
//! migration's first upgrade and check, after every upgrade, that they survived.
//!
//! A fixture folder holds files named `<revision_id>.before.<ext>` and
//! `<revision_id>.after.<ext>`; the extension picks the backend the script
//! runs on (`sql`, `cypher`, `weaviate.json`). An `after` script is a check: it
//! must fail (e.g. `RAISE EXCEPTION` in a `DO` block, or a Cypher division by
//! zero) when the data is wrong, and must not write, since it runs twice.

use std::path::{Path, PathBuf};

use crate::migration::BackendKind;

use super::error::RoundTripError;

/// When a fixture runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixturePhase {
    /// Once, before the migration's first upgrade: seeds data.
    Before,
    /// After each upgrade of the migration: checks the data.
    After,
}

impl FixturePhase {
    fn name(self) -> &'static str {
        match self {
            FixturePhase::Before => "before",
            FixturePhase::After => "after",
        }
    }
}

/// One fixture script.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The file, for messages.
    pub path: PathBuf,
    /// The backend it runs on.
    pub backend: BackendKind,
    /// Its text.
    pub script: String,
}

/// The fixtures of one folder (possibly none).
#[derive(Debug, Clone, Default)]
pub struct Fixtures {
    dir: Option<PathBuf>,
}

impl Fixtures {
    /// Fixtures read from `dir`; a missing folder simply holds none.
    pub fn from_dir(dir: impl AsRef<Path>) -> Fixtures {
        Fixtures {
            dir: Some(dir.as_ref().to_path_buf()),
        }
    }

    /// The scripts of `revision_id` for `phase`, sorted by file name.
    pub fn for_step(
        &self,
        revision_id: &str,
        phase: FixturePhase,
    ) -> Result<Vec<Fixture>, RoundTripError> {
        let Some(dir) = &self.dir else {
            return Ok(Vec::new());
        };
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let io_error = |source| RoundTripError::Io {
            path: dir.display().to_string(),
            cause: source,
        };
        let prefix = format!("{revision_id}.{}.", phase.name());
        let mut fixtures = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            if !name.starts_with(&prefix) {
                continue;
            }
            let Some(backend) = BackendKind::from_file_name(name) else {
                continue;
            };
            let script = std::fs::read_to_string(&path).map_err(|source| RoundTripError::Io {
                path: path.display().to_string(),
                cause: source,
            })?;
            fixtures.push(Fixture {
                path,
                backend,
                script,
            });
        }
        fixtures.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(fixtures)
    }
}
