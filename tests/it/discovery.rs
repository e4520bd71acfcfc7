//! Feed autodiscovery from outside: a source whose URL is a site's home page is polled as the
//! feed the page announces (the first, or the one `feed_title` names); `feedloom check --fetch`
//! says which; a feed that vanishes makes the daemon ask the page again.

use std::time::{Duration, Instant};

use crate::support::{daemon_config_head, Daemon, Origin};

fn home(feeds: &[(&str, &str)]) -> String {
    let links: String = feeds
        .iter()
        .map(|(title, href)| {
            format!(
                "<link rel=\"alternate\" type=\"application/rss+xml\" title=\"{title}\" href=\"{href}\">\n"
            )
        })
        .collect();
    format!(
        "<!doctype html><html><head><title>A blog</title>\n{links}</head>\
         <body><h1>A blog</h1><p>Welcome.</p></body></html>"
    )
}

fn rss(item: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
         <link>http://blog.example/</link><item><title>{item}</title>\
         <link>http://blog.example/{item}</link><guid>{item}</guid></item></channel></rss>"
    )
}

async fn titles(d: &Daemon) -> Vec<String> {
    let r = reqwest::get(d.url("/feeds/c.json")).await.unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn wait_titles(d: &Daemon, want: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = titles(d).await;
        if want.iter().all(|w| got.iter().any(|g| g == w)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "wanted {want:?}, the channel has {got:?}; sources: {:?}",
            d.sources().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_home_page_url_yields_the_announced_feeds_items() {
    let origin = Origin::start().await;
    origin.put(
        "/",
        home(&[("Posts", "/posts.rss"), ("Comments", "/comments.rss")]),
        "text/html; charset=utf-8",
    );
    origin.put("/posts.rss", rss("post-1"), "application/rss+xml");
    origin.put("/comments.rss", rss("comment-1"), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}\n[sources.blog]\nurl = \"{}\"\ninterval = \"1s\"\n\
         [sources.talk]\nurl = \"{}\"\nfeed_title = \"comments\"\n\
         [channels.c]\nsources = [\"blog\", \"talk\"]\n",
        daemon_config_head(dir.path()),
        origin.url("/"),
        origin.url("/"),
    );
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();

    // `check --fetch` says which feed each source polls.
    let path = dir.path().join("config.toml");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(["--config", path.to_str().unwrap(), "check", "--fetch"])
            .env("FEEDLOOM_LOG", "warn")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "source \"blog\": {} is a web page announcing 2 feed(s); polling {} (\"Posts\")",
            origin.url("/"),
            origin.url("/posts.rss")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("polling {}", origin.url("/comments.rss"))),
        "{text}"
    );

    let d = Daemon::start(dir.path()).await;
    d.wait_healthy(Duration::from_secs(10)).await;
    wait_titles(&d, &["post-1", "comment-1"], Duration::from_secs(20)).await;
    let hits_home = origin.hits("/");

    // Later polls go to the feed itself, with its validators.
    origin.put("/posts.rss", rss("post-2"), "application/rss+xml");
    wait_titles(&d, &["post-2"], Duration::from_secs(20)).await;
    assert!(origin.hits("/posts.rss") >= 2);
    assert!(
        origin.hits("/") <= hits_home + 1,
        "the page is not asked again"
    );

    // The feed vanishes and the page announces another: the daemon follows.
    origin.set(
        "/posts.rss",
        crate::support::Behavior::Status {
            status: 404,
            headers: vec![],
            body: "gone".into(),
        },
    );
    origin.put("/", home(&[("Posts", "/v2/posts.rss")]), "text/html");
    origin.put("/v2/posts.rss", rss("post-3"), "application/rss+xml");
    wait_titles(&d, &["post-3"], Duration::from_secs(30)).await;
}
