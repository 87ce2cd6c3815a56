//! Drop guards that remove what a test made on the shared servers, also when
//! the test panics: a scratch PostgreSQL database, the Neo4j nodes, constraints
//! and indexes carrying a test's unique token, the Weaviate collections and
//! aliases carrying it.
//!
//! Each guard works on a thread of its own, with a runtime and a client of
//! its own: a connection opened on the test's runtime must not be driven
//! from `Drop` (it may belong to a runtime that is shutting down, and a
//! reused client was seen to stall for 60 s).

#![allow(dead_code)] // each test uses a part

use std::str::FromStr;

use dbmigrate_core::backend::weaviate::{Call, WeaviateClient, WeaviateConfig};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::common;

/// Runs `work` to completion on a new thread with a new runtime. A panic
/// there is reported by that thread and goes no further: a guard may drop
/// while the test unwinds, and a second panic would abort the whole binary.
fn on_own_runtime<F, Fut>(work: F)
where
    F: FnOnce() -> Fut + Send,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::scope(|threads| {
        let cleaner = threads.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the clean-up");
            runtime.block_on(work());
        });
        let _ = cleaner.join();
    });
}

/// Drops PostgreSQL database `name` (on the server of `DATABASE_URL`) when
/// it goes; a database already dropped is fine.
pub struct PgGuard(pub String);

impl Drop for PgGuard {
    fn drop(&mut self) {
        let name = &self.0;
        on_own_runtime(|| async move {
            let admin = PgConnectOptions::from_str(&common::database_url()).expect("DATABASE_URL");
            let dropped = match PgConnection::connect_with(&admin).await {
                Ok(mut conn) => {
                    let dropped = dbmigrate_core::testing::drop_database(&mut conn, name).await;
                    let _ = conn.close().await;
                    dropped
                }
                Err(error) => Err(error),
            };
            if let Err(error) = dropped {
                eprintln!("dropping scratch database {name} failed: {error}");
            }
        });
    }
}

/// Removes, when it goes, every Neo4j node with a label containing `token`,
/// and every constraint and index whose name contains it.
pub struct Neo4jGuard(pub String);

impl Drop for Neo4jGuard {
    fn drop(&mut self) {
        let token = &self.0;
        on_own_runtime(|| async move {
            assert!(
                token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{token} would need quoting in Cypher"
            );
            let (uri, user, password) = common::neo4j_config();
            let graph = match neo4rs::Graph::new(uri, user, password) {
                Ok(graph) => graph,
                Err(error) => return eprintln!("Neo4j clean-up of {token}: {error}"),
            };
            let nodes = format!(
                "MATCH (n) WHERE any(l IN labels(n) WHERE l CONTAINS '{token}') DETACH DELETE n"
            );
            if let Err(error) = graph.run(neo4rs::query(&nodes)).await {
                eprintln!("Neo4j clean-up of {token}: {error}");
            }
            for (kind, kinds) in [("CONSTRAINT", "CONSTRAINTS"), ("INDEX", "INDEXES")] {
                let show = format!("SHOW {kinds} YIELD name WHERE name CONTAINS '{token}'");
                let Ok(mut rows) = graph.execute(neo4rs::query(&show)).await else {
                    continue;
                };
                let mut names = Vec::new();
                while let Ok(Some(row)) = rows.next().await {
                    names.extend(row.get::<String>("name").ok());
                }
                for name in names {
                    let drop = format!("DROP {kind} `{name}` IF EXISTS");
                    let _ = graph.run(neo4rs::query(&drop)).await;
                }
            }
        });
    }
}

/// Removes, when it goes, every Weaviate alias and collection whose name (or
/// whose target's name) contains `token`.
pub struct WeaviateGuard(pub String);

impl Drop for WeaviateGuard {
    fn drop(&mut self) {
        let token = &self.0;
        on_own_runtime(|| async move {
            let client =
                WeaviateClient::new(&common::weaviate_url(), None, WeaviateConfig::default())
                    .expect("a client for WEAVIATE_URL");
            let aliases = client.send(&Call::new("GET", "/v1/aliases", None)).await;
            if let Some(answer) = aliases.ok().filter(|answer| answer.ok()) {
                for alias in answer.body["aliases"].as_array().into_iter().flatten() {
                    let name = alias["alias"].as_str().unwrap_or_default();
                    let class = alias["class"].as_str().unwrap_or_default();
                    if name.contains(token) || class.contains(token) {
                        let call = Call::new("DELETE", format!("/v1/aliases/{name}"), None);
                        let _ = client.send(&call).await;
                    }
                }
            }
            let Ok(schema) = client.expect(&Call::new("GET", "/v1/schema", None)).await else {
                return eprintln!("Weaviate clean-up of {token}: cannot read the schema");
            };
            for class in schema["classes"].as_array().into_iter().flatten() {
                let name = class["class"].as_str().unwrap_or_default();
                if name.contains(token) {
                    let call = Call::new("DELETE", format!("/v1/schema/{name}"), None);
                    let _ = client.send(&call).await;
                }
            }
        });
    }
}
