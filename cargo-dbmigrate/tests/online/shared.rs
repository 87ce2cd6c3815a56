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

/// The single integer `n` a read query returns on the Neo4j server.
async fn count(query: &str) -> i64 {
    let config = neo4rs::ConfigBuilder::default()
        .uri(env("NEO4J_URI"))
        .user(env("NEO4J_USER"))
        .password(env("NEO4J_PASSWORD"))
        .build()
        .expect("neo4j config");
    let graph = neo4rs::Graph::connect(config).expect("neo4j driver");
    let mut rows = graph.execute(neo4rs::query(query)).await.expect(query);
    let row = rows.next().await.expect(query).expect("one row");
    row.get::<i64>("n").expect("n")
}

/// Names of every object on the server (Neo4j constraints and indexes,
/// Weaviate collections and aliases).
async fn names_on(backend: &dyn TestBackend) -> Vec<String> {
    let snapshot = backend.snapshot().await.expect("snapshot");
    snapshot.objects().iter().map(|o| o.name.clone()).collect()
}

/// Every `cargo dbmigrate test` keeps its bookkeeping under the same
/// `__DbmigrateTest…` / `DbmigrateTest…` names, and these tests check that
/// none is left: they take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
        on_own_runtime(Scratch::remove(label, index, collection));
    }
}

/// Runs a guard's clean-up to its end on a thread and runtime of its own:
/// the guard may drop inside a test's runtime, or while it unwinds.
fn on_own_runtime(cleanup: impl std::future::Future<Output = ()> + Send + 'static) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(cleanup)
    })
    .join();
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
    let _turn = ONE_AT_A_TIME.lock().await;
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

/// Removes a keep-going test's Neo4j labels and indexes and Weaviate
/// collections when dropped, also on panic.
struct ScratchSet {
    label: String,
    /// Someone else's label, on a node that was there before the run.
    theirs: String,
    indexes: Vec<String>,
    collections: Vec<String>,
}

impl Drop for ScratchSet {
    fn drop(&mut self) {
        let (label, theirs, indexes, collections) = (
            self.label.clone(),
            self.theirs.clone(),
            self.indexes.clone(),
            self.collections.clone(),
        );
        on_own_runtime(async move {
            cypher(&format!("MATCH (n:{theirs}) DETACH DELETE n;")).await;
            for (index, collection) in indexes.into_iter().zip(collections) {
                Scratch::remove(label.clone(), index, collection).await;
            }
        });
    }
}

/// Three Neo4j and three Weaviate migrations; the middle one of each has a
/// down that fails half-way (its first statement or call is done, the next
/// fails), so the database is left neither as the up made it nor as before.
fn keep_going_project(set: &ScratchSet) -> Vec<(String, String)> {
    let label = &set.label;
    let [a, b, c] = [0, 1, 2].map(|i| set.indexes[i].clone());
    let [x, y, z] = [0, 1, 2].map(|i| set.collections[i].clone());
    let cypher = |n: usize, parent: &str, slug: &str, up: String, down: String| {
        (
            format!("20240101_100{n}_ee010{n}_{slug}.cypher"),
            format!("// Message: {slug}\n// Revises: {parent}\n\n// migrate:up\n{up}\n\n// migrate:down\n{down}\n"),
        )
    };
    let weaviate = |n: usize, parent: &str, slug: &str, collection: &str, down: String| {
        (
            format!("20240101_110{n}_ee011{n}_{slug}.weaviate.json"),
            format!(
                r#"{{"message": "{slug}", "revises": "{parent}",
  "up": [{{"op": "create_collection", "class": {{"class": "{collection}", "vectorizer": "none"}}}}],
  "down": {down}}}
"#
            ),
        )
    };
    let delete = |collection: &str| {
        format!(r#"[{{"op": "delete_collection", "collection": "{collection}"}}]"#)
    };
    vec![
        cypher(
            1,
            "base",
            "names",
            // It also labels a node that was there before (by a property).
            format!(
                "CREATE INDEX {a} IF NOT EXISTS FOR (w:{label}) ON (w.name);\nCREATE (:{label} {{name: 'a'}});\n\
                 MATCH (n) WHERE n.keepmark = '{label}' SET n:{label};"
            ),
            format!(
                "MATCH (w:{label} {{name: 'a'}}) DETACH DELETE w;\nMATCH (n:{label}) REMOVE n:{label};\n\
                 DROP INDEX {a} IF EXISTS;"
            ),
        ),
        cypher(
            2,
            "20240101_1001_ee0101",
            "sizes",
            format!("CREATE INDEX {b} IF NOT EXISTS FOR (w:{label}) ON (w.size);"),
            // The index goes (auto-commit), then the data statement fails.
            format!("DROP INDEX {b} IF EXISTS;\nMATCH (w:{label}) SET w.ratio = 1 / 0;"),
        ),
        cypher(
            3,
            "20240101_1002_ee0102",
            "kinds",
            format!("CREATE INDEX {c} IF NOT EXISTS FOR (w:{label}) ON (w.kind);"),
            format!("DROP INDEX {c} IF EXISTS;"),
        ),
        weaviate(1, "20240101_1003_ee0103", "chunks", &x, delete(&x)),
        weaviate(
            2,
            "20240101_1101_ee0111",
            "pages",
            &y,
            // The collection goes, then a call on it fails on the server.
            format!(
                r#"[{{"op": "delete_collection", "collection": "{y}"}},
    {{"op": "raw", "method": "POST", "path": "/v1/schema/{y}/properties", "body": {{"name": "late", "dataType": ["text"]}}}}]"#
            ),
        ),
        weaviate(3, "20240101_1102_ee0112", "notes", &z, delete(&z)),
    ]
}

