//! `.weaviate.json` files: a JSON object with header fields and `up` / `down`
//! lists of typed operations ([`crate::weaviate_ops`]).

use crate::error::ParseErrorKind;
use crate::weaviate_ops::{Operation, WeaviateFile};

use super::file::{line_number, Body, LineError};
use super::header::parse_revises;

/// Parses normalised (LF, no BOM) text of a `.weaviate.json` file.
pub(crate) fn parse_json(text: &str) -> Result<Body, LineError> {
    if let Some((index, found)) = text
        .char_indices()
        .find(|(_, c)| !c.is_whitespace())
        .filter(|(_, c)| *c != '{')
    {
        let line = line_number(text[..index].matches('\n').count() + 1);
        let reason = format!("expected one JSON object `{{ \"message\": …, \"up\": […], \"down\": […] }}`, found `{found}`");
        return Err((line, ParseErrorKind::BadJson { reason }));
    }
    let file = serde_json::from_str::<WeaviateFile>(text).map_err(json_error)?;
    let keys = top_level_keys(text);
    let key_line = |key: &str| {
        keys.iter()
            .find(|(name, _)| name == key)
            .map(|(_, line)| *line)
    };
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
    if file.up.is_empty() {
        return Err((up_line, ParseErrorKind::EmptyUp));
    }
    let (down, down_line) = down_list(&file, key_line("down"), last_line)?;
    Ok(Body {
        message: file.message.trim().to_string(),
        revises,
        created: file.created.clone(),
        options: crate::migration::MigrationOptions {
            irreversible: file.irreversible,
            ..Default::default()
        },
        up: pretty(&file.up),
        down,
        up_line,
        down_line,
    })
}

/// The `down` list: required and non-empty unless irreversible, absent or empty when irreversible.
fn down_list(
    file: &WeaviateFile,
    down_key: Option<u32>,
    last_line: u32,
) -> Result<(String, u32), LineError> {
    match (file.irreversible, down_key) {
        (true, Some(line)) if !file.down.is_empty() => {
            Err((line, ParseErrorKind::IrreversibleWithDown))
        }
        (true, _) => Ok((String::new(), 0)),
        (false, None) => Err((
            last_line,
            ParseErrorKind::MissingSection { section: "down" },
        )),
        (false, Some(line)) if file.down.is_empty() => Err((line, ParseErrorKind::EmptyDown)),
        (false, Some(line)) => Ok((pretty(&file.down), line)),
    }
}

fn pretty(operations: &[Operation]) -> String {
    serde_json::to_string_pretty(operations).unwrap_or_default()
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

/// The keys of the top-level object with the 1-based line each appears on.
fn top_level_keys(text: &str) -> Vec<(String, u32)> {
    let bytes = text.as_bytes();
    let (mut keys, mut depth, mut line, mut index) = (Vec::new(), 0usize, 1usize, 0usize);
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => line += 1,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = index + 1;
                index = string_end(bytes, start);
                let mut after = index + 1;
                while after < bytes.len()
                    && bytes[after].is_ascii_whitespace()
                    && bytes[after] != b'\n'
                {
                    after += 1;
                }
                if depth == 1 && bytes.get(after) == Some(&b':') {
                    keys.push((
                        text[start..index.min(bytes.len())].to_string(),
                        line_number(line),
                    ));
                }
                line += bytes[start..index.min(bytes.len())]
                    .iter()
                    .filter(|&&byte| byte == b'\n')
                    .count();
            }
            _ => {}
        }
        index += 1;
    }
    keys
}

/// The index of the quote closing a string that starts at `start` (or the end).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut index = start;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return index,
            _ => index += 1,
        }
    }
    bytes.len()
}
