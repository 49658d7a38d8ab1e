//! Running SQLite's blocking calls without stalling the async runtime.

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinError;

/// Runs `f`, which blocks (a statement, or a wait of up to the busy timeout for another
/// process's write lock), without stalling the runtime's other tasks.
///
/// On a multi-threaded runtime it runs in place (`block_in_place`): the scheduler hands this
/// worker's other tasks to another thread meanwhile, and the call costs no trip to a blocking
/// thread and back, which for a short statement is most of its time. Elsewhere (a
/// current-thread runtime) it runs on the blocking thread pool. A panic in `f` is a panic of
/// the caller in the first case and an error in the second.
pub(crate) async fn run_blocking<T, F>(f: F) -> Result<T, JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let multi_threaded =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi_threaded {
        Ok(tokio::task::block_in_place(f))
    } else {
        tokio::task::spawn_blocking(f).await
    }
}
