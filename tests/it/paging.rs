//! Paged feeds and catch-up from outside: walking `next` from a channel's newest page meets
//! every stored item once (in Atom and JSON Feed, while new items arrive), `?after=` gives
//! exactly the items that arrived after a cursor, across pages, and bad or expired cursors are
//! refused with a reason.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::{client, get_json, spawn_app, Origin, TestApp};

/// An RSS document with these (title, hours after 2024-01-01) items, in this order.
fn rss(items: &[(String, i64)]) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00+00:00").unwrap();
    let items: String = items
        .iter()
        .map(|(t, h)| {
            format!(
                "<item><title>{t}</title><link>http://news.example/{t}</link><guid>{t}</guid>\
                 <pubDate>{}</pubDate></item>",
                (base + chrono::Duration::hours(*h)).to_rfc2822()
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
         <link>http://news.example/</link><description>d</description>{items}</channel></rss>"
    )
}

fn titled(prefix: &str, hours: impl Iterator<Item = i64>) -> Vec<(String, i64)> {
    hours
        .enumerate()
        .map(|(i, h)| (format!("{prefix}{i}"), h))
        .collect()
}

/// Every item of every page from `url` on, following JSON Feed `next_url`: (title, cursor).
async fn walk_json(url: String) -> (Vec<(String, String)>, usize) {
    let mut out = Vec::new();
    let mut next = Some(url);
    let mut pages = 0;
    while let Some(url) = next {
        let v = get_json(&url).await;
        pages += 1;
        assert!(pages < 100, "too many pages from {url}");
        for it in v["items"].as_array().unwrap() {
            out.push((
                it["title"].as_str().unwrap().to_string(),
                it["_feedloom"]["cursor"].as_str().unwrap().to_string(),
            ));
        }
        next = v["next_url"].as_str().map(str::to_string);
    }
    (out, pages)
}

/// Every entry title from an Atom page on, following `<link rel="next">`.
async fn walk_atom(app: &TestApp, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = Some(app.url(path));
    let mut pages = 0;
    while let Some(url) = next {
        let body = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let feed =
            feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
        pages += 1;
        assert!(pages < 100);
        out.extend(
            feed.entries
                .iter()
                .map(|e| e.title.as_ref().unwrap().content.clone()),
        );
        next = feed
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("next"))
            .map(|l| l.href.clone());
    }
    out
}

fn once_each(titles: &[String]) -> HashMap<&str, usize> {
    let mut n = HashMap::new();
    for t in titles {
        *n.entry(t.as_str()).or_default() += 1;
    }
    n
}

