//! Running SQLite's blocking calls without stalling the async runtime.

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::task::JoinError;

/// Runs `f`, which blocks (a statement, or a wait of up to the busy timeout for another
/// process's write lock), without stalling the runtime's other tasks: on the blocking thread
/// pool, or, `in_place` on a multi-threaded runtime, on this thread through `block_in_place`
/// (the scheduler hands this worker's other tasks to another thread meanwhile; no trip to a
/// pool thread and back). In place, a panic in `f` is the caller's panic; on the pool, an
/// error.
pub(crate) async fn run_blocking<T, F>(in_place: bool, f: F) -> Result<T, JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let multi_threaded =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if in_place && multi_threaded {
        Ok(tokio::task::block_in_place(f))
    } else {
        tokio::task::spawn_blocking(f).await
    }
}
