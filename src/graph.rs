//! The revision graph. (skeleton)

use crate::error::GraphError;
use crate::migration::Migration;

/// One linear, validated timeline of migrations across all backends.
#[derive(Debug, Clone)]
pub struct History {
    migrations: Vec<Migration>,
}

impl History {
    /// Validates and orders migrations by their `Revises:` chain.
    pub fn new(migrations: Vec<Migration>) -> Result<History, GraphError> {
        Ok(History { migrations })
    }

    /// The migrations in timeline order, root first.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }
}
