//! Revision targets (`head`, `base`, a revision, `+N`, `-N`) and their
//! resolution against a [`History`].

use std::fmt;
use std::str::FromStr;

use crate::error::TargetError;
use crate::graph::History;
use crate::migration::Migration;

/// Where `upgrade`/`downgrade` should go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The newest revision.
    Head,
    /// Before the first revision.
    Base,
    /// A full stem, a revision id or a unique prefix of a rev.
    Revision(String),
    /// `+N` / `-N` from the current position.
    Relative(i64),
}

impl Target {
    /// Reads a target: `head`, `base` (any case), `+N`, `-N`, or anything
    /// else as revision text (a file stem or name, a revision id, a prefix of a rev).
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let trimmed = text.trim();
        let syntax = || TargetError::Syntax {
            text: text.to_string(),
        };
        if trimmed.is_empty() || trimmed.contains(char::is_whitespace) {
            return Err(syntax());
        }
        if trimmed.eq_ignore_ascii_case("head") {
            return Ok(Target::Head);
        }
        if trimmed.eq_ignore_ascii_case("base") {
            return Ok(Target::Base);
        }
        if let Some(digits) = trimmed.strip_prefix(['+', '-']) {
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(syntax());
            }
            return trimmed
                .parse::<i64>()
                .map(Target::Relative)
                .map_err(|_| syntax());
        }
        Ok(Target::Revision(trimmed.to_string()))
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Target, TargetError> {
        Target::parse(text)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Revision(text) => f.write_str(text),
            Target::Relative(steps) => write!(f, "{steps:+}"),
        }
    }
}

/// The file name without its backend extension.
fn stem(migration: &Migration) -> &str {
    let extension = migration.backend.extension();
    migration
        .file_name
        .strip_suffix(extension)
        .and_then(|rest| rest.strip_suffix('.'))
        .unwrap_or(&migration.file_name)
}

impl History {
    /// The index of the migration to end at (`None` = base) for `target`,
    /// given `current`, the index of the last applied migration (`None` = base).
    ///
    /// Revision text matches, in order: a full file stem or file name, a
    /// revision id, then a unique prefix of a rev or of a revision id.
    /// `+N`/`-N` count from `current` and may not pass head or base.
    pub fn resolve(
        &self,
        target: &Target,
        current: Option<usize>,
    ) -> Result<Option<usize>, TargetError> {
        match target {
            Target::Head => Ok(self.len().checked_sub(1)),
            Target::Base => Ok(None),
            Target::Revision(text) => self.find_revision(text).map(Some),
            Target::Relative(steps) => self.step(*steps, current),
        }
    }

    /// The index of the one migration `text` names: the first rule that
    /// matches anything decides (exact name or id, exact rev, then prefix).
    fn find_revision(&self, text: &str) -> Result<usize, TargetError> {
        let lower = text.to_ascii_lowercase();
        let rules: [&dyn Fn(&Migration) -> bool; 3] = [
            &|migration| {
                migration.file_name == text
                    || stem(migration) == text
                    || migration.revision_id == text
            },
            &|migration| migration.rev == lower,
            &|migration| {
                migration.rev.starts_with(&lower) || migration.revision_id.starts_with(&lower)
            },
        ];
        for rule in rules {
            let matches: Vec<&Migration> =
                self.iter().filter(|migration| rule(migration)).collect();
            match matches.as_slice() {
                [] => continue,
                [only] => return Ok(self.position(&only.revision_id).unwrap_or_default()),
                _ => {
                    let candidates = matches
                        .iter()
                        .map(|migration| migration.revision_id.clone())
                        .collect();
                    return Err(TargetError::Ambiguous {
                        text: text.to_string(),
                        candidates,
                    });
                }
            }
        }
        Err(TargetError::Unknown {
            text: text.to_string(),
        })
    }

    /// `current` moved by `steps`, refusing to pass head or base.
    fn step(&self, steps: i64, current: Option<usize>) -> Result<Option<usize>, TargetError> {
        let applied = current.map_or(0, |index| index as i128 + 1);
        let wanted = applied + i128::from(steps);
        let text = Target::Relative(steps).to_string();
        let count = self.len() as i128;
        if wanted > count {
            let steps = usize::try_from(wanted - count).unwrap_or(usize::MAX);
            return Err(TargetError::OutOfRange {
                text,
                steps,
                edge: "head",
            });
        }
        if wanted < 0 {
            let steps = usize::try_from(-wanted).unwrap_or(usize::MAX);
            return Err(TargetError::OutOfRange {
                text,
                steps,
                edge: "base",
            });
        }
        Ok(usize::try_from(wanted)
            .ok()
            .and_then(|wanted| wanted.checked_sub(1)))
    }
}

#[cfg(test)]
mod tests;
