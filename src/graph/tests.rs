//! Unit tests of the revision graph: every broken shape, the order of a
//! valid history, and the branches `rebase` works from.

use super::{History, RevisionGraph};
use crate::checksum::chain_hash;
use crate::error::GraphError;
use crate::migration::Migration;
use crate::parse::parse_migration;

/// A migration parsed from generated text: `id` is `date_time_rev`, the slug is `m`.
fn migration(id: &str, parent: Option<&str>) -> Migration {
    let revises = parent
        .map(|parent| format!("-- Revises: {parent}\n"))
        .unwrap_or_default();
    let text = format!(
        "-- Message: {id}\n{revises}-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"
    );
    parse_migration(&format!("migrations/{id}_m.sql"), &text)
        .unwrap_or_else(|error| panic!("{error}"))
}

const A: &str = "20241201_1000_a1b2c3";
const B: &str = "20241201_1100_b2c3d4";
const C: &str = "20241201_1200_c3d4e5";
const D: &str = "20241202_0900_d4e5f6";
const E: &str = "20241202_1000_e5f6a7";

fn ids(migrations: &[&Migration]) -> Vec<String> {
    migrations
        .iter()
        .map(|migration| migration.revision_id.clone())
        .collect()
}

fn history_error(migrations: Vec<Migration>) -> String {
    History::new(migrations)
        .expect_err("the history must be refused")
        .to_string()
}

#[test]
fn orders_by_revises_not_by_file_name() {
    // The parent links run against the file-name order: E is the root, A the head.
    let chain = [
        (E, None),
        (C, Some(E)),
        (D, Some(C)),
        (A, Some(D)),
        (B, Some(A)),
    ];
    let mut migrations: Vec<Migration> = chain
        .iter()
        .map(|(id, parent)| migration(id, *parent))
        .collect();
    migrations.reverse();
    let history = History::new(migrations).unwrap();
    let order: Vec<&str> = history
        .iter()
        .map(|migration| migration.revision_id.as_str())
        .collect();
    assert_eq!(order, [E, C, D, A, B]);
    assert_eq!(
        history.head().map(|head| head.revision_id.as_str()),
        Some(B)
    );
    assert_eq!(history.position(D), Some(2));
    assert_eq!(
        history.get(A).map(|found| found.parent.as_deref()),
        Some(Some(D))
    );
    assert_eq!((history.len(), history.is_empty()), (5, false));
    assert_eq!(history.get("20241201_1000_ffffff"), None);
}

#[test]
fn empty_history_is_valid() {
    let history = History::new(Vec::new()).unwrap();
    assert!(history.is_empty());
    assert_eq!(history.head(), None);
    assert_eq!(
        history.chain_hash_upto(None),
        chain_hash(std::iter::empty())
    );
}

#[test]
fn chain_hash_covers_a_prefix() {
    let history = History::new(vec![migration(A, None), migration(B, Some(A))]).unwrap();
    let pairs: Vec<(&str, _)> = history
        .iter()
        .map(|migration| (migration.revision_id.as_str(), &migration.checksum))
        .collect();
    assert_eq!(
        history.chain_hash_upto(Some(0)),
        chain_hash(pairs[..1].iter().copied())
    );
    assert_eq!(
        history.chain_hash_upto(Some(1)),
        chain_hash(pairs.iter().copied())
    );
    assert_eq!(
        history.chain_hash_upto(Some(9)),
        chain_hash(pairs.iter().copied())
    );
    assert_ne!(
        history.chain_hash_upto(Some(0)),
        history.chain_hash_upto(Some(1))
    );
}

#[test]
fn duplicate_revision() {
    let mut second = migration(A, None);
    second.path = format!("migrations/{A}_other.sql");
    assert_eq!(
        history_error(vec![migration(A, None), second]),
        "migrations/20241201_1000_a1b2c3_other.sql: revision `20241201_1000_a1b2c3` is also defined by \
         migrations/20241201_1000_a1b2c3_m.sql\n  help: give one of them a new revision with `cargo dbmigrate new` \
         and move its statements there"
    );
}

#[test]
fn missing_parent() {
    let error = History::new(vec![migration(A, None), migration(C, Some(B))]).unwrap_err();
    assert!(
        matches!(&error, GraphError::MissingParent { parent, .. } if parent == B),
        "{error}"
    );
    assert!(error.to_string().starts_with(
        "migrations/20241201_1200_c3d4e5_m.sql:2: `Revises: 20241201_1100_b2c3d4` names a revision that no migration file defines\n  help: "
    ));
}

