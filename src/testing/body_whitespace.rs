//! Recognises a function body re-created with other whitespace: a down that
//! restores a PL/pgSQL or SQL function from a copy indented differently (or
//! with another trailing newline) gives the same function, but PostgreSQL
//! keeps the body's text as written. Whitespace is compared as a token
//! boundary only, outside string literals, dollar quotes, quoted identifiers
//! and comments, whose text still compares exactly; the header PostgreSQL
//! prints (arguments, result, language, volatility, settings) must be equal,
//! and other languages (PL/Python's indentation is its syntax) never match.

/// Whether two `pg_get_functiondef` texts differ only in body whitespace
/// that has no meaning.
pub(crate) fn same_but_whitespace(old: &str, new: &str) -> bool {
    let (Some((old_header, old_body)), Some((new_header, new_body))) = (split(old), split(new))
    else {
        return false;
    };
    old_header == new_header
        && insensitive_language(old_header)
        && tokens(old_body).is_some_and(|tokens| Some(tokens) == self::tokens(new_body))
}

/// The header up to `AS $tag$` and the body between the tags (nothing may
/// follow the closing tag but whitespace).
fn split(definition: &str) -> Option<(&str, &str)> {
    let at = definition.find("\nAS $")?;
    let (header, rest) = definition.split_at(at);
    let quoted = &rest["\nAS ".len()..];
    let tag = dollar_tag(quoted)?;
    let body = quoted[tag.len()..].trim_end().strip_suffix(tag)?;
    Some((header, body))
}

fn insensitive_language(header: &str) -> bool {
    header
        .lines()
        .any(|line| matches!(line.trim(), "LANGUAGE plpgsql" | "LANGUAGE sql"))
}

/// The body's tokens: words, runs of operator characters, single
/// punctuation, and literals, quoted names and comments kept whole. `None`
/// when a quote is not closed (then nothing is tolerated).
fn tokens(body: &str) -> Option<Vec<&str>> {
    let bytes = body.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let end = match c {
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'\'' => closing(bytes, i + 1, c, escape_string(bytes, i))?,
            b'"' => closing(bytes, i + 1, c, false)?,
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                body[i..].find('\n').map_or(bytes.len(), |n| i + n)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => body[i + 2..].find("*/")? + i + 4,
            b'$' if dollar_tag(&body[i..]).is_some() => {
                let tag = dollar_tag(&body[i..])?;
                body[i + tag.len()..].find(tag)? + i + 2 * tag.len()
            }
            c if is_word(c) => i + bytes[i..].iter().take_while(|&&b| is_word(b)).count(),
            c if is_operator(c) => {
                i + bytes[i..]
                    .iter()
                    .enumerate()
                    .take_while(|&(k, &b)| is_operator(b) && !starts_comment(&bytes[i + k..]))
                    .count()
                    .max(1)
            }
            _ => i + body[i..].chars().next().map_or(1, char::len_utf8),
        };
        tokens.push(&body[i..end]);
        i = end;
    }
    Some(tokens)
}

/// The index after the quote `quote` that closes a literal opened before
/// `from` (a doubled quote is part of it; so is a backslash-escaped one
/// when `backslashes` escape, in an `E'…'` literal).
fn closing(bytes: &[u8], from: usize, quote: u8, backslashes: bool) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if backslashes => i += 2,
            b if b == quote && bytes.get(i + 1) == Some(&quote) => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Whether the quote at `at` opens an escape string (`E'…'`, `e'…'`): with
/// `standard_conforming_strings` on (the default since PostgreSQL 9.1), only
/// those take backslash escapes; in `'a\'` the backslash is a character.
fn escape_string(bytes: &[u8], at: usize) -> bool {
    let prefix = at.checked_sub(1).map(|p| bytes[p]);
    let before = at.checked_sub(2).map(|p| bytes[p]);
    matches!(prefix, Some(b'E' | b'e')) && !before.is_some_and(is_word)
}

