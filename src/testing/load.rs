//! Reads a migrations folder from disk into a [`History`] with the one parser,
//! for tests that run the stairway over files rather than embedded ones.

use std::path::Path;

use crate::error::Error;
use crate::graph::History;
use crate::migration::BackendKind;
use crate::parse::parse_migration;

/// Parses every migration file in `dir` (files with an unknown extension are
/// skipped) and orders them into one timeline.
pub fn load_history(dir: impl AsRef<Path>) -> Result<History, Error> {
    let dir = dir.as_ref();
    let io_error = |source| Error::Io {
        path: dir.display().to_string(),
        cause: source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let is_migration = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| BackendKind::from_file_name(name).is_some());
        if path.is_file() && is_migration {
            paths.push(path);
        }
    }
    paths.sort();
    let mut migrations = Vec::with_capacity(paths.len());
    for path in paths {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: shown.clone(),
            cause: source,
        })?;
        migrations.push(parse_migration(&shown, &text)?);
    }
    Ok(History::new(migrations)?)
}
