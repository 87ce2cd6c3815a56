//! Unit tests of the parser: good files, every malformed case with its line
//! and message, CRLF/BOM equivalence, and no panic on mutated input.

use std::time::Duration;

use super::{parse_bytes, parse_migration};
use crate::migration::{BackendKind, Migration, Section, TransactionMode};
use crate::weaviate_ops::Operation;

const SQL: &str = "\
-- Message: add guardian consent
-- Revises: 20241201_1000_a1b2c3
-- Created: 2024-12-01 11:00:00Z
-- Transaction: none
-- Lock-Timeout: 5s
-- Statement-Timeout: 2min
-- a plain comment is fine here

-- migrate:up
CREATE TABLE guardian_consents (id bigint);

-- migrate:down
DROP TABLE guardian_consents;
";

const CYPHER: &str = "\
// Message: concept constraint
// Revises: base

// migrate:up
CREATE CONSTRAINT concept_name IF NOT EXISTS FOR (c:Concept) REQUIRE c.name IS UNIQUE;
// migrate:down
DROP CONSTRAINT concept_name IF EXISTS;
";

const WEAVIATE: &str = r#"{
  "message": "text chunk collection",
  "revises": "20241202_1000_e5f6a7",
  "up": [
    {"op": "create_collection", "class": {"class": "TextChunk"}}
  ],
  "down": [
    {"op": "delete_collection", "name": "TextChunk"}
  ]
}
"#;

const SQL_PATH: &str = "migrations/20241201_1100_b2c3d4_add_guardian_consent.sql";

fn parse_ok(path: &str, text: &str) -> Migration {
    parse_migration(path, text).unwrap_or_else(|error| panic!("{error}"))
}

/// Parses `text` as the file `name` and checks the error's `line: message`.
fn check_error(name: &str, text: &str, expected: &str) {
    let error = parse_migration(name, text).expect_err("the file must be refused");
    assert_eq!(
        format!("{}: {}", error.line, error.kind),
        expected,
        "{name}:\n{text}"
    );
    assert!(error.to_string().contains("\n  help: "), "{error}");
}

fn sql(text: &str, expected: &str) {
    check_error("20241201_1100_b2c3d4_x.sql", text, expected);
}

#[test]
fn sql_file_with_every_header() {
    let migration = parse_ok(SQL_PATH, SQL);
    assert_eq!(migration.revision_id, "20241201_1100_b2c3d4");
    assert_eq!(migration.rev, "b2c3d4");
    assert_eq!(migration.slug, "add_guardian_consent");
    assert_eq!(
        migration.file_name,
        "20241201_1100_b2c3d4_add_guardian_consent.sql"
    );
    assert_eq!(migration.path, SQL_PATH);
    assert_eq!(migration.backend, BackendKind::Postgres);
    assert_eq!(migration.parent.as_deref(), Some("20241201_1000_a1b2c3"));
    assert_eq!(migration.message, "add guardian consent");
    assert_eq!(migration.created.as_deref(), Some("2024-12-01 11:00:00Z"));
    assert_eq!(migration.options.transaction, TransactionMode::None);
    assert!(!migration.options.irreversible);
    assert_eq!(migration.options.lock_timeout, Some(Duration::from_secs(5)));
    assert_eq!(
        migration.options.statement_timeout,
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        migration.up.script(),
        "CREATE TABLE guardian_consents (id bigint);"
    );
    assert_eq!(migration.up_line, 10);
    assert_eq!(migration.down.script(), "DROP TABLE guardian_consents;");
    assert_eq!(migration.down_line, 13);
    assert_eq!(migration.checksum, crate::checksum::checksum(SQL));
}

