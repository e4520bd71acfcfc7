//! Documents made readable for feed-rs before it reads them: real feeds that feedparser reads
//! and feed-rs refuses or misreads, each fixed by the smallest change to the text.
//!
//! - **Atom 0.3** is rewritten as Atom 1.0 (namespace and renamed elements).
//! - **The RSS root.** feed-rs dispatches on `<rss version="…">` and knows only `2.0`, `0.91`,
//!   `0.92` and an empty value: a bare `<rss>` (old Latin-1 feeds), `0.93`, `0.94` or `2.0.1`
//!   gave "no feed root". And a default namespace on the root (UserLand's
//!   `xmlns="http://backend.userland.com/rss2"`) puts every element in a namespace feed-rs does
//!   not know, so it found a channel with no items. The root gets `version="2.0"` (the RSS 2.0
//!   reader is a superset of the others) and loses its default namespace: an un-prefixed
//!   element of an RSS document is RSS.
//! - **Contact elements.** feed-rs 3.0.0 splits an RSS `author`, `managingEditor` or
//!   `webMaster` into a name and an e-mail address by slicing one byte before the address (and
//!   one after it). When the address touches a multi-byte character, as in the common Chinese
//!   byline `编辑：zhang@example.com`, that slice falls inside the character and feed-rs panics;
//!   the panic is caught, but the whole feed was refused. A space between the address and such
//!   a character keeps the slice on a character boundary and changes nothing a reader sees
//!   (feed-rs trims the name).
//! - **Atom text types.** feed-rs refuses the whole document over one text construct whose
//!   `type` it does not know: an empty one, `application/xhtml+xml`, or a base64 document
//!   (`application/octet-stream`; Atom 0.3's `mode="base64"`). Those get the type feed-rs
//!   knows, and base64 is decoded into escaped HTML, as feedparser reads it.

use std::borrow::Cow;
use std::collections::HashSet;

/// The elements feed-rs reads as a person with `parse_person_name_email`.
const CONTACTS: [&str; 3] = ["author", "managingEditor", "webMaster"];

/// The RSS versions feed-rs dispatches on.
const KNOWN_RSS_VERSIONS: [&str; 4] = ["2.0", "", "0.91", "0.92"];

/// `body` with every fix below applied; borrowed unchanged when none was needed.
pub fn prepare(body: &str) -> Cow<'_, str> {
    // Atom 0.3 uses its own namespace and a few other element names; feed-rs reads Atom 1.0.
    if body.contains(ATOM03_NS) {
        return Cow::Owned(prepare(&atom03_to_atom10(body)).into_owned());
    }
    let rooted = fix_rss_root(body);
    let spaced = match space_contact_emails(&rooted) {
        Cow::Borrowed(_) => rooted,
        Cow::Owned(s) => Cow::Owned(s),
    };
    match atom_text_types(&spaced) {
        Some(fixed) => Cow::Owned(fixed),
        None => spaced,
    }
}

const ATOM03_NS: &str = "http://purl.org/atom/ns#";

/// Rewrites an Atom 0.3 document as Atom 1.0: namespace and renamed elements.
fn atom03_to_atom10(body: &str) -> String {
    let mut s = body.replace(ATOM03_NS, "http://www.w3.org/2005/Atom");
    for (old, new) in [
        ("issued", "published"),
        ("modified", "updated"),
        ("tagline", "subtitle"),
        ("copyright", "rights"),
    ] {
        for (o, n) in [("<", "<"), ("</", "</")] {
            let from = format!("{o}{old}");
            if s.contains(&from) {
                s = s.replace(&from, &format!("{n}{new}"));
            }
        }
    }
    // 0.3 text constructs carry MIME types.
    for (old, new) in [
        ("type=\"text/plain\"", "type=\"text\""),
        ("type='text/plain'", "type='text'"),
        ("type=\"application/xhtml+xml\"", "type=\"xhtml\""),
        ("type='application/xhtml+xml'", "type='xhtml'"),
    ] {
        if s.contains(old) {
            s = s.replace(old, new);
        }
    }
    // `created` has no Atom 1.0 counterpart; `published` covers it when `issued` is absent.
    s
}

