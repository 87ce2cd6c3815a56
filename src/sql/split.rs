//! Splitting a SQL script into statements for `Transaction: none`
//! migrations, which run one statement at a time. Respects quotes,
//! `E'…'` escapes, quoted identifiers, dollar quotes and both comment forms.

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement<'a> {
    /// The statement text, without its `;`.
    pub text: &'a str,
    /// 0-based line of its first character, relative to the script.
    pub line: u32,
}

/// The statements of `script`, skipping empty ones and pure comments.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn split(script: &str) -> Vec<Statement<'_>> {
    let bytes = script.as_bytes();
    let mut statements = Vec::new();
    let mut lines = LineCounter::default();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' => skip_quoted(bytes, i, b'\'', is_escape_string(bytes, i)),
            b'"' => skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            b'$' => skip_dollar(script, i),
            b';' => {
                push(script, start, i, &mut lines, &mut statements);
                start = i + 1;
                i + 1
            }
            _ => i + 1,
        };
    }
    push(script, start, bytes.len(), &mut lines, &mut statements);
    statements
}

/// The bare words of `text` (keywords and unquoted identifiers), in order,
/// outside comments, string literals and quoted identifiers. The body of a
/// dollar quote is read as code (a `DO` block or function body runs it), so
/// a caller looking for a statement errs on the side of finding it.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    collect_words(text, &mut out);
    out
}

fn collect_words<'a>(text: &'a str, out: &mut Vec<&'a str>) {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'\'' => skip_quoted(bytes, i, b'\'', is_escape_string(bytes, i)),
            b'"' => skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            b'$' => {
                let end = skip_dollar(text, i);
                let tag = text[i + 1..].find('$').map_or(0, |p| p + 2);
                if end > i + 1 && end >= i + 2 * tag {
                    collect_words(&text[i + tag..end - tag], out);
                }
                end
            }
            b if word(b) => {
                let len = bytes[i..]
                    .iter()
                    .position(|&b| !word(b))
                    .unwrap_or(bytes.len() - i);
                // `E'…'`, `B'…'`, `X'…'`, `N'…'`: a literal's prefix, no word.
                if bytes.get(i + len) != Some(&b'\'') {
                    out.push(&text[i..i + len]);
                }
                i + len
            }
            _ => i + 1,
        };
    }
}

/// Counts newlines up to a position that only moves forward, so numbering
/// every statement of a script reads each byte once (linear, not quadratic).
#[derive(Default)]
struct LineCounter {
    position: usize,
    line: u32,
}

impl LineCounter {
    /// The 0-based line of byte `position` (never before the last one asked).
    fn line_at(&mut self, script: &str, position: usize) -> u32 {
        let newlines = script.as_bytes()[self.position..position]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += newlines as u32;
        self.position = position;
        self.line
    }
}

fn push<'a>(
    script: &'a str,
    start: usize,
    end: usize,
    lines: &mut LineCounter,
    out: &mut Vec<Statement<'a>>,
) {
    let end = end.min(script.len());
    let text = &script[start..end];
    let Some(offset) = first_code(text) else {
        return;
    };
    let begin = start + offset;
    let line = lines.line_at(script, begin);
    out.push(Statement {
        text: script[begin..end].trim_end(),
        line,
    });
}

/// Offset of the first character that is neither blank nor comment.
fn first_code(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            _ => return Some(i),
        }
    }
    None
}

pub(super) fn is_escape_string(bytes: &[u8], quote: usize) -> bool {
    quote > 0
        && matches!(bytes[quote - 1], b'e' | b'E')
        && (quote == 1 || !(bytes[quote - 2].is_ascii_alphanumeric() || bytes[quote - 2] == b'_'))
}

/// Index after the closing quote; a doubled quote is an escaped quote.
pub(super) fn skip_quoted(bytes: &[u8], open: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        if backslash_escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

pub(super) fn skip_line(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| start + p + 1)
}

/// Block comments nest in PostgreSQL.
pub(super) fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// `$tag$ … $tag$`; a `$` that does not open a tag (`$1`) is skipped alone.
pub(super) fn skip_dollar(script: &str, start: usize) -> usize {
    let bytes = script.as_bytes();
    if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
        return start + 1;
    }
    let tag_len = bytes[start + 1..]
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(bytes.len() - start - 1);
    let close = start + 1 + tag_len;
    if bytes.get(close) != Some(&b'$') || bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return start + 1;
    }
    let tag = &script[start..=close];
    match script[close + 1..].find(tag) {
        Some(p) => close + 1 + p + tag.len(),
        None => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(script: &str, expected: &[(&str, u32)]) {
        let got: Vec<(&str, u32)> = split(script).iter().map(|s| (s.text, s.line)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn words_skip_comments_literals_and_quoted_identifiers() {
        assert_eq!(
            words("ALTER TYPE mood ADD VALUE 'x' -- ADD VALUE\n/* ALTER */"),
            ["ALTER", "TYPE", "mood", "ADD", "VALUE"]
        );
        assert_eq!(
            words("SELECT 'ALTER TYPE', E'\\' ADD', \"ADD\" x"),
            ["SELECT", "x"]
        );
        assert_eq!(
            words("DO $b$ BEGIN ALTER TYPE t ADD VALUE 'v'; END $b$; SELECT $1"),
            ["DO", "BEGIN", "ALTER", "TYPE", "t", "ADD", "VALUE", "END", "SELECT", "1"]
        );
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        check(
            "SELECT 1;\nSELECT 2;\n",
            &[("SELECT 1", 0), ("SELECT 2", 1)],
        );
        check("SELECT 1", &[("SELECT 1", 0)]);
        check("\n\n-- only a comment\n;\n", &[]);
    }

    #[test]
    fn respects_quotes_comments_and_dollar_quotes() {
        check("SELECT 'a;b', \"c;d\";", &[("SELECT 'a;b', \"c;d\"", 0)]);
        check("SELECT 'it''s;';", &[("SELECT 'it''s;'", 0)]);
        check("SELECT E'\\';';", &[("SELECT E'\\';'", 0)]);
        check(
            "-- a; b\nSELECT 1; /* x; /* y; */ z; */ SELECT 2;",
            &[("SELECT 1", 1), ("SELECT 2", 1)],
        );
        check(
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\nSELECT $$;$$;",
            &[("CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql", 0), ("SELECT $$;$$", 1)],
        );
        check(
            "SELECT $1; SELECT a$b$ ;",
            &[("SELECT $1", 0), ("SELECT a$b$", 0)],
        );
    }
}
