//! `cargo xtask package`: proves the three published crates stand alone.
//!
//! It packages `dbmigrate-core`, `dbmigrate-build` and `cargo-dbmigrate` in
//! one `cargo package` call (cargo puts the unpublished path dependencies in a
//! local overlay registry), unpacks the `.crate` files into a scratch folder,
//! and builds there a sample application whose dependency lines are the
//! README's "once published" block, word for word, with `[patch.crates-io]`
//! pointing at the unpacked crates; `cargo-dbmigrate` from its `.crate` is
//! built in the same scratch workspace and run. The README's "today" block
//! (path dependencies on a checkout) is resolved against this checkout.
//!
//! The scratch build shares the workspace's target folder and `Cargo.lock`,
//! so after `cargo build` it recompiles only the three crates and the sample.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context as _};

use crate::paths::{cargo, target_dir, workspace_root};

/// The published crates, in dependency order.
const CRATES: [&str; 3] = ["dbmigrate-core", "dbmigrate-build", "cargo-dbmigrate"];

/// The README's dependency blocks, each after a marker comment.
const PUBLISHED_MARKER: &str = "<!-- package-test: published -->";
const PATH_MARKER: &str = "<!-- package-test: path -->";

/// The sample's own lines: the drivers that hand the migrator a pool, a graph and a client.
const SAMPLE_DRIVERS: &str = r#"sqlx = { version = "0.8", default-features = false, features = ["runtime-tokio", "tls-rustls", "postgres", "macros", "chrono"] }
neo4rs = "=0.9.0-rc.11"
tokio = { version = "1", features = ["rt-multi-thread", "macros", "time", "sync"] }
"#;

const SAMPLE_BUILD_RS: &str = r#"fn main() { dbmigrate_build::embed("migrations").expect("migrations"); }
"#;

const SAMPLE_MAIN_RS: &str = r#"//! A sample application built only from the packaged crates.

static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::embedded!();

/// The README's boot snippet; compiled here, run against real servers by the demo.
#[allow(dead_code)]
async fn upgrade(
    pool: sqlx::PgPool,
    graph: neo4rs::Graph,
    client: dbmigrate_core::backend::weaviate::WeaviateClient,
) -> Result<(), Box<dyn std::error::Error>> {
    let report = dbmigrate_core::Migrator::new(&MIGRATIONS)
        .postgres(pool)
        .neo4j(graph)
        .weaviate(client)
        .upgrade(dbmigrate_core::Target::Head)
        .await?;
    let _ = report;
    Ok(())
}

fn main() {
    let history = MIGRATIONS.history().expect("the embedded history is valid");
    let ids: Vec<&str> = history.migrations().iter().map(|m| m.revision_id.as_str()).collect();
    println!("sample app: {} embedded migrations: {}", ids.len(), ids.join(" -> "));
}
"#;

/// The sample's migrations, one per backend.
const SAMPLE_MIGRATIONS: [(&str, &str); 3] = [
    (
        "20250101_1000_aa0001_notes.sql",
        "-- Message: notes\n\n-- migrate:up\nCREATE TABLE sample_notes (id bigint PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE sample_notes;\n",
    ),
    (
        "20250101_1100_bb0002_note_ids.cypher",
        "// Message: note ids\n// Revises: 20250101_1000_aa0001\n\n// migrate:up\nCREATE CONSTRAINT sample_note_id IF NOT EXISTS FOR (n:SampleNote) REQUIRE n.id IS UNIQUE;\n\n// migrate:down\nDROP CONSTRAINT sample_note_id IF EXISTS;\n",
    ),
    (
        "20250101_1200_cc0003_note_chunks.weaviate.json",
        r#"{
  "message": "note chunks",
  "revises": "20250101_1100_bb0002",
  "up": [{ "op": "create_collection", "class": { "class": "SampleNoteChunk", "properties": [{ "name": "text", "dataType": ["text"] }] } }],
  "down": [{ "op": "delete_collection", "collection": "SampleNoteChunk" }]
}
"#,
    ),
];

