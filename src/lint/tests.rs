//! The fixtures under `tests/fixtures/lint/`: each violating folder's report
//! is a reviewed snapshot; each fixed folder lints clean.

use std::path::Path;

use crate::graph::History;
use crate::parse::load_dir;

use super::{lint, LintInput, LintOptions, LintReport};

pub(super) fn lint_folder(folder: &str, options: &LintOptions) -> LintReport {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join(folder);
    let history = History::new(load_dir(&dir).expect("fixture parses")).expect("one line");
    let texts: Vec<String> = history
        .iter()
        .map(|m| std::fs::read_to_string(&m.path).expect("fixture reads"))
        .collect();
    let inputs: Vec<LintInput<'_>> = history
        .iter()
        .zip(&texts)
        .map(|(migration, text)| LintInput { migration, text })
        .collect();
    let mut report = lint(&inputs, options);
    let prefix = format!("{}/", root.display());
    for violation in &mut report.violations {
        violation.path = violation.path.replace(&prefix, "");
    }
    report
}

/// One line per violation: what a reviewer reads.
fn render(report: &LintReport) -> String {
    report
        .violations
        .iter()
        .map(|v| {
            let suppressed = v
                .suppressed
                .as_ref()
                .map(|reason| format!(" (suppressed: {reason})"))
                .unwrap_or_default();
            format!(
                "{} {} {}:{}:{}{}\n  | {}\n  why: {}\n  fix: {}\n",
                v.severity.name(),
                v.rule,
                v.path,
                v.line,
                v.column,
                suppressed,
                v.statement,
                v.why,
                v.fix
            )
        })
        .collect()
}

#[test]
fn postgres_violating() {
    insta::assert_snapshot!(render(&lint_folder(
        "tests/fixtures/lint/postgres/violating",
        &LintOptions::default()
    )));
}

#[test]
fn postgres_fixed_is_clean() {
    let report = lint_folder(
        "tests/fixtures/lint/postgres/fixed",
        &LintOptions::default(),
    );
    assert_eq!(render(&report), "");
}

#[test]
fn neo4j_violating() {
    insta::assert_snapshot!(render(&lint_folder(
        "tests/fixtures/lint/neo4j/violating",
        &LintOptions::default()
    )));
}

#[test]
fn weaviate_violating() {
    insta::assert_snapshot!(render(&lint_folder(
        "tests/fixtures/lint/weaviate/violating",
        &LintOptions::default()
    )));
}

#[test]
fn live_sizes_name_the_table_and_lock() {
    let mut options = LintOptions::default();
    options.live.tables.insert(
        "users".into(),
        super::TableSize {
            rows: 1_200_000,
            bytes: 310 << 20,
        },
    );
    let report = lint_folder("tests/fixtures/lint/postgres/violating", &options);
    let retype = report
        .violations
        .iter()
        .find(|v| v.rule == "changing-column-type")
        .expect("fires");
    assert!(
        retype
            .why
            .ends_with("rewrites `users` (1.2 M rows, 310 MB) under ACCESS EXCLUSIVE"),
        "{}",
        retype.why
    );
}

#[test]
fn tables_created_earlier_in_the_run_are_exempt() {
    let options = LintOptions {
        one_run: true,
        ..LintOptions::default()
    };
    let report = lint_folder("tests/fixtures/lint/postgres/violating", &options);
    let rules: Vec<&str> = report.active().map(|v| v.rule.as_str()).collect();
    assert!(!rules.contains(&"changing-column-type"), "{rules:?}");
    assert!(!rules.contains(&"backfill-in-transaction"), "{rules:?}");
    // Not about the table: CONCURRENTLY still fails inside the transaction.
    assert!(rules.contains(&"concurrently-in-transaction"), "{rules:?}");
}

/// squawk's `require-lock-timeout` speaks once a file; `missing-lock-timeout`
/// repeated it on every later statement (68 extra errors on ente's history).
#[test]
fn a_missing_lock_timeout_is_reported_once_a_file() {
    let report = lint_folder(
        "tests/fixtures/lint/lock_timeout_once",
        &LintOptions::default(),
    );
    let rules: Vec<&str> = report
        .active()
        .filter(|v| v.rule.contains("lock-timeout"))
        .map(|v| v.rule.as_str())
        .collect();
    assert_eq!(rules, ["require-lock-timeout"]);
}
