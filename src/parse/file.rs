//! Entry points: one migration file (text or bytes) into a [`Migration`].

use crate::backend::Layout;
use crate::checksum::{checksum, normalise};
use crate::error::{ParseError, ParseErrorKind};
use crate::migration::{Migration, MigrationOptions, Section};

use super::name::{file_name_of, parse_file_name};
use super::{sections, weaviate};

/// An error inside a file: its 1-based line and kind.
pub(crate) type LineError = (u32, ParseErrorKind);

/// Parses one migration file's text.
///
/// `path` is used in messages and its last component must be the migration
/// file name (`{YYYYMMDD}_{HHMM}_{rev}_{slug}.{ext}`); the extension picks the
/// backend. A BOM and CRLF line ends parse exactly like LF text; the sections
/// are stored with LF line ends and the checksum covers the whole text.
pub fn parse_migration(path: &str, text: &str) -> Result<Migration, ParseError> {
    parse_with(path, text, false)
}

/// Like [`parse_migration`], but a file whose sections are not written yet
/// (an empty up or down section, as `new` leaves them) still parses, with
/// those sections empty; the [`EmptyUp`](ParseErrorKind::EmptyUp) or
/// [`EmptyDown`](ParseErrorKind::EmptyDown) error comes back beside it as a
/// warning. For tools that only need the revision graph (`new`); building,
/// checking and applying stay strict.
pub fn parse_migration_lenient(
    path: &str,
    text: &str,
) -> Result<(Migration, Option<ParseError>), ParseError> {
    match parse_with(path, text, false) {
        Ok(migration) => Ok((migration, None)),
        Err(error)
            if matches!(
                error.kind,
                ParseErrorKind::EmptyUp | ParseErrorKind::EmptyDown
            ) =>
        {
            Ok((parse_with(path, text, true)?, Some(error)))
        }
        Err(error) => Err(error),
    }
}

fn parse_with(path: &str, text: &str, allow_empty: bool) -> Result<Migration, ParseError> {
    let error = |line: u32, kind: ParseErrorKind| ParseError {
        path: path.to_string(),
        line,
        kind,
    };
    let file_name = file_name_of(path);
    let name = parse_file_name(file_name).map_err(|kind| error(0, kind))?;
    let normalised = normalise(text);
    if normalised.trim().is_empty() {
        return Err(error(1, ParseErrorKind::Empty));
    }
    let descriptor = name.backend.descriptor();
    // The name's fields and the checksum; the body's parser fills in the rest.
    let mut migration = Migration {
        revision_id: name.revision_id,
        rev: name.rev,
        slug: name.slug,
        file_name: file_name.to_string(),
        path: path.to_string(),
        backend: name.backend,
        parent: None,
        revises_line: 0,
        message: String::new(),
        created: None,
        options: MigrationOptions::default(),
        up: Section::Script(String::new()),
        down: Section::Script(String::new()),
        up_line: 0,
        down_line: 0,
        checksum: checksum(text),
    };
    match descriptor.layout {
        Layout::Json => weaviate::parse_json(&normalised, &mut migration, allow_empty),
        Layout::Comments { prefix } => {
            sections::parse_sections(&normalised, descriptor, prefix, &mut migration, allow_empty)
        }
    }
    .map_err(|(line, kind)| error(line, kind))?;
    Ok(migration)
}

/// Parses one migration file's bytes: like [`parse_migration`], plus an
/// [`InvalidUtf8`](ParseErrorKind::InvalidUtf8) error at the line of the first bad byte.
pub fn parse_bytes(path: &str, bytes: &[u8]) -> Result<Migration, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_migration(path, text),
        Err(utf8) => {
            let error = |line: u32, kind: ParseErrorKind| ParseError {
                path: path.to_string(),
                line,
                kind,
            };
            parse_file_name(file_name_of(path)).map_err(|kind| error(0, kind))?;
            let valid = &bytes[..utf8.valid_up_to()];
            let line = valid.iter().filter(|&&byte| byte == b'\n').count() + 1;
            Err(error(line_number(line), ParseErrorKind::InvalidUtf8))
        }
    }
}

/// A 0-based index or count as a `u32` line number (saturating).
pub(crate) fn line_number(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}
