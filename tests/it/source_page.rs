//! `GET /sources/{id}` from outside: a real origin and the daemon. After polls that work, fail
//! and work again, the page draws one mark per poll with the failure marked, lists the newest
//! items with their links and today's arrivals, shows the settings with every secret replaced
//! (and no secret anywhere in the HTML), is linked from `/`, and an unknown id is 404.

use std::time::{Duration, Instant};

use crate::support::{spawn_app, spawn_app_admin, Behavior, Origin};

const HEADER_SECRET: &str = "hdr-Secret-9911";
const PASSWORD: &str = "pw-Secret-7722";
const USERNAME: &str = "reader-Alice";
const COOKIE: &str = "ck-Secret-5533";
const QUERY_KEY: &str = "qk-Secret-3344";
const CHANNEL_TOKEN: &str = "tok-Secret-4411";

fn rss() -> String {
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel><title>陕西新闻</title>\
     <link>http://news.example/</link><description>d</description>\
     <item><title>西安地铁新线开通</title><link>http://news.example/a/1.html</link>\
     <guid>a1</guid><pubDate>Mon, 06 May 2024 08:00:00 +0800</pubDate></item>\
     <item><title>Second story</title><link>http://news.example/a/2.html</link>\
     <guid>a2</guid><pubDate>Sun, 05 May 2024 08:00:00 +0800</pubDate></item>\
     <item><title>Third story</title><link>http://news.example/a/3.html</link>\
     <guid>a3</guid><pubDate>Sat, 04 May 2024 08:00:00 +0800</pubDate></item>\
     </channel></rss>\n"
        .to_string()
}

#[tokio::test]
async fn source_page_draws_polls_items_arrivals_and_redacted_settings() {
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(), "application/rss+xml");
    let cfg = format!(
        r#"
[sources.news]
url = "{}?apikey={QUERY_KEY}&lang=zh"
interval = "1s"
headers = {{ "X-Api-Key" = "{HEADER_SECRET}" }}
username = "{USERNAME}"
password = "{PASSWORD}"
cookie = "sid={COOKIE}"

[channels.public]
title = "公开频道"
sources = ["news"]

[channels.hidden]
title = "Hidden channel"
sources = ["news"]
token = "{CHANNEL_TOKEN}"
"#,
        origin.url("/feed.rss")
    );
    let app = spawn_app(&cfg).await;
    let within = Duration::from_secs(20);
    // A poll that works, one that fails, and one that works again.
    app.wait_sources(within, "a first poll", |s| {
        s[0]["status"] == "ok" && s[0]["items"] == 3
    })
    .await;
    origin.set(
        "/feed.rss",
        Behavior::Status {
            status: 500,
            headers: vec![],
            body: "oops".into(),
        },
    );
    app.wait_sources(within, "a failed poll", |s| s[0]["status"] == "error")
        .await;
    origin.put("/feed.rss", rss(), "application/rss+xml");
    app.wait_sources(within, "a poll that works again", |s| {
        s[0]["status"] == "ok"
    })
    .await;

    // One mark per poll: every poll is one request to the origin. Polls go on every second, so
    // the page is read until no poll ran while it was read and the counts agree.
    let deadline = Instant::now() + within;
    let page = loop {
        let before = origin.hits("/feed.rss");
        let page = app.text("/sources/news").await;
        let after = origin.hits("/feed.rss");
        let marks = page.matches("<g class=\"poll ").count();
        assert!(marks <= after, "more marks ({marks}) than polls ({after})");
        if before == after && marks == after {
            break page;
        }
        assert!(
            Instant::now() < deadline,
            "marks {marks}, polls {before}..{after}: {page}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(page.contains("<svg class=\"chart\""), "{page}");
    assert!(
        page.matches("<g class=\"poll failed\">").count() >= 1,
        "the failure is marked: {page}"
    );
    assert!(page.contains("class=\"mark\""), "{page}");
    assert!(
        page.contains("the server answered HTTP 500"),
        "the error in words: {page}"
    );

    // The newest items, with their links, newest first.
    let first = page.find("西安地铁新线开通").expect("the Chinese title");
    let third = page.find("Third story").expect("the third title");
    assert!(first < third, "newest first");
    for n in 1..=3 {
        assert!(
            page.contains(&format!("href=\"http://news.example/a/{n}.html\"")),
            "link {n}: {page}"
        );
    }

    // Arrivals per day: all three were first seen today (UTC), or yesterday if the test
    // straddled midnight.
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    assert!(
        page.contains(&format!("{today}: 3 new items"))
            || page.contains(&format!("{yesterday}: 3 new items")),
        "arrivals of today: {page}"
    );
    assert_eq!(page.matches("<g class=\"day\">").count(), 30);

    // Settings: every secret replaced, and no secret anywhere in the HTML.
    assert!(page.contains("headers.X-Api-Key"), "{page}");
    assert!(page.contains("apikey=REDACTED"), "{page}");
    assert!(page.contains("lang=zh"), "harmless query values stay");
    assert!(page.contains("公开频道"), "its public channel is named");
    let index = app.text("/").await;
    for secret in [
        HEADER_SECRET,
        PASSWORD,
        USERNAME,
        COOKIE,
        QUERY_KEY,
        CHANNEL_TOKEN,
    ] {
        assert!(
            !page.contains(secret),
            "{secret} on the source page: {page}"
        );
        assert!(!index.contains(secret), "{secret} on the index page");
    }
    assert!(
        !page.contains("Hidden channel"),
        "private channels are not named"
    );

    // Linked from the index page's source table; unknown ids are 404; HEAD works.
    assert!(index.contains("href=\"/sources/news\""), "{index}");
    assert_eq!(app.status("/sources/nope").await, 404);
    assert_eq!(app.status("/sources/").await, 404);
    let head = crate::support::client()
        .head(app.url("/sources/news"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    app.stop().await;
}

/// The poll history is kept by the store: a restart keeps it; a reload that removes the source
/// forgets it, so the source added again starts afresh.
#[tokio::test]
async fn poll_history_survives_a_restart_and_goes_with_its_source() {
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(), "application/rss+xml");
    let one = format!(
        "[sources.news]\nurl = \"{}\"\ninterval = \"1s\"\n",
        origin.url("/feed.rss")
    );
    let other = format!(
        "[sources.other]\nurl = \"{}\"\ninterval = \"1h\"\n",
        origin.url("/feed.rss")
    );
    let marks = |page: &str| page.matches("<g class=\"poll ").count();
    let app = spawn_app_admin(&format!("{one}{other}")).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while marks(&app.text("/sources/news").await) < 3 {
        assert!(Instant::now() < deadline, "three polls of news");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let app = app.restart().await;
    let after_restart = marks(&app.text("/sources/news").await);
    assert!(after_restart >= 3, "{after_restart} polls after a restart");

    // Removed by a reload, then added again: no polls but the new ones.
    let cfg_path = app.dir.path().join("config.toml");
    let text = std::fs::read_to_string(&cfg_path).unwrap();
    std::fs::write(&cfg_path, text.replace(&one, "")).unwrap();
    assert_eq!(app.admin_reload("adm").await.status(), 200);
    assert_eq!(app.status("/sources/news").await, 404);
    std::fs::write(&cfg_path, &text).unwrap();
    assert_eq!(app.admin_reload("adm").await.status(), 200);
    let again = marks(&app.text("/sources/news").await);
    assert!(
        again < after_restart,
        "{again} polls shown after it was removed and added again (had {after_restart})"
    );
}