/// Runs `cargo xtask package`.
pub fn run() -> anyhow::Result<()> {
    let root = workspace_root();
    let readme =
        std::fs::read_to_string(root.join("README.md")).context("cannot read README.md")?;
    let published = toml_block_after(&readme, PUBLISHED_MARKER)?;
    let path_lines = toml_block_after(&readme, PATH_MARKER)?;

    let scratch = target_dir().join("package-test");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    let crate_files = package(&root)?;
    let crates_dir = scratch.join("crates");
    for file in &crate_files {
        unpack(file, &crates_dir)?;
    }
    write_sample_workspace(&scratch, &root, &published)?;
    cargo_in(&scratch, &["build", "--workspace"])?;
    run_built(&scratch)?;
    check_path_lines(&scratch, &root, &path_lines)?;
    eprintln!(
        "package: the three .crate files build a sample app from {}",
        scratch.display()
    );
    Ok(())
}

/// The body of the first ```toml block after `marker` in the README.
fn toml_block_after(readme: &str, marker: &str) -> anyhow::Result<String> {
    let after = readme
        .split_once(marker)
        .with_context(|| format!("README.md has no `{marker}` line"))?
        .1;
    let body = after
        .trim_start()
        .strip_prefix("```toml\n")
        .with_context(|| format!("README.md: no ```toml block right after `{marker}`"))?;
    let (block, _) = body
        .split_once("```")
        .with_context(|| format!("README.md: the block after `{marker}` never closes"))?;
    Ok(block.to_string())
}

/// `cargo package` of the three crates in one call; returns the `.crate` files.
fn package(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let package_dir = target_dir().join("package");
    let mut args = vec!["package", "--no-verify", "--allow-dirty"];
    for name in CRATES {
        args.extend(["-p", name]);
        remove_old_crate_files(&package_dir, name)?;
    }
    cargo_in(root, &args)?;
    CRATES
        .iter()
        .map(|name| crate_file(&package_dir, name))
        .collect()
}

/// Removes earlier `<name>-<version>.crate` files, so the one left is this run's.
fn remove_old_crate_files(package_dir: &Path, name: &str) -> anyhow::Result<()> {
    for file in crate_files_of(package_dir, name) {
        std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
    }
    Ok(())
}

fn crate_file(package_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    match crate_files_of(package_dir, name).as_slice() {
        [file] => Ok(file.clone()),
        files => bail!(
            "expected one {name}-<version>.crate in {}, found {}",
            package_dir.display(),
            files.len()
        ),
    }
}

