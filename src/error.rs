//! Errors of the offline half: parsing files, building the revision graph,
//! resolving targets. Each message reads well after "failed to …" and says the fix.

use std::fmt;

/// Any error of the offline half of `dbmigrate`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A migration file could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The files do not form one linear history.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A target (`head`, `abc123`, `-1`, …) could not be resolved.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An embedded file no longer matches the checksum computed at build time.
    #[error("{path}: embedded text has checksum {now} but the build computed {built}; rebuild the application")]
    EmbeddedChecksum {
        /// The file.
        path: String,
        /// Checksum at build time.
        built: String,
        /// Checksum now.
        now: String,
    },
    /// Reading a migrations folder failed.
    #[error("{path}: {cause}")]
    Io {
        /// The file or folder.
        path: String,
        /// The underlying error. It is part of this message, so it is not also
        /// given as `source()` (the cause would print twice).
        cause: std::io::Error,
    },
}

/// A malformed migration file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The file, as given to the parser.
    pub path: String,
    /// 1-based line; 0 when the error concerns the file name.
    pub line: u32,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

impl std::error::Error for ParseError {}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.kind)?;
        } else {
            write!(f, "{}:{}: {}", self.path, self.line, self.kind)?;
        }
        write!(f, "\n  help: {}", self.kind.help())
    }
}

/// The kinds of malformed migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The file name does not match `{YYYYMMDD}_{HHMM}_{rev}_{slug}.{ext}`.
    BadFileName {
        /// Why.
        reason: String,
    },
    /// The extension selects no backend.
    UnknownExtension {
        /// The extension found.
        extension: String,
    },
    /// The file is not valid UTF-8.
    InvalidUtf8,
    /// The file is empty or holds only whitespace.
    Empty,
    /// A header line is not `key: value`, or its value is invalid.
    BadHeader {
        /// The header line or key.
        header: String,
        /// Why.
        reason: String,
    },
    /// A known header key with a value it does not take.
    BadValue {
        /// The header key (`Lock-Timeout`, `revises`, …).
        key: String,
        /// The value as written.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// An unknown header key or option.
    UnknownOption {
        /// The key.
        key: String,
    },
    /// A header key appears twice.
    DuplicateHeader {
        /// The key.
        key: String,
    },
    /// The `Message:` header is missing.
    MissingMessage,
    /// The up or down section marker is missing.
    MissingSection {
        /// `up` or `down`.
        section: &'static str,
    },
    /// A section marker appears twice, or the down section comes before the up section.
    MisplacedSection {
        /// `up` or `down`.
        section: &'static str,
    },
    /// The up section has no statement.
    EmptyUp,
    /// The down marker is followed by nothing at all (not even a comment).
    EmptyDown,
    /// A `migrate:` marker other than `up` or `down`.
    UnknownSection {
        /// The word after `migrate:`.
        name: String,
    },
    /// `Irreversible: true` with a non-empty down section.
    IrreversibleWithDown,
    /// A Weaviate operation that cannot run, found without a server.
    BadOperation {
        /// `up` or `down`.
        list: &'static str,
        /// 0-based position in its list.
        index: usize,
        /// What is wrong and what to do instead (from `weaviate_ops`).
        message: String,
    },
    /// A psql meta-command (`\restrict`, `\connect`, `\i`) in a `.sql` section.
    PsqlMetaCommand {
        /// The command as written (`\restrict`).
        command: String,
        /// How to rewrite the file without it.
        fix: String,
    },
    /// A Weaviate file is not valid JSON, or does not have the expected shape.
    BadJson {
        /// serde_json's message.
        reason: String,
    },
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseErrorKind::BadFileName { reason } => {
                write!(f, "bad migration file name: {reason}")
            }
            ParseErrorKind::UnknownExtension { extension } => {
                write!(f, "unknown migration file extension `{extension}`")
            }
            ParseErrorKind::InvalidUtf8 => write!(f, "file is not valid UTF-8"),
            ParseErrorKind::Empty => write!(f, "migration file is empty"),
            ParseErrorKind::BadHeader { header, reason } => {
                write!(f, "bad header `{header}`: {reason}")
            }
            ParseErrorKind::BadValue { key, value, reason } => {
                write!(f, "bad `{key}` value `{value}`: {reason}")
            }
            ParseErrorKind::UnknownOption { key } => write!(f, "unknown header option `{key}`"),
            ParseErrorKind::DuplicateHeader { key } => write!(f, "header `{key}` appears twice"),
            ParseErrorKind::MissingMessage => write!(f, "missing `Message:` header"),
            ParseErrorKind::MissingSection { section } => {
                write!(f, "missing `{section}` section")
            }
            ParseErrorKind::MisplacedSection { section } => {
                write!(f, "misplaced or repeated `{section}` section marker")
            }
            ParseErrorKind::EmptyUp => write!(f, "the up section is empty"),
            ParseErrorKind::EmptyDown => write!(f, "the down section is empty"),
            ParseErrorKind::UnknownSection { name } => {
                write!(f, "unknown section marker `migrate:{name}`")
            }
            ParseErrorKind::IrreversibleWithDown => {
                write!(
                    f,
                    "migration is marked `Irreversible: true` but has a down section"
                )
            }
            ParseErrorKind::BadOperation {
                list,
                index,
                message,
            } => {
                write!(f, "`{list}` operation {}: {message}", index + 1)
            }
            ParseErrorKind::BadJson { reason } => write!(f, "invalid Weaviate migration: {reason}"),
            ParseErrorKind::PsqlMetaCommand { command, .. } => write!(
                f,
                "psql meta-command `{command}`: only psql runs it, the server cannot"
            ),
        }
    }
}