/// `$tag$` or `$$` at the start of `text` (`$1` is a parameter).
fn dollar_tag(text: &str) -> Option<&str> {
    let rest = &text[1..];
    let len = rest
        .bytes()
        .take_while(|&b| b.is_ascii_alphanumeric() || b == b'_')
        .count();
    let starts_with_digit = rest.bytes().next().is_some_and(|b| b.is_ascii_digit());
    (!starts_with_digit && rest.as_bytes().get(len) == Some(&b'$')).then(|| &text[..len + 2])
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_operator(b: u8) -> bool {
    b"+-*/<>=~!@#%^&|`?".contains(&b)
}

fn starts_comment(bytes: &[u8]) -> bool {
    bytes.starts_with(b"--") || bytes.starts_with(b"/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(language: &str, body: &str) -> String {
        format!(
            "CREATE OR REPLACE FUNCTION public.f(name text)\n RETURNS text\n LANGUAGE {language}\nAS $function$\n{body}$function$\n"
        )
    }

    #[test]
    fn indentation_and_line_breaks_outside_literals_are_tolerated() {
        let old = function("plpgsql", "  BEGIN\n    RETURN 'Hi, ' || name;\n  END\n");
        let new = function("plpgsql", "BEGIN\nRETURN 'Hi, '\n  || name; END");
        assert!(same_but_whitespace(&old, &new));
        let sql = function("sql", "SELECT  upper($1)  -- shout\n");
        assert!(same_but_whitespace(
            &sql,
            &function("sql", "\n\tSELECT upper($1) -- shout\n")
        ));
    }

    #[test]
    fn whitespace_inside_literals_names_and_comments_still_compares() {
        let old = function("plpgsql", "BEGIN RETURN 'Hi,  ' || name; END\n");
        let new = function("plpgsql", "BEGIN RETURN 'Hi, ' || name; END\n");
        assert!(!same_but_whitespace(&old, &new));
        let quoted = |name: &str| function("plpgsql", &format!("BEGIN RETURN \"{name}\"; END\n"));
        assert!(!same_but_whitespace(&quoted("a b"), &quoted("a  b")));
        let commented = |c: &str| function("sql", &format!("SELECT 1 /* {c} */\n"));
        assert!(!same_but_whitespace(&commented("x y"), &commented("x  y")));
        let dollar = |s: &str| function("plpgsql", &format!("BEGIN RETURN $q${s}$q$; END\n"));
        assert!(!same_but_whitespace(&dollar("a b"), &dollar("a  b")));
    }

    #[test]
    fn a_backslash_escapes_a_quote_only_in_an_escape_string() {
        // `'a\'` is a whole literal: the spaces in the next one still count.
        let plain = |s: &str| {
            function(
                "plpgsql",
                &format!("BEGIN x := 'a\\'; RETURN '{s}' || name; END\n"),
            )
        };
        assert!(!same_but_whitespace(
            &plain("hello  world"),
            &plain("hello world")
        ));
        assert!(same_but_whitespace(
            &plain("hello world"),
            &plain("hello world").replace("; RETURN", ";\n  RETURN")
        ));
        // In `E'it\'s'` the quote is escaped, upper or lower case `E`.
        for prefix in ["E", "e"] {
            let escaped = |s: &str| {
                function(
                    "plpgsql",
                    &format!("BEGIN x := {prefix}'it\\'s'; RETURN '{s}'; END\n"),
                )
            };
            assert!(!same_but_whitespace(&escaped("a  b"), &escaped("a b")));
            assert!(same_but_whitespace(
                &escaped("a b"),
                &escaped("a b").replace("BEGIN x", "BEGIN\n  x")
            ));
        }
        // A word ending in e (`some'…'` is no escape string) is not a prefix.
        let word = |s: &str| function("sql", &format!("SELECT some'a\\' , '{s}'\n"));
        assert!(!same_but_whitespace(&word("p  q"), &word("p q")));
    }

    #[test]
    fn tokens_that_whitespace_separates_stay_apart() {
        let with = |expr: &str| function("sql", &format!("SELECT {expr}\n"));
        assert!(!same_but_whitespace(&with("a - -1"), &with("a --1")));
        assert!(!same_but_whitespace(&with("a * -1"), &with("a *-1")));
        assert!(!same_but_whitespace(&with("a b"), &with("ab")));
    }

    #[test]
    fn other_languages_and_headers_never_match() {
        let python = |body: &str| function("plpython3u", body);
        assert!(!same_but_whitespace(
            &python("return 1\n"),
            &python("  return 1\n")
        ));
        let old = function("plpgsql", "BEGIN RETURN name; END\n");
        let stable = old.replace(" LANGUAGE plpgsql", " LANGUAGE plpgsql\n STABLE");
        assert!(!same_but_whitespace(
            &old,
            &stable.replace("RETURN", " RETURN")
        ));
    }
}
