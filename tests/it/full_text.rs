//! Full text for summary feeds (`full_text = true`) from the outside: a local origin serves a
//! summary-only RSS feed whose items link to real article pages on the same origin (third-party
//! pages from `tests/fixtures/pages/` and `tests/fixtures/people-sn/`, license notes beside
//! them); the served channels carry the pages' article text under the feed's titles, dates and
//! links, and the origin's request log shows each page fetched once.

use std::time::Duration;

use serde_json::Value;

use crate::support::{fixture, spawn_app, Behavior, Origin, TestApp};

const QUANTA: &str = "pages/mozilla-readability/quanta-1/source.html";
const QUANTA_TEXT: &str = "A little over half a century ago, chaos started spilling out";
const OPERA: &str =
    "pages/chinese-web-content-extraction-dataset/original/f51248cc-bb27-49ba-a159-975795c3ea11.html";
const OPERA_TEXT: &str = "记者从上海昆剧团获悉";
const PEOPLE: &str = "people-sn/n2/2022/0213/c360307-35131671.html";

/// One item of the test feed: title, path of its page on the origin, RFC 2822 date, teaser.
struct Item(&'static str, &'static str, &'static str, &'static str);

const CHAOS: Item = Item(
    "Feed title: the hidden heroines of chaos",
    "/articles/chaos",
    "Mon, 20 May 2019 14:00:00 GMT",
    "Two women programmed the computer that found chaos.",
);
const OPERA_ITEM: Item = Item(
    "Feed title: a director of Kunqu opera dies",
    "/articles/opera",
    "Sun, 13 Feb 2022 15:37:00 GMT",
    "Shen Bin, 74, directed for the Shanghai Kunqu Opera Troupe.",
);
const SCHOOLS: Item = Item(
    "Feed title: Jiangsu schools ask students to wait",
    "/articles/schools",
    "Sun, 13 Feb 2022 00:00:00 GMT",
    "Students from medium- and high-risk areas should not return yet.",
);

/// A summary-only RSS 2.0 feed of `items` on `origin`; `build` changes the bytes, not the items.
fn rss(origin: &Origin, items: &[&Item], build: &str) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Summaries</title>\
         <link>{}</link><description>teasers only</description><lastBuildDate>{build}</lastBuildDate>\n",
        origin.url("/")
    );
    for Item(title, path, date, teaser) in items {
        out += &format!(
            "<item><title>{title}</title><link>{}</link><guid>{}</guid><pubDate>{date}</pubDate>\
             <description>{teaser}</description></item>\n",
            origin.url(path),
            origin.url(path)
        );
    }
    out + "</channel></rss>\n"
}

fn put_page(origin: &Origin, path: &str, rel: &str, charset: &str) {
    origin.put_fixture(path, rel, &format!("text/html; charset={charset}"));
}

fn config(origin: &Origin, extra: &str) -> String {
    format!(
        r#"
[sources.news]
url = "{feed}"
interval = "1s"
full_text = true
{extra}
[channels.news]
title = "News in full"
sources = ["news"]
"#,
        feed = origin.url("/feed.xml")
    )
}

async fn json_items(app: &TestApp, channel: &str) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&app.text(&format!("/feeds/{channel}.json")).await).unwrap();
    v["items"].as_array().unwrap().clone()
}

/// The served JSON Feed item whose URL is `path` on the origin.
fn item<'a>(items: &'a [Value], origin: &Origin, path: &str) -> &'a Value {
    let url = origin.url(path);
    items
        .iter()
        .find(|i| i["url"] == url.as_str())
        .unwrap_or_else(|| panic!("no item {url} in {items:#?}"))
}

fn content(item: &Value) -> &str {
    item["content_html"].as_str().unwrap_or("")
}

