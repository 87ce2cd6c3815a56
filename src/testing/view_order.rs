//! A view over `SELECT *` re-created by a down after a column of its table
//! came back last (PostgreSQL cannot put it back in place) lists the same
//! columns in another order: the `column-position` tolerance covers it when
//! nothing else changed. Found on Lemmy's history (`comment_alias_1` over
//! `comment`, whose `parent_id` and `read` a down re-added).
//!
//! `pg_get_viewdef(…, true)` prints one select-list item per line:
//!
//! ```text
//!  SELECT comment.id,
//!     comment.parent_id,
//!     comment.content
//!    FROM comment;
//! ```
//!
//! Only reordered when the select-list lines (trailing commas aside) are
//! the same multiset and every line from `FROM` on is equal. `DISTINCT ON`
//! (whose keys depend on the order) and a body with no `FROM` line never
//! qualify.

/// Whether `new` is `old` with the items of its select list reordered, and
/// nothing else changed.
pub(super) fn only_reordered(old: &str, new: &str) -> bool {
    match (split(old), split(new)) {
        (Some((mut old_items, old_rest)), Some((mut new_items, new_rest))) => {
            old_rest == new_rest && {
                old_items.sort_unstable();
                new_items.sort_unstable();
                old_items == new_items
            }
        }
        _ => false,
    }
}

/// The select list's lines (without `SELECT`, a plain `DISTINCT`, or
/// trailing commas) and every line from the first `FROM` line on.
fn split(definition: &str) -> Option<(Vec<&str>, Vec<&str>)> {
    let lines: Vec<&str> = definition.lines().collect();
    let from = lines
        .iter()
        .position(|line| line.trim_start().starts_with("FROM "))?;
    let (head, rest) = lines.split_at(from);
    let (first, others) = head.split_first()?;
    let first = first.trim_start().strip_prefix("SELECT ")?;
    let first = match first.strip_prefix("DISTINCT ") {
        Some(_) if first.starts_with("DISTINCT ON") => return None,
        Some(item) => item,
        None => first,
    };
    let items = std::iter::once(first)
        .chain(others.iter().copied())
        .map(|line| line.trim().trim_end_matches(','))
        .collect();
    Some((items, rest.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::only_reordered;

    const BEFORE: &str = " SELECT comment.id,\n    comment.parent_id,\n    comment.content,\n    comment.local\n   FROM comment;";
    const AFTER: &str = " SELECT comment.id,\n    comment.content,\n    comment.local,\n    comment.parent_id\n   FROM comment;";

    #[test]
    fn the_same_items_in_another_order_are_only_reordered() {
        assert!(only_reordered(BEFORE, AFTER));
        let first_moved = " SELECT comment.content,\n    comment.id\n   FROM comment;";
        assert!(only_reordered(
            " SELECT comment.id,\n    comment.content\n   FROM comment;",
            first_moved
        ));
    }

    #[test]
    fn any_other_change_is_not() {
        // An item changed, added or lost.
        let changed = AFTER.replace("comment.local,", "comment.local AS is_local,");
        assert!(!only_reordered(BEFORE, &changed));
        let lost = " SELECT comment.id,\n    comment.content,\n    comment.local\n   FROM comment;";
        assert!(!only_reordered(BEFORE, lost));
        // The same list over another table or filter.
        let filtered = AFTER.replace("FROM comment;", "FROM comment\n  WHERE comment.local;");
        assert!(!only_reordered(BEFORE, &filtered));
        // DISTINCT ON depends on the order; no FROM line, no judgement.
        let on = |body: &str| body.replacen("SELECT ", "SELECT DISTINCT ON (comment.id) ", 1);
        assert!(!only_reordered(&on(BEFORE), &on(AFTER)));
        assert!(!only_reordered(
            " SELECT 1 AS a,\n    2 AS b;",
            " SELECT 2 AS b,\n    1 AS a;"
        ));
    }
}
