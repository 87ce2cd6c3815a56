//! One violating and one fixed history per rule dbmigrate adds, under
//! `tests/fixtures/lint/rules/<rule-id>/{violating,fixed}/`: the rule fires
//! on the first and the second lints clean. A rule without its pair fails.

use super::tests::lint_folder;
use super::{LintOptions, RULES};

/// The live sizes the pairs are judged with: `:User` and `Doc` are big, so
/// the connected-only rules (blocking index, rebuild) can fire.
fn options() -> LintOptions {
    let mut options = LintOptions::default();
    options.live.labels.insert("User".into(), 250_000);
    options.live.collections.insert("Doc".into(), 250_000);
    options
}

fn active_rules(folder: &str) -> Vec<String> {
    lint_folder(folder, &options())
        .active()
        .map(|v| format!("{} {}:{}", v.rule, v.path, v.line))
        .collect()
}

#[test]
fn every_rule_fires_on_its_violating_fixture_and_not_on_its_fixed_one() {
    let mut missing = Vec::new();
    for rule in RULES.iter() {
        let folder = format!("tests/fixtures/lint/rules/{}", rule.id);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&folder);
        if !root.join("violating").is_dir() || !root.join("fixed").is_dir() {
            missing.push(rule.id);
            continue;
        }
        let violating = active_rules(&format!("{folder}/violating"));
        assert!(
            violating
                .iter()
                .any(|v| v.starts_with(&format!("{} ", rule.id))),
            "{}: the violating fixture does not fire it: {violating:#?}",
            rule.id
        );
        let fixed = active_rules(&format!("{folder}/fixed"));
        assert!(
            fixed.is_empty(),
            "{}: the fixed fixture is not clean: {fixed:#?}",
            rule.id
        );
    }
    assert!(
        missing.is_empty(),
        "rules without a violating/fixed pair under tests/fixtures/lint/rules: {missing:?}"
    );
}
