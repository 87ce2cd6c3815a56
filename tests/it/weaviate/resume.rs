//! An interrupted `rebuild_collection` (a fault injected right after each
//! recorded phase and mid-copy, as a kill would leave it) is finished by the
//! next `upgrade` with every id, property and vector intact; meanwhile
//! `status` and the refusals name the temporary collection, and `repair`
//! is refused while it holds the only copy.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dbmigrate_core::backend::weaviate::{FaultHook, RebuildPhase, RebuildProgress};
use dbmigrate_core::backend::{Backend, RecordState};
use dbmigrate_core::runner::Repair;
use dbmigrate_core::{History, Migration, Migrator, Target};
use serde_json::{json, Value};

use super::scope::Scope;

/// Drops the test's collections even when an assertion fails, with a
/// client of its own (the test's runtime may be gone).
struct Cleanup<'a>(&'a Scope, Vec<String>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let (scope, collections) = (self.0, &self.1);
        std::thread::scope(|threads| {
            threads.spawn(|| {
                let runtime = tokio::runtime::Runtime::new().expect("runtime");
                runtime.block_on(scope.with_new_client().cleanup(collections));
            });
        });
    }
}

const N_OBJECTS: usize = 250;

fn timeline(scope: &Scope, notes: &str) -> Vec<Migration> {
    let create = scope.migration(
        "20241206_1000_5e5001_notes.weaviate.json",
        &json!({"message": "notes", "up": [{"op": "create_collection", "class": {"class": notes, "vectorizer": "none",
            "properties": [{"name": "body", "dataType": ["text"]}, {"name": "n", "dataType": ["int"]},
                           {"name": "tag", "dataType": ["text"]}]}}],
            "down": [{"op": "delete_collection", "collection": notes}]})
        .to_string(),
    );
    let rebuild = scope.migration(
        "20241206_1100_5e5002_reshape_notes.weaviate.json",
        &json!({"message": "reshape notes", "revises": create.revision_id, "irreversible": true,
            "up": [{"op": "rebuild_collection", "collection": notes, "drop_properties": ["tag"],
                    "rename_properties": {"body": "text"}, "batch_size": 60},
                   {"op": "add_property", "collection": notes, "property": {"name": "after", "dataType": ["text"]}}],
            "down": []})
        .to_string(),
    );
    vec![create, rebuild]
}

async fn insert_notes(scope: &Scope, notes: &str) -> BTreeMap<String, (Value, Value)> {
    let objects: Vec<Value> = (0..N_OBJECTS)
        .map(|i| {
            json!({"class": notes, "id": format!("20000000-0000-4000-8000-{i:012}"),
                   "properties": {"body": format!("note {i}"), "n": i, "tag": "x"},
                   "vector": [i as f32 / 250.0, 0.5, -0.25, (i % 7) as f32]})
        })
        .collect();
    let answer = scope
        .send(
            "POST",
            "/v1/batch/objects",
            Some(json!({ "objects": objects })),
        )
        .await;
    let refused: Vec<&Value> = answer
        .as_array()
        .into_iter()
        .flatten()
        .filter(|object| !object["result"]["errors"].is_null())
        .collect();
    assert!(refused.is_empty(), "the batch refused objects: {refused:?}");
    scope.objects(notes).await
}

/// The objects as the rebuild must leave them: `body` renamed `text`,
/// `tag` dropped, ids and vectors unchanged.
fn reshaped(before: &BTreeMap<String, (Value, Value)>) -> BTreeMap<String, (Value, Value)> {
    before
        .iter()
        .map(|(id, (properties, vector))| {
            let shaped = json!({"text": properties["body"], "n": properties["n"]});
            (id.clone(), (shaped, vector.clone()))
        })
        .collect()
}

/// Fires once, at the first recorded progress `at` accepts.
fn fault_once(at: impl Fn(&RebuildProgress) -> bool + Send + Sync + 'static) -> FaultHook {
    let fired = Arc::new(AtomicBool::new(false));
    FaultHook::new(move |progress| at(progress) && !fired.swap(true, Ordering::SeqCst))
}

