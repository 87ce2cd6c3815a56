//! A possibly broken set of migrations and their `Revises:` links: roots,
//! heads, children, cycles and branches, for tools that must look at a
//! history before it is valid (`heads`, `rebase`, `check`).

use std::collections::HashMap;

use crate::error::GraphError;
use crate::migration::Migration;

/// The migrations and their `Revises:` links, without requiring one line.
///
/// Only duplicate revisions are refused; everything else (missing parents,
/// cycles, several roots or heads) can be inspected.
#[derive(Debug, Clone)]
pub struct RevisionGraph<'a> {
    migrations: &'a [Migration],
    by_id: HashMap<&'a str, usize>,
    parents: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

/// Where several heads part: the last revision they share and each head's
/// line after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branches<'a> {
    /// The newest revision every head descends from; `None` when they share
    /// none (they start at base).
    pub ancestor: Option<&'a Migration>,
    /// For each head, the migrations after `ancestor` up to that head, oldest
    /// first. Lines are ordered by the revision id of their first migration,
    /// so the last line is the newest branch (the one `rebase` re-parents).
    pub lines: Vec<Vec<&'a Migration>>,
}

/// Orders migrations by revision id (date first), then by file name.
fn timeline_key(migration: &Migration) -> (&str, &str) {
    (&migration.revision_id, &migration.file_name)
}

impl<'a> RevisionGraph<'a> {
    /// Indexes the migrations; refuses two files with the same revision id.
    pub fn build(migrations: &'a [Migration]) -> Result<RevisionGraph<'a>, GraphError> {
        let mut order: Vec<usize> = (0..migrations.len()).collect();
        order.sort_by_key(|&index| timeline_key(&migrations[index]));
        let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(migrations.len());
        for &index in &order {
            let migration = &migrations[index];
            if let Some(&first) = by_id.get(migration.revision_id.as_str()) {
                return Err(GraphError::DuplicateRevision {
                    revision: migration.revision_id.clone(),
                    first: migrations[first].path.clone(),
                    second: migration.path.clone(),
                });
            }
            by_id.insert(&migration.revision_id, index);
        }
        let parents: Vec<Option<usize>> = migrations
            .iter()
            .map(|migration| {
                migration
                    .parent
                    .as_deref()
                    .and_then(|parent| by_id.get(parent).copied())
            })
            .collect();
        let mut children = vec![Vec::new(); migrations.len()];
        for &index in &order {
            if let Some(parent) = parents[index] {
                children[parent].push(index);
            }
        }
        Ok(RevisionGraph {
            migrations,
            by_id,
            parents,
            children,
        })
    }

    /// The migrations, in the order given to [`build`](Self::build).
    pub fn migrations(&self) -> &'a [Migration] {
        self.migrations
    }