#[test]
fn cypher_file_uses_slash_comments() {
    let migration = parse_ok("20241202_0900_d4e5f6_concept_constraint.cypher", CYPHER);
    assert_eq!(migration.backend, BackendKind::Neo4j);
    assert_eq!(migration.parent, None);
    assert_eq!((migration.up_line, migration.down_line), (5, 7));
    assert!(migration.up.script().starts_with("CREATE CONSTRAINT"));
    assert!(migration.down.script().starts_with("DROP CONSTRAINT"));
}

#[test]
fn weaviate_file() {
    let migration = parse_ok(
        "20241203_0900_f6a7b8_text_chunk_collection.weaviate.json",
        WEAVIATE,
    );
    assert_eq!(migration.backend, BackendKind::Weaviate);
    assert_eq!(migration.message, "text chunk collection");
    assert_eq!(migration.parent.as_deref(), Some("20241202_1000_e5f6a7"));
    assert_eq!((migration.up_line, migration.down_line), (4, 7));
    let names = |section: &Section| -> Vec<&str> {
        section.operations().iter().map(Operation::name).collect()
    };
    assert_eq!(names(&migration.up), ["create_collection"]);
    assert_eq!(names(&migration.down), ["delete_collection"]);
    assert_eq!(migration.up.script(), "");
}

#[test]
fn crlf_and_bom_parse_like_lf() {
    for (name, text) in [
        (SQL_PATH, SQL),
        ("20241202_0900_d4e5f6_concept_constraint.cypher", CYPHER),
        (
            "20241203_0900_f6a7b8_text_chunk_collection.weaviate.json",
            WEAVIATE,
        ),
    ] {
        let windows = format!("\u{feff}{}", text.replace('\n', "\r\n"));
        assert_eq!(parse_ok(name, &windows), parse_ok(name, text), "{name}");
    }
}

#[test]
fn irreversible_needs_no_down() {
    let text = "-- Message: m\n-- Irreversible: true\n-- migrate:up\nDROP TABLE t;\n";
    let migration = parse_ok("20241201_1100_b2c3d4_x.sql", text);
    assert!(migration.options.irreversible);
    assert_eq!((migration.down.script(), migration.down_line), ("", 0));
    let with_comment_only = format!("{text}-- migrate:down\n-- nothing can bring it back\n");
    assert_eq!(
        parse_ok("20241201_1100_b2c3d4_x.sql", &with_comment_only).down,
        Section::Script(String::new())
    );
}

#[test]
fn down_may_be_a_comment_saying_why_nothing_is_undone() {
    let text = "-- Message: m\n-- migrate:up\nUPDATE t SET a = 1;\n-- migrate:down\n-- the column is dropped by the previous step\n";
    assert_eq!(
        parse_ok("20241201_1100_b2c3d4_x.sql", text).down.script(),
        "-- the column is dropped by the previous step"
    );
}

/// As sqlx, Flyway and golang-migrate run them (docs.rs's history has an
/// up that only explains why it does nothing); a blank up is still refused
/// (`bad_sections`).
#[test]
fn up_may_be_a_comment_saying_why_nothing_is_done() {
    let text =
        "-- Message: m\n-- migrate:up\n-- only a down, as a check\n\n-- migrate:down\nSELECT 1;\n";
    let migration = parse_ok("20241201_1100_b2c3d4_x.sql", text);
    assert_eq!(migration.up.script(), "-- only a down, as a check");
    let cypher =
        "// Message: m\n// migrate:up\n// nothing to add\n// migrate:down\n// nothing to undo\n";
    assert_eq!(
        parse_ok("20241201_1100_b2c3d4_x.cypher", cypher)
            .up
            .script(),
        "// nothing to add"
    );
}

