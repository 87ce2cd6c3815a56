//! What the round-trip harness needs of the Weaviate backend (feature
//! `testing`): its snapshot, fixture scripts, a reset to base of what a run
//! owns, and removing a test run's own bookkeeping.

use super::*;

#[async_trait::async_trait]
impl crate::testing::TestBackend for WeaviateBackend {
    async fn snapshot(&self) -> Result<crate::testing::SchemaSnapshot, BackendError> {
        let markers = lock::markers(&self.client, &self.lock_class).await?;
        let mut own = vec![self.history_class.as_str(), self.lock_class.as_str()];
        own.extend(markers.iter().map(|(_, name, _)| name.as_str()));
        let text = snapshot::snapshot(&self.client, &own).await?;
        Ok(snapshot::objects(&text))
    }

    async fn execute_script(
        &self,
        migration: &Migration,
        script: &str,
    ) -> Result<(), BackendError> {
        let source = Source {
            path: &migration.path,
            line: migration.up_line,
        };
        let ops = exec::parse_ops(source, script)?;
        let schema = exec::read_schema(&self.client).await?;
        validate(&ops, &schema).map_err(|e| refused(migration, e.to_string()))?;
        exec::run_ops(&self.client, source, &ops, None, None).await
    }

    /// Only with `owned`: deletes the run's aliases, then its collections
    /// (with their objects), then its history records.
    async fn reset(&self, owned: Option<crate::testing::Owned<'_>>) -> Result<bool, BackendError> {
        let Some(owned) = owned else {
            return Ok(false);
        };
        let mut paths = Vec::new();
        for (kind, path) in [("alias", "/v1/aliases"), ("collection", "/v1/schema")] {
            for object in owned.objects.objects().iter().filter(|o| o.kind == kind) {
                paths.push(format!("{path}/{}", object.name));
            }
        }
        for path in paths {
            let call = crate::backend::weaviate::client::Call::new("DELETE", path, None);
            self.client.expect(&call).await?;
        }
        for revision_id in owned.revisions {
            self.delete_record(revision_id).await?;
        }
        Ok(true)
    }

    async fn remove_bookkeeping(&self) -> Result<(), BackendError> {
        let markers = lock::markers(&self.client, &self.lock_class).await?;
        let schema = exec::read_schema(&self.client).await?;
        let mut own = vec![self.history_class.clone(), self.lock_class.clone()];
        own.retain(|class| schema.classes.contains_key(class));
        own.extend(markers.into_iter().map(|(_, name, _)| name));
        for class in own {
            let call = crate::backend::weaviate::client::Call::new(
                "DELETE",
                format!("/v1/schema/{class}"),
                None,
            );
            self.client.expect(&call).await?;
        }
        Ok(())
    }
}
