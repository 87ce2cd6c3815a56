//! One linear, validated timeline of migrations across all backends.

use std::collections::HashMap;

use crate::checksum::{chain_hash, Checksum};
use crate::error::GraphError;
use crate::migration::Migration;

use super::revision_graph::RevisionGraph;

/// One linear, validated timeline of migrations across all backends, root first.
#[derive(Debug, Clone, Default)]
pub struct History {
    migrations: Vec<Migration>,
    positions: HashMap<String, usize>,
}

/// The line of a migration's `Revises:` header, for messages; 0 when unknown.
fn revises_line(migration: &Migration) -> u32 {
    migration.revises_line
}

/// The first problem that keeps `graph` from being one line.
fn check_linear(graph: &RevisionGraph<'_>) -> Result<(), GraphError> {
    if let Some(orphan) = graph.orphans().first() {
        return Err(GraphError::MissingParent {
            path: orphan.path.clone(),
            line: revises_line(orphan),
            parent: orphan.parent.clone().unwrap_or_default(),
        });
    }
    if let Some(cycle) = graph.find_cycle() {
        let mut cycle: Vec<String> = cycle
            .iter()
            .map(|migration| migration.revision_id.clone())
            .collect();
        cycle.push(cycle[0].clone());
        return Err(GraphError::Cycle { cycle });
    }
    let paths = |migrations: Vec<&Migration>| {
        migrations
            .iter()
            .map(|migration| migration.path.clone())
            .collect()
    };
    let roots = graph.roots();
    if roots.len() > 1 {
        return Err(GraphError::MultipleRoots {
            roots: paths(roots),
        });
    }
    let heads = graph.heads();
    if heads.len() > 1 {
        return Err(GraphError::MultipleHeads {
            heads: paths(heads),
        });
    }
    Ok(())
}

impl History {
    /// Validates and orders migrations by their `Revises:` chain.
    ///
    /// Refuses a duplicate revision, a `Revises:` naming no file, a cycle,
    /// more than one root and more than one head. The order of `migrations`
    /// does not matter; an empty list is an empty history.
    pub fn new(migrations: Vec<Migration>) -> Result<History, GraphError> {
        let order = {
            let graph = RevisionGraph::build(&migrations)?;
            check_linear(&graph)?;
            let mut order = Vec::with_capacity(migrations.len());
            let mut next = graph
                .roots()
                .first()
                .and_then(|root| graph.index(&root.revision_id));
            while let Some(index) = next {
                order.push(index);
                next = graph.child_indices(index).first().copied();
            }
            order
        };
        let mut slots: Vec<Option<Migration>> = migrations.into_iter().map(Some).collect();
        let migrations: Vec<Migration> = order
            .into_iter()
            .filter_map(|index| slots[index].take())
            .collect();
        let positions = migrations
            .iter()
            .enumerate()
            .map(|(position, migration)| (migration.revision_id.clone(), position))
            .collect();
        Ok(History {
            migrations,
            positions,
        })
    }

    /// The migrations in timeline order, root first.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// The migrations in timeline order, root first.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// The newest migration; `None` for an empty history.
    pub fn head(&self) -> Option<&Migration> {
        self.migrations.last()
    }

    /// The migration with this revision id (`20241201_1200_abc123`).
    pub fn get(&self, revision_id: &str) -> Option<&Migration> {
        self.position(revision_id)
            .map(|position| &self.migrations[position])
    }

    /// The index in timeline order of this revision id.
    pub fn position(&self, revision_id: &str) -> Option<usize> {
        self.positions.get(revision_id).copied()
    }

    /// The number of migrations.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// True when there is no migration.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The chain hash of the migrations up to and including `index`;
    /// `None` (base) gives the hash of the empty history.
    pub fn chain_hash_upto(&self, index: Option<usize>) -> Checksum {
        let count = index.map_or(0, |index| (index + 1).min(self.migrations.len()));
        chain_hash(
            self.migrations[..count]
                .iter()
                .map(|migration| (migration.revision_id.as_str(), &migration.checksum)),
        )
    }
}

impl<'a> IntoIterator for &'a History {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.migrations.iter()
    }
}
