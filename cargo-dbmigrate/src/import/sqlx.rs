//! sqlx-cli folders: `<version>_<desc>.sql` (simple) or `<version>_<desc>.up.sql`
//! with `<version>_<desc>.down.sql` (reversible); `-- no-transaction` on the
//! first line runs a migration outside a transaction. sqlx records the
//! SHA-384 of the up file, which `adopt` compares.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::Digest as _;

use super::source::{
    check_duplicates, file_names, read, words, Piece, Problem, SourceMigration, SourceProject,
};

#[derive(Default)]
struct Pair {
    description: String,
    simple: Option<Piece>,
    up: Option<Piece>,
    down: Option<Piece>,
}

/// Reads a sqlx migrations folder.
pub fn read_dir(dir: &Path) -> anyhow::Result<SourceProject> {
    let mut project = SourceProject::default();
    let mut by_version: BTreeMap<i64, Pair> = BTreeMap::new();
    for name in file_names(dir)? {
        let Some(stem) = name.strip_suffix(".sql") else {
            continue;
        };
        let path = dir.join(&name);
        let Some((version, rest)) = stem.split_once('_') else {
            project.problems.push(bad_name(&path));
            continue;
        };
        let Ok(version) = version.parse::<i64>() else {
            project.problems.push(bad_name(&path));
            continue;
        };
        let Some(text) = read(&path, &mut project.problems) else {
            continue;
        };
        let piece = Piece {
            path: path.clone(),
            text,
        };
        let pair = by_version.entry(version).or_default();
        let (slot, description) = if let Some(d) = rest.strip_suffix(".up") {
            (&mut pair.up, d)
        } else if let Some(d) = rest.strip_suffix(".down") {
            (&mut pair.down, d)
        } else {
            (&mut pair.simple, rest)
        };
        if slot.is_some() {
            project.problems.push(duplicate(&path, version));
            continue;
        }
        *slot = Some(piece);
        pair.description = words(description);
    }
    for (version, pair) in by_version {
        if let Some(migration) = pair_to_migration(version, pair, &mut project.problems) {
            project.migrations.push(migration);
        }
    }
    check_duplicates(&project.migrations, &mut project.problems);
    Ok(project)
}

fn pair_to_migration(
    version: i64,
    pair: Pair,
    problems: &mut Vec<Problem>,
) -> Option<SourceMigration> {
    let (up, down) = match (pair.simple, pair.up, pair.down) {
        (Some(simple), None, None) => (simple, None),
        (None, Some(up), Some(down)) => (up, Some(down)),
        (Some(simple), _, _) => {
            problems.push(duplicate(&simple.path, version));
            return None;
        }
        (None, Some(up), None) => {
            problems.push(Problem::new(&up.path, 0, format!("version {version} has an up file but no down file"), "add the matching `.down.sql`, or rename the file to a simple `<version>_<desc>.sql`"));
            return None;
        }
        (None, None, Some(down)) => {
            problems.push(Problem::new(
                &down.path,
                0,
                format!("version {version} has a down file but no up file"),
                "add the matching `.up.sql`, or delete the stray down file",
            ));
            return None;
        }
        (None, None, None) => return None,
    };
    let no_transaction = up.text.starts_with("-- no-transaction");
    let checksum = hex(&sha2::Sha384::digest(up.text.as_bytes()));
    Some(SourceMigration {
        version: version.to_string(),
        description: pair.description,
        timestamp: Some(version.to_string()),
        source_checksum: Some(checksum),
        no_transaction,
        no_transaction_reason: no_transaction.then(|| "`-- no-transaction`".to_string()),
        up,
        down,
    })
}

fn bad_name(path: &Path) -> Problem {
    Problem::new(path, 0, "not a sqlx migration name", "sqlx names files `<version>_<description>.sql`, where the version is a whole number; rename or move the file")
}

fn duplicate(path: &Path, version: i64) -> Problem {
    Problem::new(
        path,
        0,
        format!("version {version} is used twice"),
        "give one of the migrations a new version; sqlx itself refuses this folder",
    )
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
