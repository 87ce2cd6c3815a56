//! The clap definitions of `import`, `adopt` and `baseline`.

use std::path::PathBuf;

use super::source::Tool;
use crate::online::ConnectionArgs;

/// The commands that move a project to dbmigrate.
#[derive(Debug, clap::Subcommand)]
pub enum ImportCommand {
    /// Convert another tool's migrations folder into dbmigrate files, keeping
    /// every statement byte for byte.
    Import {
        /// The tool the folder belongs to.
        #[arg(long, value_enum)]
        from: Tool,
        /// The tool's migrations folder (for Alembic: the folder holding `versions/`, or `versions/` itself).
        dir: PathBuf,
        /// Where to write (default: the project's migrations folder).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print the table of what would be written, and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Record in dbmigrate's history what the tool already applied to a
    /// deployed database (its own table is only read).
    Adopt {
        /// The tool whose history to read.
        #[arg(long, value_enum)]
        from: Tool,
        /// Say what would be stamped, and stamp nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
    /// Write one irreversible migration holding the live database's schema
    /// (`pg_dump --schema-only`, cleaned) and stamp it: for a database that
    /// never had a migration tool.
    Baseline {
        /// The `Message:` of the baseline.
        #[arg(long, default_value = "baseline")]
        message: String,
        /// Say what would be written, and write and stamp nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        connection: ConnectionArgs,
    },
}
