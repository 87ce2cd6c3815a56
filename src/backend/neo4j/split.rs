//! Splits a Cypher section into statements and classifies each one: schema
//! and administration commands (auto-commit, one by one), `CALL { … } IN
//! TRANSACTIONS` (auto-commit) and plain data statements (grouped into one
//! explicit transaction).

/// How Neo4j lets a statement run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// A plain read/write statement: may share an explicit transaction.
    Data,
    /// `CREATE`/`DROP` of an index or constraint (or another schema or
    /// administration command): auto-commit, never mixed with writes.
    Schema {
        /// The statement creates an index (a constraint creates its backing
        /// index), so data steps after it wait for indexes to come online.
        creates_index: bool,
    },
    /// `CALL { … } IN TRANSACTIONS` (or `USING PERIODIC COMMIT`): only runs
    /// in an auto-commit transaction.
    AutoCommit,
}

impl StatementKind {
    /// Whether the statement must run on its own in an auto-commit transaction.
    pub fn is_auto_commit(self) -> bool {
        !matches!(self, StatementKind::Data)
    }
}

/// One statement of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement text, without the final `;` and surrounding whitespace.
    pub text: String,
    /// 1-based line, within the split text, of its first character.
    pub line: u32,
    /// How it must run.
    pub kind: StatementKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Quoted(char),
    LineComment,
    BlockComment,
}

/// The statement being collected: its text, the same text with strings and
/// comments blanked out (for classification), and where its code starts.
#[derive(Default)]
struct Pending {
    text: String,
    code: String,
    line: Option<u32>,
}

impl Pending {
    fn finish(&mut self, statements: &mut Vec<Statement>) {
        let pending = std::mem::take(self);
        if let Some(line) = pending.line {
            statements.push(Statement {
                text: pending.text.trim().to_owned(),
                line,
                kind: classify(&pending.code),
            });
        }
    }
}

/// Splits `text` at each `;` outside strings (`'…'`, `"…"`), quoted names
/// (`` `…` ``) and comments (`//`, `/* */`). Statements holding only
/// comments or whitespace are dropped.
pub fn split_statements(text: &str) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut pending = Pending::default();
    let mut state = State::Code;
    let mut line = 1u32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match state {
            State::Code => match (c, next) {
                (';', _) => {
                    pending.finish(&mut statements);
                    continue;
                }
                ('/', Some('/')) => state = State::LineComment,
                ('/', Some('*')) => {
                    state = State::BlockComment;
                    push_char(&mut pending, c, state, line);
                    push_char(&mut pending, '*', state, line);
                    chars.next();
                    continue;
                }
                ('\'' | '"' | '`', _) => state = State::Quoted(c),
                _ => {}
            },
            State::Quoted(quote) => {
                if c == '\\' && quote != '`' {
                    if let Some(escaped) = chars.next() {
                        pending.text.push(c);
                        pending.text.push(escaped);
                        line += u32::from(escaped == '\n');
                        continue;
                    }
                } else if c == quote {
                    state = State::Code;
                }
            }
            State::LineComment => {
                if c == '\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if c == '*' && next == Some('/') {
                    push_char(&mut pending, c, state, line);
                    push_char(&mut pending, '/', state, line);
                    chars.next();
                    state = State::Code;
                    continue;
                }
            }
        }
        push_char(&mut pending, c, state, line);
        line += u32::from(c == '\n');
    }
    pending.finish(&mut statements);
    statements
}

/// Adds `c` (already classified by `state`) to the pending statement.
fn push_char(pending: &mut Pending, c: char, state: State, line: u32) {
    let is_code = matches!(state, State::Code | State::Quoted(_));
    if pending.line.is_none() {
        if !is_code || c.is_whitespace() {
            return; // leading comments and blank lines are not part of the statement
        }
        pending.line = Some(line);
    }
    pending.text.push(c);
    pending.code.push(match state {
        State::Code => c,
        State::Quoted('`') => 'x',
        _ => ' ',
    });
}

/// Classifies a statement from its code (strings and comments blanked).
fn classify(code: &str) -> StatementKind {
    let words: Vec<String> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let first_is_paren = code.trim_start().starts_with(['(', '{']);
    match word(0) {
        "CREATE" | "DROP" if !first_is_paren && is_schema_object(&words[1..]) => {
            StatementKind::Schema {
                creates_index: word(0) == "CREATE" && !words.iter().any(|w| w == "DATABASE"),
            }
        }
        "SHOW" | "ALTER" | "GRANT" | "DENY" | "REVOKE" | "START" | "STOP" | "TERMINATE"
        | "ENABLE" | "DEALLOCATE" | "DRYRUN" | "RENAME" => StatementKind::Schema {
            creates_index: false,
        },
        _ if runs_in_transactions(&words) => StatementKind::AutoCommit,
        _ => StatementKind::Data,
    }
}

/// Whether the words after `CREATE`/`DROP` name a schema or administration
/// object rather than a pattern (`CREATE (n)` never reaches here).
fn is_schema_object(rest: &[String]) -> bool {
    const OBJECTS: [&str; 7] = [
        "INDEX",
        "CONSTRAINT",
        "DATABASE",
        "ALIAS",
        "USER",
        "ROLE",
        "SERVER",
    ];
    const MODIFIERS: [&str; 12] = [
        "OR",
        "REPLACE",
        "RANGE",
        "TEXT",
        "POINT",
        "LOOKUP",
        "FULLTEXT",
        "VECTOR",
        "BTREE",
        "COMPOSITE",
        "LOCAL",
        "REMOTE",
    ];
    rest.iter()
        .take_while(|w| OBJECTS.contains(&w.as_str()) || MODIFIERS.contains(&w.as_str()))
        .any(|w| OBJECTS.contains(&w.as_str()))
}

