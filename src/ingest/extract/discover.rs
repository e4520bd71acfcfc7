//! Feed autodiscovery: the feeds a web page announces with
//! `<link rel="alternate" type="application/rss+xml" href="…" title="…">` (or Atom, JSON Feed).

use scraper::{Html, Selector};
use url::Url;

/// One feed a page announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncedFeed {
    /// Absolute URL.
    pub url: String,
    pub title: Option<String>,
    /// The announced media type, lower-cased (`application/rss+xml`, …).
    pub media_type: String,
}

const FEED_TYPES: [&str; 5] = [
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
];

/// The feeds `html` announces, in page order, resolved against `base`; the same URL once.
/// Only http(s) links count.
pub fn announced_feeds(html: &str, base: &str) -> Vec<AnnouncedFeed> {
    let Ok(base) = Url::parse(base) else {
        return Vec::new();
    };
    let doc = Html::parse_document(html);
    let sel = Selector::parse("link[rel][href]").expect("static selector");
    let mut out: Vec<AnnouncedFeed> = Vec::new();
    for link in doc.select(&sel) {
        let el = link.value();
        let alternate = el
            .attr("rel")
            .unwrap_or("")
            .split_ascii_whitespace()
            .any(|r| r.eq_ignore_ascii_case("alternate"));
        let media_type = el
            .attr("type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // `application/json` is a JSON Feed only when its link or title says "feed" (a
        // WordPress page announces its REST API, `/wp-json/…`, the same way).
        let says_feed =
            |v: Option<&str>| v.is_some_and(|v| v.to_ascii_lowercase().contains("feed"));
        let json_feed = media_type != "application/json"
            || ((says_feed(el.attr("href")) || says_feed(el.attr("title")))
                && !el.attr("href").unwrap_or("").contains("/wp-json/"));
        if !alternate || !FEED_TYPES.contains(&media_type.as_str()) || !json_feed {
            continue;
        }
        let Some(url) = el.attr("href").and_then(|h| base.join(h.trim()).ok()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || out.iter().any(|f| f.url == url.as_str()) {
            continue;
        }
        out.push(AnnouncedFeed {
            url: url.to_string(),
            title: el
                .attr("title")
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            media_type,
        });
    }
    out
}

/// The feed to poll among `feeds`: the one whose title is `wanted` (ignoring case and
/// surrounding space), else the first.
pub fn choose<'a>(feeds: &'a [AnnouncedFeed], wanted: Option<&str>) -> Option<&'a AnnouncedFeed> {
    match wanted {
        Some(w) => feeds.iter().find(|f| {
            f.title
                .as_deref()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(w.trim()))
        }),
        None => feeds.first(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head>
        <link rel="stylesheet" href="/s.css">
        <link rel="alternate" type="application/rss+xml" title="All posts" href="/feed.xml">
        <link rel="alternate" type="application/atom+xml" title="Comments" href="https://b.example/comments.atom">
        <link rel="alternate" type="application/rss+xml" href="/feed.xml">
        <link rel="alternate" hreflang="en" href="/en/">
        <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
        <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/7">
        <link rel="alternate" type="application/json" href="/data.json">
        </head><body></body></html>"#;

    #[test]
    fn announced_feeds_in_page_order_and_chosen_by_title() {
        let feeds = announced_feeds(PAGE, "https://b.example/blog/");
        let urls: Vec<&str> = feeds.iter().map(|f| f.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "https://b.example/feed.xml",
                "https://b.example/comments.atom"
            ]
        );
        assert_eq!(
            choose(&feeds, None).unwrap().url,
            "https://b.example/feed.xml"
        );
        assert_eq!(
            choose(&feeds, Some(" comments ")).unwrap().url,
            "https://b.example/comments.atom"
        );
        assert_eq!(choose(&feeds, Some("nope")), None);
    }
}
