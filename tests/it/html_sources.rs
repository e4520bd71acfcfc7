//! HTML sources end to end: the people.com.cn channel page and its articles served by a local
//! origin (GBK bytes labelled GB2312), crawled by the daemon with selectors and with only
//! `items`, and the spam mirror's copy in both scripts. Expected values come from
//! `tests/fixtures/people-sn/expected.json`.

use std::time::Duration;

use serde_json::Value;

use crate::support::{fixture, spawn_app, Origin};

fn expected() -> Value {
    serde_json::from_slice(&fixture("people-sn/expected.json")).unwrap()
}

async fn people_origin() -> Origin {
    let o = Origin::start().await;
    // The site labels its GBK pages GB2312, in the header and in the meta tag.
    for p in [
        "GB/226647/index.html",
        "n2/2021/1229/c226647-35071234.html",
        "n2/2022/0213/c360307-35131671.html",
    ] {
        o.put_fixture(
            &format!("/{p}"),
            &format!("people-sn/{p}"),
            "text/html; charset=GB2312",
        );
    }
    o.put_fixture(
        "/mirror/c226647-35071234.html",
        "people-sn/mirror/c226647-35071234.html",
        "text/html; charset=utf-8",
    );
    o
}

fn config(origin: &Origin) -> String {
    format!(
        r#"
[sources.people-sel]
url = "{list}"
interval = "1h"
timezone = "Asia/Shanghai"
[sources.people-sel.html]
items = "div.p2j_list li a"
title = "h1"
content = ".rm_txt_con"
date = ".col-1-1"

[sources.people-auto]
url = "{list}"
interval = "1h"
timezone = "Asia/Shanghai"
[sources.people-auto.html]
items = "div.p2j_list li a"

[sources.mirror]
url = "{mirror}"
kind = "html"
interval = "1h"
timezone = "Asia/Shanghai"

[channels.sel]
title = "selectors"
sources = ["people-sel"]
[channels.auto]
title = "automatic"
sources = ["people-auto"]
[channels.mirror-s]
title = "mirror simplified"
sources = ["mirror"]
script = "simplified"
[channels.mirror-t]
title = "mirror kept"
sources = ["mirror"]
script = "keep"
"#,
        list = origin.url("/GB/226647/index.html"),
        mirror = origin.url("/mirror/c226647-35071234.html"),
    )
}

async fn json_feed(app: &crate::support::TestApp, channel: &str) -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&app.text(&format!("/feeds/{channel}.json")).await).unwrap();
    v["items"].as_array().unwrap().clone()
}

