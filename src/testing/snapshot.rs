//! A schema snapshot as objects keyed by kind and qualified name (`table
//! public.member`, `column public.member.nickname`), the shape every
//! backend's snapshot takes so one judge compares them all.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// The order kinds are listed in; unknown kinds sort last, by name.
const KIND_ORDER: &[&str] = &[
    "schema",
    "extension",
    "type",
    "domain",
    "sequence",
    "table",
    "column",
    "constraint",
    "index",
    "view",
    "materialized view",
    "function",
    "procedure",
    "aggregate",
    "trigger",
    "rule",
    "policy",
    "grant",
    "comment",
];

/// One object of a schema: what it is, its qualified name and its definition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SchemaObject {
    /// `table`, `column`, `view`, `function`, `constraint`, `collection`…
    pub kind: String,
    /// Qualified name (`public.member.nickname`, `public.refresh_item()`).
    pub name: String,
    /// The normalised definition; may span lines (view and function bodies).
    pub definition: String,
    /// Output columns, in order, of a view or materialised view.
    pub columns: Vec<String>,
    /// A column's position in its table (1-based, dropped columns skipped).
    pub position: Option<i64>,
}

impl SchemaObject {
    /// An object with a definition and no columns or position.
    pub fn new(kind: &str, name: &str, definition: &str) -> SchemaObject {
        SchemaObject {
            kind: kind.to_string(),
            name: name.to_string(),
            definition: definition.to_string(),
            columns: Vec::new(),
            position: None,
        }
    }

    /// `kind name`, how reports name the object.
    pub fn label(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    /// The sort key: kind order, then name.
    pub(crate) fn key(&self) -> (usize, &str, &str) {
        let rank = KIND_ORDER
            .iter()
            .position(|kind| *kind == self.kind)
            .unwrap_or(KIND_ORDER.len());
        (rank, &self.kind, &self.name)
    }

    fn render(&self, out: &mut String) {
        out.push_str(&self.label());
        if let Some(position) = self.position {
            out.push_str(&format!(" #{position}"));
        }
        if !self.columns.is_empty() {
            out.push_str(&format!(" ({})", self.columns.join(", ")));
        }
        let mut lines = self.definition.lines();
        match (lines.next(), self.definition.contains('\n')) {
            (None, _) => out.push('\n'),
            (Some(line), false) => out.push_str(&format!(": {line}\n")),
            (Some(first), true) => {
                out.push_str(":\n");
                for line in std::iter::once(first).chain(lines) {
                    out.push_str(&format!("    {}\n", line.trim_end()));
                }
            }
        }
    }
}

/// Every object of one database's schema, sorted, with a fingerprint so two
/// snapshots compare in constant time before anyone diffs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaSnapshot {
    objects: Vec<SchemaObject>,
    fingerprint: u64,
}

impl SchemaSnapshot {
    /// A snapshot of `objects` (any order; sorted here).
    pub fn new(mut objects: Vec<SchemaObject>) -> SchemaSnapshot {
        objects.sort_by(|a, b| a.key().cmp(&b.key()));
        objects.dedup();
        let mut hasher = DefaultHasher::new();
        objects.hash(&mut hasher);
        SchemaSnapshot {
            fingerprint: hasher.finish(),
            objects,
        }
    }

    /// A snapshot of a line-per-object text (`constraint name: definition`
    /// or `kind name rest`): the shape of the Neo4j snapshot.
    pub fn from_lines(text: &str) -> SchemaSnapshot {
        let objects = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let mut words = line.splitn(3, ' ');
                let kind = words.next().unwrap_or_default();
                let name = words.next().unwrap_or_default().trim_end_matches(':');
                SchemaObject::new(kind, name, words.next().unwrap_or_default())
            })
            .collect();
        SchemaSnapshot::new(objects)
    }

    /// The objects, sorted by kind then name.
    pub fn objects(&self) -> &[SchemaObject] {
        &self.objects
    }

    /// A hash of every object: equal snapshots have equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Whether the schema holds no object at all.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Keeps only the objects `keep` accepts (e.g. a shared server's objects
    /// of one test run), renaming them with `rename`.
    pub fn scoped(
        &self,
        keep: impl Fn(&SchemaObject) -> bool,
        rename: impl Fn(&str) -> String,
    ) -> SchemaSnapshot {
        let objects = self
            .objects
            .iter()
            .filter(|object| keep(object))
            .map(|object| SchemaObject {
                name: rename(&object.name),
                definition: rename(&object.definition),
                ..object.clone()
            })
            .collect();
        SchemaSnapshot::new(objects)
    }

    /// The stable text form: one object per line (`kind name: definition`),
    /// multi-line definitions indented beneath.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for object in &self.objects {
            object.render(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_sort_by_kind_then_name_and_render_one_per_line() {
        let mut column = SchemaObject::new("column", "public.t.a", "integer not null");
        column.position = Some(1);
        let view = SchemaObject::new("view", "public.v", " SELECT t.a\n   FROM t;");
        let table = SchemaObject::new("table", "public.t", "");
        let snapshot = SchemaSnapshot::new(vec![view, column, table]);
        assert_eq!(
            snapshot.render(),
            "table public.t\ncolumn public.t.a #1: integer not null\nview public.v:\n     SELECT t.a\n       FROM t;\n"
        );
    }

    #[test]
    fn equal_objects_have_equal_fingerprints() {
        let a = SchemaSnapshot::from_lines("index i RANGE NODE :A(x)\n");
        let b = SchemaSnapshot::from_lines("index i RANGE NODE :A(x)\n");
        let c = SchemaSnapshot::from_lines("index i RANGE NODE :A(y)\n");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.objects()[0].label(), "index i");
    }
}
