//! The lease lock through the `Migrator`: a holder stalled past its lease is
//! fenced out (every effect at most once; between steps exactly once), many
//! migrators booting at once over Neo4j and Weaviate never fail, and the
//! lock contract when already held.

use std::time::Duration;

use dbmigrate_core::backend::lease::{Checkpoint, PauseHook};
use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::weaviate::{WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate_core::backend::{Backend, BackendError, RecordChange};
use dbmigrate_core::{History, Migration, Migrator, Target};
use serde_json::json;

use super::scope::Scope;
use crate::common;
use crate::pause::Stall;

/// Short, so a stalled holder loses its lease quickly; the stall itself is
/// an event (the hook), never a sleep.
const LEASE: Duration = Duration::from_secs(4);

/// Deletes every collection (and Neo4j node label) carrying the test's
/// suffix when dropped, also on panic.
struct Scratch {
    scope: Scope,
    neo4j_prefix: String,
}

impl Scratch {
    fn new() -> Scratch {
        let config = WeaviateConfig {
            lease_ttl: LEASE,
            ..WeaviateConfig::default()
        };
        let scope = Scope::with_config(config);
        let neo4j_prefix = format!("__{}_", scope.prefix());
        Scratch {
            scope,
            neo4j_prefix,
        }
    }

    fn suffix(&self) -> String {
        self.scope.prefix().trim_start_matches("Dbm").to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (suffix, neo4j_prefix) = (self.suffix(), self.neo4j_prefix.clone());
        // A client of its own: the test's pooled connections belong to the
        // test's runtime, which a current_thread test blocks in `join`
        // below, so a request on them stalled until reqwest gave up (60 s).
        let client = self.scope.with_new_client().client;
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let call = dbmigrate_core::backend::weaviate::Call::new("GET", "/v1/schema", None);
                let schema = client.expect(&call).await.unwrap_or_default();
                for class in schema["classes"].as_array().into_iter().flatten() {
                    let name = class["class"].as_str().unwrap_or_default();
                    if name.contains(&suffix) {
                        let path = format!("/v1/schema/{name}");
                        let delete =
                            dbmigrate_core::backend::weaviate::Call::new("DELETE", path, None);
                        let _ = client.send(&delete).await;
                    }
                }
                let graph = neo4j_graph();
                for label in ["Migration", "Lock", "Boot"] {
                    let query = format!("MATCH (n:`{neo4j_prefix}{label}`) DETACH DELETE n");
                    let _ = graph.run(neo4rs::query(&query)).await;
                }
                for constraint in ["Migration_revision_id", "Lock_name"] {
                    let query = format!("DROP CONSTRAINT `{neo4j_prefix}{constraint}` IF EXISTS");
                    let _ = graph.run(neo4rs::query(&query)).await;
                }
            });
        })
        .join();
    }
}

fn neo4j_graph() -> neo4rs::Graph {
    let (uri, user, password) = common::neo4j_config();
    let config = neo4rs::ConfigBuilder::default()
        .uri(uri)
        .user(user)
        .password(password)
        .build()
        .expect("NEO4J_URI");
    neo4rs::Graph::connect(config).expect("connect to NEO4J_URI")
}

fn weaviate(scratch: &Scratch, hook: Option<PauseHook>) -> WeaviateBackend {
    let backend = scratch.scope.backend();
    match hook {
        Some(hook) => backend.with_pause_hook(hook),
        None => backend,
    }
}

fn migration(
    scratch: &Scratch,
    id: &str,
    parent: Option<&str>,
    up: serde_json::Value,
    down: serde_json::Value,
) -> Migration {
    let mut file = json!({"message": format!("step {id}"), "up": up, "down": down});
    if let Some(parent) = parent {
        file["revises"] = json!(parent);
    }
    scratch
        .scope
        .migration(&format!("{id}_step.weaviate.json"), &file.to_string())
}

/// A collection, then steps that each insert objects saying which step
/// (and which operation) they are: inserting twice would show twice.
fn effects(scratch: &Scratch, ops_per_step: usize) -> (String, Vec<Migration>) {
    let collection = scratch.scope.collection("Effect");
    let ids = [
        "20240108_0000_fce101",
        "20240108_0100_fce102",
        "20240108_0200_fce103",
    ];
    let create = json!([{"op": "create_collection", "class": {"class": collection, "vectorizer": "none",
        "properties": [{"name": "step", "dataType": ["int"]}]}}]);
    let delete = json!([{"op": "delete_collection", "collection": collection}]);
    let mut migrations = vec![migration(scratch, ids[0], None, create, delete)];
    for k in 1..3 {
        let insert: Vec<_> = (0..ops_per_step)
            .map(|_| {
                json!({"op": "raw", "method": "POST", "path": "/v1/objects",
                "body": {"class": collection, "properties": {"step": k}}})
            })
            .collect();
        let remove = json!([{"op": "raw", "method": "DELETE", "path": "/v1/batch/objects",
            "body": {"match": {"class": collection, "where": {"path": ["step"], "operator": "Equal", "valueInt": k}}}}]);
        migrations.push(migration(
            scratch,
            ids[k],
            Some(ids[k - 1]),
            json!(insert),
            remove,
        ));
    }
    (collection, migrations)
}

