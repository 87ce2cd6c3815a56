//! The zero-downtime lint (feature `lint`): which migration statements take a
//! dangerous lock or break the release that is still running. PostgreSQL
//! statements go through `squawk-linter`; dbmigrate adds the rules only it can
//! know (the file's transaction mode and lock timeout, the expand/contract
//! order across migrations, live sizes) and the Neo4j and Weaviate rules.
//! No database driver: the CLI reads live sizes and passes them in as [`LiveFacts`].

mod engine;
mod live;
mod neo4j;
mod postgres;
mod report;
mod rules;
mod sql;
mod suppress;
mod weaviate;

pub use engine::{lint, LintInput, LintOptions};
pub use live::{LiveFacts, TableSize};
pub use report::{LintReport, Severity, Violation};
pub use rules::{Rule, RULES};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rule_fixtures;
