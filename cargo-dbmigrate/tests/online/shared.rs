//! Never on someone's real servers by accident (issue 11.7): `test` refuses
//! a Neo4j or Weaviate server that already holds what the migrations create,
//! unless `--on-shared-server` names it, and leaves none of its own
//! bookkeeping behind. Against the real servers; every object a test makes
//! is removed by [`Scratch`], also on panic.

use dbmigrate_core::backend::neo4j::{Neo4jBackend, Neo4jConfig};
use dbmigrate_core::backend::weaviate::WeaviateBackend;
use dbmigrate_core::testing::TestBackend;

use super::{run_in, small_project};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: this test needs the real servers (`.ci/run`, or source the services' env)")
    })
}

/// A name no other test run uses.
fn unique(stem: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{stem}{}x{nanos}", std::process::id())
}

/// A Neo4j backend whose snapshot shows every object, the test
/// bookkeeping of `cargo dbmigrate test` (`__DbmigrateTest…`) included.
fn neo4j() -> Neo4jBackend {
    let backend = Neo4jBackend::connect(
        &env("NEO4J_URI"),
        &env("NEO4J_USER"),
        &env("NEO4J_PASSWORD"),
        None,
    )
    .expect("neo4j");
    let config = Neo4jConfig {
        label_prefix: "__GuardTestUnused".into(),
        ..Neo4jConfig::default()
    };
    backend.with_config(config)
}

fn weaviate() -> WeaviateBackend {
    WeaviateBackend::connect(&env("WEAVIATE_URL"), None).expect("weaviate")
}

/// Runs `script` on `backend` outside any bookkeeping.
async fn execute(backend: &dyn TestBackend, file: &str, script: &str) {
    let carrier = dbmigrate_core::parse::parse_migration(file, script).expect("carrier parses");
    backend
        .execute_script(&carrier, &carrier.up.to_string())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"));
}

async fn cypher(text: &str) {
    let file = format!("// Message: scratch\n// migrate:up\n{text}\n// migrate:down\nRETURN 1;\n");
    execute(&neo4j(), "s/20240101_0000_aaaaaa_scratch.cypher", &file).await;
}

async fn weaviate_ops(ops: &str) {
    let file = format!(r#"{{"message": "scratch", "up": {ops}, "down": {ops}}}"#);
    execute(
        &weaviate(),
        "s/20240101_0000_aaaaaa_scratch.weaviate.json",
        &file,
    )
    .await;
}

/// Names of every object on the server (Neo4j constraints and indexes,
/// Weaviate collections and aliases).
async fn names_on(backend: &dyn TestBackend) -> Vec<String> {
    let snapshot = backend.snapshot().await.expect("snapshot");
    snapshot.objects().iter().map(|o| o.name.clone()).collect()
}

/// Removes a test's Neo4j label and index and Weaviate collection when dropped.
struct Scratch {
    label: String,
    index: String,
    collection: String,
}

impl Scratch {
    fn new() -> Scratch {
        let label = unique("GuardWidget");
        Scratch {
            index: format!("{}_name", label.to_lowercase()),
            collection: unique("GuardChunk"),
            label,
        }
    }

    async fn remove(label: String, index: String, collection: String) {
        cypher(&format!(
            "DROP INDEX {index} IF EXISTS;\nMATCH (n:{label}) DETACH DELETE n;"
        ))
        .await;
        let path = format!("/v1/schema/{collection}");
        weaviate_ops(&format!(
            r#"[{{"op": "raw", "method": "DELETE", "path": "{path}"}}]"#
        ))
        .await;
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (label, index, collection) = (
            self.label.clone(),
            self.index.clone(),
            self.collection.clone(),
        );
        // Its own thread and runtime: the guard may drop inside a test's runtime.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(Scratch::remove(label, index, collection))
        })
        .join();
    }
}

fn neo4j_migration(scratch: &Scratch) -> (String, String) {
    let (label, index) = (&scratch.label, &scratch.index);
    (
        "20240101_1000_ee0001_widget_index.cypher".into(),
        format!(
            "// Message: widget index\n// Revises: base\n\n// migrate:up\n\
             CREATE INDEX {index} IF NOT EXISTS FOR (w:{label}) ON (w.name);\n\n\
             // migrate:down\nDROP INDEX {index} IF EXISTS;\n"
        ),
    )
}