/// `CALL { … } IN [n] [CONCURRENT] TRANSACTIONS`, or the Neo4j 4
/// `USING PERIODIC COMMIT`.
fn runs_in_transactions(words: &[String]) -> bool {
    let periodic = words
        .windows(3)
        .any(|w| w[0] == "USING" && w[1] == "PERIODIC" && w[2] == "COMMIT");
    let in_transactions = words.iter().enumerate().any(|(i, w)| {
        w == "TRANSACTIONS" && words[i.saturating_sub(3)..i].iter().any(|w| w == "IN")
    });
    periodic || (in_transactions && words.iter().any(|w| w == "CALL"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[(u32, &str, StatementKind)]) {
        let actual: Vec<(u32, String, StatementKind)> = split_statements(input)
            .into_iter()
            .map(|s| (s.line, s.text, s.kind))
            .collect();
        let expected: Vec<(u32, String, StatementKind)> = expected
            .iter()
            .map(|(l, t, k)| (*l, (*t).to_owned(), *k))
            .collect();
        assert_eq!(actual, expected);
    }

    const DATA: StatementKind = StatementKind::Data;
    const INDEX: StatementKind = StatementKind::Schema {
        creates_index: true,
    };
    const DROP: StatementKind = StatementKind::Schema {
        creates_index: false,
    };

    #[test]
    fn splits_at_semicolons_with_lines() {
        check(
            "\nCREATE (a:A);\nMATCH (a:A)\nSET a.x = 1;\n\nRETURN 1",
            &[
                (2, "CREATE (a:A)", DATA),
                (3, "MATCH (a:A)\nSET a.x = 1", DATA),
                (6, "RETURN 1", DATA),
            ],
        );
    }

    #[test]
    fn semicolons_inside_strings_and_names_do_not_split() {
        check(
            "CREATE (:A {s: 'a;b', t: \"c;d\", `w;x`: 'it\\'s;'});\nRETURN 2;",
            &[
                (
                    1,
                    "CREATE (:A {s: 'a;b', t: \"c;d\", `w;x`: 'it\\'s;'})",
                    DATA,
                ),
                (2, "RETURN 2", DATA),
            ],
        );
    }

    #[test]
    fn comments_are_skipped_and_do_not_split() {
        check(
            "// leading; comment\n/* block;\n comment */ MATCH (n) // trailing;\nRETURN n;\n// only a comment;\n",
            &[(3, "MATCH (n) // trailing;\nRETURN n", DATA)],
        );
    }

    #[test]
    fn multi_line_strings_keep_line_numbers() {
        check(
            "RETURN 'a\nb';\nRETURN 3;",
            &[(1, "RETURN 'a\nb'", DATA), (3, "RETURN 3", DATA)],
        );
    }

    #[test]
    fn classifies_schema_statements() {
        check(
            "CREATE CONSTRAINT c IF NOT EXISTS FOR (n:A) REQUIRE n.x IS UNIQUE;\n\
             create range index i for (n:A) on (n.y);\n\
             CREATE OR REPLACE DATABASE x;\n\
             DROP INDEX i IF EXISTS;\n\
             SHOW INDEXES;\n\
             CREATE (n:INDEX {constraint: 1});",
            &[
                (
                    1,
                    "CREATE CONSTRAINT c IF NOT EXISTS FOR (n:A) REQUIRE n.x IS UNIQUE",
                    INDEX,
                ),
                (2, "create range index i for (n:A) on (n.y)", INDEX),
                (3, "CREATE OR REPLACE DATABASE x", DROP),
                (4, "DROP INDEX i IF EXISTS", DROP),
                (5, "SHOW INDEXES", DROP),
                (6, "CREATE (n:INDEX {constraint: 1})", DATA),
            ],
        );
    }

    #[test]
    fn detects_call_in_transactions() {
        let auto = StatementKind::AutoCommit;
        check(
            "MATCH (n:A) CALL (n) { SET n.x = 1 } IN TRANSACTIONS OF 100 ROWS;\n\
             MATCH (n) CALL { WITH n DELETE n } IN 4 CONCURRENT TRANSACTIONS;\n\
             RETURN 'CALL { } IN TRANSACTIONS';\n\
             MATCH (`IN`) CALL { RETURN 1 } RETURN `TRANSACTIONS`;",
            &[
                (
                    1,
                    "MATCH (n:A) CALL (n) { SET n.x = 1 } IN TRANSACTIONS OF 100 ROWS",
                    auto,
                ),
                (
                    2,
                    "MATCH (n) CALL { WITH n DELETE n } IN 4 CONCURRENT TRANSACTIONS",
                    auto,
                ),
                (3, "RETURN 'CALL { } IN TRANSACTIONS'", DATA),
                (
                    4,
                    "MATCH (`IN`) CALL { RETURN 1 } RETURN `TRANSACTIONS`",
                    DATA,
                ),
            ],
        );
    }

    #[test]
    fn empty_and_comment_only_sections_have_no_statements() {
        assert!(split_statements("").is_empty());
        assert!(split_statements("\n  ;\n// nothing\n/* here */;").is_empty());
    }
}
