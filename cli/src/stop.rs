//! When a command that follows something (`status --watch`, `events tail`, a rebuild) stops:
//! Ctrl-C, or nobody reading its output any more.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::output;

/// One Ctrl-C listener for the whole command, so that an interrupt arriving while the command
/// waits on the database is not lost.
pub(crate) struct Stop {
    interrupt: Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>,
    interrupted: bool,
}

impl Stop {
    pub(crate) fn new() -> Self {
        Self { interrupt: Box::pin(tokio::signal::ctrl_c()), interrupted: false }
    }

    /// Waits `pause`; true when the command should stop instead of going on.
    pub(crate) async fn wait(&mut self, pause: Duration) -> bool {
        if !self.interrupted && !output::closed() {
            tokio::select! {
                _ = &mut self.interrupt => self.interrupted = true,
                () = tokio::time::sleep(pause) => {}
            }
        }
        self.interrupted || output::closed()
    }
}