fn weaviate_migration(scratch: &Scratch) -> (String, String) {
    let collection = &scratch.collection;
    (
        "20240101_1100_ee0002_chunks.weaviate.json".into(),
        format!(
            r#"{{"message": "chunks", "revises": "20240101_1000_ee0001",
  "up": [{{"op": "create_collection", "class": {{"class": "{collection}", "vectorizer": "none"}}}}],
  "down": [{{"op": "delete_collection", "collection": "{collection}"}}]}}
"#
        ),
    )
}

#[tokio::test]
async fn test_refuses_a_server_holding_the_migrations_objects_and_cleans_up_on_a_named_one() {
    let scratch = Scratch::new();
    let files = [neo4j_migration(&scratch), weaviate_migration(&scratch)];
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (_temp, root) = small_project(&files);
    let (uri, password, weaviate_url) =
        (env("NEO4J_URI"), env("NEO4J_PASSWORD"), env("WEAVIATE_URL"));
    let user = env("NEO4J_USER");
    let vars = [
        ("NEO4J_URI", uri.as_str()),
        ("NEO4J_USER", user.as_str()),
        ("NEO4J_PASSWORD", password.as_str()),
        ("WEAVIATE_URL", weaviate_url.as_str()),
    ];
    let run = |extra: &[&str]| {
        let mut args = vec!["dbmigrate", "test"];
        args.extend_from_slice(extra);
        run_in(&root, &args, &vars)
    };

    // Someone's nodes on the migrations' label, with no index to show them.
    cypher(&format!("CREATE (:{} {{name: 'theirs'}});", scratch.label)).await;
    let (code, out, err) = run(&[]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains(&format!("nodes labelled {}", scratch.label)),
        "{err}"
    );
    cypher(&format!("MATCH (n:{}) DETACH DELETE n;", scratch.label)).await;

    // Someone's index on the migrations' label: `test` would drop it.
    cypher(&format!(
        "CREATE INDEX {} FOR (w:{}) ON (w.name);",
        scratch.index, scratch.label
    ))
    .await;
    let (code, out, err) = run(&[]);
    assert_eq!(code, 2, "{out}{err}");
    let index = format!("index {}", scratch.index);
    assert!(
        err.contains("the neo4j server")
            && err.contains(&index)
            && err.contains("--on-shared-server"),
        "{err}"
    );
    assert!(!err.contains(&format!(":{password}@")), "{err}");
    assert!(
        names_on(&neo4j()).await.contains(&scratch.index),
        "the index was touched"
    );

    // Someone's collection of the same name on Weaviate.
    cypher(&format!("DROP INDEX {} IF EXISTS;", scratch.index)).await;
    let ops = format!(
        r#"[{{"op": "create_collection", "class": {{"class": "{}", "vectorizer": "none"}}}}]"#,
        scratch.collection
    );
    weaviate_ops(&ops).await;
    let (code, out, err) = run(&["--on-shared-server", &uri]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("the weaviate server")
            && err.contains(&format!("collection {}", scratch.collection)),
        "{err}"
    );

    // Named as shared, on servers without those objects: the round trip
    // runs and leaves no bookkeeping of its own behind.
    let path = format!("/v1/schema/{}", scratch.collection);
    weaviate_ops(&format!(
        r#"[{{"op": "raw", "method": "DELETE", "path": "{path}"}}]"#
    ))
    .await;
    let with_password = uri.replacen("://", &format!("://{user}:{password}@"), 1);
    let (code, out, err) = run(&[
        "--on-shared-server",
        &with_password,
        "--on-shared-server",
        &weaviate_url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok  20240101_1000_ee0001 widget_index (neo4j)"),
        "{out}"
    );
    let left = names_on(&neo4j()).await;
    assert!(
        !left.iter().any(|name| name.starts_with("__DbmigrateTest")),
        "test bookkeeping left on neo4j: {left:?}"
    );
    let left = names_on(&weaviate()).await;
    assert!(
        !left.iter().any(|name| name.starts_with("DbmigrateTest")),
        "test bookkeeping left on weaviate: {left:?}"
    );
}
