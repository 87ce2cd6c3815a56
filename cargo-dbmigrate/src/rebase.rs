//! `rebase`: when two branches each added migrations on the same parent,
//! re-parent the newer line (by the timestamp of its first migration) onto
//! the other head. Only the `Revises:` value of that first migration changes;
//! every other byte of the file (CRLF included) stays as it was.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use dbmigrate_core::graph::RevisionGraph;
use dbmigrate_core::{History, Migration};
use serde::Serialize;

use crate::config::Project;
use crate::exit::HistoryBroken;
use crate::inspect::print_json;
use crate::OutputFormat;

/// One rewritten `Revises:` header.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The file.
    pub path: String,
    /// Its revision id.
    pub revision_id: String,
    /// The parent before.
    pub old_revises: String,
    /// The parent after: the other branch's head.
    pub new_revises: String,
    /// The 1-based line of the `Revises:` header (or `"revises"` member).
    #[serde(skip)]
    pub revises_line: u32,
}

/// The migrations nothing revises, oldest first.
pub fn heads(migrations: &[Migration]) -> anyhow::Result<Vec<&Migration>> {
    let graph = RevisionGraph::build(migrations).map_err(graph_error)?;
    let heads = graph.heads();
    if heads.is_empty() {
        // Files but no head: every revision has a child, so they form a cycle.
        if let Some(cycle) = graph.find_cycle() {
            let mut cycle: Vec<String> = cycle.iter().map(|m| m.revision_id.clone()).collect();
            cycle.push(cycle[0].clone());
            return Err(graph_error(dbmigrate_core::GraphError::Cycle { cycle }));
        }
    }
    Ok(heads)
}

/// A graph error as a [`HistoryBroken`] error.
fn graph_error(error: dbmigrate_core::GraphError) -> anyhow::Error {
    HistoryBroken(error.to_string()).into()
}

