//! The foundation scenario from the outside: a real origin, the real daemon, HTTP only.

use std::time::Duration;

use crate::support::{client, daemon_config_head, get_json, get_text, spawn_app, Daemon, Origin};

/// Config for the three-format channel over `origin`.
fn merged_config(origin: &Origin) -> String {
    format!(
        r#"
[sources.blog]
url = "{blog}"
interval = "1s"
[sources.site]
url = "{site}"
interval = "1s"
[sources.json]
url = "{json}"
interval = "1s"
[sources.gbk]
url = "{gbk}"
interval = "1s"
[sources.broken]
url = "{broken}"
interval = "1s"

[channels.mixed]
title = "Mixed"
description = "Three formats, one story"
sources = ["blog", "site", "json"]
language = "en"

[channels.cn]
title = "陕西"
sources = ["gbk"]

[channels.broken]
title = "Broken"
sources = ["broken"]

[channels.private]
title = "Secret"
sources = ["blog"]
token = "s3cret"
"#,
        blog = origin.url("/blog.rss"),
        site = origin.url("/site.atom"),
        json = origin.url("/items.json"),
        gbk = origin.url("/gbk.rss"),
        broken = origin.url("/broken.rss"),
    )
}

async fn scenario_origin() -> Origin {
    let o = Origin::start().await;
    o.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    o.put_fixture("/site.atom", "scenario/site.atom", "application/atom+xml");
    o.put_fixture(
        "/items.json",
        "scenario/items.json",
        "application/feed+json",
    );
    // Declared only in the XML prolog: the HTTP header says nothing about the charset.
    o.put_fixture("/gbk.rss", "scenario/gbk.rss", "application/xml");
    o.put_fixture("/broken.rss", "scenario/broken.rss", "text/xml");
    o
}

