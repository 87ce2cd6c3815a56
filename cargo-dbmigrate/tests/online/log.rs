//! `log` (issue 16.2): every migration with its state in its database,
//! against the real PostgreSQL server.

use super::pg_scratch::ScratchDatabase;
use super::{run_in, small_project};

const M1: &str = "20240101_1000_bb0001_create_a.sql";
const M1_SQL: &str = "-- Message: create a\n-- Revises: base\n\n-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n";
const M2: &str = "20240101_1100_bb0002_create_b.sql";
const M2_SQL: &str = "-- Message: create b\n-- Revises: 20240101_1000_bb0001\n\n-- migrate:up\nCREATE TABLE b (id int);\n\n-- migrate:down\nDROP TABLE b;\n";
const M3: &str = "20240101_1200_bb0003_half_done.sql";
const M3_SQL: &str = "-- Message: half done\n-- Revises: 20240101_1100_bb0002\n-- Transaction: none\n\n-- migrate:up\nCREATE TABLE c (id int);\nSELECT 1/0;\n\n-- migrate:down\nDROP TABLE IF EXISTS c;\n";

#[tokio::test]
async fn log_shows_applied_pending_edited_and_dirty() {
    let (_temp, root) = small_project(&[(M1, M1_SQL), (M2, M2_SQL), (M3, M3_SQL)]);
    let database = ScratchDatabase::create("log");
    let env = [("DATABASE_URL", database.url())];
    let log = |args: &[&str]| {
        let mut all = vec!["dbmigrate", "log"];
        all.extend_from_slice(args);
        run_in(&root, &all, &env)
    };

    let (code, out, err) = run_in(&root, &["dbmigrate", "upgrade", "+2"], &env);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = log(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("20240101_1000_bb0001") && lines[0].contains(" applied "),
        "{out}"
    );
    assert!(
        lines[1].contains(" applied ") && lines[1].contains("create b (current)"),
        "{out}"
    );
    assert!(
        lines[1].contains("[by cargo-dbmigrate (dbmigrate "),
        "{out}"
    );
    assert!(
        lines[2].starts_with("20240101_1200_bb0003") && lines[2].contains(" pending "),
        "{out}"
    );
    assert!(
        out.contains("3 migration(s): 2 applied, 1 pending"),
        "{out}"
    );

    let (code, out, err) = log(&["--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let document: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = &document["migrations"][0];
    assert_eq!(first["revision_id"], "20240101_1000_bb0001", "{out}");
    assert_eq!(first["revises"], serde_json::Value::Null, "{out}");
    assert_eq!(first["backend"], "postgres", "{out}");
    assert_eq!(first["state"], "applied", "{out}");
    assert!(
        first["applied_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{out}"
    );
    assert!(first["duration_ms"].is_u64(), "{out}");
    assert_eq!(document["migrations"][1]["current"], true, "{out}");
    assert_eq!(document["migrations"][2]["state"], "pending", "{out}");
    assert_eq!(
        document["migrations"][2]["applied_at"],
        serde_json::Value::Null,
        "{out}"
    );

    // Edited since applied: exit 4, the line says so.
    let path = root.join("migrations").join(M1);
    std::fs::write(&path, M1_SQL.replace("(id int)", "(id bigint)")).unwrap();
    let (code, out, err) = log(&[]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.lines().next().unwrap().contains(" EDITED "), "{out}");
    std::fs::write(&path, M1_SQL).unwrap();

    // A `Transaction: none` step that failed half-way: dirty up.
    let (code, out, err) = run_in(&root, &["dbmigrate", "upgrade"], &env);
    assert_eq!(code, 1, "{out}{err}");
    let (code, out, err) = log(&["--format", "json"]);
    assert_eq!(code, 4, "{out}{err}");
    let document: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(document["migrations"][2]["state"], "dirty", "{out}");
    assert_eq!(document["migrations"][2]["dirty_direction"], "up", "{out}");
    let (_, out, _) = log(&[]);
    assert!(out.lines().nth(2).unwrap().contains("DIRTY up"), "{out}");
}
