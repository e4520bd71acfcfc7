//! Cluster mode from outside: real nats-servers (three, one JetStream cluster, on 127.0.0.1)
//! and real feedloom nodes as child processes on port 0, polling a local origin.
//!
//! Needs `nats-server` on the PATH or in /usr/sbin (`apt-get install nats-server`; `.ci/run`
//! installs it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{client, get_json, Daemon, Origin, RawAnswer, RawOrigin};

/// How often every source is polled in these tests.
const INTERVAL: Duration = Duration::from_secs(3);
/// The lease; failover takes about two.
const LEASE: &str = "3s";

fn nats_server_binary() -> PathBuf {
    for dir in std::env::var("PATH").unwrap_or_default().split(':').chain([
        "/usr/sbin",
        "/usr/local/bin",
        "/usr/bin",
    ]) {
        let p = Path::new(dir).join("nats-server");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "nats-server not found: install it (apt-get install nats-server) to run the cluster tests"
    );
}

/// A port free at the time of asking (nats-server's route ports must be known before start).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One nats-server of a three-server JetStream cluster.
struct NatsServer {
    conf: PathBuf,
    client_port: u16,
    child: Option<std::process::Child>,
}

impl NatsServer {
    fn start(&mut self) {
        assert!(self.child.is_none());
        let child = std::process::Command::new(nats_server_binary())
            .arg("-c")
            .arg(&self.conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.client_port)
    }
}

/// Three nats-servers forming one JetStream cluster, each with its own store.
pub(crate) struct NatsCluster {
    servers: Vec<NatsServer>,
    _dir: tempfile::TempDir,
}

impl NatsCluster {
    pub(crate) async fn start() -> NatsCluster {
        let dir = tempfile::tempdir().unwrap();
        let client_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let route_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes = route_ports
            .iter()
            .map(|p| format!("nats-route://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut servers = Vec::new();
        for i in 0..3 {
            let conf = dir.path().join(format!("n{i}.conf"));
            let store = dir.path().join(format!("js{i}"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: n{i}\nlisten: 127.0.0.1:{}\n\
                     jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}}\n\
                     cluster {{\n  name: feedloom-test\n  listen: 127.0.0.1:{}\n  routes: [{routes}]\n}}\n",
                    client_ports[i],
                    store.display(),
                    route_ports[i],
                ),
            )
            .unwrap();
            servers.push(NatsServer {
                conf,
                client_port: client_ports[i],
                child: None,
            });
        }
        for s in &mut servers {
            s.start();
        }
        let cluster = NatsCluster { servers, _dir: dir };
        cluster.wait_listening().await;
        cluster
    }

    async fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        for s in &self.servers {
            while tokio::net::TcpStream::connect(("127.0.0.1", s.client_port))
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "nats-server did not listen");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(NatsServer::url).collect()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for s in &mut self.servers {
            s.kill();
        }
    }
}

/// An RSS document with items `0..n` of source `s`.
fn rss(s: usize, n: usize) -> String {
    rss_with(s, n, |i| format!("text {i}"))
}