#[tokio::test]
async fn three_formats_merge_and_the_shared_story_appears_once() {
    let origin = scenario_origin().await;
    let app = spawn_app(&merged_config(&origin)).await;
    app.wait_all_ok().await;

    for ext in ["rss", "atom", "json"] {
        let feed = app.feed(&format!("/feeds/mixed.{ext}")).await;
        let titles: Vec<String> = feed
            .entries
            .iter()
            .map(|e| {
                e.title
                    .as_ref()
                    .map(|t| t.content.clone())
                    .unwrap_or_default()
            })
            .collect();
        let shared = feed
            .entries
            .iter()
            .filter(|e| {
                e.links
                    .iter()
                    .any(|l| l.href.starts_with("http://news.example/story/42"))
            })
            .count();
        assert_eq!(shared, 1, "{ext}: the shared story once: {titles:?}");
        // 2 blog + 2 site + 2 json - 2 duplicates of the shared story.
        assert_eq!(feed.entries.len(), 4, "{ext}: {titles:?}");
        assert!(
            titles.iter().any(|t| t == "An xhtml title"),
            "{ext}: xhtml title flattened: {titles:?}"
        );
        // xml:base resolved the relative link.
        assert!(
            feed.entries.iter().any(|e| e
                .links
                .iter()
                .any(|l| l.href == "http://site.example/blog/posts/1.html")),
            "{ext}: xml:base"
        );
        // Tracking parameters are gone from every link.
        for e in &feed.entries {
            for l in &e.links {
                assert!(!l.href.contains("utm_"), "{ext}: {}", l.href);
                assert!(!l.href.contains("fbclid"), "{ext}: {}", l.href);
            }
        }
    }
    // The podcast keeps its enclosure in every format.
    let rss = app.text("/feeds/mixed.rss").await;
    assert!(
        rss.contains(r#"url="http://blog.example/ep1.mp3""#) && rss.contains("audio/mpeg"),
        "{rss}"
    );
    let json: serde_json::Value = get_json(app.url("/feeds/mixed.json")).await;
    let ep = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"] == "Podcast episode 1")
        .expect("podcast item");
    assert_eq!(ep["attachments"][0]["url"], "http://blog.example/ep1.mp3");
    assert_eq!(ep["attachments"][0]["mime_type"], "audio/mpeg");
    app.stop().await;
}

#[tokio::test]
async fn content_is_sanitized_and_urls_absolute() {
    let origin = scenario_origin().await;
    let app = spawn_app(&merged_config(&origin)).await;
    app.wait_all_ok().await;
    let json: serde_json::Value = get_json(app.url("/feeds/mixed.json")).await;
    let items = json["items"].as_array().unwrap();
    let all_html: String = items
        .iter()
        .filter_map(|i| i["content_html"].as_str())
        .collect();
    assert!(!all_html.contains("<script"), "{all_html}");
    assert!(!all_html.contains("onclick"), "{all_html}");
    assert!(!all_html.contains("javascript:"), "{all_html}");
    assert!(
        all_html.contains("http://site.example/blog/img/a.png"),
        "relative image made absolute: {all_html}"
    );
    app.stop().await;
}

#[tokio::test]
async fn gbk_declared_in_prolog_and_ill_formed_feeds_are_read() {
    let origin = scenario_origin().await;
    let app = spawn_app(&merged_config(&origin)).await;
    app.wait_all_ok().await;
    let feed = app.feed("/feeds/cn.atom").await;
    assert_eq!(
        feed.entries[0].title.as_ref().unwrap().content,
        "咬紧牙关 持续从严 坚持就是胜利"
    );
    let feed = app.feed("/feeds/broken.json").await;
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert!(
        titles.iter().any(|t| t.starts_with("Fish & Chips")),
        "{titles:?}"
    );
    // The repair is recorded for ops to see.
    let s = app.sources().await;
    let broken = s.iter().find(|x| x["id"] == "broken").unwrap();
    let repairs = broken["repairs"].as_array().unwrap();
    assert!(
        repairs.iter().any(|r| r.as_str().unwrap().contains('&')),
        "{broken}"
    );
    assert_eq!(titles.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn http_semantics_of_served_feeds() {
    let origin = scenario_origin().await;
    let app = spawn_app(&merged_config(&origin)).await;
    app.wait_all_ok().await;
    let c = client();
    for (ext, ct) in [
        ("rss", "application/rss+xml"),
        ("atom", "application/atom+xml"),
        ("json", "application/feed+json"),
    ] {
        let url = app.url(&format!("/feeds/mixed.{ext}"));
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(ct));
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let lm = r.headers()["last-modified"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"'), "strong etag {etag}");
        let plain = r.bytes().await.unwrap();

        let r = c
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert!(r.bytes().await.unwrap().is_empty());
        let r = c
            .get(&url)
            .header("If-Modified-Since", &lm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        let r = c
            .get(&url)
            .header("If-None-Match", "\"other\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        let r = c
            .get(&url)
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], "gzip");
        let gz = r.bytes().await.unwrap();
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut out).unwrap();
        assert_eq!(out, plain.to_vec());
        let r = c
            .get(&url)
            .header("Accept-Encoding", "identity")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("content-encoding").is_none());

        let r = c.head(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);
    }
    assert_eq!(app.status("/feeds/nope.rss").await, 404);
    assert_eq!(app.status("/feeds/mixed.txt").await, 404);
    // ?limit
    let feed: serde_json::Value = c
        .get(app.url("/feeds/mixed.json?limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 2);
    assert_eq!(app.status("/feeds/mixed.json?limit=5000").await, 400);
    // Private channel: 404 without the token, served with it either way.
    assert_eq!(app.status("/feeds/private.rss").await, 404);
    assert_eq!(app.status("/feeds/private.rss?token=wrong").await, 404);
    assert_eq!(app.status("/feeds/private.rss?token=s3cret").await, 200);
    assert_eq!(
        c.get(app.url("/feeds/private.rss"))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let index = app.text("/").await;
    assert!(index.contains("/feeds/mixed.atom"));
    assert!(
        !index.contains("/feeds/private"),
        "private channel hidden from /"
    );
    let opml = app.text("/opml").await;
    assert!(opml.contains("mixed.atom") && !opml.contains("private"));
    assert_eq!(app.get("/healthz").await.status(), 200);
    let metrics = app.text("/metrics").await;
    assert!(metrics.contains("feedloom_polls_total"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn api_sources_reports_each_source() {
    let origin = scenario_origin().await;
    let app = spawn_app(&merged_config(&origin)).await;
    let sources = app.wait_all_ok().await;
    assert_eq!(sources.len(), 5);
    let blog = sources.iter().find(|s| s["id"] == "blog").unwrap();
    assert_eq!(blog["url"], origin.url("/blog.rss"));
    assert_eq!(blog["items"], 2);
    assert_eq!(blog["consecutive_failures"], 0);
    assert!(blog["last_error"].is_null());
    for key in ["last_poll", "next_poll"] {
        let t = blog[key].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(t).unwrap();
    }
    let ua = origin.user_agents();
    assert!(ua[0].starts_with("feedloom/"), "{ua:?}");
    app.stop().await;
}

#[tokio::test]
async fn conditional_get_both_ways_and_across_restarts() {
    let origin = scenario_origin().await;
    let config = r#"
[sources.blog]
url = "ORIGIN/blog.rss"
interval = "1s"
[channels.c]
title = "C"
sources = ["blog"]
"#
    .replace("ORIGIN", &origin.url(""));
    let app = spawn_app(&config).await;
    app.wait_all_ok().await;
    // The origin sees a conditional request and answers 304 on the next poll.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while origin.not_modified("/blog.rss") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no 304 from origin");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = app.text("/feeds/c.atom").await;
    let old_addr = app.addr.to_string();
    let app = app.restart().await;
    let n304 = origin.not_modified("/blog.rss");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while origin.not_modified("/blog.rss") == n304 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "validators did not survive the restart: hits {} 304s {} {:#?}",
            origin.hits("/blog.rss"),
            origin.not_modified("/blog.rss"),
            app.sources().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Same data, same bytes after the restart (but for the self links: port 0 gave a new port).
    assert_eq!(
        app.text("/feeds/c.atom").await,
        before.replace(&old_addr, &app.addr.to_string())
    );
    app.stop().await;
}

#[tokio::test]
async fn restart_with_origin_gone_still_serves_every_item() {
    let mut origin = scenario_origin().await;
    let app = spawn_app(&merged_config(&origin)).await;
    app.wait_all_ok().await;
    let before = app.feed("/feeds/mixed.rss").await;
    origin.stop();
    let app = app.restart().await;
    // Give the scheduler time to find the origin gone.
    app.wait_sources(Duration::from_secs(20), "errors recorded", |s| {
        s.iter().all(|x| x["status"] == "error")
    })
    .await;
    let after = app.feed("/feeds/mixed.rss").await;
    assert_eq!(after.entries.len(), before.entries.len());
    assert_eq!(after.entries.len(), 4);
    let s = app.sources().await;
    let blog = s.iter().find(|x| x["id"] == "blog").unwrap();
    assert!(
        blog["last_error"].as_str().unwrap().contains("connect"),
        "{blog}"
    );
    app.stop().await;
}

/// Large feeds leave through `sendfile` from an in-memory file (src/sendfile.rs): the bytes must
/// be exactly the rendered ones, for many readers at once, next to HEAD and gzip answers.
///
/// The daemon runs as a child process here because the sendfile byte counter is global to a
/// process: a daemon in this process would share it with the other tests' daemons, which may
/// send large feeds at the same time, and their bytes would make up for ours if ours did not
/// go by sendfile. A child process counts only the answers this test asked for.
#[tokio::test]
async fn large_feeds_are_sent_intact_from_memory_files() {
    let origin = Origin::start().await;
    let items: String = (0..100)
        .map(|i| {
            format!(
                "<item><title>Story {i}</title><link>http://example.com/s/{i}</link>\
                 <pubDate>Tue, 0{} Dec 2025 10:{:02}:00 GMT</pubDate>\
                 <description>{}</description></item>",
                1 + i % 9,
                i % 60,
                format!("Paragraph {i} of a long story. ").repeat(20)
            )
        })
        .collect();
    origin.put(
        "/big.xml",
        format!("<rss version=\"2.0\"><channel><title>Big</title><link>http://example.com/</link>{items}</channel></rss>"),
        "application/rss+xml",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "{}[sources.big]\nurl = \"{}\"\ninterval = \"1h\"\n[channels.big]\ntitle = \"Big\"\nlimit = 100\nsources = [\"big\"]\n",
            daemon_config_head(dir.path()),
            origin.url("/big.xml")
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = daemon.sources().await;
        if s.iter().all(|x| x["status"] == "ok") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{s:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sent_before = sendfile_bytes(&daemon).await;
    let c = client();
    let url = daemon.url("/feeds/big.atom");
    let reference = c
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(reference.headers()["content-encoding"], "gzip");
    let gz = reference.bytes().await.unwrap();
    let mut plain_ref = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain_ref).unwrap();
    assert!(plain_ref.len() > 32 * 1024, "{} bytes", plain_ref.len());
    let gets = (0..40).map(|_| {
        let (c, url) = (c.clone(), url.clone());
        tokio::spawn(async move { c.get(&url).send().await.unwrap().bytes().await.unwrap() })
    });
    for g in gets {
        assert!(
            g.await.unwrap()[..] == plain_ref[..],
            "a plain answer differs"
        );
    }
    let head = c.head(&url).send().await.unwrap();
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        plain_ref.len().to_string()
    );
    // Only this test's requests reach this daemon, so the 40 plain bodies must account for at
    // least this many of its sendfile bytes.
    let sent = sendfile_bytes(&daemon).await - sent_before;
    assert!(
        sent >= 40 * plain_ref.len() as u64,
        "only {sent} bytes went by sendfile"
    );
    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
}

/// The daemon's `feedloom_http_sendfile_bytes_total`.
async fn sendfile_bytes(daemon: &Daemon) -> u64 {
    let m = get_text(daemon.url("/metrics")).await;
    m.lines()
        .find_map(|l| l.strip_prefix("feedloom_http_sendfile_bytes_total "))
        .map_or(0, |v| v.trim().parse().unwrap())
}
