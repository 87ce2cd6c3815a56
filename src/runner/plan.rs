//! From a position and a target to the ordered steps of a run.

use crate::error::TargetError;
use crate::graph::History;
use crate::migration::{Direction, Migration};
use crate::target::Target;

use super::error::RunError;

/// Resolves `target` to a timeline position (the number of migrations
/// applied once it is reached), given the current position.
pub(crate) fn resolve(history: &History, target: &Target, current: usize) -> Result<usize, TargetError> {
    let migrations = history.migrations();
    match target {
        Target::Head => Ok(migrations.len()),
        Target::Base => Ok(0),
        Target::Relative(n) => relative(migrations.len(), current, *n),
        Target::Revision(text) => revision(migrations, text).map(|i| i + 1),
    }
}

fn relative(len: usize, current: usize, n: i64) -> Result<usize, TargetError> {
    let text = if n >= 0 { format!("+{n}") } else { n.to_string() };
    let wanted = current as i64 + n;
    if wanted < 0 {
        Err(TargetError::OutOfRange { text, steps: (-wanted) as usize, edge: "base" })
    } else if wanted as usize > len {
        Err(TargetError::OutOfRange { text, steps: wanted as usize - len, edge: "head" })
    } else {
        Ok(wanted as usize)
    }
}

/// The index of the migration `text` names: a full stem, a revision id, or
/// a unique prefix of a rev.
pub(crate) fn revision(migrations: &[Migration], text: &str) -> Result<usize, TargetError> {
    let stem = |m: &Migration| format!("{}_{}", m.revision_id, m.slug);
    if let Some(i) = migrations.iter().position(|m| m.revision_id == text || stem(m) == text || m.file_name == text) {
        return Ok(i);
    }
    let matches: Vec<usize> = migrations
        .iter()
        .enumerate()
        .filter(|(_, m)| m.rev.starts_with(text) || m.revision_id.starts_with(text))
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => Err(TargetError::Unknown { text: text.to_string() }),
        many => Err(TargetError::Ambiguous {
            text: text.to_string(),
            candidates: many.iter().map(|&i| migrations[i].revision_id.clone()).collect(),
        }),
    }
}

/// The steps from `current` to `target` in `direction`; empty when the
/// target is already reached (or passed, for an upgrade another replica
/// finished). A downgrade target after the current position is refused.
pub(crate) fn steps(
    history: &History,
    direction: Direction,
    current: usize,
    target: usize,
) -> Result<Vec<&Migration>, RunError> {
    let migrations = history.migrations();
    match direction {
        Direction::Up => Ok(migrations.get(current..target).map(|s| s.iter().collect()).unwrap_or_default()),
        Direction::Down if target > current => Err(RunError::WrongDirection {
            target: revision_name(history, target),
            side: "after",
            current: revision_name(history, current),
            command: "cargo dbmigrate upgrade",
        }),
        Direction::Down => {
            let steps: Vec<&Migration> = migrations[target..current].iter().rev().collect();
            if let Some(m) = steps.iter().find(|m| m.options.irreversible) {
                return Err(RunError::Irreversible { path: m.path.clone(), revision_id: m.revision_id.clone() });
            }
            Ok(steps)
        }
    }
}

/// The revision id at a position, or `base`.
pub(crate) fn revision_name(history: &History, position: usize) -> String {
    revision_at(history, position).unwrap_or_else(|| "base".to_string())
}

/// The revision id at a position (`None`: base).
pub(crate) fn revision_at(history: &History, position: usize) -> Option<String> {
    position.checked_sub(1).and_then(|i| history.migrations().get(i)).map(|m| m.revision_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_targets_stay_in_range() {
        assert_eq!(relative(3, 1, 1), Ok(2));
        assert_eq!(relative(3, 1, -1), Ok(0));
        assert!(matches!(relative(3, 1, -2), Err(TargetError::OutOfRange { steps: 1, edge: "base", .. })));
        assert!(matches!(relative(3, 3, 1), Err(TargetError::OutOfRange { steps: 1, edge: "head", .. })));
    }
}
