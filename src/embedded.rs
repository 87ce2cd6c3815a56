//! Migrations embedded in the binary by `dbmigrate-build`, parsed once on
//! first use with the same parser the build helper ran.

use std::sync::OnceLock;

use crate::error::Error;
use crate::graph::History;
use crate::parse::parse_migration;

/// One migration file as `dbmigrate-build` embedded it.
#[derive(Debug)]
pub struct EmbeddedFile {
    /// File name, e.g. `20241201_1200_abc123_add_guardian_consent.sql`.
    pub file_name: &'static str,
    /// Path relative to the crate root, for messages.
    pub path: &'static str,
    /// The file's text as it was at build time.
    pub contents: &'static str,
    /// The checksum computed at build time (64 hex digits).
    pub checksum: &'static str,
}

/// The migrations of an application, built by [`embedded!`](crate::embedded!)
/// from the files `dbmigrate-build` embedded.
#[derive(Debug)]
pub struct Migrations {
    files: &'static [EmbeddedFile],
    history: OnceLock<Result<History, Error>>,
}

impl Migrations {
    /// The migrations embedded at build time; used by [`embedded!`](crate::embedded!).
    pub const fn from_embedded(files: &'static [EmbeddedFile]) -> Migrations {
        Migrations {
            files,
            history: OnceLock::new(),
        }
    }

    /// The embedded files, in the order the build helper found them.
    pub fn files(&self) -> &'static [EmbeddedFile] {
        self.files
    }

    /// The parsed, validated history (one linear timeline); parsed on first call.
    ///
    /// The build helper already refused a broken history, so this fails only if
    /// the embedded text no longer matches its build-time checksum.
    pub fn history(&self) -> Result<&History, &Error> {
        self.history
            .get_or_init(|| {
                let mut migrations = Vec::with_capacity(self.files.len());
                for file in self.files {
                    let migration = parse_migration(file.path, file.contents)?;
                    if migration.checksum.to_hex() != file.checksum {
                        return Err(Error::EmbeddedChecksum {
                            path: file.path.to_string(),
                            built: file.checksum.to_string(),
                            now: migration.checksum.to_hex(),
                        });
                    }
                    migrations.push(migration);
                }
                Ok(History::new(migrations)?)
            })
            .as_ref()
    }
}

/// The migrations `dbmigrate_build::embed` wrote into `OUT_DIR`:
///
/// ```text
/// static MIGRATIONS: dbmigrate_core::Migrations = dbmigrate_core::embedded!();
/// ```
#[macro_export]
macro_rules! embedded {
    () => {
        $crate::Migrations::from_embedded(include!(concat!(
            env!("OUT_DIR"),
            "/dbmigrate_migrations.rs"
        )))
    };
}