/// Atom text constructs and content whose `type` feed-rs refuses, rewritten (see the module
/// notes); `None` when there are none.
fn atom_text_types(body: &str) -> Option<String> {
    if !body.contains("http://www.w3.org/2005/Atom")
        || !(body.contains("type=") || body.contains("mode="))
    {
        return None;
    }
    let mut out = String::with_capacity(body.len());
    // `pos` is where the scan is, `copied` how much of `body` is in `out`.
    let (mut pos, mut copied) = (0, 0);
    while let Some(i) = body[pos..].find('<') {
        let at = pos + i;
        let name_len = body[at + 1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(0);
        let name = &body[at + 1..at + 1 + name_len];
        let typed = matches!(
            name,
            "title" | "summary" | "content" | "subtitle" | "rights"
        );
        let Some(end) = typed.then(|| tag_end(body, at)).flatten() else {
            pos = at + 1;
            continue;
        };
        let inside = &body[at + 1 + name_len..end - 1];
        let attrs = attributes(inside.trim_end_matches('/'));
        let kind = attrs.iter().find(|a| a.0 == "type").map(|a| a.1);
        let base64 = attrs.iter().any(|a| a.0 == "mode" && a.1 == "base64")
            || kind
                .is_some_and(|k| k.contains('/') && !k.starts_with("text/") && !k.ends_with("xml"));
        let new_type = match kind {
            _ if base64 => Some("html"),
            Some("") => Some("text"),
            Some("text/plain") => Some("text"),
            Some("application/xhtml+xml") => Some("xhtml"),
            _ => None,
        };
        let close = format!("</{name}>");
        let body_end = body[end..].find(&close).map(|e| end + e);
        let (Some(new_type), Some(body_end)) = (new_type, body_end) else {
            pos = end;
            continue;
        };
        let mut tag = format!("<{name} type=\"{new_type}\"");
        for (n, _, whole) in &attrs {
            if *n != "type" && *n != "mode" {
                tag.push(' ');
                tag.push_str(whole);
            }
        }
        tag.push('>');
        out.push_str(&body[copied..at]);
        out.push_str(&tag);
        let text = &body[end..body_end];
        if base64 {
            match decode_base64(text) {
                Some(decoded) => out.push_str(&xml_escape(&decoded)),
                None => out.push_str(text),
            }
        } else {
            out.push_str(text);
        }
        pos = body_end;
        copied = body_end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&body[copied..]);
    Some(out)
}

/// Standard base64 (RFC 4648, padding optional, whitespace ignored) to UTF-8 text.
fn decode_base64(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Where the root element's start tag is: after a BOM, the XML declaration, processing
/// instructions, comments and a doctype (with its internal subset).
fn root_start(body: &str) -> Option<usize> {
    let mut i = 0;
    loop {
        let rest = &body[i..];
        let trimmed = rest.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
        i += rest.len() - trimmed.len();
        let skip_to = |end: &str| trimmed.find(end).map(|j| j + end.len());
        let skipped = if trimmed.starts_with("<?") {
            skip_to("?>")
        } else if trimmed.starts_with("<!--") {
            skip_to("-->")
        } else if trimmed.starts_with("<!") {
            // A doctype; its internal subset may hold `>` inside `[…]`.
            let close = match (trimmed.find('['), trimmed.find('>')) {
                (Some(b), Some(g)) if b < g => trimmed[b..].find("]").map(|j| b + j),
                _ => Some(0),
            }?;
            trimmed[close..].find('>').map(|j| close + j + 1)
        } else if trimmed.starts_with('<') {
            return Some(i);
        } else {
            return None;
        };
        i += skipped?;
    }
}

/// The end (exclusive) of the start tag beginning at `from`: its `>`, outside quoted values.
fn tag_end(body: &str, from: usize) -> Option<usize> {
    let mut quote = None;
    for (j, c) in body[from..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(from + j + 1),
            _ => {}
        }
    }
    None
}

/// The attributes of a start tag's inside (`rss version="2.0" xmlns="…"` without `<`, `>`):
/// each as (name, value, its whole text). Unquoted or broken attributes end the list.
fn attributes(inside: &str) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    let mut rest = inside;
    loop {
        let trimmed = rest.trim_start();
        let start = inside.len() - trimmed.len();
        let Some(eq) = trimmed.find('=') else { break };
        let name = trimmed[..eq].trim();
        let after = trimmed[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(close) = after[1..].find(q) else {
            break;
        };
        let value = &after[1..1 + close];
        let end = inside.len() - after.len() + close + 2;
        out.push((name, value, &inside[start..end]));
        rest = &inside[end..];
    }
    out
}

/// The RSS guids marked `isPermaLink="false"`, which feed-rs does not keep: such a guid is an
/// id, never the item's link, even when it looks like a URL.
pub fn non_permalink_guids(body: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    if !body.contains("ermaLink") && !body.contains("ermalink") {
        return out;
    }
    let mut from = 0;
    while let Some(i) = body[from..].find("<guid").map(|i| from + i) {
        from = i + 5;
        let Some(end) = tag_end(body, i) else { break };
        let inside = body[i + 5..end - 1].trim_end_matches('/');
        if !inside.starts_with([' ', '\t', '\r', '\n']) || body[..end].ends_with("/>") {
            continue;
        }
        let not_permalink = attributes(inside).iter().any(|(n, v, _)| {
            n.eq_ignore_ascii_case("isPermaLink") && v.trim().eq_ignore_ascii_case("false")
        });
        let Some(close) = body[end..].find("</guid>").map(|j| end + j) else {
            break;
        };
        if not_permalink {
            let text = body[end..close].trim();
            let value = match text
                .strip_prefix("<![CDATA[")
                .and_then(|t| t.strip_suffix("]]>"))
            {
                Some(cdata) => cdata.trim().to_string(),
                None => text
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
            };
            out.insert(value);
        }
        from = close;
    }
    out
}

/// A bare, unknown-versioned or default-namespaced `<rss>` root made one feed-rs reads.
fn fix_rss_root(body: &str) -> Cow<'_, str> {
    let Some(start) = root_start(body) else {
        return Cow::Borrowed(body);
    };
    let tag = &body[start..];
    let is_rss = tag.starts_with("<rss")
        && matches!(
            tag[4..].chars().next(),
            Some(' ' | '\t' | '\r' | '\n' | '>' | '/')
        );
    if !is_rss {
        return Cow::Borrowed(body);
    }
    let Some(end) = tag_end(body, start) else {
        return Cow::Borrowed(body);
    };
    let inside = body[start + 4..end - 1].trim_end_matches('/');
    let attrs = attributes(inside);
    let version_ok = attrs
        .iter()
        .any(|(n, v, _)| *n == "version" && KNOWN_RSS_VERSIONS.contains(v));
    let default_ns = attrs.iter().any(|(n, _, _)| *n == "xmlns");
    if version_ok && !default_ns {
        return Cow::Borrowed(body);
    }
    let mut root = String::from("<rss version=\"2.0\"");
    for (name, _, whole) in &attrs {
        if *name != "version" && *name != "xmlns" {
            root.push(' ');
            root.push_str(whole);
        }
    }
    root.push_str(&body[start + 4 + inside.len()..end]);
    Cow::Owned(format!("{}{root}{}", &body[..start], &body[end..]))
}

