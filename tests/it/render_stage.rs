//! Render stage: a fixed set of articles rendered in the three formats, re-parsed (feed-rs,
//! the `rss` crate's validator, serde_json) and checked field by field.
//!
//! To run the Python checker (feedparser `bozo == 0`, JSON Feed 1.1 schema) as part of this test,
//! point `FEEDLOOM_PYTHON` at an interpreter that has `feedparser` (and `jsonschema`):
//!
//! ```sh
//! python3 -m venv /tmp/fvenv && /tmp/fvenv/bin/pip install feedparser jsonschema rfc3339-validator rfc3987
//! FEEDLOOM_PYTHON=/tmp/fvenv/bin/python cargo test --test it render_stage
//! ```
//!
//! `FEEDLOOM_RENDER_OUT=DIR` also leaves the sample feeds in `DIR` for a look by hand.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use feedloom::model::{Article, Enclosure, Person};
use feedloom::serve::render::{render, FeedMeta, Format};
use serde_json::Value;

const PODCAST_URL: &str = "https://pod.example.org/episodes/1";
const NEWS_URL: &str = "http://sn.people.com.cn/n2/2021/1229/c226647-35079520.html";
const UNDATED_URL: &str = "https://blog.example.org/posts/undated";
const ESCAPE_URL: &str = "https://blog.example.org/posts/tom-and-jerry?a=1&b=2";
const ESCAPE_TITLE: &str = "Tom & Jerry <script> 1 < 2 ]]> done";
const ESCAPE_HTML: &str = "<p>A &amp; B &lt;i&gt;</p><p title=\"]]>\">x ]]> y</p>";

fn date(s: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn blank(id: &str, title: &str) -> Article {
    Article {
        id: id.to_owned(),
        source: "test".to_owned(),
        url: None,
        guid: None,
        title: title.to_owned(),
        content_html: None,
        content_text: String::new(),
        summary_html: None,
        published: None,
        updated: None,
        first_seen: Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap(),
        arrival: None,
        authors: Vec::new(),
        categories: Vec::new(),
        enclosures: Vec::new(),
        origin: None,
        editors: Vec::new(),
        site: None,
        full_text: Default::default(),
    }
}

fn sample_articles() -> Vec<Article> {
    let podcast = Article {
        url: Some(PODCAST_URL.to_owned()),
        guid: Some(PODCAST_URL.to_owned()),
        content_html: Some(
            "<p>Show notes with <a href=\"https://x.example/\">links</a>.</p>".into(),
        ),
        content_text: "Show notes with links.".into(),
        summary_html: Some("<p>Episode one &amp; more</p>".into()),
        published: Some(date("2024-03-05T09:30:00-05:00")),
        authors: vec![Person {
            name: "Jane Host".into(),
            email: Some("jane@pod.example.org".into()),
            uri: Some("https://pod.example.org/jane".into()),
        }],
        categories: vec!["Technology".into(), "Podcasts".into()],
        enclosures: vec![Enclosure {
            url: "https://cdn.pod.example.org/ep1.mp3".into(),
            mime_type: Some("audio/mpeg".into()),
            length: Some(12_345_678),
        }],
        ..blank("a1a1a1a1", "Episode 1: Origins")
    };
    let news = Article {
        url: Some(NEWS_URL.to_owned()),
        guid: Some("people-sn-35079520".to_owned()),
        content_html: Some("<p>12月28日，陕西省召开新闻发布会。</p>".into()),
        content_text: "12月28日，陕西省召开新闻发布会。".into(),
        published: Some(date("2021-12-29T08:35:00+08:00")),
        categories: vec!["陕西".into()],
        origin: Some("陕西日报".into()),
        editors: vec!["李志强".into(), "魏鑫".into()],
        site: Some("人民网".into()),
        ..blank("b2b2b2b2", "陕西：推进高质量发展")
    };
    let undated = Article {
        url: Some(UNDATED_URL.to_owned()),
        content_text: "No date on this one.".into(),
        ..blank("c3c3c3c3", "Undated post")
    };
    let escapes = Article {
        url: Some(ESCAPE_URL.to_owned()),
        content_html: Some(ESCAPE_HTML.into()),
        content_text: "A & B <i> x ]]> y \u{b}".into(),
        published: Some(date("2024-02-29T23:59:59+00:00")),
        updated: Some(date("2024-03-01T01:00:00+01:00")),
        authors: vec![Person::named("O'Brien & Sons")],
        categories: vec!["R&D".into()],
        ..blank("d4d4d4d4", ESCAPE_TITLE)
    };
    let no_url = Article {
        guid: Some("tag:example.org,2024:42".to_owned()),
        content_text: "An item that only has an id.".into(),
        published: Some(date("2024-01-15T10:00:00+05:30")),
        enclosures: vec![Enclosure {
            url: "https://files.example.org/report.pdf".into(),
            mime_type: None,
            length: None,
        }],
        ..blank("e5e5e5e5", "No link here")
    };
    vec![podcast, news, undated, escapes, no_url]
}

fn sample_meta(format: Format) -> FeedMeta {
    FeedMeta {
        id: "mixed".into(),
        title: "Mixed & <Matched> 频道".into(),
        description: Some("Everything the render stage must survive".into()),
        language: Some("zh-CN".into()),
        self_url: format!("http://127.0.0.1:8080/feeds/mixed.{}", format.extension()),
        home_url: "http://127.0.0.1:8080/channels/mixed".into(),
        icon: Some("http://127.0.0.1:8080/static/icon.png".into()),
        hub: Some("http://127.0.0.1:8080/websub".into()),
        updated: Utc.with_ymd_and_hms(2024, 3, 5, 14, 30, 0).unwrap(),
        // A paged feed's link to the page behind it (the `&` must be escaped in XML).
        next_url: Some(format!(
            "http://127.0.0.1:8080/feeds/mixed.{}?limit=2&before=1{}",
            format.extension(),
            "0".repeat(64)
        )),
    }
}

fn render_sample(format: Format) -> String {
    let bytes = render(&sample_meta(format), &sample_articles(), format);
    String::from_utf8(bytes).expect("rendered feeds are UTF-8")
}

fn parse(format: Format) -> feed_rs::model::Feed {
    let text = render_sample(format);
    feed_rs::parser::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("{format:?} does not parse: {e}\n{text}"))
}

