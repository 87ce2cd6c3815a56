//! `import` + `adopt` against the real tools: each tool's own project (under
//! `tests/fixtures/import-peers/<tool>/`) is applied WITH THAT TOOL to a
//! fresh scratch database, then imported and adopted; `status` must be clean
//! at the imported head, a new dbmigrate migration must apply on top, and
//! `cargo dbmigrate test` must round-trip the whole imported history.
//!
//! The tools come from `cargo xtask peers install` (cached outside
//! `target/`); a missing tool fails its test with the install command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// diesel_cli and refinery_cli (crates.io tools).
#[path = "import/rust_tools.rs"]
mod rust_tools;

/// adopt stamps all or nothing.
#[path = "import/atomic.rs"]
mod atomic;

/// neo4j-migrations' engine on the real Neo4j server.
#[path = "import/neo4j_migrations.rs"]
mod neo4j_migrations;

#[path = "pg_scratch/mod.rs"]
mod pg_scratch;

use pg_scratch::{database_url, ScratchDatabase};

/// `<cache>/peers`, found like `cargo xtask peers install` finds it.
fn peers_dir() -> PathBuf {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(dir) = var("DBMIGRATE_PEERS") {
        return PathBuf::from(dir);
    }
    let cache = var("DBMIGRATE_CACHE")
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| Path::new(&d).join("dbmigrate")))
        .unwrap_or_else(|| Path::new(&var("HOME").expect("HOME is set")).join(".cache/dbmigrate"));
    cache.join("peers")
}

/// The installed tool's executable, or a failure saying how to install it.
fn peer(tool: &str, relative: &str) -> PathBuf {
    let path = peers_dir().join(relative);
    assert!(
        path.is_file(),
        "{tool} is not installed ({} is missing)\n  help: cargo xtask peers install {tool}",
        path.display()
    );
    path
}

/// A scratch database (dropped by its guard, also when the test panics)
/// and its URL for the tools.
struct Scratch {
    url: String,
    _database: ScratchDatabase,
}

impl Scratch {
    fn new(tool: &str) -> Scratch {
        let database = ScratchDatabase::create(&format!("import_{}", tool.replace('-', "_")));
        Scratch {
            url: database.url().to_string(),
            _database: database,
        }
    }

    fn query(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }
}

