//! Thread priorities (Linux, where each thread has its own nice value): readers first.
//!
//! The HTTP threads answer feed requests at the process's priority; work nobody waits on at
//! that moment (polling, extraction, renders after changes, applying a cluster's values, sled's
//! writing out) can be given a higher nice value, so that while both want the CPU readers win
//! and the background catches up in the gaps. Raising a nice value needs no privilege;
//! lowering it again does, so a thread is only ever raised. Failing is harmless: the thread
//! keeps the priority it has.

use std::sync::atomic::{AtomicI32, Ordering};

/// The nice value new threads of the main runtime take (0: unchanged).
static BACKGROUND_NICE: AtomicI32 = AtomicI32::new(0);
/// The nice value sled's threads are kept at: the highest any part of the daemon asked for
/// (the background's, a cluster applier's), so that two callers never set them back and forth.
static STORE_NICE: AtomicI32 = AtomicI32::new(0);

/// Give every thread of the process but the calling one `nice` (the main runtime's workers and
/// blocking threads, sled's threads), and every main-runtime thread started later too (see
/// [`on_runtime_thread_start`]). Call it on the thread that will start the HTTP threads, before
/// it does: threads inherit their creator's nice value.
pub fn lower_background(nice: i32) {
    if nice <= 0 {
        return;
    }
    BACKGROUND_NICE.store(nice, Ordering::Relaxed);
    STORE_NICE.fetch_max(nice, Ordering::Relaxed);
    #[cfg(target_os = "linux")]
    {
        let me = this_thread();
        for_each_thread(|tid, _| {
            if tid != me {
                renice(tid, nice);
            }
        });
    }
}

/// The nice value given to the background at start (0: none).
pub fn background_nice() -> i32 {
    BACKGROUND_NICE.load(Ordering::Relaxed)
}

/// For the main runtime's `on_thread_start`: a thread it starts takes the background nice
/// value (a blocking thread started from the main thread would otherwise inherit its 0).
pub fn on_runtime_thread_start() {
    let nice = BACKGROUND_NICE.load(Ordering::Relaxed);
    if nice > 0 {
        lower_this_thread(nice);
    }
}

/// Give the calling thread `nice`.
pub fn lower_this_thread(nice: i32) {
    #[cfg(target_os = "linux")]
    if !renice(this_thread(), nice) {
        tracing::debug!(nice, "cannot lower this thread's priority");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = nice;
}

/// Keep sled's own threads (named `sled-io-N` and `log flusher`) at `nice` or above from now
/// on, so that the writing out of what the background applied yields to readers too.
pub fn lower_store_threads(nice: i32) {
    STORE_NICE.fetch_max(nice, Ordering::Relaxed);
    keep_store_threads_lowered();
}

/// Give sled's threads the nice value asked for (nothing when none was). Again from time to
/// time (the app's upkeep): sled's pool starts threads as needed, from whichever thread writes,
/// and one started by an HTTP thread's render has its 0.
pub fn keep_store_threads_lowered() {
    let nice = STORE_NICE.load(Ordering::Relaxed);
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    for_each_thread(|tid, comm| {
        if comm.starts_with("sled-io") || comm == "log flusher" {
            renice(tid, nice);
        }
    });
}

#[cfg(target_os = "linux")]
fn this_thread() -> libc::id_t {
    // SAFETY: gettid takes nothing and returns a plain integer.
    (unsafe { libc::gettid() }) as libc::id_t
}

/// Call `f` with the id and name of every thread of this process.
#[cfg(target_os = "linux")]
fn for_each_thread(mut f: impl FnMut(libc::id_t, &str)) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return;
    };
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<libc::id_t>() else {
            continue;
        };
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        f(tid, comm.trim_end());
    }
}

/// Set one thread's nice value; false when refused.
#[cfg(target_os = "linux")]
fn renice(tid: libc::id_t, nice: i32) -> bool {
    // SAFETY: setpriority takes and returns plain integers; no memory is shared.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, nice) == 0 }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A thread's nice value (`None` when unreadable).
    fn nice_of(tid: libc::id_t) -> Option<i32> {
        // SAFETY: getpriority takes and returns plain integers. -1 is also a valid nice value,
        // so errno tells an error apart.
        unsafe {
            *libc::__errno_location() = 0;
            let n = libc::getpriority(libc::PRIO_PROCESS, tid);
            (*libc::__errno_location() == 0).then_some(n)
        }
    }

    #[test]
    fn a_thread_lowers_only_itself() {
        let here = nice_of(this_thread()).expect("readable");
        let (tid, nice) = std::thread::spawn(move || {
            lower_this_thread(here + 3);
            (this_thread(), nice_of(this_thread()))
        })
        .join()
        .unwrap();
        assert_ne!(tid, this_thread());
        assert_eq!(nice, Some((here + 3).min(19)));
        assert_eq!(nice_of(this_thread()), Some(here));
    }
}
