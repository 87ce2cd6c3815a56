//! Where things are in a JSON text: the line of each top-level key and of
//! each object in a top-level list, for messages that point at a line.

use super::file::line_number;

/// One key of the top-level object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyLayout {
    /// The key, as written between the quotes.
    pub name: String,
    /// 1-based line of the key.
    pub line: u32,
    /// When the value is a list: the 1-based line where each of its objects starts.
    pub elements: Vec<u32>,
}

/// The layout of the top-level object's keys (best effort on broken JSON).
pub(crate) fn layout(text: &str) -> Vec<KeyLayout> {
    let bytes = text.as_bytes();
    let mut keys: Vec<KeyLayout> = Vec::new();
    let (mut depth, mut line, mut index) = (0usize, 1usize, 0usize);
    while index < bytes.len() {
        match bytes[index] {
            b'\n' => line += 1,
            b'{' if depth == 2 => {
                if let Some(key) = keys.last_mut() {
                    key.elements.push(line_number(line));
                }
                depth += 1;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = index + 1;
                index = string_end(bytes, start);
                let name = &text[start..index];
                if depth == 1 && next_is_colon(&bytes[(index + 1).min(bytes.len())..]) {
                    keys.push(KeyLayout {
                        name: name.to_string(),
                        line: line_number(line),
                        elements: Vec::new(),
                    });
                }
                line += name.matches('\n').count();
            }
            _ => {}
        }
        index += 1;
    }
    keys
}

/// True when the first non-blank byte is `:`.
fn next_is_colon(rest: &[u8]) -> bool {
    rest.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b':')
}

/// The index of the quote closing a string whose text starts at `start`
/// (the text's length when unclosed).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut index = start;
    while index < bytes.len() {
        match bytes[index] {
            b'\\' => index += 2,
            b'"' => return index,
            _ => index += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::{layout, KeyLayout};

    fn key(name: &str, line: u32, elements: &[u32]) -> KeyLayout {
        KeyLayout {
            name: name.into(),
            line,
            elements: elements.to_vec(),
        }
    }

    #[test]
    fn finds_keys_and_list_elements() {
        let text = "{\n  \"message\": \"a \\\"quoted\\\" up: [\",\n  \"up\": [\n    {\"op\": \"x\", \"class\": {\"up\": []}},\n\n    {\"op\": \"y\"}\n  ],\n  \"down\"\n  : []\n}\n";
        assert_eq!(
            layout(text),
            [
                key("message", 2, &[]),
                key("up", 3, &[4, 6]),
                key("down", 8, &[])
            ]
        );
    }

    #[test]
    fn survives_broken_text() {
        for text in [
            "",
            "\"",
            "{\"a",
            "{\"a\\",
            "]]]{{{",
            "{\"up\": [{\"op\": \"\\u",
        ] {
            let _ = layout(text);
        }
    }
}
