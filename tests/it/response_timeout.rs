//! The Neo4j response timeout is the user's (issue 10.10): a backend
//! connected with a short `Neo4jConfig::response_timeout` fails a statement
//! the server does not answer in time (here: one waiting for a node another
//! transaction holds locked), instead of waiting the 30-minute default. The
//! test's one node has its own label and is deleted by a guard, also on panic.

use std::time::Duration;

use dbmigrate_core::backend::neo4j::{neo4rs, Neo4jBackend, Neo4jConfig, RESPONSE_TIMEOUT};
use dbmigrate_core::testing::TestBackend;

use crate::common;

fn graph() -> neo4rs::Graph {
    let (uri, user, password) = common::neo4j_config();
    let config = neo4rs::ConfigBuilder::default()
        .uri(uri)
        .user(user)
        .password(password)
        .build()
        .expect("NEO4J_URI");
    neo4rs::Graph::connect(config).expect("connect to NEO4J_URI")
}

/// Deletes the nodes of `label` when dropped, on a runtime of its own.
struct NodesGuard {
    label: String,
}

impl Drop for NodesGuard {
    fn drop(&mut self) {
        let cypher = format!("MATCH (n:{}) DETACH DELETE n", self.label);
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
                .block_on(async { graph().run(neo4rs::query(&cypher)).await })
        })
        .join();
    }
}

#[tokio::test]
async fn a_short_response_timeout_fails_a_statement_the_server_does_not_answer() {
    assert_eq!(Neo4jConfig::default().response_timeout, RESPONSE_TIMEOUT);
    let label = format!("DbmTimeout{}", common::unique_suffix());
    let _guard = NodesGuard {
        label: label.clone(),
    };
    let holder = graph();
    holder
        .run(neo4rs::query(&format!("CREATE (:{label} {{v: 0}})")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut locked = holder.start_txn().await.unwrap_or_else(|e| panic!("{e}"));
    locked
        .run(neo4rs::query(&format!("MATCH (n:{label}) SET n.v = 1")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let (uri, user, password) = common::neo4j_config();
    let config = Neo4jConfig {
        response_timeout: Duration::from_millis(500),
        label_prefix: format!("__{label}"),
        ..Neo4jConfig::default()
    };
    let backend = Neo4jBackend::connect_with(&uri, &user, &password, config)
        .unwrap_or_else(|e| panic!("{e}"));
    let waits = format!("MATCH (n:{label}) SET n.v = 2;");
    let migration = dbmigrate_core::parse::parse_migration(
        "migrations/20240101_0000_aaaaaa_waits.cypher",
        &format!("// Message: waits\n// migrate:up\n{waits}\n// migrate:down\nRETURN 1;\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let result = backend
        .execute_script(&migration, migration.up.script())
        .await;
    let _ = locked.rollback().await;
    let error = result.expect_err("the node is locked: no answer within 500 ms");
    let message = error.to_string();
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains("waits.cypher"), "{message}");
    if !password.is_empty() {
        assert!(!message.contains(&password), "{message}");
    }
}
