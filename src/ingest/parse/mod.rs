//! Feed documents (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed 1.0/1.1) → [`ParsedFeed`].
//!
//! feed-rs does the format work. Around it this module:
//! - tells what a body that is not a feed looks like ([`ParseError::NotAFeed`]);
//! - drops the XML declaration before parsing: the text is already UTF-8 (see
//!   [`crate::ingest::decode`]), and feed-rs would otherwise re-decode it with the declared `encoding=`;
//! - parses strictly first and, only when that fails (or the text holds control characters XML
//!   forbids), repairs the document in one pass and parses again ([`repair`]), listing the repairs
//!   in [`ParsedFeed::repairs`];
//! - maps feed-rs's model to [`RawEntry`], resolving links against `xml:base` and the document URL.
//!
//! Entities: feed-rs (quick-xml) never expands entities declared in a DOCTYPE; it keeps unknown
//! references such as `&lol9;` or `&nbsp;` as literal text, so a billion-laughs document costs
//! nothing. Consumers treat titles and HTML fields as HTML, in which `&nbsp;` means what it says.
//!
//! Dates: [`RawDate::Exact`] keeps the offset the feed wrote (see [`dates`]); a date with no
//! offset at all (`2021-12-29 08:35`) becomes [`RawDate::Local`].
//!
//! Plain-text fields: Atom `type="text"` constructs and JSON Feed `title`/`summary`/
//! `content_text` are HTML-escaped, so that a consumer that reads every field as HTML gets the
//! exact text back. RSS fields are passed as found (RSS has no type information and titles in
//! the wild carry entities and markup).

mod dates;
mod entities;
mod fallback;

pub use fallback::{EMBEDDED, FALLBACK};
mod quirks;
mod repair;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use feed_rs::model::{Entry, Feed, FeedType, Link, Text};
use url::Url;

use crate::model::{Enclosure, ParsedFeed, Person, RawDate, RawEntry};

/// Why a document could not be read as a feed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The body is not a feed at all (HTML page, binary, empty); `what` says what it looks like.
    #[error("not a feed: {what}")]
    NotAFeed { what: String },
    /// The document is a feed but is too broken to repair.
    #[error("malformed feed: {0}")]
    Malformed(String),
}

/// True when `text` looks like a feed document (XML with rss/feed/RDF root, or a JSON Feed).
pub fn looks_like_feed(text: &str) -> bool {
    matches!(sniff(text), Sniff::Feed { .. } | Sniff::Json)
        && (!text.trim_start_matches(is_skippable).starts_with('{') || is_json_feed_head(text))
}

/// Parse a decoded (UTF-8) feed document. `base_url` is the URL it was fetched from, used to
/// resolve relative links (after any `xml:base`).
pub fn parse_feed(text: &str, base_url: Option<&str>) -> Result<ParsedFeed, ParseError> {
    let doc_base = base_url.and_then(|u| Url::parse(u).ok());
    let sniffed = sniff(text);
    if matches!(
        sniffed,
        Sniff::Text | Sniff::Html { .. } | Sniff::OtherXml { .. }
    ) {
        if let Some(inner) = fallback::embedded_feed(text) {
            let mut parsed = parse_feed(inner, base_url)?;
            parsed.repairs.push(EMBEDDED.to_string());
            return Ok(parsed);
        }
    }
    match sniffed {
        Sniff::Empty => Err(not_a_feed("empty body")),
        Sniff::Binary => Err(not_a_feed("binary data")),
        Sniff::Text => Err(not_a_feed("plain text")),
        Sniff::Html { title } => Err(not_a_feed(match title {
            Some(t) => format!("an HTML page (<html>, title \"{t}\")"),
            None => "an HTML page (<html>)".to_string(),
        })),
        Sniff::OtherXml { root } => Err(not_a_feed(format!(
            "an XML document whose root is <{root}>, not rss/feed/RDF"
        ))),
        Sniff::Json => parse_json(text.trim_start_matches(is_skippable), doc_base.as_ref()),
        Sniff::Feed {
            body,
            root_base,
            doctype,
        } => {
            if let Some(why) = doctype.and_then(dangerous_entities) {
                return Err(ParseError::Malformed(why));
            }
            let root_base = join(doc_base.as_ref(), root_base);
            parse_xml(body, doc_base.as_ref(), root_base)
        }
    }
}

