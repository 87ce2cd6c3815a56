//! A lock holder frozen *inside* an open Neo4j transaction (as SIGSTOP
//! leaves it: the connection open, the transaction holding its locks on
//! the data, the lock node and its history node) does not block the run
//! that takes its lapsed lease over, and cannot commit once it resumes.

use std::time::Duration;

use dbmigrate_core::backend::lease::{Checkpoint, PauseHook};
use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::Backend;
use dbmigrate_core::{History, Migration, Migrator, Target};

use super::lock::Scratch;
use super::support::*;
use crate::pause::Stall;

/// Short, so the frozen holder's lease lapses soon.
const LEASE: Duration = Duration::from_secs(2);
/// The successor's wait for the migration lock.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A counter created, incremented by the second step (which locks it until
/// its transaction ends), and a third step.
fn counter_steps(label: &str) -> Vec<Migration> {
    let ids = [
        "20240108_0000_f0e001",
        "20240108_0100_f0e002",
        "20240108_0200_f0e003",
    ];
    let ups = [
        format!("CREATE (:{label} {{name: 'counter', n: 0}});"),
        format!("MATCH (c:{label} {{name: 'counter'}}) SET c.n = c.n + 1;"),
        format!("CREATE (:{label} {{name: 'third'}});"),
    ];
    let downs = [
        format!("MATCH (c:{label} {{name: 'counter'}}) DELETE c;"),
        format!("MATCH (c:{label} {{name: 'counter'}}) SET c.n = c.n - 1;"),
        format!("MATCH (c:{label} {{name: 'third'}}) DELETE c;"),
    ];
    (0..3)
        .map(|k| cypher(ids[k], k.checked_sub(1).map(|p| ids[p]), &ups[k], &downs[k]))
        .collect()
}

fn migrator(names: &Names, migrations: &[Migration], hook: Option<PauseHook>) -> Migrator {
    let config = Neo4jConfig {
        label_prefix: names.prefix.clone(),
        lease: LEASE,
        ..Neo4jConfig::default()
    };
    let mut backend = Neo4jBackend::new(graph(), config);
    if let Some(hook) = hook {
        backend = backend.with_pause_hook(hook);
    }
    Migrator::from_history(History::new(migrations.to_vec()).expect("line"))
        .backend(Box::new(backend))
        .lock_timeout(LOCK_WAIT)
}

/// Holder A freezes at `point` of the second step, inside its transaction
/// (the counter locked; at [`Checkpoint::InTransaction`] also the lock node
/// and the history node); B takes over and finishes; A resumes and fails.
async fn a_frozen_transaction_does_not_block_the_takeover(point: Checkpoint) {
    let scratch = Scratch(names("Frozen"));
    let (names, graph) = (&scratch.0, graph());
    let migrations = counter_steps(&names.label);
    let stall = Stall::at(point, &migrations[1].revision_id);
    let holder = migrator(names, &migrations, Some(stall.hook.clone()));
    let mut holder = tokio::spawn(async move { holder.upgrade(Target::Head).await });
    tokio::select! {
        () = stall.reached() => {}
        ended = &mut holder => panic!("the holder ended before its stall: {:?}", ended.map(|r| r.map(|r| r.applied.len()))),
    }

    // Without the fix the successor waits on the frozen transaction's locks
    // for as long as it stays open, i.e. forever here: a hang guard far
    // beyond its lock wait turns that into a failure.
    let successor = migrator(names, &migrations, None);
    let successor = tokio::time::timeout(LOCK_WAIT * 3, successor.upgrade(Target::Head))
        .await
        .expect("the successor stayed blocked behind the frozen holder's transaction")
        .expect("the successor takes the lapsed lease over");
    assert_eq!(successor.applied.len(), 2, "steps 2 and 3");

    stall.release();
    let error = holder
        .await
        .expect("task")
        .expect_err("the frozen holder's transaction cannot commit");
    assert!(error.to_string().contains("was lost"), "{error}");

    let counter = format!(
        "MATCH (c:{} {{name: 'counter'}}) RETURN c.n AS n",
        names.label
    );
    assert_eq!(count(&graph, &counter).await, 1, "step 2 took effect once");
    let third = format!(
        "MATCH (c:{} {{name: 'third'}}) RETURN count(c) AS n",
        names.label
    );
    assert_eq!(count(&graph, &third).await, 1, "step 3 took effect once");
    let history = backend(&graph, names, LEASE)
        .read_history()
        .await
        .expect("history");
    assert_eq!(history.len(), 3, "{history:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_frozen_before_its_commit_does_not_block_the_takeover() {
    a_frozen_transaction_does_not_block_the_takeover(Checkpoint::InTransaction).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_frozen_holding_data_locks_does_not_block_the_takeover() {
    a_frozen_transaction_does_not_block_the_takeover(Checkpoint::MidStep).await;
}
