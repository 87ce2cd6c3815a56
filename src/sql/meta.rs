//! psql meta-commands (`\restrict`, `\connect`, `\set`, `\i`, the `\.` that
//! ends `COPY … FROM stdin` data): psql runs them, the server cannot, so a
//! section holding one is refused before it reaches a database.

use crate::error::ParseErrorKind;

use super::split::{is_escape_string, skip_block_comment, skip_dollar, skip_line, skip_quoted};

/// Refuses a PostgreSQL section holding a psql meta-command, at its line.
/// `first_line` is the 1-based file line of the section's first line.
pub(crate) fn refuse_meta_commands(
    section: &str,
    first_line: u32,
) -> Result<(), (u32, ParseErrorKind)> {
    match first_meta_command(section) {
        Some((line, command)) => Err((
            first_line + line,
            ParseErrorKind::PsqlMetaCommand {
                fix: fix(&command).to_string(),
                command,
            },
        )),
        None => Ok(()),
    }
}

/// The 0-based line and the word (`\restrict`) of the first backslash
/// outside quotes, dollar quotes and comments.
fn first_meta_command(script: &str) -> Option<(u32, String)> {
    let bytes = script.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' => skip_quoted(bytes, i, b'\'', is_escape_string(bytes, i)),
            b'"' => skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            b'$' => skip_dollar(script, i),
            b'\\' => {
                let line = bytes[..i].iter().filter(|&&b| b == b'\n').count();
                let word: String = script[i + 1..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(30)
                    .collect();
                return Some((u32::try_from(line).unwrap_or(u32::MAX), format!("\\{word}")));
            }
            _ => i + 1,
        };
    }
    None
}

/// How to rewrite the file without the meta-command.
fn fix(command: &str) -> &'static str {
    match command {
        "\\restrict" | "\\unrestrict" => "pg_dump 15.14+ writes `\\restrict` and `\\unrestrict` to protect psql sessions; delete both lines, they mean nothing outside psql",
        "\\connect" | "\\c" => "a migration runs on the database the runner is connected to; delete the line, and put statements for another database in that database's own migrations",
        "\\." => "`COPY … FROM stdin` data only loads through psql; dump with `pg_dump --inserts`, or write INSERT statements",
        "\\i" | "\\ir" | "\\include" | "\\include_relative" => "paste the included file's statements in place of the line (or make it a migration of its own)",
        "\\set" | "\\unset" => "write the variable's value where it is used (`:name` is not expanded either) and delete the line",
        _ => "delete the line, or write the SQL it stands for; only psql understands backslash commands",
    }
}

#[cfg(test)]
mod tests {
    use super::first_meta_command;

    #[test]
    fn finds_meta_commands_outside_quotes_and_comments() {
        let found = |s: &str| first_meta_command(s);
        assert_eq!(
            found("\\restrict abc\nSELECT 1;"),
            Some((0, "\\restrict".to_string()))
        );
        assert_eq!(
            found("SELECT 1;\n-- \\i x\n  \\connect db\n"),
            Some((2, "\\connect".to_string()))
        );
        assert_eq!(found("SELECT E'\\n', '\\', $$ \\set $$; /* \\i */"), None);
    }

    #[test]
    fn the_parser_refuses_a_pg_dump_restrict_line_at_its_file_line() {
        let text = "-- Message: dump\n-- Revises: base\n\n-- migrate:up\n\\restrict k3y\nSET statement_timeout = 0;\n\n-- migrate:down\nSELECT 1;\n";
        let error = crate::parse::parse_migration("migrations/20240101_1200_abc123_dump.sql", text)
            .expect_err("a psql meta-command");
        let message = error.to_string();
        assert!(
            message.starts_with(
                "migrations/20240101_1200_abc123_dump.sql:5: psql meta-command `\\restrict`"
            ),
            "{message}"
        );
        assert!(message.contains("help: pg_dump 15.14+"), "{message}");
    }
}