#[test]
fn bad_file_names() {
    let text = "-- Message: m\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n";
    for (name, expected) in [
        ("add_x.sql", "0: bad migration file name: `add` is not a date: start with `YYYYMMDD_HHMM_`"),
        ("20241301_1200_abc123_x.sql", "0: bad migration file name: `20241301` is not a real date (YYYYMMDD)"),
        ("20230229_1200_abc123_x.sql", "0: bad migration file name: `20230229` is not a real date (YYYYMMDD)"),
        ("20241201_2460_abc123_x.sql", "0: bad migration file name: `2460` is not a real time (HHMM)"),
        ("20241201_12_abc123_x.sql", "0: bad migration file name: `12` is not a time: the date is followed by `_HHMM_`"),
        ("20241201_1200_ABC123_x.sql", "0: bad migration file name: rev `ABC123` must be 6 to 12 lowercase hex digits"),
        ("20241201_1200_abc12_x.sql", "0: bad migration file name: rev `abc12` must be 6 to 12 lowercase hex digits"),
        ("20241201_1200_abcdef1234567_x.sql", "0: bad migration file name: rev `abcdef1234567` must be 6 to 12 lowercase hex digits"),
        ("20241201_1200_abc123.sql", "0: bad migration file name: missing slug after the rev (`_add_guardian_consent`)"),
        ("20241201_1200_abc123_Add-X.sql", "0: bad migration file name: slug `Add-X` may only hold lowercase letters, digits and `_`"),
        ("20241201_1200_abc123_x.psql", "0: unknown migration file extension `psql`"),
        ("20241201_1200_abc123_x", "0: unknown migration file extension ``"),
    ] {
        check_error(name, text, expected);
    }
    assert!(parse_migration("20240229_2359_abcdef_leap_day.sql", text).is_ok());
    assert!(parse_migration(r"C:\m\20240229_2359_abcdef_leap_day.sql", text).is_ok());
}

#[test]
fn bad_headers() {
    let up_down = "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n";
    for (header, expected) in [
        ("-- Revises: base\n", "1: missing `Message:` header"),
        ("-- Message:\n", "1: missing `Message:` header"),
        ("-- Message: m\n-- Author: me\n", "2: unknown header option `Author`"),
        ("-- Message: m\n-- message: again\n", "2: header `Message` appears twice"),
        ("-- Message: m\n-- Transaction: maybe\n", "2: bad `Transaction` value `maybe`: expected `single` or `none`"),
        ("-- Message: m\n-- Irreversible: yes\n", "2: bad `Irreversible` value `yes`: expected `true` or `false`"),
        ("-- Message: m\n-- Lock-Timeout: 5\n", "2: bad `Lock-Timeout` value `5`: expected a whole number with a unit ms, s or min"),
        ("-- Message: m\n-- Statement-Timeout: 1h\n", "2: bad `Statement-Timeout` value `1h`: expected a whole number with a unit ms, s or min"),
        ("-- Message: m\n-- Revises:\n", "2: bad `Revises` value ``: the value is empty"),
        ("-- Message: m\n-- Revises: abc123\n", "2: bad `Revises` value `abc123`: not a revision id: `abc123` is not a date: start with `YYYYMMDD_HHMM_`"),
        ("-- Message: m\n-- Revises: 20241201_1000_a1b2c3_initial\n", "2: bad `Revises` value `20241201_1000_a1b2c3_initial`: not a revision id: write the revision id `20241201_1000_a1b2c3` without the slug"),
        ("-- Message: m\nSELECT 1;\n", "2: bad header `SELECT 1;`: statements go after the `migrate:up` marker"),
        ("// Message: m\n", "1: bad header `// Message: m`: .sql files write comments with `--`"),
    ] {
        sql(&format!("{header}{up_down}"), expected);
    }
    let fine = "-- Message:m\n-- see http://example.com: it explains\n-- Lock-Timeout: 250ms\n";
    let migration = parse_ok("20241201_1100_b2c3d4_x.sql", &format!("{fine}{up_down}"));
    assert_eq!(
        migration.options.lock_timeout,
        Some(Duration::from_millis(250))
    );
}

