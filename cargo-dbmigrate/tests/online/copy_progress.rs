//! A Weaviate `rebuild_collection` reports its copy, batch by batch, to the
//! migrator's progress observer (issue 16.1: the CLI draws it as a bar of
//! objects copied / total), against the real Weaviate server with a scratch
//! collection prefix removed on drop.

use std::sync::{Arc, Mutex};

use dbmigrate_core::backend::weaviate::{Call, WeaviateBackend, WeaviateClient, WeaviateConfig};
use dbmigrate_core::runner::Progress;
use dbmigrate_core::{History, Migrator, Target};
use serde_json::json;

/// Every collection whose name starts with the prefix, deleted on drop.
struct ScratchPrefix {
    url: String,
    prefix: String,
}

impl Drop for ScratchPrefix {
    fn drop(&mut self) {
        // A client of its own: one whose connections belong to the test's
        // runtime can stall when driven from another.
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        let _ = std::thread::spawn(move || {
            let client = WeaviateClient::new(&url, None, WeaviateConfig::default())
                .expect("a client for WEAVIATE_URL");
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let Ok(schema) = client.expect(&Call::new("GET", "/v1/schema", None)).await
                    else {
                        return;
                    };
                    for class in schema["classes"].as_array().into_iter().flatten() {
                        let name = class["class"].as_str().unwrap_or_default();
                        if name.starts_with(&prefix) {
                            let path = format!("/v1/schema/{name}");
                            let _ = client.send(&Call::new("DELETE", path, None)).await;
                        }
                    }
                })
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_reports_objects_copied_out_and_back() {
    let url = std::env::var("WEAVIATE_URL").expect(
        "WEAVIATE_URL is not set\n  help: `source /work/services.env` or `cargo xtask services up`",
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let prefix = format!("DbmCopy{}x{nanos}", std::process::id());
    let config = WeaviateConfig {
        collection_prefix: prefix.clone(),
        ..WeaviateConfig::default()
    };
    let client = WeaviateClient::new(&url, None, config).expect("client");
    let _guard = ScratchPrefix {
        url: url.clone(),
        prefix: prefix.clone(),
    };
    let items = format!("{prefix}Items");
    let class = json!({ "class": items, "vectorizer": "none", "properties": [{ "name": "n", "dataType": ["int"] }] });
    client
        .expect(&Call::new("POST", "/v1/schema", Some(class)))
        .await
        .expect("create the collection");
    let objects: Vec<_> = (0..450)
        .map(|n| json!({ "class": items, "properties": { "n": n } }))
        .collect();
    client
        .expect(&Call::new(
            "POST",
            "/v1/batch/objects",
            Some(json!({ "objects": objects })),
        ))
        .await
        .expect("insert");

    let op = format!(
        "{{ \"op\": \"rebuild_collection\", \"collection\": \"{items}\", \"batch_size\": 200 }}"
    );
    let text = format!("{{\n  \"message\": \"rebuild\",\n  \"revises\": \"base\",\n  \"up\": [{op}],\n  \"down\": [{op}]\n}}\n");
    let migration = dbmigrate_core::parse::parse_migration(
        "migrations/20250101_0000_ab0001_rebuild.weaviate.json",
        &text,
    )
    .expect("parses");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let migrator = Migrator::from_history(History::new(vec![migration]).expect("history"))
        .on_progress(move |event| {
            if let Progress::Copying(copy) = event {
                record
                    .lock()
                    .unwrap()
                    .push((copy.back, copy.done, copy.total));
            }
        })
        .backend(Box::new(WeaviateBackend::new(client.clone())));
    migrator.upgrade(Target::Head).await.expect("upgrade");
    let seen = seen.lock().unwrap().clone();
    let total = Some(450);
    assert_eq!(
        seen,
        [
            (false, 0, total),
            (false, 200, total),
            (false, 400, total),
            (false, 450, total),
            (true, 200, total),
            (true, 400, total),
            (true, 450, total),
        ]
    );
}