async fn wait_items(app: &TestApp, path: &str, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = get_json(app.url(path)).await;
        if v["items"].as_array().unwrap().len() >= n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path}: fewer than {n} items: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn next_walks_every_item_once_and_after_catches_up_exactly() {
    let origin = Origin::start().await;
    // Source a first; b's items arrive later, so the arrival order is a's then b's, each in
    // document order. Dates interleave the two sources in the feed's order.
    let a = titled("a", (0..20).map(|i| 2 * i));
    let b = titled("b", (0..15).map(|i| 2 * i + 1));
    origin.put("/a.rss", rss(&a), "application/rss+xml");
    origin.put("/b.rss", rss(&[]), "application/rss+xml");
    let app = spawn_app(&format!(
        "[sources.a]\nurl = \"{}\"\ninterval = \"1s\"\n\
         [sources.b]\nurl = \"{}\"\ninterval = \"1s\"\n\
         [channels.c]\ntitle = \"C\"\nsources = [\"a\", \"b\"]\nlimit = 10\n",
        origin.url("/a.rss"),
        origin.url("/b.rss")
    ))
    .await;
    wait_items(&app, "/feeds/c.json?limit=1000", 20).await;
    origin.put("/b.rss", rss(&b), "application/rss+xml");
    wait_items(&app, "/feeds/c.json?limit=1000", 35).await;

    // The newest page is the cached feed, with 10 items and a next link.
    let first = get_json(app.url("/feeds/c.json")).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 10);
    let next = first["next_url"]
        .as_str()
        .expect("a full page links to the next")
        .to_string();
    assert!(
        next.starts_with(&app.url("/feeds/c.json?before="))
            || next.contains("/feeds/c.json?before="),
        "{next}"
    );

    // New items arrive during a walk: two newer than everything, one back-dated into the
    // middle of what the walk has left. The walk still meets every original item once.
    let (page1, _) = (first["items"].as_array().unwrap().clone(), ());
    let mut a2 = a.clone();
    a2.push(("new0".into(), 100));
    a2.push(("new1".into(), 101));
    a2.push(("old".into(), 3));
    origin.put("/a.rss", rss(&a2), "application/rss+xml");
    wait_items(&app, "/feeds/c.json?limit=1000", 38).await;
    let (rest, pages) = walk_json(next).await;
    let mut walked: Vec<String> = page1
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect();
    walked.extend(rest.iter().map(|(t, _)| t.clone()));
    let counts = once_each(&walked);
    for (t, _) in a.iter().chain(&b) {
        assert_eq!(
            counts.get(t.as_str()),
            Some(&1),
            "{t} in the walk {walked:?}"
        );
    }
    assert!(counts.values().all(|&n| n == 1), "{walked:?}");
    assert!(
        !counts.contains_key("new0") && !counts.contains_key("new1"),
        "{walked:?}"
    );
    assert!(
        counts.contains_key("old"),
        "the back-dated item is behind the cursor: {walked:?}"
    );
    assert!(pages >= 3, "{pages} pages");

    // The same from the top in Atom: all 38 once, newest first.
    let atom = walk_atom(&app, "/feeds/c.atom").await;
    assert_eq!(atom.len(), 38, "{atom:?}");
    assert!(once_each(&atom).values().all(|&n| n == 1));
    assert_eq!(&atom[..2], &["new1".to_string(), "new0".to_string()]);

    // Catch-up: after a5 (arrival order a0..a19, b0..b14, then new0, new1, old), pages of 4.
    let (all, _) = walk_json(app.url("/feeds/c.json?limit=1000")).await;
    let cursor_of = |t: &str| all.iter().find(|(x, _)| x == t).unwrap().1.clone();
    let (after, pages) =
        walk_json(app.url(&format!("/feeds/c.json?limit=4&after={}", cursor_of("a5")))).await;
    let got: Vec<&str> = after.iter().map(|(t, _)| t.as_str()).collect();
    let mut want: Vec<String> = (6..20).map(|i| format!("a{i}")).collect();
    want.extend((0..15).map(|i| format!("b{i}")));
    want.extend(["new0".to_string(), "new1".to_string(), "old".to_string()]);
    assert_eq!(got, want, "items after a5 in arrival order");
    assert_eq!(
        pages,
        want.len().div_ceil(4) + usize::from(want.len() % 4 == 0)
    );

    // A reader who kept the last cursor gets exactly what arrives next, and then nothing.
    let last = after.last().unwrap().1.clone();
    let (none, _) = walk_json(app.url(&format!("/feeds/c.json?after={last}"))).await;
    assert!(none.is_empty(), "{none:?}");
    let mut b2 = b.clone();
    b2.push(("late".into(), 50));
    origin.put("/b.rss", rss(&b2), "application/rss+xml");
    wait_items(&app, "/feeds/c.json?limit=1000", 39).await;
    let (late, _) =
        walk_json(app.url(&format!("/feeds/c.atom?after={last}").replace(".atom", ".json"))).await;
    assert_eq!(
        late.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["late"]
    );

    // Atom pages of a catch-up carry the same items.
    let atom_after = walk_atom(
        &app,
        &format!("/feeds/c.atom?limit=4&after={}", cursor_of("b12")),
    )
    .await;
    assert_eq!(atom_after, ["b13", "b14", "new0", "new1", "old", "late"]);

    // Bad cursors: 400 with a reason.
    for q in ["before=xyz", "after=1abc", "before=a&after=b"] {
        let r = client()
            .get(app.url(&format!("/feeds/c.json?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let why = r.text().await.unwrap();
        assert!(
            why.contains("cursor") || why.contains("either"),
            "{q}: {why}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_cursor_behind_items_removed_by_retention_has_expired() {
    let origin = Origin::start().await;
    let first = titled("x", 0..5);
    origin.put("/x.rss", rss(&first), "application/rss+xml");
    let app = spawn_app(&format!(
        "[sources.x]\nurl = \"{}\"\ninterval = \"1s\"\nmax_items = 5\n\
         [channels.c]\ntitle = \"C\"\nsources = [\"x\"]\nlimit = 10\n",
        origin.url("/x.rss")
    ))
    .await;
    wait_items(&app, "/feeds/c.json", 5).await;
    let (all, _) = walk_json(app.url("/feeds/c.json")).await;
    let cursor = |t: &str| all.iter().find(|(x, _)| x == t).unwrap().1.clone();
    let (early, late) = (cursor("x0"), cursor("x4"));
    // Five newer items push all five out.
    origin.put("/x.rss", rss(&titled("y", 10..15)), "application/rss+xml");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (now, _) = walk_json(app.url("/feeds/c.json")).await;
        if now.iter().all(|(t, _)| t.starts_with('y')) && now.len() == 5 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{now:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // x1..x4 arrived after x0 and are gone: a reader at x0 may have missed them.
    let r = client()
        .get(app.url(&format!("/feeds/c.json?after={early}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("expired"));
    // A reader at x4 saw everything that was removed: it is given the five new ones.
    let (rest, _) = walk_json(app.url(&format!("/feeds/c.json?after={late}"))).await;
    let got: Vec<&str> = rest.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(got, ["y0", "y1", "y2", "y3", "y4"]);
    app.stop().await;
}
