//! The lease lock through the `Migrator`: a holder stalled past its lease
//! (at a step boundary, inside a step's transaction) is fenced out and
//! every effect happens once; the lock contract when already held.

use std::time::Duration;

use dbmigrate_core::backend::lease::{Checkpoint, PauseHook};
use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::{Backend, BackendError, RecordChange};
use dbmigrate_core::{History, Migration, Migrator, Target};

use super::support::*;
use crate::pause::Stall;

/// Short, so a stalled holder loses its lease quickly; the stall itself is
/// an event (the hook), never a sleep.
const LEASE: Duration = Duration::from_secs(4);

/// Removes the test's nodes and bookkeeping when dropped, also on panic.
pub(super) struct Scratch(pub Names);

impl Drop for Scratch {
    fn drop(&mut self) {
        let names = Names {
            prefix: self.0.prefix.clone(),
            label: self.0.label.clone(),
        };
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(cleanup(&graph(), &names, &[]));
        })
        .join();
    }
}

/// Three data steps, each creating one node that says which step it is.
fn effects(label: &str) -> Vec<Migration> {
    let ids = [
        "20240107_0000_fce001",
        "20240107_0100_fce002",
        "20240107_0200_fce003",
    ];
    (0..3)
        .map(|k| {
            cypher(
                ids[k],
                k.checked_sub(1).map(|p| ids[p]),
                &format!("CREATE (:{label} {{step: {k}}});"),
                &format!("MATCH (n:{label} {{step: {k}}}) DELETE n;"),
            )
        })
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
        .lock_timeout(Duration::from_secs(120))
}

/// Holder A stalls at `point` of the second step past its lease; B takes
/// over and finishes; A resumes and must fail without a second effect.
async fn a_stalled_holder_is_fenced_out(point: Checkpoint) {
    let names = names("Fence");
    let scratch = Scratch(names);
    let (names, graph) = (&scratch.0, graph());
    let migrations = effects(&names.label);
    let stall = Stall::at(point, &migrations[1].revision_id);
    let holder = migrator(names, &migrations, Some(stall.hook.clone()));
    let mut holder = tokio::spawn(async move { holder.upgrade(Target::Head).await });
    tokio::select! {
        () = stall.reached() => {}
        ended = &mut holder => panic!("the holder ended before its stall: {:?}", ended.map(|r| r.map(|r| r.applied.len()))),
    }

    let successor = migrator(names, &migrations, None)
        .upgrade(Target::Head)
        .await
        .expect("the successor takes the lapsed lease over");
    assert_eq!(successor.applied.len(), 2, "steps 2 and 3");
    stall.release();
    let error = holder
        .await
        .expect("task")
        .expect_err("the stalled holder is fenced out");
    assert!(error.to_string().contains("was lost"), "{error}");

    for k in 0..3 {
        let query = format!(
            "MATCH (n:{} {{step: {k}}}) RETURN count(n) AS n",
            names.label
        );
        assert_eq!(count(&graph, &query).await, 1, "step {k} took effect once");
    }
    let history = backend(&graph, names, LEASE)
        .read_history()
        .await
        .expect("history");
    assert_eq!(history.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stalled_past_its_lease_between_steps_is_fenced_out() {
    a_stalled_holder_is_fenced_out(Checkpoint::BeforeStep).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stalled_past_its_lease_inside_a_step_cannot_commit() {
    a_stalled_holder_is_fenced_out(Checkpoint::MidStep).await;
}

#[tokio::test]
async fn lock_is_a_no_op_for_its_holder_and_a_timeout_names_the_holder() {
    let scratch = Scratch(names("Contract"));
    let names = &scratch.0;
    let holder = backend(&graph(), names, LEASE);
    holder
        .lock("holder-host pid 1", Duration::from_secs(10))
        .await
        .unwrap();
    holder
        .lock("holder-host pid 1", Duration::ZERO)
        .await
        .expect("already held: returns at once");
    let waiter = backend(&graph(), names, LEASE);
    let error = waiter
        .lock("waiter", Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::LockTimeout { .. }), "{error}");
    assert!(error.to_string().contains("holder-host pid 1"), "{error}");
    holder.unlock().await.unwrap();
    waiter
        .lock("waiter", Duration::from_secs(10))
        .await
        .expect("free after one unlock");
    waiter.unlock().await.unwrap();
}

#[tokio::test]
async fn a_record_write_by_a_holder_whose_lease_was_taken_over_is_refused() {
    let scratch = Scratch(names("StaleStamp"));
    let (names, graph) = (&scratch.0, graph());
    let holder = backend(&graph, names, LEASE);
    holder.ensure_history().await.unwrap();
    holder
        .lock("stale holder", Duration::from_secs(10))
        .await
        .unwrap();
    // Another run took the lock over (as after this one stalled past its
    // lease): the lock node carries a higher fencing token.
    let takeover = format!(
        "MATCH (l:`{}Lock` {{name: 'lock'}}) SET l.fence = l.fence + 1, l.holder = 'the run that took over'",
        names.prefix
    );
    graph.run(neo4rs::query(&takeover)).await.unwrap();
    let migrations = effects(&names.label);
    let stamp = RecordChange::Applied {
        migration: &migrations[0],
        applied_by: "stale holder",
    };
    let error = holder.write_record(stamp).await.unwrap_err();
    assert!(matches!(error, BackendError::LockLost { .. }), "{error}");
    assert!(
        holder.read_history().await.unwrap().is_empty(),
        "a stale holder wrote a record"
    );
}

/// Neo4j clusters (Enterprise) are reached through routing `neo4j://` URIs
/// that send writes to the leader; here the routing URI points at the one
/// Community server, which must answer the routing table itself.
#[tokio::test]
async fn a_routing_uri_to_the_single_server_migrates_under_the_lock() {
    let scratch = Scratch(names("Routing"));
    let names = &scratch.0;
    let (uri, user, password) = crate::common::neo4j_config();
    let routing = uri.replacen("bolt://", "neo4j://", 1);
    assert!(routing.starts_with("neo4j://"), "{routing}");
    let backend = Neo4jBackend::connect(&routing, &user, &password, None)
        .expect("a routing URI")
        .with_config(Neo4jConfig {
            label_prefix: names.prefix.clone(),
            lease: LEASE,
            ..Neo4jConfig::default()
        });
    let history = History::new(effects(&names.label)).expect("timeline");
    let report = Migrator::from_history(history)
        .backend(Box::new(backend))
        .upgrade(Target::Head)
        .await
        .expect("upgrade over neo4j://");
    assert_eq!(report.applied.len(), 3);
    assert!(report.locked);
    let plain = backend_of(names);
    assert_eq!(plain.read_history().await.unwrap().len(), 3);
}

fn backend_of(names: &Names) -> Neo4jBackend {
    backend(&graph(), names, LEASE)
}
