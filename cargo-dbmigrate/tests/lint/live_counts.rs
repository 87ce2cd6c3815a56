//! Live counts for Neo4j and Weaviate (issue 15): with NEO4J_URI the
//! blocking-constraint rule names the label's node count; with WEAVIATE_URL
//! the rebuild rule names the collection's object count and a copy time.
//! Each test fills its own scratch label / collection (≥ 100 k, the rules'
//! threshold) on the shared servers and removes it on drop, also on panic.

use dbmigrate_core::backend::weaviate::{Call, WeaviateClient, WeaviateConfig};
use serde_json::json;

use super::Project;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: this test needs the real servers\n  help: `source /work/services.env` or `cargo xtask services up` and `eval \"$(cargo xtask services env)\"`")
    })
}

/// A unique suffix: process id and clock nanoseconds.
fn suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{}x{nanos}", std::process::id())
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

fn graph() -> neo4rs::Graph {
    let config = neo4rs::ConfigBuilder::default()
        .uri(env("NEO4J_URI"))
        .user(std::env::var("NEO4J_USER").unwrap_or_else(|_| "neo4j".into()))
        .password(env("NEO4J_PASSWORD"))
        .build()
        .expect("neo4j config");
    neo4rs::Graph::connect(config).expect("neo4j")
}

/// Nodes of a scratch label, deleted on drop.
struct ScratchLabel(String);

impl Drop for ScratchLabel {
    fn drop(&mut self) {
        let cypher = format!("MATCH (n:`{}`) DETACH DELETE n", self.0);
        let _ = std::thread::spawn(move || block_on(graph().run(neo4rs::query(&cypher)))).join();
    }
}

fn lint(project: &Project, extra_env: &[(&str, String)]) -> serde_json::Value {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-dbmigrate"));
    command
        .args(["lint", "--format", "json"])
        .current_dir(&project.root)
        .env_remove("DATABASE_URL")
        .env_remove("NEO4J_URI")
        .env_remove("WEAVIATE_URL");
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let output = command.output().expect("run cargo-dbmigrate");
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn why_of<'a>(report: &'a serde_json::Value, rule: &str) -> Option<&'a str> {
    report["violations"]
        .as_array()?
        .iter()
        .find(|v| v["rule"] == rule)
        .and_then(|v| v["why"].as_str())
}

fn empty_project() -> Project {
    let project = Project::from_lint_fixture("postgres/fixed");
    for entry in std::fs::read_dir(project.root.join("migrations")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    project
}

#[test]
fn a_constraint_on_a_big_label_names_its_node_count() {
    let label = format!("DbmLint{}", suffix());
    let _guard = ScratchLabel(label.clone());
    block_on(graph().run(neo4rs::query(&format!(
        "UNWIND range(1, 100000) AS i CREATE (:`{label}` {{i: i}})"
    ))))
    .expect("create 100 k nodes");
    let project = empty_project();
    project.write(
        "20250301_1000_ee0001_unique_i.cypher",
        &format!("// Message: unique i\n// Revises: base\n\n// migrate:up\nCREATE CONSTRAINT {label}_i IF NOT EXISTS FOR (n:{label}) REQUIRE n.i IS UNIQUE;\n\n// migrate:down\nDROP CONSTRAINT {label}_i IF EXISTS;\n"),
    );
    // Offline the size is unknown: the rule cannot say the label is big.
    let offline = lint(&project, &[]);
    assert_eq!(why_of(&offline, "neo4j-blocking-index"), None, "{offline}");
    let connected = [
        ("NEO4J_URI", env("NEO4J_URI")),
        (
            "NEO4J_USER",
            std::env::var("NEO4J_USER").unwrap_or_else(|_| "neo4j".into()),
        ),
        ("NEO4J_PASSWORD", env("NEO4J_PASSWORD")),
    ];
    let live = lint(&project, &connected);
    let why = why_of(&live, "neo4j-blocking-index").unwrap_or_else(|| panic!("{live}"));
    assert!(
        why.contains(&format!("`:{label}` holds 100 k nodes")),
        "{why}"
    );
}

/// A scratch collection, deleted on drop.
struct ScratchCollection {
    url: String,
    name: String,
}

impl Drop for ScratchCollection {
    fn drop(&mut self) {
        // A client of its own: one whose connections belong to the test's
        // runtime can stall when driven from another.
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let client = WeaviateClient::new(&url, None, WeaviateConfig::default())
                .expect("a client for WEAVIATE_URL");
            block_on(client.send(&Call::new("DELETE", format!("/v1/schema/{name}"), None)))
        })
        .join();
    }
}

#[test]
fn a_rebuild_of_a_big_collection_names_its_object_count_and_copy_time() {
    let url = env("WEAVIATE_URL");
    let client = WeaviateClient::new(&url, None, WeaviateConfig::default()).expect("client");
    let name = format!("DbmLint{}", suffix());
    let guard = ScratchCollection {
        url: url.clone(),
        name: name.clone(),
    };
    block_on(async {
        let class = json!({ "class": name, "vectorizer": "none" });
        client
            .expect(&Call::new("POST", "/v1/schema", Some(class)))
            .await
            .expect("create the collection");
        for _ in 0..20 {
            let objects: Vec<_> = (0..5000).map(|_| json!({ "class": name })).collect();
            let body = json!({ "objects": objects });
            let answer = client
                .expect(&Call::new("POST", "/v1/batch/objects", Some(body)))
                .await
                .expect("insert a batch");
            assert!(
                answer.as_array().is_some_and(|items| items
                    .iter()
                    .all(|item| item.pointer("/result/errors").is_none())),
                "batch errors: {answer}"
            );
        }
    });
    let project = empty_project();
    project.write(
        "20250301_1000_ee0002_rebuild.weaviate.json",
        &format!("{{\n  \"message\": \"rebuild\",\n  \"revises\": \"base\",\n  \"up\": [\n    {{ \"op\": \"rebuild_collection\", \"collection\": \"{name}\" }}\n  ],\n  \"down\": [\n    {{ \"op\": \"rebuild_collection\", \"collection\": \"{name}\" }}\n  ]\n}}\n"),
    );
    // Offline the rule fires without a count.
    let offline = lint(&project, &[]);
    let why =
        why_of(&offline, "weaviate-rebuild-collection").unwrap_or_else(|| panic!("{offline}"));
    assert!(!why.contains("objects"), "{why}");
    let live = lint(&project, &[("WEAVIATE_URL", url.clone())]);
    let why = why_of(&live, "weaviate-rebuild-collection").unwrap_or_else(|| panic!("{live}"));
    assert!(
        why.contains(&format!("`{name}` holds 100 k objects, copy about 100 s")),
        "{why}"
    );
    drop(guard);
}
