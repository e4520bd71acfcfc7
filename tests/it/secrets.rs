//! Secrets in source URLs (user-info, API keys in the query) never reach the logs,
//! `/api/sources`, the index page, the source pages or the served feeds (relative links): the daemon runs as a child process logging at info level
//! (trace and debug logs of html5ever print page text, see the session note), with one source that works and one that fails (errors may quote their URL).

use std::time::{Duration, Instant};

use crate::support::{daemon_config_head, get_text, Daemon, DaemonOptions, Origin};

#[tokio::test]
async fn source_url_secrets_stay_out_of_logs_api_and_pages() {
    const PASSWORD: &str = "hunter2-pw";
    const KEY: &str = "k3y-Sekrit-0042";
    const TOKEN: &str = "9f8e7d6c5b4a39281706";
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let base = origin.url("");
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let cfg = format!(
        "{}\n[sources.good]\nurl = \"http://reader:{PASSWORD}@{host}/blog.rss?apikey={KEY}&page=1\"\n\n\
         [sources.bad]\nurl = \"http://{host}/missing.rss?u={TOKEN}\"\n\n\
         [channels.news]\ntitle = \"News\"\nsources = [\"good\", \"bad\"]\n",
        daemon_config_head(dir.path())
    );
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();
    let mut daemon = Daemon::start_with(
        dir.path(),
        DaemonOptions {
            log: "info".to_string(),
            json_logs: false,
            ..DaemonOptions::default()
        },
    )
    .await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let sources = loop {
        let s = daemon.sources().await;
        let polled = s.iter().all(|r| !r["last_poll"].is_null());
        if polled {
            break s;
        }
        assert!(Instant::now() < deadline, "sources not polled: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The URL with its secrets was used (only not shown): the good source has its items.
    let good = sources.iter().find(|r| r["id"] == "good").unwrap();
    assert!(good["items"].as_u64().unwrap_or(0) > 0, "{good}");
    assert!(origin.hits("/missing.rss") > 0);
    let api = serde_json::to_string(&sources).unwrap();
    let page = get_text(daemon.url("/")).await;
    // The sources' own pages: their settings, and the failing one's error in words.
    let source_pages =
        get_text(daemon.url("/sources/good")).await + &get_text(daemon.url("/sources/bad")).await;
    assert!(source_pages.contains("REDACTED"), "{source_pages}");
    // The story's relative link was resolved against the source URL, without its user-info.
    let feed = get_text(daemon.url("/feeds/news.json")).await;
    assert!(feed.contains(&format!("http://{host}/rel/link")), "{feed}");
    assert!(api.contains("REDACTED") && page.contains("REDACTED"));
    assert!(api.contains("page=1"), "harmless query values stay: {api}");
    daemon.signal(libc::SIGTERM);
    let _ = daemon.wait_exit(Duration::from_secs(15)).await;
    let log = daemon.log();
    assert!(log.contains("refresh failed"), "the log is there to search");
    for secret in [PASSWORD, KEY, TOKEN] {
        assert!(!api.contains(secret), "{secret} in /api/sources: {api}");
        assert!(!page.contains(secret), "{secret} on the index page");
        assert!(
            !source_pages.contains(secret),
            "{secret} on a source page: {source_pages}"
        );
        assert!(
            !feed.contains(secret),
            "{secret} in the served feed: {feed}"
        );
        let line = log.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "{secret} in the log: {line:?}");
    }
}
