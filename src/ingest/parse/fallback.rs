//! The tolerant reader: items recovered from a feed document that feed-rs refused (even after
//! [`super::repair`]) or read with fewer items than it plainly has, and the fields feed-rs does
//! not map (`dc:title`, `dc:subject`, `dcterms:issued`, RSS `<body>`, …).
//!
//! It is not an XML parser: it scans the text for `<item>` and `<entry>` elements and, inside
//! each, for the first child element of each known name, so that unclosed tags, a truncated
//! document, undeclared entities or mismatched end tags cost only the field they touch. An
//! element's text ends at its end tag, or, when that is missing, at the next tag. Pure: text in,
//! entries out.
//!
//! Fields come out as [`super::map_entry`] gives them for RSS: text with XML's own escapes and
//! CDATA undone (so a title or description is HTML, as RSS titles are read); markup written
//! straight into an element (`<description><p>…</p></description>`) is kept as HTML.

use url::Url;

use crate::model::{ParsedFeed, Person, RawEntry};

use super::{dates, floor_char_boundary, resolve};

/// Names tried for each field, in order of preference (qualified names as feeds write them).
const TITLE: &[&str] = &["title", "dc:title"];
const GUID: &[&str] = &["guid", "id", "dc:identifier"];
const SUMMARY: &[&str] = &["description", "summary", "dc:description", "abstract"];
const CONTENT: &[&str] = &[
    "content:encoded",
    "content",
    "xhtml:body",
    "body",
    "fullitem",
];
const PUBLISHED: &[&str] = &[
    "pubDate",
    "published",
    "dc:date",
    "dcterms:issued",
    "issued",
    "dcterms:created",
    "created",
];
const UPDATED: &[&str] = &["updated", "dcterms:modified", "modified"];
const AUTHOR: &[&str] = &["author", "dc:creator", "dc:author", "creator"];
const CATEGORY: &[&str] = &["category", "dc:subject"];

/// The items of `text`, in document order, one for each item element (an item whose fields
/// could not be read is an empty [`RawEntry`], so that positions match feed-rs's).
pub(crate) fn read_items(text: &str) -> Vec<RawEntry> {
    item_spans(text)
        .into_iter()
        .map(|(start, end)| read_item(&text[start..end]))
        .collect()
}

/// True when the entry has anything a reader could be shown.
pub(crate) fn has_content(e: &RawEntry) -> bool {
    e.title.is_some()
        || e.link.is_some()
        || e.guid.is_some()
        || e.summary_html.is_some()
        || e.content_html.is_some()
        || e.published.is_some()
        || e.updated.is_some()
        || !e.authors.is_empty()
        || !e.categories.is_empty()
}

/// How many `<item>`/`<entry>` start tags the text has: what a reader would count.
pub(crate) fn count_items(text: &str) -> usize {
    item_spans(text).len()
}

/// The text of each item element: from its start tag to its end tag, or to the next item (or
/// the document's end) when the end tag is missing.
fn item_spans(text: &str) -> Vec<(usize, usize)> {
    let starts: Vec<(usize, &str)> = start_tags(text)
        .filter_map(|(at, qname)| {
            let local = qname.rsplit(':').next().unwrap_or(qname);
            matches!(local, "item" | "entry" | "ITEM").then_some((at, qname))
        })
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &(at, qname))| {
            let limit = starts.get(i + 1).map_or(text.len(), |n| n.0);
            let close = format!("</{qname}");
            let end = text[at..limit]
                .find(&close)
                .map_or(limit, |e| at + e + close.len());
            (at, end)
        })
        .collect()
}

/// Every start tag's position and qualified name, skipping comments, CDATA sections and
/// declarations (whose text may hold anything).
fn start_tags(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        let at = pos + text[pos..].find('<')?;
        let rest = &text[at..];
        let skip_to = |end: &str| rest.find(end).map_or(text.len(), |e| at + e + end.len());
        if rest.starts_with("<!--") {
            pos = skip_to("-->");
        } else if rest.starts_with("<![CDATA[") {
            pos = skip_to("]]>");
        } else if rest.starts_with("<!") || rest.starts_with("<?") || rest.starts_with("</") {
            pos = at + 2;
        } else {
            pos = at + 1;
            let name = qname_at(&rest[1..]);
            if !name.is_empty() {
                return Some((at, name));
            }
        }
    })
}

