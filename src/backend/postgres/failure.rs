//! What a failed statement tells the user: the file and line of the failing
//! statement, its first line, the server's message with its SQLSTATE, and
//! the server's DETAIL, HINT and CONTEXT fields.

use sqlx::postgres::{PgDatabaseError, PgErrorPosition};

use crate::backend::BackendError;
use crate::migration::Migration;

use crate::sql::Statement;

/// Where in a migration a statement failed.
pub(super) struct Failed<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// The 1-based line in the file to report.
    pub line: u32,
    /// The failing statement, when known.
    pub statement: Option<&'a str>,
}

/// The error of a failed statement, or a connection error when the server
/// sent no error of its own (the connection broke).
pub(super) fn statement_error(
    location: &str,
    failed: &Failed<'_>,
    error: &sqlx::Error,
) -> BackendError {
    let Some(database) = error.as_database_error() else {
        return BackendError::Connection {
            location: location.to_string(),
            message: error.to_string(),
        };
    };
    let mut message = match database.code() {
        Some(code) => format!("{} (SQLSTATE {code})", database.message()),
        None => database.message().to_string(),
    };
    if let Some(statement) = failed.statement.and_then(first_line) {
        message.push_str(&format!("\n  statement: {statement}"));
    }
    if let Some(pg) = database.try_downcast_ref::<PgDatabaseError>() {
        let fields = [
            ("detail", pg.detail()),
            ("hint", pg.hint()),
            ("context", pg.r#where()),
        ];
        for (name, value) in fields {
            if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
                message.push_str(&format!("\n  {name}: {}", value.replace('\n', "\n    ")));
            }
        }
    }
    BackendError::Statement {
        path: failed.migration.path.clone(),
        line: failed.line,
        message,
    }
}

/// The first non-blank line of a statement, cut to a length fit for a message.
fn first_line(statement: &str) -> Option<String> {
    const MAX: usize = 100;
    let line = statement.lines().map(str::trim).find(|l| !l.is_empty())?;
    let more = statement.trim().len() > line.len();
    Some(match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if more => format!("{line} …"),
        None => line.to_string(),
    })
}

/// The 0-based line within `section` of the error position the server
/// reported, when it points into the section (`section_start`: characters
/// sent before the section in the same query).
pub(super) fn position_line(
    error: &sqlx::Error,
    section_start: usize,
    section: &str,
) -> Option<u32> {
    let database = error
        .as_database_error()?
        .try_downcast_ref::<PgDatabaseError>()?;
    let PgErrorPosition::Original(position) = database.position()? else {
        return None;
    };
    let offset = position.checked_sub(1)?.checked_sub(section_start)?;
    let mut lines = 0;
    for (index, c) in section.chars().enumerate() {
        if index == offset {
            return Some(lines);
        }
        if c == '\n' {
            lines += 1;
        }
    }
    None
}

/// The statement of `statements` that failed after `completed` statements of
/// the whole query finished, `prefix` of which were bookkeeping before the
/// section; `None` when the failure came after the section (the history row).
pub(super) fn failing<'s, 'a>(
    statements: &'s [Statement<'a>],
    completed: usize,
    prefix: usize,
) -> Option<&'s Statement<'a>> {
    statements.get(completed.checked_sub(prefix)?)
}

#[cfg(test)]
mod tests {
    use super::first_line;

    #[test]
    fn first_line_of_a_statement() {
        assert_eq!(
            first_line("\n  ALTER TABLE a\n  DROP b").as_deref(),
            Some("ALTER TABLE a …")
        );
        assert_eq!(first_line("SELECT 1").as_deref(), Some("SELECT 1"));
        assert_eq!(first_line("  \n "), None);
    }
}
