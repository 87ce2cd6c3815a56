//! The lint run: walks the timeline in order, keeps what earlier migrations
//! did (checks validated, columns added in this release, tables created in
//! this run), lints the files asked for, and applies `dbmigrate:allow` comments.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::migration::{BackendKind, Migration};

use super::live::LiveFacts;
use super::report::{LintReport, Violation};
use super::suppress::{header_allows, Allow};
use super::{neo4j, postgres, rules, weaviate};

/// One migration file: the parsed migration and the file text it came from.
#[derive(Debug, Clone, Copy)]
pub struct LintInput<'a> {
    /// The parsed migration.
    pub migration: &'a Migration,
    /// The whole file text (the header holds file-wide `dbmigrate:allow` comments).
    pub text: &'a str,
}

/// What to lint and what is known about the databases.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Index of the first migration to lint; the ones before it are read for
    /// context only (already applied).
    pub first_linted: usize,
    /// Whether the linted migrations run together (a database is known and
    /// they are its pending ones): a table, label or collection created by
    /// one of them is new for the ones after it. Offline each migration is
    /// judged as its own deploy.
    pub one_run: bool,
    /// The project's `lock-timeout`, which the runner applies to migrations without the header.
    pub default_lock_timeout: Option<Duration>,
    /// The project's `statement-timeout`, likewise.
    pub default_statement_timeout: Option<Duration>,
    /// Sizes from the connected databases.
    pub live: LiveFacts,
}

/// What one file tells the next ones, and what a file-level rule needs.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Tables, labels and collections created in this run before the current statement.
    pub created: BTreeSet<String>,
    /// The options.
    pub options: LintOptions,
}

/// A violation found by a backend, before suppression: the lines of its
/// statement and the `dbmigrate:allow` comments right before it.
pub(crate) struct Finding {
    /// The violation (its `suppressed` is filled in here).
    pub violation: Violation,
    /// Comments before the statement.
    pub allows: Vec<Allow>,
}

/// Lints `files` (the whole timeline, root first) as `options` says.
pub fn lint(files: &[LintInput<'_>], options: &LintOptions) -> LintReport {
    let mut context = Context {
        options: options.clone(),
        ..Context::default()
    };
    let mut postgres = postgres::State::default();
    let mut weaviate = weaviate::State::default();
    let mut report = LintReport::default();
    for (index, file) in files.iter().enumerate() {
        let linted = index >= options.first_linted;
        // A run starts at the first linted migration; applied ones create nothing new.
        if !options.one_run || index <= options.first_linted {
            context.created.clear();
        }
        let migration = file.migration;
        let (findings, statement_allows) = match migration.backend {
            BackendKind::Postgres => postgres.file(migration, &mut context, linted),
            BackendKind::Neo4j => neo4j::file(migration, &mut context),
            BackendKind::Weaviate => (
                weaviate.file(migration, file.text, &mut context, linted),
                Vec::new(),
            ),
        };
        if !linted {
            continue;
        }
        report.linted.push(migration.revision_id.clone());
        // A JSON layout has no comment header, so no file-wide allows.
        let file_allows = match migration.backend.descriptor().comment_prefix() {
            Some(prefix) => header_allows(&file.text.replace("\r\n", "\n"), prefix),
            None => Vec::new(),
        };
        for finding in findings {
            report.violations.push(suppress(finding, &file_allows));
        }
        for allow in file_allows.iter().chain(&statement_allows) {
            report.violations.extend(check_allow(migration, allow));
        }
    }
    report
        .violations
        .sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    report
}

fn suppress(finding: Finding, file_allows: &[Allow]) -> Violation {
    let mut violation = finding.violation;
    let allow = finding
        .allows
        .iter()
        .chain(file_allows)
        .find(|allow| allow.covers(&violation.rule));
    if let Some(allow) = allow {
        violation.suppressed = Some(allow.reason.clone().unwrap_or_default());
    }
    violation
}

/// A suppression without a reason, or naming an unknown rule, is itself a warning.
fn check_allow(migration: &Migration, allow: &Allow) -> Option<Violation> {
    let id = if !rules::is_known(&allow.rule) {
        "unknown-rule-suppressed"
    } else if allow.reason.is_none() {
        "suppression-without-reason"
    } else {
        return None;
    };
    let rule = rules::find(id)?;
    Some(Violation {
        rule: id.to_string(),
        source: "dbmigrate",
        severity: rule.severity,
        path: migration.path.clone(),
        revision_id: migration.revision_id.clone(),
        line: allow.line,
        column: 1,
        statement: format!("dbmigrate:allow {}", allow.rule),
        why: rule.why.to_string(),
        fix: rule.fix.to_string(),
        suppressed: None,
    })
}

/// A violation of one of dbmigrate's own rules.
pub(crate) fn own_violation(
    id: &str,
    migration: &Migration,
    (line, column): (u32, u32),
    statement: &str,
    detail: Option<String>,
) -> Violation {
    let rule = rules::find(id).expect("rule ids are constants of rules.rs");
    let why = match detail {
        Some(detail) => format!("{}: {detail}", rule.why),
        None => rule.why.to_string(),
    };
    Violation {
        rule: id.to_string(),
        source: "dbmigrate",
        severity: rule.severity,
        path: migration.path.clone(),
        revision_id: migration.revision_id.clone(),
        line,
        column,
        statement: first_line(statement),
        why,
        fix: rule.fix.to_string(),
        suppressed: None,
    }
}

/// The first line of a statement, trimmed.
pub(crate) fn first_line(text: &str) -> String {
    text.trim_start()
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_string()
}