#[tokio::test]
async fn keep_going_rebuilds_a_neo4j_or_weaviate_down_that_failed_half_way_and_judges_the_rest() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let label = unique("KeepWidget");
    let set = ScratchSet {
        theirs: unique("KeepTheirs"),
        indexes: ["a", "b", "c"]
            .map(|s| format!("{}_{s}", label.to_lowercase()))
            .into(),
        collections: ["A", "B", "C"]
            .map(|s| unique(&format!("KeepChunk{s}")))
            .into(),
        label,
    };
    let files = keep_going_project(&set);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (_temp, root) = small_project(&files);
    let (uri, user, password, weaviate_url) = (
        env("NEO4J_URI"),
        env("NEO4J_USER"),
        env("NEO4J_PASSWORD"),
        env("WEAVIATE_URL"),
    );
    let vars = [
        ("NEO4J_URI", uri.as_str()),
        ("NEO4J_USER", user.as_str()),
        ("NEO4J_PASSWORD", password.as_str()),
        ("WEAVIATE_URL", weaviate_url.as_str()),
    ];
    // Someone's node, which the first migration labels: it must survive.
    cypher(&format!(
        "CREATE (:{} {{keepmark: '{}'}});",
        set.theirs, set.label
    ))
    .await;
    let (code, out, err) = run_in(&root, &["dbmigrate", "test", "--keep-going"], &vars);
    assert_eq!(code, 1, "{out}{err}");
    let line = |revision: &str| {
        out.lines()
            .find(|line| line.contains(revision) && !line.starts_with('['))
            .unwrap_or_else(|| panic!("no table line for {revision}:\n{out}{err}"))
            .to_string()
    };
    for failed in [
        "20240101_1002_ee0102 sizes (neo4j)",
        "20240101_1102_ee0112 pages (weaviate)",
    ] {
        let line = line(failed);
        assert!(
            line.starts_with("down failed") && line.ends_with("[rebuilt from base]"),
            "{line}\n{out}{err}"
        );
    }
    // Judged after the rebuild, not `not run`.
    for ok in [
        "20240101_1001_ee0101 names (neo4j)",
        "20240101_1003_ee0103 kinds (neo4j)",
        "20240101_1101_ee0111 chunks (weaviate)",
        "20240101_1103_ee0113 notes (weaviate)",
    ] {
        assert!(line(ok).starts_with("ok "), "{}\n{out}{err}", line(ok));
    }
    // Nothing of the run is left: its indexes, nodes, collections,
    // bookkeeping; someone's node is there, without the run's label.
    let theirs = format!("MATCH (n:{}) RETURN count(n) AS n", set.theirs);
    assert_eq!(count(&theirs).await, 1, "{out}{err}");
    let labelled = format!("MATCH (n:{}) RETURN count(n) AS n", set.label);
    assert_eq!(count(&labelled).await, 0, "{out}{err}");
    let servers: [(&dyn TestBackend, &[String], &str); 2] = [
        (&neo4j(), &set.indexes, "__DbmigrateTest"),
        (&weaviate(), &set.collections, "DbmigrateTest"),
    ];
    for (backend, made, bookkeeping) in servers {
        let left = names_on(backend).await;
        assert!(
            !left
                .iter()
                .any(|name| made.contains(name) || name.starts_with(bookkeeping)),
            "left on {}: {left:?}\n{out}{err}",
            backend.kind()
        );
    }
}