/// Entity declarations a feed never needs and an attacker does: entities defined through other
/// entities (the "billion laughs" expansion), external entities (file or network reads), or
/// many of them. feed-rs would not expand them, but a document that carries them is refused with
/// a clear error rather than served with unexpanded references.
fn dangerous_entities(prolog: &str) -> Option<String> {
    if !prolog.contains("<!ENTITY") {
        return None;
    }
    let decls: Vec<&str> = prolog.split("<!ENTITY").skip(1).collect();
    let nested = decls.iter().any(|d| {
        let d = d.split('>').next().unwrap_or("");
        d.contains('&') || d.contains('%')
    });
    let external = decls.iter().any(|d| {
        let d = d.split('>').next().unwrap_or("");
        d.contains("SYSTEM") || d.contains("PUBLIC")
    });
    if nested {
        Some(format!(
            "refused: the DOCTYPE declares {} XML entities that expand into each other (an entity-expansion \"billion laughs\" attack)",
            decls.len()
        ))
    } else if external {
        Some("refused: the DOCTYPE declares external XML entities (SYSTEM/PUBLIC)".into())
    } else if decls.len() > 64 {
        Some(format!(
            "refused: the DOCTYPE declares {} XML entities",
            decls.len()
        ))
    } else {
        None
    }
}

fn not_a_feed(what: impl Into<String>) -> ParseError {
    ParseError::NotAFeed { what: what.into() }
}

fn is_skippable(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

// ---------------------------------------------------------------------------------------------
// Sniffing

enum Sniff<'a> {
    Empty,
    Binary,
    Text,
    Json,
    Html {
        title: Option<String>,
    },
    OtherXml {
        root: String,
    },
    /// An XML feed; `body` is the text without the XML declaration, `root_base` the root
    /// element's `xml:base`, `doctype` the prolog's DOCTYPE declaration with its internal subset.
    Feed {
        body: &'a str,
        root_base: Option<String>,
        doctype: Option<&'a str>,
    },
}

