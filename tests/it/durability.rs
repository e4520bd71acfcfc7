//! Durability from the outside: the daemon as a child process, killed with SIGKILL while it
//! ingests; reload; retention with tombstones; orderly shutdown.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{client, daemon_config_head, get_json, spawn_app, Daemon, Origin};

/// An RSS document with `n` items for source `s`.
fn feed_of(s: usize, n: usize) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Source {s}</title><link>http://src{s}.example/</link><description>d</description>"
    );
    for i in 0..n {
        out.push_str(&format!(
            "<item><title>Source {s} item {i}</title><link>http://src{s}.example/{i}</link><guid>s{s}-i{i}</guid>\
             <pubDate>Mon, 01 Jan 2024 {:02}:{:02}:00 GMT</pubDate><description>Body of item {i} of source {s}, long enough to matter: {}</description></item>",
            i / 60,
            i % 60,
            "lorem ipsum ".repeat(20)
        ));
    }
    out.push_str("</channel></rss>");
    out
}

/// A config with one source at `url` (its table's extra lines in `source_keys`) in one channel.
fn write_one_source_config(dir: &Path, url: &str, source_keys: &str) {
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "{}[sources.s]\nurl = \"{url}\"\n{source_keys}[channels.c]\ntitle = \"C\"\nsources = [\"s\"]\n",
            daemon_config_head(dir),
        ),
    )
    .unwrap();
}