/// `<name>-<version>.crate` files (the version starts with a digit, so
/// `dbmigrate-core-…` never matches `dbmigrate-`).
fn crate_files_of(package_dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!("{name}-");
    let Ok(entries) = std::fs::read_dir(package_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            file_name.ends_with(".crate")
                && file_name
                    .strip_prefix(&prefix)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect()
}

/// Unpacks a `.crate` (a gzipped tar of `<name>-<version>/…`) into `dir`.
fn unpack(crate_file: &Path, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(crate_file)
        .arg("-C")
        .arg(dir)
        .status()
        .context("failed to run tar")?;
    if !status.success() {
        bail!("tar could not unpack {} ({status})", crate_file.display());
    }
    Ok(())
}

/// The scratch workspace: the sample app, the unpacked `cargo-dbmigrate`, and
/// `[patch.crates-io]` for the two library crates.
fn write_sample_workspace(scratch: &Path, root: &Path, published: &str) -> anyhow::Result<()> {
    let core = unpacked_dir(scratch, "dbmigrate-core")?;
    let build = unpacked_dir(scratch, "dbmigrate-build")?;
    let cli = unpacked_dir(scratch, "cargo-dbmigrate")?;
    let manifest = format!(
        "[workspace]\nmembers = [\"app\", \"crates/{cli}\"]\nresolver = \"2\"\n\n\
         [patch.crates-io]\ndbmigrate-core = {{ path = \"crates/{core}\" }}\n\
         dbmigrate-build = {{ path = \"crates/{build}\" }}\n\n{profiles}",
        profiles = profile_tables(&read(&root.join("Cargo.toml"))?),
    );
    write(&scratch.join("Cargo.toml"), &manifest)?;
    copy(&root.join("Cargo.lock"), &scratch.join("Cargo.lock"))?;

    let app = scratch.join("app");
    let app_manifest = format!(
        "{}\n# The README's \"once published\" block, word for word:\n{published}\n\
         # The sample's own drivers (a target table, to leave the block above untouched):\n\
         [target.'cfg(all())'.dependencies]\n{SAMPLE_DRIVERS}",
        package_header("sample-app"),
    );
    write(&app.join("Cargo.toml"), &app_manifest)?;
    write(&app.join("build.rs"), SAMPLE_BUILD_RS)?;
    write(&app.join("src/main.rs"), SAMPLE_MAIN_RS)?;
    for (name, text) in SAMPLE_MIGRATIONS {
        write(&app.join("migrations").join(name), text)?;
    }
    Ok(())
}

/// The folder name (`<name>-<version>`) a `.crate` unpacked into.
fn unpacked_dir(scratch: &Path, name: &str) -> anyhow::Result<String> {
    let crates = scratch.join("crates");
    let dirs: Vec<String> = std::fs::read_dir(&crates)
        .with_context(|| format!("cannot read {}", crates.display()))?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|dir| {
            dir.strip_prefix(&format!("{name}-"))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    match dirs.as_slice() {
        [dir] => Ok(dir.clone()),
        _ => bail!("expected one unpacked {name} in {}", crates.display()),
    }
}

/// The `[profile.*]` tables of the workspace manifest, so the scratch build
/// compiles dependencies exactly as the workspace did and reuses them.
fn profile_tables(manifest: &str) -> String {
    let mut out = String::new();
    let mut in_profile = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            in_profile = line.starts_with("[profile.");
        }
        if in_profile {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn package_header(name: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n"
    )
}

/// Runs the sample app and the packaged `cargo dbmigrate` in the sample.
fn run_built(scratch: &Path) -> anyhow::Result<()> {
    let bin = |name: &str| {
        target_dir()
            .join("debug")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };
    let app = scratch.join("app");
    let out = output(Command::new(bin("sample-app")).current_dir(&app))?;
    expect(&out, "3 embedded migrations", "sample-app")?;
    let cli = bin("cargo-dbmigrate");
    let out = output(Command::new(&cli).args(["dbmigrate", "--version"]))?;
    expect(&out, env!("CARGO_PKG_VERSION"), "cargo dbmigrate --version")?;
    let out = output(
        Command::new(&cli)
            .args(["dbmigrate", "history"])
            .current_dir(&app),
    )?;
    expect(&out, "20250101_1200_cc0003", "cargo dbmigrate history")?;
    // `new` renders the templates packaged inside cargo-dbmigrate.
    output(
        Command::new(&cli)
            .args(["dbmigrate", "new", "--target", "neo4j", "packaged template"])
            .current_dir(&app),
    )?;
    let rendered = std::fs::read_dir(app.join("migrations"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.to_string_lossy()
                .ends_with("_packaged_template.cypher")
        })
        .context("cargo dbmigrate new wrote no _packaged_template.cypher")?;
    expect(&read(&rendered)?, "// migrate:up", "the rendered template")
}

/// Resolves the README's path block against this checkout, placed at `../dbmigrate`.
fn check_path_lines(scratch: &Path, root: &Path, path_lines: &str) -> anyhow::Result<()> {
    let dir = scratch.join("path-check");
    std::fs::create_dir_all(&dir)?;
    std::os::unix::fs::symlink(root, dir.join("dbmigrate"))
        .context("cannot link the checkout into the scratch folder")?;
    let app = dir.join("app");
    let manifest = format!(
        "{}\n[workspace]\n\n# The README's \"today\" block, word for word:\n{path_lines}",
        package_header("path-check-app"),
    );
    write(&app.join("Cargo.toml"), &manifest)?;
    write(&app.join("src/main.rs"), "fn main() {}\n")?;
    copy(&root.join("Cargo.lock"), &app.join("Cargo.lock"))?;
    let metadata = output(
        Command::new(cargo())
            .args(["metadata", "--format-version", "1"])
            .current_dir(&app),
    )?;
    for name in ["\"dbmigrate-core\"", "\"dbmigrate-build\""] {
        expect(&metadata, name, "cargo metadata of the README's path block")?;
    }
    Ok(())
}

/// Runs `cargo <args>` in `dir` with the workspace's target folder.
fn cargo_in(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(cargo())
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .with_context(|| format!("failed to run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!(
            "`cargo {}` in {} exited with {status}",
            args.join(" "),
            dir.display()
        );
    }
    Ok(())
}

/// Runs a command; its stdout, or an error with its stderr.
fn output(command: &mut Command) -> anyhow::Result<String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .with_context(|| format!("failed to run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} exited with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn expect(text: &str, needle: &str, what: &str) -> anyhow::Result<()> {
    if !text.contains(needle) {
        bail!("{what}: expected `{needle}` in:\n{text}");
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}