/// Wait until the channel's JSON Feed satisfies `pred`.
async fn wait_items(app: &TestApp, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let items = json_items(app, "news").await;
        if pred(&items) {
            return items;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}: {items:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the origin has answered `n` more requests for `path` (polls of the feed).
async fn wait_hits(origin: &Origin, path: &str, n: usize) {
    let want = origin.hits(path) + n;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while origin.hits(path) < want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} was not polled {n} more times"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_summary_feed_is_served_with_its_article_pages_each_fetched_once() {
    let origin = Origin::start().await;
    put_page(&origin, CHAOS.1, QUANTA, "utf-8");
    put_page(&origin, OPERA_ITEM.1, OPERA, "utf-8");
    put_page(&origin, SCHOOLS.1, PEOPLE, "GB2312");
    origin.put(
        "/feed.xml",
        rss(&origin, &[&OPERA_ITEM, &CHAOS], "1"),
        "application/rss+xml",
    );
    let app = spawn_app(&config(&origin, "")).await;

    let items = wait_items(&app, "two items", |i| i.len() == 2).await;
    let chaos = item(&items, &origin, CHAOS.1);
    assert_eq!(chaos["title"], CHAOS.0, "the feed's title, not the page's");
    assert_eq!(chaos["date_published"], "2019-05-20T14:00:00+00:00");
    assert!(content(chaos).contains(QUANTA_TEXT), "{chaos:#}");
    assert!(
        content(chaos).contains("Ellen Fetter"),
        "the whole article, not its first paragraph"
    );
    assert_eq!(
        chaos["summary"], CHAOS.3,
        "the feed's teaser stays as the summary"
    );
    let opera = item(&items, &origin, OPERA_ITEM.1);
    assert_eq!(opera["title"], OPERA_ITEM.0);
    assert!(content(opera).contains(OPERA_TEXT), "{opera:#}");

    // Atom, read by an independent parser: the same bodies under the feed's titles and links.
    let atom = app.feed("/feeds/news.atom").await;
    let entry = atom
        .entries
        .iter()
        .find(|e| e.links.iter().any(|l| l.href == origin.url(CHAOS.1)))
        .expect("the chaos entry");
    assert_eq!(entry.title.as_ref().unwrap().content, CHAOS.0);
    let body = &entry.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(body.contains(QUANTA_TEXT), "{body}");

    // Unchanged feed (304s): no page is asked again.
    wait_hits(&origin, "/feed.xml", 3).await;
    // The feed gains an item: only its page is fetched.
    origin.put(
        "/feed.xml",
        rss(&origin, &[&SCHOOLS, &OPERA_ITEM, &CHAOS], "2"),
        "application/rss+xml",
    );
    let items = wait_items(&app, "three items", |i| i.len() == 3).await;
    let schools = item(&items, &origin, SCHOOLS.1);
    assert_eq!(schools["title"], SCHOOLS.0);
    assert!(
        content(schools).contains("江苏多地日前发布通知"),
        "{schools:#}"
    );
    // New bytes, the same items: read again, carried forward, nothing fetched.
    origin.put(
        "/feed.xml",
        rss(&origin, &[&SCHOOLS, &OPERA_ITEM, &CHAOS], "3"),
        "application/rss+xml",
    );
    wait_hits(&origin, "/feed.xml", 3).await;
    for path in [CHAOS.1, OPERA_ITEM.1, SCHOOLS.1] {
        assert_eq!(origin.hits(path), 1, "{path} fetched once");
    }
    let items = json_items(&app, "news").await;
    assert_eq!(items.len(), 3);
    assert!(content(item(&items, &origin, CHAOS.1)).contains(QUANTA_TEXT));
    assert!(content(item(&items, &origin, OPERA_ITEM.1)).contains(OPERA_TEXT));
    let sources = app.sources().await;
    assert_eq!(sources[0]["status"], "ok", "{sources:#?}");
    app.stop().await;
}

#[tokio::test]
async fn a_failed_page_keeps_the_summary_and_is_read_at_a_later_poll() {
    let origin = Origin::start().await;
    put_page(&origin, CHAOS.1, QUANTA, "utf-8");
    let broken = Behavior::Status {
        status: 500,
        headers: vec![],
        body: "try later".into(),
    };
    origin.set(OPERA_ITEM.1, broken);
    origin.put(
        "/feed.xml",
        rss(&origin, &[&OPERA_ITEM, &CHAOS], "1"),
        "application/rss+xml",
    );
    let app = spawn_app(&config(&origin, "")).await;

    let items = wait_items(&app, "two items", |i| i.len() == 2).await;
    assert!(content(item(&items, &origin, CHAOS.1)).contains(QUANTA_TEXT));
    let opera = item(&items, &origin, OPERA_ITEM.1);
    assert_eq!(opera["title"], OPERA_ITEM.0);
    assert!(
        content(opera).contains(OPERA_ITEM.3),
        "the summary: {opera:#}"
    );
    assert!(
        opera.get("summary").is_none(),
        "no page text, no separate summary"
    );

    // The failing page is asked again at each poll (the feed's validators were not kept, so
    // the feed answers 200, not 304); the page that worked is not.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while origin.hits(OPERA_ITEM.1) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no retry");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(origin.not_modified("/feed.xml"), 0);
    put_page(&origin, OPERA_ITEM.1, OPERA, "utf-8");
    let items = wait_items(&app, "the opera page read", |i| {
        i.len() == 2 && content(item(i, &origin, OPERA_ITEM.1)).contains(OPERA_TEXT)
    })
    .await;
    assert_eq!(item(&items, &origin, OPERA_ITEM.1)["summary"], OPERA_ITEM.3);

    // Everything stored: the feed's validators are kept and it answers 304 from now on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while origin.not_modified("/feed.xml") < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no 304 after the page was read"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let opera_hits = origin.hits(OPERA_ITEM.1);
    wait_hits(&origin, "/feed.xml", 2).await;
    assert_eq!(
        origin.hits(OPERA_ITEM.1),
        opera_hits,
        "read once, never again"
    );
    assert_eq!(origin.hits(CHAOS.1), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_source_without_full_text_fetches_no_page() {
    let origin = Origin::start().await;
    put_page(&origin, CHAOS.1, QUANTA, "utf-8");
    put_page(&origin, OPERA_ITEM.1, OPERA, "utf-8");
    origin.put(
        "/feed.xml",
        rss(&origin, &[&OPERA_ITEM, &CHAOS], "1"),
        "application/rss+xml",
    );
    let cfg = config(&origin, "").replace("full_text = true", "");
    let app = spawn_app(&cfg).await;
    let items = wait_items(&app, "two items", |i| i.len() == 2).await;
    assert!(content(item(&items, &origin, CHAOS.1)).contains(CHAOS.3));
    // New bytes, so the feed is read again, not answered with a 304.
    origin.put(
        "/feed.xml",
        rss(&origin, &[&OPERA_ITEM, &CHAOS], "2"),
        "application/rss+xml",
    );
    wait_hits(&origin, "/feed.xml", 2).await;
    assert_eq!(origin.hits(CHAOS.1) + origin.hits(OPERA_ITEM.1), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_sources_selectors_read_the_pages() {
    let origin = Origin::start().await;
    put_page(&origin, SCHOOLS.1, PEOPLE, "GB2312");
    origin.put(
        "/feed.xml",
        rss(&origin, &[&SCHOOLS], "1"),
        "application/rss+xml",
    );
    let selectors = "[sources.news.html]\ncontent = \".rm_txt_con\"\n";
    let app = spawn_app(&config(&origin, selectors)).await;
    let items = wait_items(&app, "one item", |i| i.len() == 1).await;
    let schools = &items[0];
    assert_eq!(schools["title"], SCHOOLS.0);
    let html = content(schools);
    assert!(html.contains("江苏多地日前发布通知"), "{html}");
    assert!(html.contains("连云港发布重要提醒"), "{html}");
    for furniture in ["分享让更多人看到", "返回顶部", "客户端下载"] {
        assert!(!html.contains(furniture), "{furniture} in {html}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_long_feed_is_read_a_bounded_number_of_pages_per_poll() {
    let origin = Origin::start().await;
    let page = fixture(QUANTA);
    let mut feed = String::from(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>Long</title>\
         <link>http://example.com/</link><description>d</description>\n",
    );
    for n in 0..25 {
        origin.put(&format!("/p/{n}"), page.clone(), "text/html; charset=utf-8");
        feed += &format!(
            "<item><title>Part {n}</title><link>{}</link><description>teaser {n}</description></item>\n",
            origin.url(&format!("/p/{n}"))
        );
    }
    origin.put(
        "/feed.xml",
        feed + "</channel></rss>\n",
        "application/rss+xml",
    );
    let app = spawn_app(&config(&origin, "")).await;
    let items = wait_items(&app, "25 items", |i| i.len() == 25).await;
    assert!(items.iter().all(|i| content(i).contains(QUANTA_TEXT)));
    // The request log: the first poll read 20 pages, the next one the other 5, and every
    // page was asked once.
    let log: Vec<String> = origin.requests().into_iter().map(|r| r.path).collect();
    let polls: Vec<usize> = (0..log.len()).filter(|&i| log[i] == "/feed.xml").collect();
    assert!(polls.len() >= 2, "{log:?}");
    assert_eq!(polls[1] - polls[0] - 1, 20, "{log:?}");
    for n in 0..25 {
        assert_eq!(origin.hits(&format!("/p/{n}")), 1, "/p/{n}");
    }
    app.stop().await;
}

#[test]
fn full_text_settings_that_mean_nothing_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[sources.a]\nurl = \"a.html\"\nkind = \"html\"\nfull_text = true\n\
         [sources.b]\nurl = \"b.xml\"\nfull_text = true\n[sources.b.html]\nitems = \"li a\"\ncontent = \"article\"\n\
         [sources.c]\nurl = \"c.xml\"\n[sources.c.html]\ncontent = \"article\"\n\
         [sources.d]\nurl = \"d.xml\"\nfull_text = true\n[sources.d.html]\ncontent = \"article\"\n\
         [channels.x]\nsources = [\"a\", \"b\", \"c\", \"d\"]\n",
    )
    .unwrap();
    let run = |cfg: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_feedloom"))
            .args(["--config", cfg.to_str().unwrap(), "check"])
            .env("FEEDLOOM_LOG", "warn")
            .output()
            .unwrap()
    };
    let o = run(&cfg);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    let path = cfg.display();
    assert!(
        out.contains(&format!("{path}:4:13: full_text reads")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{path}:9:9: html.items makes")),
        "{out}"
    );
    assert!(out.contains("[sources.c.html] needs items"), "{out}");
    assert_eq!(
        out.matches(&path.to_string()).count(),
        3,
        "d is valid: {out}"
    );

    // Alone, the valid one passes.
    std::fs::write(
        &cfg,
        "[sources.d]\nurl = \"d.xml\"\nfull_text = true\n[sources.d.html]\ncontent = \"article\"\n\
         [channels.x]\nsources = [\"d\"]\n",
    )
    .unwrap();
    let o = run(&cfg);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}
