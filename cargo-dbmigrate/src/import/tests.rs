//! One small tree per format, good and broken, converted in a temp folder.

use std::path::Path;

use super::convert::{convert, parse_timestamp, ImportedFile};
use super::source::{Problem, Tool};

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn import(tool: Tool, dir: &Path) -> Result<Vec<ImportedFile>, Vec<Problem>> {
    let source = super::read_source(tool, dir).expect("folder reads");
    convert(tool, &source)
}

fn problems(tool: Tool, files: &[(&str, &str)]) -> String {
    let dir = tree(files);
    let problems = import(tool, dir.path()).expect_err("refused");
    problems
        .iter()
        .map(|p| {
            p.to_string()
                .replace(&dir.path().display().to_string(), "<dir>")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each file parses, chains to the one before, and holds the source bytes.
fn assert_chain(files: &[ImportedFile]) {
    let mut parent: Option<String> = None;
    for file in files {
        let migration =
            dbmigrate_core::parse::parse_migration(&file.file_name, &file.text).expect("parses");
        assert_eq!(migration.parent, parent, "{}", file.file_name);
        assert!(
            file.text.contains(&file.source.up.text),
            "up kept byte for byte"
        );
        if let Some(down) = file
            .source
            .down
            .as_ref()
            .filter(|d| !d.text.trim().is_empty())
        {
            assert!(file.text.contains(&down.text), "down kept byte for byte");
        }
        parent = Some(migration.revision_id);
    }
}

#[test]
fn sqlx_simple_reversible_and_no_transaction() {
    let dir = tree(&[
        (
            "20240101120000_create_users.up.sql",
            "CREATE TABLE users (id int);\n",
        ),
        (
            "20240101120000_create_users.down.sql",
            "DROP TABLE users;\n",
        ),
        (
            "20240102090000_index.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY users_id ON users (id);",
        ),
        ("README.md", "not a migration"),
    ]);
    let files = import(Tool::Sqlx, dir.path()).expect("imports");
    assert_chain(&files);
    assert_eq!(files.len(), 2);
    assert!(
        files[0].file_name.starts_with("20240101_1200_"),
        "{}",
        files[0].file_name
    );
    assert!(files[0].file_name.ends_with("_create_users.sql"));
    assert!(files[1]
        .text
        .contains("-- Transaction: none\n-- Irreversible: true\n"));
    // sqlx records the SHA-384 of the up file.
    assert!(
        files[0].text.contains("checksum=")
            && files[0].source.source_checksum.as_ref().unwrap().len() == 96
    );
    // Reproducible: the same folder converts to the same bytes.
    assert_eq!(files, import(Tool::Sqlx, dir.path()).unwrap());
}

/// sqlx runs and records an up that runs no statement (docs.rs's history
/// has one that only explains itself, kept as a check in its down): so
/// does the import, comments byte for byte; a blank up becomes a comment.
#[test]
fn sqlx_ups_that_run_nothing_are_kept_as_no_ops() {
    let explained = "-- no up-migration, we only have a down-migration as validation\n";
    let dir = tree(&[
        ("20240101120000_check.up.sql", explained),
        (
            "20240101120000_check.down.sql",
            "DELETE FROM t WHERE false;\n",
        ),
        ("20240102120000_blank.up.sql", "\n"),
        ("20240102120000_blank.down.sql", ""),
    ]);
    let files = import(Tool::Sqlx, dir.path()).expect("imports");
    assert_chain(&files);
    assert!(files[0]
        .text
        .contains(&format!("-- migrate:up\n{explained}")));
    assert!(files[1]
        .text
        .contains("-- migrate:up\n-- (the source's up step is empty: it runs nothing)\n"));
    assert_eq!(
        files[1].conversions,
        ["empty up kept as a no-op", "empty down kept as a no-op"]
    );
}

#[test]
fn sqlx_broken_pieces() {
    let text = problems(
        Tool::Sqlx,
        &[
            ("1_a.sql", "SELECT 1;"),
            ("1_b.sql", "SELECT 2;"),
            ("2_c.down.sql", "SELECT 3;"),
            ("3_d.up.sql", "SELECT 4;"),
        ],
    );
    assert!(
        text.contains("<dir>/1_b.sql: version 1 is used twice"),
        "{text}"
    );
    assert!(
        text.contains("<dir>/2_c.down.sql: version 2 has a down file but no up file"),
        "{text}"
    );
    assert!(
        text.contains("<dir>/3_d.up.sql: version 3 has an up file but no down file\n  help:"),
        "{text}"
    );
}

#[test]
fn diesel_odd_timestamps_keep_diesel_order() {
    let dir = tree(&[
        (
            "00000000000000_diesel_initial_setup/up.sql",
            "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql;\n",
        ),
        (
            "00000000000000_diesel_initial_setup/down.sql",
            "DROP FUNCTION f();\n",
        ),
        (
            "2017-08-31-210460_second/up.sql",
            "CREATE TABLE b (id int);\n",
        ),
        (
            "2017-08-31-210460_second/down.sql",
            "-- This file should undo anything in `up.sql`\n",
        ),
        (
            "2017-08-31-210459_first/up.sql",
            "CREATE TABLE a (id int);\n",
        ),
        ("2017-08-31-210459_first/down.sql", ""),
        (
            "2017-08-31-210468_concurrent/up.sql",
            "CREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        ),
        (
            "2017-08-31-210468_concurrent/down.sql",
            "DROP INDEX a_id;\n",
        ),
        (
            "2017-08-31-210468_concurrent/metadata.toml",
            "run_in_transaction = false\n",
        ),
    ]);
    let files = import(Tool::Diesel, dir.path()).expect("imports");
    assert_chain(&files);
    let versions: Vec<&str> = files.iter().map(|f| f.source.version.as_str()).collect();
    assert_eq!(
        versions,
        [
            "00000000000000",
            "20170831210459",
            "20170831210460",
            "20170831210468"
        ]
    );
    // Same-minute versions get the next free minute, so the folder lists in diesel's order.
    assert!(files[1].file_name.starts_with("20170831_2104_"));
    assert!(files[2].file_name.starts_with("20170831_2105_"));
    assert!(files.windows(2).all(|w| w[0].file_name < w[1].file_name));
    assert!(files[1].text.contains("nothing to undo"));
    assert!(files[3].text.contains("-- Transaction: none"));
    assert!(!files[2].text.contains("Irreversible"));
}

#[test]
fn diesel_missing_up_is_refused() {
    let text = problems(
        Tool::Diesel,
        &[("2020-01-01-000000_x/down.sql", "DROP TABLE x;")],
    );
    assert!(text.contains("x/up.sql: missing up.sql"), "{text}");
}

#[test]
fn refinery_versions_in_numeric_order() {
    let dir = tree(&[
        ("V10__ten.sql", "SELECT 10;"),
        ("V2__two.sql", "SELECT 2;"),
        ("U3__unversioned.sql", "SELECT 3;"),
    ]);
    let files = import(Tool::Refinery, dir.path()).expect("imports");
    assert_chain(&files);
    let versions: Vec<&str> = files.iter().map(|f| f.source.version.as_str()).collect();
    assert_eq!(versions, ["2", "3", "10"]);
    assert!(files.iter().all(|f| f.text.contains("Irreversible: true")));
    assert!(files[0].file_name.starts_with("20000101_0000_"));
}

#[test]
fn refinery_duplicate_version() {
    let text = problems(
        Tool::Refinery,
        &[("V1__a.sql", "SELECT 1;"), ("V1__b.sql", "SELECT 2;")],
    );
    assert!(
        text.contains("V1__b.sql: version 1 is used twice"),
        "{text}"
    );
}

#[test]
fn flyway_undo_checksum_and_refusals() {
    let dir = tree(&[
        ("V1__create.sql", "CREATE TABLE t (id int);\n"),
        ("U1__create.sql", "DROP TABLE t;\n"),
        (
            "V1_1__index.sql",
            "CREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        ),
        ("V1_1__index.sql.conf", "executeInTransaction=false\n"),
    ]);
    let files = import(Tool::Flyway, dir.path()).expect("imports");
    assert_chain(&files);
    assert_eq!(files[1].source.version, "1.1");
    assert!(
        files[1]
            .text
            .contains("Transaction: none (executeInTransaction=false)")
            || files[1].conversions[0].contains("executeInTransaction")
    );
    // CRC-32 of "CREATE TABLE t (id int);" as Flyway computes it, line by line.
    let crc =
        crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(b"CREATE TABLE t (id int);") as i32;
    assert_eq!(
        files[0].source.source_checksum.as_deref(),
        Some(crc.to_string().as_str())
    );
    let text = problems(
        Tool::Flyway,
        &[("R__views.sql", "SELECT 1;"), ("U2__x.sql", "SELECT 1;")],
    );
    assert!(
        text.contains("R__views.sql: repeatable migrations"),
        "{text}"
    );
    assert!(
        text.contains("U2__x.sql: undo for version 2 has no versioned migration"),
        "{text}"
    );
}

#[test]
fn neo4j_migrations_become_cypher() {
    let dir = tree(&[
        (
            "V010__constraint.cypher",
            "CREATE CONSTRAINT c IF NOT EXISTS FOR (n:Person) REQUIRE n.id IS UNIQUE;\n",
        ),
        ("V020__data.cypher", "CREATE (:Person {id: 1});\n"),
    ]);
    let files = import(Tool::Neo4jMigrations, dir.path()).expect("imports");
    assert_chain(&files);
    assert!(
        files[0].file_name.ends_with(".cypher")
            && files[0].text.starts_with("// Message: constraint")
    );
    assert_eq!(files[0].source.version, "010");
}

#[test]
fn golang_migrate_pairs_and_own_transactions() {
    let dir = tree(&[
        ("000001_init.up.sql", "CREATE TABLE t (id int);"),
        ("000001_init.down.sql", "DROP TABLE t;"),
        (
            "000002_tx.up.sql",
            "BEGIN;\nALTER TABLE t ADD c int;\nCOMMIT;\n",
        ),
        ("000003_only_up.up.sql", "SELECT 1;"),
    ]);
    let files = import(Tool::GolangMigrate, dir.path()).expect("imports");
    assert_chain(&files);
    assert_eq!(files[0].source.version, "1");
    assert!(files[1].conversions[0].contains("BEGIN/COMMIT"));
    assert!(files[2].text.contains("Irreversible: true"));
    let text = problems(
        Tool::GolangMigrate,
        &[
            ("5_x.down.sql", "DROP TABLE x;"),
            ("6_y.up.sql", "-- migrate:down\n"),
        ],
    );
    assert!(
        text.contains("5_x.down.sql: version 5 has a down file but no up file"),
        "{text}"
    );
    assert!(
        text.contains("6_y.up.sql:1: a `-- migrate:` line"),
        "{text}"
    );
    // ory/kratos names its files with 20-digit versions: past u64, which
    // golang-migrate refuses. They were skipped without a word.
    let text = problems(
        Tool::GolangMigrate,
        &[
            ("20150100000001000000_networks.up.sql", "CREATE TABLE n ();"),
            ("20150100000001000000_networks.down.sql", "DROP TABLE n;"),
        ],
    );
    assert!(
        text.contains("20150100000001000000_networks.up.sql: version 20150100000001000000 is larger than golang-migrate's versions go"),
        "{text}"
    );
}

#[test]
fn a_folder_without_a_migration_of_that_tool_is_an_error_naming_its_file_names() {
    // Flyway files given as golang-migrate: nothing matches.
    let dir = tree(&[
        ("V1__init.sql", "CREATE TABLE t ();"),
        ("README.md", "notes"),
    ]);
    let error = super::command::load(Tool::GolangMigrate, dir.path())
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("no golang-migrate migration found there"),
        "{error}"
    );
    assert!(
        error.contains("`{version}_{title}.up.sql` with `.down.sql`"),
        "{error}"
    );
}

const ALEMBIC_ONE: &str = r#""""create users

Revision ID: a1
"""
from alembic import op

revision = "a1"
down_revision = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE users (id int);
""")
    op.execute("INSERT INTO users VALUES (1)")


def downgrade() -> None:
    op.execute('DROP TABLE users')
"#;

const ALEMBIC_TWO: &str = r#""""index
"""
from alembic import op

revision: str = "b2"
down_revision: str | None = "a1"


def upgrade():
    with op.get_context().autocommit_block():
        op.execute(r"CREATE INDEX CONCURRENTLY users_id ON users (id)")


def downgrade():
    pass
"#;

#[test]
fn alembic_op_execute_only() {
    let dir = tree(&[
        ("versions/b2_index.py", ALEMBIC_TWO),
        ("versions/a1_create_users.py", ALEMBIC_ONE),
    ]);
    let files = import(Tool::Alembic, dir.path()).expect("imports");
    assert_chain(&files);
    assert_eq!(files[0].source.version, "a1");
    assert_eq!(files[0].source.description, "create users");
    assert!(
        files[0]
            .text
            .contains("\nCREATE TABLE users (id int);\n;\nINSERT INTO users VALUES (1)\n")
            || files[0]
                .text
                .contains("\nCREATE TABLE users (id int);\nINSERT INTO users VALUES (1)\n"),
        "{}",
        files[0].text
    );
    assert!(
        files[1].text.contains("Transaction: none") && files[1].text.contains("Irreversible: true")
    );
}

#[test]
fn alembic_refuses_python_with_line() {
    let broken = ALEMBIC_ONE.replace(
        "    op.execute(\"INSERT INTO users VALUES (1)\")",
        "    op.add_column(\"users\", sa.Column(\"x\", sa.Integer()))",
    );
    let text = problems(Tool::Alembic, &[("versions/a1.py", &broken)]);
    assert!(text.contains("versions/a1.py:15: `op.add_column(\"users\", sa.Column(\"x\", sa.Integer()))` in upgrade() is not op.execute"), "{text}");
    assert!(text.contains("help: dbmigrate imports only"), "{text}");
    let gap = problems(Tool::Alembic, &[("versions/b2.py", ALEMBIC_TWO)]);
    assert!(
        gap.contains("down_revision `a1` has no script (a gap in the chain)"),
        "{gap}"
    );
}

#[test]
fn timestamps() {
    assert!(parse_timestamp(Some("20240101120000")).is_some());
    assert!(
        parse_timestamp(Some("20170831210468")).is_some(),
        "odd seconds keep the minute"
    );
    assert!(parse_timestamp(Some("20240231120000")).is_none());
    assert!(parse_timestamp(Some("1")).is_none());
}
