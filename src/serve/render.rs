//! Channel view → RSS 2.0 / Atom 1.0 / JSON Feed 1.1 bytes.
//!
//! Rendering is a pure function of its inputs: the same [`FeedMeta`] and articles always give the
//! same bytes (no clock, no hash-map iteration order), because the server's ETag is a hash of
//! those bytes. RSS goes through the `rss` crate, Atom through `atom_syndication`, JSON Feed
//! through serde structs whose field order is the order the spec recommends (`version` first).
//!
//! Identity, chosen once per article (`item_ids`): one id per story in all three formats, the
//! RSS `guid` (with `isPermaLink="false"`), the Atom `id` and the JSON Feed `id` alike:
//! `urn:feedloom:{id}`, where the article id is a hash over the source and its guid. It outlives
//! URL canonicalization changes and slug edits, and a reader who switches formats (or a service
//! that reads two) sees one story, not two. The URL goes in `link`/`url`.
//!
//! Ids are unique within one rendered feed even if the input repeats an article. The
//! feed's own Atom id is `meta.self_url`, so that URL must be canonical: no `?limit=`, and never
//! a private channel's token.
//!
//! Credits: article authors first; Chinese news pages add the origin publication (`来源`) and
//! the editors (`责编`). RSS lists each as a `dc:creator`; Atom makes the editors contributors and
//! falls back to the origin, then the site, then (feed level) the channel title so that every
//! entry has an author; JSON Feed falls back to the origin in `authors` and carries all three in
//! the `_feedloom` extension object.
//!
//! Dates keep the offset the article has (`+08:00` stays `+08:00`): RFC 822 in RSS, RFC 3339 in
//! Atom and JSON. RSS allows one enclosure per item, so it gets the first; Atom and JSON get all.
//! Text that goes into XML loses the control characters XML 1.0 cannot carry; `]]>` inside
//! CDATA sections is split by the writer.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use crate::model::cursor::Cursor;
use crate::model::{Article, Person};

/// The output formats a channel is served in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Rss => "rss",
            Format::Atom => "atom",
            Format::Json => "json",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "rss" | "xml" => Some(Format::Rss),
            "atom" => Some(Format::Atom),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
}

/// Channel-level facts a rendered feed carries.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedMeta {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// BCP 47 tag such as `zh-CN`.
    pub language: Option<String>,
    /// Absolute URL of this feed in this format (atom:link rel=self, JSON `feed_url`).
    pub self_url: String,
    /// Absolute URL of the channel's HTML page (the index anchor).
    pub home_url: String,
    pub icon: Option<String>,
    /// The WebSub hub's URL (`{base_url}/websub`); `None` for private channels, which cannot
    /// be subscribed to. Named by `rel="hub"` links and JSON Feed `hubs`.
    pub hub: Option<String>,
    /// Newest change among the items (never "now", so identical data renders identical bytes).
    pub updated: DateTime<Utc>,
    /// The next page (RFC 5005 `next`, JSON Feed `next_url`): the items behind a full page,
    /// or after it while catching up (see `serve::paging`).
    pub next_url: Option<String>,
}

/// `generator` value in all three formats (constant per build, so still deterministic).
const GENERATOR: &str = "feedloom";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// MIME type for an enclosure whose source did not say (JSON Feed requires one).
const DEFAULT_MIME: &str = "application/octet-stream";

/// Characters kept in a plain-text excerpt used as RSS `description` / JSON `summary`.
const EXCERPT_CHARS: usize = 280;

const NS_CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
/// feedloom's own elements in RSS and Atom: each item's paging cursor.
const NS_FEEDLOOM: &str = "https://feedloom.org/ns/1.0";

/// Every item's cursor as `<feedloom:cursor>`, for the XML formats (both crates take the same
/// map shape: prefix → local name → elements with qualified names).
macro_rules! cursor_extension {
    ($ext:ty, $a:expr) => {{
        let mut element = <$ext>::default();
        element.name = "feedloom:cursor".to_owned();
        element.value = Some(Cursor::of($a).encode());
        BTreeMap::from([(
            "feedloom".to_owned(),
            BTreeMap::from([("cursor".to_owned(), vec![element])]),
        )])
    }};
}