fn paragraphs(html: &str) -> Vec<String> {
    let frag = scraper::Html::parse_fragment(html);
    let sel = scraper::Selector::parse("p").unwrap();
    frag.select(&sel)
        .map(|p| p.text().collect::<String>().trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

fn check_article(item: &Value, exp: &Value, what: &str) {
    assert_eq!(item["title"], exp["title"], "{what}: title");
    assert_eq!(
        item["date_published"], exp["published"],
        "{what}: published"
    );
    assert_eq!(item["_feedloom"]["source"], exp["source"], "{what}: source");
    assert_eq!(
        item["_feedloom"]["editors"], exp["editors"],
        "{what}: editors"
    );
    let html = item["content_html"].as_str().unwrap();
    let text = item["content_text"].as_str().unwrap();
    for bad in exp["body_must_not_contain"].as_array().unwrap() {
        let bad = bad.as_str().unwrap();
        assert!(
            !html.contains(bad),
            "{what}: body contains {bad:?}:\n{html}"
        );
        assert!(!text.contains(bad), "{what}: text contains {bad:?}");
    }
    let ps = paragraphs(html);
    let first = exp["first_paragraph_starts"].as_str().unwrap();
    assert!(
        ps[0].starts_with(first),
        "{what}: first paragraph {:?}",
        ps[0]
    );
    if let Some(n) = exp["paragraphs"].as_u64() {
        assert_eq!(ps.len() as u64, n, "{what}: paragraphs {ps:#?}");
    }
    if let Some(last) = exp["last_paragraph"].as_str() {
        assert_eq!(ps.last().unwrap(), last, "{what}: last paragraph");
    }
    if let Some(last) = exp["last_paragraph_contains"].as_str() {
        assert!(
            ps.iter().rev().take(2).any(|p| p.contains(last)),
            "{what}: last paragraphs {ps:#?}"
        );
    }
}

#[tokio::test]
async fn people_channel_with_selectors_and_with_only_items() {
    let origin = people_origin().await;
    let app = spawn_app(&config(&origin)).await;
    app.wait_sources(Duration::from_secs(20), "html sources polled", |s| {
        s.iter().all(|x| x["status"] == "ok")
    })
    .await;
    let exp = expected();
    for channel in ["sel", "auto"] {
        let items = json_feed(&app, channel).await;
        assert_eq!(
            items.len(),
            2,
            "{channel}: exactly the two distinct articles"
        );
        for (path, e) in [
            (
                "n2/2021/1229/c226647-35071234.html",
                &exp["n2/2021/1229/c226647-35071234.html"],
            ),
            (
                "n2/2022/0213/c360307-35131671.html",
                &exp["n2/2022/0213/c360307-35131671.html"],
            ),
        ] {
            let item = items
                .iter()
                .find(|i| i["url"].as_str().unwrap().ends_with(path))
                .unwrap_or_else(|| panic!("{channel}: no item for {path}"));
            check_article(item, e, &format!("{channel} {path}"));
            assert_eq!(item["_feedloom"]["site"], "人民网", "{channel}: site");
        }
    }
    // Each article page was fetched once per source, not again on later polls.
    assert_eq!(origin.hits("/n2/2021/1229/c226647-35071234.html"), 2);
    app.stop().await;
}

#[tokio::test]
async fn mirror_copy_comes_out_clean_in_both_scripts() {
    let origin = people_origin().await;
    let app = spawn_app(&config(&origin)).await;
    app.wait_sources(Duration::from_secs(20), "mirror polled", |s| {
        s.iter().find(|x| x["id"] == "mirror").unwrap()["status"] == "ok"
    })
    .await;
    let exp = &expected()["mirror/c226647-35071234.html"];
    let simplified = json_feed(&app, "mirror-s").await;
    assert_eq!(simplified.len(), 1);
    let item = &simplified[0];
    let want = &exp["with_script_simplified"];
    assert_eq!(item["title"], want["title"]);
    assert_eq!(item["date_published"], exp["published"]);
    assert_eq!(item["_feedloom"]["editors"], exp["editors_simplified"]);
    assert_eq!(item["_feedloom"]["source"], "陕西日报");
    let html = item["content_html"].as_str().unwrap();
    for bad in exp["body_must_not_contain"].as_array().unwrap() {
        let bad = bad.as_str().unwrap();
        assert!(!html.contains(bad), "body contains {bad:?}:\n{html}");
    }
    let ps = paragraphs(html);
    assert_eq!(
        ps.len() as u64,
        want["paragraphs"].as_u64().unwrap(),
        "{ps:#?}"
    );
    assert!(ps[0].starts_with(want["first_paragraph_starts"].as_str().unwrap()));
    assert_eq!(ps.last().unwrap(), want["last_paragraph"].as_str().unwrap());

    let kept = json_feed(&app, "mirror-t").await;
    assert_eq!(kept[0]["title"], exp["with_script_keep"]["title"]);
    let kept_html = kept[0]["content_html"].as_str().unwrap();
    assert!(!kept_html.contains("(wǎng)") && !kept_html.contains("(bào)"));
    app.stop().await;
}

#[tokio::test]
async fn a_failing_article_page_is_retried_and_does_not_fail_the_source() {
    let origin = people_origin().await;
    // The second article answers 500 at first.
    origin.set(
        "/n2/2022/0213/c360307-35131671.html",
        crate::support::Behavior::Status {
            status: 500,
            headers: vec![],
            body: "busy".into(),
        },
    );
    let cfg = format!(
        r#"
[sources.p]
url = "{list}"
interval = "1s"
timezone = "Asia/Shanghai"
[sources.p.html]
items = "div.p2j_list li a"
[channels.c]
title = "c"
sources = ["p"]
"#,
        list = origin.url("/GB/226647/index.html")
    );
    let app = spawn_app(&cfg).await;
    let s = app
        .wait_sources(Duration::from_secs(10), "first poll", |s| {
            s[0]["status"] == "ok"
        })
        .await;
    assert_eq!(s[0]["items"], 1, "the good article is stored");
    origin.put_fixture(
        "/n2/2022/0213/c360307-35131671.html",
        "people-sn/n2/2022/0213/c360307-35131671.html",
        "text/html; charset=GB2312",
    );
    app.wait_sources(Duration::from_secs(10), "retried", |s| s[0]["items"] == 2)
        .await;
    app.stop().await;
}
