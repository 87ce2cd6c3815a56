//! The one migration file parser: file names, headers, up/down sections,
//! Weaviate JSON, and whole migrations folders. The build helper, the CLI and
//! the runtime all call it.

mod dir;
mod file;
mod header;
mod json_layout;
mod name;
mod sections;
mod weaviate;

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;

pub use dir::{load_dir, load_dir_lenient};
pub use file::{parse_bytes, parse_migration, parse_migration_lenient};
pub use header::parse_duration;