fn title(e: &feed_rs::model::Entry) -> &str {
    e.title.as_ref().map(|t| t.content.as_str()).unwrap_or("")
}

fn names(people: &[feed_rs::model::Person]) -> Vec<&str> {
    people.iter().filter_map(|p| p.name.as_deref()).collect()
}

fn alternate(e: &feed_rs::model::Entry) -> Option<&str> {
    e.links
        .iter()
        .find(|l| {
            // JSON Feed attachments come back as rel-less links with a media type.
            l.rel.as_deref().is_none_or(|r| r == "alternate")
                && l.media_type.as_deref().is_none_or(|m| m == "text/html")
        })
        .map(|l| l.href.as_str())
}

#[test]
fn same_input_renders_same_bytes() {
    for format in Format::ALL {
        assert_eq!(render_sample(format), render_sample(format), "{format:?}");
    }
}

#[test]
fn all_formats_carry_titles_links_and_unique_ids() {
    let expected_titles = [
        "Episode 1: Origins",
        "陕西：推进高质量发展",
        "Undated post",
        ESCAPE_TITLE,
        "No link here",
    ];
    let expected_links = [
        Some(PODCAST_URL),
        Some(NEWS_URL),
        Some(UNDATED_URL),
        Some(ESCAPE_URL),
        None,
    ];
    for format in Format::ALL {
        let feed = parse(format);
        assert_eq!(
            feed.title.as_ref().unwrap().content,
            "Mixed & <Matched> 频道",
            "{format:?}"
        );
        let titles: Vec<&str> = feed.entries.iter().map(title).collect();
        assert_eq!(titles, expected_titles, "{format:?}");
        let links: Vec<Option<&str>> = feed.entries.iter().map(alternate).collect();
        assert_eq!(links, expected_links, "{format:?}");
        let mut ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 5, "{format:?} ids must be unique: {ids:?}");
    }
}

