//! Round-trip (stairway) testing harness: proves every migration's up and
//! down are inverse against real databases, and hands each step's schema
//! snapshot to the caller for review (insta).
//!
//! Declares and re-exports only.

mod diff;

pub use diff::{diff_lines, DiffLine, SnapshotDiff};
