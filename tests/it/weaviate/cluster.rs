//! A 3-node Weaviate cluster (every collection, the backend's History and
//! Lock included, replicated 3 times): migrators booting at once through
//! DIFFERENT nodes apply each migration exactly once, and a
//! `rebuild_collection` of a factor-3 collection loses no object.
//!
//! The cluster: `WEAVIATE_CLUSTER_URLS` (comma-separated, from `cargo xtask
//! services up --weaviate-nodes 3`) when set, else three nodes this test
//! starts itself on 127.0.0.1, on ports free at the time (`free_ports`), from
//! the binary that `cargo xtask services up weaviate` built, killed when the
//! test ends (also on panic).

#[path = "../../../xtask/src/services/weaviate_cluster.rs"]
mod weaviate_cluster;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use dbmigrate_core::backend::weaviate::{Call, WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate_core::backend::{Backend, RecordState};
use dbmigrate_core::{History, Migration, Migrator, Target};
use serde_json::{json, Value};
use weaviate_cluster::{LocalCluster, NodePorts};

use crate::common;
use crate::free_ports::FreePorts;

const N_OBJECTS: usize = 300;
const MIGRATORS_PER_NODE: usize = 3;

/// The nodes' URLs, and the cluster when this test started it.
fn cluster() -> (Option<LocalCluster>, Vec<String>) {
    if let Some(urls) = std::env::var("WEAVIATE_CLUSTER_URLS")
        .ok()
        .filter(|urls| !urls.is_empty())
    {
        let urls: Vec<String> = urls.split(',').map(str::to_string).collect();
        assert!(
            urls.len() >= 3,
            "WEAVIATE_CLUSTER_URLS names fewer than 3 nodes: {urls:?}"
        );
        return (None, urls);
    }
    let binary = weaviate_cluster::cached_binary().filter(|binary| binary.is_file());
    let Some(binary) = binary else {
        panic!(
            "no Weaviate cluster: run `cargo xtask services up --weaviate-nodes 3` and \
             `eval \"$(cargo xtask services env)\"` (sets WEAVIATE_CLUSTER_URLS), or build the \
             binary this test starts 3 nodes of with `cargo xtask services up weaviate` \
             (expected at {:?})",
            weaviate_cluster::cached_binary()
        )
    };
    let mut ports = FreePorts::default();
    let nodes: Vec<NodePorts> = (0..3).map(|_| node_ports(&mut ports)).collect();
    drop(ports);
    // Its own folder too: another run with this target folder may be using one.
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("weaviate-cluster-{}", nodes[0].http));
    let cluster = LocalCluster::start(&binary, &dir, nodes, Duration::from_secs(180))
        .unwrap_or_else(|e| panic!("{e}"));
    let urls = cluster.urls();
    (Some(cluster), urls)
}

/// One node's six ports, each free now; Raft's internal RPC port must be
/// Raft's + 1 on one host (`CLUSTER_IN_LOCALHOST`).
fn node_ports(ports: &mut FreePorts) -> NodePorts {
    let raft = ports.consecutive_pair();
    NodePorts {
        http: ports.tcp(),
        grpc: ports.tcp(),
        gossip: ports.tcp_and_udp(),
        data: ports.tcp(),
        raft,
        raft_rpc: raft + 1,
    }
}

fn client(url: &str, prefix: &str) -> WeaviateClient {
    let config = WeaviateConfig {
        collection_prefix: prefix.to_string(),
        ..WeaviateConfig::default()
    };
    WeaviateClient::new(url, None, config).expect("client")
}

fn migration(file_name: &str, body: &Value) -> Migration {
    dbmigrate_core::parse::parse_migration(&format!("migrations/{file_name}"), &body.to_string())
        .expect("valid migration")
}

fn timeline(notes: &str) -> Vec<Migration> {
    let create = migration(
        "20241207_1000_c1a001_notes.weaviate.json",
        &json!({"message": "notes", "up": [{"op": "create_collection", "class": {"class": notes,
            "vectorizer": "none", "replicationConfig": {"factor": 3},
            "properties": [{"name": "body", "dataType": ["text"]}, {"name": "n", "dataType": ["int"]},
                           {"name": "tag", "dataType": ["text"]}]}}],
            "down": [{"op": "delete_collection", "collection": notes}]}),
    );
    let rebuild = migration(
        "20241207_1100_c1a002_reshape_notes.weaviate.json",
        &json!({"message": "reshape notes", "revises": create.revision_id, "irreversible": true,
            "up": [{"op": "rebuild_collection", "collection": notes, "drop_properties": ["tag"],
                    "rename_properties": {"body": "text"}, "batch_size": 70}],
            "down": []}),
    );
    let extend = migration(
        "20241207_1200_c1a003_notes_after.weaviate.json",
        &json!({"message": "after", "revises": rebuild.revision_id, "irreversible": true,
            "up": [{"op": "add_property", "collection": notes, "property": {"name": "after", "dataType": ["text"]}}],
            "down": []}),
    );
    vec![create, rebuild, extend]
}

