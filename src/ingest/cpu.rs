//! The write path's CPU-bound stages (decode, parse, extract, normalize) run on the blocking
//! pool at most one per core at a time.
//!
//! Why a bound, when the pool would run them all: more of them at once than there are cores
//! gains no throughput (they take turns on the same cores) and costs memory (each holds its
//! document and DOM). And it undoes `[server] background_nice`: the CPU a contended core gives
//! the readers is their threads' weight over the sum of the weights of all runnable threads, so
//! sixteen parses at once (one per `[poll] concurrency` slot) weigh ten times what one does,
//! and in the cluster benchmark they took a sixth of a node's CPU from its readers, nice 19 or
//! not. Waiting for a slot is waiting for a core, which the parse would have waited for anyway.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get())))
}

/// Run `f` on the blocking pool once a core's slot is free.
pub(crate) async fn run<T, F>(f: F) -> Result<T, tokio::task::JoinError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let _slot = slots()
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(f).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_run_at_once_than_there_are_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..cores * 4)
            .map(|_| {
                let (now, most) = (now.clone(), most.clone());
                tokio::spawn(super::run(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), cores);
    }
}
