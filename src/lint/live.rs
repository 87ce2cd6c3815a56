//! Sizes read from the live databases. The lint engine links no driver: the
//! caller (the CLI) reads the catalogs and fills this in.

use std::collections::{BTreeMap, BTreeSet};

/// A PostgreSQL table's size from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSize {
    /// Estimated rows (`pg_class.reltuples`, or an exact count when small).
    pub rows: u64,
    /// Total bytes with indexes and TOAST (`pg_total_relation_size`).
    pub bytes: u64,
}

/// What the connected databases hold; empty when offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFacts {
    /// PostgreSQL tables by lower-case name (without schema).
    pub tables: BTreeMap<String, TableSize>,
    /// Neo4j node counts by label.
    pub labels: BTreeMap<String, u64>,
    /// Weaviate object counts by collection.
    pub collections: BTreeMap<String, u64>,
    /// Weaviate collections an alias points to, with the alias names.
    pub aliased: BTreeMap<String, BTreeSet<String>>,
}

/// Rows from which a Neo4j label or Weaviate collection counts as big.
pub const BIG: u64 = 100_000;

/// Objects per second a `rebuild_collection` copies, for the estimate (measured
/// order of magnitude on loopback with batches of 100; a remote cluster is slower).
pub const REBUILD_OBJECTS_PER_SECOND: u64 = 2_000;

/// `1.2 M rows, 310 MB`.
pub fn describe_table(size: TableSize) -> String {
    format!(
        "{} rows, {}",
        human_count(size.rows),
        human_bytes(size.bytes)
    )
}

/// `950`, `12 k`, `1.2 M`.
pub fn human_count(count: u64) -> String {
    match count {
        0..=9_999 => count.to_string(),
        10_000..=999_999 => format!("{} k", count / 1_000),
        _ => format!("{:.1} M", count as f64 / 1e6),
    }
}

/// `310 MB`, `3.1 GB`.
pub fn human_bytes(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let mb = bytes as f64 / MB;
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else if mb >= 1.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{} kB", bytes / 1024)
    }
}

/// `about 8 min` for a copy of `objects` objects (each is copied twice).
pub fn rebuild_estimate(objects: u64) -> String {
    let seconds = 2 * objects / REBUILD_OBJECTS_PER_SECOND;
    if seconds < 120 {
        format!("about {seconds} s")
    } else {
        format!("about {} min", seconds / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_sizes() {
        let size = TableSize {
            rows: 1_200_000,
            bytes: 310 * 1024 * 1024,
        };
        assert_eq!(describe_table(size), "1.2 M rows, 310 MB");
        assert_eq!(human_count(12_345), "12 k");
        assert_eq!(human_bytes(3_328_599_654), "3.1 GB");
        assert_eq!(rebuild_estimate(1_000_000), "about 16 min");
    }
}
