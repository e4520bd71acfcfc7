//! How the resident memory of a process that holds the store grows with what the store holds:
//! GENS generations of SOURCES sources x ITEMS new items (the cluster benchmark's waves),
//! applied as the cluster's applier does (`apply_logged_group`, groups of 32), with VmRSS,
//! VmHWM and the store's size on disk after each generation (after `malloc_trim`, as the
//! daemon's upkeep does).
//!
//!   cargo run --release --example store_growth -- [GENS] [SOURCES] [ITEMS]
use chrono::Utc;
use feedloom::store::Store;

#[path = "common/values.rs"]
mod values;

fn status_mb(key: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_mb(p: &std::path::Path) -> f64 {
    fn walk(p: &std::path::Path) -> u64 {
        std::fs::read_dir(p)
            .map(|d| {
                d.flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(p) as f64 / 1048576.0
}

fn main() {
    feedloom::app::memory::bound_allocator();
    let mut args = std::env::args().skip(1);
    let gens: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(4);
    let sources: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let items: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.sled");
    let store = Store::open(&path).expect("store");
    let now = Utc::now();
    println!("start: VmRSS {:.0} MB", status_mb("VmRSS:"));
    let mut seq = 0u64;
    for gen in 0..gens {
        let mut group = Vec::new();
        for s in 0..sources {
            seq += 1;
            let value = values::bench_value(gen * sources + s, sources, items, now);
            group.push((seq, value));
            if group.len() == 32 {
                store
                    .apply_logged_group(std::mem::take(&mut group))
                    .expect("applies");
            }
        }
        if !group.is_empty() {
            store.apply_logged_group(group).expect("applies");
        }
        store.flush().expect("flush");
        feedloom::app::memory::release_free_pages();
        println!(
            "after generation {}: {} articles stored, VmRSS {:.0} MB, VmHWM {:.0} MB, store on disk {:.0} MB",
            gen + 1,
            (gen + 1) * sources * items,
            status_mb("VmRSS:"),
            status_mb("VmHWM:"),
            dir_mb(&path)
        );
    }
}
