//! `cargo dbmigrate lint` as a process: the offline report of the PostgreSQL
//! fixture (insta), SARIF's required structure, and live sizes from a real
//! PostgreSQL scratch database holding a table of 1 M rows.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "lint/live_counts.rs"]
mod live_counts;
#[path = "pg_scratch/mod.rs"]
mod pg_scratch;

use pg_scratch::{write_package, ScratchDatabase};

struct Project {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

impl Project {
    /// A package whose migrations are the files of `tests/fixtures/lint/<case>` (workspace root).
    fn from_lint_fixture(case: &str) -> Project {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("app");
        write_package(&root, &[]);
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/lint")
            .join(case);
        for entry in std::fs::read_dir(fixture).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                root.join("migrations").join(entry.file_name()),
            )
            .unwrap();
        }
        Project { _temp: temp, root }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.root.join("migrations").join(name), text).unwrap();
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("DATABASE_URL")
            .env_remove("NEO4J_URI")
            .env_remove("WEAVIATE_URL")
            .output()
            .expect("run cargo-dbmigrate");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

#[test]
fn lint_prints_the_reviewed_report_and_exits_1_on_errors() {
    let project = Project::from_lint_fixture("postgres/violating");
    let (code, stdout, stderr) = project.run(&["lint"]);
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(stdout);
    let fixed = Project::from_lint_fixture("postgres/fixed");
    let (code, stdout, stderr) = fixed.run(&["lint"]);
    assert_eq!(
        (code, stdout.trim()),
        (
            0,
            "6 migration(s) linted: 0 error(s), 0 warning(s), 0 suppressed"
        ),
        "{stderr}"
    );
}

/// The SARIF 2.1.0 schema's required properties (sarif-schema-2.1.0.json:
/// `version`+`runs`; run: `tool`; tool: `driver`; driver: `name`; result:
/// `message` with `text`; region lines ≥ 1; level from its enum).
fn assert_sarif_structure(log: &serde_json::Value) {
    assert_eq!(log["version"], "2.1.0");
    let runs = log["runs"].as_array().expect("runs is an array");
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert!(driver["name"].is_string());
    let rules = driver["rules"].as_array().expect("rules");
    assert!(rules.iter().all(|rule| rule["id"].is_string()));
    let results = runs[0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        assert!(result["message"]["text"].is_string(), "{result}");
        assert!(["none", "note", "warning", "error"].contains(&result["level"].as_str().unwrap()));
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("migrations/"));
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(location["region"]["startColumn"].as_u64().unwrap() >= 1);
        if let Some(suppressions) = result.get("suppressions") {
            assert_eq!(suppressions[0]["kind"], "inSource");
        }
    }
}

/// Validates against the official SARIF 2.1.0 JSON schema (OASIS), vendored
/// in `tests/fixtures/lint/sarif-schema-2.1.0.json` (see the README there).
fn sarif_schema_errors(log: &serde_json::Value) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/lint/sarif-schema-2.1.0.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("the vendored schema"))
            .expect("the schema is JSON");
    // The `language` pattern of the published 2.1.0 schema (on `run` and
    // `toolComponent`) has a stray `]` that a strict ECMA-262 regex engine
    // refuses, so the validator would not compile the schema. It is replaced
    // in memory by what it evidently means (two letters, optionally `-` and
    // two more); dbmigrate writes no `language`, so nothing else is relaxed.
    let n_fixed = fix_language_pattern(&mut schema);
    assert_eq!(n_fixed, 2, "the vendored schema changed");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    validator
        .iter_errors(log)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