fn sniff(text: &str) -> Sniff<'_> {
    let t = text.trim_start_matches(is_skippable);
    if t.is_empty() {
        return Sniff::Empty;
    }
    if looks_binary(t) {
        return Sniff::Binary;
    }
    if t.starts_with('{') || t.starts_with('[') {
        return Sniff::Json;
    }
    if !t.starts_with('<') {
        return Sniff::Text;
    }
    // Skip the prolog: declaration, PIs, comments, DOCTYPE, whitespace.
    let mut rest = t;
    let mut body = t;
    let mut html_doctype = false;
    let mut doctype_span: Option<(usize, usize)> = None;
    loop {
        rest = rest.trim_start_matches(is_skippable);
        if rest.starts_with("<?") {
            let Some(e) = rest.find("?>") else {
                return Sniff::Text;
            };
            if rest.starts_with("<?xml ") || rest.starts_with("<?xml\t") {
                // The declaration is dropped: the text is UTF-8 whatever `encoding=` says.
                body = &rest[e + 2..];
            }
            rest = &rest[e + 2..];
        } else if rest.starts_with("<!--") {
            let Some(e) = rest.find("-->") else {
                return Sniff::Text;
            };
            rest = &rest[e + 3..];
        } else if rest.starts_with("<!") {
            // Compared as bytes: a multi-byte character may sit where the word would end.
            let starts = |word: &str| {
                rest.as_bytes()
                    .get(..word.len())
                    .is_some_and(|b| b.eq_ignore_ascii_case(word.as_bytes()))
            };
            if starts("<!doctype html") {
                html_doctype = true;
            }
            let Some(e) = doctype_end(rest) else {
                return Sniff::Text;
            };
            // Found here, where the prolog is walked, in any letter case: a second search for
            // the exact spellings would miss `<!DocType` and let its entities through unchecked.
            // Every declaration counts: the span runs from the first DOCTYPE to the end of the
            // last one.
            if starts("<!doctype") {
                let at = t.len() - rest.len();
                doctype_span = Some((doctype_span.map_or(at, |(first, _)| first), at + e));
            }
            rest = &rest[e..];
        } else {
            break;
        }
    }
    let Some(tag) = rest.strip_prefix('<') else {
        return if html_doctype {
            Sniff::Html {
                title: html_title(t),
            }
        } else {
            Sniff::Text
        };
    };
    let name_len = tag
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(tag.len());
    let qname = &tag[..name_len];
    let local = qname.rsplit(':').next().unwrap_or(qname);
    if local.eq_ignore_ascii_case("html") || html_doctype {
        return Sniff::Html {
            title: html_title(t),
        };
    }
    match local {
        "rss" | "feed" | "RDF" | "rdf" | "entry" => {
            let start_tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            Sniff::Feed {
                body,
                root_base: attr(start_tag, "xml:base").map(str::to_string),
                doctype: doctype_span.map(|(a, b)| &t[a..b]),
            }
        }
        _ => {
            let low = local.to_ascii_lowercase();
            if matches!(
                low.as_str(),
                "head" | "body" | "div" | "p" | "meta" | "title"
            ) {
                Sniff::Html {
                    title: html_title(t),
                }
            } else {
                Sniff::OtherXml {
                    root: qname.to_string(),
                }
            }
        }
    }
}

/// Many replacement characters or control characters near the start: not text.
fn looks_binary(t: &str) -> bool {
    let mut n = 0usize;
    let mut bad = 0usize;
    for c in t.chars().take(1024) {
        n += 1;
        if c == '\0' {
            return true;
        }
        if c == '\u{fffd}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
            bad += 1;
        }
    }
    bad * 20 > n // more than 5 %
}