#[test]
fn cycle() {
    let migrations = vec![
        migration(A, None),
        migration(B, Some(A)),
        migration(C, Some(D)),
        migration(D, Some(C)),
    ];
    assert_eq!(
        history_error(migrations),
        "revisions form a cycle: 20241201_1200_c3d4e5 -> 20241202_0900_d4e5f6 -> 20241201_1200_c3d4e5\n  \
         help: make the oldest of them revise the revision before it (or `base`)"
    );
    let self_loop = vec![migration(A, Some(A))];
    assert!(history_error(self_loop)
        .starts_with("revisions form a cycle: 20241201_1000_a1b2c3 -> 20241201_1000_a1b2c3\n"));
}

#[test]
fn two_roots() {
    let migrations = vec![
        migration(A, None),
        migration(B, Some(A)),
        migration(C, None),
    ];
    assert_eq!(
        history_error(migrations),
        "more than one root migration (no `Revises:`): migrations/20241201_1000_a1b2c3_m.sql, \
         migrations/20241201_1200_c3d4e5_m.sql\n  help: a history has one root; set `Revises:` of the newer ones \
         to the revision they follow"
    );
}

#[test]
fn two_heads_names_both_files_and_the_fix() {
    let migrations = vec![
        migration(A, None),
        migration(B, Some(A)),
        migration(C, Some(A)),
    ];
    assert_eq!(
        history_error(migrations),
        "history has 2 heads: migrations/20241201_1100_b2c3d4_m.sql and migrations/20241201_1200_c3d4e5_m.sql\n  \
         help: run `cargo dbmigrate rebase` to re-parent the newer branch onto the other head"
    );
}

#[test]
fn revision_graph_describes_a_fork_for_rebase() {
    // A <- B <- C and B <- D <- E, given out of order.
    let migrations = vec![
        migration(E, Some(D)),
        migration(C, Some(B)),
        migration(A, None),
        migration(D, Some(B)),
        migration(B, Some(A)),
    ];
    let graph = RevisionGraph::build(&migrations).unwrap();
    assert_eq!(ids(&graph.roots()), [A]);
    assert_eq!(ids(&graph.heads()), [C, E]);
    assert_eq!(ids(&graph.children(B)), [C, D]);
    assert_eq!(ids(&graph.children(E)), Vec::<String>::new());
    assert_eq!(
        graph.parent(D).map(|parent| parent.revision_id.as_str()),
        Some(B)
    );
    assert_eq!(ids(&graph.ancestors(E)), [E, D, B, A]);
    assert_eq!(graph.find_cycle(), None);
    assert!(graph.orphans().is_empty());
    let branches = graph.branches().unwrap();
    assert_eq!(
        branches
            .ancestor
            .map(|ancestor| ancestor.revision_id.as_str()),
        Some(B)
    );
    let lines: Vec<Vec<String>> = branches.lines.iter().map(|line| ids(line)).collect();
    assert_eq!(
        lines,
        [vec![C.to_string()], vec![D.to_string(), E.to_string()]]
    );
    assert_eq!(
        graph.branch_point().map(|point| point.revision_id.as_str()),
        Some(B)
    );
}

#[test]
fn revision_graph_of_two_separate_roots_branches_at_base() {
    let migrations = vec![
        migration(A, None),
        migration(B, None),
        migration(C, Some(B)),
    ];
    let graph = RevisionGraph::build(&migrations).unwrap();
    let branches = graph.branches().unwrap();
    assert_eq!(branches.ancestor, None);
    assert_eq!(branches.lines.len(), 2);
    assert_eq!(ids(&branches.lines[1]), [B, C]);
    let linear = [migration(A, None), migration(B, Some(A))];
    assert_eq!(RevisionGraph::build(&linear).unwrap().branches(), None);
}

#[test]
fn revision_graph_refuses_only_duplicates() {
    let orphan_and_cycle = [
        migration(A, Some(B)),
        migration(C, Some(D)),
        migration(D, Some(C)),
    ];
    let graph = RevisionGraph::build(&orphan_and_cycle).unwrap();
    assert_eq!(ids(&graph.orphans()), [A]);
    assert_eq!(ids(&graph.find_cycle().unwrap()), [C, D]);
    assert_eq!(ids(&graph.ancestors(C)), [C, D]);
    let duplicates = [migration(A, None), migration(A, None)];
    assert!(matches!(
        RevisionGraph::build(&duplicates),
        Err(GraphError::DuplicateRevision { .. })
    ));
}