fn psql(url: &str, sql: &str) -> String {
    let output = Command::new("psql")
        .arg(url)
        .args(["-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A Rust package with no migrations yet, in a temp folder.
struct App {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

impl App {
    fn new() -> App {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("app");
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        App { _temp: temp, root }
    }

    /// Runs `cargo dbmigrate <args>` against PostgreSQL only.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("NEO4J_URI")
            .env_remove("WEAVIATE_URL")
            .output()
            .expect("cargo-dbmigrate runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "cargo dbmigrate {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "cargo dbmigrate {args:?} should be refused"
        );
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// The tool's project, copied so that tools which write into it (Alembic) do not touch the repository.
fn fixture(tool: &str, into: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import-peers")
        .join(tool);
    let to = into.join(format!("{tool}-project"));
    copy_tree(&from, &to);
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs a peer tool; it must succeed.
fn run_tool(command: &mut Command) {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// import, adopt (twice), status clean at the imported head, a new migration
/// on top, and the round trip of everything.
fn import_adopt_round_trip(
    tool: &str,
    source_dir: &Path,
    scratch: &Scratch,
    tool_table: &str,
    n_migrations: usize,
) {
    let app = App::new();
    let before = scratch.query(&format!("SELECT * FROM {tool_table}"));
    let source = source_dir.to_str().unwrap();
    let dry = app.ok(&["import", "--from", tool, source, "--dry-run"]);
    assert!(
        dry.contains(&format!("would write {n_migrations} of {n_migrations}")),
        "{dry}"
    );
    assert!(
        !app.root.join("migrations").exists(),
        "--dry-run writes nothing"
    );
    app.ok(&["import", "--from", tool, source]);
    let again = app.ok(&["import", "--from", tool, source]);
    assert!(
        again.contains(&format!(
            "wrote 0 of {n_migrations} migration(s) into migrations ({n_migrations} unchanged)"
        )),
        "{again}"
    );

    let url = scratch.url.as_str();
    let adopted = app.ok(&["adopt", "--from", tool, "--database-url", url]);
    assert!(
        adopted.contains(&format!("stamped {n_migrations} migration(s)")),
        "{adopted}"
    );
    let twice = app.ok(&["adopt", "--from", tool, "--database-url", url]);
    assert!(twice.contains("already adopted"), "{twice}");
    assert_eq!(
        scratch.query(&format!("SELECT * FROM {tool_table}")),
        before,
        "adopt leaves {tool_table} untouched"
    );

    let status: serde_json::Value =
        serde_json::from_str(&app.ok(&["--format", "json", "status", "--database-url", url]))
            .unwrap();
    assert_eq!(status["n_pending"], 0, "{status}");
    assert_eq!(status["current"], status["head"], "{status}");
    assert_eq!(status["problems"], serde_json::json!([]), "{status}");

    let created = app.ok(&["new", "add user bio"]);
    let path = app.root.join(created.trim());
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace(
            "-- migrate:up\n",
            "-- migrate:up\nALTER TABLE users ADD COLUMN bio text;\n",
        )
        .replace(
            "-- migrate:down\n",
            "-- migrate:down\nALTER TABLE users DROP COLUMN bio;\n",
        );
    std::fs::write(&path, text).unwrap();
    app.ok(&["upgrade", "--database-url", url]);
    assert_eq!(scratch.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'bio'").trim(), "1");

    let round_trip = app.ok(&["test", "--database-url", url]);
    assert!(
        round_trip.contains(&format!("round trip ok: {} migration(s)", n_migrations + 1)),
        "{round_trip}"
    );
}

#[test]
fn golang_migrate_real_tool_then_import_and_adopt() {
    let migrate = peer("golang-migrate", "bin/migrate");
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("golang-migrate", temp.path());
    let scratch = Scratch::new("golang_migrate");
    let url = format!("{}?sslmode=disable", scratch.url);
    run_tool(Command::new(&migrate).args([
        "-path",
        source.to_str().unwrap(),
        "-database",
        &url,
        "up",
    ]));
    assert_eq!(
        scratch
            .query("SELECT version, dirty FROM schema_migrations")
            .trim(),
        "11|f"
    );
    import_adopt_round_trip("golang-migrate", &source, &scratch, "schema_migrations", 11);
}

#[test]
fn golang_migrate_dirty_record_is_refused() {
    let migrate = peer("golang-migrate", "bin/migrate");
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("golang-migrate", temp.path());
    let scratch = Scratch::new("golang_dirty");
    let url = format!("{}?sslmode=disable", scratch.url);
    // A migration that fails half-way leaves golang-migrate's record dirty.
    std::fs::write(
        source.join("000012_broken.up.sql"),
        "ALTER TABLE nowhere ADD COLUMN x int;",
    )
    .unwrap();
    let output = Command::new(&migrate)
        .args(["-path", source.to_str().unwrap(), "-database", &url, "up"])
        .output()
        .unwrap();
    assert!(
        !output.status.success(),
        "the broken migration fails in golang-migrate"
    );
    assert_eq!(
        scratch
            .query("SELECT version, dirty FROM schema_migrations")
            .trim(),
        "12|t"
    );
    let app = App::new();
    app.ok(&[
        "import",
        "--from",
        "golang-migrate",
        source.to_str().unwrap(),
    ]);
    let stderr = app.refused(&[
        "adopt",
        "--from",
        "golang-migrate",
        "--database-url",
        &scratch.url,
    ]);
    assert!(
        stderr.contains("`schema_migrations` says version 12 is dirty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: check what the migration did"),
        "{stderr}"
    );
    assert_eq!(
        scratch
            .query("SELECT to_regclass('dbmigrate_history') IS NULL")
            .trim(),
        "t",
        "nothing was stamped"
    );
}

#[test]
fn alembic_real_tool_then_import_and_adopt() {
    let alembic = peer("alembic", "alembic-venv/bin/alembic");
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("alembic", temp.path());
    let scratch = Scratch::new("alembic");
    let url = scratch
        .url
        .replacen("postgres://", "postgresql+psycopg2://", 1)
        .replacen("postgresql://", "postgresql+psycopg2://", 1);
    run_tool(
        Command::new(&alembic)
            .args(["-c", "alembic.ini", "upgrade", "head"])
            .current_dir(&source)
            .env("ALEMBIC_URL", url),
    );
    assert_eq!(
        scratch
            .query("SELECT version_num FROM alembic_version")
            .trim(),
        "11a1b2c3d4e5"
    );
    import_adopt_round_trip("alembic", &source, &scratch, "alembic_version", 11);
}

#[test]
fn alembic_python_beyond_op_execute_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("alembic", temp.path());
    let script = source.join("versions/04a1b2c3d4e5_add_email.py");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "    op.execute(\"ALTER TABLE users ADD COLUMN email text\")",
        "    op.add_column(\"users\", sa.Column(\"email\", sa.Text()))",
    );
    std::fs::write(&script, text).unwrap();
    let app = App::new();
    let stderr = app.refused(&["import", "--from", "alembic", source.to_str().unwrap()]);
    assert!(stderr.contains("04a1b2c3d4e5_add_email.py:15: `op.add_column(\"users\", sa.Column(\"email\", sa.Text()))` in upgrade() is not op.execute(\"…\")"), "{stderr}");
    assert!(
        stderr.contains("help: dbmigrate imports only `op.execute(\"<SQL>\")` calls"),
        "{stderr}"
    );
    assert!(!app.root.join("migrations").exists(), "nothing written");
}

#[test]
fn sqlx_real_tool_then_import_and_adopt() {
    let sqlx = peer("sqlx-cli", "bin/sqlx");
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("sqlx", temp.path());
    let scratch = Scratch::new("sqlx");
    run_tool(Command::new(&sqlx).args([
        "migrate",
        "run",
        "--source",
        source.to_str().unwrap(),
        "--database-url",
        &scratch.url,
    ]));
    assert_eq!(
        scratch
            .query("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .trim(),
        "11"
    );
    import_adopt_round_trip("sqlx", &source, &scratch, "_sqlx_migrations", 11);
}

#[test]
fn sqlx_file_edited_after_it_was_applied_is_refused() {
    let sqlx = peer("sqlx-cli", "bin/sqlx");
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("sqlx", temp.path());
    let scratch = Scratch::new("sqlx_edited");
    run_tool(Command::new(&sqlx).args([
        "migrate",
        "run",
        "--source",
        source.to_str().unwrap(),
        "--database-url",
        &scratch.url,
    ]));
    let edited = source.join("20240106093000_seed_users.up.sql");
    std::fs::write(
        &edited,
        "INSERT INTO users (name) VALUES ('ada'), ('grace');\n",
    )
    .unwrap();
    let app = App::new();
    app.ok(&["import", "--from", "sqlx", source.to_str().unwrap()]);
    let stderr = app.refused(&["adopt", "--from", "sqlx", "--database-url", &scratch.url]);
    assert!(
        stderr
            .contains("_seed_users.sql: version 20240106093000 was changed after sqlx applied it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: restore the source file as it was applied"),
        "{stderr}"
    );
}

#[test]
fn baseline_from_pg_dump_is_stamped_and_runs_on_a_fresh_database() {
    let scratch = Scratch::new("baseline");
    scratch.query(
        "CREATE TYPE mood AS ENUM ('ok', 'meh');
         CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL, mood mood NOT NULL DEFAULT 'ok');
         CREATE INDEX users_name_idx ON users (name);
         CREATE FUNCTION shout(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper($1) $$;
         CREATE VIEW loud_users AS SELECT id, shout(name) AS name FROM users;",
    );
    let app = App::new();
    let url = scratch.url.as_str();
    let dry = app.ok(&["baseline", "--database-url", url, "--dry-run"]);
    assert!(
        dry.contains("would write migrations/")
            && dry.contains("psql meta-command") == dump_has_meta_commands(),
        "{dry}"
    );
    assert!(
        !app.root.join("migrations").exists(),
        "--dry-run writes nothing"
    );
    let written = app.ok(&["baseline", "--database-url", url]);
    assert!(
        written.contains("(irreversible) and stamped it"),
        "{written}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&app.ok(&["--format", "json", "status", "--database-url", url]))
            .unwrap();
    assert_eq!(status["n_pending"], 0, "{status}");
    assert_eq!(status["current"], status["head"], "{status}");
    let again = app.refused(&["baseline", "--database-url", url]);
    assert!(again.contains("already holds migrations"), "{again}");
    let round_trip = app.ok(&["test", "--database-url", url]);
    assert!(
        round_trip.contains("round trip ok: 1 migration(s)"),
        "{round_trip}"
    );
}

/// pg_dump 15.14+ (and the other minors of that release) writes `\restrict`.
fn dump_has_meta_commands() -> bool {
    let output = Command::new("pg_dump")
        .args(["--schema-only", "--dbname", &database_url()])
        .output()
        .expect("pg_dump runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .any(|line| line.starts_with('\\'))
}

/// Runs Flyway's engine (flyway-core from Maven Central; its command-line jar
/// is not published there) on a folder.
fn flyway_migrate(scratch: &Scratch, dir: &Path) -> Output {
    let launcher = peer("flyway", "flyway/FlywayMigrate.java");
    let (credentials, rest) = scratch
        .url
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://")
        .split_once('@')
        .expect("user@host");
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    let jdbc = format!("jdbc:postgresql://{rest}");
    Command::new("java")
        .arg("-cp")
        .arg(launcher.parent().unwrap().join("lib/*"))
        .arg(&launcher)
        .args([jdbc.as_str(), user, password, dir.to_str().unwrap()])
        .output()
        .expect("java runs")
}

#[test]
fn flyway_real_engine_then_import_and_adopt() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("flyway", temp.path());
    let scratch = Scratch::new("flyway");
    let output = flyway_migrate(&scratch, &source);
    assert!(
        output.status.success(),
        "flyway failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        scratch
            .query(
                "SELECT count(*) FROM flyway_schema_history WHERE success AND checksum IS NOT NULL"
            )
            .trim(),
        "11"
    );
    import_adopt_round_trip("flyway", &source, &scratch, "flyway_schema_history", 11);
}

#[test]
fn flyway_file_edited_after_it_was_applied_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let source = fixture("flyway", temp.path());
    let scratch = Scratch::new("flyway_edited");
    let output = flyway_migrate(&scratch, &source);
    assert!(
        output.status.success(),
        "flyway failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(
        source.join("V3__seed_users.sql"),
        "INSERT INTO users (name) VALUES ('ada');\n",
    )
    .unwrap();
    let app = App::new();
    app.ok(&["import", "--from", "flyway", source.to_str().unwrap()]);
    let stderr = app.refused(&["adopt", "--from", "flyway", "--database-url", &scratch.url]);
    assert!(
        stderr.contains("_seed_users.sql: version 3 was changed after flyway applied it"),
        "{stderr}"
    );
}
