//! List pages → article links: by the source's `items` selector, or found automatically
//! (`items = "auto"`).
//!
//! The automatic finder looks for the repeated block of article links that a news list is made
//! of. Every visible link is grouped by its *path*: the tags from `<body>` down to it, each with
//! its first class (classes that only mark a state or a position, `odd`, `first`, `on`, are
//! left out, so that the rows of one list share a path). A group is scored by how much title
//! text its distinct links carry, and raised by what marks a news list: a date beside each link
//! (in its row, or in its URL), URLs that look like article pages (long numbers, days) and that
//! share one shape. Groups under navigation, footers, sidebars, "hot" or "most read" boxes (by
//! class or id, or by the short heading just before them) count for little. The best group's
//! rows (the children of the group's common ancestor) then lend the rest of that ancestor's
//! rows of the same tag their main link: a row laid out differently (a photo story among text
//! stories, a pinned forum thread) is still one of the list's articles.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use regex::Regex;
use scraper::{Html, Selector};
use url::Url;

use super::content::resolve;
use super::date::{find_date, url_date};
use super::dom::{is_space, Dom, NONE};
use super::{a_sel, base_sel, base_url, compile, hidden_selectors, without_hidden, ExtractError};

/// The value of `items` that asks for the automatic finder.
pub const AUTO: &str = "auto";

/// Whether an `items` value asks for the automatic finder.
pub fn is_auto(items: &str) -> bool {
    items.trim().eq_ignore_ascii_case(AUTO)
}

/// Turns a page's hrefs into the absolute URLs a list may lead to.
struct Resolver {
    base: Option<Url>,
    page_is_local: bool,
}

impl Resolver {
    fn new(doc: &Html, page_url: &str) -> Resolver {
        let base_href = doc
            .select(base_sel())
            .next()
            .and_then(|b| b.value().attr("href"));
        Resolver {
            base: base_url(base_href, page_url),
            page_is_local: Url::parse(page_url)
                .is_ok_and(|u| crate::ingest::fetch::in_local_space(&u)),
        }
    }

    /// The absolute URL of a link, without its fragment; `None` for what is no article link.
    fn resolve(&self, href: &str) -> Option<String> {
        let h = href.trim();
        if h.is_empty() || h.starts_with('#') || h.to_ascii_lowercase().starts_with("tel:") {
            return None;
        }
        let abs = resolve(self.base.as_ref(), h)?;
        let mut u = Url::parse(&abs).ok()?;
        if !matches!(u.scheme(), "http" | "https" | "file") {
            return None;
        }
        // What a page links to is the page author's choice, not the operator's: a list page
        // on the web may not send the daemon to local files or into the private network
        // (a file, a metadata endpoint, an admin panel would be fetched and published). A
        // local list page (a file, a host on the LAN) was configured as such and may.
        if !self.page_is_local && crate::ingest::fetch::in_local_space(&u) {
            return None;
        }
        u.set_fragment(None);
        Some(u.to_string())
    }
}

/// Article links on a list page: absolute, deduplicated, in page order, at most `max`.
///
/// `items_selector` is a CSS selector, or `"auto"` for the automatic finder ([`find_list`]).
/// When the selector matches containers rather than `<a>` elements, the links inside them are
/// used. Fragments are dropped (`page#top` is `page`); `javascript:`, `mailto:`, `tel:` and
/// fragment-only links are skipped.
pub fn extract_links(
    html: &str,
    page_url: &str,
    items_selector: &str,
    max: usize,
) -> Result<Vec<String>, ExtractError> {
    if is_auto(items_selector) {
        let mut links = find_list(html, page_url).links;
        links.truncate(max);
        return Ok(links);
    }
    let sel = compile(items_selector)?;
    let doc = Html::parse_document(html);
    let resolver = Resolver::new(&doc, page_url);
    Ok(selected_links(&doc, &resolver, &sel, max))
}

