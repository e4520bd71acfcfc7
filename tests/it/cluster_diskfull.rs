//! A cluster node whose disk fills while the others keep publishing: it must keep serving, say
//! what is wrong, and once space returns end with exactly the stores of the others (every
//! value applied once, none skipped). The store is opened again after a write failure, and what
//! sled had accepted but not made durable is gone then, the last applied sequence among it: the
//! node must read the stream again from what its store holds, not from where it had got to.
//! Mounting the tmpfs needs root (CI runs as root); elsewhere the test says so and passes.

use std::time::Duration;

use crate::cluster::{assert_identical, converged, put_heavy, sources_toml, NatsCluster, Node};
use crate::diskfull::Tmpfs;
use crate::support::{client, Origin};

const SOURCES: usize = 20;
const ITEMS: usize = 40;

/// Wait until `cond` holds, checking every 200 ms; after `within`, fail with both nodes' view
/// of the cluster and node b's log.
async fn wait_until<F, Fut>(within: Duration, what: &str, nodes: [&Node; 2], mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while !cond().await {
        if start.elapsed() > within {
            let (a, b) = (nodes[0].cluster().await, nodes[1].cluster().await);
            let log = nodes[1].log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!(
                "not within {within:?}: {what}\na: {a}\nb: {b}\nnode b's log (newest first):\n{}",
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Put round `round` at the origin and wait until a message of every source is published.
async fn publish_round(origin: &Origin, nodes: [&Node; 2], round: usize) {
    let seq = || async { nodes[0].cluster().await["stream_seq"].as_u64().unwrap_or(0) };
    let before = seq().await;
    put_heavy(origin, SOURCES, ITEMS, round);
    // Generous: lease renewals lag on a loaded 2-core machine, and cut polls are redone.
    wait_until(
        Duration::from_secs(90),
        "a round published",
        nodes,
        || async { seq().await >= before + SOURCES as u64 },
    )
    .await;
}

async fn healthz(n: &Node) -> (u16, String) {
    match client().get(n.url("/healthz")).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_disk_fills_catches_up_with_every_value_once() {
    let Some(fs) = Tmpfs::mount(40) else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (CI runs as root)");
        return;
    };
    let nats = NatsCluster::start().await;
    let origin = Origin::start().await;
    put_heavy(&origin, SOURCES, ITEMS, 0);
    let sources = sources_toml(&origin, SOURCES);
    let mut a = Node::new("a", &nats, &sources);
    let b_dir = tempfile::tempdir().unwrap();
    let mut b = Node::with_store("b", &nats, &sources, b_dir, &fs.mnt.join("store.sled"));
    a.start().await;
    b.start().await;
    let both = [&a, &b];
    wait_until(
        Duration::from_secs(60),
        "the first round on both nodes",
        [&a, &b],
        || async {
            converged(&both).await
                && b.item_ids(0).await.len() == 10 * ITEMS
                && b.item_ids(1).await.len() == 10 * ITEMS
        },
    )
    .await;

    // Node b's disk fills; rounds of changes go on until its writes fail.
    fs.fill("filler", 1024 * 1024);
    let mut round = 0;
    loop {
        round += 1;
        publish_round(&origin, [&a, &b], round).await;
        let (status, why) = healthz(&b).await;
        if status == 503 {
            assert!(why.contains("store"), "/healthz names the store: {why}");
            break;
        }
        assert!(
            round < 20,
            "node b's writes never failed on a full disk; its log:\n{}",
            b.log()
        );
    }
    // While full it serves what it has (each channel was read, so rendered, before).
    for c in 0..SOURCES / 10 {
        let r = client()
            .get(b.url(&format!("/feeds/c{c}.json")))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let body = r.text().await.unwrap_or_default();
        assert_eq!(
            status,
            200,
            "channel c{c} served while the disk is full: {}\nnode b's log:\n{}",
            &body[..body.len().min(300)],
            b.log()
        );
    }
    // Two more rounds while it cannot write: values it must apply later, in order.
    for _ in 0..2 {
        round += 1;
        publish_round(&origin, [&a, &b], round).await;
    }

    // Space returns: b recovers by itself and ends with the same bytes as a.
    std::fs::remove_file(fs.mnt.join("filler")).unwrap();
    wait_until(
        Duration::from_secs(60),
        "b healthy again",
        [&a, &b],
        || async { healthz(&b).await.0 == 200 },
    )
    .await;
    let t = std::time::Instant::now();
    wait_until(
        Duration::from_secs(120),
        "b caught up with a",
        [&a, &b],
        || converged(&both),
    )
    .await;
    eprintln!(
        "b caught up {:?} after it was healthy again ({round} rounds)",
        t.elapsed()
    );
    assert_identical(&both, SOURCES).await;
    for c in 0..SOURCES / 10 {
        assert_eq!(b.item_ids(c).await.len(), 10 * ITEMS, "every item once");
    }
    b.kill();
    a.kill();
}
