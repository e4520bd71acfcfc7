//! The process's allocator settings, made before any thread starts.
//!
//! glibc's malloc gives each thread that allocates concurrently an arena of its own (up to eight
//! per core) and raises its mmap threshold every time a large block is freed, so that later
//! large blocks (fetched bodies, parsed documents, rendered feeds of hundreds of kilobytes) come
//! from those arenas instead of from mmap. Freed, they leave holes an arena rarely gives back.
//! Under the load benchmark (`bench/load.sh`: 200 sources changing every second while a
//! 100-item channel is read) the heap in use stayed under 100 MB (heaptrack) while the resident
//! size climbed past 800 MB. With one arena per core and a fixed 128 KiB mmap threshold, large
//! blocks go back to the system when freed and the peak stays near the heap's real size.

/// Bound the allocator's arenas and fix its mmap threshold (glibc only). An operator who sets
/// `MALLOC_ARENA_MAX` or `GLIBC_TUNABLES` keeps their own settings.
pub fn bound_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var_os("MALLOC_ARENA_MAX").is_some()
            || std::env::var_os("GLIBC_TUNABLES").is_some()
        {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = i32::try_from(cores.max(2)).unwrap_or(i32::MAX);
        // SAFETY: mallopt only changes malloc's parameters; it is called before the runtime
        // starts its threads. A parameter glibc refuses keeps its default (the result is 0).
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
        }
    }
}

/// Hand the pages of freed memory inside the allocator's heaps back to the system (glibc's
/// `malloc_trim`). `M_TRIM_THRESHOLD` only returns free memory at the top of a heap; a burst of
/// new articles (a cluster node applying a wave of values, rendering the channels it changed)
/// leaves free holes inside them that the next burst does not reuse exactly, and the resident
/// size crept up wave after wave (bench/cluster.sh: 196 MB after one wave, 228 MB after three).
/// Called every few seconds with the metrics upkeep; it walks the arenas' free lists, a few
/// milliseconds at most.
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a size and returns an int; it locks each arena itself.
    unsafe {
        libc::malloc_trim(0);
    }
}
