//! Recovery that guides (issue 16.6, 13.7): a dirty record shown as dirty,
//! the committed statements named by line, `repair` advised after a fixed
//! file, `--accept-checksum` for a clean edited one, and a lost connection
//! said as such; against the real PostgreSQL server.

use super::pg_scratch::ScratchDatabase;
use super::{run_in, small_project};

const M1: &str = "20240101_1000_cc0001_create_a.sql";
const M1_SQL: &str = "-- Message: create a\n-- Revises: base\n\n-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n";
const M2: &str = "20240101_1100_cc0002_half_done.sql";
const M2_ID: &str = "20240101_1100_cc0002";
const M2_SQL: &str = "-- Message: half done\n-- Revises: 20240101_1000_cc0001\n-- Transaction: none\n\n-- migrate:up\n\
CREATE TABLE c (id int);\nCREATE TABLE d (id int);\nSELECT 1/0;\nCREATE TABLE e (id int);\n\n\
-- migrate:down\nDROP TABLE IF EXISTS e;\nDROP TABLE IF EXISTS d;\nDROP TABLE IF EXISTS c;\n";

#[tokio::test]
async fn a_dirty_step_is_shown_explained_and_repaired() {
    let (_temp, root) = small_project(&[(M1, M1_SQL), (M2, M2_SQL)]);
    let database = ScratchDatabase::create("recovery");
    let env = [("DATABASE_URL", database.url())];
    let run = |args: &[&str]| {
        let mut all = vec!["dbmigrate"];
        all.extend_from_slice(args);
        run_in(&root, &all, &env)
    };

    let (code, out, err) = run(&["upgrade"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("its statements at line(s) 6, 7 committed (each on its own); the statement at line 8 failed; none after it ran"),
        "{err}"
    );

    let (code, out, err) = run(&["status"]);
    assert_eq!(code, 4, "{out}{err}");
    let dirty_at = format!("dirty at {M2_ID} (up)");
    assert!(out.contains(&format!("position  {dirty_at}")), "{out}");
    assert!(
        out.contains(&format!("timeline: current {dirty_at}")),
        "{out}"
    );
    let (_, out, _) = run(&["current"]);
    assert_eq!(out.trim(), format!("postgres: {dirty_at}"), "{out}");

    // The user fixes the file: the advice is `repair`, not "restore from git".
    let path = root.join("migrations").join(M2);
    std::fs::write(&path, M2_SQL.replace("SELECT 1/0;\n", "")).unwrap();
    let (code, out, err) = run(&["upgrade"]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        err.contains(&format!("repair {M2_ID} --applied")) && err.contains("--forget"),
        "{err}"
    );
    assert!(!err.contains("restore the file"), "{err}");
    let (code, out, err) = run(&["repair", M2_ID, "--applied"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&["status"]);
    assert_eq!(code, 0, "{out}{err}");

    // A clean, applied migration edited afterwards: `--applied` refuses and
    // names `--accept-checksum`, which prints both checksums.
    let path = root.join("migrations").join(M1);
    std::fs::write(
        &path,
        M1_SQL.replace(
            "-- Message: create a\n",
            "-- Message: create a\n-- a comment\n",
        ),
    )
    .unwrap();
    let (code, out, err) = run(&["repair", "cc0001", "--applied"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains("repair 20240101_1000_cc0001 --accept-checksum"),
        "{err}"
    );
    let (code, out, err) = run(&["repair", "cc0001", "--accept-checksum"]);
    assert_eq!(code, 0, "{out}{err}");
    let (old, new) = out
        .split_once("checksum ")
        .and_then(|(_, rest)| rest.trim().split_once(" → "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(old.len() == 64 && new.len() == 64 && old != new, "{out}");
    let (code, out, err) = run(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(&["repair", "cc0001", "--accept-checksum"]);
    assert_ne!(code, 0, "nothing left to accept: {out}{err}");
}

#[tokio::test]
async fn a_connection_lost_in_a_single_transaction_step_says_so() {
    let killer = "-- Message: killed\n-- Revises: base\n\n-- migrate:up\nCREATE TABLE k (id int);\n\
                  SELECT pg_terminate_backend(pg_backend_pid());\n\n-- migrate:down\nDROP TABLE k;\n";
    let (_temp, root) = small_project(&[("20240101_1000_cd0001_killed.sql", killer)]);
    let database = ScratchDatabase::create("lost");
    let (code, out, err) = run_in(
        &root,
        &["dbmigrate", "upgrade"],
        &[("DATABASE_URL", database.url())],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("the server ended the connection while `20240101_1000_cd0001` ran"),
        "{err}"
    );
    assert!(err.contains("nothing of it was applied"), "{err}");
    assert!(!err.contains("fix "), "not a fault of the file: {err}");
}

const M3: &str = "20240101_1000_cc0003_fails_whole.sql";
const M3_SQL: &str = "-- Message: fails whole\n-- Revises: base\n\n-- migrate:up\nCREATE TABLE f (id int);\n\nSELECT 1/0;\n\n-- migrate:down\nDROP TABLE f;\n";

#[tokio::test]
async fn a_failed_step_in_json_names_its_file_and_the_statement_line() {
    for (files, file, line, n_applied) in [
        (vec![(M1, M1_SQL), (M2, M2_SQL)], M2, 8, 1),
        (vec![(M3, M3_SQL)], M3, 7, 0),
    ] {
        let (_temp, root) = small_project(&files);
        let database = ScratchDatabase::create("failjson");
        let env = [("DATABASE_URL", database.url())];
        let (code, out, err) = run_in(&root, &["dbmigrate", "upgrade", "--format", "json"], &env);
        assert_eq!(code, 1, "{out}{err}");
        let document: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
        let error = &document["error"];
        assert_eq!(error["kind"], "failed", "{document}");
        assert_eq!(error["file"], format!("migrations/{file}"), "{document}");
        assert_eq!(error["line"], line, "{document}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("division by zero")),
            "{document}"
        );
        // What ran before the failure, in the same (one) document.
        assert_eq!(
            document["report"]["applied"].as_array().map(Vec::len),
            Some(n_applied),
            "{document}"
        );
    }
}