/// `body` with a space put between every e-mail address inside an RSS contact element and a
/// non-ASCII character touching it; borrowed unchanged when there is nothing to do.
pub fn space_contact_emails(body: &str) -> Cow<'_, str> {
    if body.is_ascii() || !CONTACTS.iter().any(|c| body.contains(&format!("<{c}"))) {
        return Cow::Borrowed(body);
    }
    let mut out = String::with_capacity(body.len() + 16);
    let mut rest = body;
    while let Some((start, name)) = next_contact(rest) {
        let Some(open_end) = rest[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let close = format!("</{name}>");
        let Some(text_end) = rest[open_end..].find(&close).map(|i| open_end + i) else {
            break;
        };
        out.push_str(&rest[..open_end]);
        space_emails(&rest[open_end..text_end], &mut out);
        rest = &rest[text_end..];
    }
    out.push_str(rest);
    if out.len() == body.len() {
        Cow::Borrowed(body)
    } else {
        Cow::Owned(out)
    }
}

/// The byte offset and name of the next contact start tag (`<author>` or `<author …>`, not
/// `<authority>` or `<atom:author>`).
fn next_contact(s: &str) -> Option<(usize, &'static str)> {
    CONTACTS
        .iter()
        .filter_map(|name| {
            let tag = format!("<{name}");
            let mut from = 0;
            while let Some(i) = s[from..].find(&tag).map(|i| from + i) {
                let after = s[i + tag.len()..].chars().next();
                if matches!(after, Some('>' | ' ' | '\t' | '\r' | '\n')) {
                    return Some((i, *name));
                }
                from = i + tag.len();
            }
            None
        })
        .min()
}

