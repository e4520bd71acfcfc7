//! How much CPU the store spends applying one replicated value, without NATS or HTTP: values
//! shaped like the cluster benchmark's (a feed of `ITEMS` new items per poll, 30,000 sources),
//! decoded from bytes and applied with `apply_logged` in stream order to a fresh store.
//!
//!   cargo run --release --example apply_bench -- [VALUES] [ITEMS] [GROUP]
//!
//! GROUP (default 1) values of distinct sources go into one store batch
//! (`apply_logged_group`), as the cluster's applier does with what has arrived.
//! Prints values/s and µs of CPU per value (process CPU time, so sled's flusher is counted).
use std::time::Instant;

use chrono::Utc;
use feedloom::model::RefreshResult;
use feedloom::store::Store;

#[path = "common/values.rs"]
mod values;

fn cpu_seconds() -> f64 {
    stat_cpu("/proc/self/stat")
}

fn thread_cpu_seconds() -> f64 {
    stat_cpu("/proc/thread-self/stat")
}

fn stat_cpu(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let values: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let items: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(3);
    let group: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store.sled")).expect("store");
    let now = Utc::now();
    let payloads: Vec<Vec<u8>> = (0..values)
        .map(|v| values::bench_value(v, 30_000, items, now).to_bytes())
        .collect();
    let cpu0 = cpu_seconds();
    let own0 = thread_cpu_seconds();
    let t0 = Instant::now();
    // Consecutive values are of consecutive sources, so a group of up to 30,000 is distinct.
    for (n, chunk) in payloads.chunks(group).enumerate() {
        let values = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let seq = (n * group + i) as u64 + 1;
                (seq, RefreshResult::from_bytes(p).expect("decodes"))
            })
            .collect();
        store.apply_logged_group(values).expect("applies");
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let own = thread_cpu_seconds() - own0;
    println!(
        "{values} values x {items} items, {group} a batch: {:.0} values/s, {:.0} µs CPU per value ({:.1} s wall, {:.1} s CPU: \
         {:.1} s in the applying thread, {:.1} s in sled's own threads)",
        values as f64 / wall,
        cpu * 1e6 / values as f64,
        wall,
        cpu,
        own,
        cpu - own
    );
}
