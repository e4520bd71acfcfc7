//! What ops and readers meet: the index page and its autodiscovery, OPML both ways, private
//! channels, non-ASCII channel ids, JSON logs that never carry tokens.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{client, spawn_app, Origin};

fn config(origin: &Origin) -> String {
    format!(
        r#"
[sources.blog]
url = "{}"
interval = "1s"
[channels.public]
title = "Public & <friends>"
description = "All the news"
sources = ["blog"]
[channels."陕西"]
title = "陕西新闻"
sources = ["blog"]
[channels.secret]
title = "Secret"
sources = ["blog"]
token = "tok-123"
"#,
        origin.url("/blog.rss")
    )
}

#[tokio::test]
async fn index_page_lists_public_channels_and_its_autodiscovery_links_resolve() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let app = spawn_app(&config(&origin)).await;
    app.wait_all_ok().await;
    let r = app.get("/").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Public &amp; &lt;friends&gt;"),
        "escaped title"
    );
    assert!(!html.contains("Secret") && !html.contains("tok-123"));
    assert!(!html.contains("<script"), "no JavaScript");
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse(r#"link[rel="alternate"]"#).unwrap();
    let links: Vec<(String, String)> = doc
        .select(&sel)
        .map(|l| {
            (
                l.value().attr("href").unwrap().to_string(),
                l.value().attr("type").unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        links.len(),
        6,
        "three formats for each of two public channels"
    );
    for (href, ty) in links {
        let r = client().get(&href).send().await.unwrap();
        assert_eq!(r.status(), 200, "{href}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with(&ty), "{href}: {ct} vs {ty}");
    }
    app.stop().await;
}

#[tokio::test]
async fn opml_lists_public_channels_and_imports_a_readers_export() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let app = spawn_app(&config(&origin)).await;
    let opml = app.text("/opml").await;
    assert!(opml.contains("<opml version=\"2.0\""));
    assert!(opml.contains("/feeds/public.atom"));
    assert!(!opml.contains("secret"));
    app.stop().await;

    // A reader's export with a category becomes config that `check` accepts.
    let dir = tempfile::tempdir().unwrap();
    let reader = dir.path().join("reader.opml");
    std::fs::write(
        &reader,
        r#"<?xml version="1.0"?><opml version="1.0"><head><title>My feeds</title></head><body>
<outline text="Tech" title="Tech">
  <outline type="rss" text="Example Blog" xmlUrl="http://blog.example/feed.xml" htmlUrl="http://blog.example/"/>
  <outline type="rss" text="阮一峰的网络日志" xmlUrl="http://www.ruanyifeng.com/blog/atom.xml"/>
</outline>
<outline type="rss" text="Loose" xmlUrl="http://loose.example/rss"/>
</body></opml>"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(["--config", "/nonexistent.toml", "opml", "import"])
        .arg(&reader)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let toml = String::from_utf8(out.stdout).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, &toml).unwrap();
    let parsed = feedloom::config::Config::load(&cfg).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    assert_eq!(parsed.sources.len(), 3);
    assert_eq!(parsed.channels.len(), 2, "Tech + imported:\n{toml}");
}

#[tokio::test]
async fn non_ascii_channel_ids_are_reachable_percent_encoded() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let app = spawn_app(&config(&origin)).await;
    app.wait_all_ok().await;
    let r = app.get("/feeds/%E9%99%95%E8%A5%BF.atom").await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn json_logs_and_no_token_in_them() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[store]\npath = \"{}\"\n{}",
        dir.path().join("s.sled").display(),
        config(&origin)
    );
    std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .arg("--config")
        .arg(dir.path().join("config.toml"))
        .args(["--log-format", "json", "serve"])
        .env("FEEDLOOM_LOG", "debug")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = client()
            .get(format!("{base}/feeds/secret.rss?token=tok-123"))
            .send()
            .await
        {
            if r.status() == 200 {
                break;
            }
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = client()
        .get(format!("{base}/feeds/secret.rss"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some(), "{l}");
    }
    assert!(!err.contains("tok-123"), "the token leaked into the logs");
}