fn qname_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || matches!(c, ':' | '_' | '-' | '.')))
        .unwrap_or(s.len());
    &s[..end]
}

/// One child element found in an item: its start tag's attributes text and its inner text.
struct Child<'a> {
    attrs: &'a str,
    inner: &'a str,
}

/// The elements named `name` in `scope` (at any depth: feeds nest little, and a tolerant read
/// prefers finding a field to placing it).
fn children<'a>(scope: &'a str, name: &'a str) -> impl Iterator<Item = Child<'a>> + 'a {
    let item = scope;
    start_tags(item)
        .filter(move |&(_, qname)| qname == name)
        .map(move |(at, _)| {
            let head_end = tag_end(item, at);
            let attrs = item[at + 1 + name.len()..head_end].trim_end_matches('>');
            if attrs.trim_end().ends_with('/') {
                return Child {
                    attrs: attrs.trim_end().trim_end_matches('/'),
                    inner: "",
                };
            }
            let body = &item[head_end..];
            let close = format!("</{name}");
            let inner_end = match body.find(&close) {
                Some(e) => e,
                // Unclosed: the text runs to the next tag that is not markup inside it.
                None => body
                    .find("</")
                    .into_iter()
                    .chain(next_start(body))
                    .min()
                    .unwrap_or(body.len()),
            };
            Child {
                attrs,
                inner: &body[..inner_end],
            }
        })
}

/// The first start tag in `s` outside CDATA.
fn next_start(s: &str) -> Option<usize> {
    start_tags(s).next().map(|(at, _)| at)
}

/// The end (exclusive) of the start tag at `from`, outside quoted values.
fn tag_end(s: &str, from: usize) -> usize {
    let mut quote = None;
    for (j, c) in s[from..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return from + j + 1,
            // A start tag cut short by the next one (`<title <b>`) ends before it.
            (None, '<') if j > 0 => return from + j,
            _ => {}
        }
    }
    s.len()
}

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs;
    while let Some(i) = rest.find(name) {
        let before_ok = i == 0 || rest[..i].ends_with(|c: char| c.is_whitespace());
        let after = rest[i + name.len()..].trim_start();
        rest = &rest[i + name.len()..];
        if !before_ok {
            continue;
        }
        let Some(after) = after.strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let q = after.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        return after[1..].find(q).map(|e| &after[1..1 + e]);
    }
    None
}

/// An element's text as HTML: CDATA unwrapped; XML's escapes undone unless the element holds
/// markup of its own (then it is HTML already, and `&lt;` there means a literal `<`).
fn html_of(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    let has_markup = next_start(inner).is_some();
    while let Some(i) = rest.find("<![CDATA[") {
        push_text(&rest[..i], has_markup, &mut out);
        let body = &rest[i + 9..];
        let e = body.find("]]>").unwrap_or(body.len());
        out.push_str(&body[..e]);
        rest = body.get(e + 3..).unwrap_or("");
    }
    push_text(rest, has_markup, &mut out);
    out.trim().to_string()
}

fn push_text(s: &str, keep: bool, out: &mut String) {
    if keep {
        out.push_str(s);
    } else {
        out.push_str(&unescape_xml(s));
    }
}