/// `rebase [--dry-run]`.
pub fn rebase(
    project: &Project,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let mut migrations = project.load_migrations()?;
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut changes = Vec::new();
    while heads(&migrations)?.len() > 1 {
        let change = plan_one(&migrations)?;
        let text = match texts.get(&change.path) {
            Some(text) => text.clone(),
            None => std::fs::read_to_string(&change.path)
                .with_context(|| format!("{}: cannot read", change.path))?,
        };
        let rewritten = rewrite_revises(
            &text,
            change.revises_line,
            &change.old_revises,
            &change.new_revises,
        )
        .with_context(|| {
            format!(
                "{}: no `Revises: {}` header to rewrite",
                change.path, change.old_revises
            )
        })?;
        let reparsed = dbmigrate_core::parse::parse_migration(&change.path, &rewritten)?;
        if let Some(slot) = migrations
            .iter_mut()
            .find(|migration| migration.path == change.path)
        {
            *slot = reparsed;
        }
        texts.insert(change.path.clone(), rewritten);
        changes.push(change);
    }
    let history = History::new(migrations).map_err(|error| {
        eprintln!("error: {error}");
        HistoryBroken("rebase cannot make this history linear".into())
    })?;
    if !dry_run {
        for (path, text) in &texts {
            std::fs::write(path, text).with_context(|| format!("{path}: cannot write"))?;
        }
    }
    let head = history
        .head()
        .map(|migration| migration.revision_id.clone());
    report(out, format, dry_run, &changes, head.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

fn report(
    out: &mut dyn Write,
    format: OutputFormat,
    dry_run: bool,
    changes: &[Change],
    head: Option<&str>,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        return print_json(
            out,
            &serde_json::json!({ "dry_run": dry_run, "changes": changes, "head": head }),
        );
    }
    if changes.is_empty() {
        writeln!(
            out,
            "nothing to rebase: the history is linear (head {})",
            head.unwrap_or("base")
        )?;
        return Ok(());
    }
    let verb = if dry_run { "would rewrite" } else { "rewrote" };
    for change in changes {
        writeln!(
            out,
            "{verb} {}: Revises {} -> {}",
            change.path, change.old_revises, change.new_revises
        )?;
    }
    let note = if dry_run {
        " (dry run: no file changed)"
    } else {
        ""
    };
    writeln!(
        out,
        "history is linear, head {}{note}",
        head.unwrap_or("base")
    )?;
    Ok(())
}

/// Picks the two oldest heads, finds where their lines part, and re-parents
/// the first migration of the newer line onto the other line's head.
fn plan_one(migrations: &[Migration]) -> anyhow::Result<Change> {
    let graph = RevisionGraph::build(migrations).map_err(graph_error)?;
    if !graph.orphans().is_empty() || graph.find_cycle().is_some() {
        let error =
            History::new(migrations.to_vec()).expect_err("an orphan or a cycle is not a history");
        return Err(graph_error(error).context("fix this before rebasing"));
    }
    let heads = graph.heads();
    // Only the two heads' own ancestors, so that the two lines share nothing after they part.
    let mut ids: HashSet<&str> = HashSet::new();
    for head in &heads[..2] {
        ids.extend(
            graph
                .ancestors(&head.revision_id)
                .iter()
                .map(|migration| migration.revision_id.as_str()),
        );
    }
    let pair: Vec<Migration> = migrations
        .iter()
        .filter(|migration| ids.contains(migration.revision_id.as_str()))
        .cloned()
        .collect();
    let pair_graph = RevisionGraph::build(&pair).map_err(graph_error)?;
    let branches = pair_graph.branches().expect("two heads have branches");
    let (oldest, newest) = (branches.lines.first(), branches.lines.last());
    let other_head = oldest
        .and_then(|line| line.last())
        .expect("a line has a head");
    let first = newest
        .and_then(|line| line.first())
        .expect("a line has a first migration");
    let Some(old_revises) = first.parent.clone() else {
        anyhow::bail!(HistoryBroken(format!(
            "{}: a second root (no `Revises:`) cannot be rebased\n  help: set its `Revises:` to {}",
            first.path, other_head.revision_id
        )));
    };
    Ok(Change {
        path: first.path.clone(),
        revision_id: first.revision_id.clone(),
        old_revises,
        new_revises: other_head.revision_id.clone(),
        revises_line: first.revises_line,
    })
}

/// The text with the `Revises:` value `old` replaced by `new` on line
/// `revises_line` (1-based, as the parser found it); `None` when that line
/// does not hold `old`. Nothing else changes, whatever the file's layout.
pub fn rewrite_revises(text: &str, revises_line: u32, old: &str, new: &str) -> Option<String> {
    let index = usize::try_from(revises_line).ok()?.checked_sub(1)?;
    let line_start: usize = text.split_inclusive('\n').take(index).map(str::len).sum();
    let line = text[line_start..].split_inclusive('\n').next()?;
    let key_end = line.to_ascii_lowercase().find("revises")? + "revises".len();
    let start = line_start + key_end + line[key_end..].find(old)?;
    let mut rewritten = String::with_capacity(text.len() + new.len());
    rewritten.push_str(&text[..start]);
    rewritten.push_str(new);
    rewritten.push_str(&text[start + old.len()..]);
    Some(rewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_the_revises_value_keeping_crlf() {
        let text = "-- Message: m\r\n-- Revises: 20240101_0000_aaaaaa\r\n\r\n-- migrate:up\r\nSELECT 'Revises: 20240101_0000_aaaaaa';\r\n";
        let rewritten =
            rewrite_revises(text, 2, "20240101_0000_aaaaaa", "20240102_0000_bbbbbb").unwrap();
        assert_eq!(
            rewritten,
            text.replacen("20240101_0000_aaaaaa", "20240102_0000_bbbbbb", 1)
        );
    }

    #[test]
    fn rewrites_cypher_and_json() {
        let cypher = "// Message: m\n//   revises :  r1\n// migrate:up\nRETURN 1;\n";
        assert_eq!(
            rewrite_revises(cypher, 2, "r1", "r2").unwrap(),
            cypher.replace("r1", "r2")
        );
        let json = "{\n  \"message\": \"revises\",\n  \"revises\" : \"r1\",\n  \"up\": []\n}\n";
        assert_eq!(
            rewrite_revises(json, 3, "r1", "r2").unwrap(),
            json.replace("\"r1\"", "\"r2\"")
        );
    }

    #[test]
    fn no_header_no_rewrite() {
        assert_eq!(
            rewrite_revises("-- Message: m\n-- Revises: r1\n", 1, "r1", "r2"),
            None
        );
        assert_eq!(
            rewrite_revises(
                "-- Message: m\n-- migrate:up\n-- Revises: r1\n",
                0,
                "r1",
                "r2"
            ),
            None
        );
    }
}
