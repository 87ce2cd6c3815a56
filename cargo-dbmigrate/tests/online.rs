//! The online commands of `cargo dbmigrate`, run as a process against the
//! real PostgreSQL server of `DATABASE_URL` (each test in its own database),
//! and the promise that no password reaches the output.

use std::path::{Path, PathBuf};
use std::process::Command;

use pg_scratch::{database_url, write_package, ScratchDatabase};

#[path = "pg_scratch/mod.rs"]
mod pg_scratch;

#[path = "online/copy_progress.rs"]
mod copy_progress;
#[path = "online/live.rs"]
mod live;
#[path = "online/log.rs"]
mod log;
#[path = "online/offline.rs"]
mod offline;
#[path = "online/recovery.rs"]
mod recovery;
#[path = "online/shared.rs"]
mod shared;

struct Project {
    _temp: tempfile::TempDir,
    root: PathBuf,
    /// Dropped with the project, also when the test panics.
    database: ScratchDatabase,
}

impl Project {
    /// A package holding the edututor PostgreSQL migrations, re-linked into
    /// one PostgreSQL-only line, and a fresh database for it.
    fn edututor() -> Project {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("app");
        write_package(&root, &[]);
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/edututor/migrations");
        let mut files: Vec<_> = std::fs::read_dir(&source)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut previous: Option<String> = None;
        for path in files.iter().filter(|p| {
            p.extension().is_some_and(|e| e == "sql")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("2024120"))
        }) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(path).unwrap();
            let parent =
                previous.replace(name.splitn(4, '_').take(3).collect::<Vec<_>>().join("_"));
            let text = text
                .lines()
                .map(|line| match (&parent, line.starts_with("-- Revises:")) {
                    (Some(parent), true) => format!("-- Revises: {parent}"),
                    _ => line.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(root.join("migrations").join(name), text + "\n").unwrap();
        }
        Project {
            _temp: temp,
            root,
            database: ScratchDatabase::create("cli"),
        }
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_in(&self.root, args, &[("DATABASE_URL", self.database.url())])
    }
}

