//! From a position and a target to the ordered steps of a run.

use crate::error::TargetError;
use crate::graph::History;
use crate::migration::{Direction, Migration};
use crate::target::Target;

use super::error::RunError;

/// Resolves `target` to a timeline position (the number of migrations
/// applied once it is reached), given the current position.
pub(crate) fn resolve(
    history: &History,
    target: &Target,
    current: usize,
) -> Result<usize, TargetError> {
    history
        .resolve(target, current.checked_sub(1))
        .map(|index| index.map_or(0, |i| i + 1))
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
        Direction::Up => Ok(migrations
            .get(current..target)
            .map(|s| s.iter().collect())
            .unwrap_or_default()),
        Direction::Down if target > current => Err(RunError::WrongDirection {
            target: revision_name(history, target),
            side: "after",
            current: revision_name(history, current),
            command: "cargo dbmigrate upgrade",
        }),
        Direction::Down => Ok(migrations[target..current].iter().rev().collect()),
    }
}

/// The revision id at a position, or `base`.
pub(crate) fn revision_name(history: &History, position: usize) -> String {
    revision_at(history, position).unwrap_or_else(|| "base".to_string())
}

/// The revision id at a position (`None`: base).
pub(crate) fn revision_at(history: &History, position: usize) -> Option<String> {
    position
        .checked_sub(1)
        .and_then(|i| history.migrations().get(i))
        .map(|m| m.revision_id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_migration;

    fn history() -> History {
        let files = [
            ("20240101_0000_aaaaaa_one.sql", "-- Message: one\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"),
            ("20240101_0001_bbbbbb_two.sql", "-- Message: two\n-- Revises: 20240101_0000_aaaaaa\n-- Irreversible: true\n-- migrate:up\nSELECT 2;\n-- migrate:down\n"),
            ("20240101_0002_cccccc_three.sql", "-- Message: three\n-- Revises: 20240101_0001_bbbbbb\n-- migrate:up\nSELECT 3;\n-- migrate:down\nSELECT 3;\n"),
        ];
        History::new(
            files
                .iter()
                .map(|(name, text)| parse_migration(name, text).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn positions_and_steps() {
        let history = history();
        assert_eq!(resolve(&history, &Target::Head, 1).unwrap(), 3);
        assert_eq!(resolve(&history, &Target::Relative(-1), 1).unwrap(), 0);
        assert_eq!(
            resolve(&history, &Target::Revision("bbb".into()), 0).unwrap(),
            2
        );
        let up: Vec<&str> = steps(&history, Direction::Up, 1, 3)
            .unwrap()
            .iter()
            .map(|m| m.rev.as_str())
            .collect();
        assert_eq!(up, ["bbbbbb", "cccccc"]);
        assert_eq!(steps(&history, Direction::Up, 3, 2).unwrap().len(), 0);
        let down: Vec<&str> = steps(&history, Direction::Down, 3, 2)
            .unwrap()
            .iter()
            .map(|m| m.rev.as_str())
            .collect();
        assert_eq!(down, ["cccccc"]);
        assert!(matches!(
            steps(&history, Direction::Down, 1, 2),
            Err(RunError::WrongDirection { .. })
        ));
    }
}
