//! [`RawEntry`] → [`Article`]: stable ids, canonical URLs, plain-text titles, instants with
//! offsets, and HTML sanitized exactly once (here, at the end). Pure: no I/O.

pub mod pinyin;

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use chrono_tz::Tz;
use url::Url;

use crate::model::ids::article_id;
use crate::model::{Article, Enclosure, Person, RawDate, RawEntry};

/// What normalization needs to know about the source an entry came from.
#[derive(Debug, Clone)]
pub struct SourceContext<'a> {
    pub source_id: &'a str,
    /// Timezone for dates printed without an offset.
    pub timezone: Tz,
    /// The document URL, for resolving relative links.
    pub base_url: &'a str,
}

/// Normalize one entry. Returns `None` for an entry with nothing to show (no title, link,
/// content, id, date, enclosure, author or category).
pub fn normalize(entry: RawEntry, ctx: &SourceContext, now: DateTime<Utc>) -> Option<Article> {
    let base = entry
        .base
        .as_deref()
        .and_then(|b| Url::parse(b).ok())
        .or_else(|| Url::parse(ctx.base_url).ok())
        .map(without_credentials);
    let link = entry
        .link
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .and_then(|l| resolve(base.as_ref(), l));
    let url = link.as_ref().map(|l| canonical_url(l));
    // Content HTML: mirrors annotate Han characters with pinyin; strip it before anything else
    // reads the text.
    let content_raw = entry
        .content_html
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(pinyin::strip_pinyin);
    let summary_raw = entry
        .summary_html
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(pinyin::strip_pinyin);
    let content_html = content_raw.as_deref().map(|c| sanitize(c, base.as_ref()));
    let summary_html = summary_raw.as_deref().map(|c| sanitize(c, base.as_ref()));
    // When only a summary exists, feeds use it as the body.
    let (content_html, summary_html) = match (content_html, summary_html) {
        (None, Some(s)) => (Some(s), None),
        (c, s) if c == s => (c, None),
        (c, s) => (c, s),
    };
    let content_text = content_html
        .as_deref()
        .map(html_to_text)
        .unwrap_or_default();
    let mut title = entry
        .title
        .as_deref()
        .map(|t| html_to_text(&pinyin::strip_pinyin(t)))
        .unwrap_or_default();
    if title.is_empty() {
        title = excerpt(&content_text, 80);
    }
    let guid = entry
        .guid
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string);
    let published = entry.published.map(|d| to_instant(d, ctx.timezone));
    let updated = entry.updated.map(|d| to_instant(d, ctx.timezone));
    if title.is_empty() {
        // Nothing but a link, an id, a date, an enclosure, an author or a category: feedparser
        // still gives an item, and a reader needs something to show for it, made from what
        // there is.
        title = published
            .or(updated)
            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            .or_else(|| url.clone())
            .or_else(|| guid.clone())
            .or_else(|| entry.enclosures.first().map(|e| e.url.trim().to_string()))
            .or_else(|| entry.authors.first().map(|p| p.name.trim().to_string()))
            .or_else(|| {
                let tags: Vec<&str> = entry.categories.iter().map(|c| c.trim()).collect();
                Some(tags.join(", "))
            })
            .unwrap_or_default();
    }
    if title.trim().is_empty() {
        // Not a single field a reader could be shown.
        return None;
    }
    let id = article_id(
        ctx.source_id,
        guid.as_deref(),
        url.as_deref(),
        &title,
        &content_text,
    );
    Some(Article {
        id,
        source: ctx.source_id.to_string(),
        url,
        guid,
        title,
        content_html,
        content_text,
        summary_html,
        published: published.or(updated),
        updated,
        first_seen: now,
        arrival: None,
        authors: dedupe_people(entry.authors),
        categories: dedupe_strings(entry.categories),
        enclosures: entry
            .enclosures
            .into_iter()
            .filter_map(|e| {
                let url = resolve(base.as_ref(), e.url.trim())?;
                Some(Enclosure { url, ..e })
            })
            .collect(),
        origin: entry
            .origin
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty()),
        editors: dedupe_strings(entry.editors),
        site: entry
            .site
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        full_text: Default::default(),
    })
}

/// A base URL without its user-info: the credentials an operator put in a source URL (or a
/// document's `xml:base`) must not end up in every relative link stored and served.
fn without_credentials(mut u: Url) -> Url {
    if !u.username().is_empty() || u.password().is_some() {
        // Only URLs that cannot have a host refuse these, and they had no user-info.
        let _ = u.set_username("");
        let _ = u.set_password(None);
    }
    u
}

fn resolve(base: Option<&Url>, link: &str) -> Option<String> {
    match Url::parse(link) {
        Ok(u) => Some(u.to_string()),
        Err(url::ParseError::RelativeUrlWithoutBase) => base?.join(link).ok().map(String::from),
        Err(_) => None,
    }
}