fn run_in(root: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"));
    command
        .args(args)
        .current_dir(root)
        .env_remove("DATABASE_URL")
        .env_remove("NEO4J_URI")
        .env_remove("WEAVIATE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run cargo-dbmigrate");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn edututor_base_head_base_head_with_the_cli() {
    let project = Project::edututor();
    let (code, out, err) = project.run(&["dbmigrate", "upgrade"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("Applying").count(), 6, "{out}");
    assert!(
        out.contains("Applying 20241201_1000_a1b2c3 initial_schema (postgres)"),
        "{out}"
    );
    let (code, out, err) = project.run(&["dbmigrate", "status"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("position  20241204_0920_d0e1f2")
            && out.contains("pending   0")
            && out.contains("clean"),
        "{out}"
    );
    let (code, out, err) = project.run(&["dbmigrate", "downgrade", "base", "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("BEGIN;") && out.contains("DELETE FROM \"public\".\"dbmigrate_history\""),
        "{out}"
    );
    let (code, out, err) = project.run(&["dbmigrate", "downgrade", "base"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("Reverting").count(), 6, "{out}");
    let (code, out, _) = project.run(&["dbmigrate", "current", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        serde_json::json!({ "postgres": null })
    );
    let (code, out, err) = project.run(&["dbmigrate", "upgrade", "head", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["applied"].as_array().map(Vec::len), Some(6), "{out}");
    let (code, out, _) = project.run(&["dbmigrate", "upgrade"]);
    assert_eq!(code, 0);
    assert!(out.contains("Up to date at 20241204_0920_d0e1f2"), "{out}");
}

#[tokio::test]
async fn online_exit_codes_and_a_closed_pipe() {
    let project = Project::edututor();
    let (code, out, err) = project.run(&["dbmigrate", "upgrade", "zzz"]);
    assert_eq!(
        code, 2,
        "an unknown revision is a usage error, as for `show`: {out}{err}"
    );
    let (code, out, _) = project.run(&["dbmigrate", "upgrade", "zzz", "--format", "json"]);
    assert_eq!(code, 2);
    let document: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(document["error"]["kind"], "usage", "{document}");
    assert!(document["error"]["help"].is_string(), "{document}");
    let unreachable = "postgres://app@127.0.0.1:9/app";
    let (code, out, err) = run_in(
        &project.root,
        &["dbmigrate", "status", "--database-url", unreachable],
        &[],
    );
    assert_eq!(code, 1, "a database operation failed: {out}{err}");
    let (code, out, _) = run_in(
        &project.root,
        &[
            "dbmigrate",
            "status",
            "--format",
            "json",
            "--database-url",
            unreachable,
        ],
        &[],
    );
    assert_eq!(code, 1);
    let document: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(document["error"]["kind"], "failed", "{document}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
        .args(["dbmigrate", "upgrade"])
        .current_dir(&project.root)
        .env("DATABASE_URL", project.database.url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the command connects, so its first line hits a closed pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[tokio::test]
async fn no_password_in_any_output() {
    let project = Project::edututor();
    let real = database_url();
    let bad_password = "Sup3rSecretPassw0rdXYZ";
    // The real server with a wrong password, through the flag, the environment and .env.
    let wrong = match real.split_once("://").and_then(|(scheme, rest)| {
        rest.rsplit_once('@')
            .map(|(auth, host)| (scheme, auth, host))
    }) {
        Some((scheme, auth, host)) => {
            let user = auth.split(':').next().unwrap_or("postgres");
            format!("{scheme}://{user}:{bad_password}@{host}")
        }
        None => format!(
            "{}:{bad_password}@{}",
            "postgres://postgres",
            real.trim_start_matches("postgres://")
        ),
    };
    let unreachable = format!("postgres://app:{bad_password}@127.0.0.1:9/app");
    let mut runs = Vec::new();
    for url in [&wrong, &unreachable] {
        runs.push(run_in(
            &project.root,
            &["dbmigrate", "status", "--database-url", url],
            &[],
        ));
        runs.push(run_in(
            &project.root,
            &["dbmigrate", "upgrade"],
            &[("DATABASE_URL", url.as_str())],
        ));
        runs.push(run_in(
            &project.root,
            &["dbmigrate", "upgrade", "--format", "json"],
            &[("DATABASE_URL", url.as_str()), ("RUST_LOG", "trace")],
        ));
        std::fs::write(project.root.join(".env"), format!("DATABASE_URL={url}\n")).unwrap();
        runs.push(run_in(&project.root, &["dbmigrate", "plan"], &[]));
        runs.push(run_in(
            &project.root,
            &["dbmigrate", "upgrade", "--help"],
            &[("DATABASE_URL", url.as_str())],
        ));
    }
    for (_, out, err) in &runs {
        assert!(
            !out.contains(bad_password) && !err.contains(bad_password),
            "password leaked:\n{out}\n{err}"
        );
    }
    let failures: Vec<_> = runs.iter().filter(|(code, _, _)| *code != 0).collect();
    assert_eq!(failures.len(), 8, "every run but --help fails");
    assert!(
        failures
            .iter()
            .all(|(_, out, err)| err.contains(":***@") || out.contains(":***@")),
        "the URL is shown redacted: {failures:?}"
    );
}

/// The checksum `check` must report for `file`, as the parser computes it.
fn file_checksum(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let name = format!("migrations/{}", path.file_name().unwrap().to_string_lossy());
    dbmigrate_core::parse::parse_migration(&name, &text)
        .expect("parses")
        .checksum
        .to_hex()
}

#[tokio::test]
async fn check_reports_an_applied_migration_edited_afterwards() {
    let project = Project::edututor();
    let (code, out, err) = project.run(&["dbmigrate", "check"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = project.run(&["dbmigrate", "upgrade"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = project.run(&["dbmigrate", "check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("ok: the history of postgres (") && err.contains("matches the files"),
        "{err}"
    );

    let name = "20241201_1100_b2c3d4_add_guardian_consent.sql";
    let path = project.root.join("migrations").join(name);
    let applied = file_checksum(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("-- migrate:down", "-- edited\n-- migrate:down"),
    )
    .unwrap();
    let edited = file_checksum(&path);
    assert_ne!(applied, edited);

    let (code, out, err) = project.run(&["dbmigrate", "check"]);
    assert_eq!(code, 4, "a database needs attention: {out}{err}");
    assert!(
        err.contains(&format!(
            "migrations/{name}: migration `20241201_1100_b2c3d4` was edited after it was applied"
        )) && err.contains(&format!(
            "applied checksum {applied}, file checksum {edited}"
        )),
        "{err}"
    );
    let (code, out, _) = project.run(&["dbmigrate", "check", "--format", "json"]);
    assert_eq!(code, 4);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false, "{out}");
    assert!(
        report["errors"][0].as_str().unwrap().contains(&edited),
        "{out}"
    );
    // Without connection settings, or with --offline, `check` reads only the files.
    let (code, out, err) = run_in(&project.root, &["dbmigrate", "check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = project.run(&["dbmigrate", "check", "--offline"]);
    assert_eq!(code, 0, "{out}{err}");
    // Every command that reads the database says it needs attention: exit 4.
    for command in [&["status"][..], &["upgrade"], &["plan"], &["downgrade"]] {
        let mut args = vec!["dbmigrate"];
        args.extend_from_slice(command);
        let (code, out, err) = project.run(&args);
        assert_eq!(code, 4, "{command:?}: {out}{err}");
        args.extend(["--format", "json"]);
        let (code, out, err) = project.run(&args);
        assert_eq!(code, 4, "{command:?}: {out}{err}");
        let document: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{command:?}: not JSON ({e}): {out}"));
        if command != ["status"] {
            assert_eq!(document["error"]["kind"], "needs_attention", "{document}");
            assert_eq!(
                document["error"]["file"],
                format!("migrations/{name}"),
                "{document}"
            );
        }
    }
}

const WIDGETS: &str = "20240101_1000_aa0001_create_widgets.sql";
const WIDGETS_SQL: &str = "-- Message: create widgets\n-- Created: 2024-01-01 10:00:00Z\n\n\
-- migrate:up\nCREATE TABLE widgets (id bigint PRIMARY KEY, name text NOT NULL);\n\n\
-- migrate:down\nDROP TABLE widgets;\n";
const LEAKY: &str = "20240101_1100_aa0002_index_widget_names.sql";
const LEAKY_SQL: &str = "-- Message: index widget names\n-- Revises: 20240101_1000_aa0001\n\
-- Created: 2024-01-01 11:00:00Z\n\n\
-- migrate:up\nCREATE INDEX widgets_name_idx ON widgets (name);\n\n\
-- migrate:down\nSELECT 1; -- forgets DROP INDEX widgets_name_idx\n";

/// A PostgreSQL-only package in a temp dir, holding `files`.
fn small_project(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("small");
    write_package(&root, files);
    (temp, root)
}

#[test]
fn test_command_round_trips_a_good_pair_and_names_a_leaked_index() {
    let url = database_url();
    let env = [("DATABASE_URL", url.as_str())];
    let (_temp, root) = small_project(&[(WIDGETS, WIDGETS_SQL)]);
    // Servers no migration targets are left alone, reachable or not (a
    // shell may point at production ones: `test` refused those, or failed).
    let nowhere = [
        ("DATABASE_URL", url.as_str()),
        ("NEO4J_URI", "bolt://127.0.0.1:1"),
        ("WEAVIATE_URL", "http://127.0.0.1:1"),
    ];
    let (code, out, err) = run_in(&root, &["dbmigrate", "test"], &nowhere);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok  20240101_1000_aa0001 create_widgets (postgres)"),
        "{out}"
    );
    assert!(
        err.contains("postgres: scratch database dbmigrate_test_")
            && !err.contains("testing on neo4j"),
        "{err}"
    );

    std::fs::write(root.join("migrations").join(LEAKY), LEAKY_SQL).unwrap();
    let (code, out, err) = run_in(&root, &["dbmigrate", "test"], &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.lines().any(|line| line.starts_with("ok ")
            && line.ends_with(" 20240101_1000_aa0001 create_widgets (postgres)"))
            && out.contains("not inverse  20240101_1100_aa0002 index_widget_names (postgres): index public.widgets_name_idx: left behind"),
        "{out}"
    );

    let (code, out, err) = run_in(&root, &["dbmigrate", "test", "--format", "json"], &env);
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false, "{out}");
    assert_eq!(report["migrations"][0]["verdict"], "ok", "{out}");
    assert_eq!(report["migrations"][1]["verdict"], "not-inverse", "{out}");
    assert_eq!(
        report["migrations"][1]["revision"], "20240101_1100_aa0002",
        "{out}"
    );
    assert!(
        report["migrations"][1]["summary"]
            .as_str()
            .unwrap()
            .contains("widgets_name_idx"),
        "{out}"
    );
}

const KILLER: &str = "20240101_1100_aa0002_end_other_sessions.sql";
const KILLER_SQL: &str = "-- Message: end other sessions\n-- Revises: 20240101_1000_aa0001\n\
-- Created: 2024-01-01 11:00:00Z\n\n\
-- migrate:up\nSELECT pg_terminate_backend(pid) FROM pg_stat_activity\n\
WHERE datname = current_database() AND pid <> pg_backend_pid();\n\n\
-- migrate:down\nSELECT 1;\n";
const LAST: &str = "20240101_1200_aa0003_widget_price.sql";
const LAST_SQL: &str = "-- Message: widget price\n-- Revises: 20240101_1100_aa0002\n\
-- Created: 2024-01-01 12:00:00Z\n\n\
-- migrate:up\nALTER TABLE widgets ADD COLUMN price numeric;\n\n\
-- migrate:down\nALTER TABLE widgets DROP COLUMN price;\n";

/// A run that stops on a database error (here the snapshot's session is
/// ended by a migration) still ends with the table: what was judged, and
/// `not run` for the rest, then the error. It printed "0 migration(s)".
#[test]
fn test_command_that_stops_on_a_database_error_keeps_the_table_of_what_it_judged() {
    let url = database_url();
    let env = [("DATABASE_URL", url.as_str())];
    let (_temp, root) = small_project(&[
        (WIDGETS, WIDGETS_SQL),
        (KILLER, KILLER_SQL),
        (LAST, LAST_SQL),
    ]);
    let (code, out, err) = run_in(&root, &["dbmigrate", "test", "--keep-going"], &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("20240101_1100_aa0002 end_other_sessions: schema snapshot failed on postgres"),
        "{out}"
    );
    // The migration that was running is named in the table, not `not run`.
    assert!(
        out.contains(
            "stopped  20240101_1100_aa0002 end_other_sessions (postgres): schema snapshot failed\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("round trip FAILED: 3 migration(s): 1 ok, 1 stopped, 1 not run"),
        "{out}"
    );
    let (code, out, err) = run_in(
        &root,
        &["dbmigrate", "test", "--keep-going", "--format", "json"],
        &env,
    );
    assert_eq!(code, 1, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let verdicts: Vec<&str> = report["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["ok", "stopped", "not-run"], "{out}");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("end_other_sessions"),
        "{out}"
    );
}

/// The passwords issue 13 names: one letter, a word that is everywhere in
/// our output, and one that needs percent-encoding.
const PASSWORDS: [(&str, &str); 3] = [
    ("a", "a"),
    ("postgres", "postgres"),
    ("p#w/x?y@z", "p%23w%2Fx%3Fy%40z"),
];

/// Every online command, as run in the secrets test.
const ONLINE_COMMANDS: [&[&str]; 11] = [
    &["status"],
    &["current"],
    &["check"],
    &["plan"],
    &["upgrade"],
    &["upgrade", "--dry-run"],
    &["downgrade", "base"],
    &["redo"],
    &["stamp", "head"],
    &["repair", "--forget"],
    &["test"],
];

/// Panics when `output` shows `password` in a credential position, or when
/// redaction replaced anything but a credential (so the password would show
/// by elimination).
fn assert_no_secret(output: &str, (raw, encoded): (&str, &str), context: &str) {
    for form in [raw, encoded] {
        for leak in [
            format!(":{form}@"),
            format!("password={form}"),
            format!("value={form}"),
        ] {
            assert!(
                !output.contains(&leak),
                "{context}: `{leak}` shown:\n{output}"
            );
        }
    }
    if raw.len() > 8 {
        assert!(
            !output.contains(raw) && !output.contains(encoded),
            "{context}: password shown:\n{output}"
        );
    }
    let stray = output
        .replace(":***@", "")
        .replace("=***", "")
        .replace("#***", "");
    assert!(
        !stray.contains("***"),
        "{context}: text replaced:\n{output}"
    );
}

/// Runs `command` in `root` as text and JSON with `RUST_LOG=trace`, checks
/// no secret shows, and returns the exit codes.
fn run_redacted(
    root: &Path,
    command: &[&str],
    env: &[(&str, &str)],
    password: (&str, &str),
) -> Vec<i32> {
    let mut codes = Vec::new();
    for format in ["text", "json"] {
        let mut args = vec!["dbmigrate"];
        args.extend_from_slice(command);
        args.extend(["--format", format]);
        let mut env = env.to_vec();
        env.push(("RUST_LOG", "trace"));
        let (code, out, err) = run_in(root, &args, &env);
        let context = format!("{args:?} with {env:?}");
        assert_no_secret(&out, password, &context);
        assert_no_secret(&err, password, &context);
        codes.push(code);
    }
    codes
}

#[tokio::test]
async fn no_secret_in_any_online_command_password_a() {
    no_secret_in_any_online_command(PASSWORDS[0]).await;
}

#[tokio::test]
async fn no_secret_in_any_online_command_password_postgres() {
    no_secret_in_any_online_command(PASSWORDS[1]).await;
}

#[tokio::test]
async fn no_secret_in_any_online_command_password_with_url_delimiters() {
    no_secret_in_any_online_command(PASSWORDS[2]).await;
}

/// Every online command, text and JSON, `RUST_LOG=trace`, succeeding and
/// failing, with `password` in each well-formed and mistyped place.
async fn no_secret_in_any_online_command(password: (&str, &str)) {
    source_neo4j_and_weaviate();
    let project = Project::edututor();
    let real = database_url();
    let (server, _) = real.rsplit_once('/').expect("DATABASE_URL has a database");
    let host = server.rsplit_once('@').map_or(server, |(_, host)| host);
    let host = host
        .trim_start_matches("postgres://")
        .trim_start_matches("postgresql://");
    let neo4j = std::env::var("NEO4J_URI").unwrap();
    let neo4j_host = neo4j.split_once("://").unwrap().1.to_string();
    let weaviate_host = std::env::var("WEAVIATE_URL")
        .unwrap()
        .split_once("://")
        .unwrap()
        .1
        .to_string();
    {
        let (raw, encoded) = password;
        // Succeeds: the password rides along in a query key sqlx ignores (and logs).
        let ok = format!("{}?sslpassword={encoded}", project.database.url());
        for command in ONLINE_COMMANDS {
            run_redacted(&project.root, command, &[("DATABASE_URL", &ok)], password);
        }
        let (code, out, _) = run_in(
            &project.root,
            &["dbmigrate", "status"],
            &[("DATABASE_URL", &ok)],
        );
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("postgres (postgres://"),
            "the word stays: {out}"
        );
        // Fails: a wrong password, in the user info and as a query key.
        let wrong_user_info = format!(
            "postgres://dbmigrate:{encoded}@{host}/{}",
            project.database.name()
        );
        let wrong_query = format!(
            "postgres://dbmigrate@{host}/{}?password={encoded}",
            project.database.name()
        );
        for (url, commands) in [
            (&wrong_user_info, &ONLINE_COMMANDS[..]),
            (&wrong_query, &ONLINE_COMMANDS[..5]),
        ] {
            for command in commands {
                let codes =
                    run_redacted(&project.root, command, &[("DATABASE_URL", url)], password);
                assert!(
                    codes.iter().all(|&c| c != 0),
                    "{command:?} {url}: {codes:?}"
                );
            }
        }
        // Mistyped: refused before any driver sees them, never echoed.
        let mistyped = [
            ("DATABASE_URL", format!("postgresql:/u:{raw}@{host}/db")),
            ("DATABASE_URL", format!("postgres//u:{raw}@{host}/db")),
            ("DATABASE_URL", format!("u:{raw}@{host}/db")),
            ("DATABASE_URL", format!("postgres://u:{raw}@{host}/db")),
            ("NEO4J_URI", format!("bolt:/neo4j:{raw}@{neo4j_host}")),
            ("WEAVIATE_URL", format!("http:/admin:{raw}@{weaviate_host}")),
        ];
        for (name, value) in &mistyped {
            for command in [&["status"][..], &["check"]] {
                run_redacted(&project.root, command, &[(name, value)], password);
            }
        }
        // Neo4j and Weaviate credentials that fail, read-only commands only
        // (the shared servers' default history must not be touched).
        let others = [
            vec![
                ("NEO4J_URI", neo4j.clone()),
                ("NEO4J_PASSWORD", raw.to_string()),
            ],
            vec![(
                "WEAVIATE_URL",
                format!("http://admin:{encoded}@{weaviate_host}"),
            )],
            vec![
                ("WEAVIATE_URL", format!("http://{weaviate_host}")),
                ("WEAVIATE_API_KEY", raw.to_string()),
            ],
        ];
        for env in &others {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            for command in [&["status"][..], &["current"], &["check"], &["plan"]] {
                run_redacted(&project.root, command, &env, password);
            }
        }
    }
}

/// Fails with a hint when the Neo4j and Weaviate servers are not configured.
fn source_neo4j_and_weaviate() {
    for name in ["NEO4J_URI", "NEO4J_PASSWORD", "WEAVIATE_URL"] {
        assert!(
            std::env::var(name).is_ok_and(|v| !v.is_empty()),
            "{name} is not set: this test needs the real servers (`source` the output of `cargo xtask services env`)"
        );
    }
}
