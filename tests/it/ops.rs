//! What ops and readers meet: the index page and its autodiscovery, OPML both ways, private
//! channels, non-ASCII channel ids, JSON logs that never carry tokens.

use std::process::Command;
use std::time::Duration;

use crate::support::{client, daemon_config_head, spawn_app, Daemon, DaemonOptions, Origin};

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

/// The logs must never carry a channel's token. Nothing in the daemon logs request URLs, headers
/// or the config today, so this test makes sure that it would notice if something started to:
/// every path that sees the token is exercised (feeds with the token in the query and in a
/// bearer header, wrong tokens, other routes with a token, a malformed request, a valid and an
/// invalid reload of the config that holds it) while everything, dependencies included, logs at
/// trace level, and the logs are checked to be there before they are searched.
#[tokio::test]
async fn json_logs_and_no_token_in_them() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const TOKEN: &str = "tok-123";
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!("{}{}", daemon_config_head(dir.path()), config(&origin));
    assert!(cfg.contains(TOKEN));
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();
    let mut daemon = Daemon::start_with(
        dir.path(),
        DaemonOptions {
            log: "trace".to_string(),
            json_logs: true,
            ..DaemonOptions::default()
        },
    )
    .await;
    let c = client();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = c
            .get(daemon.url(&format!("/feeds/secret.rss?token={TOKEN}")))
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

    // The token in the Authorization header.
    let r = c
        .get(daemon.url("/feeds/secret.atom"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Wrong tokens, both ways.
    let r = c
        .get(daemon.url("/feeds/secret.rss"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(daemon.url("/feeds/secret.json?token=wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Error answers with the right token: a bad parameter, an unknown format, a wrong method.
    let answers = [
        (
            reqwest::Method::GET,
            format!("/feeds/secret.rss?token={TOKEN}&limit=nope"),
            400,
        ),
        (
            reqwest::Method::GET,
            format!("/feeds/secret.txt?token={TOKEN}"),
            404,
        ),
        (
            reqwest::Method::POST,
            format!("/feeds/secret.rss?token={TOKEN}"),
            405,
        ),
        // Other routes (answered by the warp filter, not the feed fast path), and the admin
        // route, which is off without an admin token.
        (reqwest::Method::GET, format!("/?token={TOKEN}"), 200),
        (reqwest::Method::GET, format!("/opml?token={TOKEN}"), 200),
        (
            reqwest::Method::GET,
            format!("/api/sources?token={TOKEN}"),
            200,
        ),
        (reqwest::Method::GET, format!("/nowhere?token={TOKEN}"), 404),
        (reqwest::Method::POST, "/admin/reload".to_string(), 404),
    ];
    for (method, path, status) in answers {
        let r = c
            .request(method.clone(), daemon.url(&path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{method} {path}");
    }
    // A request hyper refuses (a header line without a colon) makes the daemon log the
    // connection's error.
    let mut raw = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    raw.write_all(
        format!(
            "GET /feeds/secret.rss?token={TOKEN} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nbroken {TOKEN}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    assert!(
        answer.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&answer)
    );

    // A reload that changes the private channel (its token stays), then one that is refused
    // with a problem on the token's own line: the config and its problems reach the log.
    let cfg_path = dir.path().join("config.toml");
    let mark = daemon.log_mark();
    std::fs::write(
        &cfg_path,
        cfg.replace("title = \"Secret\"", "title = \"Secret too\""),
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    daemon
        .wait_log(mark, "config reloaded", Duration::from_secs(10))
        .await;
    let mark = daemon.log_mark();
    let token_line = format!("token = \"{TOKEN}\"");
    assert!(cfg.contains(&token_line));
    std::fs::write(
        &cfg_path,
        cfg.replace(&token_line, &format!("{token_line} \"{TOKEN}\"")),
    )
    .unwrap();
    daemon.signal(libc::SIGHUP);
    daemon
        .wait_log(mark, "reload refused", Duration::from_secs(10))
        .await;

    daemon.signal(libc::SIGTERM);
    let status = daemon.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    let lines = daemon.log_lines();
    let mut levels = std::collections::BTreeSet::new();
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        let level = v["level"]
            .as_str()
            .unwrap_or_else(|| panic!("no level: {l}"));
        levels.insert(level.to_string());
    }
    // The search below means something only if the verbose logs were there to search, to the
    // end of the run.
    let log = daemon.log();
    for level in ["TRACE", "DEBUG", "INFO"] {
        assert!(levels.contains(level), "no {level} lines in:\n{log}");
    }
    for message in [
        "feedloom serving on",
        "HTTP connection ended with an error",
        "config reloaded",
        "reload refused",
        "store flushed; bye",
    ] {
        assert!(log.contains(message), "no {message:?} in:\n{log}");
    }
    assert!(
        !log.contains(TOKEN),
        "the token leaked into the logs:\n{log}"
    );
}

/// Each thread's name and nice value, from `/proc/PID/task/TID/stat` (the name between the
/// parentheses, the nice value the 19th field).
fn thread_nices(pid: u32) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        // Fields after the name start at the 3rd (state); nice is the 19th.
        let nice: i32 = fields[19 - 3].parse().unwrap();
        out.push((name, nice));
    }
    out
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn background_nice_leaves_the_http_threads_first() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}workers = 2\nbackground_nice = 7\n{}",
        daemon_config_head(dir.path()),
        config(&origin)
    );
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    // A poll has run (on the main runtime and its blocking pool) and a feed was answered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while daemon.sources().await[0]["items"].as_u64().unwrap_or(0) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never polled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        client()
            .get(daemon.url("/feeds/public.rss"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // The test's own nice value is what the daemon started with (a CI runner may be niced).
    // SAFETY: getpriority takes and returns plain integers.
    let base = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let threads = thread_nices(daemon.pid());
    let http: Vec<_> = threads
        .iter()
        .filter(|(n, _)| n.starts_with("feedloom-http"))
        .collect();
    let runtime: Vec<_> = threads.iter().filter(|(n, _)| n == "feedloom-bg").collect();
    assert!(http.len() >= 2, "{threads:?}");
    assert!(runtime.len() >= 2, "{threads:?}");
    assert!(http.iter().all(|(_, n)| *n == base), "{threads:?}");
    // The value is set, not added; a thread already nicer keeps its own.
    let background = base.max(7);
    assert!(runtime.iter().all(|(_, n)| *n == background), "{threads:?}");
    // sled's writers are lowered by the upkeep every 5 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    loop {
        let threads = thread_nices(daemon.pid());
        let sled: Vec<_> = threads
            .iter()
            .filter(|(n, _)| n.starts_with("sled-io"))
            .collect();
        if !sled.is_empty() && sled.iter().all(|(_, n)| *n == background) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{threads:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