/// Replaces the schema's erratum pattern wherever it occurs; returns how often.
fn fix_language_pattern(value: &mut serde_json::Value) -> usize {
    const ERRATUM: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match value {
        serde_json::Value::String(text) if text == ERRATUM => {
            *text = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$".to_string();
            1
        }
        serde_json::Value::Array(items) => items.iter_mut().map(fix_language_pattern).sum(),
        serde_json::Value::Object(map) => map.values_mut().map(fix_language_pattern).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_output_has_the_required_structure() {
    let project = Project::from_lint_fixture("postgres/violating");
    let (_, stdout, stderr) = project.run(&["lint", "--format", "sarif"]);
    let log: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    assert_sarif_structure(&log);
    let errors = sarif_schema_errors(&log);
    assert!(errors.is_empty(), "not valid SARIF 2.1.0: {errors:#?}");
    // The schema check can fail: a result without its message is refused.
    let mut broken = log.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .expect("a result")
        .remove("message");
    let errors = sarif_schema_errors(&broken);
    assert!(
        errors.iter().any(|e| e.contains("message")),
        "the schema check accepts a result without message: {errors:#?}"
    );
    let (code, _, stderr) = project.run(&["history", "--format", "sarif"]);
    assert_eq!(code, 2, "sarif is for lint only: {stderr}");
}

const HEADER: &str = "-- Lock-Timeout: 5s\n-- Statement-Timeout: 60s\n";

#[test]
fn live_sizes_name_the_table_rows_and_lock_and_skip_applied_and_new_tables() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let database = ScratchDatabase::create("lint_live");
    let project = Project::from_lint_fixture("postgres/fixed");
    for entry in std::fs::read_dir(project.root.join("migrations")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    project.write(
        "20250201_1000_dd0001_users.sql",
        "-- Message: users\n-- Revises: base\n\n-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY, email text);\n\n-- migrate:down\nDROP TABLE users;\n",
    );
    project.write(
        "20250201_1100_dd0002_retype.sql",
        &format!("-- Message: retype\n-- Revises: 20250201_1000_dd0001\n{HEADER}\n-- migrate:up\nALTER TABLE users ALTER COLUMN id TYPE numeric;\n\n-- migrate:down\nSELECT 1;\n"),
    );
    project.write(
        "20250201_1200_dd0003_fresh.sql",
        &format!("-- Message: fresh\n-- Revises: 20250201_1100_dd0002\n{HEADER}\n-- migrate:up\nCREATE TABLE fresh (id int);\n\n-- migrate:down\nDROP TABLE fresh;\n"),
    );
    project.write(
        "20250201_1300_dd0004_retype_fresh.sql",
        &format!("-- Message: retype fresh\n-- Revises: 20250201_1200_dd0003\n{HEADER}\n-- migrate:up\nALTER TABLE fresh ALTER COLUMN id TYPE bigint;\n\n-- migrate:down\nSELECT 1;\n"),
    );
    let url = database.url();
    let (code, _, stderr) =
        project.run(&["upgrade", "20250201_1000_dd0001", "--database-url", url]);
    assert_eq!(code, 0, "{stderr}");
    runtime.block_on(async {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 1000000) AS g")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("ANALYZE users").execute(&pool).await.unwrap();
        pool.close().await;
    });
    let (code, stdout, stderr) = project.run(&["lint", "--database-url", url, "--format", "json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let linted: Vec<&str> = report["linted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert_eq!(
        linted,
        [
            "20250201_1100_dd0002",
            "20250201_1200_dd0003",
            "20250201_1300_dd0004"
        ],
        "the applied one is not linted"
    );
    let violations = report["violations"].as_array().unwrap();
    let retype = violations
        .iter()
        .find(|v| v["rule"] == "changing-column-type")
        .unwrap_or_else(|| panic!("{stdout}"));
    let why = retype["why"].as_str().unwrap();
    assert!(why.contains("rewrites `users` (1.0 M rows, "), "{why}");
    assert!(why.ends_with(" MB) under ACCESS EXCLUSIVE"), "{why}");
    assert!(
        violations
            .iter()
            .all(|v| !v["path"].as_str().unwrap().contains("dd0004")),
        "`fresh` was created earlier in the same run: {stdout}"
    );
}

/// `<cache>/peers`, found like `cargo xtask peers install` finds it.
fn squawk_binary() -> PathBuf {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let peers = var("DBMIGRATE_PEERS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            var("DBMIGRATE_CACHE")
                .map(PathBuf::from)
                .or_else(|| var("XDG_CACHE_HOME").map(|d| Path::new(&d).join("dbmigrate")))
                .unwrap_or_else(|| {
                    Path::new(&var("HOME").expect("HOME is set")).join(".cache/dbmigrate")
                })
                .join("peers")
        });
    let path = peers.join("squawk-venv/bin/squawk");
    assert!(
        path.is_file(),
        "squawk is not installed ({} is missing)\n  help: cargo xtask peers install squawk",
        path.display()
    );
    path
}

/// The file as the runner sends it, line for line: the header's timeouts as
/// `SET` statements on line 1, the rest of the header and the down section blank.
fn as_sent(text: &str) -> (String, bool) {
    let lines: Vec<&str> = text.lines().collect();
    let up = lines
        .iter()
        .position(|l| l.trim() == "-- migrate:up")
        .unwrap();
    let down = lines
        .iter()
        .position(|l| l.trim() == "-- migrate:down")
        .unwrap_or(lines.len());
    let header = |key: &str| {
        lines[..up]
            .iter()
            .find_map(|l| l.strip_prefix(key).map(str::trim))
    };
    let mut sets = String::new();
    if let Some(value) = header("-- Lock-Timeout:") {
        sets.push_str(&format!("SET lock_timeout = '{value}'; "));
    }
    if let Some(value) = header("-- Statement-Timeout:") {
        sets.push_str(&format!("SET statement_timeout = '{value}';"));
    }
    let transactional = header("-- Transaction:") != Some("none");
    let mut out: Vec<String> = vec![String::new(); lines.len()];
    out[0] = sets;
    for index in up + 1..down {
        out[index] = lines[index].to_string();
    }
    (out.join("\n") + "\n", transactional)
}

/// (file name, 1-based line, rule) of every violation the real squawk CLI reports.
fn squawk_reports(folder: &Path) -> Vec<(String, u64, String)> {
    let temp = tempfile::tempdir().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let (text, transactional) = as_sent(&std::fs::read_to_string(&path).unwrap());
        let sent = temp.path().join(&name);
        std::fs::write(&sent, text).unwrap();
        let mut command = Command::new(squawk_binary());
        command.args(["--reporter", "json"]).arg(&sent);
        if transactional {
            command.arg("--assume-in-transaction");
        }
        let output = command.output().expect("run squawk");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let reports: Vec<serde_json::Value> =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        for report in reports {
            let line = report["line"].as_u64().unwrap() + 1;
            found.push((
                name.clone(),
                line,
                report["rule_name"].as_str().unwrap().to_string(),
            ));
        }
    }
    found
}

#[test]
fn dbmigrate_reports_every_violation_the_squawk_cli_reports() {
    let mut compared = 0;
    for case in ["postgres/violating", "postgres/fixed"] {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/lint")
            .join(case);
        let project = Project::from_lint_fixture(case);
        let (_, stdout, stderr) = project.run(&["lint", "--format", "json"]);
        let report: serde_json::Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
        let ours: Vec<(String, u64, String)> = report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let path = v["path"].as_str().unwrap();
                let name = path.rsplit('/').next().unwrap().to_string();
                (
                    name,
                    v["line"].as_u64().unwrap(),
                    v["rule"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for (name, line, rule) in squawk_reports(&folder) {
            // dbmigrate's own rule replaces squawk's (it also sees a single statement).
            let same = |ours_rule: &str| {
                ours_rule == rule
                    || (rule == "ban-concurrent-index-creation-in-transaction"
                        && ours_rule == "concurrently-in-transaction")
            };
            assert!(
                ours.iter()
                    .any(|(n, l, r)| *n == name && *l == line && same(r)),
                "squawk reports {rule} at {name}:{line}; dbmigrate does not:\n{ours:#?}"
            );
            compared += 1;
        }
    }
    assert!(
        compared >= 5,
        "the fixtures must give squawk something to report ({compared})"
    );
}
