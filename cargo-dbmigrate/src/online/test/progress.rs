//! Live progress of `test`: one line per finished step
//! (`[ 73/247] 20210209_1200_ab12cd add_inbox ok 0.21 s`), and on a terminal
//! a progress bar beneath them; plain lines when piped. Colour only on a
//! terminal and never when `NO_COLOR` is set.

use std::io::IsTerminal as _;

use dbmigrate_core::testing::{StairwayEvent, StepReport, Verdict};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Prints the stairway's events to stderr.
pub struct Printer {
    bar: Option<ProgressBar>,
    color: bool,
    total: usize,
}

impl Printer {
    /// A printer for `total` steps; the bar only when stderr is a terminal.
    pub fn new(total: usize) -> Printer {
        let terminal = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        let bar = terminal.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Printer {
            bar,
            color: terminal && !no_color,
            total,
        }
    }

    /// Renders one event.
    pub fn event(&self, event: StairwayEvent<'_>) {
        match event {
            StairwayEvent::Started { migration, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{} {}", migration.revision_id, migration.slug));
                }
            }
            StairwayEvent::Finished { index, step, .. } => {
                self.print(&self.line(index, step));
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn print(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// `[ 73/247] <rev> <slug> ok 0.21 s`, then the one-line summary of a
    /// failure and the names of notes.
    fn line(&self, index: usize, step: &StepReport) -> String {
        let width = self.total.to_string().len();
        let mut line = format!(
            "[{:>width$}/{}] {} {} {} {:.2} s",
            index + 1,
            self.total,
            step.revision_id,
            step.slug,
            self.paint(step.verdict),
            step.elapsed.as_secs_f64()
        );
        let summary = step.summary();
        if !summary.is_empty() {
            line.push_str(&format!("\n    {summary}"));
        }
        for note in step.notes() {
            line.push_str(&format!("\n    note: {}", note.line()));
        }
        line
    }

    fn paint(&self, verdict: Verdict) -> String {
        let code = match verdict {
            Verdict::Ok => "32",
            Verdict::Irreversible | Verdict::NotRun => "33",
            _ => "31",
        };
        if self.color {
            format!("\x1b[{code}m{}\x1b[0m", verdict.label())
        } else {
            verdict.label().to_string()
        }
    }
}