impl ParseErrorKind {
    /// One sentence saying how to fix it.
    pub fn help(&self) -> String {
        match self {
            ParseErrorKind::BadFileName { .. } => "name migration files `{YYYYMMDD}_{HHMM}_{rev}_{slug}.{ext}`, e.g. `20241201_1200_abc123_add_guardian_consent.sql`; `cargo dbmigrate new \"message\"` writes one".into(),
            ParseErrorKind::UnknownExtension { .. } => "use `.sql` (PostgreSQL), `.cypher` (Neo4j) or `.weaviate.json` (Weaviate)".into(),
            ParseErrorKind::InvalidUtf8 => "save the file as UTF-8".into(),
            ParseErrorKind::Empty => "write the header and the up and down sections, or delete the file; `cargo dbmigrate new` scaffolds one".into(),
            ParseErrorKind::BadHeader { .. } => "write header lines as `-- Key: value` (`// Key: value` in .cypher files) before the up marker".into(),
            ParseErrorKind::BadValue { key, .. } => value_help(key),
            ParseErrorKind::UnknownOption { .. } => "known headers are Message, Revises, Created, Transaction, Irreversible, Lock-Timeout, Statement-Timeout".into(),
            ParseErrorKind::DuplicateHeader { .. } => "keep one line for each header key".into(),
            ParseErrorKind::MissingMessage => "add a `Message: what this migration does` header line".into(),
            ParseErrorKind::MissingSection { section: "down" } => "write the down statements, or mark the migration `Irreversible: true`; the down section starts with a `-- migrate:down` line (`// migrate:down` in .cypher files, a `down` list in .weaviate.json files)".into(),
            ParseErrorKind::MissingSection { section } => format!("add a `-- migrate:{section}` line (`// migrate:{section}` in .cypher files) before the section's statements"),
            ParseErrorKind::MisplacedSection { .. } => "write exactly one `migrate:up` marker followed by exactly one `migrate:down` marker".into(),
            ParseErrorKind::EmptyUp => "put the statements after the `migrate:up` marker (a comment saying why it runs none is enough; one operation in the `up` list of a .weaviate.json file)".into(),
            ParseErrorKind::EmptyDown => "write the down statements (a comment saying why nothing needs undoing is enough), or mark the migration `Irreversible: true`".into(),
            ParseErrorKind::UnknownSection { .. } => "the section markers are `migrate:up` and `migrate:down`".into(),
            ParseErrorKind::IrreversibleWithDown => "remove the down section's statements, or drop `Irreversible: true`".into(),
            ParseErrorKind::BadOperation { .. } => "change the operation as the message says; the operations and their fields are documented in `dbmigrate_core::weaviate_ops::Operation`".into(),
            ParseErrorKind::PsqlMetaCommand { fix, .. } => fix.clone(),
            ParseErrorKind::BadJson { .. } => "a Weaviate migration is a JSON object with `message`, `revises`, `up` and `down` lists of operations; see templates/migration.weaviate.json".into(),
        }
    }
}

