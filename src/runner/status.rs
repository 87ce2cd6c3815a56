//! `status`: where every configured backend stands, problems listed
//! rather than raised.

use crate::graph::History;

use super::checks::{Analysis, Stored};
use crate::backend::RecordState;

use super::error::{direction_word, RunError};
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
                .push(backend_status(history, store, &analysis));
        }
        Ok(status)
    }
}

fn backend_status(history: &History, store: &Stored, analysis: &Analysis) -> BackendStatus {
    let migrations = history.migrations();
    let last = (0..migrations.len())
        .rev()
        .find(|&i| migrations[i].backend == store.kind && analysis.applied[i] == Some(true));
    let chain = history.chain_hash_upto(last);
    BackendStatus {
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
                RecordState::Dirty(d) => Some(format!("{} ({})", r.revision_id, direction_word(d))),
                RecordState::Applied => None,
            })
            .collect(),
        ahead: analysis
            .ahead
            .iter()
            .filter(|(l, _)| *l == store.location)
            .map(|(_, id)| id.clone())
            .collect(),
    }
}
