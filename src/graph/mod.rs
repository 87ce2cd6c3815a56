//! The revision graph: the `Revises:` links between migrations, checked into
//! one linear [`History`], or inspected as a possibly broken
//! [`RevisionGraph`] by `heads` and `rebase`.

mod history;
mod revision_graph;

#[cfg(test)]
mod tests;

pub use history::History;
pub use revision_graph::{Branches, RevisionGraph};
