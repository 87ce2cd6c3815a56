//! A failing step's cause is printed once: the error's message carries it
//! before its `help:` line, and nothing repeats it after (issue 10.5). Runs
//! `cargo dbmigrate upgrade` as a process against the real PostgreSQL of
//! `DATABASE_URL`, in a scratch database that a guard drops, also on panic.

use std::path::Path;
use std::process::Command;

#[path = "pg_scratch/mod.rs"]
mod pg_scratch;

use pg_scratch::{write_package, ScratchDatabase};

fn write_project(root: &Path) {
    write_package(
        root,
        &[
            (
                "20240101_0000_aaaaaa_first.sql",
                "-- Message: first\n-- migrate:up\nCREATE TABLE t (id int);\n\
                 -- migrate:down\nDROP TABLE t;\n",
            ),
            (
                "20240102_0000_bbbbbb_broken.sql",
                "-- Message: broken\n-- Revises: 20240101_0000_aaaaaa\n-- migrate:up\n\
                 SELECT 1;\nSELECT * FROM missing_table_for_error_chain;\n\
                 -- migrate:down\nSELECT 1;\n",
            ),
        ],
    );
}

#[test]
fn a_failing_step_prints_its_cause_once() {
    let database = ScratchDatabase::create("errchain");
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("app");
    write_project(&root);
    for format in ["text", "json"] {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"))
            .args(["dbmigrate", "upgrade", "--format", format])
            .current_dir(&root)
            .env_remove("NEO4J_URI")
            .env_remove("WEAVIATE_URL")
            .env("DATABASE_URL", database.url())
            .output()
            .expect("run cargo-dbmigrate");
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_ne!(output.status.code(), Some(0), "{shown}");
        assert_eq!(
            shown.matches("does not exist (SQLSTATE 42P01)").count(),
            1,
            "the cause must appear exactly once ({format}):\n{shown}"
        );
        assert!(
            shown.contains("20240102_0000_bbbbbb_broken.sql:5"),
            "the cause names the file and line ({format}):\n{shown}"
        );
    }
}
