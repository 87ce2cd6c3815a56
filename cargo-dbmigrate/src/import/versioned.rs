//! The `V{version}__{description}` family: refinery (`.sql`, `U` prefix =
//! unversioned, still applied in version order), Flyway (`.sql`, `U` prefix =
//! undo of the same version, `executeInTransaction=false` in `<script>.conf`)
//! and neo4j-migrations (`.cypher`).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::Path;

use super::source::{
    check_duplicates, file_names, read, words, Piece, Problem, SourceMigration, SourceProject, Tool,
};

/// A version as numbers, compared part by part (`1.10` after `1.9`).
type VersionKey = Vec<u64>;

struct Entry {
    version: String,
    description: String,
    /// The description as the file name spells it (refinery hashes it).
    source_name: String,
    up: Option<Piece>,
    down: Option<Piece>,
    config: Option<String>,
}

/// Reads a refinery, Flyway or neo4j-migrations folder.
pub fn read_dir(dir: &Path, tool: Tool) -> anyhow::Result<SourceProject> {
    let extension = if tool == Tool::Neo4jMigrations {
        ".cypher"
    } else {
        ".sql"
    };
    let mut project = SourceProject::default();
    let mut entries: BTreeMap<VersionKey, Entry> = BTreeMap::new();
    for name in file_names(dir)? {
        let Some(stem) = name.strip_suffix(extension) else {
            continue;
        };
        let path = dir.join(&name);
        let Some((prefix, version, description)) = split_name(stem) else {
            if stem.starts_with("R__") {
                project.problems.push(Problem::new(&path, 0, "repeatable migrations have no place on one timeline", "fold its current text into a versioned migration (V…) and delete the R__ file before importing"));
            } else {
                project.problems.push(Problem::new(&path, 0, format!("not a {} migration name", tool.name()), "name it `V<version>__<description>` (the version in digits and dots), or move it out of the folder"));
            }
            continue;
        };
        let Some(key) = version_key(&version) else {
            project.problems.push(Problem::new(
                &path,
                0,
                format!("`{version}` is not a version"),
                "use digits separated by dots or underscores",
            ));
            continue;
        };
        let Some(text) = read(&path, &mut project.problems) else {
            continue;
        };
        let undo = prefix == 'U' && tool == Tool::Flyway;
        if prefix != 'V' && !(prefix == 'U' && matches!(tool, Tool::Flyway | Tool::Refinery)) {
            project.problems.push(Problem::new(
                &path,
                0,
                format!("the `{prefix}` prefix is not supported for {}", tool.name()),
                "rename it to a versioned `V…` migration",
            ));
            continue;
        }
        let entry = entries.entry(key).or_insert_with(|| Entry {
            version: version.clone(),
            description: words(&description),
            source_name: description.clone(),
            up: None,
            down: None,
            config: None,
        });
        let slot = if undo { &mut entry.down } else { &mut entry.up };
        if slot.is_some() {
            project.problems.push(Problem::new(
                &path,
                0,
                format!("version {version} is used twice"),
                format!(
                    "give one of the migrations a new version; {} itself refuses this folder",
                    tool.name()
                ),
            ));
            continue;
        }
        if !undo {
            entry.description = words(&description);
            entry.source_name = description.clone();
            entry.config = std::fs::read_to_string(dir.join(format!("{name}.conf"))).ok();
        }
        *slot = Some(Piece { path, text });
    }
    for (_, entry) in entries {
        let Some(up) = entry.up else {
            if let Some(down) = entry.down {
                project.problems.push(Problem::new(
                    &down.path,
                    0,
                    format!(
                        "undo for version {} has no versioned migration",
                        entry.version
                    ),
                    "add the `V` file of that version, or delete the stray undo file",
                ));
            }
            continue;
        };
        let reason = transaction_reason(tool, &up.text, entry.config.as_deref());
        let checksum = source_checksum(tool, &up.text, &entry.version, &entry.source_name);
        project.migrations.push(SourceMigration {
            version: entry.version,
            description: entry.description,
            timestamp: None,
            source_checksum: checksum,
            no_transaction: reason.is_some(),
            no_transaction_reason: reason,
            up,
            down: entry.down,
        });
    }
    check_duplicates(&project.migrations, &mut project.problems);
    Ok(project)
}

/// `V1_2__add_x` → (`V`, `1.2`, `add_x`).
fn split_name(stem: &str) -> Option<(char, String, String)> {
    let prefix = stem.chars().next()?;
    if !prefix.is_ascii_uppercase() {
        return None;
    }
    let (version, description) = stem[1..].split_once("__")?;
    if version.is_empty() {
        return None;
    }
    Some((prefix, version.replace('_', "."), description.to_string()))
}

fn version_key(version: &str) -> Option<VersionKey> {
    version.split('.').map(|part| part.parse().ok()).collect()
}

fn transaction_reason(tool: Tool, text: &str, config: Option<&str>) -> Option<String> {
    let config_says_no = config.is_some_and(|config| {
        config.lines().any(|line| {
            line.replace(' ', "")
                .eq_ignore_ascii_case("executeInTransaction=false")
        })
    });
    match tool {
        Tool::Flyway if config_says_no => Some("executeInTransaction=false".to_string()),
        Tool::Flyway | Tool::Refinery => super::golang::no_transaction_reason(text),
        _ => None,
    }
}

