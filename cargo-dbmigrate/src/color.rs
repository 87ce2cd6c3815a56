//! Whether to colour output: only on a terminal, never with `NO_COLOR`
//! set, always with `CLICOLOR_FORCE` set (<https://no-color.org>,
//! <https://bixense.com/clicolors/>).

use std::io::IsTerminal as _;

/// True when stderr may carry ANSI colour.
pub fn stderr_allows_color() -> bool {
    allows(std::io::stderr().is_terminal())
}

/// True when stdout may carry ANSI colour.
pub fn stdout_allows_color() -> bool {
    allows(std::io::stdout().is_terminal())
}

fn allows(is_terminal: bool) -> bool {
    decide(
        is_terminal,
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        std::env::var("CLICOLOR").ok().as_deref(),
        std::env::var("CLICOLOR_FORCE").ok().as_deref(),
    )
}

fn decide(is_terminal: bool, no_color: bool, clicolor: Option<&str>, force: Option<&str>) -> bool {
    if no_color {
        return false;
    }
    if force.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    is_terminal && clicolor != Some("0")
}

#[cfg(test)]
mod tests {
    use super::decide;

    #[test]
    fn terminal_only_and_the_variables_win() {
        assert!(decide(true, false, None, None));
        assert!(!decide(false, false, None, None));
        assert!(!decide(true, true, None, Some("1")));
        assert!(!decide(true, false, Some("0"), None));
        assert!(decide(false, false, None, Some("1")));
    }
}
