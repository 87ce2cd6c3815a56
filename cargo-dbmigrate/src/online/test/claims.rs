//! What the migrations create or change on a shared server, read from their
//! text before anything runs: Neo4j index and constraint names and every
//! label or relationship type a statement names; Weaviate collections and
//! aliases named by an operation. The guard refuses a server that already
//! holds any of them.

use std::collections::BTreeSet;

use dbmigrate_core::backend::Layout;
use dbmigrate_core::testing::SchemaObject;
use dbmigrate_core::weaviate_ops::Operation;
use dbmigrate_core::{BackendKind, Migration};

/// Names the migrations of one backend create or change.
#[derive(Debug, Default)]
pub struct Claims {
    /// Index, constraint, collection and alias names.
    names: BTreeSet<String>,
    /// Neo4j labels and relationship types.
    labels: BTreeSet<String>,
    /// Weaviate `raw` operations that change something `test` cannot name
    /// (`<file>: DELETE /v1/nodes`).
    unknown: Vec<String>,
}

impl Claims {
    /// The claims of every `kind` migration (ups and downs).
    pub fn of(migrations: &[Migration], kind: BackendKind) -> Claims {
        let mut claims = Claims::default();
        for migration in migrations.iter().filter(|m| m.backend == kind) {
            for section in [&migration.up, &migration.down] {
                claims.add_operations(section.operations());
                claims.add_raw(&migration.path, section.operations());
                if matches!(kind.descriptor().layout, Layout::Comments { prefix: "//" }) {
                    claims.add_cypher(section.script());
                }
            }
        }
        claims
    }

    /// Neo4j labels and relationship types the migrations name.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.labels.iter().map(String::as_str)
    }

    /// Weaviate `raw` operations whose target cannot be read from their path
    /// or body (`<file>: DELETE /v1/nodes`); reading ones (GET, HEAD) are left out.
    pub fn unknown(&self) -> &[String] {
        &self.unknown
    }

    /// Claims the collection or alias a `raw` operation's path names
    /// (`/v1/schema/X…`, `/v1/aliases/X`, `/v1/objects/X/…`, or the `class`
    /// of its body); a changing one naming none is recorded as unknown.
    fn add_raw(&mut self, file: &str, operations: &[Operation]) {
        for operation in operations {
            let Operation::Raw { method, path, body } = operation else {
                continue;
            };
            let mut segments = path.split(['?', '#']).next().unwrap_or_default().split('/');
            let target = match (segments.nth(2), segments.next()) {
                (Some("schema" | "aliases" | "objects"), Some(name))
                    if !name.is_empty() && !is_uuid(name) =>
                {
                    Some(name.to_string())
                }
                _ => body
                    .as_ref()
                    .and_then(|body| body["class"].as_str())
                    .map(str::to_string),
            };
            // `POST /v1/aliases {"alias": A, "class": C}` makes A as well.
            if let Some(alias) = body.as_ref().and_then(|body| body["alias"].as_str()) {
                self.names.insert(alias.to_string());
            }
            let reads = ["GET", "HEAD"].contains(&method.to_ascii_uppercase().as_str());
            match target {
                Some(name) => {
                    self.names.insert(name);
                }
                None if !reads => self
                    .unknown
                    .push(format!("{file}: {} {path}", method.to_ascii_uppercase())),
                None => {}
            }
        }
    }

    /// Whether `object` (from a server's snapshot) is one the migrations
    /// create or change: its name is claimed, or it is on a claimed label.
    pub fn covers(&self, object: &SchemaObject) -> bool {
        let named = self
            .names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(&object.name));
        named || object_labels(&object.definition).any(|label| self.labels.contains(label))
    }

    fn add_cypher(&mut self, text: &str) {
        let tokens = tokens(text);
        for (i, token) in tokens.iter().enumerate() {
            let next = tokens.get(i + 1).map(|t| &t.kind);
            match (&token.kind, next) {
                (Kind::Punct(':' | '|' | '&'), Some(Kind::Word(label) | Kind::Quoted(label)))
                    if !token.in_map
                        && (token.kind == Kind::Punct(':') || self.labels_before(&tokens, i)) =>
                {
                    self.labels.insert(label.clone());
                }
                (Kind::Word(word), _) if word.eq_ignore_ascii_case("create") => {
                    if let Some(name) = schema_name(&tokens[i + 1..]) {
                        self.names.insert(name);
                    }
                }
                _ => {}
            }
        }
    }

    /// Whether token `i` (a `|` or `&`) continues a label expression.
    fn labels_before(&self, tokens: &[Token], i: usize) -> bool {
        i >= 1
            && matches!(&tokens[i - 1].kind, Kind::Word(w) | Kind::Quoted(w) if self.labels.contains(w))
    }

    fn add_operations(&mut self, operations: &[Operation]) {
        for operation in operations {
            let value = serde_json::to_value(operation).unwrap_or_default();
            let class = value["class"]["class"].as_str();
            for name in [class, value["collection"].as_str(), value["alias"].as_str()] {
                self.names.extend(name.map(str::to_string));
            }
        }
    }
}

