//! Build-script helper: scans a migrations folder with `dbmigrate`'s one
//! parser, validates the revision graph, and writes the Rust that
//! [`dbmigrate_core::embedded!`] includes, with checksums computed at build time.
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     dbmigrate_build::embed("migrations").expect("migrations");
//! }
//! ```
//!
//! It prints `cargo:rerun-if-changed` for the folder and every file in it, so
//! adding, editing or deleting a migration rebuilds the application with no
//! source edit. A malformed file or a broken history (duplicate revision,
//! missing parent, two heads, …) fails the build with `path:line: message`.
//!
//! It also runs the zero-downtime lint (`dbmigrate_core::lint`, offline) and
//! prints each violation as a `cargo:warning`; errors fail the build only
//! with `[package.metadata.dbmigrate] lint = "deny"`.
#![warn(missing_docs)]
// The example is a whole build.rs, `fn main` included.
#![allow(clippy::needless_doctest_main)]

mod error;
mod generate;
mod lint;

use std::path::{Path, PathBuf};

pub use error::EmbedError;

/// The file [`dbmigrate_core::embedded!`] includes from `OUT_DIR`.
pub const DEFAULT_OUTPUT_FILE: &str = "dbmigrate_migrations.rs";

/// What to embed and where to write it; [`embed`] uses the defaults.
#[derive(Debug, Clone)]
pub struct Options {
    /// The migrations folder, relative to `CARGO_MANIFEST_DIR` (or absolute).
    pub dir: PathBuf,
    /// The generated file's name inside `OUT_DIR`.
    pub output_file: String,
    /// Print `cargo:` instructions (`rerun-if-changed`, `warning`) on stdout.
    pub print_cargo_instructions: bool,
}

impl Options {
    /// Options for `dir` with the default output file name.
    pub fn new(dir: impl AsRef<Path>) -> Options {
        Options {
            dir: dir.as_ref().to_path_buf(),
            output_file: DEFAULT_OUTPUT_FILE.to_string(),
            print_cargo_instructions: true,
        }
    }

    /// Writes the generated code to `name` inside `OUT_DIR` instead.
    pub fn output_file(mut self, name: impl Into<String>) -> Options {
        self.output_file = name.into();
        self
    }
}

/// Embeds the migrations in `dir` (relative to `CARGO_MANIFEST_DIR`): call it
/// from `build.rs`, then `static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::embedded!();`.
pub fn embed(dir: impl AsRef<Path>) -> Result<(), EmbedError> {
    embed_with(&Options::new(dir))
}

/// [`embed`] with explicit [`Options`].
pub fn embed_with(options: &Options) -> Result<(), EmbedError> {
    let manifest_dir = env_dir("CARGO_MANIFEST_DIR")?;
    let out_dir = env_dir("OUT_DIR")?;
    let result = generate::generate(&manifest_dir, &options.dir);
    if options.print_cargo_instructions {
        print_instructions(&manifest_dir, &options.dir, &result);
    }
    let code = result.code?;
    lint_migrations(&manifest_dir, options)?;
    generate::write_if_changed(&out_dir.join(&options.output_file), &code)
}

/// The zero-downtime lint: `cargo:warning` lines, and an error with `lint = "deny"`.
fn lint_migrations(manifest_dir: &Path, options: &Options) -> Result<(), EmbedError> {
    let settings = lint::Settings::read(manifest_dir)?;
    let history = generate::load(manifest_dir, &options.dir)?;
    let report = lint::lint_history(&history, &settings);
    if options.print_cargo_instructions {
        for line in lint::warning_lines(&report) {
            println!("cargo:warning={line}");
        }
    }
    match lint::deny_error(&report) {
        Some(error) if settings.deny() => Err(error),
        _ => Ok(()),
    }
}

fn env_dir(name: &'static str) -> Result<PathBuf, EmbedError> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or(EmbedError::MissingEnv { name })
}

fn print_instructions(manifest_dir: &Path, dir: &Path, result: &generate::Generated) {
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join(dir).display()
    );
    // `[package.metadata.dbmigrate]` (`lint`, the timeouts) is read from the manifest.
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("Cargo.toml").display()
    );
    for file in &result.watched {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    if let Err(error) = &result.code {
        for line in error.to_string().lines() {
            println!("cargo:warning={line}");
        }
    }
}