/// Query parameters that only track the reader and never change the document.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "dclid"
                | "msclkid"
                | "yclid"
                | "igshid"
                | "mc_cid"
                | "mc_eid"
                | "_hsenc"
                | "_hsmi"
                | "mkt_tok"
                | "spm"
                | "vero_id"
                | "wt.mc_id"
                | "ncid"
                | "cmpid"
        )
}

/// Canonical form of a URL: tracking parameters and the fragment removed, host lower-cased.
/// Non-http URLs (tag:, urn:) come back as they are.
pub fn canonical_url(link: &str) -> String {
    let Ok(mut u) = Url::parse(link) else {
        return link.to_string();
    };
    if u.scheme() != "http" && u.scheme() != "https" {
        return link.to_string();
    }
    u.set_fragment(None);
    if u.query().is_some() {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking_param(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    u.to_string()
}

fn to_instant(d: RawDate, tz: Tz) -> DateTime<FixedOffset> {
    match d {
        RawDate::Exact(d) => d,
        RawDate::Local(naive) => match tz.from_local_datetime(&naive).earliest() {
            Some(t) => t.fixed_offset(),
            // A wall-clock time skipped by a DST jump: read it as UTC rather than lose it.
            None => Utc.from_utc_datetime(&naive).fixed_offset(),
        },
    }
}

fn sanitizer_tags() -> &'static HashSet<&'static str> {
    static TAGS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    TAGS.get_or_init(|| {
        let mut t: HashSet<&'static str> = ammonia::Builder::default().clone_tags();
        for extra in [
            "figure",
            "figcaption",
            "audio",
            "video",
            "source",
            "picture",
        ] {
            t.insert(extra);
        }
        t
    })
}

/// Sanitize untrusted HTML: no scripts, no event handlers, no `javascript:` URLs, relative URLs
/// made absolute against `base`.
pub fn sanitize(html: &str, base: Option<&Url>) -> String {
    let mut b = ammonia::Builder::default();
    b.tags(sanitizer_tags().clone())
        .add_tag_attributes("img", ["src", "alt", "title", "width", "height"])
        .add_tag_attributes("audio", ["src", "controls"])
        .add_tag_attributes("video", ["src", "controls", "poster", "width", "height"])
        .add_tag_attributes("source", ["src", "type"])
        .link_rel(Some("noopener noreferrer"));
    match base {
        Some(base) => {
            b.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()));
        }
        None => {
            b.url_relative(ammonia::UrlRelative::PassThrough);
        }
    }
    b.clean(html).to_string().trim().to_string()
}

/// Plain text of an HTML fragment: tags stripped, entities decoded, whitespace collapsed, block
/// boundaries kept as line breaks.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return collapse_ws(html);
    }
    let frag = scraper::Html::parse_fragment(html);
    let mut out = String::with_capacity(html.len());
    collect_text(frag.root_element(), &mut out);
    let lines: Vec<String> = out
        .split('\n')
        .map(collapse_ws)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

