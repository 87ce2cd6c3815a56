//! diesel_cli folders: one directory per migration, `<version>_<name>/` with
//! `up.sql`, `down.sql` and an optional `metadata.toml` whose
//! `run_in_transaction = false` runs it outside a transaction. diesel's
//! version is the directory name before the first `_` without `-`, and its
//! order is the order of those version strings — so odd timestamps (seconds
//! 60–68, `00000000000000_diesel_initial_setup`) keep diesel's order here.

use std::path::Path;

use super::source::{
    check_duplicates, file_names, read, words, Piece, Problem, SourceMigration, SourceProject,
};

/// Reads a diesel migrations folder.
pub fn read_dir(dir: &Path) -> anyhow::Result<SourceProject> {
    let mut project = SourceProject::default();
    let mut found = Vec::new();
    for name in file_names(dir)? {
        let path = dir.join(&name);
        if !path.is_dir() {
            continue;
        }
        let Some((version, migration_name)) = name.split_once('_') else {
            project.problems.push(Problem::new(
                &path,
                0,
                "not a diesel migration folder name",
                "diesel names folders `<version>_<name>`; rename or move it",
            ));
            continue;
        };
        let version = version.replace('-', "");
        if let Some(migration) = read_one(&path, version, migration_name, &mut project.problems) {
            found.push(migration);
        }
    }
    // diesel sorts by the version string, not by the folder name.
    found.sort_by(|a: &SourceMigration, b| a.version.cmp(&b.version));
    check_duplicates(&found, &mut project.problems);
    project.migrations = found;
    Ok(project)
}

fn read_one(
    path: &Path,
    version: String,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Option<SourceMigration> {
    let up_path = path.join("up.sql");
    let down_path = path.join("down.sql");
    if !up_path.is_file() {
        let help = if down_path.is_file() {
            "a down.sql without up.sql: add the up.sql or delete the folder"
        } else {
            "add the up.sql, or move the folder out"
        };
        problems.push(Problem::new(&up_path, 0, "missing up.sql", help));
        return None;
    }
    let up = read(&up_path, problems)?;
    let down = if down_path.is_file() {
        Some(read(&down_path, problems)?)
    } else {
        None
    };
    let metadata = std::fs::read_to_string(path.join("metadata.toml")).unwrap_or_default();
    let no_transaction = metadata.lines().any(|line| {
        let line = line
            .split('#')
            .next()
            .unwrap_or_default()
            .replace([' ', '\t'], "");
        line == "run_in_transaction=false"
    });
    Some(SourceMigration {
        timestamp: Some(version.clone()),
        version,
        description: words(name),
        up: Piece {
            path: up_path,
            text: up,
        },
        down: down.map(|text| Piece {
            path: down_path,
            text,
        }),
        no_transaction,
        no_transaction_reason: no_transaction.then(|| "run_in_transaction = false".to_string()),
        source_checksum: None,
    })
}