#[test]
fn rss_structure() {
    let text = render_sample(Format::Rss);
    // The rss crate's own reader and validator (RFC 822 dates, URLs, MIME types, …).
    let channel = rss::Channel::read_from(text.as_bytes()).unwrap();
    {
        use rss::validation::Validate;
        // RSS best practice (RSS Advisory Board) for an unknown size is `length="0"`, which
        // the crate's validator rejects; check that item with a nominal length instead.
        let mut checked = channel.clone();
        for item in checked.items_mut() {
            if let Some(enc) = item.enclosure.as_mut().filter(|e| e.length == "0") {
                enc.length = "1".to_owned();
            }
        }
        checked.validate().unwrap();
    }

    for ns in [
        r#"xmlns:atom="http://www.w3.org/2005/Atom""#,
        r#"xmlns:content="http://purl.org/rss/1.0/modules/content/""#,
        r#"xmlns:dc="http://purl.org/dc/elements/1.1/""#,
    ] {
        assert!(text.contains(ns), "missing {ns}");
    }
    assert!(text.contains(
        r#"<atom:link href="http://127.0.0.1:8080/feeds/mixed.rss" rel="self" type="application/rss+xml"/>"#
    ));
    assert_eq!(
        channel.last_build_date(),
        Some("Tue, 5 Mar 2024 14:30:00 +0000")
    );
    assert_eq!(channel.language(), Some("zh-CN"));
    assert_eq!(channel.link(), "http://127.0.0.1:8080/channels/mixed");
    assert!(channel.generator().unwrap().starts_with("feedloom"));

    let items = channel.items();
    // pubDate keeps the source's offset.
    let dates: Vec<Option<&str>> = items.iter().map(|i| i.pub_date()).collect();
    assert_eq!(
        dates,
        [
            Some("Tue, 5 Mar 2024 09:30:00 -0500"),
            Some("Wed, 29 Dec 2021 08:35:00 +0800"),
            None,
            Some("Thu, 29 Feb 2024 23:59:59 +0000"),
            Some("Mon, 15 Jan 2024 10:00:00 +0530"),
        ]
    );
    // guid: one id per story, the same as the Atom and JSON Feed ids, never a permalink (the
    // URL is the item's link).
    let guids: Vec<(&str, bool)> = items
        .iter()
        .map(|i| {
            let g = i.guid().unwrap();
            (g.value(), g.is_permalink())
        })
        .collect();
    assert_eq!(
        guids,
        [
            ("urn:feedloom:a1a1a1a1", false),
            ("urn:feedloom:b2b2b2b2", false),
            ("urn:feedloom:c3c3c3c3", false),
            ("urn:feedloom:d4d4d4d4", false),
            ("urn:feedloom:e5e5e5e5", false),
        ]
    );
    assert_eq!(items[0].link(), Some(PODCAST_URL));
    let podcast = &items[0];
    let enc = podcast.enclosure().unwrap();
    assert_eq!(
        (enc.url(), enc.length(), enc.mime_type()),
        (
            "https://cdn.pod.example.org/ep1.mp3",
            "12345678",
            "audio/mpeg"
        )
    );
    assert_eq!(podcast.description(), Some("<p>Episode one &amp; more</p>"));
    assert!(podcast.content().unwrap().contains("Show notes"));
    let cats: Vec<&str> = podcast.categories().iter().map(|c| c.name()).collect();
    assert_eq!(cats, ["Technology", "Podcasts"]);
    // An enclosure of unknown size still has the required length attribute.
    let pdf = items[4].enclosure().unwrap();
    assert_eq!(
        (pdf.length(), pdf.mime_type()),
        ("0", "application/octet-stream")
    );

    // One dc:creator per person or publication.
    let creators = |i: usize| items[i].dublin_core_ext().map(|dc| dc.creators().to_vec());
    assert_eq!(creators(0), Some(vec!["Jane Host".to_owned()]));
    assert_eq!(
        creators(1),
        Some(vec![
            "陕西日报".to_owned(),
            "李志强".to_owned(),
            "魏鑫".to_owned()
        ])
    );
    assert_eq!(creators(2), None);

    // Description falls back to a text excerpt; CDATA-breaking text survives intact.
    assert_eq!(items[2].description(), Some("No date on this one."));
    assert_eq!(items[3].content(), Some(ESCAPE_HTML));
    assert_eq!(items[3].description(), Some("A & B <i> x ]]> y"));
    assert_eq!(items[3].title(), Some(ESCAPE_TITLE));
}

