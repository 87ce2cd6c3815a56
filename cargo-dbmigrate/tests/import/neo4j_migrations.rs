//! neo4j-migrations, the engine from Maven Central (driven through its Java
//! API: `<peers>/neo4j-migrations/Neo4jMigrate.java`), applies its own
//! folder to the real Neo4j server; dbmigrate then imports the folder and
//! adopts the `__Neo4jMigration` chain it wrote, checksums included.
//!
//! One Neo4j database is shared by every test: the fixture's labels are
//! its own (`PeerImport…`), dbmigrate's bookkeeping gets a prefix of this
//! run's, and a guard removes all of it and neo4j-migrations' own nodes and
//! constraints before and after (also when the test panics).

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use super::{fixture, peer};

fn neo4j() -> (String, String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set\n  help: start the servers with `cargo xtask services up` and `eval \"$(cargo xtask services env)\"`")
        })
    };
    (var("NEO4J_URI"), var("NEO4J_USER"), var("NEO4J_PASSWORD"))
}

/// Runs Cypher on the test server from a runtime of its own.
fn cypher(statements: &[String]) {
    let (uri, user, password) = neo4j();
    let statements = statements.to_vec();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let graph = neo4rs::Graph::new(&uri, &user, &password).expect("connect to Neo4j");
                for statement in statements {
                    graph
                        .run(neo4rs::query(&statement))
                        .await
                        .unwrap_or_else(|e| panic!("{statement}: {e}"));
                }
            })
    })
    .join()
    .expect("the Cypher thread");
}

/// Counts with one Cypher query returning `n`.
fn count(query: &str) -> i64 {
    let (uri, user, password) = neo4j();
    let query = query.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let graph = neo4rs::Graph::new(&uri, &user, &password).expect("connect to Neo4j");
                let mut rows = graph.execute(neo4rs::query(&query)).await.expect(&query);
                let row = rows.next().await.expect(&query).expect("one row");
                row.get::<i64>("n").expect("n")
            })
    })
    .join()
    .expect("the Cypher thread")
}

/// neo4j-migrations keeps one chain per database: the tests here take turns.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Everything this test and neo4j-migrations leave on the server.
struct Neo4jGuard {
    prefix: String,
    _turn: MutexGuard<'static, ()>,
}

impl Neo4jGuard {
    fn new() -> Neo4jGuard {
        let turn = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let guard = Neo4jGuard {
            prefix: format!("ImportPeer{}", std::process::id()),
            _turn: turn,
        };
        guard.clean();
        guard
    }

    fn clean(&self) {
        let labels =
            "['PeerImportAuthor', 'PeerImportBook', 'PeerImportPublisher', '__Neo4jMigration', '__Neo4jMigrationsLock']";
        let bookkeeping = format!("__{}", self.prefix);
        let mut statements = vec![
            format!(
                "MATCH (n) WHERE any(l IN labels(n) WHERE l IN {labels} OR l STARTS WITH '{bookkeeping}') DETACH DELETE n"
            ),
            // `test` keeps the records of irreversible steps it applied; the
            // imported revisions are the ones dated 2000-01-01.
            "MATCH (n:__DbmigrateTestMigration) WHERE n.revision_id STARTS WITH '20000101_' \
             AND n.applied_by = 'dbmigrate-stairway' DETACH DELETE n"
                .to_string(),
        ];
        // Constraints first: dropping one also drops the index it owns.
        for kind in ["CONSTRAINTS", "INDEXES"] {
            statements.extend(self.drop_statements(kind, labels, &bookkeeping));
        }
        cypher(&statements);
    }

    /// `DROP CONSTRAINT/INDEX <name>` for each matching one, read now.
    fn drop_statements(&self, kind: &str, labels: &str, bookkeeping: &str) -> Vec<String> {
        let (uri, user, password) = neo4j();
        let query = format!(
            "SHOW {kind} YIELD name, labelsOrTypes, owningConstraint \
             WHERE (name STARTS WITH 'peer_import_' OR name STARTS WITH '{bookkeeping}' \
                OR any(l IN coalesce(labelsOrTypes, []) WHERE l IN {labels} OR l STARTS WITH '{bookkeeping}')) \
             RETURN name"
        );
        let query = if kind == "INDEXES" {
            query.replace("RETURN name", "AND owningConstraint IS NULL RETURN name")
        } else {
            query.replace(", owningConstraint", "")
        };
        let single = if kind == "INDEXES" {
            "INDEX"
        } else {
            "CONSTRAINT"
        };
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let graph = neo4rs::Graph::new(&uri, &user, &password).expect("connect");
                    let mut rows = graph.execute(neo4rs::query(&query)).await.expect(&query);
                    let mut names = Vec::new();
                    while let Some(row) = rows.next().await.expect(&query) {
                        let name: String = row.get("name").expect("name");
                        names.push(format!("DROP {single} `{name}` IF EXISTS"));
                    }
                    names
                })
        })
        .join()
        .expect("the Cypher thread")
    }
}

impl Drop for Neo4jGuard {
    fn drop(&mut self) {
        // Never a second panic while unwinding.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.clean()));
    }
}

/// `cargo dbmigrate <args>` against Neo4j only, with this run's bookkeeping.
fn dbmigrate(root: &Path, guard: &Neo4jGuard, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(args)
        .current_dir(root)
        .env_remove("DATABASE_URL")
        .env_remove("WEAVIATE_URL")
        .env("DBMIGRATE_BOOKKEEPING_PREFIX", &guard.prefix)
        .output()
        .expect("cargo-dbmigrate runs")
}