fn selected_links(doc: &Html, resolver: &Resolver, sel: &Selector, max: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut push = |href: &str, out: &mut Vec<String>| {
        if let Some(s) = resolver.resolve(href) {
            if seen.insert(s.clone()) {
                out.push(s);
            }
        }
    };
    for el in doc.select(sel) {
        if out.len() >= max {
            break;
        }
        if el.value().name() == "a" {
            if let Some(h) = el.value().attr("href") {
                push(h, &mut out);
            }
        } else {
            for a in el.select(a_sel()) {
                if out.len() >= max {
                    break;
                }
                if let Some(h) = a.value().attr("href") {
                    push(h, &mut out);
                }
            }
        }
    }
    out.truncate(max);
    out
}

/// What the automatic finder settled on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListGuess {
    /// The article links, deduplicated, in page order (none when the page has no list).
    pub links: Vec<String>,
    /// A CSS selector that yields exactly these links, when one was found.
    pub selector: Option<String>,
}

/// One visible link of the page.
struct Anchor {
    node: usize,
    url: String,
    /// Characters of its visible text.
    len: usize,
}

/// A group of links sharing a path, with its score.
struct Group {
    anchors: Vec<usize>,
    lca: usize,
    score: f32,
}

/// Classes that mark a state or a position in a list, not what the element is.
fn is_state_class(c: &str) -> bool {
    let l = c.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "odd"
            | "even"
            | "first"
            | "last"
            | "on"
            | "off"
            | "active"
            | "cur"
            | "current"
            | "selected"
            | "hover"
            | "new"
            | "common"
            | "clearfix"
            | "cf"
            | "clear"
            | "fl"
            | "fr"
            | "left"
            | "right"
            | "bold"
    ) || l.ends_with("first")
        || l.ends_with("last")
        // Numbered (`item-3`) or generated (`qced1e0569`) names differ from row to row.
        || c.bytes().last().is_some_and(|b| b.is_ascii_digit())
}

/// A class usable in a generated selector as it is.
fn plain_ident(c: &str) -> bool {
    let mut bytes = c.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The first meaningful, selector-safe class of element `i`.
fn key_class<'a>(dom: &Dom<'a>, i: usize) -> Option<&'a str> {
    let el = dom.nodes[i].el?;
    let classes = el.value().attr("class")?;
    classes
        .split_ascii_whitespace()
        .find(|c| !is_state_class(c) && plain_ident(c))
}

/// An id usable in a selector: plain, and not numbered (numbered ids are per row).
fn key_id<'a>(dom: &Dom<'a>, i: usize) -> Option<&'a str> {
    let id = dom.nodes[i].el?.value().attr("id")?;
    (plain_ident(id) && !id.bytes().any(|b| b.is_ascii_digit())).then_some(id)
}

/// The path key of node `i`: tags with their key class, from `<body>` down.
fn path_key(dom: &Dom, i: usize) -> String {
    let mut parts = Vec::new();
    let mut j = i;
    while j != NONE && j != dom.body {
        let n = &dom.nodes[j];
        match key_class(dom, j) {
            Some(c) => parts.push(format!("{}.{c}", n.name)),
            None => parts.push(n.name.to_string()),
        }
        j = n.parent;
    }
    parts.reverse();
    parts.join(">")
}

fn ancestors<'d>(dom: &'d Dom, i: usize) -> impl Iterator<Item = usize> + 'd {
    std::iter::successors(Some(dom.nodes[i].parent), |&p| {
        (p != NONE).then(|| dom.nodes[p].parent)
    })
    .take_while(|&p| p != NONE)
}

fn lca(dom: &Dom, nodes: &[usize]) -> usize {
    let Some(&first) = nodes.first() else {
        return dom.body;
    };
    let mut cand = dom.nodes[first].parent;
    for &n in &nodes[1..] {
        while cand != NONE && !(cand < n && n < dom.nodes[cand].end) {
            cand = dom.nodes[cand].parent;
        }
    }
    if cand == NONE {
        dom.body
    } else {
        cand
    }
}

/// The child of `top` that holds node `i` (`i` itself when it is a child).
fn row_of(dom: &Dom, top: usize, i: usize) -> usize {
    let mut j = i;
    while dom.nodes[j].parent != top && dom.nodes[j].parent != NONE {
        j = dom.nodes[j].parent;
    }
    j
}