/// `8-4-4-4-12` hex digits: an object id, not a collection name.
fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The labels of a Neo4j snapshot definition (`RANGE NODE :A|B(x)`).
fn object_labels(definition: &str) -> impl Iterator<Item = &str> {
    definition
        .split_once(" :")
        .and_then(|(_, rest)| rest.split_once('('))
        .map(|(labels, _)| labels)
        .unwrap_or_default()
        .split('|')
        .filter(|label| !label.is_empty())
}

/// The name after `CREATE [kind] INDEX|CONSTRAINT`, if one is given.
fn schema_name(after_create: &[Token]) -> Option<String> {
    let word = |i: usize| match after_create.get(i).map(|t| &t.kind) {
        Some(Kind::Word(w)) => Some(w.to_ascii_uppercase()),
        _ => None,
    };
    let kinds = [
        "RANGE", "TEXT", "POINT", "LOOKUP", "FULLTEXT", "VECTOR", "BTREE",
    ];
    let at = usize::from(word(0).is_some_and(|w| kinds.contains(&w.as_str())));
    if !matches!(word(at).as_deref(), Some("INDEX" | "CONSTRAINT")) {
        return None;
    }
    match after_create.get(at + 1).map(|t| &t.kind) {
        Some(Kind::Quoted(name)) => Some(name.clone()),
        Some(Kind::Word(name))
            if !["IF", "FOR", "ON"].contains(&name.to_ascii_uppercase().as_str()) =>
        {
            Some(name.clone())
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Word(String),
    Quoted(String),
    Punct(char),
}

#[derive(Debug)]
struct Token {
    kind: Kind,
    /// Inside a map literal `{…}`, where `key:` is no label.
    in_map: bool,
}

/// Cypher's words, backticked names and punctuation, without strings and comments.
fn tokens(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut open = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let in_map = open.last() == Some(&'{');
        let kind = match c {
            '\'' | '"' => {
                let mut escaped = false;
                for d in chars.by_ref() {
                    if !escaped && d == c {
                        break;
                    }
                    escaped = !escaped && d == '\\';
                }
                continue;
            }
            '/' if chars.peek() == Some(&'/') => {
                chars.by_ref().find(|&d| d == '\n');
                continue;
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for d in chars.by_ref() {
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
                continue;
            }
            '`' => Kind::Quoted(backticked(&mut chars)),
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = c.to_string();
                while let Some(&d) = chars.peek().filter(|d| d.is_alphanumeric() || **d == '_') {
                    word.push(d);
                    chars.next();
                }
                Kind::Word(word)
            }
            c if c.is_whitespace() => continue,
            c => {
                match c {
                    '{' | '(' | '[' => open.push(c),
                    '}' | ')' | ']' => drop(open.pop()),
                    _ => {}
                }
                Kind::Punct(c)
            }
        };
        tokens.push(Token { kind, in_map });
    }
    tokens
}

/// The rest of a backticked name, its opening backtick read: a doubled
/// backtick stands for one inside the name (`` `a``b` `` is ``a`b``).
fn backticked(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut name = String::new();
    while let Some(d) = chars.next() {
        if d != '`' {
            name.push(d);
        } else if chars.next_if_eq(&'`').is_some() {
            name.push('`');
        } else {
            break;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doubled_backtick_is_part_of_the_label() {
        let claims = cypher("CREATE (:`Odd``Label` {name: 'x'})-[:`REL`]->(:Plain);");
        let labels: Vec<&str> = claims.labels().collect();
        assert_eq!(labels, ["Odd`Label", "Plain", "REL"]);
    }

    fn cypher(text: &str) -> Claims {
        let mut claims = Claims::default();
        claims.add_cypher(text);
        claims
    }

    #[test]
    fn cypher_labels_and_schema_names_are_claimed() {
        let claims = cypher(
            "CREATE CONSTRAINT concept_name IF NOT EXISTS FOR (c:Concept) REQUIRE c.name IS UNIQUE;\n\
             CREATE TEXT INDEX `odd name` FOR (n:`Odd Label`) ON (n.x);\n\
             CREATE INDEX IF NOT EXISTS FOR ()-[r:LINKS]-() ON (r.w);\n\
             // MATCH (n:Commented)\n\
             MATCH (a:A|B {name: 'x:NotALabel', other: $p}) WHERE a:C SET a.y = {k: 1};",
        );
        let names: Vec<&str> = claims.names.iter().map(String::as_str).collect();
        assert_eq!(names, ["concept_name", "odd name"]);
        let labels: Vec<&str> = claims.labels.iter().map(String::as_str).collect();
        assert_eq!(labels, ["A", "B", "C", "Concept", "LINKS", "Odd Label"]);
    }

    #[test]
    fn an_object_is_covered_by_its_name_or_label() {
        let claims = cypher("CREATE INDEX widget_name FOR (w:Widget) ON (w.name);");
        let index = |name: &str, definition: &str| SchemaObject::new("index", name, definition);
        assert!(claims.covers(&index("widget_name", "RANGE NODE :Other(x)")));
        assert!(claims.covers(&index("other", "RANGE NODE :Widget(x)")));
        assert!(!claims.covers(&index("other", "RANGE NODE :Widgets(x)")));
        assert!(!claims.covers(&index("lookup", "LOOKUP NODE :()")));
    }

    #[test]
    fn weaviate_collections_and_aliases_are_claimed() {
        let mut claims = Claims::default();
        let operations: Vec<Operation> = serde_json::from_str(
            r#"[{"op": "create_collection", "class": {"class": "Article"}},
                {"op": "create_alias", "alias": "Latest", "collection": "Article"}]"#,
        )
        .expect("operations");
        claims.add_operations(&operations);
        let names: Vec<&str> = claims.names.iter().map(String::as_str).collect();
        assert_eq!(names, ["Article", "Latest"]);
        assert!(claims.covers(&SchemaObject::new("collection", "article", "{}")));
    }

    #[test]
    fn raw_operations_claim_what_their_path_or_body_names() {
        let mut claims = Claims::default();
        let operations: Vec<Operation> = serde_json::from_str(
            r#"[{"op": "raw", "method": "DELETE", "path": "/v1/schema/Article"},
                {"op": "raw", "method": "PUT", "path": "/v1/aliases/Latest?x=1"},
                {"op": "raw", "method": "POST", "path": "/v1/schema", "body": {"class": "Note"}},
                {"op": "raw", "method": "PATCH", "path": "/v1/objects/0b0f1c3e-1111-2222-3333-444455556666"},
                {"op": "raw", "method": "GET", "path": "/v1/nodes"}]"#,
        )
        .expect("operations");
        claims.add_raw("m/1.weaviate.json", &operations);
        let names: Vec<&str> = claims.names.iter().map(String::as_str).collect();
        assert_eq!(names, ["Article", "Latest", "Note"]);
        assert_eq!(
            claims.unknown(),
            ["m/1.weaviate.json: PATCH /v1/objects/0b0f1c3e-1111-2222-3333-444455556666"]
        );
    }
}
