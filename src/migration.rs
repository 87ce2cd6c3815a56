//! The migration model: one parsed migration file and its options.

use std::fmt;
use std::time::Duration;

use crate::checksum::Checksum;
use crate::weaviate_ops::Operation;

/// Which database a migration runs on; chosen by the file extension.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BackendKind {
    /// `.sql` files, run through sqlx.
    Postgres,
    /// `.cypher` files, run through neo4rs.
    Neo4j,
    /// `.weaviate.json` files, run through Weaviate's REST API.
    Weaviate,
}

impl BackendKind {
    /// Every backend, in the order of [`crate::backend::DESCRIPTORS`].
    pub fn all() -> impl Iterator<Item = BackendKind> {
        crate::backend::DESCRIPTORS
            .iter()
            .map(|descriptor| descriptor.kind)
    }

    /// The file extension (without the leading dot) that selects this backend.
    pub fn extension(self) -> &'static str {
        self.descriptor().extension
    }

    /// The backend a file name selects, from its extension.
    pub fn from_file_name(file_name: &str) -> Option<BackendKind> {
        crate::backend::Descriptor::for_file_name(file_name).map(|descriptor| descriptor.kind)
    }

    /// The name used on the command line and in config (`postgres`, `neo4j`, `weaviate`).
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::backend::Descriptor::for_name(s)
            .map(|descriptor| descriptor.kind)
            .ok_or_else(|| {
                format!(
                    "unknown target `{}`: expected one of {}",
                    s.to_ascii_lowercase(),
                    crate::backend::Descriptor::names()
                )
            })
    }
}

/// Upgrade (apply the `up` section) or downgrade (apply the `down` section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Apply the up section.
    Up,
    /// Apply the down section.
    Down,
}

impl Direction {
    /// `up` or `down`, as stored in dirty records and shown beside them.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The command that runs this direction: `upgrade` or `downgrade`.
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        }
    }

    /// The verb a step running in this direction is shown with, cargo-style:
    /// `Applying` or `Reverting`.
    pub fn step_verb(self) -> &'static str {
        match self {
            Direction::Up => "Applying",
            Direction::Down => "Reverting",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a migration is wrapped in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// The whole section and its history row commit together (the default).
    #[default]
    Single,
    /// No transaction (`CREATE INDEX CONCURRENTLY`): recorded dirty before, clean after.
    None,
}

/// Options read from a migration's header.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct MigrationOptions {
    /// `Transaction: single | none`.
    pub transaction: TransactionMode,
    /// `Irreversible: true`: there is no down section, and downgrading across it is refused.
    pub irreversible: bool,
    /// `Lock-Timeout: 5s` (PostgreSQL `lock_timeout`); `None` takes the project default.
    pub lock_timeout: Option<Duration>,
    /// `Statement-Timeout: 60s` (PostgreSQL `statement_timeout`); `None` takes the project default.
    pub statement_timeout: Option<Duration>,
}

/// One parsed migration file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Migration {
    /// The stem before the slug: `20241201_1200_abc123`.
    pub revision_id: String,
    /// The short random hex id: `abc123`.
    pub rev: String,
    /// The slug: `add_guardian_consent`.
    pub slug: String,
    /// The file name: `20241201_1200_abc123_add_guardian_consent.sql`.
    pub file_name: String,
    /// The path the file was read from, for messages (relative to the project when known).
    pub path: String,
    /// The backend, from the extension.
    pub backend: BackendKind,
    /// `Revises:`: the parent revision id, or `None` for the root.
    pub parent: Option<String>,
    /// 1-based line of the `Revises:` header (or `"revises"` key); 0 when absent.
    pub revises_line: u32,
    /// `Message:`.
    pub message: String,
    /// `Created:` as written in the header, if present.
    pub created: Option<String>,
    /// Header options.
    pub options: MigrationOptions,
    /// The up section: statements as written, or the `up` list's operations.
    pub up: Section,
    /// The down section; empty for an irreversible migration.
    pub down: Section,
    /// 1-based line where the up section starts (for messages).
    pub up_line: u32,
    /// 1-based line where the down section starts (for messages); 0 when absent.
    pub down_line: u32,
    /// SHA-256 of the normalised file text.
    pub checksum: Checksum,
}

impl Migration {
    /// The section for a direction.
    pub fn section(&self, direction: Direction) -> &Section {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    /// The 1-based line a section starts on.
    pub fn section_line(&self, direction: Direction) -> u32 {
        match direction {
            Direction::Up => self.up_line,
            Direction::Down => self.down_line,
        }
    }
}

/// The content of an up or down section, typed by the file's layout.
///
/// Serialized untagged: a script as its text, Weaviate operations as a list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Section {
    /// The statements of a `.sql` or `.cypher` section, as written (LF line
    /// ends, blank lines around it trimmed).
    Script(String),
    /// The operations of a `.weaviate.json` list, parsed and checked once when
    /// the file is read.
    Weaviate(Vec<Operation>),
}

impl Section {
    /// The statements of a script section; `""` for a Weaviate section
    /// (a backend only ever receives sections of its own kind).
    pub fn script(&self) -> &str {
        match self {
            Section::Script(text) => text,
            Section::Weaviate(_) => "",
        }
    }

    /// The operations of a Weaviate section; none for a script section.
    pub fn operations(&self) -> &[Operation] {
        match self {
            Section::Script(_) => &[],
            Section::Weaviate(operations) => operations,
        }
    }

    /// True when the section holds nothing (the down section of an irreversible migration).
    pub fn is_empty(&self) -> bool {
        match self {
            Section::Script(text) => text.is_empty(),
            Section::Weaviate(operations) => operations.is_empty(),
        }
    }
}

/// The section as a person reads it: a script's text, or the operations as
/// pretty-printed JSON (nothing for an empty list).
impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Script(text) => f.write_str(text),
            Section::Weaviate(operations) if operations.is_empty() => Ok(()),
            Section::Weaviate(operations) => {
                let json = serde_json::to_string_pretty(operations).map_err(|_| fmt::Error)?;
                f.write_str(&json)
            }
        }
    }
}