#[test]
fn bad_sections() {
    for (text, expected) in [
        ("-- Message: m\n", "1: missing `up` section"),
        (
            "-- Message: m\nCREATE TABLE t ();\n",
            "2: missing `up` section",
        ),
        (
            "-- Message: m\n-- migrate:up\n\n-- migrate:down\nSELECT 1;\n",
            "2: the up section is empty",
        ),
        (
            "-- Message: m\n-- migrate:up\nSELECT 1;\n\n",
            "3: missing `down` section",
        ),
        (
            "-- Message: m\n-- migrate:up\nSELECT 1;\n-- migrate:down\n\n",
            "4: the down section is empty",
        ),
        (
            "-- Message: m\n-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 1;\n",
            "2: misplaced or repeated `down` section marker",
        ),
        (
            "-- Message: m\n-- migrate:up\nSELECT 1;\n-- migrate:up\n",
            "4: misplaced or repeated `up` section marker",
        ),
        (
            "-- Message: m\n-- migrate:up\nA;\n-- migrate:down\nB;\n-- migrate:down\n",
            "6: misplaced or repeated `down` section marker",
        ),
        (
            "-- Message: m\n-- migrate:sideways\n",
            "2: unknown section marker `migrate:sideways`",
        ),
        (
            "-- Message: m\n-- Irreversible: true\n-- migrate:up\nA;\n-- migrate:down\n\nB;\n",
            "7: migration is marked `Irreversible: true` but has a down section",
        ),
        ("  \n\t\n", "1: migration file is empty"),
        ("", "1: migration file is empty"),
    ] {
        sql(text, expected);
    }
    let missing_down = parse_migration(
        "20241201_1100_b2c3d4_x.sql",
        "-- Message: m\n-- migrate:up\nA;\n",
    )
    .unwrap_err();
    assert!(missing_down
        .to_string()
        .contains("write the down statements, or mark the migration `Irreversible: true`"));
}

#[test]
fn cypher_markers_must_use_slashes() {
    let name = "20241202_0900_d4e5f6_x.cypher";
    check_error(
        name,
        "// Message: m\n-- migrate:up\nRETURN 1;\n",
        "2: bad header `-- migrate:up`: .cypher files write comments with `//`",
    );
    check_error(
        name,
        "-- Message: m\n",
        "1: bad header `-- Message: m`: .cypher files write comments with `//`",
    );
}