/// XML's five named references and numeric ones decoded; any other reference (`&nbsp;`) is
/// left for the HTML reader, for whom it means what it says.
fn unescape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let semi = after.find(';').filter(|&n| n <= 10);
        let decoded = semi.and_then(|n| match &after[..n] {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            r if r.starts_with("#x") || r.starts_with("#X") => u32::from_str_radix(&r[2..], 16)
                .ok()
                .and_then(char::from_u32),
            r if r.starts_with('#') => r[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        });
        match (decoded, semi) {
            (Some(c), Some(n)) => {
                out.push(c);
                rest = &after[n + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn first_text(item: &str, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        children(item, name)
            .map(|c| html_of(c.inner))
            .find(|t| !t.is_empty())
    })
}

fn read_item(element: &str) -> RawEntry {
    let own_end = tag_end(element, 0);
    let own_attrs = &element[..own_end];
    let item = &element[own_end..];
    let link = children(item, "link")
        .find_map(|c| {
            // Atom: `<link rel="alternate" href="…"/>` (rel absent means alternate).
            match attr(c.attrs, "href") {
                Some(href) => matches!(attr(c.attrs, "rel"), None | Some("alternate"))
                    .then(|| unescape_xml(href.trim())),
                None => Some(html_of(c.inner)).filter(|t| !t.is_empty()),
            }
        })
        .map(|l| unescape_xml(&l));
    let guid = first_text(item, GUID).or_else(|| attr(own_attrs, "rdf:about").map(unescape_xml));
    let permalink = children(item, "guid")
        .next()
        .is_none_or(|c| attr(c.attrs, "isPermaLink") != Some("false"));
    let link = link.or_else(|| {
        guid.clone()
            .filter(|g| permalink && (g.starts_with("http://") || g.starts_with("https://")))
    });
    let date = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| children(item, n).find_map(|c| dates::parse(&html_of(c.inner))))
    };
    let authors = AUTHOR
        .iter()
        .flat_map(|n| children(item, n))
        .filter_map(|c| {
            // Atom: `<author><name>…</name><email>…</email></author>`.
            let name = children(c.inner, "name")
                .next()
                .map(|n| html_of(n.inner))
                .unwrap_or_else(|| html_of(c.inner));
            let email = children(c.inner, "email").next().map(|e| html_of(e.inner));
            // RSS writes `address (Name)`; some feeds `Name (address)`.
            let (name, email) = match name.trim().split_once(" (") {
                Some((a, b)) if b.ends_with(')') => {
                    let b = b.trim_end_matches(')').trim();
                    match (a.contains('@'), b.contains('@')) {
                        (true, false) => (b.to_string(), Some(a.trim().to_string())),
                        (false, true) => (a.trim().to_string(), Some(b.to_string())),
                        _ => (name.trim().to_string(), email),
                    }
                }
                _ => (name.trim().to_string(), email),
            };
            (!name.is_empty()).then(|| Person {
                name,
                email: email.filter(|e| !e.is_empty()),
                uri: None,
            })
        })
        .take(8)
        .collect();
    let categories = CATEGORY
        .iter()
        .flat_map(|n| children(item, n))
        .filter_map(|c| {
            attr(c.attrs, "term")
                .map(unescape_xml)
                .or_else(|| Some(html_of(c.inner)))
                .filter(|t| !t.trim().is_empty())
        })
        .collect();
    RawEntry {
        guid,
        link,
        title: first_text(item, TITLE),
        content_html: first_text(item, CONTENT),
        summary_html: first_text(item, SUMMARY),
        published: date(PUBLISHED),
        updated: date(UPDATED),
        authors,
        categories,
        ..Default::default()
    }
}

/// `entry` with what it lacks taken from `found`, the same item as the tolerant reader saw it.
pub(crate) fn fill_missing(entry: &mut RawEntry, found: RawEntry) {
    entry.title = entry.title.take().or(found.title);
    entry.summary_html = entry.summary_html.take().or(found.summary_html);
    entry.content_html = entry.content_html.take().or(found.content_html);
    entry.published = entry.published.or(found.published);
    entry.updated = entry.updated.or(found.updated);
    if entry.authors.is_empty() {
        entry.authors = found.authors;
    }
    if entry.categories.is_empty() {
        entry.categories = found.categories;
    }
}

/// The repair note of a feed found inside other text.
pub const EMBEDDED: &str = "skipped text around the feed's root element";

