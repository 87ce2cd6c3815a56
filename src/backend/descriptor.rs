//! One descriptor per database: everything the parser, planner, runner and
//! CLI need to know about a backend without naming it. Adding a database is
//! one row in [`DESCRIPTORS`], one arm in [`BackendKind::descriptor`], one
//! backend module and one connect function (see ARCHITECTURE.md).

use crate::error::ParseErrorKind;
use crate::migration::BackendKind;

/// A check of one section's text at parse time: the 1-based line and kind
/// of the first problem. `first_line` is the section's first line.
pub type SectionCheck = fn(section: &str, first_line: u32) -> Result<(), (u32, ParseErrorKind)>;

/// How a backend's migration files are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A comment header (`-- Revises: …`), then `migrate:up` and
    /// `migrate:down` markers, each a comment line with this prefix.
    Comments {
        /// The line comment of the backend's language (`--`, `//`).
        prefix: &'static str,
    },
    /// A JSON document with `revises`, `message` and `up`/`down` lists of
    /// typed operations.
    Json,
}

/// How `cargo dbmigrate test` keeps a round trip away from real data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestIsolation {
    /// A scratch database is created for the run and dropped after it.
    ScratchDatabase,
    /// The run uses the configured server, with its own bookkeeping prefix.
    BookkeepingPrefix,
}

/// What dbmigrate knows about one database.
#[derive(Debug)]
pub struct Descriptor {
    /// Which backend this describes.
    pub kind: BackendKind,
    /// The name used on the command line, in config and in messages.
    pub name: &'static str,
    /// Other spellings accepted on the command line (`pg`, `cypher`).
    pub aliases: &'static [&'static str],
    /// The file extension (without the leading dot) that selects this backend.
    pub extension: &'static str,
    /// How its migration files are written.
    pub layout: Layout,
    /// The name of its migration template, in a project's templates folder
    /// and among the built-in ones.
    pub template: &'static str,
    /// The environment variable holding its URL (the CLI's default).
    pub url_env: &'static str,
    /// The command-line flag that overrides [`Descriptor::url_env`].
    pub url_flag: &'static str,
    /// Further environment variables its connect function reads.
    pub settings_env: &'static [&'static str],
    /// Those of [`Descriptor::settings_env`] that hold secrets.
    pub secret_env: &'static [&'static str],
    /// The cargo feature of `dbmigrate-core` that compiles the backend.
    pub feature: &'static str,
    /// How `cargo dbmigrate test` isolates a round trip.
    pub test_isolation: TestIsolation,
    /// What the parser refuses in a section beyond the common rules.
    pub check_section: Option<SectionCheck>,
    /// How to connect it (an error when its feature is off).
    #[cfg(feature = "runtime")]
    pub connector: super::connect::Connector,
}

/// Every backend, one row each.
pub static DESCRIPTORS: [Descriptor; 3] = [
    Descriptor {
        kind: BackendKind::Postgres,
        name: "postgres",
        aliases: &["postgresql", "pg", "sql"],
        extension: "sql",
        layout: Layout::Comments { prefix: "--" },
        template: "migration.sql",
        url_env: "DATABASE_URL",
        url_flag: "--database-url",
        settings_env: &[],
        secret_env: &[],
        feature: "postgres",
        #[cfg(feature = "runtime")]
        connector: super::connect::POSTGRES,
        test_isolation: TestIsolation::ScratchDatabase,
        check_section: Some(crate::sql::refuse_meta_commands),
    },
    Descriptor {
        kind: BackendKind::Neo4j,
        name: "neo4j",
        aliases: &["cypher"],
        extension: "cypher",
        layout: Layout::Comments { prefix: "//" },
        template: "migration.cypher",
        url_env: "NEO4J_URI",
        url_flag: "--neo4j-uri",
        settings_env: &["NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE"],
        secret_env: &["NEO4J_PASSWORD"],
        feature: "neo4j",
        #[cfg(feature = "runtime")]
        connector: super::connect::NEO4J,
        test_isolation: TestIsolation::BookkeepingPrefix,
        check_section: None,
    },
    Descriptor {
        kind: BackendKind::Weaviate,
        name: "weaviate",
        aliases: &[],
        extension: "weaviate.json",
        layout: Layout::Json,
        template: "migration.weaviate.json",
        url_env: "WEAVIATE_URL",
        url_flag: "--weaviate-url",
        settings_env: &["WEAVIATE_API_KEY"],
        secret_env: &["WEAVIATE_API_KEY"],
        feature: "weaviate",
        #[cfg(feature = "runtime")]
        connector: super::connect::WEAVIATE,
        test_isolation: TestIsolation::BookkeepingPrefix,
        check_section: None,
    },
];

impl BackendKind {
    /// Everything dbmigrate knows about this backend. The only match on
    /// [`BackendKind`]'s variants: everything else asks the descriptor.
    pub fn descriptor(self) -> &'static Descriptor {
        let index = match self {
            BackendKind::Postgres => 0,
            BackendKind::Neo4j => 1,
            BackendKind::Weaviate => 2,
        };
        &DESCRIPTORS[index]
    }
}

impl Descriptor {
    /// The descriptor a file name selects, from its extension (the longest
    /// matching extension wins, so `.weaviate.json` is not read as `.json`).
    pub fn for_file_name(file_name: &str) -> Option<&'static Descriptor> {
        DESCRIPTORS
            .iter()
            .filter(|descriptor| {
                file_name
                    .strip_suffix(descriptor.extension)
                    .is_some_and(|stem| stem.ends_with('.'))
            })
            .max_by_key(|descriptor| descriptor.extension.len())
    }

    /// The descriptor a command-line or config name selects (any case, any alias).
    pub fn for_name(name: &str) -> Option<&'static Descriptor> {
        let name = name.to_ascii_lowercase();
        DESCRIPTORS
            .iter()
            .find(|descriptor| descriptor.name == name || descriptor.aliases.contains(&&*name))
    }

    /// The comment prefix of the backend's file header, when it has one.
    pub fn comment_prefix(&self) -> Option<&'static str> {
        match self.layout {
            Layout::Comments { prefix } => Some(prefix),
            Layout::Json => None,
        }
    }

    /// The names a user may type, for messages: `postgres, neo4j, weaviate`.
    pub fn names() -> String {
        DESCRIPTORS
            .iter()
            .map(|descriptor| descriptor.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_describes_its_own_kind() {
        for descriptor in &DESCRIPTORS {
            assert!(std::ptr::eq(descriptor.kind.descriptor(), descriptor));
        }
    }

    #[test]
    fn file_names_pick_the_longest_extension() {
        let kind = |name| Descriptor::for_file_name(name).map(|d| d.kind);
        assert_eq!(kind("a.sql"), Some(BackendKind::Postgres));
        assert_eq!(kind("a.cypher"), Some(BackendKind::Neo4j));
        assert_eq!(kind("a.weaviate.json"), Some(BackendKind::Weaviate));
        assert_eq!(kind("a.json"), None);
        assert_eq!(kind("asql"), None);
    }

    #[test]
    fn names_and_aliases() {
        let kind = |name| Descriptor::for_name(name).map(|d| d.kind);
        assert_eq!(kind("PG"), Some(BackendKind::Postgres));
        assert_eq!(kind("cypher"), Some(BackendKind::Neo4j));
        assert_eq!(kind("weaviate"), Some(BackendKind::Weaviate));
        assert_eq!(kind("mysql"), None);
    }
}
