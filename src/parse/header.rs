//! Header keys of `.sql` / `.cypher` migrations (`-- Key: value` before the
//! up marker) and the values they accept.

use std::time::Duration;

use crate::error::ParseErrorKind;
use crate::migration::{MigrationOptions, TransactionMode};

use super::name::check_revision_id;

/// The header keys, in the order the help text lists them.
const KEYS: [&str; 7] = [
    "Message",
    "Revises",
    "Created",
    "Transaction",
    "Irreversible",
    "Lock-Timeout",
    "Statement-Timeout",
];

/// The header of one migration, filled key by key.
#[derive(Debug, Default)]
pub(crate) struct Header {
    /// `Message:`.
    pub message: Option<String>,
    /// `Revises:` (`None` for `base` or absent).
    pub revises: Option<String>,
    /// Line of `Revises:`; 0 when absent.
    pub revises_line: u32,
    /// `Created:`.
    pub created: Option<String>,
    /// The options.
    pub options: MigrationOptions,
    seen: Vec<&'static str>,
}

/// Splits a comment's text into `(key, value)` when it reads `Key: value`
/// (a space after the colon is required for unknown keys only).
pub(crate) fn split_key_value(comment: &str) -> Option<(&str, &str)> {
    let (key, value) = comment.trim().split_once(':')?;
    let key_like = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    // `-- see http://…` is a comment; `-- Message:typo` is still a header.
    let separated = value.is_empty() || value.starts_with(char::is_whitespace);
    let known = KEYS.iter().any(|known| known.eq_ignore_ascii_case(key));
    (key_like && (separated || known)).then(|| (key, value.trim()))
}

impl Header {
    /// Records one `key: value` line.
    pub fn set(&mut self, key: &str, value: &str, line: u32) -> Result<(), ParseErrorKind> {
        let Some(canonical) = KEYS
            .into_iter()
            .find(|known| known.eq_ignore_ascii_case(key))
        else {
            return Err(ParseErrorKind::UnknownOption {
                key: key.to_string(),
            });
        };
        if self.seen.contains(&canonical) {
            return Err(ParseErrorKind::DuplicateHeader {
                key: canonical.to_string(),
            });
        }
        self.seen.push(canonical);
        let bad = |reason: &str| ParseErrorKind::BadValue {
            key: canonical.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        match canonical {
            "Message" if value.is_empty() => return Err(ParseErrorKind::MissingMessage),
            "Message" => self.message = Some(value.to_string()),
            "Revises" => {
                self.revises = parse_revises(value).map_err(|reason| bad(&reason))?;
                self.revises_line = line;
            }
            "Created" if value.is_empty() => return Err(bad("the value is empty")),
            "Created" => self.created = Some(value.to_string()),
            "Transaction" => {
                self.options.transaction = match value.to_ascii_lowercase().as_str() {
                    "single" => TransactionMode::Single,
                    "none" => TransactionMode::None,
                    _ => return Err(bad("expected `single` or `none`")),
                }
            }
            "Irreversible" => {
                self.options.irreversible = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("expected `true` or `false`")),
                }
            }
            "Lock-Timeout" => {
                self.options.lock_timeout =
                    Some(parse_duration(value).map_err(|reason| bad(&reason))?)
            }
            _ => {
                self.options.statement_timeout =
                    Some(parse_duration(value).map_err(|reason| bad(&reason))?)
            }
        }
        Ok(())
    }
}

/// A `Revises:` value: a revision id, or `base` for the root (an empty value is an error).
pub(crate) fn parse_revises(value: &str) -> Result<Option<String>, String> {
    if value.is_empty() {
        return Err("the value is empty".into());
    }
    if value.eq_ignore_ascii_case("base") {
        return Ok(None);
    }
    check_revision_id(value).map_err(|why| format!("not a revision id: {why}"))?;
    Ok(Some(value.to_string()))
}

/// `500ms`, `5s`, `2min` (a space before the unit is allowed): the one
/// duration syntax of migration headers and project settings.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits_end);
    let usage = || "expected a whole number with a unit ms, s or min".to_string();
    let number: u64 = number.parse().map_err(|_| usage())?;
    match unit.trim() {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "min" => number
            .checked_mul(60)
            .map(Duration::from_secs)
            .ok_or_else(usage),
        _ => Err(usage()),
    }
}
