//! Live output of `upgrade`, `downgrade` and `redo`: one cargo-style line
//! on stdout per step as it completes (flushed at once, so a pipe sees it
//! while the run goes on), and on a terminal a progress bar on stderr once
//! the run has lasted about a second, with a second bar (objects copied /
//! total) while a Weaviate `rebuild_collection` copies. `--quiet` prints
//! neither; JSON keeps stdout for its one document and shows only the bars.

use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dbmigrate_core::backend::CopyProgress;
use dbmigrate_core::runner::{Progress, StepReport};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::OutputFormat;

/// How long a run goes before its progress bar appears.
const BAR_AFTER: Duration = Duration::from_secs(1);

/// What the reporter prints.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Print a line per completed step on stdout (text format, not `--quiet`).
    pub lines: bool,
    /// Draw a progress bar on stderr (a terminal, not `--quiet`).
    pub bar: bool,
}

impl LiveOptions {
    /// The options for a format and `--quiet`, from where stdout/stderr go.
    pub fn new(format: OutputFormat, quiet: bool) -> LiveOptions {
        LiveOptions {
            lines: format == OutputFormat::Text && !quiet,
            bar: !quiet && std::io::stderr().is_terminal(),
        }
    }
}

/// Renders a run's [`Progress`] events; shared with the migrator's observer.
#[derive(Clone)]
pub struct LiveReporter {
    options: LiveOptions,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Draws the bars below each other, on stderr once the run has lasted [`BAR_AFTER`].
    bars: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    /// The copy of the running step (`rebuild_collection`): back or out, and its bar.
    copy: Option<(bool, ProgressBar)>,
    n_printed: usize,
}

impl LiveReporter {
    /// A reporter; nothing is printed until the run reports a step.
    pub fn new(options: LiveOptions) -> LiveReporter {
        LiveReporter {
            options,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// How many step lines it printed (the final report leaves them out).
    pub fn n_printed(&self) -> usize {
        self.lock().n_printed
    }

    /// Renders one event (the migrator's observer calls this).
    pub fn event(&self, event: Progress<'_>) {
        match event {
            Progress::Started { n_steps, .. } if self.options.bar => {
                let (bars, bar) = delayed_bars(n_steps as u64);
                let mut state = self.lock();
                state.bars = Some(bars);
                state.bar = Some(bar);
            }
            Progress::Copying(copy) => self.copying(copy),
            Progress::StepStarted { migration, .. } => {
                if let Some(bar) = &self.lock().bar {
                    bar.set_message(format!("{} {}", migration.revision_id, migration.message));
                }
            }
            Progress::StepFinished(step) => self.finished(step),
            _ => {}
        }
    }

    /// Removes the bars (the run ended, well or not).
    pub fn finish(&self) {
        let mut state = self.lock();
        if let Some((_, copy)) = state.copy.take() {
            copy.finish_and_clear();
        }
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
        state.bars = None;
    }

    /// A second bar under the steps' one: objects copied of the total.
    fn copying(&self, copy: &CopyProgress) {
        let mut state = self.lock();
        let Some(bars) = state.bars.clone() else {
            return;
        };
        if state
            .copy
            .as_ref()
            .is_some_and(|(back, _)| *back != copy.back)
        {
            if let Some((_, done)) = state.copy.take() {
                done.finish_and_clear();
            }
        }
        let (_, bar) = state.copy.get_or_insert_with(|| {
            let bar = bars.add(ProgressBar::new(copy.total.unwrap_or(0)));
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} objects {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let way = if copy.back { "back into" } else { "out of" };
            bar.set_message(format!("copying {way} `{}`", copy.collection));
            (copy.back, bar)
        });
        if let Some(total) = copy.total {
            bar.set_length(total);
        }
        bar.set_position(copy.done);
    }

    fn finished(&self, step: &StepReport) {
        let mut state = self.lock();
        if let Some((_, copy)) = state.copy.take() {
            copy.finish_and_clear();
        }
        if self.options.lines {
            let line = step_line(step);
            let print = || {
                let mut out = std::io::stdout().lock();
                // A closed pipe is handled when the final report is written.
                let _ = writeln!(out, "{line}").and_then(|()| out.flush());
            };
            match &state.bars {
                Some(bars) => bars.suspend(print),
                None => print(),
            }
            state.n_printed += 1;
        }
        if let Some(bar) = &state.bar {
            bar.inc(1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The steps' bar, in bars that stay hidden until the run has lasted [`BAR_AFTER`].
fn delayed_bars(n_steps: u64) -> (MultiProgress, ProgressBar) {
    let bars = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
    let bar = bars.add(ProgressBar::new(n_steps));
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    let shown = bar.downgrade();
    let target = bars.clone();
    std::thread::spawn(move || {
        std::thread::sleep(BAR_AFTER);
        if let Some(bar) = shown.upgrade().filter(|bar| !bar.is_finished()) {
            target.set_draw_target(ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(200));
        }
    });
    (bars, bar)
}

/// `    Applying 20241201_1000_a1b2c3 initial_schema (postgres) … 12ms`.
pub fn step_line(step: &StepReport) -> String {
    format!(
        "{} {} {} ({}) … {}ms",
        super::render::painted_verb(step.direction.step_verb()),
        step.revision_id,
        super::render::slug(&step.file_name, &step.revision_id),
        step.backend,
        step.duration.as_millis()
    )
}
