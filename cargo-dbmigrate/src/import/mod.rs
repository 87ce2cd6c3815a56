//! Moving to dbmigrate: `import` converts another tool's migrations folder,
//! `adopt` stamps a database that tool already migrated, `baseline` starts
//! from a live schema.

mod adopt;
mod alembic;
mod args;
mod baseline;
mod command;
mod convert;
mod diesel;
mod golang;
mod mapping;
mod source;
mod sqlx;
mod table;
mod tool_history;
mod versioned;

#[cfg(test)]
mod tests;

pub use args::ImportCommand;
#[cfg(test)]
use command::read_source;
pub use command::run;