async fn expect(client: &WeaviateClient, method: &str, path: &str, body: Option<Value>) -> Value {
    client
        .expect(&Call::new(method, path, body))
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Every object of `collection` as one node lists it: id → (properties, vector).
async fn objects(client: &WeaviateClient, collection: &str) -> BTreeMap<String, (Value, Value)> {
    let (mut all, mut after) = (BTreeMap::new(), String::new());
    loop {
        let path = format!("/v1/objects?class={collection}&limit=400&include=vector{after}");
        let page = expect(client, "GET", &path, None).await;
        let objects = page["objects"].as_array().cloned().unwrap_or_default();
        let Some(last) = objects.last() else {
            return all;
        };
        after = format!("&after={}", last["id"].as_str().unwrap());
        for object in &objects {
            let id = object["id"].as_str().unwrap().to_string();
            all.insert(id, (object["properties"].clone(), object["vector"].clone()));
        }
    }
}

/// Drops the test's collections through node 1, also when an assertion fails.
struct Cleanup {
    url: String,
    prefix: String,
    notes: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (url, prefix, notes) = (&self.url, &self.prefix, &self.notes);
        std::thread::scope(|threads| {
            threads.spawn(|| {
                let runtime = tokio::runtime::Runtime::new().expect("runtime");
                runtime.block_on(async {
                    let client = client(url, prefix);
                    let schema = expect(&client, "GET", "/v1/schema", None).await;
                    for class in schema["classes"].as_array().into_iter().flatten() {
                        let name = class["class"].as_str().unwrap_or_default();
                        if name.starts_with(prefix.as_str()) || name.starts_with(notes.as_str()) {
                            let _ = client
                                .send(&Call::new("DELETE", format!("/v1/schema/{name}"), None))
                                .await;
                        }
                    }
                });
            });
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrators_on_different_nodes_apply_once_and_a_replicated_rebuild_loses_nothing() {
    let (_cluster, urls) = cluster();
    let suffix = common::unique_suffix();
    let prefix = format!("Dbm{suffix}");
    let notes = format!("Notes_{suffix}");
    let _cleanup = Cleanup {
        url: urls[0].clone(),
        prefix: prefix.clone(),
        notes: notes.clone(),
    };
    let nodes: Vec<WeaviateClient> = urls.iter().map(|url| client(url, &prefix)).collect();
    let migrator = |node: &WeaviateClient| {
        Migrator::from_history(History::new(timeline(&notes)).expect("timeline"))
            .backend(Box::new(WeaviateBackend::new(node.clone())))
            .lock_timeout(Duration::from_secs(120))
    };
    migrator(&nodes[0])
        .upgrade(Target::Revision("20241207_1000_c1a001".into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let inserted: Vec<Value> = (0..N_OBJECTS)
        .map(|i| {
            json!({"class": notes, "id": format!("30000000-0000-4000-8000-{i:012}"),
                   "properties": {"body": format!("note {i}"), "n": i, "tag": "x"},
                   "vector": [i as f32 / 300.0, 0.5, -0.25, (i % 7) as f32]})
        })
        .collect();
    // Written through node 2 on all three replicas, once every node has
    // the new collection's shard.
    loop {
        let results = expect(
            &nodes[1],
            "POST",
            "/v1/batch/objects?consistency_level=ALL",
            Some(json!({ "objects": inserted })),
        )
        .await;
        let results = results.to_string();
        if !results.contains("\"errors\":{") {
            break;
        }
        assert!(results.contains("could not find index"), "{results}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = objects(&nodes[2], &notes).await;
    assert_eq!(before.len(), N_OBJECTS);

    // Nine migrators, three through each node, boot at the same moment.
    let runs = nodes.iter().flat_map(|node| {
        (0..MIGRATORS_PER_NODE).map(|_| {
            let runner = migrator(node);
            tokio::spawn(async move { runner.upgrade(Target::Head).await })
        })
    });
    let mut n_applied = 0;
    for run in runs.collect::<Vec<_>>() {
        let report = run
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("a boot failed: {e}"));
        n_applied += report.applied.len();
    }
    assert_eq!(n_applied, 2, "each pending migration applied exactly once");

    for node in &nodes {
        let history = WeaviateBackend::new(node.clone())
            .read_history()
            .await
            .unwrap();
        let revisions: Vec<&str> = history.iter().map(|r| r.revision_id.as_str()).collect();
        assert_eq!(
            revisions,
            [
                "20241207_1000_c1a001",
                "20241207_1100_c1a002",
                "20241207_1200_c1a003"
            ],
            "history through {}",
            node.location()
        );
        assert!(history.iter().all(|r| r.state == RecordState::Applied));
        let reshaped: BTreeMap<String, (Value, Value)> = before
            .iter()
            .map(|(id, (properties, vector))| {
                let shaped = json!({"text": properties["body"], "n": properties["n"]});
                (id.clone(), (shaped, vector.clone()))
            })
            .collect();
        assert_eq!(
            objects(node, &notes).await,
            reshaped,
            "objects through {}",
            node.location()
        );
    }
    let class = expect(&nodes[2], "GET", &format!("/v1/schema/{notes}"), None).await;
    assert_eq!(class["replicationConfig"]["factor"], 3, "{class}");
    let history_class = expect(
        &nodes[1],
        "GET",
        &format!("/v1/schema/{prefix}History"),
        None,
    )
    .await;
    assert_eq!(
        history_class["replicationConfig"]["factor"], 3,
        "{history_class}"
    );
}