/// Render `articles` (already merged, filtered, sorted newest first and cut) in `format`.
pub fn render(meta: &FeedMeta, articles: &[Article], format: Format) -> Vec<u8> {
    let ids = item_ids(articles);
    match format {
        Format::Rss => render_rss(meta, articles, &ids),
        Format::Atom => render_atom(meta, articles, &ids),
        Format::Json => render_json(meta, articles, &ids),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// Every item's identifier — the RSS guid, the Atom entry id and the JSON Feed item id alike
/// — unique within the feed.
fn item_ids(articles: &[Article]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::with_capacity(articles.len());
    articles
        .iter()
        .enumerate()
        .map(|(index, a)| unique(format!("urn:feedloom:{}", a.id), index, &mut seen))
        .collect()
}

/// `candidate`, or — only when an earlier item already used it — `candidate#index`.
fn unique(candidate: String, index: usize, seen: &mut HashSet<String>) -> String {
    let value = if seen.contains(&candidate) {
        format!("{candidate}#{index}")
    } else {
        candidate
    };
    seen.insert(value.clone());
    value
}

/// Remove characters XML 1.0 forbids (C0 controls other than tab/CR/LF, U+FFFE, U+FFFF).
/// Escaping `&`/`<` is the writers' job; these cannot be escaped at all. Borrows when clean.
fn xml_safe(s: &str) -> Cow<'_, str> {
    fn bad(c: char) -> bool {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{FFFE}' || c == '\u{FFFF}'
    }
    // Scan bytes, 64 at a time without branching so the loop vectorizes: C0 controls are single
    // bytes, and U+FFFE/U+FFFF are the only characters encoded EF BF BE/BF. Only a chunk with a
    // control byte or an 0xEF lead byte (common: CJK fullwidth punctuation) is looked at closely.
    const CHUNK: usize = 64;
    let bytes = s.as_bytes();
    let found = bytes.chunks(CHUNK).enumerate().any(|(n, chunk)| {
        let suspicious = chunk.iter().fold(false, |acc, &b| {
            acc | ((b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')) | (b == 0xEF)
        });
        suspicious
            && (n * CHUNK..n * CHUNK + chunk.len()).any(|i| match bytes[i] {
                b'\t' | b'\n' | b'\r' => false,
                b if b < 0x20 => true,
                0xEF => bytes.get(i + 1) == Some(&0xBF) && bytes.get(i + 2) >= Some(&0xBE),
                _ => false,
            })
    });
    if found {
        Cow::Owned(s.chars().filter(|&c| !bad(c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

fn xml_string(s: &str) -> String {
    xml_safe(s).into_owned()
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// The channel description, never empty (RSS requires one).
fn description(meta: &FeedMeta) -> &str {
    non_empty(meta.description.as_deref())
        .or(non_empty(Some(&meta.title)))
        .unwrap_or(&meta.id)
}

/// The channel title, never empty.
fn feed_title(meta: &FeedMeta) -> &str {
    non_empty(Some(&meta.title)).unwrap_or(&meta.id)
}

/// The first [`EXCERPT_CHARS`] characters of `text` with whitespace collapsed, cut at a word
/// boundary when one is near, with `…` when something was cut. `None` for blank text.
fn excerpt(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len().min(EXCERPT_CHARS * 4));
    let mut count = 0;
    let mut cut = false;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        let sep = usize::from(count > 0);
        if count + sep + len > EXCERPT_CHARS {
            // A very long "word" (CJK text has no spaces): take what fits, char by char.
            if count < EXCERPT_CHARS * 3 / 4 {
                if sep == 1 {
                    out.push(' ');
                    count += 1;
                }
                out.extend(word.chars().take(EXCERPT_CHARS - count));
            }
            cut = true;
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(word);
        count += sep + len;
    }
    if out.is_empty() {
        return None;
    }
    if cut {
        out.push('…');
    }
    Some(out)
}

/// Plain text of sanitized HTML: tags dropped, the entities a serializer emits decoded,
/// whitespace collapsed. Good enough for a summary line; not a general HTML parser.
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('<') {
            match rest.find('>') {
                Some(end) => {
                    out.push(' ');
                    rest = &rest[end + 1..];
                }
                None => rest = "",
            }
        } else {
            let end = rest[..rest.len().min(12)].find(';');
            let decoded = end.and_then(|end| decode_entity(&rest[1..end]));
            match (end, decoded) {
                (Some(end), Some(c)) => {
                    out.push(c);
                    rest = &rest[end + 1..];
                }
                _ => {
                    out.push('&');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{A0}'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Names credited as creators, in order, without repeats: authors, then the origin publication,
/// then the editors.
fn creators(a: &Article) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let names = a
        .authors
        .iter()
        .map(|p| p.name.as_str())
        .chain(a.origin.as_deref())
        .chain(a.editors.iter().map(String::as_str));
    for name in names {
        let name = name.trim();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn categories(a: &Article) -> impl Iterator<Item = &str> {
    a.categories
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
}

fn mime_or_default(m: Option<&str>) -> &str {
    non_empty(m).unwrap_or(DEFAULT_MIME)
}

fn utc_fixed(d: DateTime<Utc>) -> DateTime<FixedOffset> {
    d.fixed_offset()
}

// ---------------------------------------------------------------------------------------------
// RSS 2.0

fn render_rss(meta: &FeedMeta, articles: &[Article], ids: &[String]) -> Vec<u8> {
    use rss::extension::atom::{AtomExtension, Link as AtomLink};
    use rss::extension::dublincore::DublinCoreExtension;
    use rss::{Category, Channel, Enclosure, Guid, Image, Item};

    let items = articles
        .iter()
        .zip(ids)
        .map(|(a, id)| {
            let title = non_empty(Some(&a.title)).map(xml_string);
            let mut description = non_empty(a.summary_html.as_deref())
                .map(xml_string)
                .or_else(|| excerpt(&a.content_text).map(|e| xml_string(&e)));
            if title.is_none() && description.is_none() {
                // RSS needs a title or a description; the URL or id is the best we have.
                description = Some(xml_string(a.url.as_deref().unwrap_or(id)));
            }
            let creators = creators(a);
            let dublin_core_ext = (!creators.is_empty()).then(|| DublinCoreExtension {
                creators: creators.into_iter().map(xml_string).collect(),
                ..Default::default()
            });
            let enclosure = a.enclosures.first().map(|e| Enclosure {
                url: xml_string(&e.url),
                length: e.length.unwrap_or(0).to_string(),
                mime_type: xml_string(mime_or_default(e.mime_type.as_deref())),
            });
            Item {
                title,
                link: a.url.as_deref().map(xml_string),
                description,
                categories: categories(a)
                    .map(|c| Category {
                        name: xml_string(c),
                        domain: None,
                    })
                    .collect(),
                enclosure,
                guid: Some(Guid {
                    value: xml_string(id),
                    permalink: false,
                }),
                pub_date: a.published.or(a.updated).map(|d| d.to_rfc2822()),
                content: non_empty(a.content_html.as_deref()).map(xml_string),
                dublin_core_ext,
                extensions: cursor_extension!(rss::extension::Extension, a),
                ..Default::default()
            }
        })
        .collect();

    let namespaces: BTreeMap<String, String> = [
        ("atom", NS_ATOM),
        ("content", NS_CONTENT),
        ("dc", NS_DC),
        ("feedloom", NS_FEEDLOOM),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();

    let title = xml_string(feed_title(meta));
    let channel = Channel {
        title: title.clone(),
        link: xml_string(&meta.home_url),
        description: xml_string(description(meta)),
        language: non_empty(meta.language.as_deref()).map(xml_string),
        last_build_date: Some(meta.updated.to_rfc2822()),
        generator: Some(format!("{GENERATOR} {VERSION}")),
        image: non_empty(meta.icon.as_deref()).map(|icon| Image {
            url: xml_string(icon),
            title,
            link: xml_string(&meta.home_url),
            ..Default::default()
        }),
        items,
        atom_ext: Some(AtomExtension {
            links: std::iter::once(AtomLink {
                href: xml_string(&meta.self_url),
                rel: "self".to_owned(),
                mime_type: Some("application/rss+xml".to_owned()),
                ..Default::default()
            })
            .chain(meta.next_url.as_deref().map(|next| AtomLink {
                href: xml_string(next),
                rel: "next".to_owned(),
                mime_type: Some("application/rss+xml".to_owned()),
                ..Default::default()
            }))
            .chain(meta.hub.iter().map(|hub| AtomLink {
                href: xml_string(hub),
                rel: "hub".to_owned(),
                ..Default::default()
            }))
            .collect(),
        }),
        namespaces,
        ..Default::default()
    };
    let mut out = channel
        .write_to(Vec::with_capacity(estimate(articles)))
        .expect("writing XML into a Vec cannot fail");
    out.push(b'\n');
    out
}

/// A capacity guess that avoids most reallocations.
fn estimate(articles: &[Article]) -> usize {
    1024 + articles
        .iter()
        .map(|a| {
            512 + a.title.len()
                + a.content_html.as_ref().map_or(0, String::len)
                + a.summary_html.as_ref().map_or(0, String::len)
        })
        .sum::<usize>()
}

// ---------------------------------------------------------------------------------------------
// Atom 1.0

fn render_atom(meta: &FeedMeta, articles: &[Article], ids: &[String]) -> Vec<u8> {
    use atom_syndication::{
        Category, Content, Entry, Feed, Generator, Link, Person as AtomPerson, Text,
    };

    fn person(p: &Person) -> AtomPerson {
        AtomPerson {
            name: xml_string(&p.name),
            email: non_empty(p.email.as_deref()).map(xml_string),
            uri: non_empty(p.uri.as_deref()).map(xml_string),
            ..Default::default()
        }
    }
    fn named(name: &str) -> AtomPerson {
        AtomPerson {
            name: xml_string(name),
            ..Default::default()
        }
    }
    fn text(value: &str) -> Text {
        Text::plain(xml_string(value))
    }

    let mut any_without_author = false;
    let entries: Vec<Entry> = articles
        .iter()
        .zip(ids)
        .map(|(a, id)| {
            let mut authors: Vec<AtomPerson> = a
                .authors
                .iter()
                .filter(|p| !p.name.trim().is_empty())
                .map(person)
                .collect();
            if authors.is_empty() {
                if let Some(name) = non_empty(a.origin.as_deref()).or(non_empty(a.site.as_deref()))
                {
                    authors.push(named(name));
                }
            }
            any_without_author |= authors.is_empty();

            let mut links = Vec::with_capacity(1 + a.enclosures.len());
            if let Some(url) = &a.url {
                links.push(Link {
                    href: xml_string(url),
                    rel: "alternate".to_owned(),
                    mime_type: Some("text/html".to_owned()),
                    ..Default::default()
                });
            }
            links.extend(a.enclosures.iter().map(|e| Link {
                href: xml_string(&e.url),
                rel: "enclosure".to_owned(),
                mime_type: Some(xml_string(mime_or_default(e.mime_type.as_deref()))),
                length: e.length.map(|l| l.to_string()),
                ..Default::default()
            }));

            // Atom requires content or an alternate link; always give content.
            let content = match non_empty(a.content_html.as_deref()) {
                Some(html) => Content {
                    value: Some(xml_string(html)),
                    content_type: Some("html".to_owned()),
                    ..Default::default()
                },
                None => Content {
                    value: Some(xml_string(&a.content_text)),
                    content_type: Some("text".to_owned()),
                    ..Default::default()
                },
            };

            Entry {
                title: text(&a.title),
                id: id.clone(),
                updated: a
                    .updated
                    .or(a.published)
                    .unwrap_or_else(|| utc_fixed(a.first_seen)),
                authors,
                categories: categories(a)
                    .map(|c| Category {
                        term: xml_string(c),
                        ..Default::default()
                    })
                    .collect(),
                contributors: a
                    .editors
                    .iter()
                    .filter(|e| !e.trim().is_empty())
                    .map(|e| named(e.trim()))
                    .collect(),
                links,
                published: a.published,
                summary: non_empty(a.summary_html.as_deref()).map(|s| Text::html(xml_string(s))),
                content: Some(content),
                extensions: cursor_extension!(atom_syndication::extension::Extension, a),
                ..Default::default()
            }
        })
        .collect();

    let mut links = vec![Link {
        href: xml_string(&meta.self_url),
        rel: "self".to_owned(),
        mime_type: Some("application/atom+xml".to_owned()),
        ..Default::default()
    }];
    links.extend(meta.hub.iter().map(|hub| Link {
        href: xml_string(hub),
        rel: "hub".to_owned(),
        ..Default::default()
    }));
    if non_empty(Some(&meta.home_url)).is_some() {
        links.push(Link {
            href: xml_string(&meta.home_url),
            rel: "alternate".to_owned(),
            mime_type: Some("text/html".to_owned()),
            ..Default::default()
        });
    }
    if let Some(next) = &meta.next_url {
        links.push(Link {
            href: xml_string(next),
            rel: "next".to_owned(),
            mime_type: Some("application/atom+xml".to_owned()),
            ..Default::default()
        });
    }

    let feed = Feed {
        title: text(feed_title(meta)),
        id: xml_string(&meta.self_url),
        updated: utc_fixed(meta.updated),
        authors: if any_without_author {
            vec![named(feed_title(meta))]
        } else {
            Vec::new()
        },
        generator: Some(Generator {
            value: GENERATOR.to_owned(),
            uri: None,
            version: Some(VERSION.to_owned()),
        }),
        icon: non_empty(meta.icon.as_deref()).map(xml_string),
        links,
        subtitle: non_empty(meta.description.as_deref()).map(text),
        entries,
        lang: non_empty(meta.language.as_deref()).map(xml_string),
        namespaces: BTreeMap::from([("feedloom".to_owned(), NS_FEEDLOOM.to_owned())]),
        ..Default::default()
    };
    let mut out = feed
        .write_to(Vec::with_capacity(estimate(articles)))
        .expect("writing XML into a Vec cannot fail");
    out.push(b'\n');
    out
}

// ---------------------------------------------------------------------------------------------
// JSON Feed 1.1

#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<JsonHub<'a>>,
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonHub<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_modified: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authors: Vec<JsonAuthor<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<JsonAttachment<'a>>,
    #[serde(rename = "_feedloom")]
    feedloom: JsonExtension<'a>,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
struct JsonAttachment<'a> {
    url: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

/// `_feedloom`: the item's paging cursor, and what Chinese news pages credit, kept apart from
/// `authors`.
#[derive(Serialize)]
struct JsonExtension<'a> {
    cursor: String,
    /// The origin publication (`来源`).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    editors: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    site: Option<&'a str>,
}

fn json_author(p: &Person) -> Option<JsonAuthor<'_>> {
    let name = non_empty(Some(&p.name));
    let url = non_empty(p.uri.as_deref())
        .map(Cow::Borrowed)
        .or_else(|| non_empty(p.email.as_deref()).map(|e| Cow::Owned(format!("mailto:{e}"))));
    (name.is_some() || url.is_some()).then_some(JsonAuthor { name, url })
}

fn render_json(meta: &FeedMeta, articles: &[Article], ids: &[String]) -> Vec<u8> {
    let items = articles
        .iter()
        .zip(ids)
        .map(|(a, id)| {
            let content_html = non_empty(a.content_html.as_deref());
            // At least one of content_html / content_text is required; give the text whenever
            // there is some, for consumers that want plain text.
            let content_text = (content_html.is_none() || !a.content_text.trim().is_empty())
                .then_some(a.content_text.as_str());
            let mut authors: Vec<JsonAuthor> = a.authors.iter().filter_map(json_author).collect();
            if authors.is_empty() {
                if let Some(origin) = non_empty(a.origin.as_deref()) {
                    authors.push(JsonAuthor {
                        name: Some(origin),
                        url: None,
                    });
                }
            }
            let ext = JsonExtension {
                cursor: Cursor::of(a).encode(),
                source: non_empty(a.origin.as_deref()),
                editors: a
                    .editors
                    .iter()
                    .map(|e| e.trim())
                    .filter(|e| !e.is_empty())
                    .collect(),
                site: non_empty(a.site.as_deref()),
            };
            JsonItem {
                id,
                url: a.url.as_deref(),
                title: a.title.trim(),
                content_html,
                content_text,
                summary: non_empty(a.summary_html.as_deref())
                    .map(html_to_text)
                    .filter(|s| !s.is_empty()),
                date_published: a.published.map(|d| d.to_rfc3339()),
                date_modified: a.updated.map(|d| d.to_rfc3339()),
                authors,
                tags: categories(a).collect(),
                attachments: a
                    .enclosures
                    .iter()
                    .map(|e| JsonAttachment {
                        url: &e.url,
                        mime_type: mime_or_default(e.mime_type.as_deref()),
                        size_in_bytes: e.length,
                    })
                    .collect(),
                feedloom: ext,
            }
        })
        .collect();

    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: feed_title(meta),
        home_page_url: &meta.home_url,
        feed_url: &meta.self_url,
        description: description(meta),
        next_url: meta.next_url.as_deref(),
        icon: non_empty(meta.icon.as_deref()),
        language: non_empty(meta.language.as_deref()),
        hubs: meta
            .hub
            .iter()
            .map(|url| JsonHub {
                kind: "WebSub",
                url,
            })
            .collect(),
        items,
    };
    let mut out = Vec::with_capacity(estimate(articles));
    // Compact like the XML formats; `jq` makes it readable.
    serde_json::to_writer(&mut out, &feed).expect("serializing into a Vec cannot fail");
    out.push(b'\n');
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
