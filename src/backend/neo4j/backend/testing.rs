//! What the round-trip harness needs of the Neo4j backend (feature
//! `testing`): its snapshot, fixture scripts, a reset to base of what a run
//! owns, and removing a test run's own bookkeeping.

use super::*;

#[async_trait::async_trait]
impl crate::testing::TestBackend for Neo4jBackend {
    async fn snapshot(&self) -> Result<crate::testing::SchemaSnapshot, BackendError> {
        let scope = self.config.schema_scope.as_deref();
        let text = snapshot::snapshot(&self.db, &self.names, scope).await?;
        Ok(crate::testing::SchemaSnapshot::from_lines(&text))
    }

    async fn execute_script(
        &self,
        migration: &Migration,
        script: &str,
    ) -> Result<(), BackendError> {
        let first_line = if script == migration.up.script() {
            migration.up_line
        } else if script == migration.down.script() {
            migration.down_line
        } else {
            1
        };
        let statements = execute::statements(script, first_line);
        let calls = execute::group(&statements, migration.options.transaction);
        execute::run(&self.db, migration, &calls, None)
            .await
            .map(drop)
    }

    /// Only with `owned`: drops the run's constraints (first, with the
    /// indexes they own) and indexes, deletes the relationships of its types
    /// and the nodes carrying only its labels, takes its labels off the
    /// nodes that also carry another (they were there before the run), and
    /// deletes its history records; one auto-commit statement each.
    async fn reset(&self, owned: Option<crate::testing::Owned<'_>>) -> Result<bool, BackendError> {
        let Some(owned) = owned else {
            return Ok(false);
        };
        let quote = |name: &str| format!("`{}`", name.replace('`', "``"));
        let mut queries = Vec::new();
        for kind in ["constraint", "index"] {
            for object in owned.objects.objects().iter().filter(|o| o.kind == kind) {
                let what = kind.to_uppercase();
                let cypher = format!("DROP {what} {} IF EXISTS", quote(&object.name));
                queries.push(neo4rs::query(&cypher));
            }
        }
        let labels = owned.labels.to_vec();
        for label in owned.labels.iter().map(|label| quote(label)) {
            queries.push(neo4rs::query(&format!("MATCH ()-[r:{label}]->() DELETE r")));
            let only_these = format!(
                "MATCH (n:{label}) WHERE all(l IN labels(n) WHERE l IN $labels) DETACH DELETE n"
            );
            queries.push(neo4rs::query(&only_these).param("labels", labels.clone()));
        }
        for label in owned.labels.iter().map(|label| quote(label)) {
            queries.push(neo4rs::query(&format!(
                "MATCH (n:{label}) REMOVE n:{label}"
            )));
        }
        let records = format!(
            "MATCH (m:{}) WHERE m.revision_id IN $revisions DETACH DELETE m",
            self.names.migration
        );
        queries.push(neo4rs::query(&records).param("revisions", owned.revisions.to_vec()));
        for query in queries {
            self.db.run(query).await.map_err(|e| self.db.error(e))?;
        }
        Ok(true)
    }

    async fn remove_bookkeeping(&self) -> Result<(), BackendError> {
        let names = &self.names;
        for cypher in [
            format!("MATCH (m:{}) DETACH DELETE m", names.migration),
            format!("MATCH (l:{}) DETACH DELETE l", names.lock),
            format!("DROP CONSTRAINT {} IF EXISTS", names.migration_constraint),
            format!("DROP CONSTRAINT {} IF EXISTS", names.lock_constraint),
        ] {
            let query = neo4rs::query(&cypher);
            self.db.run(query).await.map_err(|e| self.db.error(e))?;
        }
        Ok(())
    }
}