fn collect_text(el: scraper::ElementRef, out: &mut String) {
    for child in el.children() {
        match child.value() {
            scraper::Node::Text(t) => out.push_str(t),
            scraper::Node::Element(e) => {
                let name = e.name();
                if matches!(name, "script" | "style" | "template") {
                    continue;
                }
                let block = matches!(
                    name,
                    "p" | "div"
                        | "br"
                        | "li"
                        | "h1"
                        | "h2"
                        | "h3"
                        | "h4"
                        | "h5"
                        | "h6"
                        | "tr"
                        | "blockquote"
                        | "pre"
                        | "section"
                        | "article"
                        | "figure"
                        | "figcaption"
                        | "ul"
                        | "ol"
                        | "table"
                );
                if block {
                    out.push('\n');
                }
                if let Some(child_el) = scraper::ElementRef::wrap(child) {
                    collect_text(child_el, out);
                }
                if block {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
}

fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split(|c: char| c.is_whitespace()) {
        if w.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The first `max` characters of `text` on one line, cut at a word boundary when there is one.
pub fn excerpt(text: &str, max: usize) -> String {
    let line = collapse_ws(text);
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(i) if i > max / 2 => format!("{}…", &cut[..i]),
        _ => format!("{cut}…"),
    }
}

fn dedupe_strings(v: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    v.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect()
}

fn dedupe_people(v: Vec<Person>) -> Vec<Person> {
    let mut seen = HashSet::new();
    v.into_iter()
        .map(|p| Person {
            name: html_to_text(&p.name),
            ..p
        })
        .filter(|p| !p.name.is_empty() && seen.insert(p.name.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SourceContext<'static> {
        SourceContext {
            source_id: "s",
            timezone: chrono_tz::Asia::Shanghai,
            base_url: "http://example.com/feed.xml",
        }
    }

    #[test]
    fn canonical_drops_tracking_and_fragment() {
        assert_eq!(
            canonical_url("http://Example.com/a?utm_source=x&id=3&fbclid=y#top"),
            "http://example.com/a?id=3"
        );
        assert_eq!(
            canonical_url("https://example.com/a?utm_medium=rss"),
            "https://example.com/a"
        );
        assert_eq!(
            canonical_url("tag:example.com,2020:1"),
            "tag:example.com,2020:1"
        );
    }

    #[test]
    fn sanitizes_once_and_makes_urls_absolute() {
        let e = RawEntry {
            title: Some("A &amp; <b>B</b>".into()),
            link: Some("/post/1?utm_source=rss".into()),
            content_html: Some(
                r#"<p onclick="x()">Hi <a href="javascript:alert(1)">x</a><img src="i.png"></p><script>bad()</script>"#
                    .into(),
            ),
            ..Default::default()
        };
        let a = normalize(e, &ctx(), Utc::now()).unwrap();
        assert_eq!(a.title, "A & B");
        assert_eq!(a.url.as_deref(), Some("http://example.com/post/1"));
        let html = a.content_html.unwrap();
        assert!(!html.contains("script"), "{html}");
        assert!(!html.contains("onclick"), "{html}");
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("http://example.com/i.png"), "{html}");
    }

    #[test]
    fn an_entry_with_nothing_but_an_id_is_kept_with_a_title_to_show() {
        let bare = |guid: &str, link: Option<&str>| RawEntry {
            guid: Some(guid.into()),
            link: link.map(str::to_string),
            ..Default::default()
        };
        let a = normalize(bare("urn:uuid:1", None), &ctx(), Utc::now()).unwrap();
        assert_eq!((a.title.as_str(), a.url.as_deref()), ("urn:uuid:1", None));
        let b = normalize(bare("urn:uuid:2", None), &ctx(), Utc::now()).unwrap();
        assert_ne!(a.id, b.id, "two bare entries stay two items");
        let c = normalize(
            bare("http://e.example/n", Some("http://e.example/n")),
            &ctx(),
            Utc::now(),
        );
        assert_eq!(c.unwrap().title, "http://e.example/n");
        assert!(normalize(RawEntry::default(), &ctx(), Utc::now()).is_none());
        // An item with only an author or only categories (feedparser gives one) is titled by
        // them; blank ones are nothing.
        let by = |name: &str, tags: &[&str]| RawEntry {
            authors: (!name.is_empty())
                .then(|| Person {
                    name: name.into(),
                    email: None,
                    uri: None,
                })
                .into_iter()
                .collect(),
            categories: tags.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        let d = normalize(by("Example editor", &[]), &ctx(), Utc::now()).unwrap();
        assert_eq!(d.title, "Example editor");
        assert_eq!(d.authors[0].name, "Example editor");
        let e = normalize(by("", &["one", "two"]), &ctx(), Utc::now()).unwrap();
        assert_eq!(e.title, "one, two");
        assert!(normalize(by("", &[" "]), &ctx(), Utc::now()).is_none());
    }

    #[test]
    fn relative_links_do_not_carry_the_source_urls_credentials() {
        let ctx = SourceContext {
            base_url: "https://reader:pw@example.com/feed.xml?apikey=k",
            ..ctx()
        };
        let e = RawEntry {
            title: Some("t".into()),
            link: Some("/post/1".into()),
            content_html: Some(r#"<p><a href="/a">a</a><img src="i.png"></p>"#.into()),
            ..Default::default()
        };
        let a = normalize(e, &ctx, Utc::now()).unwrap();
        assert_eq!(a.url.as_deref(), Some("https://example.com/post/1"));
        let html = a.content_html.unwrap();
        assert!(html.contains("https://example.com/a"), "{html}");
        assert!(html.contains("https://example.com/i.png"), "{html}");
        assert!(!html.contains("pw@"), "{html}");
    }

    #[test]
    fn local_dates_take_the_source_timezone() {
        let naive = chrono::NaiveDate::from_ymd_opt(2021, 12, 29)
            .unwrap()
            .and_hms_opt(8, 35, 0)
            .unwrap();
        let e = RawEntry {
            title: Some("t".into()),
            published: Some(RawDate::Local(naive)),
            ..Default::default()
        };
        let a = normalize(e, &ctx(), Utc::now()).unwrap();
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2021-12-29T08:35:00+08:00"
        );
    }

    #[test]
    fn ids_are_stable_and_fall_back() {
        let a = article_id("s", Some("g1"), Some("http://x/1"), "t", "c");
        assert_eq!(
            a,
            article_id("s", Some("g1"), Some("http://x/other"), "t2", "c2")
        );
        assert_ne!(a, article_id("other", Some("g1"), None, "t", "c"));
        let b = article_id("s", None, Some("http://x/1"), "t", "c");
        assert_eq!(b, article_id("s", None, Some("http://x/1"), "changed", "c"));
        assert_eq!(a.len(), 32);
    }
}