#[test]
fn atom_structure() {
    let text = render_sample(Format::Atom);
    assert!(text.contains(r#"xml:lang="zh-CN""#));
    assert!(text.contains("<published>2021-12-29T08:35:00+08:00</published>"));
    assert!(text.contains("<updated>2021-12-29T08:35:00+08:00</updated>"));
    assert!(text.contains("<updated>2024-03-01T01:00:00+01:00</updated>"));
    // No date at all: `updated` (required) falls back to first seen.
    assert!(text.contains("<updated>2024-03-01T12:00:00+00:00</updated>"));

    let feed = parse(Format::Atom);
    assert_eq!(feed.id, "http://127.0.0.1:8080/feeds/mixed.atom");
    assert_eq!(
        feed.updated,
        Some(Utc.with_ymd_and_hms(2024, 3, 5, 14, 30, 0).unwrap())
    );
    let rels: Vec<(&str, &str)> = feed
        .links
        .iter()
        .map(|l| (l.rel.as_deref().unwrap_or(""), l.href.as_str()))
        .collect();
    assert_eq!(
        rels,
        [
            ("self", "http://127.0.0.1:8080/feeds/mixed.atom"),
            ("hub", "http://127.0.0.1:8080/websub"),
            ("alternate", "http://127.0.0.1:8080/channels/mixed"),
            (
                "next",
                "http://127.0.0.1:8080/feeds/mixed.atom?limit=2&before=10000000000000000000000000000000000000000000000000000000000000000"
            ),
        ]
    );
    assert_eq!(
        feed.description.as_ref().unwrap().content,
        "Everything the render stage must survive"
    );
    // One entry has no credit at all, so the channel is the feed-level author.
    assert_eq!(names(&feed.authors), ["Mixed & <Matched> 频道"]);

    let e = &feed.entries;
    let ids: Vec<&str> = e.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "urn:feedloom:a1a1a1a1",
            "urn:feedloom:b2b2b2b2",
            "urn:feedloom:c3c3c3c3",
            "urn:feedloom:d4d4d4d4",
            "urn:feedloom:e5e5e5e5",
        ]
    );
    assert_eq!(
        e[1].published,
        Some(Utc.with_ymd_and_hms(2021, 12, 29, 0, 35, 0).unwrap())
    );
    assert_eq!(e[2].published, None);
    assert_eq!(names(&e[0].authors), ["Jane Host"]);
    assert_eq!(
        e[0].authors[0].email.as_deref(),
        Some("jane@pod.example.org")
    );
    // Chinese news: the origin publication is the author, the editors contribute.
    assert_eq!(names(&e[1].authors), ["陕西日报"]);
    assert_eq!(names(&e[1].contributors), ["李志强", "魏鑫"]);
    assert!(e[2].authors.is_empty());
    assert_eq!(names(&e[3].authors), ["O'Brien & Sons"]);

    let enc = e[0]
        .links
        .iter()
        .find(|l| l.rel.as_deref() == Some("enclosure"))
        .unwrap();
    assert_eq!(enc.href, "https://cdn.pod.example.org/ep1.mp3");
    assert_eq!(enc.media_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(enc.length, Some(12_345_678));

    let content = e[3].content.as_ref().unwrap();
    assert_eq!(content.body.as_deref(), Some(ESCAPE_HTML));
    assert_eq!(content.content_type.to_string(), "text/html");
    let terms: Vec<&str> = e[3].categories.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(terms, ["R&D"]);
    // No HTML: the plain text is the content, with the XML-forbidden control char dropped.
    let content = e[4].content.as_ref().unwrap();
    assert_eq!(
        content.body.as_deref(),
        Some("An item that only has an id.")
    );
}

/// WebSub discovery: RSS and Atom name the hub in an `atom:link rel="hub"` (in RSS with the
/// Atom namespace declared on the root, as the W3C validator requires), JSON Feed in `hubs`;
/// a feed without a hub (a private channel's) names none.
#[test]
fn the_hub_is_named_in_every_format() {
    let hub = "http://127.0.0.1:8080/websub";
    let rss = render_sample(Format::Rss);
    let root = &rss[rss.find("<rss").unwrap()..];
    let root = &root[..root.find('>').unwrap()];
    assert!(
        root.contains(r#"xmlns:atom="http://www.w3.org/2005/Atom""#),
        "{root}"
    );
    assert!(
        rss.contains(&format!(r#"<atom:link href="{hub}" rel="hub"/>"#)),
        "{rss}"
    );
    let atom = parse(Format::Atom);
    let rels: Vec<(&str, &str)> = atom
        .links
        .iter()
        .map(|l| (l.rel.as_deref().unwrap_or(""), l.href.as_str()))
        .collect();
    assert!(rels.contains(&("hub", hub)), "{rels:?}");
    assert!(
        rels.contains(&("self", "http://127.0.0.1:8080/feeds/mixed.atom")),
        "{rels:?}"
    );
    let json: Value = serde_json::from_str(&render_sample(Format::Json)).unwrap();
    assert_eq!(
        json["hubs"],
        serde_json::json!([{"type": "WebSub", "url": hub}])
    );

    let private = FeedMeta {
        hub: None,
        ..sample_meta(Format::Rss)
    };
    for format in Format::ALL {
        let text = String::from_utf8(render(&private, &sample_articles(), format)).unwrap();
        assert!(
            !text.contains("websub") && !text.contains("hubs"),
            "{format:?}"
        );
    }
}

#[test]
fn json_structure() {
    let text = render_sample(Format::Json);
    assert!(
        text.starts_with(r#"{"version":"https://jsonfeed.org/version/1.1","#),
        "version must come first"
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["title"], "Mixed & <Matched> 频道");
    assert_eq!(v["home_page_url"], "http://127.0.0.1:8080/channels/mixed");
    assert_eq!(v["feed_url"], "http://127.0.0.1:8080/feeds/mixed.json");
    assert_eq!(v["language"], "zh-CN");
    assert_eq!(v["icon"], "http://127.0.0.1:8080/static/icon.png");

    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for item in items {
        assert!(item["id"].is_string());
        assert!(
            item.get("content_html").is_some() || item.get("content_text").is_some(),
            "{item}"
        );
    }
    let pod = &items[0];
    assert_eq!(pod["id"], "urn:feedloom:a1a1a1a1");
    assert_eq!(pod["url"], PODCAST_URL);
    assert_eq!(pod["date_published"], "2024-03-05T09:30:00-05:00");
    assert_eq!(pod["summary"], "Episode one & more");
    assert_eq!(
        pod["authors"],
        serde_json::json!([{"name": "Jane Host", "url": "https://pod.example.org/jane"}])
    );
    assert_eq!(pod["tags"], serde_json::json!(["Technology", "Podcasts"]));
    assert_eq!(
        pod["attachments"],
        serde_json::json!([{
            "url": "https://cdn.pod.example.org/ep1.mp3",
            "mime_type": "audio/mpeg",
            "size_in_bytes": 12_345_678
        }])
    );
    // Only the paging cursor: the podcast credits no origin, editors or site.
    let ext = pod["_feedloom"].as_object().unwrap();
    assert_eq!(ext.keys().collect::<Vec<_>>(), ["cursor"]);
    assert_eq!(ext["cursor"].as_str().unwrap().len(), 65);

    let news = &items[1];
    assert_eq!(news["date_published"], "2021-12-29T08:35:00+08:00");
    let mut ext = news["_feedloom"].clone();
    ext.as_object_mut().unwrap().remove("cursor");
    assert_eq!(
        ext,
        serde_json::json!({"source": "陕西日报", "editors": ["李志强", "魏鑫"], "site": "人民网"})
    );
    assert_eq!(news["authors"], serde_json::json!([{"name": "陕西日报"}]));

    assert!(items[2].get("date_published").is_none());
    assert_eq!(items[3]["title"], ESCAPE_TITLE);
    assert_eq!(items[3]["content_html"], ESCAPE_HTML);
    assert_eq!(items[3]["date_modified"], "2024-03-01T01:00:00+01:00");
    assert!(items[4].get("url").is_none());
    assert_eq!(items[4]["content_text"], "An item that only has an id.");
    assert_eq!(
        items[4]["attachments"][0]["mime_type"],
        "application/octet-stream"
    );
    assert!(items[4]["attachments"][0].get("size_in_bytes").is_none());

    // feed-rs reads it as JSON Feed too.
    let feed = parse(Format::Json);
    assert_eq!(feed.entries[1].published, Some(news_instant()));
}

fn news_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 12, 29, 0, 35, 0).unwrap()
}

#[test]
fn empty_channel_renders_valid_feeds() {
    for format in Format::ALL {
        let mut meta = sample_meta(format);
        meta.description = None;
        meta.language = None;
        meta.icon = None;
        let bytes = render(&meta, &[], format);
        let feed = feed_rs::parser::parse(&bytes[..])
            .unwrap_or_else(|e| panic!("{format:?}: {e}\n{}", String::from_utf8_lossy(&bytes)));
        assert!(feed.entries.is_empty());
    }
    // RSS needs a non-empty description: it falls back to the title.
    let mut meta = sample_meta(Format::Rss);
    meta.description = None;
    let channel = rss::Channel::read_from(&render(&meta, &[], Format::Rss)[..]).unwrap();
    assert_eq!(channel.description(), "Mixed & <Matched> 频道");
}

#[test]
fn a_thousand_items_render_quickly() {
    let base = sample_articles();
    let articles: Vec<Article> = (0..1000)
        .map(|i| {
            let mut a = base[i % base.len()].clone();
            a.id = format!("{i:08x}");
            a.url = a.url.map(|u| format!("{u}/{i}"));
            a.guid = None;
            a.content_html = Some("<p>Lorem ipsum dolor sit amet.</p>".repeat(40));
            a
        })
        .collect();
    for format in Format::ALL {
        let meta = sample_meta(format);
        let _warm_up = render(&meta, &articles, format);
        let start = std::time::Instant::now();
        let bytes = render(&meta, &articles, format);
        let took = start.elapsed();
        eprintln!("{format:?}: 1000 items, {} bytes, {took:?}", bytes.len());
        // Generous: this crate is built at opt-level 0 in tests.
        assert!(took.as_secs() < 5, "{format:?} took {took:?}");
        let feed = feed_rs::parser::parse(&bytes[..]).unwrap();
        assert_eq!(feed.entries.len(), 1000);
    }
}

/// Writes the sample feeds and an empty channel's feeds into `dir`: (samples, empties).
fn write_samples(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    std::fs::create_dir_all(dir).unwrap();
    let (mut samples, mut empties) = (Vec::new(), Vec::new());
    for format in Format::ALL {
        let path = dir.join(format!("sample.{}", format.extension()));
        std::fs::write(&path, render_sample(format)).unwrap();
        samples.push(path);
        let path = dir.join(format!("empty.{}", format.extension()));
        std::fs::write(&path, render(&sample_meta(format), &[], format)).unwrap();
        empties.push(path);
    }
    (samples, empties)
}

fn run_feed_check(python: &str, flags: &[&str], paths: &[PathBuf]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python)
        .arg(root.join("tests/feed_check.py"))
        .arg("--require-schema")
        .args(flags)
        .args(paths)
        .output()
        .expect("run python");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(out.status.success(), "feed_check.py failed:\n{report}");
}

#[test]
fn python_feed_check() {
    if let Ok(dir) = std::env::var("FEEDLOOM_RENDER_OUT") {
        write_samples(Path::new(&dir));
    }
    let Ok(python) = std::env::var("FEEDLOOM_PYTHON") else {
        // In CI the check must run (.ci/run sets FEEDLOOM_PYTHON); a silent skip there would be
        // a test that cannot fail.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but FEEDLOOM_PYTHON is not: the feedparser check would be skipped"
        );
        eprintln!("FEEDLOOM_PYTHON not set: skipping tests/feed_check.py");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (samples, empties) = write_samples(dir.path());
    run_feed_check(&python, &[], &samples);
    run_feed_check(&python, &["--allow-empty"], &empties);
}