    /// The migration with this revision id.
    pub fn get(&self, revision_id: &str) -> Option<&'a Migration> {
        self.index(revision_id).map(|index| &self.migrations[index])
    }

    /// The migration this one revises, when a file defines it.
    pub fn parent(&self, revision_id: &str) -> Option<&'a Migration> {
        self.parents[self.index(revision_id)?].map(|index| &self.migrations[index])
    }

    /// The migrations that revise this one, oldest first.
    pub fn children(&self, revision_id: &str) -> Vec<&'a Migration> {
        self.index(revision_id)
            .map_or_else(Vec::new, |index| self.all(&self.children[index]))
    }

    /// Migrations with no parent (`Revises: base` or none), oldest first.
    pub fn roots(&self) -> Vec<&'a Migration> {
        self.sorted(|index| self.migrations[index].parent.is_none())
    }

    /// Migrations whose `Revises:` names a revision that no file defines, oldest first.
    pub fn orphans(&self) -> Vec<&'a Migration> {
        self.sorted(|index| {
            self.migrations[index].parent.is_some() && self.parents[index].is_none()
        })
    }

    /// Migrations no other migration revises, oldest first.
    pub fn heads(&self) -> Vec<&'a Migration> {
        self.sorted(|index| self.children[index].is_empty())
    }

    /// This migration and its ancestors, newest first, up to a root, an
    /// orphan, or the point where a cycle would repeat.
    pub fn ancestors(&self, revision_id: &str) -> Vec<&'a Migration> {
        let mut seen = vec![false; self.migrations.len()];
        let mut line = Vec::new();
        let mut next = self.index(revision_id);
        while let Some(index) = next.filter(|&index| !seen[index]) {
            seen[index] = true;
            line.push(&self.migrations[index]);
            next = self.parents[index];
        }
        line
    }

    /// A cycle of `Revises:` links, child first, starting at its oldest
    /// revision, if there is one.
    pub fn find_cycle(&self) -> Option<Vec<&'a Migration>> {
        const NEW: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![NEW; self.migrations.len()];
        for start in self.sorted_indices() {
            let mut path = Vec::new();
            let mut next = Some(start);
            while let Some(index) = next.filter(|&index| state[index] != DONE) {
                if state[index] == ON_PATH {
                    let from = path
                        .iter()
                        .position(|&on_path| on_path == index)
                        .unwrap_or(0);
                    return Some(self.rotate_oldest_first(&path[from..]));
                }
                state[index] = ON_PATH;
                path.push(index);
                next = self.parents[index];
            }
            for index in path {
                state[index] = DONE;
            }
        }
        None
    }

    /// With two or more heads, where they part: the shared ancestor and
    /// each head's line after it. `None` with fewer than two heads.
    pub fn branches(&self) -> Option<Branches<'a>> {
        let heads = self.heads();
        if heads.len() < 2 {
            return None;
        }
        let mut paths: Vec<Vec<&'a Migration>> = heads
            .iter()
            .map(|head| {
                let mut path = self.ancestors(&head.revision_id);
                path.reverse();
                path
            })
            .collect();
        let shared = (0..paths.iter().map(Vec::len).min().unwrap_or(0))
            .take_while(|&depth| {
                paths
                    .iter()
                    .all(|path| std::ptr::eq(path[depth], paths[0][depth]))
            })
            .count();
        let ancestor = shared.checked_sub(1).map(|depth| paths[0][depth]);
        let mut lines: Vec<Vec<&'a Migration>> = paths
            .iter_mut()
            .map(|path| path.split_off(shared))
            .collect();
        lines.sort_by_key(|line| line.first().map(|first| timeline_key(first)));
        Some(Branches { ancestor, lines })
    }

    /// The shared ancestor of the heads (see [`branches`](Self::branches));
    /// `None` with fewer than two heads or when they share no revision.
    pub fn branch_point(&self) -> Option<&'a Migration> {
        self.branches()?.ancestor
    }

    pub(crate) fn index(&self, revision_id: &str) -> Option<usize> {
        self.by_id.get(revision_id).copied()
    }

    pub(crate) fn child_indices(&self, index: usize) -> &[usize] {
        &self.children[index]
    }

    fn all(&self, indices: &[usize]) -> Vec<&'a Migration> {
        indices
            .iter()
            .map(|&index| &self.migrations[index])
            .collect()
    }

    fn sorted_indices(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.migrations.len()).collect();
        order.sort_by_key(|&index| timeline_key(&self.migrations[index]));
        order
    }

    fn sorted(&self, keep: impl Fn(usize) -> bool) -> Vec<&'a Migration> {
        let kept: Vec<usize> = self
            .sorted_indices()
            .into_iter()
            .filter(|&index| keep(index))
            .collect();
        self.all(&kept)
    }

    fn rotate_oldest_first(&self, cycle: &[usize]) -> Vec<&'a Migration> {
        let oldest = (0..cycle.len())
            .min_by_key(|&at| timeline_key(&self.migrations[cycle[at]]))
            .unwrap_or(0);
        cycle[oldest..]
            .iter()
            .chain(&cycle[..oldest])
            .map(|&index| &self.migrations[index])
            .collect()
    }
}
