//! PostgreSQL schema snapshot from the catalogs: tables, columns (type,
//! default, nullability, identity), constraints, indexes, triggers,
//! sequences, views, functions, enums, domains and extensions, rendered as
//! sorted text with no OIDs and the schema name stripped, so it is stable
//! across runs and machines. History tables of dbmigrate are left out.

use sqlx::PgPool;

use super::pg_catalog::{self, CatalogObject, Section};

/// Relations whose name starts with one of these (after leading `_`) are
/// dbmigrate's own bookkeeping and are left out of snapshots.
pub const HISTORY_TABLE_PREFIXES: &[&str] = &["dbmigrate"];

/// Renders the schema `schema` of the database behind `pool` as sorted,
/// normalised text: one line per object (`index t.name: CREATE INDEX …`),
/// with multi-line definitions (views, functions) indented beneath.
pub async fn postgres_schema_snapshot(pool: &PgPool, schema: &str) -> Result<String, sqlx::Error> {
    let mut objects = pg_catalog::read_all(pool, schema).await?;
    objects.retain(|object| !is_history(&object.group) && !is_history(&object.name));
    objects.sort_by(|a, b| a.key().cmp(&b.key()));
    let mut out = String::new();
    for object in &objects {
        out.push_str(&normalise(&object.header(), schema));
        out.push('\n');
        for line in &object.body {
            out.push_str("    ");
            out.push_str(normalise(line, schema).trim_end());
            out.push('\n');
        }
    }
    Ok(out)
}

/// Whether a relation name belongs to dbmigrate's bookkeeping.
fn is_history(name: &str) -> bool {
    let bare = name.trim_start_matches('_');
    HISTORY_TABLE_PREFIXES
        .iter()
        .any(|prefix| bare.starts_with(prefix))
}

/// Strips `schema.` and `"schema".` qualifiers (not inside longer identifiers).
fn normalise(text: &str, schema: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let quoted = format!("\"{schema}\".");
    let plain = format!("{schema}.");
    let mut rest = text;
    while !rest.is_empty() {
        let boundary = out
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '"' || c == '.'));
        if boundary && rest.starts_with(&quoted) {
            rest = &rest[quoted.len()..];
        } else if boundary && rest.starts_with(&plain) {
            rest = &rest[plain.len()..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

impl CatalogObject {
    fn key(&self) -> (Section, &str, u8, &str) {
        (self.section, &self.group, self.rank, &self.sort)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_qualifiers_are_stripped_only_at_identifier_boundaries() {
        assert_eq!(
            normalise("CREATE INDEX i ON app.users USING btree (id)", "app"),
            "CREATE INDEX i ON users USING btree (id)"
        );
        assert_eq!(
            normalise("REFERENCES \"app\".users(id)", "app"),
            "REFERENCES users(id)"
        );
        assert_eq!(normalise("myapp.users", "app"), "myapp.users");
    }

    #[test]
    fn history_tables_are_recognised() {
        assert!(is_history("_dbmigrate_history"));
        assert!(is_history("dbmigrate_migrations"));
        assert!(!is_history("users"));
    }
}
