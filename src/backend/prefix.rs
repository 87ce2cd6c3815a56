//! The bookkeeping prefix: how the backends' own history and lock names
//! start, checked once here for every caller (library and CLI alike).

use std::fmt;
use std::str::FromStr;

/// A checked start of the backends' bookkeeping names, used instead of
/// `Dbmigrate`: Neo4j's labels `__<prefix>Migration` and `__<prefix>Lock`,
/// Weaviate's collections `<prefix>History` and `<prefix>Lock`.
///
/// The rule is the strictest of the backends that name things after it:
/// an upper-case ASCII letter (Weaviate's class names must start with one),
/// then ASCII letters and digits, at most [`BookkeepingPrefix::MAX_LEN`]
/// characters. Such a name needs no quoting anywhere.
///
/// ```
/// use dbmigrate_core::backend::BookkeepingPrefix;
///
/// let prefix: BookkeepingPrefix = "Billing".parse().unwrap();
/// assert_eq!(prefix.as_str(), "Billing");
/// assert!("billing".parse::<BookkeepingPrefix>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookkeepingPrefix(String);

impl BookkeepingPrefix {
    /// The longest prefix accepted, in characters: every name made from it
    /// (the longest, Neo4j's `__<prefix>Migration_revision_id`, adds 23)
    /// stays short enough to read and well inside each server's limit.
    pub const MAX_LEN: usize = 64;

    /// Checks `text` against the rule above.
    pub fn new(text: impl Into<String>) -> Result<Self, BookkeepingPrefixError> {
        let text = text.into();
        match problem(&text) {
            None => Ok(BookkeepingPrefix(text)),
            Some(kind) => Err(BookkeepingPrefixError { text, kind }),
        }
    }

    /// The prefix as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What is wrong with `text`, or `None` when it follows the rule.
fn problem(text: &str) -> Option<BookkeepingPrefixErrorKind> {
    use BookkeepingPrefixErrorKind::{Empty, FirstNotUpperCase, NotAlphanumeric, TooLong};
    let mut chars = text.chars();
    match chars.next() {
        None => Some(Empty),
        Some(first) if !first.is_ascii_uppercase() => Some(FirstNotUpperCase(first)),
        // All ASCII from here on, so bytes count characters.
        Some(_) => match chars.find(|c| !c.is_ascii_alphanumeric()) {
            Some(other) => Some(NotAlphanumeric(other)),
            None => (text.len() > BookkeepingPrefix::MAX_LEN).then_some(TooLong(text.len())),
        },
    }
}

impl FromStr for BookkeepingPrefix {
    type Err = BookkeepingPrefixError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        BookkeepingPrefix::new(text)
    }
}

impl TryFrom<String> for BookkeepingPrefix {
    type Error = BookkeepingPrefixError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        BookkeepingPrefix::new(text)
    }
}

impl fmt::Display for BookkeepingPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bookkeeping prefix that breaks the rule of [`BookkeepingPrefix`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bookkeeping prefix {text:?} {kind}\n  help: use an upper-case ASCII letter (Weaviate's \
     class names must start with one) followed by ASCII letters and digits, at most {max} \
     characters, for example `Billing`",
    max = BookkeepingPrefix::MAX_LEN
)]
pub struct BookkeepingPrefixError {
    /// The prefix as given.
    pub text: String,
    /// What is wrong with it.
    pub kind: BookkeepingPrefixErrorKind,
}

/// What is wrong with a bookkeeping prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookkeepingPrefixErrorKind {
    /// It has no characters.
    #[error("is empty")]
    Empty,
    /// Its first character is not an upper-case ASCII letter.
    #[error("starts with {0:?}, not an upper-case ASCII letter")]
    FirstNotUpperCase(char),
    /// A later character is not an ASCII letter or digit.
    #[error("holds {0:?}, not an ASCII letter or digit")]
    NotAlphanumeric(char),
    /// It is longer than [`BookkeepingPrefix::MAX_LEN`] (its length).
    #[error("is {0} characters long")]
    TooLong(usize),
}

#[cfg(test)]
mod tests {
    use super::{BookkeepingPrefix, BookkeepingPrefixErrorKind as Kind};

    fn check(text: &str, expected: Option<Kind>) {
        let got = BookkeepingPrefix::new(text).err().map(|error| error.kind);
        assert_eq!(got, expected, "{text:?}");
    }

    #[test]
    fn accepts_an_upper_case_letter_then_letters_and_digits() {
        check("Billing", None);
        check("B", None);
        check("Chaos7x", None);
        check(&"A".repeat(BookkeepingPrefix::MAX_LEN), None);
    }

    #[test]
    fn rejects_what_a_weaviate_class_name_or_a_bare_label_cannot_hold() {
        check("", Some(Kind::Empty));
        check("1x", Some(Kind::FirstNotUpperCase('1')));
        check("billing", Some(Kind::FirstNotUpperCase('b')));
        check("_X", Some(Kind::FirstNotUpperCase('_')));
        check("Éx", Some(Kind::FirstNotUpperCase('É')));
        check("X-y", Some(Kind::NotAlphanumeric('-')));
        check("X y", Some(Kind::NotAlphanumeric(' ')));
        check("X`", Some(Kind::NotAlphanumeric('`')));
        check("Xé", Some(Kind::NotAlphanumeric('é')));
        check(&"A".repeat(200), Some(Kind::TooLong(200)));
    }

    #[test]
    fn the_message_says_what_is_wrong_and_the_fix() {
        let error = "x-y".parse::<BookkeepingPrefix>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "bookkeeping prefix \"x-y\" starts with 'x', not an upper-case ASCII letter\n  \
             help: use an upper-case ASCII letter (Weaviate's class names must start with one) \
             followed by ASCII letters and digits, at most 64 characters, for example `Billing`"
        );
    }
}
