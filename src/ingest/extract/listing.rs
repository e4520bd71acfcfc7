//! Pages whose content is a list of items: a shop's product grid, a listing of events, jobs,
//! homes or stories, a wiki page of links, a table of publications.
//!
//! Such a page has no article: scoring, which looks for running prose and discounts links,
//! settles on whatever prose the page has besides the list (a newsletter box, a promotion, the
//! footer's legal text, one card). What the page is about is a run of sibling elements made
//! from one template (same tag, same first class name), each holding an item's title and a
//! short description, price or date. When such a run holds far more text than what scoring
//! found, the run (with the heading and introduction around it) is the content.

use url::Url;

use super::content::{render_blocks, Block};
use super::dom::{Dom, NONE};
use super::{clean_blocks, Cleaned, THIN};

/// Fewest items that make a list (three cards are as often a page's "features" row).
const MIN_ITEMS: usize = 4;

/// Characters an item holds at least, on average: a menu's entries are a word or two, while a
/// product's, event's or story's title with its price, date or summary is more.
const MIN_AVG_CHARS: u32 = 25;

/// Characters an item holds at most, on average: longer ones are an article's sections or a
/// reference page's entries, not a list's teasers.
const MAX_AVG_CHARS: u32 = 2000;

/// Characters below which an item counts as empty (a spacer, an image-only tile).
const EMPTY_ITEM: u32 = 8;

/// A run of items of one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ItemList {
    /// The element the content is rendered from: the items' parent or, where the page splits
    /// its items into several runs of the same template, their nearest common ancestor.
    pub region: usize,
    /// Characters of the items' text.
    pub chars: u32,
}

/// An element that is page furniture by its tag, role or class: a list there (a menu, a
/// footer's link columns, a sidebar) is never the content.
fn furniture(dom: &Dom, i: usize) -> bool {
    let n = &dom.nodes[i];
    n.unlikely || matches!(n.name, "nav" | "aside" | "footer" | "header" | "form")
}

/// Tags an item may have. Paragraphs (an article's text), headings and inline elements are not
/// items.
fn item_tag(name: &str) -> bool {
    matches!(
        name,
        "li" | "div" | "article" | "section" | "tr" | "a" | "figure" | "dl"
    )
}

/// The first class name of element `i` ("" without one): the template an item was made from.
fn first_class<'a>(dom: &Dom<'a>, i: usize) -> &'a str {
    dom.nodes[i]
        .el
        .and_then(|e| e.value().attr("class"))
        .and_then(|c| c.split_whitespace().next())
        .unwrap_or("")
}

/// One template's items under one parent.
struct Run<'a> {
    parent: usize,
    name: &'a str,
    class: &'a str,
    chars: u32,
}

/// Does the run of `name.class` items under `p` belong to a tree: is it nested inside an item
/// of its own template, or does one of its items hold one? A tree of items (a thread's reply
/// index, a table of contents, a site map) is not a list of things side by side.
fn in_tree(dom: &Dom, p: usize, name: &str, class: &str) -> bool {
    // Plain `<div>`s wrap one another everywhere: being inside one says nothing.
    if name == "div" && class.is_empty() {
        return false;
    }
    let kin = |i: usize| dom.nodes[i].name == name && first_class(dom, i) == class;
    let mut a = dom.nodes[p].parent;
    while a != NONE && a > dom.body {
        if kin(a) {
            return true;
        }
        a = dom.nodes[a].parent;
    }
    dom.children(p)
        .filter(|&c| kin(c))
        .any(|c| (c + 1..dom.nodes[c].end).any(|i| !dom.nodes[i].skip && kin(i)))
}