fn ok(root: &Path, guard: &Neo4jGuard, args: &[&str]) -> String {
    let output = dbmigrate(root, guard, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "cargo dbmigrate {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The real engine on `dir`; it must succeed.
fn neo4j_migrations_apply(dir: &Path) {
    let launcher = peer("neo4j-migrations", "neo4j-migrations/Neo4jMigrate.java");
    let (uri, user, password) = neo4j();
    let output = Command::new("java")
        .arg("-cp")
        .arg(launcher.parent().unwrap().join("lib/*"))
        .arg(&launcher)
        .args([uri.as_str(), user.as_str(), dir.to_str().unwrap()])
        .env("NEO4J_PASSWORD", password)
        .output()
        .expect("java runs");
    assert!(
        output.status.success(),
        "neo4j-migrations failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Its applied chain: 10 versions, each with the checksum it computed.
const APPLIED: &str = "MATCH (m:__Neo4jMigration) WHERE m.version <> 'BASELINE' AND m.checksum IS NOT NULL RETURN count(m) AS n";

#[test]
fn neo4j_migrations_real_engine_then_import_and_adopt() {
    let guard = Neo4jGuard::new();
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("neo4j-migrations", temp.path());
    neo4j_migrations_apply(&source);
    assert_eq!(count(APPLIED), 10);
    assert_eq!(
        count("MATCH (b:PeerImportBook) WHERE b.slug IS NOT NULL AND b.first_edition IS NOT NULL RETURN count(b) AS n"),
        2,
        "the engine ran the batched backfill and the data migration"
    );

    let app = super::App::new();
    let root = app.root.as_path();
    let source_arg = source.to_str().unwrap();
    ok(
        root,
        &guard,
        &["import", "--from", "neo4j-migrations", source_arg],
    );
    let adopted = ok(root, &guard, &["adopt", "--from", "neo4j-migrations"]);
    assert!(adopted.contains("stamped 10 migration(s)"), "{adopted}");
    let twice = ok(root, &guard, &["adopt", "--from", "neo4j-migrations"]);
    assert!(twice.contains("already adopted"), "{twice}");
    assert_eq!(
        count(APPLIED),
        10,
        "adopt leaves neo4j-migrations' chain alone"
    );

    let status: serde_json::Value =
        serde_json::from_str(&ok(root, &guard, &["--format", "json", "status"])).unwrap();
    assert_eq!(status["n_pending"], 0, "{status}");
    assert_eq!(status["problems"], serde_json::json!([]), "{status}");

    // The next migration goes on top, with dbmigrate.
    let created = ok(
        root,
        &guard,
        &["new", "--target", "neo4j", "index author birth years"],
    );
    let path = root.join(created.trim());
    let text = std::fs::read_to_string(&path).unwrap()
        .replace("// migrate:up\n", "// migrate:up\nCREATE INDEX peer_import_author_born IF NOT EXISTS FOR (a:PeerImportAuthor) ON (a.born);\n")
        .replace("// migrate:down\n", "// migrate:down\nDROP INDEX peer_import_author_born IF EXISTS;\n");
    std::fs::write(&path, text).unwrap();
    ok(root, &guard, &["upgrade"]);
    assert_eq!(
        count(
            "SHOW INDEXES YIELD name WHERE name = 'peer_import_author_born' RETURN count(*) AS n"
        ),
        1
    );
    assert_eq!(
        count("MATCH (:PeerImportAuthor)-[:PEER_IMPORT_WROTE]->(b:PeerImportBook) RETURN count(b) AS n"),
        2,
        "the data neo4j-migrations wrote is still there"
    );

    // The round trip needs a Neo4j without the app's data (Community has one
    // database): `test` refuses this one, which holds it; cleared, as a
    // fresh server would be, it round-trips the imported history (ten
    // irreversible steps applied, the new one up, down, up).
    let refused = dbmigrate(root, &guard, &["test"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    guard.clean();
    let round_trip = ok(root, &guard, &["test"]);
    assert!(
        round_trip.contains("round trip ok: 11 migration(s)"),
        "{round_trip}"
    );
}

#[test]
fn neo4j_migrations_file_edited_after_it_was_applied_is_refused() {
    let guard = Neo4jGuard::new();
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("neo4j-migrations", temp.path());
    neo4j_migrations_apply(&source);
    // Blank lines between statements and a missing last line end are not
    // an edit to neo4j-migrations (it trims each statement); the line ends
    // INSIDE a statement are, as the engine recorded them.
    let first = source.join("V0001__author_names_are_unique.cypher");
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, format!("\n\n{}", text.trim_end())).unwrap();
    // A changed value is.
    std::fs::write(
        source.join("V0002__first_authors.cypher"),
        "CREATE (:PeerImportAuthor {name: 'Ursula', born: 1930});\nCREATE (:PeerImportAuthor {name: 'Octavia', born: 1947});\n",
    )
    .unwrap();
    let app = super::App::new();
    let root = app.root.as_path();
    ok(
        root,
        &guard,
        &[
            "import",
            "--from",
            "neo4j-migrations",
            source.to_str().unwrap(),
        ],
    );
    let output = dbmigrate(root, &guard, &["adopt", "--from", "neo4j-migrations"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "adopt must refuse: {stderr}");
    assert!(
        stderr.contains("version 0002 was changed after neo4j-migrations applied it"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("version 0001"),
        "blank lines are not an edit to neo4j-migrations: {stderr}"
    );
}
