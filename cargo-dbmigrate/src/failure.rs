//! How an error that ended a command is shown: `error: …` on stderr, or
//! with `--format json` one document on stdout,
//! `{"error": {"kind", "message", "file", "line", "help"}}`, so a script
//! reading stdout always gets JSON. A closed pipe shows nothing.

use std::io::Write as _;

use serde::Serialize;

use crate::exit;
use crate::OutputFormat;

/// The JSON form of an error.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ErrorDocument {
    /// `usage`, `invalid_files`, `needs_attention` or `failed` (see [`exit::kind`]).
    pub kind: &'static str,
    /// The message without its location and help.
    pub message: String,
    /// The file it is about, when there is one.
    pub file: Option<String>,
    /// The line in that file, when known.
    pub line: Option<u32>,
    /// What to do about it.
    pub help: Option<String>,
}

/// Shows `error` the way `format` asks and returns the exit code.
pub fn report(error: &anyhow::Error, format: OutputFormat) -> u8 {
    let code = exit::code_for(error);
    if exit::is_broken_pipe(error) {
        return code;
    }
    let text = format!("{error:#}");
    match format {
        OutputFormat::Text => eprintln!("error: {text}"),
        OutputFormat::Json => {
            let mut document = document(exit::kind(code), &text);
            let classified = error.downcast_ref::<exit::Classified>();
            // A failed step's message starts with the step, not the file:
            // its file and line come from the error itself.
            if let Some((file, line)) = classified.and_then(|c| c.location.as_ref()) {
                if document.file.is_none() {
                    document.file = Some(file.clone());
                    document.line = *line;
                }
            }
            let mut document = serde_json::json!({ "error": document });
            // What a failed run applied first, in the same document.
            if let Some(partial) = classified.and_then(|c| c.partial.clone()) {
                document["report"] = partial;
            }
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{document:#}");
        }
    }
    code
}

/// Splits `path:line: message\n  help: …` into its fields.
pub fn document(kind: &'static str, text: &str) -> ErrorDocument {
    let (body, help) = match text.split_once("\n  help: ") {
        Some((body, help)) => (body, Some(help.trim().to_string())),
        None => (text, None),
    };
    let (file, line, message) = split_location(body);
    ErrorDocument {
        kind,
        message: message.trim().to_string(),
        file,
        line,
        help,
    }
}

/// `migrations/x.sql:3: msg` → (file, line, msg); `migrations/x.sql: msg` → (file, None, msg).
fn split_location(body: &str) -> (Option<String>, Option<u32>, &str) {
    let Some((head, rest)) = body.split_once(": ") else {
        return (None, None, body);
    };
    let (path, line) = match head.rsplit_once(':') {
        Some((path, line)) if line.parse::<u32>().is_ok() => (path, line.parse().ok()),
        _ => (head, None),
    };
    let is_file = [".sql", ".cypher", ".json", ".toml", ".rs"]
        .iter()
        .any(|ext| path.ends_with(ext))
        && !path.contains(' ');
    if is_file {
        (Some(path.to_string()), line, rest)
    } else {
        (None, None, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_and_help_are_split_out() {
        let doc = document(
            "invalid_files",
            "migrations/a.sql:3: unknown header `X`\n  help: remove it",
        );
        assert_eq!(doc.file.as_deref(), Some("migrations/a.sql"));
        assert_eq!(doc.line, Some(3));
        assert_eq!(doc.message, "unknown header `X`");
        assert_eq!(doc.help.as_deref(), Some("remove it"));
        let plain = document("failed", "cannot connect to PostgreSQL: refused");
        assert_eq!((plain.file, plain.line), (None, None));
        assert_eq!(plain.message, "cannot connect to PostgreSQL: refused");
    }
}
