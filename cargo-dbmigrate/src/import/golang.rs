//! golang-migrate folders: `{version}_{title}.up.sql` and optional
//! `{version}_{title}.down.sql`. golang-migrate sends each file as one
//! multi-statement query and keeps no checksum; a file that manages its own
//! transaction (`BEGIN;` … `COMMIT;`) or builds an index `CONCURRENTLY`
//! becomes `Transaction: none`.

use std::collections::BTreeMap;
use std::path::Path;

use super::source::{
    check_duplicates, file_names, read, words, Piece, Problem, SourceMigration, SourceProject,
};

#[derive(Default)]
struct Pair {
    title: String,
    up: Option<Piece>,
    down: Option<Piece>,
}

/// Reads a golang-migrate migrations folder.
pub fn read_dir(dir: &Path) -> anyhow::Result<SourceProject> {
    let mut project = SourceProject::default();
    let mut by_version: BTreeMap<u64, Pair> = BTreeMap::new();
    for name in file_names(dir)? {
        // golang-migrate skips what does not look like `<digits>_<title>.up|down.…`.
        let Some((version, rest)) = name.split_once('_') else {
            continue;
        };
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (title, is_up) = match (rest.strip_suffix(".up.sql"), rest.strip_suffix(".down.sql")) {
            (Some(title), _) => (title, true),
            (_, Some(title)) => (title, false),
            _ => continue,
        };
        let path = dir.join(&name);
        // ... and refuses a version that does not fit its unsigned 64 bits.
        let Ok(number) = version.parse::<u64>() else {
            project.problems.push(Problem::new(&path, 0, format!("version {version} is larger than golang-migrate's versions go (18446744073709551615)"), "give the migration a shorter version; golang-migrate itself refuses this folder"));
            continue;
        };
        let Some(text) = read(&path, &mut project.problems) else {
            continue;
        };
        let pair = by_version.entry(number).or_default();
        let slot = if is_up { &mut pair.up } else { &mut pair.down };
        if slot.is_some() {
            project.problems.push(Problem::new(&path, 0, format!("version {number} is used twice"), "give one of the migrations a new version; golang-migrate itself refuses this folder"));
            continue;
        }
        *slot = Some(Piece { path, text });
        pair.title = words(title);
    }
    for (version, pair) in by_version {
        let Some(up) = pair.up else {
            if let Some(down) = pair.down {
                project.problems.push(Problem::new(
                    &down.path,
                    0,
                    format!("version {version} has a down file but no up file"),
                    "add the matching `.up.sql`, or delete the stray down file",
                ));
            }
            continue;
        };
        let reason = no_transaction_reason(&up.text);
        project.migrations.push(SourceMigration {
            version: version.to_string(),
            description: pair.title,
            timestamp: Some(version.to_string()),
            source_checksum: None,
            no_transaction: reason.is_some(),
            no_transaction_reason: reason,
            up,
            down: pair.down,
        });
    }
    check_duplicates(&project.migrations, &mut project.problems);
    Ok(project)
}

/// Why a file cannot run inside dbmigrate's transaction, if it cannot.
pub fn no_transaction_reason(text: &str) -> Option<String> {
    let upper = text.to_ascii_uppercase();
    let own_transaction = upper.lines().any(|line| {
        let line = line.trim().trim_end_matches(';').trim();
        matches!(
            line,
            "BEGIN" | "COMMIT" | "BEGIN TRANSACTION" | "START TRANSACTION" | "END"
        )
    });
    if own_transaction {
        Some("manages its own BEGIN/COMMIT".to_string())
    } else if upper.contains("CONCURRENTLY") {
        Some("CONCURRENTLY".to_string())
    } else {
        None
    }
}