/// Up to `limit` characters of visible text from `from` to `to` (node indices), spaced.
fn text_between(dom: &Dom, from: usize, to: usize, limit: usize) -> String {
    let mut out = String::new();
    let mut j = from;
    while j < to && out.len() < limit {
        let n = &dom.nodes[j];
        if n.skip {
            j = n.end;
            continue;
        }
        if n.el.is_none() {
            super::dom::push_collapsed(&mut out, n.text);
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
        j += 1;
    }
    out
}

/// Times that lists print beside a title: relative (`30分钟前`, `3 天前`, `2 hours ago`,
/// `昨天 21:51`), a time of day, a month and day.
fn list_time_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)\d+\s*(?:秒|分钟|小时|天|周|个月)前|刚刚|昨天|前天|今天|\d+\s*(?:sec|min|minute|hour|day|week)s?\s+ago|(?:^|[^\d:])\d{1,2}:\d{2}(?:$|[^\d:])|(?:^|[^\d-])\d{1,2}-\d{1,2}(?:$|[^\d-])|\d{1,2}月\d{1,2}日",
        )
        .expect("valid regex")
    })
}

/// Headings of lists that are not the page's own stream.
fn aside_heading_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)热门|热点|热读|热榜|热帖|最热|排行|榜单|点击榜|推荐|精选|猜你喜欢|相关|专题|图片|视频|友情链接|most\s+(?:read|popular|viewed|shared)|popular|trending|related|recommended|editor'?s\s+picks?",
        )
        .expect("valid regex")
    })
}