fn is_local_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn is_domain_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || ".-".contains(c)
}

/// Copy `text` to `out`, with a space on each side of an address where a non-ASCII character
/// touches it.
fn space_emails(text: &str, out: &mut String) {
    let mut copied = 0;
    for (at, _) in text.match_indices('@') {
        if at < copied {
            continue;
        }
        let mut start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local_part(*c))
            .last()
            .map_or(at, |(i, _)| i)
            .max(copied);
        // feed-rs's pattern may also begin at a `mailto:` before the address.
        if text[copied..start].ends_with("mailto:") {
            start -= "mailto:".len();
        }
        let end = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| is_domain_part(*c))
            .last()
            .map_or(at + 1, |(i, c)| at + 1 + i + c.len_utf8());
        // No domain: not an address. No local part left (a chained `@`): the domain side
        // still needs its space.
        if end == at + 1 {
            continue;
        }
        out.push_str(&text[copied..start]);
        if !text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_ascii())
        {
            out.push(' ');
        }
        out.push_str(&text[start..end]);
        if !text[end..].chars().next().is_none_or(|c| c.is_ascii()) {
            out.push(' ');
        }
        copied = end;
    }
    out.push_str(&text[copied..]);
}

#[cfg(test)]
mod tests {
    use super::{
        atom_text_types, decode_base64, non_permalink_guids, prepare, space_contact_emails,
    };
    use std::borrow::Cow;

    #[test]
    fn addresses_touching_multibyte_characters_get_a_space() {
        let doc = "<item><author>编辑：zhang@example.com（实习）</author>\
                   <description>联系：li@example.com</description></item>";
        assert_eq!(
            space_contact_emails(doc),
            "<item><author>编辑： zhang@example.com （实习）</author>\
             <description>联系：li@example.com</description></item>"
        );
    }

