//! The big-file case: one migration of about `mb` megabytes (a schema dump
//! with a large seed), applied by `cargo dbmigrate upgrade` and planned by
//! `cargo dbmigrate plan`, against `psql -1 -f` of the same statements.
//! Bar: upgrade within 1.5× psql (splitting and numbering are linear).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The ratio upgrade / `psql -1 -f` must stay under for the big file.
pub const TARGET_RATIO: f64 = 1.5;

/// Writes the project (one migration) and the plain script; returns the script.
pub fn write_project(dir: &Path, mb: usize) -> anyhow::Result<PathBuf> {
    super::write_package(dir)?;
    let mut up = String::new();
    let mut table = 0;
    while up.len() < mb * 1_000_000 {
        writeln!(
            up,
            "CREATE TABLE seed_{table} (\n    id bigint PRIMARY KEY,\n    name text NOT NULL,\n    note text\n);"
        )?;
        up.push_str(&format!(
            "INSERT INTO seed_{table} (id, name, note) VALUES\n"
        ));
        for row in 0..500 {
            let end = if row == 499 { ";\n" } else { ",\n" };
            write!(
                up,
                "    ({row}, 'name {row}; with a semicolon', E'it''s row {row}'){end}"
            )?;
        }
        table += 1;
    }
    let text = format!("-- Message: big seed\n-- Revises: base\n\n-- migrate:up\n{up}\n-- migrate:down\nSELECT 1;\n");
    std::fs::write(
        dir.join("migrations/20240101_1200_b19b19_big_seed.sql"),
        text,
    )?;
    let script = dir.join("big.sql");
    std::fs::write(&script, up)?;
    Ok(script)
}
