//! The schema snapshot: `SHOW CONSTRAINTS` and `SHOW INDEXES` normalised into
//! sorted, stable lines, without the backend's own bookkeeping.

use neo4rs::Row;

use super::config::Names;
use super::db::Db;
use crate::backend::BackendError;

/// Reads constraints and indexes (two statements) and renders them.
pub(super) async fn snapshot(
    db: &Db,
    names: &Names,
    scope: Option<&str>,
) -> Result<String, BackendError> {
    let constraints = db
        .rows(neo4rs::query(
            "SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties, ownedIndex \
             RETURN name, type, entityType, labelsOrTypes, properties, ownedIndex AS owner",
        ))
        .await
        .map_err(|e| db.error(e))?;
    let indexes = db
        .rows(neo4rs::query(
            "SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, owningConstraint \
             RETURN name, type, entityType, labelsOrTypes, properties, owningConstraint AS owner",
        ))
        .await
        .map_err(|e| db.error(e))?;
    let mut lines = Vec::new();
    for (kind, rows) in [("constraint", &constraints), ("index", &indexes)] {
        for row in rows {
            let entry = Entry::from_row(row)
                .map_err(|e| db.error(format!("unexpected {kind} row: {e}")))?;
            let in_scope = scope.is_none_or(|scope| entry.is_in(scope));
            if in_scope && !entry.is_bookkeeping(&names.prefix) {
                lines.push(entry.render(kind));
            }
        }
    }
    lines.sort();
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(text)
}

/// One constraint or index.
struct Entry {
    name: String,
    kind: String,
    entity: String,
    labels: Vec<String>,
    properties: Vec<String>,
    owner: Option<String>,
}

impl Entry {
    fn from_row(row: &Row) -> Result<Entry, neo4rs::DeError> {
        Ok(Entry {
            name: row.get("name")?,
            kind: row.get("type")?,
            entity: row.get("entityType")?,
            labels: row
                .get::<Option<Vec<String>>>("labelsOrTypes")?
                .unwrap_or_default(),
            properties: row
                .get::<Option<Vec<String>>>("properties")?
                .unwrap_or_default(),
            owner: row.get("owner")?,
        })
    }

    fn is_bookkeeping(&self, prefix: &str) -> bool {
        self.name.starts_with(prefix) || self.labels.iter().any(|label| label.starts_with(prefix))
    }

    fn is_in(&self, scope: &str) -> bool {
        self.name.starts_with(scope) || self.labels.iter().any(|label| label.starts_with(scope))
    }

    /// `constraint concept_name_unique UNIQUENESS NODE :Concept(name) index=concept_name_unique`
    fn render(&self, kind: &str) -> String {
        let mut line = format!(
            "{kind} {} {} {} :{}({})",
            self.name,
            self.kind,
            self.entity,
            self.labels.join("|"),
            self.properties.join(", ")
        );
        if let Some(owner) = &self.owner {
            let owner_kind = if kind == "index" {
                "constraint"
            } else {
                "index"
            };
            line.push_str(&format!(" {owner_kind}={owner}"));
        }
        line
    }
}
