//! The build helper's error: everything that keeps migrations from being embedded.

use std::fmt;

/// Why the migrations could not be embedded. Its `Debug` is its `Display`, so
/// `embed("migrations").expect("migrations")` fails the build showing each
/// `path:line: message` and its help line.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// Not run from a build script.
    #[error("environment variable `{name}` is not set\n  help: call dbmigrate_build::embed from the package's build.rs")]
    MissingEnv {
        /// The variable.
        name: &'static str,
    },
    /// The migrations folder does not exist.
    #[error("{path}: migrations folder not found\n  help: create it, or run `cargo dbmigrate new \"message\"` to write the first migration")]
    MissingDir {
        /// The folder.
        path: String,
    },
    /// Malformed files or a broken history: every error found, in file order.
    #[error("{}", join(.errors))]
    Invalid {
        /// Each error (its `Display` is `path:line: message` plus a help line).
        errors: Vec<dbmigrate_core::Error>,
    },
    /// `lint = "deny"` and the zero-downtime lint found errors.
    #[error("{}\n  help: fix them, suppress one with `-- dbmigrate:allow rule-id reason`, or drop `lint = \"deny\"` from [package.metadata.dbmigrate]", .errors.join("\n"))]
    Lint {
        /// Each error, `path:line:column: rule: why` plus a help line.
        errors: Vec<String>,
    },
    /// `[package.metadata.dbmigrate]` could not be read.
    #[error("{message}")]
    Config {
        /// What is wrong, with the file.
        message: String,
    },
    /// Reading the folder or writing the generated file failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error. It is part of this message, so it is not also
        /// given as `source()` (the cause would print twice).
        cause: std::io::Error,
    },
}

impl fmt::Debug for EmbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{self}")
    }
}

fn join(errors: &[dbmigrate_core::Error]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}
