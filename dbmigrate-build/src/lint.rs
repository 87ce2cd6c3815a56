//! The zero-downtime lint at build time: every violation becomes a
//! `cargo:warning=` line; errors fail the build only when the package opts
//! in with `[package.metadata.dbmigrate] lint = "deny"`. The project's
//! `lock-timeout` / `statement-timeout` count as set for every migration, as
//! the CLI counts them.

use std::path::Path;
use std::time::Duration;

use dbmigrate_core::lint::{lint, LintInput, LintOptions, LintReport, Severity};
use dbmigrate_core::History;
use serde::Deserialize;

use crate::error::EmbedError;

/// The keys of `[package.metadata.dbmigrate]` the build helper reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct Settings {
    /// `"warn"` (the default) or `"deny"`.
    lint: Option<String>,
    lock_timeout: Option<String>,
    statement_timeout: Option<String>,
}

#[derive(Deserialize)]
struct Manifest {
    package: Option<Package>,
}

#[derive(Deserialize)]
struct Package {
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    dbmigrate: Option<Settings>,
}

impl Settings {
    /// Reads `Cargo.toml` in `manifest_dir`; a missing table gives the defaults.
    pub(crate) fn read(manifest_dir: &Path) -> Result<Settings, EmbedError> {
        let path = manifest_dir.join("Cargo.toml");
        let text = std::fs::read_to_string(&path).map_err(|source| EmbedError::Io {
            path: path.display().to_string(),
            cause: source,
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|error| EmbedError::Config {
            message: format!("{}: {error}", path.display()),
        })?;
        let settings = manifest
            .package
            .and_then(|package| package.metadata)
            .and_then(|metadata| metadata.dbmigrate)
            .unwrap_or_default();
        match settings.lint.as_deref() {
            None | Some("warn" | "deny") => Ok(settings),
            Some(other) => Err(EmbedError::Config {
                message: format!(
                    "{}: [package.metadata.dbmigrate] lint = {other:?}\n  help: use \"warn\" (the default) or \"deny\"",
                    path.display()
                ),
            }),
        }
    }

    /// True with `lint = "deny"`.
    pub(crate) fn deny(&self) -> bool {
        self.lint.as_deref() == Some("deny")
    }

    fn duration(text: Option<&String>) -> Option<Duration> {
        dbmigrate_core::parse::parse_duration(text?.trim()).ok()
    }
}

/// Lints the whole history offline (the build cannot know what is deployed).
pub(crate) fn lint_history(history: &History, settings: &Settings) -> LintReport {
    let texts: Vec<String> = history
        .iter()
        .map(|migration| std::fs::read_to_string(&migration.path).unwrap_or_default())
        .collect();
    let inputs: Vec<LintInput<'_>> = history
        .iter()
        .zip(&texts)
        .map(|(migration, text)| LintInput { migration, text })
        .collect();
    let options = LintOptions {
        default_lock_timeout: Settings::duration(settings.lock_timeout.as_ref()),
        default_statement_timeout: Settings::duration(settings.statement_timeout.as_ref()),
        ..LintOptions::default()
    };
    lint(&inputs, &options)
}

/// One `cargo:warning` line per unsuppressed violation.
pub(crate) fn warning_lines(report: &LintReport) -> Vec<String> {
    report
        .active()
        .map(|v| {
            format!(
                "{}: {}[{}]: {} | {} | help: {}",
                v.location(),
                v.severity.name(),
                v.rule,
                v.why,
                v.statement,
                v.fix
            )
        })
        .collect()
}

/// The error for `lint = "deny"` when errors remain.
pub(crate) fn deny_error(report: &LintReport) -> Option<EmbedError> {
    let errors: Vec<String> = report
        .active()
        .filter(|v| v.severity == Severity::Error)
        .map(|v| format!("{}: {}: {}\n  help: {}", v.location(), v.rule, v.why, v.fix))
        .collect();
    (!errors.is_empty()).then_some(EmbedError::Lint { errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_report(settings: &Settings) -> LintReport {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dir = root.join("tests/fixtures/lint/postgres/violating");
        let history = History::new(dbmigrate_core::parse::load_dir(&dir).unwrap()).unwrap();
        lint_history(&history, settings)
    }

    #[test]
    fn violations_become_warning_lines_and_deny_fails() {
        let report = fixture_report(&Settings::default());
        let lines = warning_lines(&report);
        assert!(
            lines.iter().any(|line| line.contains(
                "aa0002_index_in_transaction.sql:5:1: error[concurrently-in-transaction]"
            )),
            "{lines:#?}"
        );
        assert!(deny_error(&report).is_some());
    }

    #[test]
    fn project_timeouts_count_as_set() {
        let settings = Settings {
            lock_timeout: Some("5s".into()),
            statement_timeout: Some("1min".into()),
            ..Settings::default()
        };
        let report = fixture_report(&settings);
        assert!(report.active().all(|v| !v.rule.starts_with("require-")));
    }
}
