//! Progress bars: drawn on standard error when it is a terminal, hidden otherwise (the commands
//! print plain progress lines instead).

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::error::{CliError, Kind, Result};

/// Whether a bar is drawn.
pub(crate) fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar of `len` steps (a spinner without one) drawn with `template`, which may use `{rate}`:
/// whole steps per second.
pub(crate) fn bar(len: Option<u64>, template: &str) -> Result<ProgressBar> {
    let target =
        if on_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let style = ProgressStyle::with_template(template)
        .map_err(|err| CliError::new(Kind::Failed, err.to_string()))?
        .with_key("rate", |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{:.0}/s", state.per_sec());
        })
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(len, target);
    bar.set_style(style);
    Ok(bar)
}