/// The runs of item-like children of `p` that qualify as a list.
fn runs_under<'a>(dom: &Dom<'a>, p: usize, out: &mut Vec<Run<'a>>) {
    // (name, class, items, non-empty items, characters)
    let mut groups: Vec<(&str, &str, usize, usize, u32)> = Vec::new();
    for c in dom.children(p) {
        let n = &dom.nodes[c];
        if n.skip || n.el.is_none() || !item_tag(n.name) {
            continue;
        }
        let class = first_class(dom, c);
        let g = match groups
            .iter_mut()
            .position(|g| g.0 == n.name && g.1 == class)
        {
            Some(k) => &mut groups[k],
            None => {
                groups.push((n.name, class, 0, 0, 0));
                groups.last_mut().expect("just pushed")
            }
        };
        g.2 += 1;
        if n.chars >= EMPTY_ITEM {
            g.3 += 1;
            g.4 += n.chars;
        }
    }
    for (name, class, items, full, chars) in groups {
        // Most items hold text, and enough of it on average.
        let (lo, hi) = (MIN_AVG_CHARS * full as u32, MAX_AVG_CHARS * full as u32);
        if items >= MIN_ITEMS
            && full * 4 >= items * 3
            && chars >= lo
            && chars <= hi
            && !in_tree(dom, p, name, class)
        {
            out.push(Run {
                parent: p,
                name,
                class,
                chars,
            });
        }
    }
}

/// The page's largest list of items inside `scope` (the main region, or the body), outside
/// page furniture.
pub(super) fn largest_list(dom: &Dom, scope: usize) -> Option<ItemList> {
    let end = dom.nodes[scope].end;
    let floor = MIN_AVG_CHARS * MIN_ITEMS as u32;
    let mut runs: Vec<Run> = Vec::new();
    let mut i = scope;
    while i < end {
        let n = &dom.nodes[i];
        // Too little text below for any list: nothing inside can hold one either.
        if n.skip || n.el.is_none() || n.chars < floor || (i != scope && furniture(dom, i)) {
            i = n.end;
            continue;
        }
        if n.block_desc {
            runs_under(dom, i, &mut runs);
        }
        i += 1;
    }
    // Items split into several runs of the same template (a grid per section, a table per
    // year) belong together: the template with the most text wins, and the content is the
    // nearest common ancestor of its runs.
    let same = |a: &Run, b: &Run| a.name == b.name && a.class == b.class;
    let total = |a: &Run| -> u32 { runs.iter().filter(|b| same(a, b)).map(|b| b.chars).sum() };
    let best = runs.iter().max_by_key(|r| total(r))?;
    let mut region = best.parent;
    let mut chars = 0;
    for r in runs.iter().filter(|r| same(best, r)) {
        region = common_ancestor(dom, region, r.parent);
        chars += r.chars;
    }
    Some(ItemList { region, chars })
}

fn common_ancestor(dom: &Dom, mut a: usize, b: usize) -> usize {
    // Pre-order indices: `a` holds `b` when `b` lies in `a .. end(a)`.
    while a != NONE && !(a <= b && b < dom.nodes[a].end) {
        a = dom.nodes[a].parent;
    }
    if a == NONE {
        b
    } else {
        a
    }
}

/// Render the list's region as the page shows it. The renderer drops link-dense containers
/// and containers named like furniture (`media`, `promo`) as an article's boilerplate; in a
/// list every item is a linked title, so the region's own links and class weights are set
/// aside while it is rendered (and put back after: later steps read them).
pub(super) fn render_list(dom: &mut Dom, region: usize, base: Option<&Url>) -> Vec<Block> {
    let end = dom.nodes[region].end;
    let saved: Vec<(u32, u32, i8)> = dom.nodes[region..end]
        .iter()
        .map(|n| (n.link_chars, n.links, n.weight))
        .collect();
    for n in &mut dom.nodes[region..end] {
        (n.link_chars, n.links, n.weight) = (0, 0, 0);
    }
    let blocks = render_blocks(dom, &[region], base, false);
    for (n, (lc, l, w)) in dom.nodes[region..end].iter_mut().zip(saved) {
        (n.link_chars, n.links, n.weight) = (lc, l, w);
    }
    blocks
}

