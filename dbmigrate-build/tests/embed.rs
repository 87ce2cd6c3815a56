//! Builds a small crate that embeds its migrations, and shows that adding a
//! file rebuilds it with no source edit and that two heads fail the build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MAIN_RS: &str = r#"static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::embedded!();

fn main() {
    let history = MIGRATIONS.history().expect("embedded history");
    for migration in history.migrations() {
        println!("{} {}", migration.revision_id, migration.message);
    }
}
"#;

const BUILD_RS: &str = r#"fn main() {
    dbmigrate_build::embed("migrations").expect("migrations");
}
"#;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn write_probe_crate(dir: &Path) {
    let root = workspace_root();
    let manifest = format!(
        "[package]\nname = \"embed_probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n\
         [dependencies]\ndbmigrate-core = {{ path = {:?} }}\n\n\
         [build-dependencies]\ndbmigrate-build = {{ path = {:?} }}\n",
        root.display().to_string(),
        root.join("dbmigrate-build").display().to_string(),
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // The workspace's lock file pins the same versions, so nothing new is resolved or downloaded.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("build.rs"), BUILD_RS).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN_RS).unwrap();
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
}

fn write_migration(dir: &Path, revision_id: &str, slug: &str, parent: Option<&str>) {
    let revises = parent.unwrap_or("base");
    let text = format!(
        "-- Message: {slug} table\n-- Revises: {revises}\n\n-- migrate:up\nCREATE TABLE {slug} (id int);\n\n-- migrate:down\nDROP TABLE {slug};\n"
    );
    std::fs::write(
        dir.join("migrations")
            .join(format!("{revision_id}_{slug}.sql")),
        text,
    )
    .unwrap();
}

fn target_dir() -> PathBuf {
    workspace_root().join("target").join("dbmigrate-build-it")
}

fn cargo_build(dir: &Path) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    Command::new(cargo)
        .args(["build", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("run cargo build")
}

fn build_and_run(dir: &Path) -> String {
    let build = cargo_build(dir);
    assert!(
        build.status.success(),
        "build failed:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let binary = target_dir()
        .join("debug")
        .join(format!("embed_probe{}", std::env::consts::EXE_SUFFIX));
    let run = Command::new(binary).output().expect("run embed_probe");
    assert!(
        run.status.success(),
        "embed_probe failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).unwrap()
}

fn migration_path(dir: &Path, revision_id: &str, slug: &str) -> PathBuf {
    dir.join("migrations")
        .join(format!("{revision_id}_{slug}.sql"))
}

#[test]
fn adding_editing_and_deleting_a_file_rebuilds_and_two_heads_fail_the_build() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    write_probe_crate(dir);
    write_migration(dir, "20241201_1000_aaaaaa", "first", None);
    assert_eq!(build_and_run(dir), "20241201_1000_aaaaaa first table\n");

    write_migration(
        dir,
        "20241201_1100_bbbbbb",
        "second",
        Some("20241201_1000_aaaaaa"),
    );
    let both = "20241201_1000_aaaaaa first table\n20241201_1100_bbbbbb second table\n";
    assert_eq!(build_and_run(dir), both);

    let second = migration_path(dir, "20241201_1100_bbbbbb", "second");
    let text = std::fs::read_to_string(&second).unwrap();
    std::fs::write(
        &second,
        text.replace("-- Message: second table", "-- Message: edited"),
    )
    .unwrap();
    assert_eq!(build_and_run(dir), both.replace("second table", "edited"));

    write_migration(
        dir,
        "20241201_1200_cccccc",
        "third",
        Some("20241201_1000_aaaaaa"),
    );
    let build = cargo_build(dir);
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(!build.status.success(), "two heads must fail the build");
    assert!(
        stderr.contains("migrations/20241201_1100_bbbbbb_second.sql"),
        "first head not named:\n{stderr}"
    );
    assert!(
        stderr.contains("migrations/20241201_1200_cccccc_third.sql"),
        "second head not named:\n{stderr}"
    );
    assert!(
        stderr.contains("cargo dbmigrate rebase"),
        "fix not named:\n{stderr}"
    );

    std::fs::remove_file(migration_path(dir, "20241201_1200_cccccc", "third")).unwrap();
    assert_eq!(build_and_run(dir), both.replace("second table", "edited"));
}

/// `cargo build` showing build-script warnings (no `--quiet`).
fn cargo_build_verbose(dir: &Path) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    Command::new(cargo)
        .args(["build", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("run cargo build")
}

#[test]
fn a_lint_violation_is_a_cargo_warning_and_fails_the_build_only_with_deny() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    write_probe_crate(dir);
    // Its own name, so its binary never replaces the other test's `embed_probe`.
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("embed_probe", "lint_probe")).unwrap();
    write_migration(dir, "20241201_1000_aaaaaa", "first", None);
    std::fs::write(
        dir.join("migrations/20241201_1100_bbbbbb_retype.sql"),
        "-- Message: retype\n-- Revises: 20241201_1000_aaaaaa\n-- Lock-Timeout: 5s\n\n-- migrate:up\nALTER TABLE first ALTER COLUMN id TYPE bigint;\n\n-- migrate:down\nSELECT 1;\n",
    )
    .unwrap();
    let build = cargo_build_verbose(dir);
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(build.status.success(), "warn must not fail:\n{stderr}");
    assert!(
        stderr.contains("migrations/20241201_1100_bbbbbb_retype.sql:6:")
            && stderr.contains("error[changing-column-type]"),
        "no cargo:warning for the violation:\n{stderr}"
    );

    let text = std::fs::read_to_string(&manifest).unwrap();
    let denied = text.replace(
        "[workspace]\n",
        "[package.metadata.dbmigrate]\nlint = \"deny\"\n\n[workspace]\n",
    );
    std::fs::write(&manifest, denied).unwrap();
    let build = cargo_build_verbose(dir);
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(
        !build.status.success(),
        "deny must fail the build:\n{stderr}"
    );
    assert!(stderr.contains("changing-column-type"), "{stderr}");
}