fn doctype_end(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b'>' if depth == 0 => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` in a start tag's text.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut pos = 0;
    while let Some(i) = tag[pos..].find(name) {
        let after = &tag[pos + i + name.len()..];
        pos += i + name.len();
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let q = after.chars().next()?;
        if q == '"' || q == '\'' {
            let v = &after[1..];
            return v.find(q).map(|e| &v[..e]);
        }
    }
    None
}

fn html_title(t: &str) -> Option<String> {
    let head = &t[..floor_char_boundary(t, 65536)];
    let lower = head.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let end = open_end + lower[open_end..].find("</title")?;
    let title = head[open_end..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then(|| truncate_chars(&title, 80))
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn truncate_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn is_json_feed_head(text: &str) -> bool {
    let head = &text[..floor_char_boundary(text, 4096)];
    head.contains("jsonfeed.org/version/")
}

// ---------------------------------------------------------------------------------------------
// Parsing

fn parser(doc_base: Option<&Url>, seen: &dates::Seen) -> feed_rs::parser::Parser {
    let seen = Arc::clone(seen);
    feed_rs::parser::Builder::new()
        .base_uri(doc_base.map(Url::as_str))
        // Leave missing ids empty (feed-rs would hash the link and title): the normalizer has
        // its own fallbacks and must be able to tell "no guid" from a guid.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(move |s| dates::parse_recording(s, &seen))
        .sanitize_content(false)
        .build()
}

fn parse_xml(
    body: &str,
    doc_base: Option<&Url>,
    root_base: Option<Url>,
) -> Result<ParsedFeed, ParseError> {
    let prepared = quirks::prepare(body);
    let body = prepared.as_ref();
    let ids_only = quirks::non_permalink_guids(body);

    let seen: dates::Seen = Arc::new(Mutex::new(HashMap::new()));
    // feed-rs's reading of `text`, with the items (or fields) it missed taken from the text.
    let read = |feed, text: &str, repairs| {
        let mut parsed = map_feed(feed, doc_base, root_base.clone(), &seen, &ids_only, repairs);
        fallback::complete(&mut parsed, text, root_base.as_ref().or(doc_base));
        parsed
    };
    let first_error = if repair::has_bad_controls(body) {
        None
    } else {
        match run_parser(body, doc_base, &seen) {
            Ok(feed) => return Ok(read(feed, body, Vec::new())),
            Err(e) => Some(e),
        }
    };

    let repaired = repair::repair(body);
    match run_parser(&repaired.text, doc_base, &seen) {
        Ok(feed) => Ok(read(feed, &repaired.text, repaired.repairs)),
        Err(e) => {
            let why = match first_error {
                Some(first) if repaired.repairs.is_empty() => first,
                Some(first) => format!(
                    "{first}; still failing after repairs ({}): {e}",
                    repaired.repairs.join(", ")
                ),
                None => e,
            };
            // feed-rs gave up on the whole document: the tolerant reader takes what items it
            // can (from the repaired text, whose entities and controls are fixed).
            let base = root_base.as_ref().or(doc_base);
            let mut entries = fallback::read_fallback(&repaired.text, base);
            if entries.is_empty() {
                entries = fallback::read_fallback(body, base);
            }
            if entries.is_empty() {
                return Err(ParseError::Malformed(why));
            }
            let mut repairs = repaired.repairs;
            repairs.push(format!("{FALLBACK} ({why})"));
            Ok(ParsedFeed {
                title: None,
                link: None,
                ttl_minutes: None,
                entries,
                repairs,
            })
        }
    }
}

/// One feed-rs run with a fresh parser (its media-RSS state must not outlive a failed run).
/// A panic inside feed-rs is reported as an error, never allowed to take a worker down.
fn run_parser(text: &str, doc_base: Option<&Url>, seen: &dates::Seen) -> Result<Feed, String> {
    let p = parser(doc_base, seen);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| p.parse(text.as_bytes()))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the feed parser gave up on this document (internal panic)".to_string()),
    }
}

fn parse_json(text: &str, doc_base: Option<&Url>) -> Result<ParsedFeed, ParseError> {
    let seen: dates::Seen = Arc::new(Mutex::new(HashMap::new()));
    match run_parser(text, doc_base, &seen) {
        Ok(feed) => Ok(map_feed(
            feed,
            doc_base,
            doc_base.cloned(),
            &seen,
            &HashSet::new(),
            Vec::new(),
        )),
        Err(e) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => {
                let version = v.get("version").and_then(|v| v.as_str()).unwrap_or("");
                if version.contains("jsonfeed.org/version/") {
                    Err(ParseError::Malformed(e))
                } else {
                    Err(not_a_feed("JSON that is not a JSON Feed"))
                }
            }
            Err(_) if is_json_feed_head(text) => Err(ParseError::Malformed(e)),
            Err(_) => Err(not_a_feed("text that is neither XML nor JSON")),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Mapping feed-rs → our model

fn join(base: Option<&Url>, href: Option<String>) -> Option<Url> {
    match href {
        Some(h) => match Url::parse(h.trim()) {
            Ok(u) => Some(u),
            Err(_) => base.and_then(|b| b.join(h.trim()).ok()),
        },
        None => base.cloned(),
    }
}

fn resolve(base: Option<&Url>, href: &str) -> String {
    let href = href.trim();
    match Url::parse(href) {
        Ok(u) => u.into(),
        Err(_) => base
            .and_then(|b| b.join(href).ok())
            .map_or_else(|| href.to_string(), Into::into),
    }
}

fn map_feed(
    feed: Feed,
    doc_base: Option<&Url>,
    root_base: Option<Url>,
    seen: &dates::Seen,
    ids_only: &HashSet<String>,
    repairs: Vec<String>,
) -> ParsedFeed {
    let seen = seen.lock().map(|m| m.clone()).unwrap_or_default();
    let kind = feed.feed_type.clone();
    let plain_is_text = matches!(kind, FeedType::Atom | FeedType::JSON);
    let feed_base = root_base.or_else(|| doc_base.cloned());

    let feed_link = best_link(&feed.links, &kind).map(|l| resolve(feed_base.as_ref(), &l.href));
    // Base for entries when neither xml:base nor the document URL is known.
    let fallback_base = feed_base
        .clone()
        .or_else(|| feed_link.as_deref().and_then(|l| Url::parse(l).ok()));

    let feed_authors: Vec<Person> = if matches!(kind, FeedType::Atom) {
        feed.authors.iter().filter_map(person).collect()
    } else {
        Vec::new()
    };

    let raw_date = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map(|d| {
            seen.get(&d)
                .copied()
                .unwrap_or_else(|| RawDate::Exact(d.fixed_offset()))
        })
    };

    let entries = feed
        .entries
        .into_iter()
        .map(|e| {
            map_entry(
                e,
                &kind,
                plain_is_text,
                fallback_base.as_ref(),
                &feed_authors,
                ids_only,
                &raw_date,
            )
        })
        .map(|mut e: RawEntry| {
            // An entry with nothing but an id is still an item (feedparser gives one; the
            // normalizer keeps it): its id is its link when it is a URL. Not the feed's link
            // otherwise: the link is the story's identity, and every such entry would merge.
            let bare = e.link.is_none()
                && e.title.as_deref().is_none_or(|t| t.trim().is_empty())
                && e.content_html.is_none()
                && e.summary_html.is_none();
            if bare {
                e.link = e
                    .guid
                    .clone()
                    .filter(|g| is_http_url(g) && !ids_only.contains(g));
            }
            e
        })
        .collect();

    ParsedFeed {
        title: feed.title.map(|t| text_field(t, plain_is_text)),
        link: feed_link,
        ttl_minutes: feed.ttl,
        entries,
        repairs,
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn map_entry(
    e: Entry,
    kind: &FeedType,
    plain_is_text: bool,
    feed_base: Option<&Url>,
    feed_authors: &[Person],
    ids_only: &HashSet<String>,
    raw_date: &dyn Fn(Option<chrono::DateTime<chrono::Utc>>) -> Option<RawDate>,
) -> RawEntry {
    let entry_base = join(feed_base, e.base.clone());
    let guid = Some(e.id.trim().to_string()).filter(|g| !g.is_empty());

    let mut link = best_link(&e.links, kind).map(|l| resolve(entry_base.as_ref(), &l.href));
    if link.is_none() && matches!(kind, FeedType::RSS0 | FeedType::RSS2) {
        // RSS: a guid is a permalink unless isPermaLink="false" (which feed-rs does not keep,
        // so `ids_only` was read from the document); an http(s) guid is the best link there is.
        link = guid
            .as_ref()
            .filter(|g| is_http_url(g) && !ids_only.contains(g.as_str()))
            .cloned();
    }
    let base = entry_base
        .as_ref()
        .map(|u| u.to_string())
        .or_else(|| link.clone());

    let mut authors: Vec<Person> = e.authors.iter().filter_map(person).collect();
    if authors.is_empty() {
        authors = feed_authors.to_vec();
    }
    let categories = e
        .categories
        .iter()
        .filter_map(|c| {
            let t = c.term.trim();
            let t = if t.is_empty() {
                c.label.as_deref().unwrap_or("").trim()
            } else {
                t
            };
            (!t.is_empty()).then(|| t.to_string())
        })
        .collect();

    let enclosures = enclosures(&e, kind, entry_base.as_ref());

    let content_html = e.content.and_then(|c| {
        let plain = c.content_type.essence().to_string() == "text/plain";
        c.body.map(|b| {
            if plain && plain_is_text {
                escape_html(&b)
            } else {
                b
            }
        })
    });

    RawEntry {
        guid,
        link,
        base,
        title: e.title.map(|t| text_field(t, plain_is_text)),
        content_html,
        summary_html: e.summary.map(|t| text_field(t, plain_is_text)),
        published: raw_date(e.published),
        updated: raw_date(e.updated),
        authors,
        categories,
        enclosures,
        origin: None,
        editors: Vec::new(),
        site: None,
    }
}

/// Text as HTML: plain-text constructs of formats that type their text are escaped.
fn text_field(t: Text, plain_is_text: bool) -> String {
    if plain_is_text && t.content_type.essence().to_string() == "text/plain" {
        escape_html(&t.content)
    } else {
        t.content
    }
}

fn escape_html(s: &str) -> String {
    if !s.contains(['&', '<', '>']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn person(p: &feed_rs::model::Person) -> Option<Person> {
    // RSS `author` is "email (Name)"; feed-rs leaves the parentheses on the name.
    let name = p
        .name
        .as_deref()
        .map(|n| {
            n.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim()
        })
        .filter(|n| !n.is_empty());
    let email = p
        .email
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let uri = p
        .uri
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let name = match (name, &email) {
        (Some(n), _) => n.to_string(),
        (None, Some(e)) => e.clone(),
        (None, None) => return None,
    };
    Some(Person { name, email, uri })
}

/// The alternate link: rel absent or "alternate", text/html preferred. JSON Feed attachments are
/// links with a media type and are not candidates.
fn best_link<'a>(links: &'a [Link], kind: &FeedType) -> Option<&'a Link> {
    let candidates = links.iter().filter(|l| {
        let rel_ok = matches!(l.rel.as_deref(), None | Some("alternate") | Some(""));
        let json_attachment = matches!(kind, FeedType::JSON) && l.media_type.is_some();
        rel_ok && !json_attachment && !l.href.trim().is_empty()
    });
    let mut first = None;
    for l in candidates {
        match l.media_type.as_deref() {
            Some("text/html") | Some("application/xhtml+xml") => return Some(l),
            _ => {
                first.get_or_insert(l);
            }
        }
    }
    first
}

fn enclosures(e: &Entry, kind: &FeedType, base: Option<&Url>) -> Vec<Enclosure> {
    let mut out: Vec<Enclosure> = Vec::new();
    let mut push = |url: String, mime: Option<String>, length: Option<u64>| {
        if url.is_empty() || out.iter().any(|x| x.url == url) {
            return;
        }
        out.push(Enclosure {
            url,
            mime_type: mime.filter(|m| !m.is_empty()),
            length: length.filter(|&n| n > 0),
        });
    };
    for l in &e.links {
        let is_enclosure = l.rel.as_deref() == Some("enclosure")
            || (matches!(kind, FeedType::JSON) && l.media_type.is_some());
        if is_enclosure {
            push(resolve(base, &l.href), l.media_type.clone(), l.length);
        }
    }
    for m in &e.media {
        for c in &m.content {
            let Some(url) = &c.url else { continue };
            let mime = c.content_type.as_ref().map(|t| t.to_string());
            let av = mime
                .as_deref()
                .is_some_and(|t| t.starts_with("audio/") || t.starts_with("video/"));
            // RSS <enclosure> elements arrive as media objects too; their `source` is private
            // in feed-rs, so ask its serialized form. Other media:content (images) is not an
            // enclosure.
            if av || from_rss_enclosure(m) {
                push(url.to_string(), mime, c.size);
            }
        }
    }
    out
}

fn from_rss_enclosure(m: &feed_rs::model::MediaObject) -> bool {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.get("source").and_then(|s| s.as_str().map(|s| s == "RSS")))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests;