/// The list instead of what scoring found, when the page's content is a list: the largest
/// list of items inside `scope` holds more than twice the text of the found content (`chars`
/// characters after cleaning), wherever that lies: a newsletter box or the footer's legal text
/// beside a product grid, one card of the grid, or the region that holds the list when the
/// renderer dropped the list as link-dense furniture. A page that says it is an article
/// (`og:type`) keeps its article unless what was found is too thin to be one: a short story
/// beside a longer "recommended" list is still the story. So is an article's worth of text
/// beside a stream of dated teasers (`streams`, see `content::find_content`): a portal's story.
pub(super) fn list_instead(
    dom: &mut Dom,
    scope: usize,
    found: (usize, &[usize]),
    article: bool,
    base: Option<&Url>,
    title: Option<&str>,
) -> Option<(usize, Cleaned)> {
    let (chars, streams) = found;
    if article && chars >= THIN {
        return None;
    }
    let list = largest_list(dom, scope)?;
    if list.chars as usize <= chars * 2 {
        return None;
    }
    let holds = |a: usize, b: usize| a <= b && b < dom.nodes[a].end;
    let stream = streams
        .iter()
        .any(|&st| holds(st, list.region) || holds(list.region, st));
    if stream && chars >= THIN {
        return None;
    }
    let cleaned = clean_blocks(render_list(dom, list.region, base), title);
    let got: usize = cleaned.blocks.iter().map(Block::chars).sum();
    (got > chars * 2).then_some((list.region, cleaned))
}

#[cfg(test)]
mod tests {
    use scraper::Html;

    use super::*;

    /// The text of the largest list's region in `html`, searched in the body.
    fn list_text(html: &str) -> Option<String> {
        let doc = Html::parse_document(html);
        let dom = Dom::build(&doc);
        largest_list(&dom, dom.body).map(|l| dom.text_of(l.region))
    }

    fn items(n: usize, item: impl Fn(usize) -> String) -> String {
        (0..n).map(item).collect()
    }

    #[test]
    fn a_grid_of_cards_is_a_list_and_a_menu_of_words_is_not() {
        let menu = items(12, |k| {
            format!("<li><a href=\"/c{k}\">Section {k}</a></li>")
        });
        let cards = items(5, |k| {
            format!("<div class=\"card x{k}\"><a href=\"/e{k}\">Conference number {k}</a><p>Austin, 12 May</p></div>")
        });
        let html = format!("<body><ul>{menu}</ul><div class=\"grid\">{cards}</div></body>");
        let text = list_text(&html).expect("the cards are a list");
        assert!(text.contains("Conference number 4"), "{text}");
        assert!(!text.contains("Section"), "{text}");
        // The menu alone is no list: its entries are a word or two.
        assert_eq!(list_text(&format!("<body><ul>{menu}</ul></body>")), None);
    }

    #[test]
    fn lists_in_furniture_and_long_sections_are_not_lists() {
        let entries = items(6, |k| {
            format!("<li><a href=\"/p{k}\">A page about topic number {k} of six</a></li>")
        });
        let html = format!(
            "<body><footer><ul>{entries}</ul></footer><nav><ul>{entries}</ul></nav></body>"
        );
        assert_eq!(list_text(&html), None);
        // Sections of a long page are an article's parts, not teasers.
        let long = "A sentence of the section's running text, long enough to count. ".repeat(40);
        let sections = items(5, |k| {
            format!("<section><h2>Part {k}</h2><p>{long}</p></section>")
        });
        assert_eq!(
            list_text(&format!("<body><div>{sections}</div></body>")),
            None
        );
    }

    #[test]
    fn runs_of_one_template_in_several_sections_are_one_list() {
        let run = |s: usize| {
            items(4, |k| {
                format!("<li class=\"story\"><a href=\"/s{s}{k}\">Story {k} of section {s}, a headline</a></li>")
            })
        };
        let html = format!(
            "<body><div id=\"all\"><h2>World</h2><ul>{}</ul><h2>Sport</h2><ul>{}</ul></div>\
             <ul>{}</ul></body>",
            run(1),
            run(2),
            items(4, |k| format!(
                "<li>Unrelated entry number {k} of another list</li>"
            ))
        );
        let text = list_text(&html).expect("a list");
        assert!(
            text.contains("section 1") && text.contains("section 2"),
            "{text}"
        );
        assert!(!text.contains("Unrelated"), "{text}");
    }

    #[test]
    fn a_tree_of_items_is_not_a_list() {
        let leaf = |k: usize| {
            format!("<li><a href=\"/r{k}\">A reply titled number {k}, in the thread</a></li>")
        };
        let tree = items(5, |k| {
            format!(
                "<li><a href=\"/r{k}\">A reply titled {k}</a><ul>{}{}</ul></li>",
                leaf(k * 10),
                leaf(k * 10 + 1)
            )
        });
        assert_eq!(list_text(&format!("<body><ul>{tree}</ul></body>")), None);
    }
}
