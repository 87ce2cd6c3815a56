//! Waiting for new indexes to come online before data steps run.
//!
//! `CALL db.awaitIndexes()` holds schema locks while it waits, which blocks
//! every other schema statement on the server (another migrator, another
//! test) until all indexes are online; polling `SHOW INDEXES` holds none.

use std::time::{Duration, Instant};

use super::db::Db;

/// How long to wait for populating indexes.
pub(super) const WAIT: Duration = Duration::from_secs(300);

/// The query that lists indexes still populating (repeated until empty).
pub(super) const POPULATING: &str =
    "SHOW INDEXES YIELD name, state WHERE state = 'POPULATING' RETURN name";

/// How `plan` shows the wait.
pub(super) fn planned_text() -> String {
    format!(
        "{POPULATING}\n// repeated until it returns no row, at most {}s",
        WAIT.as_secs()
    )
}

/// Polls until no index is populating; after [`WAIT`] fails naming them.
pub(super) async fn wait_online(db: &Db) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let rows = db
            .rows(neo4rs::query(POPULATING))
            .await
            .map_err(|e| e.to_string())?;
        let names: Vec<String> = rows.iter().filter_map(|row| row.get("name").ok()).collect();
        if names.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= WAIT {
            return Err(format!(
                "indexes {} still populating after {}s; data steps need them online\n  help: run again once `SHOW INDEXES` shows them ONLINE",
                names.join(", "),
                WAIT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
