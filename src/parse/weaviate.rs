//! `.weaviate.json` files: a JSON object with header fields and `up` / `down`
//! lists of typed operations ([`crate::weaviate_ops`]).

use crate::error::ParseErrorKind;
use crate::weaviate_ops::{OpsError, WeaviateFile};

use super::file::{line_number, LineError};
use super::header::parse_revises;
use super::json_layout::{layout, KeyLayout};
use crate::migration::{Migration, Section};

/// Parses normalised (LF, no BOM) text of a `.weaviate.json` file into
/// `migration`'s header and section fields.
pub(crate) fn parse_json(
    text: &str,
    migration: &mut Migration,
    allow_empty: bool,
) -> Result<(), LineError> {
    if let Some((index, found)) = text
        .char_indices()
        .find(|(_, c)| !c.is_whitespace())
        .filter(|(_, c)| *c != '{')
    {
        let line = line_number(text[..index].matches('\n').count() + 1);
        let reason = format!("expected one JSON object `{{ \"message\": …, \"up\": […], \"down\": […] }}`, found `{found}`");
        return Err((line, ParseErrorKind::BadJson { reason }));
    }
    let mut file = serde_json::from_str::<WeaviateFile>(text).map_err(json_error)?;
    let keys = layout(text);
    let key = |name: &str| keys.iter().find(|key| key.name == name);
    let key_line = |name: &str| key(name).map(|key| key.line);
    let last_line = line_number(text.trim_end().split('\n').count());
    if file.message.trim().is_empty() {
        return Err((
            key_line("message").unwrap_or(1),
            ParseErrorKind::MissingMessage,
        ));
    }
    let revises = match &file.revises {
        None => None,
        Some(value) => parse_revises(value.trim()).map_err(|reason| {
            let kind = ParseErrorKind::BadValue {
                key: "revises".into(),
                value: value.clone(),
                reason,
            };
            (key_line("revises").unwrap_or(1), kind)
        })?,
    };
    let up_line = key_line("up").unwrap_or(1);
    if !allow_empty && file.up.is_empty() {
        return Err((up_line, ParseErrorKind::EmptyUp));
    }
    let down_line = match down_line(&file, key_line("down"), last_line) {
        Err((line, ParseErrorKind::EmptyDown)) if allow_empty => line,
        down_line => down_line?,
    };
    file.check()
        .map_err(|error| operation_error(&file, error, key("up"), key("down")))?;
    migration.message = file.message.trim().to_string();
    migration.parent = revises;
    migration.revises_line = key_line("revises").unwrap_or(0);
    migration.created = file.created.take();
    migration.options.irreversible = file.irreversible;
    (migration.up, migration.up_line) = (Section::Weaviate(file.up), up_line);
    (migration.down, migration.down_line) = (Section::Weaviate(file.down), down_line);
    Ok(())
}

/// The line of the `down` list (0 when irreversible): required and non-empty
/// unless irreversible, absent or empty when irreversible.
fn down_line(file: &WeaviateFile, down_key: Option<u32>, last_line: u32) -> Result<u32, LineError> {
    match (file.irreversible, down_key) {
        (true, Some(line)) if !file.down.is_empty() => {
            Err((line, ParseErrorKind::IrreversibleWithDown))
        }
        (true, _) => Ok(0),
        (false, None) => Err((
            last_line,
            ParseErrorKind::MissingSection { section: "down" },
        )),
        (false, Some(line)) if file.down.is_empty() => Err((line, ParseErrorKind::EmptyDown)),
        (false, Some(line)) => Ok(line),
    }
}

/// serde_json's error as a line and a message without its position suffix.
fn json_error(error: serde_json::Error) -> LineError {
    let message = error.to_string();
    let reason = match message.rfind(" at line ") {
        Some(cut) if error.column() > 0 => {
            format!("{} (column {})", &message[..cut], error.column())
        }
        Some(cut) => message[..cut].to_string(),
        None => message,
    };
    (
        line_number(error.line().max(1)),
        ParseErrorKind::BadJson { reason },
    )
}

/// An operation `WeaviateFile::check` refuses, at the line where it starts.
///
/// `check` numbers the `up` operations first, then the `down` ones.
fn operation_error(
    file: &WeaviateFile,
    error: OpsError,
    up: Option<&KeyLayout>,
    down: Option<&KeyLayout>,
) -> LineError {
    let (list, key, index) = match error.index.checked_sub(file.up.len()) {
        None => ("up", up, error.index),
        Some(index) => ("down", down, index),
    };
    let line = key.map_or(1, |key| {
        key.elements.get(index).copied().unwrap_or(key.line)
    });
    (
        line,
        ParseErrorKind::BadOperation {
            list,
            index,
            message: error.message,
        },
    )
}