#[test]
fn bad_weaviate_files() {
    let name = "20241203_0900_f6a7b8_x.weaviate.json";
    let create = r#"{"op": "create_collection", "class": {"class": "T"}}"#;
    let delete = r#"{"op": "delete_collection", "name": "T"}"#;
    for (text, expected) in [
        ("{\n  \"message\": \"m\",\n  \"up\": [\n", "4: invalid Weaviate migration: EOF while parsing a list"),
        ("\n[]", "2: invalid Weaviate migration: expected one JSON object `{ \"message\": …, \"up\": […], \"down\": […] }`, found `[`"),
        (&format!("{{\"message\": \"m\", \"up\": [{create}], \"down\": [{delete}], \"extra\": 1}}"), "1: invalid Weaviate migration: unknown field `extra`, expected one of `message`, `revises`, `created`, `irreversible`, `up`, `down` (column 138)"),
        (&format!("{{\n\"message\": \" \",\n\"up\": [{create}],\n\"down\": [{delete}]\n}}"), "2: missing `Message:` header"),
        (&format!("{{\n\"message\": \"m\",\n\"up\": [],\n\"down\": [{delete}]\n}}"), "3: the up section is empty"),
        (&format!("{{\n\"message\": \"m\",\n\"up\": [{create}]\n}}\n"), "4: missing `down` section"),
        (&format!("{{\n\"message\": \"m\",\n\"up\": [{create}],\n\"down\": []\n}}"), "4: the down section is empty"),
        (&format!("{{\n\"message\": \"m\",\n\"irreversible\": true,\n\"up\": [{create}],\n\"down\": [{delete}]\n}}"), "5: migration is marked `Irreversible: true` but has a down section"),
        (&format!("{{\n\"message\": \"m\",\n\"revises\": \"nope\",\n\"up\": [{create}],\n\"down\": [{delete}]\n}}"), "3: bad `revises` value `nope`: not a revision id: `nope` is not a date: start with `YYYYMMDD_HHMM_`"),
    ] {
        check_error(name, text, expected);
    }
    let irreversible = format!(
        "{{\"message\": \"m\", \"irreversible\": true, \"revises\": \"base\", \"up\": [{delete}]}}"
    );
    let migration = parse_ok(name, &irreversible);
    assert_eq!(
        (migration.parent, migration.down, migration.down_line),
        (None, Section::Weaviate(Vec::new()), 0)
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let name = "20241201_1100_b2c3d4_x.sql";
    let bytes = b"-- Message: m\n-- migrate:up\nSELECT '\xff';\n";
    let error = parse_bytes(name, bytes).unwrap_err();
    assert_eq!(
        format!("{}: {}", error.line, error.kind),
        "3: file is not valid UTF-8"
    );
    assert_eq!(
        parse_bytes("bad.sql", bytes).unwrap_err().line,
        0,
        "the name is checked first"
    );
    assert_eq!(
        parse_bytes(name, SQL.as_bytes()),
        parse_migration(name, SQL)
    );
}

#[test]
fn mutated_inputs_never_panic() {
    let seeds: [(&str, &[u8]); 3] = [
        (SQL_PATH, SQL.as_bytes()),
        ("20241202_0900_d4e5f6_x.cypher", CYPHER.as_bytes()),
        ("20241203_0900_f6a7b8_x.weaviate.json", WEAVIATE.as_bytes()),
    ];
    let specials = [
        b'\n', b'\r', b'"', b'{', b'[', b'\\', b':', b'-', b'/', 0xff, 0xc3, 0xef, 0,
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let (name, seed) = seeds[round % seeds.len()];
        let mut bytes = seed.to_vec();
        for _ in 0..=(next() % 4) {
            let at = (next() as usize) % (bytes.len() + 1);
            match next() % 4 {
                0 if at < bytes.len() => {
                    bytes.remove(at);
                }
                1 => bytes.insert(at, specials[(next() as usize) % specials.len()]),
                2 => bytes.truncate(at),
                _ if at < bytes.len() => bytes[at] = next() as u8,
                _ => {}
            }
        }
        let _ = parse_bytes(name, &bytes);
    }
}

#[test]
fn load_dir_reads_migrations_only_sorted_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    let root = "-- Message: root\n-- migrate:up\nA;\n-- migrate:down\nB;\n";
    write(
        "20241201_1100_b2c3d4_second.sql",
        &root.replace("root", "second"),
    );
    write("20241201_1000_a1b2c3_first.sql", root);
    write("README.md", "# migrations\n");
    write("notes.txt", "not a migration\n");
    write(".20241201_1200_c3d4e5_hidden.sql.swp", "");
    write("20241201_1300_d4e5f6_backup.sql~", "");
    std::fs::create_dir(dir.path().join("20241201_1400_e5f6a7_folder.sql")).unwrap();
    let migrations = super::load_dir(dir.path()).unwrap_or_else(|errors| panic!("{errors:?}"));
    let names: Vec<&str> = migrations
        .iter()
        .map(|migration| migration.file_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "20241201_1000_a1b2c3_first.sql",
            "20241201_1100_b2c3d4_second.sql"
        ]
    );
    let shown = dir
        .path()
        .join("20241201_1000_a1b2c3_first.sql")
        .display()
        .to_string();
    assert_eq!(migrations[0].path, shown);
}

#[test]
fn load_dir_reports_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("migrations");
    let errors = super::load_dir(&missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]
            .to_string()
            .starts_with(&format!("{}: ", missing.display())),
        "{}",
        errors[0]
    );
}
