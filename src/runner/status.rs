//! `status`: where every configured backend stands, problems listed
//! rather than raised.

use crate::checksum::{chain_hash, Checksum};
use crate::graph::History;

use super::checks::{Analysis, Stored};
use crate::backend::{BackendError, RecordState};

use super::error::RunError;
use super::migrator::Migrator;
use super::plan::revision_at;
use super::report::{BackendStatus, Report, Status};

impl Migrator {
    /// Where every configured backend stands; problems are listed, not raised.
    pub async fn status(&self) -> Result<Status, RunError> {
        let history = self.history()?;
        let mut report = Report::default();
        let (stored, analysis) = self.analyse_now(history, &mut report).await?;
        let migrations = history.migrations();
        let mut status = Status {
            head: migrations.last().map(|m| m.revision_id.clone()),
            current: revision_at(history, analysis.position),
            n_pending: migrations.len() - analysis.position,
            backends: Vec::new(),
            problems: analysis
                .problems
                .iter()
                .chain(&analysis.dirty)
                .map(|e| e.to_string())
                .collect(),
        };
        for store in &stored {
            status
                .backends
                .push(backend_status(history, store, &analysis)?);
        }
        Ok(status)
    }
}

/// The chain hash of what the database itself recorded: its records in
/// stored order, each revision id folded with its stored checksum. Two
/// environments show the same hash only when they hold the same revisions
/// with the same contents, whatever binary reads them. A stored checksum
/// that is not 64 hex digits is an error naming its record.
fn stored_chain_hash(store: &Stored) -> Result<Checksum, BackendError> {
    let checksums = store
        .records
        .iter()
        .map(|record| match Checksum::from_hex(&record.checksum) {
            Some(stored) => Ok((record.revision_id.as_str(), stored)),
            None => Err(BackendError::CorruptRecord {
                location: store.location.clone(),
                backend: store.kind,
                revision_id: record.revision_id.clone(),
                message: format!("its checksum `{}` is not 64 hex digits", record.checksum),
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(chain_hash(checksums.iter().map(|(id, sum)| (*id, sum))))
}

fn backend_status(
    history: &History,
    store: &Stored,
    analysis: &Analysis,
) -> Result<BackendStatus, BackendError> {
    let migrations = history.migrations();
    let last = (0..migrations.len())
        .rev()
        .find(|&i| migrations[i].backend == store.kind && analysis.applied[i] == Some(true));
    let chain = stored_chain_hash(store)?;
    Ok(BackendStatus {
        backend: store.kind,
        location: store.location.clone(),
        current: last.map(|i| migrations[i].revision_id.clone()),
        n_applied: store.records.len(),
        n_pending: (0..migrations.len())
            .filter(|&i| migrations[i].backend == store.kind && analysis.applied[i] == Some(false))
            .count(),
        chain_hash: chain.to_hex(),
        dirty: store
            .records
            .iter()
            .filter_map(|r| match r.state {
                RecordState::Dirty(d) => Some(format!("{} ({})", r.revision_id, d)),
                RecordState::Applied => None,
            })
            .collect(),
        ahead: analysis
            .ahead
            .iter()
            .filter(|(l, _)| *l == store.location)
            .map(|(_, id)| id.clone())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::backend::AppliedMigration;
    use crate::checksum::checksum;
    use crate::migration::BackendKind;

    fn hash(store: &Stored) -> Checksum {
        stored_chain_hash(store).unwrap_or_else(|e| panic!("{e}"))
    }

    fn store(records: &[(&str, &str)]) -> Stored {
        Stored {
            kind: BackendKind::Postgres,
            location: "postgres://db".into(),
            records: records
                .iter()
                .map(|(revision_id, text)| AppliedMigration {
                    revision_id: revision_id.to_string(),
                    parent: None,
                    message: String::new(),
                    checksum: checksum(text).to_hex(),
                    applied_at: SystemTime::UNIX_EPOCH,
                    duration: Duration::ZERO,
                    state: RecordState::Applied,
                    applied_by: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_chain_hash_follows_what_the_database_stored() {
        let same = hash(&store(&[("r1", "a"), ("r2", "b")]));
        assert_eq!(same, hash(&store(&[("r1", "a"), ("r2", "b")])));
        assert_ne!(same, hash(&store(&[("r1", "a"), ("r2", "edited")])));
        assert_ne!(same, hash(&store(&[("r1", "a")])));
        assert_eq!(
            same,
            chain_hash([("r1", &checksum("a")), ("r2", &checksum("b"))])
        );
    }

    #[test]
    fn a_corrupt_stored_checksum_is_an_error_naming_the_record() {
        let mut corrupt = store(&[("r1", "a"), ("r2", "b")]);
        corrupt.records[1].checksum = "not-a-checksum".into();
        let error = stored_chain_hash(&corrupt).expect_err("a corrupt checksum is reported");
        assert!(
            matches!(
                &error,
                BackendError::CorruptRecord { backend: BackendKind::Postgres, revision_id, .. }
                    if revision_id == "r2"
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("postgres history record of `r2`")
                && message.contains("`not-a-checksum` is not 64 hex digits"),
            "{message}"
        );
    }
}
