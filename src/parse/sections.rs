//! `.sql` and `.cypher` files: the comment header, then `migrate:up` and
//! `migrate:down` sections.

use crate::backend::{Descriptor, DESCRIPTORS};
use crate::error::ParseErrorKind;

use super::file::{line_number, LineError};
use super::header::{split_key_value, Header};
use crate::migration::{Migration, Section};

/// A `migrate:` marker line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Marker<'a> {
    Up,
    Down,
    Unknown(&'a str),
}

/// The comment prefix of another backend's language that `line` starts
/// with, to explain a mix-up.
fn other_prefix(line: &str, prefix: &str) -> Option<&'static str> {
    DESCRIPTORS
        .iter()
        .filter_map(|descriptor| descriptor.comment_prefix())
        .find(|other| *other != prefix && line.starts_with(other))
}

fn marker<'a>(line: &'a str, prefix: &str) -> Option<Marker<'a>> {
    let rest = line.trim().strip_prefix(prefix)?.trim_start();
    let name = rest.strip_prefix("migrate:")?.trim_end();
    Some(match name {
        "up" => Marker::Up,
        "down" => Marker::Down,
        other => Marker::Unknown(other),
    })
}

/// True when a line holds more than whitespace and comments.
fn is_statement(line: &str, prefix: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && !line.starts_with(prefix)
}

/// Parses normalised (LF, no BOM) text of a `.sql` or `.cypher` file into
/// `migration`'s header and section fields.
pub(crate) fn parse_sections(
    text: &str,
    descriptor: &Descriptor,
    prefix: &str,
    migration: &mut Migration,
    allow_empty: bool,
) -> Result<(), LineError> {
    let extension = descriptor.extension;
    let lines: Vec<&str> = text.split('\n').collect();
    let (up_marker, down_marker) = find_markers(&lines, prefix)?;
    let mut header = Header::default();
    for (index, line) in lines[..up_marker.unwrap_or(lines.len())].iter().enumerate() {
        header_line(
            &mut header,
            line,
            line_number(index + 1),
            (extension, prefix),
            up_marker.is_some(),
        )?;
    }
    let last_line = last_text_line(&lines);
    let Some(up_marker) = up_marker else {
        return Err((last_line, ParseErrorKind::MissingSection { section: "up" }));
    };
    let Some(message) = header.message.take() else {
        return Err((1, ParseErrorKind::MissingMessage));
    };
    let up_end = down_marker.unwrap_or(lines.len());
    let up_lines = &lines[up_marker + 1..up_end];
    // As for the down: a comment saying why it runs nothing is enough (sqlx,
    // Flyway and golang-migrate run such files; docs.rs's history has two).
    // A blank section, as `new` leaves it, is still a mistake.
    if !allow_empty && up_lines.iter().all(|line| line.trim().is_empty()) {
        return Err((line_number(up_marker + 1), ParseErrorKind::EmptyUp));
    }
    let (up, up_line) = section_text(up_lines, up_marker + 1);
    let (down, down_line) = match down_section(&lines, down_marker, &header, prefix, last_line) {
        Err((line, ParseErrorKind::EmptyDown)) if allow_empty => (String::new(), line),
        down => down?,
    };
    if let Some(check) = descriptor.check_section {
        check(&up, up_line)?;
        check(&down, down_line)?;
    }
    migration.message = message;
    migration.parent = header.revises;
    migration.revises_line = header.revises_line;
    migration.created = header.created;
    migration.options = header.options;
    (migration.up, migration.up_line) = (Section::Script(up), up_line);
    (migration.down, migration.down_line) = (Section::Script(down), down_line);
    Ok(())
}

/// The 0-based lines of the up and down markers, checking their order.
fn find_markers(lines: &[&str], prefix: &str) -> Result<(Option<usize>, Option<usize>), LineError> {
    let (mut up, mut down) = (None, None);
    for (index, line) in lines.iter().enumerate() {
        let line_no = line_number(index + 1);
        match marker(line, prefix) {
            None => {}
            Some(Marker::Up) if up.is_some() || down.is_some() => {
                return Err((line_no, ParseErrorKind::MisplacedSection { section: "up" }))
            }
            Some(Marker::Up) => up = Some(index),
            Some(Marker::Down) if up.is_none() || down.is_some() => {
                return Err((
                    line_no,
                    ParseErrorKind::MisplacedSection { section: "down" },
                ))
            }
            Some(Marker::Down) => down = Some(index),
            Some(Marker::Unknown(name)) => {
                return Err((
                    line_no,
                    ParseErrorKind::UnknownSection {
                        name: name.to_string(),
                    },
                ))
            }
        }
    }
    Ok((up, down))
}

/// One line before the up marker: blank, a plain comment, or `Key: value`.
fn header_line(
    header: &mut Header,
    line: &str,
    line_no: u32,
    (extension, prefix): (&str, &str),
    has_up: bool,
) -> Result<(), LineError> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Ok(());
    }
    if let Some(comment) = trimmed.strip_prefix(prefix) {
        return match split_key_value(comment) {
            Some((key, value)) => header
                .set(key, value, line_no)
                .map_err(|kind| (line_no, kind)),
            None => Ok(()),
        };
    }
    let reason = if other_prefix(trimmed, prefix).is_some() {
        format!(".{extension} files write comments with `{prefix}`")
    } else if has_up {
        "statements go after the `migrate:up` marker".to_string()
    } else {
        return Err((line_no, ParseErrorKind::MissingSection { section: "up" }));
    };
    Err((
        line_no,
        ParseErrorKind::BadHeader {
            header: shorten(trimmed),
            reason,
        },
    ))
}

/// The down section: required unless irreversible, and empty when irreversible.
fn down_section(
    lines: &[&str],
    down_marker: Option<usize>,
    header: &Header,
    prefix: &str,
    last_line: u32,
) -> Result<(String, u32), LineError> {
    let irreversible = header.options.irreversible;
    let Some(marker) = down_marker else {
        if irreversible {
            return Ok((String::new(), 0));
        }
        return Err((
            last_line,
            ParseErrorKind::MissingSection { section: "down" },
        ));
    };
    let body = &lines[marker + 1..];
    if irreversible {
        return match body.iter().position(|line| is_statement(line, prefix)) {
            Some(offset) => Err((
                line_number(marker + 2 + offset),
                ParseErrorKind::IrreversibleWithDown,
            )),
            None => Ok((String::new(), 0)),
        };
    }
    if body.iter().all(|line| line.trim().is_empty()) {
        return Err((line_number(marker + 1), ParseErrorKind::EmptyDown));
    }
    Ok(section_text(body, marker + 1))
}

/// A section's lines without leading and trailing blank lines, and the
/// 1-based line of its first kept line. `first` is the 0-based index of `lines[0]`.
fn section_text(lines: &[&str], first: usize) -> (String, u32) {
    let start = lines
        .iter()
        .position(|line| !line.trim().is_empty())
        .unwrap_or(0);
    let end = lines
        .iter()
        .rposition(|line| !line.trim().is_empty())
        .map_or(start, |last| last + 1);
    (lines[start..end].join("\n"), line_number(first + start + 1))
}

/// The 1-based line of the last line holding text (1 for a blank file).
fn last_text_line(lines: &[&str]) -> u32 {
    lines
        .iter()
        .rposition(|line| !line.trim().is_empty())
        .map_or(1, |index| line_number(index + 1))
}

/// A line cut to a length fit for a message.
fn shorten(line: &str) -> String {
    const MAX: usize = 60;
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}
