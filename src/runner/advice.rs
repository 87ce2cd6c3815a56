//! What a failed step's help says beyond "fix it and run again": for a
//! `Transaction: none` PostgreSQL step, which statements committed (by
//! line) before the one that failed; for a single-transaction step whose
//! connection was lost, that it was lost and that the commit is not known.

use crate::backend::BackendError;
use crate::migration::{BackendKind, Direction, Migration};

/// `base` (the step's usual help) with what the failure itself tells.
pub(super) fn failure_help(
    base: String,
    migration: &Migration,
    direction: Direction,
    atomic: bool,
    source: &BackendError,
) -> String {
    match source {
        BackendError::Connection { location, .. } if atomic => lost_connection(migration, location),
        BackendError::Statement { line, message, .. } if atomic && ended_by_server(message) => {
            format!(
                "the server ended the connection while `{}` ran (statement at line {line}), before \
                 its commit: nothing of it was applied (its transaction rolled back); run again once \
                 the server accepts connections",
                migration.revision_id
            )
        }
        BackendError::Statement { line, .. }
            if !atomic && migration.backend == BackendKind::Postgres =>
        {
            match committed_lines(migration, direction, *line) {
                Some(text) => format!("{base}\n  note: {text}"),
                None => base,
            }
        }
        _ => base,
    }
}

/// SQLSTATE class 08 (connection exception) or 57P01-57P03 (the server
/// shut down or terminated the session), as the backends word it.
fn ended_by_server(message: &str) -> bool {
    message.contains("(SQLSTATE 08") || message.contains("(SQLSTATE 57P0")
}

/// The connection dropped inside one transaction: all or nothing, but
/// which one is not known from here.
fn lost_connection(migration: &Migration, location: &str) -> String {
    let id = &migration.revision_id;
    format!(
        "the connection to {location} was lost while `{id}` ran in one transaction: it either \
         committed whole or rolled back whole, and which is not known here (nothing is half-applied); \
         run `cargo dbmigrate log`: if `{id}` shows applied it committed, otherwise run again"
    )
}

/// `statements at lines 6, 7 committed; line 8 failed; nothing after it ran`.
fn committed_lines(migration: &Migration, direction: Direction, failed: u32) -> Option<String> {
    let section = migration.section(direction).script();
    let first = migration.section_line(direction);
    let starts: Vec<u32> = crate::sql::split(section)
        .iter()
        .map(|statement| {
            let leading = statement.text.len() - statement.text.trim_start().len();
            let blank_lines = statement.text[..leading].matches('\n').count() as u32;
            first + statement.line + blank_lines
        })
        .collect();
    let failing = starts.iter().rposition(|&start| start <= failed)?;
    let done = &starts[..failing];
    let done = if done.is_empty() {
        "no statement of it committed".to_string()
    } else {
        let lines: Vec<String> = done.iter().map(u32::to_string).collect();
        format!(
            "its statements at line(s) {} committed (each on its own)",
            lines.join(", ")
        )
    };
    Some(format!(
        "{}:{failed}: {done}; the statement at line {} failed; none after it ran",
        migration.path, starts[failing]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration() -> Migration {
        crate::parse::parse_migration(
            "migrations/20240101_1100_cc0002_half_done.sql",
            "-- Message: half done\n-- Revises: base\n-- Transaction: none\n\n-- migrate:up\n\
             CREATE TABLE c (id int);\nCREATE TABLE d (id int);\nSELECT 1/0;\nCREATE TABLE e (id int);\n\n\
             -- migrate:down\nDROP TABLE c;\n",
        )
        .expect("parses")
    }

    #[test]
    fn names_the_committed_statements_by_line() {
        let failed = BackendError::Statement {
            path: "p".into(),
            line: 8,
            message: "division by zero (SQLSTATE 22012)".into(),
        };
        let help = failure_help("base".into(), &migration(), Direction::Up, false, &failed);
        assert!(
            help.ends_with("its statements at line(s) 6, 7 committed (each on its own); the statement at line 8 failed; none after it ran"),
            "{help}"
        );
    }

    #[test]
    fn a_lost_connection_says_so() {
        let lost = BackendError::Connection {
            location: "postgres://h/db".into(),
            message: "connection reset".into(),
        };
        let help = failure_help("base".into(), &migration(), Direction::Up, true, &lost);
        assert!(
            help.contains("connection to postgres://h/db was lost") && help.contains("not known"),
            "{help}"
        );
        let ended = BackendError::Statement {
            path: "p".into(),
            line: 6,
            message: "terminating connection due to administrator command (SQLSTATE 57P01)".into(),
        };
        let help = failure_help("base".into(), &migration(), Direction::Up, true, &ended);
        assert!(
            help.contains("ended the connection") && help.contains("rolled back"),
            "{help}"
        );
    }
}