/// A feed document inside other text: after garbage (a PHP warning printed before the XML) or
/// wrapped in an HTML page (`<html><body><rss …>`). Only a feed root element followed by items
/// counts, so an HTML page that merely links to its feeds is still not a feed.
pub(super) fn embedded_feed(text: &str) -> Option<&str> {
    let head = &text[..floor_char_boundary(text, 1 << 20)];
    let (start, close) = ["<rss", "<rdf:RDF", "<feed"]
        .iter()
        .filter_map(|root| {
            let mut from = 0;
            while let Some(i) = head[from..].find(root) {
                let at = from + i;
                let next = head[at + root.len()..].chars().next();
                let tag_end = head[at..].find('>').map_or(head.len(), |e| at + e);
                let atom_ok = *root != "<feed" || head[at..tag_end].contains("/2005/Atom");
                if matches!(next, Some(' ' | '\t' | '\r' | '\n' | '>')) && atom_ok {
                    return Some((at, format!("</{}>", &root[1..])));
                }
                from = at + root.len();
            }
            None
        })
        .min_by_key(|(at, _)| *at)?;
    let rest = &text[start..];
    let inner = match rest.rfind(&close) {
        Some(e) => &rest[..e + close.len()],
        None => rest,
    };
    (start > 0 && count_items(inner) > 0).then_some(inner)
}

/// The repair note of a document whose items the tolerant reader recovered.
pub const FALLBACK: &str = "items read by the tolerant reader";

/// The tolerant reader's items with something to show, links made absolute.
pub(super) fn read_fallback(text: &str, base: Option<&Url>) -> Vec<RawEntry> {
    read_items(text)
        .into_iter()
        .filter(has_content)
        .map(|mut e| {
            e.link = e.link.map(|l| resolve(base, &l));
            e.base = base.map(|b| b.to_string()).or_else(|| e.link.clone());
            e
        })
        .collect()
}

/// What feed-rs missed in a document it read: items it dropped (RSS 1.0 items without a link,
/// RSS 0.90's namespace) and fields it does not map (`dc:title`, `dc:subject`, `dcterms:issued`,
/// `<body>`). Runs the tolerant reader only when there is a sign of either, so a complete feed
/// costs one scan for its item count.
pub(super) fn complete(parsed: &mut ParsedFeed, text: &str, base: Option<&Url>) {
    let items = count_items(text);
    if items > parsed.entries.len() {
        let found = read_fallback(text, base);
        if found.len() > parsed.entries.len() {
            // The document's items as the tolerant reader counts them, but each one feed-rs
            // read as well (same guid or link) as feed-rs read it: its enclosures, media and
            // XML-aware fields are richer than the scan's.
            let mut read: Vec<Option<RawEntry>> = std::mem::take(&mut parsed.entries)
                .into_iter()
                .map(Some)
                .collect();
            parsed.entries = found
                .into_iter()
                .map(|f| {
                    let same = |e: &RawEntry| {
                        let trimmed =
                            |s: &Option<String>| s.as_deref().map(str::trim).map(str::to_owned);
                        (f.guid.is_some() && trimmed(&e.guid) == trimmed(&f.guid))
                            || (f.link.is_some() && e.link == f.link)
                    };
                    read.iter_mut()
                        .find(|e| e.as_ref().is_some_and(same))
                        .and_then(Option::take)
                        .unwrap_or(f)
                })
                .collect();
        }
        return;
    }
    let lacking = parsed.entries.iter().any(|e| {
        e.title.is_none()
            || (e.summary_html.is_none() && e.content_html.is_none())
            || (e.published.is_none() && e.updated.is_none())
    }) || (text.contains("<dc:subject")
        && parsed.entries.iter().all(|e| e.categories.is_empty()));
    if !lacking || items != parsed.entries.len() {
        return;
    }
    for (entry, found) in parsed.entries.iter_mut().zip(read_items(text)) {
        fill_missing(entry, found);
    }
}