/// Does a URL look like an article page: a day in it, or a long number?
fn articleish(url: &str) -> bool {
    if url_date(url).is_some() {
        return true;
    }
    let Ok(u) = Url::parse(url) else { return false };
    let tail = format!("{}?{}", u.path(), u.query().unwrap_or(""));
    let mut run = 0;
    let mut longest = 0;
    for b in tail.bytes() {
        if b.is_ascii_digit() {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest >= 4 || (u.path().len() > 24 && u.path().matches('/').count() >= 2)
}

/// A URL's shape: host and path, with numbered segments reduced to `N` or `X`.
fn shape(url: &str) -> String {
    let Ok(u) = Url::parse(url) else {
        return String::new();
    };
    let mut s = u.host_str().unwrap_or("").to_string();
    for seg in u.path().split('/') {
        s.push('/');
        let (stem, ext) = seg.rsplit_once('.').unwrap_or((seg, ""));
        if !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()) {
            s.push('N');
        } else if stem.bytes().any(|b| b.is_ascii_digit()) {
            s.push('X');
        } else {
            s.push_str(stem);
        }
        if !ext.is_empty() {
            s.push('.');
            s.push_str(ext);
        }
    }
    s
}

/// Is the group's block furniture: under navigation, a footer, a sidebar, a hot list (by
/// class, id or tag), or after a short heading naming a hot or related list?
fn is_aside(dom: &Dom, lca: usize) -> bool {
    if std::iter::once(lca)
        .chain(ancestors(dom, lca))
        .any(|p| dom.nodes[p].unlikely)
    {
        return true;
    }
    // The text just before the block (its previous siblings' tail), in its parent, else, when
    // nothing precedes it there, in its grandparent.
    let mut block = lca;
    for _ in 0..2 {
        let parent = dom.nodes[block].parent;
        if parent == NONE {
            break;
        }
        let before: String = dom
            .children(parent)
            .take_while(|&c| c < block)
            .filter(|&c| !dom.nodes[c].skip && dom.nodes[c].chars > 0)
            .last()
            .map(|c| text_between(dom, c, dom.nodes[c].end, 400))
            .unwrap_or_default();
        let before = before.trim();
        let chars: Vec<char> = before.chars().collect();
        let tail: String = chars[chars.len().saturating_sub(24)..].iter().collect();
        if !tail.is_empty() && aside_heading_re().is_match(&tail) {
            return true;
        }
        if !before.is_empty() {
            break;
        }
        block = parent;
    }
    false
}

/// The visible links of the page, with their text length.
fn anchors(dom: &Dom, resolver: &Resolver, page: Option<&str>) -> Vec<Anchor> {
    let mut out = Vec::new();
    for (i, n) in dom.nodes.iter().enumerate() {
        if n.skip || n.name != "a" {
            continue;
        }
        let Some(href) = n.el.and_then(|e| e.value().attr("href")) else {
            continue;
        };
        let Some(url) = resolver.resolve(href) else {
            continue;
        };
        if Some(url.as_str()) == page {
            continue;
        }
        let len = text_between(dom, i + 1, n.end, 400)
            .chars()
            .filter(|c| !is_space(*c))
            .count();
        out.push(Anchor { node: i, url, len });
    }
    out
}

fn score_group(dom: &Dom, all: &[Anchor], members: &[usize]) -> Option<Group> {
    let mut seen = HashSet::new();
    let distinct: Vec<&Anchor> = members
        .iter()
        .map(|&k| &all[k])
        .filter(|a| a.len > 0 && seen.insert(a.url.as_str()))
        .collect();
    if distinct.len() < 2 {
        return None;
    }
    let nodes: Vec<usize> = members.iter().map(|&k| all[k].node).collect();
    let lca = lca(dom, &nodes);
    let n = distinct.len() as f32;
    let avg_len = distinct.iter().map(|a| a.len).sum::<usize>() as f32 / n;
    if avg_len < 4.0 {
        return None;
    }
    let mass: f32 = distinct.iter().map(|a| a.len.min(40) as f32).sum();
    let mut dated = 0usize;
    let mut article = 0usize;
    let mut shapes: HashMap<String, usize> = HashMap::new();
    for a in &distinct {
        let row = row_of(dom, lca, a.node);
        let text = if row == a.node {
            // Links side by side in one block: the text up to the next link is the row.
            let next = dom.nodes[a.node + 1..]
                .iter()
                .position(|m| m.name == "a")
                .map(|p| a.node + 1 + p)
                .unwrap_or(dom.nodes.len());
            text_between(dom, dom.nodes[a.node].end, next, 200)
        } else {
            text_between(dom, row, dom.nodes[row].end, 600)
        };
        if url_date(&a.url).is_some()
            || find_date(&text).is_some()
            || list_time_re().is_match(&text)
        {
            dated += 1;
        }
        if articleish(&a.url) {
            article += 1;
        }
        *shapes.entry(shape(&a.url)).or_default() += 1;
    }
    let dated = dated as f32 / n;
    let article = article as f32 / n;
    let shared = shapes.values().copied().max().unwrap_or(0) as f32 / n;
    let short = if avg_len < 8.0 { 0.3 } else { 1.0 };
    let aside = if is_aside(dom, lca) { 0.15 } else { 1.0 };
    let score =
        mass.powf(0.8) * (0.4 + dated) * (0.4 + article) * (0.5 + shared / 2.0) * short * aside;
    Some(Group {
        anchors: members.to_vec(),
        lca,
        score,
    })
}

/// The best group's links, with the main link of every other row of its block.
fn list_links(dom: &Dom, all: &[Anchor], g: &Group) -> Vec<usize> {
    let mut picked: Vec<usize> = g.anchors.clone();
    let rows: HashSet<usize> = g
        .anchors
        .iter()
        .map(|&k| row_of(dom, g.lca, all[k].node))
        .collect();
    // Rows are alike by tag and key class: an advert or a folder among the rows is not one.
    let kind = |r: usize| (dom.nodes[r].name, key_class(dom, r));
    let mut kinds: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for &r in &rows {
        *kinds.entry(kind(r)).or_default() += 1;
    }
    let Some((&(tag, class), _)) = kinds.iter().max_by_key(|(k, &c)| (c, *k)) else {
        return picked;
    };
    // The block's other rows of that kind: its children, or rows of a list nested in it (the
    // pinned threads in a folder), never inside one of the group's rows.
    let mut others = Vec::new();
    let mut j = g.lca + 1;
    let lca_end = dom.nodes[g.lca].end;
    while j < lca_end {
        let n = &dom.nodes[j];
        if rows.contains(&j) || n.skip || n.el.is_none() {
            j = n.end.max(j + 1);
            continue;
        }
        if kind(j) == (tag, class) {
            others.push(j);
            j = n.end;
            continue;
        }
        j += 1;
    }
    // Only a block that is the list: most of its rows already hold one of the group's links.
    if tag == "a" || others.len() > rows.len() {
        return picked;
    }
    let avg_len = g.anchors.iter().map(|&k| all[k].len).sum::<usize>() / g.anchors.len().max(1);
    let min_len = (avg_len / 3).max(4);
    for row in others {
        let end = dom.nodes[row].end;
        let main = all
            .iter()
            .enumerate()
            .filter(|(_, a)| a.node > row && a.node < end && a.len >= min_len)
            .max_by_key(|(_, a)| a.len)
            .map(|(k, _)| k);
        picked.extend(main);
    }
    picked.sort_by_key(|&k| all[k].node);
    picked
}

/// Find the article links of a news list page without a selector (see the module's notes),
/// and a CSS selector that yields exactly them when there is one.
pub fn find_list(html: &str, page_url: &str) -> ListGuess {
    let doc = Html::parse_document(html);
    let first = Dom::build(&doc);
    let hidden = hidden_selectors(&first);
    let dom = without_hidden(first, &doc, &hidden, &[]);
    let resolver = Resolver::new(&doc, page_url);
    let page = Url::parse(page_url).ok().map(|mut u| {
        u.set_fragment(None);
        u.to_string()
    });
    let all = anchors(&dom, &resolver, page.as_deref());
    let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
    for (k, a) in all.iter().enumerate() {
        by_path.entry(path_key(&dom, a.node)).or_default().push(k);
    }
    let best = by_path
        .values()
        .filter_map(|members| score_group(&dom, &all, members))
        .max_by(|a, b| {
            a.score
                .total_cmp(&b.score)
                .then_with(|| b.anchors.first().cmp(&a.anchors.first()))
        });
    let Some(best) = best else {
        return ListGuess::default();
    };
    let mut seen = HashSet::new();
    let links: Vec<String> = list_links(&dom, &all, &best)
        .into_iter()
        .map(|k| all[k].url.clone())
        .filter(|u| seen.insert(u.clone()))
        .collect();
    let selector = describe(&dom, &doc, &resolver, &all, &best, &links);
    ListGuess { links, selector }
}

/// The simplest selector among a few built from the group's path that yields exactly `links`.
fn describe(
    dom: &Dom,
    doc: &Html,
    resolver: &Resolver,
    all: &[Anchor],
    g: &Group,
    links: &[String],
) -> Option<String> {
    let a = all[*g.anchors.first()?].node;
    let own = key_class(dom, a).map(|c| format!("a.{c}"));
    let parent = dom.nodes[a].parent;
    let parent_tag = (parent != NONE && parent != g.lca)
        .then(|| match key_class(dom, parent) {
            Some(c) => format!("{}.{c}", dom.nodes[parent].name),
            None => dom.nodes[parent].name.to_string(),
        })
        .map(|p| format!("{p} a"));
    let tails: Vec<String> = ["a".to_string()]
        .into_iter()
        .chain(own.clone())
        .chain(parent_tag)
        .collect();
    let mut candidates: Vec<String> = own.into_iter().collect();
    for anc in ancestors(dom, a).take_while(|&p| p != dom.body).take(8) {
        let head = match (key_id(dom, anc), key_class(dom, anc)) {
            (Some(id), _) => format!("#{id}"),
            (None, Some(c)) => format!("{}.{c}", dom.nodes[anc].name),
            _ => continue,
        };
        for t in &tails {
            candidates.push(format!("{head} {t}"));
        }
    }
    candidates.sort_by_key(|c| c.len());
    candidates.dedup();
    candidates.into_iter().find(|c| {
        Selector::parse(c)
            .map(|sel| selected_links(doc, resolver, &sel, usize::MAX) == links)
            .unwrap_or(false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_reduce_numbers() {
        assert_eq!(
            shape("http://sn.people.com.cn/n2/2021/1229/c226647-35071234.html"),
            "sn.people.com.cn//X/N/N/X.html"
        );
        assert!(articleish("https://tieba.baidu.com/p/6401593389"));
        assert!(!articleish("http://sports.163.com/"));
    }
}
