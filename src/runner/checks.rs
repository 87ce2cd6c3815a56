//! Reading the stored histories against the binary's timeline: checksums,
//! dirty records, revisions the binary does not know (ahead or in the
//! middle), gaps. The one place where these policies live.

use std::collections::{BTreeMap, HashMap};

use crate::backend::{AppliedMigration, RecordState};
use crate::graph::History;
use crate::migration::{BackendKind, Direction};

use super::error::RunError;

/// The stored history of one backend.
pub(crate) struct Stored {
    pub kind: BackendKind,
    pub location: String,
    pub records: Vec<AppliedMigration>,
}

/// The timeline as the databases hold it.
#[derive(Debug)]
pub(crate) struct Analysis {
    /// Per timeline index: applied, not applied, or unknown (backend not configured).
    pub applied: Vec<Option<bool>>,
    /// Number of timeline migrations up to and including the last applied one.
    pub position: usize,
    /// Revisions newer than the binary's head: `(location, revision_id)`.
    pub ahead: Vec<(String, String)>,
    /// Dirty records, as errors.
    pub dirty: Vec<RunError>,
    /// Edited files, unknown revisions in the middle, gaps.
    pub problems: Vec<RunError>,
}

impl Analysis {
    /// The first problem or dirty record, which stops a run.
    pub fn into_blocking_error(mut self) -> Option<RunError> {
        if !self.problems.is_empty() {
            return Some(self.problems.swap_remove(0));
        }
        if !self.dirty.is_empty() {
            return Some(self.dirty.swap_remove(0));
        }
        None
    }
}

/// Compares every stored record with the timeline.
pub(crate) fn analyse(
    history: &History,
    stored: &[Stored],
    configured: &[BackendKind],
) -> Analysis {
    let migrations = history.migrations();
    let index: HashMap<&str, usize> = migrations
        .iter()
        .enumerate()
        .map(|(i, m)| (m.revision_id.as_str(), i))
        .collect();
    let mut applied: Vec<Option<bool>> = migrations
        .iter()
        .map(|m| configured.contains(&m.backend).then_some(false))
        .collect();
    let mut analysis = Analysis {
        applied: Vec::new(),
        position: 0,
        ahead: Vec::new(),
        dirty: Vec::new(),
        problems: Vec::new(),
    };
    let mut unknown = Vec::new();
    for store in stored {
        for record in &store.records {
            if let RecordState::Dirty(direction) = record.state {
                analysis
                    .dirty
                    .push(dirty_error(history, store, record, direction));
            }
            match index.get(record.revision_id.as_str()) {
                Some(&i) => {
                    applied[i] = Some(true);
                    let migration = &migrations[i];
                    let file = migration.checksum.to_hex();
                    // A dirty record's file may have been fixed since: that is
                    // for `repair`, not an edit of an applied migration.
                    let clean = record.state == RecordState::Applied;
                    if clean && !record.checksum.eq_ignore_ascii_case(&file) {
                        analysis.problems.push(RunError::ChecksumMismatch {
                            path: migration.path.clone(),
                            revision_id: record.revision_id.clone(),
                            location: store.location.clone(),
                            applied: record.checksum.clone(),
                            file,
                        });
                    }
                }
                None => unknown.push((store, record)),
            }
        }
    }
    analysis.position = applied
        .iter()
        .rposition(|a| *a == Some(true))
        .map_or(0, |i| i + 1);
    if let Some(missing) = applied[..analysis.position]
        .iter()
        .position(|a| *a == Some(false))
    {
        analysis.problems.push(RunError::Gap {
            missing: migrations[missing].path.clone(),
            applied: migrations[analysis.position - 1].path.clone(),
        });
    }
    classify_unknown(history, stored, &unknown, &mut analysis);
    analysis.applied = applied;
    analysis
}

fn dirty_error(
    history: &History,
    store: &Stored,
    record: &AppliedMigration,
    direction: Direction,
) -> RunError {
    let path = history
        .migrations()
        .iter()
        .find(|m| m.revision_id == record.revision_id)
        .map_or_else(|| "unknown file".to_string(), |m| m.path.clone());
    if let Some(progress) = &record.progress {
        return RunError::Interrupted {
            location: store.location.clone(),
            revision_id: record.revision_id.clone(),
            path,
            progress: progress.summary.clone(),
        };
    }
    RunError::Dirty {
        location: store.location.clone(),
        revision_id: record.revision_id.clone(),
        path,
        direction: direction.as_str(),
    }
}

/// Sorts unknown revisions into "ahead" (they continue after the binary's
/// head, following stored parents) and "in the middle" (refused).
fn classify_unknown(
    history: &History,
    stored: &[Stored],
    unknown: &[(&Stored, &AppliedMigration)],
    analysis: &mut Analysis,
) {
    let migrations = history.migrations();
    let head = migrations.last().map(|m| m.revision_id.as_str());
    let all_applied = analysis.position == migrations.len();
    let parents: BTreeMap<&str, Option<&str>> = stored
        .iter()
        .flat_map(|s| s.records.iter())
        .map(|r| (r.revision_id.as_str(), r.parent.as_deref()))
        .collect();
    let known = |id: &str| migrations.iter().any(|m| m.revision_id == id);
    for (store, record) in unknown {
        let mut cursor = record.parent.as_deref();
        let mut hops = 0;
        let verdict = loop {
            hops += 1;
            match cursor {
                None => break Err(String::new()),
                Some(id) if known(id) => {
                    break if Some(id) == head && all_applied {
                        Ok(())
                    } else {
                        Err(format!(" (it follows `{id}`)"))
                    };
                }
                Some(id) => match parents.get(id) {
                    Some(parent) if hops <= parents.len() => cursor = *parent,
                    // The chain leaves what we can see (a backend not configured).
                    _ => {
                        break if all_applied {
                            Ok(())
                        } else {
                            Err(String::new())
                        }
                    }
                },
            }
        };
        match verdict {
            Ok(()) => analysis
                .ahead
                .push((store.location.clone(), record.revision_id.clone())),
            Err(after) => analysis.problems.push(RunError::UnknownRevision {
                location: store.location.clone(),
                revision_id: record.revision_id.clone(),
                after,
            }),
        }
    }
}