/// How to write a valid value for a header key.
fn value_help(key: &str) -> String {
    match key.to_ascii_lowercase().as_str() {
        "revises" => "set it to the parent's revision id `YYYYMMDD_HHMM_rev` (`cargo dbmigrate history` lists them), or to `base` for the first migration".into(),
        "transaction" => "write `Transaction: single` (the default) or `Transaction: none`".into(),
        "irreversible" => "write `Irreversible: true` or `Irreversible: false`".into(),
        "created" => "write when the migration was created, e.g. `Created: 2024-12-01 12:00:00Z`, or drop the line".into(),
        _ => format!("write a whole number with a unit ms, s or min, e.g. `{key}: 5s`"),
    }
}

/// The files do not form one linear history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// Two files share a revision id.
    #[error("{second}: revision `{revision}` is also defined by {first}\n  help: give one of them a new revision with `cargo dbmigrate new` and move its statements there")]
    DuplicateRevision {
        /// The revision id.
        revision: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A `Revises:` names a revision no file defines.
    #[error("{}: `Revises: {parent}` names a revision that no migration file defines\n  help: set `Revises:` to an existing revision id (`cargo dbmigrate history` lists them), or restore the missing file", location(path, *line))]
    MissingParent {
        /// The child file.
        path: String,
        /// Line of its `Revises:` header; 0 when unknown.
        line: u32,
        /// The missing parent.
        parent: String,
    },
    /// `Revises:` headers form a cycle.
    #[error("revisions form a cycle: {}\n  help: make the oldest of them revise the revision before it (or `base`)", abbreviated_cycle(cycle))]
    Cycle {
        /// The revisions in the cycle.
        cycle: Vec<String>,
    },
    /// More than one migration has no parent.
    #[error("more than one root migration (no `Revises:`): {}\n  help: a history has one root; set `Revises:` of the newer ones to the revision they follow", roots.join(", "))]
    MultipleRoots {
        /// The root files.
        roots: Vec<String>,
    },
    /// Two branches each added migrations: more than one head.
    #[error("history has {} heads: {}\n  help: run `cargo dbmigrate rebase` to re-parent the newer branch onto the other head", heads.len(), heads.join(" and "))]
    MultipleHeads {
        /// The head files.
        heads: Vec<String>,
    },
}

/// `a -> b -> c -> a`; a long cycle shows its first and last four
/// revisions and how many lie between, so the message stays one short line.
fn abbreviated_cycle(cycle: &[String]) -> String {
    const SHOWN: usize = 4;
    if cycle.len() <= 2 * SHOWN + 1 {
        return cycle.join(" -> ");
    }
    format!(
        "{} -> … {} more … -> {}",
        cycle[..SHOWN].join(" -> "),
        cycle.len() - 2 * SHOWN,
        cycle[cycle.len() - SHOWN..].join(" -> ")
    )
}

/// `path:line`, or just `path` when the line is unknown (0).
fn location(path: &str, line: u32) -> String {
    if line == 0 {
        path.to_string()
    } else {
        format!("{path}:{line}")
    }
}

/// A target could not be resolved against the history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The text is not a target.
    #[error("`{text}` is not a revision target\n  help: use head, base, a revision id, a unique prefix of its rev (`abc123`), +N or -N")]
    Syntax {
        /// The text.
        text: String,
    },
    /// No revision matches.
    #[error("no revision matches `{text}`\n  help: `cargo dbmigrate history` lists the revisions")]
    Unknown {
        /// The text.
        text: String,
    },
    /// More than one revision matches a prefix.
    #[error("`{text}` is ambiguous: it matches {}\n  help: give more characters of the rev", candidates.join(", "))]
    Ambiguous {
        /// The text.
        text: String,
        /// The matching revision ids.
        candidates: Vec<String>,
    },
    /// `+N` / `-N` goes past head or base.
    #[error("`{text}` goes {steps} step(s) past {edge}\n  help: `cargo dbmigrate status` shows the current position")]
    OutOfRange {
        /// The text.
        text: String,
        /// How many steps too far.
        steps: usize,
        /// `head` or `base`.
        edge: &'static str,
    },
}