    #[test]
    fn rss_roots_get_a_version_feed_rs_knows_and_lose_a_default_namespace() {
        let cases = [
            (
                "<rss><channel></channel></rss>",
                "<rss version=\"2.0\"><channel></channel></rss>",
            ),
            (
                "<?xml version='1.0'?>\n<!-- c -->\n<!DOCTYPE rss [<!ENTITY x '>'>]>\n\
                 <rss version=\"0.94\" xmlns:dc='http://purl.org/dc/elements/1.1/'>",
                "<?xml version='1.0'?>\n<!-- c -->\n<!DOCTYPE rss [<!ENTITY x '>'>]>\n\
                 <rss version=\"2.0\" xmlns:dc='http://purl.org/dc/elements/1.1/'>",
            ),
            (
                "<rss xmlns=\"http://backend.userland.com/rss2\" version=\"2.0\">",
                "<rss version=\"2.0\">",
            ),
            ("<rss version=\" 2.0\">", "<rss version=\"2.0\">"),
        ];
        for (doc, want) in cases {
            assert_eq!(prepare(doc), want);
        }
        for doc in [
            "<rss version=\"2.0\"><channel/></rss>",
            "<rss version='0.91'>",
            "<rss version=\"\">",
            "<rssx>",
            "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
            "<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\">",
        ] {
            assert!(matches!(prepare(doc), Cow::Borrowed(_)), "{doc}");
        }
    }

    #[test]
    fn guids_marked_as_no_permalink_are_found() {
        let doc = "<item><guid isPermaLink=\"false\">http://e.example/1?a=1&amp;b=2</guid></item>\
                   <item><guid isPermaLink='true'>http://e.example/2</guid></item>\
                   <item><guid>http://e.example/3</guid></item>\
                   <item><guid ispermalink=\"FALSE\"><![CDATA[ tag:e,2020:4&amp; ]]></guid></item>\
                   <item><guid isPermaLink=\"false\"/></item><item><guid>http://e.example/5</guid></item>";
        let mut got: Vec<String> = non_permalink_guids(doc).into_iter().collect();
        got.sort();
        assert_eq!(got, ["http://e.example/1?a=1&b=2", "tag:e,2020:4&amp;"]);
    }

    #[test]
    fn a_mailto_prefix_is_spaced_as_the_address_would_be() {
        assert_eq!(
            space_contact_emails("<author>编辑：mailto:a@b.cn</author>"),
            "<author>编辑： mailto:a@b.cn</author>"
        );
        // Chained `@`s never slice backwards.
        assert_eq!(
            space_contact_emails("<author>编x@y@z.cn辑</author>"),
            "<author>编 x@y@z.cn 辑</author>"
        );
    }

    #[test]
    fn atom_text_types_feed_rs_refuses_are_rewritten() {
        let doc = |inner: &str| {
            format!("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>{inner}</entry></feed>")
        };
        // "Example <b>Atom</b>" in base64.
        let fixed = atom_text_types(&doc(
            "<title type=\"application/octet-stream\">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</title>",
        ))
        .unwrap();
        assert!(
            fixed.contains("<title type=\"html\">Example &lt;b&gt;Atom&lt;/b&gt;</title>"),
            "{fixed}"
        );
        let fixed = atom_text_types(&doc("<title type=\"\">evil</title>")).unwrap();
        assert!(
            fixed.contains("<title type=\"text\">evil</title>"),
            "{fixed}"
        );
        let fixed = atom_text_types(&doc(
            "<summary type=\"application/xhtml+xml\" xml:lang=\"en\"><div>x</div></summary>",
        ))
        .unwrap();
        assert!(
            fixed.contains("<summary type=\"xhtml\" xml:lang=\"en\"><div>x</div></summary>"),
            "{fixed}"
        );
        assert_eq!(decode_base64("aGk=\n"), Some("hi".into()));
        assert_eq!(decode_base64("a*b"), None);
        assert!(atom_text_types(&doc("<title type=\"html\">x</title>")).is_none());
    }

    #[test]
    fn everything_else_is_left_alone() {
        for doc in [
            "<author>zhang@example.com (张三)</author>",
            "<authority>编辑：a@b.cn</authority>",
            "<atom:author><name>编辑：a@b.cn</name></atom:author>",
            "<author>编辑 张三</author>",
            "<author>编辑：@</author>",
            "<author>未闭合：a@b.cn",
            "<author>a@b@c.cn</author>",
        ] {
            assert_eq!(space_contact_emails(doc), doc);
        }
    }
}
