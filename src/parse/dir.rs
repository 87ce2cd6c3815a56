//! Reading a migrations folder: every migration file, sorted by name, with
//! every error collected.

use std::path::Path;

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::migration::{BackendKind, Migration};

use super::file::parse_bytes;
use super::name::looks_like_migration;

/// What to do with one directory entry.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// A migration file (by extension): parse it.
    Migration,
    /// Named like a migration but with an extension no backend takes.
    UnknownExtension,
    /// Anything else (`README.md`, hidden files, editor backups): skip.
    Ignored,
}

fn classify(file_name: &str) -> Entry {
    if file_name.starts_with('.') || file_name.starts_with("README") || file_name.ends_with('~') {
        Entry::Ignored
    } else if BackendKind::from_file_name(file_name).is_some() {
        Entry::Migration
    } else if looks_like_migration(file_name) {
        Entry::UnknownExtension
    } else {
        Entry::Ignored
    }
}

/// Reads and parses every migration file in `dir` (not its subfolders), sorted
/// by file name.
///
/// Hidden files, `README*`, editor backups (`~`) and files with other
/// extensions (`.md`) are skipped; a file named like a migration with an
/// unknown extension is an error. All errors are returned, not just the first;
/// paths in them are `dir` joined with the file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>, Vec<Error>> {
    load(dir, false).map(|(migrations, _)| migrations)
}

/// Like [`load_dir`], but files whose only problem is an empty up section
/// load too (see [`parse_migration_lenient`](super::parse_migration_lenient));
/// their errors come back as warnings beside the migrations.
pub fn load_dir_lenient(dir: &Path) -> Result<(Vec<Migration>, Vec<ParseError>), Vec<Error>> {
    load(dir, true)
}

fn load(dir: &Path, lenient: bool) -> Result<(Vec<Migration>, Vec<ParseError>), Vec<Error>> {
    let io_error = |path: &Path, source| Error::Io {
        path: path.display().to_string(),
        cause: source,
    };
    let entries = std::fs::read_dir(dir).map_err(|source| vec![io_error(dir, source)])?;
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) if entry.file_type().is_ok_and(|kind| !kind.is_dir()) => {
                files.push(entry.path())
            }
            Ok(_) => {}
            Err(source) => errors.push(io_error(dir, source)),
        }
    }
    files.sort();
    let mut migrations = Vec::new();
    let mut warnings = Vec::new();
    for path in files {
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = path.display().to_string();
        match classify(&file_name) {
            Entry::Ignored => {}
            Entry::UnknownExtension => errors.push(Error::Parse(ParseError {
                path: shown,
                line: 0,
                kind: ParseErrorKind::UnknownExtension {
                    extension: extension_of(&file_name),
                },
            })),
            Entry::Migration => match std::fs::read(&path) {
                Ok(bytes) => match parse_file(&shown, &bytes, lenient) {
                    Ok((migration, warning)) => {
                        migrations.push(migration);
                        warnings.extend(warning);
                    }
                    Err(error) => errors.push(Error::Parse(error)),
                },
                Err(source) => errors.push(io_error(&path, source)),
            },
        }
    }
    if errors.is_empty() {
        Ok((migrations, warnings))
    } else {
        Err(errors)
    }
}

/// One file's bytes, strictly or leniently parsed.
fn parse_file(
    path: &str,
    bytes: &[u8],
    lenient: bool,
) -> Result<(Migration, Option<ParseError>), ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) if lenient => super::parse_migration_lenient(path, text),
        _ => parse_bytes(path, bytes).map(|migration| (migration, None)),
    }
}

fn extension_of(file_name: &str) -> String {
    file_name
        .split_once('.')
        .map(|(_, extension)| extension.to_string())
        .unwrap_or_default()
}