/// The checksum the tool records, where it keeps one: Flyway's,
/// refinery's and neo4j-migrations'.
fn source_checksum(tool: Tool, text: &str, version: &str, name: &str) -> Option<String> {
    match tool {
        Tool::Flyway => Some(flyway_checksum(text)),
        Tool::Refinery => refinery_checksum(text, version, name),
        Tool::Neo4jMigrations => neo4j_migrations_checksum(text),
        _ => None,
    }
}

/// neo4j-migrations' (its default, not its Flyway-compatible option):
/// the script cut into statements at a `;` that ends a line (`\n`, `\r\n`
/// or `\r`), each trimmed as Java trims (every char up to U+0020) and
/// stripped of one trailing `;`, empty ones dropped, comment-only ones
/// kept; CRC-32 over the statements' UTF-8 bytes back to back, recorded
/// as the unsigned decimal. So blank lines and the line end after a
/// statement do not change it, but line ends inside a statement do (its
/// `autocrlf` option, off by default, is not applied).
///
/// `None` where neo4j-migrations computes it differently: a `:use`
/// database switch (split into statements of its own) or a precondition
/// comment (`// assume …` / `// assert …`, recorded with alternatives).
fn neo4j_migrations_checksum(text: &str) -> Option<String> {
    let java_trim = |s: &str| s.trim_matches(|c: char| c <= ' ').to_string();
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    for statement in cypher_statements(text) {
        let trimmed = java_trim(&statement);
        let statement = java_trim(trimmed.strip_suffix(';').unwrap_or(&trimmed));
        let lower = statement.to_ascii_lowercase();
        let switches_database = lower
            .lines()
            .any(|line| line.trim_start().starts_with(":use "));
        let precondition = lower.lines().any(|line| {
            let line = line.trim_start();
            ["// assume ", "// assert "]
                .iter()
                .any(|prefix| line.starts_with(prefix))
        });
        if switches_database || precondition {
            return None;
        }
        digest.update(statement.as_bytes());
    }
    Some(digest.finalize().to_string())
}

/// The pieces between each `;` that ends a line (with the line end).
fn cypher_statements(text: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let ends = c == ';' && matches!(chars.peek(), Some('\n' | '\r'));
        if !ends {
            current.push(c);
            continue;
        }
        if chars.next() == Some('\r') && chars.peek() == Some(&'\n') {
            chars.next();
        }
        statements.push(std::mem::take(&mut current));
    }
    statements.push(current);
    statements
}

/// Flyway's: CRC-32 over the lines without their line ends (a BOM
/// dropped), as a signed 32-bit number.
fn flyway_checksum(text: &str) -> String {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in text.lines() {
        digest.update(line.trim_end_matches('\r').as_bytes());
    }
    (digest.finalize() as i32).to_string()
}

/// Refinery's: SipHash-1-3 with zero keys, fed through Rust's `Hash` with
/// the name (the word characters after `__`, as refinery's file pattern
/// takes them), the version as refinery's `i32` (`i64` when it does not
/// fit: refinery's `int8-versions` build) and the file's whole text;
/// recorded as the decimal `u64`.
fn refinery_checksum(text: &str, version: &str, name: &str) -> Option<String> {
    let name: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut hasher = siphasher::sip::SipHasher13::new();
    name.hash(&mut hasher);
    match version.parse::<i32>() {
        Ok(small) => small.hash(&mut hasher),
        Err(_) => version.parse::<i64>().ok()?.hash(&mut hasher),
    }
    text.hash(&mut hasher);
    Some(hasher.finish().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(
            split_name("V1_2__add_x"),
            Some(('V', "1.2".into(), "add_x".into()))
        );
        assert_eq!(
            split_name("U3__drop"),
            Some(('U', "3".into(), "drop".into()))
        );
        assert_eq!(split_name("R__views"), None);
        assert!(version_key("1.10").unwrap() > version_key("1.9").unwrap());
    }

    /// 1902097523 is what neo4j-migrations itself records for three
    /// one-line `MATCH (n) RETURN count(n) AS n` statements, whatever the
    /// line ends (its own test suite's expectation). The real engine is
    /// compared in `tests/import/neo4j_migrations.rs`.
    #[test]
    fn neo4j_migrations_checksum_as_the_tool_records_it() {
        let statement = "MATCH (n) RETURN count(n) AS n;";
        for end in ["\n", "\r\n", "\r"] {
            let text = format!("{statement}{end}{statement}{end}{end}  {statement}{end}");
            assert_eq!(
                neo4j_migrations_checksum(&text).as_deref(),
                Some("1902097523"),
                "{end:?}"
            );
        }
        let last_without_end = format!("{statement}\n{statement}\n{statement}");
        assert_eq!(
            neo4j_migrations_checksum(&last_without_end).as_deref(),
            Some("1902097523")
        );
        // A `;` inside a line does not cut; an edit changes the value.
        assert_ne!(
            neo4j_migrations_checksum("MATCH (n) RETURN count(n) AS m;\n"),
            neo4j_migrations_checksum("MATCH (n) RETURN count(n) AS n;\n")
        );
        assert_eq!(
            neo4j_migrations_checksum(":use other;\nMATCH (n) RETURN n;\n"),
            None
        );
        assert_eq!(
            neo4j_migrations_checksum("// assume that RETURN true\nCREATE (n);\n"),
            None
        );
    }
}
