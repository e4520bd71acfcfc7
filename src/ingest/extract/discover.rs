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

/// The hub a feed names and the topic (its self URL, else the URL it was fetched from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLinks {
    pub hub: String,
    pub topic: String,
    /// The feed naming them came from local space (an operator's URL): only then may the hub
    /// be there too.
    pub from_local: bool,
}

/// How much of a document is looked at for its hub links (they come before the items).
const HEAD_BYTES: usize = 64 * 1024;

/// The hub and self links of a fetched feed: from its `Link` header first, then from the
/// document's `<link>`/`<atom:link>` elements. Pure.
pub fn hub_links(link_header: Option<&str>, body: &[u8], fetched_url: &str) -> Option<HubLinks> {
    let mut hub = None;
    let mut topic = None;
    if let Some(h) = link_header {
        for part in h.split(',') {
            let Some((url, params)) = part.trim().split_once('>') else {
                continue;
            };
            let url = url.trim().trim_start_matches('<').trim();
            for rel in rels(params) {
                match rel.as_str() {
                    "hub" if hub.is_none() => hub = Some(url.to_string()),
                    "self" if topic.is_none() => topic = Some(url.to_string()),
                    _ => {}
                }
            }
        }
    }
    let head_bytes = &body[..body.len().min(HEAD_BYTES)];
    // Nearly every feed names no hub: one cheap pass over the bytes settles it, before any
    // decoding or pattern matching (this runs for every document a poll reads).
    let names_hub = |b: &[u8]| b.windows(3).any(|w| w.eq_ignore_ascii_case(b"hub"));
    if hub.is_none() && !names_hub(head_bytes) {
        return None;
    }
    if hub.is_none() || topic.is_none() {
        let head = String::from_utf8_lossy(head_bytes);
        let link = regex_link();
        for m in link.find_iter(&head) {
            let tag = m.as_str();
            let (Some(rel), Some(href)) = (attr(tag, "rel"), attr(tag, "href")) else {
                continue;
            };
            let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
            if rels.contains(&"hub") && hub.is_none() {
                hub = Some(href.clone());
            }
            if rels.contains(&"self") && topic.is_none() {
                topic = Some(href);
            }
        }
    }
    let base = url::Url::parse(fetched_url).ok();
    let absolute = |u: String| -> Option<String> {
        match &base {
            Some(b) => b.join(&u).ok().map(|u| u.to_string()),
            None => url::Url::parse(&u).ok().map(|u| u.to_string()),
        }
    };
    let hub = absolute(hub?)?;
    let topic = topic
        .and_then(absolute)
        .unwrap_or_else(|| fetched_url.to_string());
    let from_local = base
        .as_ref()
        .is_some_and(crate::model::netspace::is_local_url);
    Some(HubLinks {
        hub,
        topic,
        from_local,
    })
}

/// The relation types of one `Link` header entry's parameters.
fn rels(params: &str) -> Vec<String> {
    params
        .split(';')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("rel")
                .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
        })
        .flat_map(|v| {
            v.split_ascii_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn regex_link() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(?i)<(?:atom:)?link\b[^>]*>").expect("valid regex"))
}

/// An attribute's value in one start tag (`"…"` or `'…'`), entities `&amp;` decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    static RE: std::sync::OnceLock<[regex::Regex; 2]> = std::sync::OnceLock::new();
    let [rel, href] = RE.get_or_init(|| {
        ["rel", "href"].map(|n| {
            regex::Regex::new(&format!(r#"(?i)\s{n}\s*=\s*(?:"([^"]*)"|'([^']*)')"#))
                .expect("valid regex")
        })
    });
    let re = match name {
        "rel" => rel,
        "href" => href,
        _ => return None,
    };
    let c = re.captures(tag)?;
    let v = c.get(1).or_else(|| c.get(2))?.as_str();
    Some(v.replace("&amp;", "&"))
}

#[cfg(test)]
mod hub_tests {
    use super::*;

    #[test]
    fn finds_hub_and_self_in_headers_and_documents() {
        let h = hub_links(
            Some(r#"<https://hub.example/>; rel="hub", </feed.xml>; rel="self""#),
            b"",
            "https://site.example/x",
        );
        assert_eq!(
            h,
            Some(HubLinks {
                hub: "https://hub.example/".into(),
                topic: "https://site.example/feed.xml".into(),
                from_local: false,
            })
        );
        let doc =
            br#"<rss><channel><atom:link rel="self" href="https://site.example/rss?a=1&amp;b=2"/>
            <atom:link href='https://hub.example/h' rel='hub'/></channel></rss>"#;
        let h = hub_links(None, doc, "https://site.example/x").unwrap();
        assert_eq!(h.hub, "https://hub.example/h");
        assert_eq!(h.topic, "https://site.example/rss?a=1&b=2");
        // No self link: the fetched URL is the topic.
        let h = hub_links(
            None,
            br#"<feed><link rel="hub" href="/hub"/></feed>"#,
            "https://s.example/f",
        )
        .unwrap();
        assert_eq!(h.topic, "https://s.example/f");
        assert_eq!(h.hub, "https://s.example/hub");
        assert_eq!(
            hub_links(
                None,
                b"<rss><channel></channel></rss>",
                "https://s.example/"
            ),
            None
        );
    }
}