/// Interrupts the rebuild where `at` says, then lets a plain `upgrade`
/// finish it; returns what `status` said in between.
async fn interrupt_then_resume(
    at: impl Fn(&RebuildProgress) -> bool + Send + Sync + 'static,
) -> String {
    let scope = Scope::new();
    let notes = scope.collection("Notes");
    let temp = format!("{notes}_DbmigrateRebuild");
    let _cleanup = Cleanup(&scope, vec![notes.clone(), temp.clone()]);
    let migrator = |backend| {
        Migrator::from_history(History::new(timeline(&scope, &notes)).expect("timeline"))
            .backend(Box::new(backend))
    };
    migrator(scope.backend())
        .upgrade(Target::Revision("20241206_1000_5e5001".into()))
        .await
        .expect("create");
    let before = insert_notes(&scope, &notes).await;
    assert_eq!(before.len(), N_OBJECTS);

    let faulty = scope.backend().with_fault_hook(fault_once(at));
    let error = migrator(faulty)
        .upgrade(Target::Head)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("injected fault"), "{error}");
    assert!(error.contains("cargo dbmigrate upgrade"), "{error}");

    let status = migrator(scope.backend()).status().await.expect("status");
    let said = format!("{:?} {:?}", status.backends[0].dirty, status.problems);
    assert!(said.contains(&temp), "status must name `{temp}`: {said}");
    let only_copy = scope
        .backend()
        .read_history()
        .await
        .unwrap()
        .iter()
        .find_map(|r| r.progress.as_ref().and_then(|p| p.only_copy.clone()));
    if let Some(holder) = only_copy {
        assert_eq!(holder, temp);
        for repair in [Repair::Forget, Repair::MarkApplied] {
            let refused = migrator(scope.backend()).repair(None, repair).await;
            let refused = refused
                .expect_err("repair while the temp holds the only copy")
                .to_string();
            assert!(
                refused.contains(&temp) && refused.contains("upgrade"),
                "{refused}"
            );
        }
    }
    let report = migrator(scope.backend())
        .upgrade(Target::Head)
        .await
        .expect("resume");
    assert_eq!(report.applied.len(), 1, "the interrupted step, resumed");
    let history = scope.backend().read_history().await.unwrap();
    assert!(history
        .iter()
        .all(|r| r.state == RecordState::Applied && r.progress.is_none()));
    assert_eq!(history.len(), 2);
    assert_eq!(
        scope.objects(&notes).await,
        reshaped(&before),
        "objects after the resumed rebuild"
    );
    assert!(!scope.exists(&temp).await, "`{temp}` left behind");
    said
}

#[tokio::test]
async fn a_rebuild_interrupted_while_copying_out_resumes() {
    let said = interrupt_then_resume(|p| p.phase == RebuildPhase::CopyingOut && p.done == 0).await;
    assert!(said.contains("is unchanged"), "{said}");
    let said =
        interrupt_then_resume(|p| p.phase == RebuildPhase::CopyingOut && p.done == 120).await;
    assert!(said.contains("120/250"), "{said}");
    interrupt_then_resume(|p| p.phase == RebuildPhase::CopiedOut).await;
}

#[tokio::test]
async fn a_rebuild_interrupted_while_the_temp_holds_the_only_copy_resumes() {
    let said = interrupt_then_resume(|p| p.phase == RebuildPhase::OriginalDropped).await;
    assert!(said.contains("only in"), "{said}");
    interrupt_then_resume(|p| p.phase == RebuildPhase::Recreated).await;
    let said =
        interrupt_then_resume(|p| p.phase == RebuildPhase::CopyingBack && p.done == 60).await;
    assert!(said.contains("60/250"), "{said}");
}

#[tokio::test]
async fn a_rebuild_interrupted_after_copying_back_resumes() {
    interrupt_then_resume(|p| p.phase == RebuildPhase::CopyingBack && p.done == 250).await;
    interrupt_then_resume(|p| p.phase == RebuildPhase::CopiedBack).await;
    interrupt_then_resume(|p| p.phase == RebuildPhase::TempDropped).await;
}
