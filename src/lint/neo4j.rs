//! Neo4j: constraints and range indexes on big labels, writes over a whole
//! label in one transaction, drops by definition, schema and data in one file.
//! Statements are split and classified by the same splitter the backend runs.

use crate::migration::Migration;

use super::engine::{own_violation, Context, Finding};
use super::live::{human_count, BIG};
use super::suppress::{allows_in, Allow};

// The backend's splitter, compiled here too so the lint needs no `neo4j` feature.
#[allow(
    dead_code,
    clippy::duplicate_mod,
    reason = "the same splitter the backend runs; the backend uses the rest of it"
)]
#[path = "../backend/neo4j/split.rs"]
mod split;

use split::{split_statements, Statement, StatementKind};

/// Lints one `.cypher` file.
pub(crate) fn file(migration: &Migration, context: &mut Context) -> (Vec<Finding>, Vec<Allow>) {
    let statements = split_statements(migration.up.script());
    let lines: Vec<&str> = migration.up.script().split('\n').collect();
    let (mut findings, mut all_allows) = (Vec::new(), Vec::new());
    let mut previous_end = 0usize;
    let has_schema = statements
        .iter()
        .any(|s| matches!(s.kind, StatementKind::Schema { .. }));
    let mut mixed_reported = false;
    for statement in &statements {
        let first = statement.line as usize - 1;
        let gap = lines[previous_end.min(first)..first].join("\n");
        let allows = allows_in(&gap, migration.up_line + previous_end as u32, "//");
        previous_end = first + statement.text.lines().count();
        let at = (migration.up_line + statement.line - 1, 1);
        let mut found = rules(statement, migration, context, at);
        if has_schema && !mixed_reported && !matches!(statement.kind, StatementKind::Schema { .. })
        {
            mixed_reported = true;
            found.push(own_violation(
                "neo4j-schema-and-data",
                migration,
                at,
                &statement.text,
                None,
            ));
        }
        findings.extend(found.into_iter().map(|violation| Finding {
            violation,
            allows: allows.clone(),
        }));
        all_allows.extend(allows);
    }
    (findings, all_allows)
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_uppercase)
        .collect()
}

fn rules(
    statement: &Statement,
    migration: &Migration,
    context: &Context,
    at: (u32, u32),
) -> Vec<super::report::Violation> {
    let words = words(&statement.text);
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let mut found = Vec::new();
    let text = &statement.text;
    if word(0) == "DROP" && matches!(word(1), "INDEX" | "CONSTRAINT") && word(2) == "ON" {
        found.push(own_violation(
            "neo4j-drop-by-definition",
            migration,
            at,
            text,
            None,
        ));
    }
    if word(0) == "CREATE" && creates_blocking_index(&words) {
        let label = label_after_for(text);
        let count = label
            .as_ref()
            .and_then(|label| Some((label, *context.options.live.labels.get(label)?)));
        if let Some((label, nodes)) = count.filter(|(_, nodes)| *nodes >= BIG) {
            let detail = format!("`:{label}` holds {} nodes", human_count(nodes));
            found.push(own_violation(
                "neo4j-blocking-index",
                migration,
                at,
                text,
                Some(detail),
            ));
        }
    }
    if statement.kind == StatementKind::Data && unbatched_write(&words) {
        let label = first_label(text);
        let detail = label.and_then(|label| {
            let nodes = context.options.live.labels.get(&label)?;
            Some(format!("`:{label}` holds {} nodes", human_count(*nodes)))
        });
        found.push(own_violation(
            "neo4j-unbatched-write",
            migration,
            at,
            text,
            detail,
        ));
    }
    found
}

/// `CREATE CONSTRAINT …` or `CREATE [RANGE] INDEX …` (not text, point, full-text or vector).
fn creates_blocking_index(words: &[String]) -> bool {
    match words.get(1).map(String::as_str) {
        Some("CONSTRAINT") => true,
        Some("INDEX") => true,
        Some("RANGE") => words.get(2).is_some_and(|w| w == "INDEX"),
        _ => false,
    }
}

/// `MATCH (n:Label)` with `SET`, `REMOVE` or `DELETE` and no `WHERE`: every node of the label.
fn unbatched_write(words: &[String]) -> bool {
    words.first().is_some_and(|w| w == "MATCH")
        && words
            .iter()
            .any(|w| matches!(w.as_str(), "SET" | "REMOVE" | "DELETE"))
        && !words.iter().any(|w| w == "WHERE")
}

/// The label of `FOR (n:Label)`.
fn label_after_for(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let at = upper.find("FOR")?;
    first_label(&text[at..])
}

/// The first `:Label` inside a node pattern.
fn first_label(text: &str) -> Option<String> {
    let open = text.find('(')?;
    let rest = &text[open..];
    let colon = rest.find(':')?;
    let label: String = rest[colon + 1..]
        .trim_start()
        .trim_start_matches('`')
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!label.is_empty()).then_some(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_labels_and_writes() {
        assert_eq!(
            label_after_for("CREATE INDEX i FOR (c:Concept) ON (c.name)").as_deref(),
            Some("Concept")
        );
        assert!(unbatched_write(&words(
            "MATCH (u:User) SET u.active = true"
        )));
        assert!(!unbatched_write(&words(
            "MATCH (u:User) WHERE u.id = 1 SET u.active = true"
        )));
    }
}