/// An RSS document with items `0..n` of source `s`, item `i`'s text being `text(i)`.
fn rss_with(s: usize, n: usize, text: impl Fn(usize) -> String) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>source {s}</title>\
         <link>http://origin.example/{s}/</link><description>d</description>"
    );
    for i in (0..n).rev() {
        out.push_str(&format!(
            "<item><title>s{s} item {i}</title><link>http://origin.example/{s}/{i}</link>\
             <guid>s{s}-{i}</guid><pubDate>Mon, 01 Jan 2024 {:02}:{:02}:00 GMT</pubDate>\
             <description>{}</description></item>",
            i / 60,
            i % 60,
            text(i)
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// The sources and channels part of every node's config: `n` sources, channels of ten.
pub(crate) fn sources_toml(origin: &Origin, n: usize) -> String {
    let mut t = String::new();
    for s in 0..n {
        t.push_str(&format!(
            "[sources.s{s:02}]\nurl = \"{}\"\ninterval = \"{}s\"\n",
            origin.url(&format!("/feeds/s{s:02}.xml")),
            INTERVAL.as_secs()
        ));
    }
    for c in 0..n.div_ceil(10) {
        let ids: Vec<String> = (c * 10..((c + 1) * 10).min(n))
            .map(|s| format!("\"s{s:02}\""))
            .collect();
        t.push_str(&format!(
            "[channels.c{c}]\ntitle = \"C{c}\"\nlimit = 500\nsources = [{}]\n",
            ids.join(", ")
        ));
    }
    t
}

/// A feedloom node of the cluster with its own store folder.
pub(crate) struct Node {
    id: String,
    dir: tempfile::TempDir,
    daemon: Option<Daemon>,
}

impl Node {
    pub(crate) fn new(id: &str, nats: &NatsCluster, sources: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.sled");
        Node::with_store(id, nats, sources, dir, &store)
    }

    /// A node whose store lives at `store` (elsewhere than its folder `dir`).
    pub(crate) fn with_store(
        id: &str,
        nats: &NatsCluster,
        sources: &str,
        dir: tempfile::TempDir,
        store: &Path,
    ) -> Node {
        let nats_list = nats
            .urls()
            .iter()
            .map(|u| format!("\"{u}\""))
            .collect::<Vec<_>>()
            .join(", ");
        // Every node the same base_url (as behind one load balancer): self links, and so the
        // bytes and ETags, are the same on every node.
        let config = format!(
            "[store]\npath = \"{}\"\n[server]\nlisten = \"127.0.0.1:0\"\n\
             base_url = \"http://feeds.example\"\n[poll]\nper_host = 16\n\
             [cluster]\nnode = \"{id}\"\nnats = [{nats_list}]\nlease = \"{LEASE}\"\nreplicas = 3\n{sources}",
            store.display()
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Node {
            id: id.to_string(),
            dir,
            daemon: None,
        }
    }

    pub(crate) async fn start(&mut self) {
        let d = Daemon::start(self.dir.path()).await;
        d.wait_healthy(Duration::from_secs(10)).await;
        self.daemon = Some(d);
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.kill();
        }
    }

    /// What the node has logged so far.
    pub(crate) fn log(&self) -> String {
        self.daemon.as_ref().map(Daemon::log).unwrap_or_default()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.daemon.as_ref().expect("running").url(path)
    }

    pub(crate) async fn cluster(&self) -> serde_json::Value {
        get_json(self.url("/api/cluster")).await
    }

    /// (ETag, body) of a feed.
    async fn feed(&self, path: &str) -> (String, Vec<u8>) {
        let r = client().get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path} on node {}", self.id);
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        (etag, r.bytes().await.unwrap().to_vec())
    }

    /// The ids of the items of a channel's JSON Feed.
    pub(crate) async fn item_ids(&self, channel: usize) -> Vec<String> {
        let v = get_json(self.url(&format!("/feeds/c{channel}.json"))).await;
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["url"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

/// Wait until `cond` holds, checking every 200 ms, or panic with `what` after `within`.
async fn wait_until<F, Fut>(within: Duration, what: &str, mut cond: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether every running node has applied the whole stream, the same sequence everywhere.
pub(crate) async fn converged(nodes: &[&Node]) -> bool {
    let mut seqs = BTreeSet::new();
    for n in nodes {
        let c = n.cluster().await;
        if c["lag"].as_u64() != Some(0) || !c["reachable"].as_bool().unwrap_or(false) {
            return false;
        }
        seqs.insert(c["applied_seq"].as_u64().unwrap_or(0));
    }
    seqs.len() == 1 && !seqs.contains(&0)
}

/// Whether every node's channels hold `per_source` items of each of `sources` sources.
async fn all_items(nodes: &[&Node], sources: usize, per_source: usize) -> bool {
    for n in nodes {
        for c in 0..sources.div_ceil(10) {
            let in_channel = ((c + 1) * 10).min(sources) - c * 10;
            if n.item_ids(c).await.len() != in_channel * per_source {
                return false;
            }
        }
    }
    true
}

/// A feed as fetched: its ETag and its bytes.
type Fetched = (String, Vec<u8>);

/// The sequence every node has applied, when it is one and the same; `None` while they differ.
async fn common_seq(nodes: &[&Node]) -> Option<u64> {
    let mut seqs = BTreeSet::new();
    for n in nodes {
        seqs.insert(n.cluster().await["applied_seq"].as_u64().unwrap_or(0));
    }
    (seqs.len() == 1).then(|| *seqs.first().unwrap())
}

/// Every channel in every format is the same bytes with the same ETag on every node, and every
/// item is there once. The nodes keep polling meanwhile, so the feeds are compared as of one
/// applied sequence: read while every node stood at the same one before and after.
pub(crate) async fn assert_identical(nodes: &[&Node], sources: usize) {
    let start = Instant::now();
    loop {
        let Some(before) = common_seq(nodes).await else {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "nodes never agreed on a sequence"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let mut feeds: Vec<Vec<(String, Fetched)>> = Vec::new();
        for n in nodes {
            let mut mine = Vec::new();
            for c in 0..sources.div_ceil(10) {
                for ext in ["json", "rss", "atom"] {
                    let path = format!("/feeds/c{c}.{ext}");
                    mine.push((path.clone(), n.feed(&path).await));
                }
            }
            feeds.push(mine);
        }
        if common_seq(nodes).await != Some(before) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the nodes never stood still"
            );
            continue;
        }
        for (i, n) in nodes.iter().enumerate().skip(1) {
            for (k, (path, (etag, body))) in feeds[i].iter().enumerate() {
                let (_, (etag0, body0)) = &feeds[0][k];
                if etag != etag0 && path.ends_with(".json") {
                    // Say what differs: the items each node has that the other has not.
                    let items = |b: &[u8]| -> BTreeSet<String> {
                        let v: serde_json::Value = serde_json::from_slice(b).unwrap();
                        v["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|i| {
                                format!(
                                    "{} {}",
                                    i["title"],
                                    i["content_text"]
                                        .as_str()
                                        .unwrap_or("")
                                        .chars()
                                        .take(12)
                                        .collect::<String>()
                                )
                            })
                            .collect()
                    };
                    let (x, y) = (items(body0), items(body));
                    let only_first: Vec<_> = x.difference(&y).take(3).collect();
                    let only_other: Vec<_> = y.difference(&x).take(3).collect();
                    panic!(
                        "{path} at sequence {before}: node {} differs from node {}: only on the \
                         first: {only_first:?}; only on {}: {only_other:?}",
                        n.id, nodes[0].id, n.id
                    );
                }
                assert_eq!(etag, etag0, "{path}: ETag differs on node {}", n.id);
                assert!(body == body0, "{path}: bytes differ on node {}", n.id);
            }
        }
        for n in nodes {
            for c in 0..sources.div_ceil(10) {
                let ids = n.item_ids(c).await;
                let unique: BTreeSet<&String> = ids.iter().collect();
                assert_eq!(unique.len(), ids.len(), "an item twice on node {}", n.id);
            }
        }
        return;
    }
}

/// Per source path: the requests made for it, in order, and which node made each.
fn polls_by_path(origin: &Origin) -> BTreeMap<String, Vec<(Instant, String)>> {
    let mut by: BTreeMap<String, Vec<(Instant, String)>> = BTreeMap::new();
    for r in origin.requests() {
        let node = r
            .user_agent
            .split("node ")
            .nth(1)
            .unwrap_or("?")
            .trim_end_matches(')')
            .to_string();
        by.entry(r.path).or_default().push((r.at, node));
    }
    by
}

fn put_feeds(origin: &Origin, sources: usize, items: usize) {
    for s in 0..sources {
        origin.put(
            &format!("/feeds/s{s:02}.xml"),
            rss(s, items),
            "application/rss+xml",
        );
    }
}

/// Wait until every node has `items` items of every source and the nodes have converged, then
/// check that they serve the same bytes.
async fn settle(all: &[&Node], sources: usize, items: usize, within: Duration) {
    let what = format!("{items} items of every source on every node");
    wait_until(within, &what, || all_items(all, sources, items)).await;
    wait_until(Duration::from_secs(30), "nodes converged", || {
        converged(all)
    })
    .await;
    assert_identical(all, sources).await;
}

/// A NATS cluster, an origin with `sources` feeds of `items` items, and running nodes `ids`.
async fn cluster_of(
    ids: &[&str],
    sources: usize,
    items: usize,
) -> (NatsCluster, Origin, Vec<Node>) {
    let nats = NatsCluster::start().await;
    let origin = Origin::start().await;
    put_feeds(&origin, sources, items);
    let toml = sources_toml(&origin, sources);
    let mut nodes: Vec<Node> = ids.iter().map(|id| Node::new(id, &nats, &toml)).collect();
    for n in &mut nodes {
        n.start().await;
    }
    (nats, origin, nodes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_the_polling_and_serve_the_same_bytes() {
    const SOURCES: usize = 40;
    let (_nats, origin, mut nodes) = cluster_of(&["a", "b", "c"], SOURCES, 3).await;
    let all: Vec<&Node> = nodes.iter().collect();
    wait_until(
        Duration::from_secs(40),
        "every source polled twice",
        || async {
            let by = polls_by_path(&origin);
            by.len() == SOURCES && by.values().all(|v| v.len() >= 2)
        },
    )
    .await;
    // New items everywhere; every node serves them, the same bytes.
    put_feeds(&origin, SOURCES, 5);
    settle(&all, SOURCES, 5, Duration::from_secs(40)).await;
    drop(all);

    // A clean stop (SIGTERM) of c hands its partitions over at once, with the latest states.
    {
        let d = nodes[2].daemon.as_mut().unwrap();
        d.signal(libc::SIGTERM);
        let status = d.wait_exit(Duration::from_secs(20)).await;
        assert!(status.success(), "{status}");
        nodes[2].daemon = None;
    }
    put_feeds(&origin, SOURCES, 6);
    let handover = {
        let alive = [&nodes[0], &nodes[1]];
        wait_until(Duration::from_secs(30), "c's sources taken over", || {
            all_items(&alive, SOURCES, 6)
        })
        .await
    };
    eprintln!("handover after SIGTERM: every item on a and b within {handover:?}");

    // Never two nodes on one source at once, never more often than its interval: two polls of
    // one source are at least 0.9 × interval apart (the scheduler's earliest), less a little
    // timer slack.
    let by = polls_by_path(&origin);
    let mut polled_by: HashMap<String, usize> = HashMap::new();
    for (path, polls) in &by {
        for w in polls.windows(2) {
            let gap = w[1].0 - w[0].0;
            if gap < INTERVAL.mul_f64(0.85) {
                let t0 = polls[0].0;
                let history: Vec<String> = polls
                    .iter()
                    .map(|(t, n)| format!("{n}@{:.2}", (*t - t0).as_secs_f64()))
                    .collect();
                for n in &nodes {
                    eprintln!(
                        "--- node {} log:\n{}",
                        n.id,
                        n.daemon.as_ref().unwrap().log()
                    );
                }
                panic!(
                    "{path} polled {gap:?} apart, by {} then {}; all its polls: {history:?}",
                    w[0].1, w[1].1
                );
            }
        }
        let nodes_of_path: BTreeSet<&String> = polls.iter().map(|(_, n)| n).collect();
        for n in nodes_of_path {
            *polled_by.entry(n.clone()).or_default() += 1;
        }
    }
    // Every node took part (rendezvous spreads 40 sources over three).
    for id in ["a", "b", "c"] {
        assert!(
            polled_by.get(id).copied().unwrap_or(0) > 0,
            "node {id} polled nothing: {polled_by:?}"
        );
    }
    let status = nodes[0].cluster().await;
    assert_eq!(status["members"].as_array().unwrap().len(), 2, "{status}");
    for n in &mut nodes {
        n.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_fails_over_and_nodes_rebuild_from_the_stream() {
    const SOURCES: usize = 20;
    let (nats, origin, mut nodes) = cluster_of(&["a", "b", "c"], SOURCES, 2).await;
    {
        let all: Vec<&Node> = nodes.iter().collect();
        wait_until(Duration::from_secs(40), "2 items of every source", || {
            all_items(&all, SOURCES, 2)
        })
        .await;
    }
    // kill -9 of node c, then news at every source: a and b must pick up c's sources.
    nodes[2].kill();
    let killed_at = Instant::now();
    put_feeds(&origin, SOURCES, 3);
    let failover = {
        let alive = [&nodes[0], &nodes[1]];
        wait_until(
            Duration::from_secs(30),
            "c's sources polled by a or b",
            || all_items(&alive, SOURCES, 3),
        )
        .await
    };
    eprintln!("failover: every item on the survivors {failover:?} after the kill");
    assert!(killed_at.elapsed() < Duration::from_secs(30));
    // c restarts on its old store and catches up.
    nodes[2].start().await;
    {
        let all: Vec<&Node> = nodes.iter().collect();
        wait_until(Duration::from_secs(30), "c caught up", || converged(&all)).await;
        wait_until(Duration::from_secs(10), "3 items everywhere", || {
            all_items(&all, SOURCES, 3)
        })
        .await;
        assert_identical(&all, SOURCES).await;
    }
    // A fourth node with an empty store rebuilds from the stream.
    let mut d = Node::new("d", &nats, &sources_toml(&origin, SOURCES));
    d.start().await;
    {
        let all: Vec<&Node> = nodes.iter().chain([&d]).collect();
        wait_until(Duration::from_secs(30), "d rebuilt", || converged(&all)).await;
        assert_identical(&all, SOURCES).await;
    }
    d.kill();
    for n in &mut nodes {
        n.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_failures_lose_nothing_and_nodes_serve_throughout() {
    const SOURCES: usize = 10;
    let (mut nats, origin, mut nodes) = cluster_of(&["a", "b"], SOURCES, 2).await;
    let all: Vec<&Node> = nodes.iter().collect();
    // Generous, like the waits below: a node that publishes before the server it is connected
    // to knows the new stream gets "no stream found" and that source backs off.
    wait_until(Duration::from_secs(90), "2 items of every source", || {
        all_items(&all, SOURCES, 2)
    })
    .await;
    // One of three servers killed: the stream keeps its quorum; nothing is lost.
    nats.servers[0].kill();
    put_feeds(&origin, SOURCES, 3);
    // Generous: when the killed server led the stream, a new leader is elected and the nodes'
    // clients and consumers move over before anything is stored again; what counts is that
    // nothing is lost. Seen to take over 40 s on this 2-core machine now and then.
    let start = Instant::now();
    while !all_items(&all, SOURCES, 3).await {
        if start.elapsed() > Duration::from_secs(90) {
            for n in &all {
                eprintln!(
                    "--- node {}: {}\n{}",
                    n.id,
                    n.cluster().await,
                    n.daemon.as_ref().unwrap().log()
                );
            }
            panic!("not within 90 s: 3 items with one server down");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // All three down: feeds still served, /healthz names the problem.
    for s in &mut nats.servers {
        s.kill();
    }
    put_feeds(&origin, SOURCES, 4);
    wait_until(
        Duration::from_secs(20),
        "healthz names the problem",
        || async {
            let mut all_degraded = true;
            for n in &all {
                let body = crate::support::get_text(n.url("/healthz")).await;
                all_degraded &= body.starts_with("degraded: cluster unreachable");
            }
            all_degraded
        },
    )
    .await;
    for n in &all {
        let (_, body) = n.feed("/feeds/c0.atom").await;
        assert!(!body.is_empty());
        let c = n.cluster().await;
        assert_eq!(c["reachable"], false, "{c}");
    }
    // All back: ingest resumes, nodes converge, every item once.
    for s in &mut nats.servers {
        s.start();
    }
    nats.wait_listening().await;
    settle(&all, SOURCES, 4, Duration::from_secs(60)).await;
    drop(all);
    for n in &mut nodes {
        n.kill();
    }
}

/// A feed of `n` items whose texts change with `round`, each about 1 KB: every round is a
/// message of `n` changed articles.
fn heavy_rss(s: usize, n: usize, round: usize) -> String {
    let filler = "feedloom cluster apply test text. ".repeat(30);
    rss_with(s, n, |_| format!("round {round}: {filler}"))
}

/// Every source's feed at the origin: `items` heavy items of round `round`.
pub(crate) fn put_heavy(origin: &Origin, sources: usize, items: usize, round: usize) {
    for s in 0..sources {
        origin.put(
            &format!("/feeds/s{s:02}.xml"),
            heavy_rss(s, items, round),
            "application/rss+xml",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_applying_ends_with_every_item_once() {
    const SOURCES: usize = 60;
    const ITEMS: usize = 40;
    let nats = NatsCluster::start().await;
    let origin = Origin::start().await;
    let put = |round: usize| put_heavy(&origin, SOURCES, ITEMS, round);
    put(0);
    let sources = sources_toml(&origin, SOURCES);
    let mut a = Node::new("a", &nats, &sources);
    a.start().await;
    // Rounds of changes: each source publishes a message of ITEMS changed articles per round.
    for round in 1..=4 {
        let before = a.cluster().await["stream_seq"].as_u64().unwrap_or(0);
        // Generous: on a loaded 2-core machine lease renewals lag, and a poll whose lease could
        // have run out is cut off and done again.
        wait_until(Duration::from_secs(90), "a round published", || async {
            a.cluster().await["stream_seq"].as_u64().unwrap_or(0) >= before + SOURCES as u64
        })
        .await;
        put(round);
    }
    wait_until(
        Duration::from_secs(30),
        "last round applied on a",
        || async {
            let ids = a.item_ids(0).await.len() == 10 * ITEMS;
            ids && converged(&[&a]).await
        },
    )
    .await;
    let target = a.cluster().await["stream_seq"].as_u64().unwrap();
    // Node b rebuilds from the stream; kill -9 it five times while it applies.
    let mut b = Node::new("b", &nats, &sources);
    let mut mid_apply = 0;
    let mut last = 0;
    for _ in 0..5 {
        b.start().await;
        // Kill it once it has applied a few more values in this run, mid-way through.
        let killed_at = loop {
            let applied = b.cluster().await["applied_seq"].as_u64().unwrap_or(0);
            if applied >= target || applied > last + 3 {
                break applied;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        b.kill();
        if killed_at < target {
            mid_apply += 1;
        }
        eprintln!("b killed at applied {killed_at} of {target}");
        last = killed_at;
    }
    assert!(mid_apply >= 3, "only {mid_apply} of 5 kills came mid-apply");
    b.start().await;
    let both = [&a, &b];
    wait_until(Duration::from_secs(60), "b caught up", || converged(&both)).await;
    assert_identical(&both, SOURCES).await;
    for c in 0..SOURCES / 10 {
        assert_eq!(b.item_ids(c).await.len(), 10 * ITEMS);
    }
    b.kill();
    a.kill();
}

/// A poll still running when its node can no longer renew its lease (NATS gone) is cut off
/// before the lease can expire in NATS, request and all: from then on another node may poll
/// the source, and the origin must never answer two nodes at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_that_outlives_its_lease_is_cut_off() {
    let mut nats = NatsCluster::start().await;
    let raw = RawOrigin::start().await;
    // About 40 s of answer: 160 chunks a quarter of a second apart, fast enough for the
    // minimum rate, longer than the default fetch timeout (30 s).
    let padding = "x".repeat(1024 * 1024);
    let body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>slow</title>\
         <link>http://slow.example/</link><description>{padding}</description></channel></rss>"
    );
    raw.set(
        "/slow.rss",
        RawAnswer {
            head: "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml".into(),
            chunk: body.len() / 160 + 1,
            body: body.into(),
            delay: Duration::from_millis(250),
        },
    );
    let sources = format!(
        "[sources.slow]\nurl = \"{}\"\ninterval = \"3s\"\n[channels.c]\nsources = [\"slow\"]\n",
        raw.url("/slow.rss")
    );
    let mut node = Node::new("a", &nats, &sources);
    node.start().await;
    wait_until(
        Duration::from_secs(30),
        "the slow poll in flight",
        || async { raw.in_flight() == 1 },
    )
    .await;
    for s in &mut nats.servers {
        s.kill();
    }
    let killed = Instant::now();
    wait_until(Duration::from_secs(15), "the poll cut off", || async {
        raw.in_flight() == 0
    })
    .await;
    // The lease is 3 s, renewed every second: cut within about two seconds of the kill (a
    // whole lease at most, plus the origin noticing the closed connection), not at the
    // answer's end or the fetch timeout.
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "cut off {took:?} after NATS went away"
    );
    node.kill();
}
