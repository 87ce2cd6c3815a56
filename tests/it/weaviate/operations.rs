//! Every typed operation against the server: tenants, aliases, a mutable
//! config update, a multi-tenant rebuild that renames and retypes (and its
//! inverse), and irreversible migrations refused on downgrade.

use dbmigrate_core::backend::{Backend, BackendError};
use dbmigrate_core::Direction;
use serde_json::{json, Value};

use super::scope::{step, Scope};

fn lessons_file(lessons: &str, alias: &str) -> Value {
    json!({"message": "lessons", "up": [
        {"op": "create_collection", "class": {"class": lessons, "vectorizer": "none",
            "multiTenancyConfig": {"enabled": true},
            "properties": [{"name": "title", "dataType": ["text"]}, {"name": "level", "dataType": ["int"]}]}},
        {"op": "add_tenants", "collection": lessons, "tenants": ["school_a", {"name": "school_b", "activityStatus": "HOT"}]},
        {"op": "create_alias", "alias": alias, "collection": lessons},
        {"op": "update_collection", "collection": lessons,
            "config": {"description": "lessons per school", "invertedIndexConfig": {"bm25": {"b": 0.8}}}}
    ], "down": [
        {"op": "delete_alias", "alias": alias},
        {"op": "delete_collection", "collection": lessons}
    ]})
}

async fn insert_lessons(scope: &Scope, lessons: &str) {
    for tenant in ["school_a", "school_b"] {
        let objects: Vec<Value> = (0..60)
            .map(|i| {
                json!({"class": lessons, "tenant": tenant, "id": format!("20000000-0000-4000-8000-{i:012}"),
                       "properties": {"title": format!("{tenant} lesson {i}"), "level": i % 5},
                       "vector": [i as f32 / 60.0, 0.25, -0.5, 1.0]})
            })
            .collect();
        scope
            .send(
                "POST",
                "/v1/batch/objects",
                Some(json!({ "objects": objects })),
            )
            .await;
    }
}

#[tokio::test]
async fn tenants_aliases_updates_and_a_multi_tenant_rebuild() {
    let scope = Scope::new();
    let backend = scope.backend();
    let (lessons, alias) = (
        scope.collection("Lessons"),
        scope.collection("LessonsAlias"),
    );
    let create = scope.migration(
        "20241206_0900_aa0001_lessons.weaviate.json",
        &lessons_file(&lessons, &alias).to_string(),
    );
    backend.ensure_history().await.unwrap();
    backend.apply(&step(&create, Direction::Up)).await.unwrap();
    let class = scope
        .send("GET", &format!("/v1/schema/{lessons}"), None)
        .await;
    assert_eq!(class["description"], "lessons per school");
    assert_eq!(class["invertedIndexConfig"]["bm25"]["b"], 0.8);
    let tenants = scope
        .send("GET", &format!("/v1/schema/{lessons}/tenants"), None)
        .await;
    assert_eq!(tenants.as_array().unwrap().len(), 2, "{tenants}");
    insert_lessons(&scope, &lessons).await;
    let before_a = scope.tenant_objects(&lessons, Some("school_a")).await;
    let before_b = scope.tenant_objects(&lessons, Some("school_b")).await;
    assert_eq!((before_a.len(), before_b.len()), (60, 60));

    let reshape = scope.migration(
        "20241206_1000_aa0002_reshape_lessons.weaviate.json",
        &json!({"message": "reshape lessons", "revises": create.revision_id, "up": [
            {"op": "rebuild_collection", "collection": lessons, "rename_properties": {"title": "heading"},
             "retype_properties": {"level": "number"}, "batch_size": 25}
        ], "down": [
            {"op": "rebuild_collection", "collection": lessons, "rename_properties": {"heading": "title"},
             "retype_properties": {"level": "int"}}
        ]})
        .to_string(),
    );
    backend.apply(&step(&reshape, Direction::Up)).await.unwrap();
    let after_a = scope.tenant_objects(&lessons, Some("school_a")).await;
    assert_eq!(after_a.len(), 60);
    for (id, (properties, vector)) in &before_a {
        let (new_properties, new_vector) = &after_a[id];
        assert_eq!(new_properties["heading"], properties["title"]);
        assert_eq!(
            new_properties["level"].as_f64(),
            properties["level"].as_f64()
        );
        assert_eq!(new_vector, vector);
    }
    let pointed = scope
        .send("GET", &format!("/v1/aliases/{alias}"), None)
        .await;
    assert_eq!(
        pointed["class"],
        lessons.as_str(),
        "the alias survives a rebuild"
    );

    backend
        .apply(&step(&reshape, Direction::Down))
        .await
        .unwrap();
    assert_eq!(
        scope.tenant_objects(&lessons, Some("school_a")).await,
        before_a
    );
    assert_eq!(
        scope.tenant_objects(&lessons, Some("school_b")).await,
        before_b
    );

    let other = scope.collection("LessonsV2");
    let move_alias = scope.migration(
        "20241206_1100_aa0003_move_alias.weaviate.json",
        &json!({"message": "move alias", "revises": create.revision_id, "up": [
            {"op": "create_collection", "class": {"class": other, "vectorizer": "none"}},
            {"op": "update_alias", "alias": alias, "collection": other}
        ], "down": [
            {"op": "update_alias", "alias": alias, "collection": lessons},
            {"op": "delete_collection", "collection": other}
        ]})
        .to_string(),
    );
    backend
        .apply(&step(&move_alias, Direction::Up))
        .await
        .unwrap();
    let pointed = scope
        .send("GET", &format!("/v1/aliases/{alias}"), None)
        .await;
    assert_eq!(pointed["class"], other.as_str());
    backend
        .apply(&step(&move_alias, Direction::Down))
        .await
        .unwrap();
    let pointed = scope
        .send("GET", &format!("/v1/aliases/{alias}"), None)
        .await;
    assert_eq!(pointed["class"], lessons.as_str());

    let irreversible = scope.migration(
        "20241206_1200_aa0004_drop_school_b.weaviate.json",
        &json!({"message": "drop school b", "revises": create.revision_id, "irreversible": true,
            "up": [{"op": "remove_tenants", "collection": lessons, "tenants": ["school_b"]}]})
        .to_string(),
    );
    // The parser refuses such a file unless irreversible; the backend checks again.
    let mut undeclared = irreversible.clone();
    undeclared.options.irreversible = false;
    let error = backend
        .apply(&step(&undeclared, Direction::Up))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("\"irreversible\": true"),
        "{error}"
    );
    assert_eq!(
        scope.tenant_objects(&lessons, Some("school_b")).await,
        before_b,
        "refused before any call"
    );
    backend
        .apply(&step(&irreversible, Direction::Up))
        .await
        .unwrap();
    let tenants = scope
        .send("GET", &format!("/v1/schema/{lessons}/tenants"), None)
        .await;
    assert_eq!(tenants.as_array().unwrap().len(), 1, "{tenants}");
    let error = backend
        .apply(&step(&irreversible, Direction::Down))
        .await
        .unwrap_err();
    assert!(matches!(error, BackendError::Refused { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("20241206_1200_aa0004 is irreversible"),
        "{error}"
    );

    backend
        .apply(&step(&create, Direction::Down))
        .await
        .unwrap();
    assert!(!scope.exists(&lessons).await);
    scope.cleanup(&[lessons, other]).await;
}
