//! Sources that fight back: one daemon, a good feed, a moved feed and ten bad sources. Every bad
//! source ends with a clear error, the good ones are unaffected, and the daemon stays polite.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::support::{
    client, fixture, get_text, spawn_app, Behavior, Origin, RawAnswer, RawOrigin,
};

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title><link>http://x/</link><description>d</description>
<item><title>&lol9;</title><link>http://x/1</link></item></channel></rss>"#;

fn find<'a>(sources: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    sources
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id}"))
}

#[tokio::test]
async fn one_good_feed_one_moved_and_ten_bad_sources() {
    let origin = Origin::start().await;
    origin.put_fixture("/good.rss", "scenario/blog.rss", "application/rss+xml");
    origin.put_fixture(
        "/new-home.atom",
        "scenario/site.atom",
        "application/atom+xml",
    );
    origin.set(
        "/old-home.atom",
        Behavior::Redirect {
            status: 301,
            location: "/new-home.atom".into(),
        },
    );
    origin.put("/bomb.xml", BILLION_LAUGHS, "application/rss+xml");
    origin.set(
        "/500",
        Behavior::Status {
            status: 500,
            headers: vec![],
            body: "oops".into(),
        },
    );
    origin.set(
        "/429",
        Behavior::Status {
            status: 429,
            headers: vec![("Retry-After".into(), "3600".into())],
            body: "slow down".into(),
        },
    );
    origin.set(
        "/410",
        Behavior::Status {
            status: 410,
            headers: vec![],
            body: "gone".into(),
        },
    );
    origin.set(
        "/loop-a",
        Behavior::Redirect {
            status: 302,
            location: "/loop-b".into(),
        },
    );
    origin.set(
        "/loop-b",
        Behavior::Redirect {
            status: 302,
            location: "/loop-a".into(),
        },
    );
    // Deterministic "random" bytes.
    let binary: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    origin.put("/binary", binary, "application/octet-stream");

    let raw = RawOrigin::start().await;
    // 1 GiB of zeros, about 1 MB on the wire; the cap (10 MiB) counts decompressed bytes.
    let bomb = fixture("hostile/bomb-1gib.gz");
    raw.set(
        "/gzip-bomb",
        RawAnswer::new(
            &format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\nContent-Length: {}",
                bomb.len()
            ),
            bomb,
        ),
    );
    // 30 MB with no Content-Length (read until close).
    raw.set(
        "/huge",
        RawAnswer::new(
            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml",
            vec![b'x'; 30_000_000],
        ),
    );
    // One byte a second.
    let mut slow = RawAnswer::new(
        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 4000",
        fixture("scenario/blog.rss"),
    );
    slow.chunk = 1;
    slow.delay = Duration::from_secs(1);
    raw.set("/slow", slow);

    // A port nobody listens on: bound for the whole test but never listening, so connections to
    // it are refused. A listener bound and dropped at once would leave the port free for another
    // test running in parallel to take, and then the source would meet an answer instead. The
    // socket does not allow address reuse, so nothing else can bind the port while it lives.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap();

    let config = format!(
        r#"
[poll]
timeout = "20s"

[sources.good]
url = "{good}"
interval = "5s"
[sources.moved]
url = "{moved}"
interval = "5s"
[sources.entity-bomb]
url = "{bomb}"
interval = "5s"
[sources.gzip-bomb]
url = "{gzip}"
interval = "5s"
[sources.huge]
url = "{huge}"
interval = "5s"
[sources.slow]
url = "{slow}"
interval = "5s"
[sources.e500]
url = "{e500}"
interval = "5s"
[sources.e429]
url = "{e429}"
interval = "5s"
[sources.e410]
url = "{e410}"
interval = "5s"
[sources.loop]
url = "{lp}"
interval = "5s"
[sources.binary]
url = "{binary}"
interval = "5s"
[sources.closed]
url = "http://{closed}/feed.xml"
interval = "5s"

[channels.good]
title = "Good"
sources = ["good", "moved"]
[channels.bad]
title = "Bad"
sources = ["entity-bomb", "gzip-bomb", "huge", "slow", "e500", "e429", "e410", "loop", "binary", "closed"]
"#,
        good = origin.url("/good.rss"),
        moved = origin.url("/old-home.atom"),
        bomb = origin.url("/bomb.xml"),
        gzip = raw.url("/gzip-bomb"),
        huge = raw.url("/huge"),
        slow = raw.url("/slow"),
        e500 = origin.url("/500"),
        e429 = origin.url("/429"),
        e410 = origin.url("/410"),
        lp = origin.url("/loop-a"),
        binary = origin.url("/binary"),
    );
    let started = tokio::time::Instant::now();
    let app = spawn_app(&config).await;
    // /healthz must answer throughout.
    let health_url = app.url("/healthz");
    let health = tokio::spawn(async move {
        let (mut ok, mut bad) = (0u32, 0u32);
        let c = client();
        let end = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::time::Instant::now() < end {
            match tokio::time::timeout(Duration::from_secs(1), c.get(&health_url).send()).await {
                Ok(Ok(r)) if r.status() == 200 => ok += 1,
                _ => bad += 1,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (ok, bad)
    });

    // The good channel is complete quickly, whatever the bad sources do.
    app.wait_sources(Duration::from_secs(10), "good sources ok", |s| {
        find(s, "good")["status"] == "ok" && find(s, "moved")["status"] == "ok"
    })
    .await;
    let good_complete = started.elapsed();
    let good = app.feed("/feeds/good.atom").await;
    assert_eq!(good.entries.len(), 3, "2 + 2 minus the story both carry");
    assert!(app.get("/healthz").await.status() == 200);

    let bad = [
        "entity-bomb",
        "gzip-bomb",
        "huge",
        "slow",
        "e500",
        "e429",
        "e410",
        "loop",
        "binary",
        "closed",
    ];
    let s = app
        .wait_sources(Duration::from_secs(40), "every bad source failed", |s| {
            bad.iter().all(|id| {
                let x = find(s, id);
                (x["status"] == "error" || x["status"] == "gone") && x["last_error"].is_string()
            })
        })
        .await;
    let elapsed = started.elapsed();
    let err = |id: &str| find(&s, id)["last_error"].as_str().unwrap().to_string();
    assert!(
        err("gzip-bomb").contains("larger than"),
        "{}",
        err("gzip-bomb")
    );
    assert!(err("huge").contains("larger than"), "{}", err("huge"));
    assert!(err("slow").contains("too slow"), "{}", err("slow"));
    assert!(err("e500").contains("HTTP 500"), "{}", err("e500"));
    assert!(err("e429").contains("HTTP 429"), "{}", err("e429"));
    assert!(err("e410").contains("gone"), "{}", err("e410"));
    assert!(err("loop").contains("redirect loop"), "{}", err("loop"));
    assert!(err("binary").contains("not a feed"), "{}", err("binary"));
    assert!(
        err("binary").contains("application/octet-stream"),
        "{}",
        err("binary")
    );
    assert!(err("closed").contains("connect"), "{}", err("closed"));
    assert!(
        err("entity-bomb").contains("entit"),
        "{}",
        err("entity-bomb")
    );

    assert_eq!(find(&s, "e410")["status"], "gone");
    assert!(find(&s, "e410")["next_poll"].is_null());
    let next_429: DateTime<Utc> = find(&s, "e429")["next_poll"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let wait = (next_429 - Utc::now()).num_seconds();
    assert!((3500..=3700).contains(&wait), "429 next poll in {wait}s");
    // The moved source is now polled at its new home.
    assert_eq!(find(&s, "moved")["url"], origin.url("/new-home.atom"));

    // Politeness: a few more seconds of running, then count requests.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let secs = started.elapsed().as_secs();
    assert_eq!(origin.hits("/410"), 1, "410 requested once");
    assert_eq!(origin.hits("/429"), 1, "429 requested once");
    assert!(
        origin.hits("/500") <= 1 + (secs as usize) / 5,
        "500 hits {} in {secs}s",
        origin.hits("/500")
    );
    assert!(
        origin.hits("/loop-a") + origin.hits("/loop-b") <= 12,
        "loop requests"
    );
    // Backoff is visible.
    let s = app.sources().await;
    assert!(find(&s, "e500")["consecutive_failures"].as_u64().unwrap() >= 1);
    assert!(app.get("/healthz").await.status() == 200);
    let metrics = get_text(app.url("/metrics")).await;
    assert!(
        metrics.contains("feedloom_polls_total{outcome=\"error\"}"),
        "{metrics}"
    );
    let (health_ok, health_bad) = health.await.unwrap();
    assert_eq!(
        health_bad, 0,
        "/healthz failed {health_bad} times ({health_ok} ok)"
    );
    // Peak memory of this whole test process (daemon, origins and test together): an upper
    // bound for the daemon's.
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let hwm_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("VmHWM in /proc/self/status");
    eprintln!(
        "hostile: good channel complete after {good_complete:?}; every bad source reported after {elapsed:?}; \
         hits: 500={} 410={} 429={} loop={}; healthz {health_ok} ok / {health_bad} failed; peak RSS {} MB",
        origin.hits("/500"),
        origin.hits("/410"),
        origin.hits("/429"),
        origin.hits("/loop-a") + origin.hits("/loop-b"),
        hwm_kb / 1024
    );
    assert!(hwm_kb < 300 * 1024, "peak RSS {hwm_kb} kB");
    app.stop().await;
    // Only now may the closed source's port be reused.
    drop(reserved);
}

#[tokio::test]
async fn temporary_redirects_keep_the_url_and_ttl_and_retry_after_dates_are_honoured() {
    let origin = Origin::start().await;
    origin.put_fixture("/real.rss", "scenario/blog.rss", "application/rss+xml");
    origin.set(
        "/temp",
        Behavior::Redirect {
            status: 302,
            location: "/real.rss".into(),
        },
    );
    let ttl = String::from_utf8(fixture("scenario/blog.rss"))
        .unwrap()
        .replace(
            "<description>A blog</description>",
            "<description>A blog</description><ttl>90</ttl>",
        );
    origin.put("/ttl.rss", ttl, "application/rss+xml");
    let when = (Utc::now() + chrono::Duration::hours(2))
        .to_rfc2822()
        .replace("+0000", "GMT");
    origin.set(
        "/503",
        Behavior::Status {
            status: 503,
            headers: vec![("Retry-After".into(), when)],
            body: "maintenance".into(),
        },
    );
    let cfg = format!(
        r#"
[sources.temp]
url = "{temp}"
interval = "1s"
[sources.ttl]
url = "{ttl}"
interval = "1s"
[sources.maint]
url = "{maint}"
interval = "1s"
[channels.c]
title = "c"
sources = ["temp", "ttl", "maint"]
"#,
        temp = origin.url("/temp"),
        ttl = origin.url("/ttl.rss"),
        maint = origin.url("/503"),
    );
    let app = spawn_app(&cfg).await;
    let s = app
        .wait_sources(Duration::from_secs(10), "polled", |s| {
            find(s, "temp")["status"] == "ok"
                && find(s, "ttl")["status"] == "ok"
                && find(s, "maint")["status"] == "error"
        })
        .await;
    assert_eq!(
        find(&s, "temp")["url"],
        origin.url("/temp"),
        "302 keeps the URL"
    );
    let next = |id: &str| {
        let t: DateTime<Utc> = find(&s, id)["next_poll"].as_str().unwrap().parse().unwrap();
        (t - Utc::now()).num_seconds()
    };
    assert!(
        (5300..=5400).contains(&next("ttl")),
        "ttl 90 min: {}",
        next("ttl")
    );
    assert!(
        (7000..=7300).contains(&next("maint")),
        "Retry-After date: {}",
        next("maint")
    );
    // The 302 source keeps being polled at its interval.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(origin.hits("/temp") >= 2);
    assert_eq!(origin.hits("/ttl.rss"), 1);
    app.stop().await;
}

#[tokio::test]
async fn per_host_limit_holds_across_sources() {
    let raw = RawOrigin::start().await;
    let body = fixture("scenario/blog.rss");
    let mut cfg = String::from("[poll]\nper_host = 2\nconcurrency = 16\n");
    for i in 0..6 {
        let mut a = RawAnswer::new(
            &format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {}",
                body.len()
            ),
            body.clone(),
        );
        // Each answer takes about 300 ms.
        a.chunk = body.len() / 3 + 1;
        a.delay = Duration::from_millis(100);
        raw.set(&format!("/f{i}.rss"), a);
        cfg.push_str(&format!(
            "[sources.f{i}]\nurl = \"{}\"\ninterval = \"1h\"\n",
            raw.url(&format!("/f{i}.rss"))
        ));
    }
    cfg.push_str(
        "[channels.c]\ntitle = \"c\"\nsources = [\"f0\",\"f1\",\"f2\",\"f3\",\"f4\",\"f5\"]\n",
    );
    let app = spawn_app(&cfg).await;
    app.wait_all_ok().await;
    assert_eq!(raw.max_in_flight(), 2, "two requests at once to one host");
    app.stop().await;
}

#[tokio::test]
async fn a_gone_source_stays_quiet_until_its_url_changes() {
    let origin = Origin::start().await;
    origin.set(
        "/old.rss",
        Behavior::Status {
            status: 410,
            headers: vec![],
            body: "gone".into(),
        },
    );
    origin.put_fixture("/new.rss", "scenario/blog.rss", "application/rss+xml");
    let cfg = |path: &str| {
        format!(
            "[sources.s]\nurl = \"{}\"\ninterval = \"1s\"\n[channels.c]\ntitle = \"c\"\nsources = [\"s\"]\n",
            origin.url(path)
        )
    };
    let app = crate::support::spawn_app_admin(&cfg("/old.rss")).await;
    app.wait_sources(Duration::from_secs(10), "gone", |s| {
        s[0]["status"] == "gone"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(origin.hits("/old.rss"), 1, "not polled again");
    // The same source pointed elsewhere by ops: polled again.
    let path = app.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("/old.rss", "/new.rss");
    std::fs::write(&path, text).unwrap();
    let r = app.admin_reload("adm").await;
    assert_eq!(r.status(), 200);
    let s = app
        .wait_sources(Duration::from_secs(10), "back", |s| s[0]["status"] == "ok")
        .await;
    assert_eq!(s[0]["items"], 2);
    app.stop().await;
}

/// A reload that shortens a source's interval takes effect at once: the source is polled at
/// its slot within the new interval, not at the due time the old one gave (an hour away).
#[tokio::test]
async fn a_reload_that_shortens_the_interval_takes_effect_at_once() {
    let origin = Origin::start().await;
    origin.put_fixture("/feed.rss", "scenario/blog.rss", "application/rss+xml");
    let cfg = |interval: &str| {
        format!(
            "[sources.s]\nurl = \"{}\"\ninterval = \"{interval}\"\n[channels.c]\ntitle = \"c\"\nsources = [\"s\"]\n",
            origin.url("/feed.rss")
        )
    };
    let app = crate::support::spawn_app_admin(&cfg("1h")).await;
    app.wait_sources(Duration::from_secs(10), "a first poll", |s| {
        s[0]["status"] == "ok"
    })
    .await;
    let first = origin.hits("/feed.rss");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        origin.hits("/feed.rss"),
        first,
        "not polled again within the hour"
    );
    let path = app.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("interval = \"1h\"", "interval = \"2s\"");
    std::fs::write(&path, text).unwrap();
    assert_eq!(app.admin_reload("adm").await.status(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while origin.hits("/feed.rss") < first + 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "polled {} times in 10 s after the interval became 2 s",
            origin.hits("/feed.rss") - first
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}