fn migrator(migrations: &[Migration], backend: WeaviateBackend) -> Migrator {
    Migrator::from_history(History::new(migrations.to_vec()).expect("line"))
        .backend(Box::new(backend))
        .lock_timeout(Duration::from_secs(120))
}

async fn objects_of_step(scratch: &Scratch, collection: &str, step: i64) -> usize {
    let objects = scratch.scope.objects(collection).await;
    objects
        .values()
        .filter(|(properties, _)| properties["step"] == step)
        .count()
}

/// Holder A stalls at `point` of the second step past its lease; B takes
/// over; A resumes and must fail without running anything twice.
async fn stall_then_take_over(
    point: Checkpoint,
    nth: usize,
    ops_per_step: usize,
) -> (Scratch, String, Result<usize, String>) {
    let scratch = Scratch::new();
    let (collection, migrations) = effects(&scratch, ops_per_step);
    let stall = Stall::at_nth(point, &migrations[1].revision_id, nth);
    let holder = migrator(&migrations, weaviate(&scratch, Some(stall.hook.clone())));
    let mut holder = tokio::spawn(async move { holder.upgrade(Target::Head).await });
    tokio::select! {
        () = stall.reached() => {}
        ended = &mut holder => panic!("the holder ended before its stall: {:?}", ended.map(|r| r.map(|r| r.applied.len()))),
    }
    let successor = migrator(&migrations, weaviate(&scratch, None))
        .upgrade(Target::Head)
        .await
        .map(|report| report.applied.len())
        .map_err(|e| e.to_string());
    stall.release();
    let error = holder
        .await
        .expect("task")
        .expect_err("the stalled holder is fenced out");
    assert!(error.to_string().contains("was lost"), "{error}");
    (scratch, collection, successor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stalled_past_its_lease_between_steps_is_fenced_out() {
    let (scratch, collection, successor) = stall_then_take_over(Checkpoint::BeforeStep, 1, 1).await;
    assert_eq!(successor, Ok(2), "the successor applies steps 2 and 3");
    for step in 1..3 {
        assert_eq!(
            objects_of_step(&scratch, &collection, step).await,
            1,
            "step {step} took effect once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stalled_past_its_lease_inside_a_step_makes_no_further_call() {
    // Weaviate cannot commit a step atomically: the stalled holder left the
    // step recorded dirty, so the successor stops there for a human (never
    // guessing), and the fenced-out holder runs none of its operations.
    let (scratch, collection, successor) = stall_then_take_over(Checkpoint::MidStep, 1, 2).await;
    let error = successor.expect_err("the successor stops at the dirty record");
    assert!(
        error.contains("fce102") && error.contains("dirty"),
        "{error}"
    );
    assert_eq!(
        objects_of_step(&scratch, &collection, 1).await,
        0,
        "no operation of the stalled step ran"
    );
    assert_eq!(objects_of_step(&scratch, &collection, 2).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_holder_stalled_past_its_lease_between_two_calls_of_a_step_runs_no_more() {
    // Paused after the step's first call took effect, before its second
    // (issue 13.1, mid-step): the successor finds the step dirty and stops
    // for `repair`; the stale holder, resumed, makes no further call, so the
    // first call's object exists exactly once and none is lost or doubled.
    let (scratch, collection, successor) = stall_then_take_over(Checkpoint::MidStep, 2, 3).await;
    let error = successor.expect_err("the successor stops at the dirty record");
    assert!(
        error.contains("fce102") && error.contains("dirty"),
        "{error}"
    );
    assert_eq!(
        objects_of_step(&scratch, &collection, 1).await,
        1,
        "the call made before the stall took effect once; none after it ran"
    );
    assert_eq!(objects_of_step(&scratch, &collection, 2).await, 0);
    let history = scratch
        .scope
        .backend()
        .read_history()
        .await
        .expect("history");
    let states: Vec<String> = history
        .iter()
        .map(|record| format!("{}:{:?}", record.revision_id, record.state))
        .collect();
    assert_eq!(history.len(), 2, "{states:?}");
    assert!(
        states[1].starts_with("20240108_0100_fce102") && states[1].contains("Dirty"),
        "the stalled step stays dirty for repair: {states:?}"
    );
}

#[tokio::test]
async fn lock_is_a_no_op_for_its_holder_and_a_timeout_names_the_holder() {
    let scratch = Scratch::new();
    let holder = weaviate(&scratch, None);
    holder
        .lock("holder-host pid 1", Duration::from_secs(10))
        .await
        .unwrap();
    holder
        .lock("holder-host pid 1", Duration::ZERO)
        .await
        .expect("already held: returns at once");
    let waiter = weaviate(&scratch, None);
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

/// Round `r` adds a Neo4j step (one node) and a Weaviate step (one
/// collection) to the timeline; `MIGRATORS` boot at once every round.
const MIGRATORS: usize = 24;
const ROUNDS: usize = 3;

fn interleaved(scratch: &Scratch, rounds: usize) -> Vec<Migration> {
    let mut migrations: Vec<Migration> = Vec::new();
    for r in 0..rounds {
        let parent = migrations.last().map(|m| m.revision_id.clone());
        let id = format!("20240109_{r:02}00_b00{r}0a");
        let label = format!("{}Boot", scratch.neo4j_prefix);
        let text = format!(
            "// Message: boot {r}\n{}\n// migrate:up\nCREATE (:`{label}` {{round: {r}}});\n\n// migrate:down\nMATCH (n:`{label}` {{round: {r}}}) DELETE n;\n",
            parent.as_deref().map(|p| format!("// Revises: {p}\n")).unwrap_or_default()
        );
        migrations.push(
            dbmigrate_core::parse::parse_migration(&format!("migrations/{id}_boot.cypher"), &text)
                .expect("cypher"),
        );
        let collection = scratch.scope.collection(&format!("Boot{r}"));
        let up = json!([{"op": "create_collection", "class": {"class": collection, "vectorizer": "none"}}]);
        let down = json!([{"op": "delete_collection", "collection": collection}]);
        let id_w = format!("20240109_{r:02}30_b00{r}0b");
        migrations.push(migration(scratch, &id_w, Some(&id), up, down));
    }
    migrations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_migrators_booting_at_once_over_neo4j_and_weaviate_never_fail() {
    let scratch = Scratch::new();
    let graph = neo4j_graph();
    let url = common::weaviate_url();
    for round in 1..=ROUNDS {
        let migrations = interleaved(&scratch, round);
        let tasks: Vec<_> = (0..MIGRATORS)
            .map(|i| {
                let neo4j = Neo4jBackend::new(
                    graph.clone(),
                    Neo4jConfig {
                        label_prefix: scratch.neo4j_prefix.clone(),
                        ..Neo4jConfig::default()
                    },
                );
                let config = WeaviateConfig {
                    collection_prefix: scratch.scope.prefix().to_owned(),
                    ..WeaviateConfig::default()
                };
                let weaviate =
                    WeaviateBackend::new(WeaviateClient::new(&url, None, config).expect("client"));
                let migrator = migrator(&migrations, weaviate)
                    .backend(Box::new(neo4j))
                    .applied_by(format!("replica {i}"));
                tokio::spawn(async move {
                    migrator
                        .upgrade(Target::Head)
                        .await
                        .map(|r| r.applied.len())
                })
            })
            .collect();
        let mut n_applied = 0;
        for task in tasks {
            n_applied += task
                .await
                .expect("task")
                .unwrap_or_else(|e| panic!("round {round}: a migrator failed: {e}"));
        }
        assert_eq!(
            n_applied, 2,
            "round {round}: its two new steps, each applied once"
        );
    }
    let label = format!("{}Boot", scratch.neo4j_prefix);
    let query = format!("MATCH (n:`{label}`) RETURN count(n) AS n");
    let mut rows = graph.execute(neo4rs::query(&query)).await.expect("count");
    let nodes: i64 = rows
        .next()
        .await
        .expect("row")
        .expect("row")
        .get("n")
        .expect("n");
    assert_eq!(nodes, ROUNDS as i64, "one node per round");
}

#[tokio::test]
async fn a_record_write_by_a_holder_whose_lease_was_taken_over_is_refused() {
    let scope = Scope::new();
    let backend = scope.backend();
    backend.ensure_history().await.unwrap();
    backend
        .lock("stale holder", Duration::from_secs(10))
        .await
        .unwrap();
    // Another run took the lock over (as after this one stalled past its
    // lease): the next fence marker collection exists.
    let lock = format!("{}Lock", scope.prefix());
    let schema = scope.send("GET", "/v1/schema", None).await;
    let fence = schema["classes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            c["class"]
                .as_str()?
                .strip_prefix(&lock)?
                .parse::<u64>()
                .ok()
        })
        .max()
        .expect("a fence marker");
    let next = json!({"class": format!("{lock}{}", fence + 1), "vectorizer": "none"});
    scope.send("POST", "/v1/schema", Some(next)).await;
    let migration = scope.edututor("20241203_0900_f6a7b8_text_chunk_collection.weaviate.json");
    let stamp = RecordChange::Applied {
        migration: &migration,
        applied_by: "stale holder",
    };
    let error = backend.write_record(stamp).await.unwrap_err();
    assert!(matches!(error, BackendError::LockLost { .. }), "{error}");
    assert!(
        backend.read_history().await.unwrap().is_empty(),
        "a stale holder wrote a record"
    );
    drop(backend);
    scope.cleanup(&[]).await;
}