fn write_config(dir: &Path, origin: &Origin, sources: usize, interval: &str) {
    let mut cfg = format!("{}[poll]\nconcurrency = 8\n", daemon_config_head(dir));
    for s in 0..sources {
        cfg.push_str(&format!(
            "[sources.s{s}]\nurl = \"{}\"\ninterval = \"{interval}\"\n",
            origin.url(&format!("/feed/{s}.xml"))
        ));
    }
    for c in 0..4 {
        let members: Vec<String> = (0..sources)
            .filter(|s| s % 4 == c)
            .map(|s| format!("\"s{s}\""))
            .collect();
        cfg.push_str(&format!(
            "[channels.c{c}]\ntitle = \"C{c}\"\nlimit = 1000\nsources = [{}]\n",
            members.join(", ")
        ));
    }
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// A small deterministic generator (no rand dependency): xorshift.
struct Xorshift(u64);
impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_loses_nothing_and_duplicates_nothing() {
    const SOURCES: usize = 100;
    const ITEMS: usize = 30;
    let origin = Origin::start().await;
    for s in 0..SOURCES {
        origin.put(
            &format!("/feed/{s}.xml"),
            feed_of(s, ITEMS),
            "application/rss+xml",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // A long interval: each source is polled once per process unless a kill lost its write.
    write_config(dir.path(), &origin, SOURCES, "1h");
    let seed = std::env::var("FEEDLOOM_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill seed {seed} (FEEDLOOM_KILL_SEED to replay)");
    let mut rng = Xorshift(seed);
    let mut mid_ingest = 0;
    for round in 0..10 {
        // Each start gets a port of its own (port 0), read from the daemon's log.
        let mut daemon = Daemon::start(dir.path()).await;
        let up = daemon.wait_healthy(Duration::from_secs(10)).await;
        // Kill somewhere in the first 0–450 ms of ingest: the first polls of 100 sources are
        // spread over 500 ms (5 ms a source), so a kill in that time lands while some are still
        // to come. Up to 600 ms, a first round killed after the last poll left nothing to
        // ingest in the later ones (the sources are not due again for an hour).
        let after = Duration::from_millis(rng.next() % 450);
        tokio::time::sleep(after).await;
        // What the daemon reported just before the kill (its last writes may still be in flight).
        let seen: u64 = daemon
            .sources()
            .await
            .iter()
            .map(|x| x["items"].as_u64().unwrap())
            .sum();
        daemon.kill();
        if seen < (SOURCES * ITEMS) as u64 {
            mid_ingest += 1;
        }
        eprintln!("round {round}: healthy after {up:?}, killed {after:?} later with {seen} items reported");
    }
    // The test means something only if kills landed while ingest was under way.
    assert!(mid_ingest >= 1, "no kill landed during ingest");
    // Let it finish.
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = daemon.sources().await;
        let total: u64 = s.iter().map(|x| x["items"].as_u64().unwrap()).sum();
        if total == (SOURCES * ITEMS) as u64 && s.iter().all(|x| x["status"] == "ok") {
            // Exactly once per source.
            for x in &s {
                assert_eq!(x["items"], ITEMS as u64, "{x}");
            }
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "store did not converge: {total} items"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every item is served, once.
    let mut ids = std::collections::HashSet::new();
    for c in 0..4 {
        let feed: serde_json::Value = get_json(daemon.url(&format!("/feeds/c{c}.json"))).await;
        let items = feed["items"].as_array().unwrap();
        assert_eq!(items.len(), SOURCES / 4 * ITEMS);
        for i in items {
            assert!(
                ids.insert(i["id"].as_str().unwrap().to_string()),
                "duplicate {i}"
            );
        }
    }
    assert_eq!(ids.len(), SOURCES * ITEMS);
    // SIGTERM: orderly exit 0.
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn reload_adds_removes_and_refuses_invalid_configs() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    origin.put_fixture("/site.atom", "scenario/site.atom", "application/atom+xml");
    let base = format!(
        "[sources.blog]\nurl = \"{}\"\ninterval = \"1s\"\n[channels.c]\ntitle = \"C\"\nsources = [\"blog\"]\n",
        origin.url("/blog.rss")
    );
    // Reload is off without an admin token.
    let plain = spawn_app(&base).await;
    let r = client()
        .post(plain.url("/admin/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    plain.stop().await;

    let app = crate::support::spawn_app_admin(&base).await;
    app.wait_all_ok().await;
    let cfg_path = app.dir.path().join("config.toml");
    let with_admin = std::fs::read_to_string(&cfg_path).unwrap();
    // A wrong token looks like no route at all.
    let r = app.admin_reload("wrong").await;
    assert_eq!(r.status(), 404);
    let added = with_admin.replace("sources = [\"blog\"]", "sources = [\"blog\", \"site\"]")
        + &format!(
            "[sources.site]\nurl = \"{}\"\ninterval = \"1s\"\n",
            origin.url("/site.atom")
        );
    std::fs::write(&cfg_path, &added).unwrap();
    let r = app.admin_reload("adm").await;
    assert_eq!(r.status(), 200);
    let summary: serde_json::Value = r.json().await.unwrap();
    assert_eq!(summary["added"][0], "site");
    app.wait_sources(Duration::from_secs(10), "site polled", |s| {
        s.len() == 2 && s.iter().all(|x| x["status"] == "ok")
    })
    .await;
    let feed = app.feed("/feeds/c.atom").await;
    assert_eq!(feed.entries.len(), 3, "blog 2 + site 2 - shared story");

    // An invalid config is refused; the running one keeps serving.
    std::fs::write(
        &cfg_path,
        added.replace("sources = [\"blog\", \"site\"]", "sources = [\"nope\"]"),
    )
    .unwrap();
    let r = app.admin_reload("adm").await;
    assert_eq!(r.status(), 400);
    let msg = r.text().await.unwrap();
    assert!(msg.contains("nope"), "{msg}");
    assert_eq!(app.feed("/feeds/c.atom").await.entries.len(), 3);

    // Removing a source stops its polling; its data stays (not served by a channel now).
    std::fs::write(&cfg_path, &with_admin).unwrap();
    let r = app.admin_reload("adm").await;
    assert_eq!(r.status(), 200);
    let summary: serde_json::Value = r.json().await.unwrap();
    assert_eq!(summary["removed"][0], "site");
    let hits = origin.hits("/site.atom");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        origin.hits("/site.atom"),
        hits,
        "removed source still polled"
    );
    assert_eq!(app.sources().await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn pruned_items_do_not_come_back() {
    let origin = Origin::start().await;
    origin.put("/f.xml", feed_of(1, 10), "application/rss+xml");
    let cfg = format!(
        "[sources.f]\nurl = \"{}\"\ninterval = \"1s\"\nmax_items = 4\n[channels.c]\ntitle = \"C\"\nsources = [\"f\"]\n",
        origin.url("/f.xml")
    );
    let app = spawn_app(&cfg).await;
    app.wait_all_ok().await;
    let feed = app.feed("/feeds/c.json").await;
    assert_eq!(feed.entries.len(), 4);
    // The newest four (items 9..6) are kept.
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "Source 1 item 9"
    );
    // The source changes (a new item) and still lists the pruned ones: they stay out.
    let mut changed = feed_of(1, 11);
    changed = changed.replace("Source 1 item 10<", "Source 1 item 10 (new)<");
    origin.put("/f.xml", changed, "application/rss+xml");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let feed = app.feed("/feeds/c.json").await;
        let titles: Vec<String> = feed
            .entries
            .iter()
            .map(|e| e.title.as_ref().unwrap().content.clone())
            .collect();
        if titles.first().map(String::as_str) == Some("Source 1 item 10 (new)") {
            assert_eq!(titles.len(), 4, "{titles:?}");
            assert!(!titles.iter().any(|t| t == "Source 1 item 0"), "{titles:?}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{titles:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = app.sources().await;
    assert_eq!(s[0]["items"], 4);
    app.stop().await;
}

#[tokio::test]
async fn orderly_shutdown_flushes_and_export_import_round_trips() {
    let origin = Origin::start().await;
    origin.put("/f.xml", feed_of(7, 5), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}[sources.f]\nurl = \"{}\"\ninterval = \"1h\"\n[channels.c]\ntitle = \"C\"\nsources = [\"f\"]\n",
        daemon_config_head(dir.path()),
        origin.url("/f.xml")
    );
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while daemon.sources().await[0]["items"] != 5 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    daemon.signal(libc::SIGTERM);
    assert!(daemon.wait_exit(Duration::from_secs(30)).await.success());

    // Export the flushed store, import it into a fresh one, render from there.
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .arg("export")
        .output()
        .unwrap();
    assert!(out.status.success());
    let dump = String::from_utf8(out.stdout).unwrap();
    assert_eq!(dump.lines().count(), 6, "1 source + 5 articles:\n{dump}");
    std::fs::write(dir.path().join("dump.jsonl"), &dump).unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("config.toml"),
        cfg.replace(
            &dir.path().join("store.sled").display().to_string(),
            &other.path().join("store.sled").display().to_string(),
        ),
    )
    .unwrap();
    let imp = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(other.path().join("config.toml"))
        .arg("import")
        .arg(dir.path().join("dump.jsonl"))
        .output()
        .unwrap();
    assert!(
        imp.status.success(),
        "{}",
        String::from_utf8_lossy(&imp.stderr)
    );
    let rendered = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(other.path().join("config.toml"))
        .args(["render", "c", "--format", "json"])
        .output()
        .unwrap();
    assert!(rendered.status.success());
    let feed: serde_json::Value = serde_json::from_slice(&rendered.stdout).unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn sighup_reloads_and_an_invalid_config_keeps_the_running_one() {
    let origin = Origin::start().await;
    origin.put("/f0.xml", feed_of(0, 3), "application/rss+xml");
    origin.put("/f1.xml", feed_of(1, 3), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let head = daemon_config_head(dir.path());
    let one = format!(
        "{head}[sources.a]\nurl = \"{}\"\ninterval = \"1h\"\n[channels.c]\ntitle = \"C\"\nsources = [\"a\"]\n",
        origin.url("/f0.xml")
    );
    std::fs::write(dir.path().join("config.toml"), &one).unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let two = format!(
        "{head}[sources.a]\nurl = \"{}\"\ninterval = \"1h\"\n[sources.b]\nurl = \"{}\"\ninterval = \"1h\"\n[channels.c]\ntitle = \"C\"\nsources = [\"a\", \"b\"]\n",
        origin.url("/f0.xml"),
        origin.url("/f1.xml")
    );
    std::fs::write(dir.path().join("config.toml"), &two).unwrap();
    daemon.signal(libc::SIGHUP);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let s = daemon.sources().await;
        if s.len() == 2 && s.iter().all(|x| x["items"] == 3) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::write(dir.path().join("config.toml"), "[sources.broken\n").unwrap();
    // Wait for the daemon's word that it read the broken file and refused it, rather than for a
    // fixed time: after a sleep, an unchanged config could also mean the reload had not run yet.
    let mark = daemon.log_mark();
    daemon.signal(libc::SIGHUP);
    let refused = daemon
        .wait_log(
            mark,
            "reload refused, keeping the running config",
            Duration::from_secs(10),
        )
        .await;
    assert!(refused.contains("config.toml"), "{refused}");
    let after: Vec<String> = daemon.log_lines().split_off(mark);
    assert!(
        !after.iter().any(|l| l.contains("config reloaded")),
        "a refused reload was applied too:\n{}",
        after.join("\n")
    );
    assert_eq!(daemon.sources().await.len(), 2, "the running config stays");
    let feed: serde_json::Value = get_json(daemon.url("/feeds/c.json")).await;
    assert_eq!(feed["items"].as_array().unwrap().len(), 6);
    daemon.signal(libc::SIGTERM);
    assert!(daemon.wait_exit(Duration::from_secs(30)).await.success());
}

#[tokio::test]
async fn a_second_signal_exits_at_once() {
    use crate::support::{RawAnswer, RawOrigin};
    // A source whose answer takes ~40 s (2 KiB/s, above the minimum rate): shutdown would wait
    // for it (up to the drain timeout).
    let raw = RawOrigin::start().await;
    let body = feed_of(0, 60).into_bytes();
    let mut a = RawAnswer::new(
        &format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}",
            body.len()
        ),
        body,
    );
    a.chunk = 2048;
    a.delay = Duration::from_secs(1);
    raw.set("/slow.xml", a);
    let dir = tempfile::tempdir().unwrap();
    write_one_source_config(dir.path(), &raw.url("/slow.xml"), "");
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    // Wait until the slow fetch is under way.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while raw.hits("/slow.xml") == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A supervisor (or Ctrl-C under a wrapper) may send SIGTERM and SIGINT together: that is
    // one request to stop, and the drain goes on.
    daemon.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_millis(50)).await;
    daemon.signal(libc::SIGINT);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        daemon.try_exit().is_none(),
        "still draining after one request to stop"
    );
    let t = std::time::Instant::now();
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(Duration::from_secs(30)).await;
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(status.code(), Some(130));
}

#[tokio::test]
async fn signals_right_after_start_are_handled_not_fatal() {
    let origin = Origin::start().await;
    origin.put("/f.xml", feed_of(0, 3), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    write_one_source_config(dir.path(), &origin.url("/f.xml"), "");
    // The moment the daemon says where it serves, a supervisor may signal it. SIGHUP's default
    // action would kill it; SIGTERM's would skip the flush.
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.signal(libc::SIGHUP);
    daemon.wait_healthy(Duration::from_secs(10)).await;
    assert!(
        daemon.try_exit().is_none(),
        "SIGHUP right after start killed the daemon"
    );
    daemon.kill();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "{}", daemon.log());
    assert!(
        daemon.log().contains("store flushed; bye"),
        "{}",
        daemon.log()
    );
    // Logs to a pipe (journald, docker) carry no terminal colour codes.
    assert!(!daemon.log().contains('\u{1b}'), "{}", daemon.log());
}

#[tokio::test]
async fn what_was_served_survives_a_sigkill_even_with_the_origin_gone() {
    let mut origin = Origin::start().await;
    origin.put("/f.xml", feed_of(3, 10), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    write_one_source_config(dir.path(), &origin.url("/f.xml"), "interval = \"1h\"\n");
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    // Read the feed as soon as it has items, then kill at once (no time for a periodic flush).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let served = loop {
        let feed = get_json(daemon.url("/feeds/c.json")).await;
        let n = feed["items"].as_array().unwrap().len();
        if n > 0 {
            break n;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    daemon.kill();
    origin.stop();
    // The restarted daemon serves on a port of its own: nothing here needs the old one.
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let feed = get_json(daemon.url("/feeds/c.json")).await;
    assert_eq!(feed["items"].as_array().unwrap().len(), served);
    daemon.signal(libc::SIGTERM);
    daemon.wait_exit(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn open_connections_do_not_hold_shutdown() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let origin = Origin::start().await;
    origin.put("/f.xml", feed_of(3, 2), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}workers = 2\n[sources.f]\nurl = \"{}\"\ninterval = \"1h\"\n[channels.c]\ntitle = \"C\"\nsources = [\"f\"]\n",
        daemon_config_head(dir.path()),
        origin.url("/f.xml")
    );
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;

    // An idle keep-alive reader that got its answer, and a client stuck half-way through its
    // request head.
    let mut idle = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    idle.write_all(b"GET /feeds/c.atom HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &buf[..n.min(80)]
    );
    let mut stuck = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    stuck
        .write_all(b"GET /feeds/c.atom HTTP/1.1\r\nHo")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let asked = std::time::Instant::now();
    daemon.signal(libc::SIGTERM);
    // The idle reader is let go at once, while the half-sent request still holds the daemon
    // for its grace period: the connection is closed by the daemon, not by its exit.
    let closed = tokio::time::timeout(Duration::from_secs(2), idle.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "the idle connection was not closed within 2 s of SIGTERM: {closed:?}"
    );
    assert!(
        daemon.try_exit().is_none(),
        "the daemon had already exited, so the close proves nothing"
    );
    let status = daemon.wait_exit(Duration::from_secs(30)).await;
    let took = asked.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(9), "shutdown took {took:?}");
    drop(stuck);
}
