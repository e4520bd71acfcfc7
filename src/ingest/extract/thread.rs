//! Forum threads: the first post and its replies are the article.
//!
//! Scoring picks the single best-written block, which on a thread is one post (often a long
//! reply). A reader of the thread expects the whole exchange: a thread is a run of sibling
//! containers of one kind (same tag, same first class name), each a post with its own time
//! line and text.

use super::dom::{Dom, NONE};

/// How many ancestors of the best-scored node are tried as one post of a thread.
const MAX_CLIMB: usize = 6;

/// Letters a post must hold to count as one (a signature-only or deleted post does not).
const MIN_POST_ALPHA: u32 = 20;

/// The posts of the thread that `top` belongs to, in document order, when it belongs to one:
/// the nearest ancestor of `top` (or `top` itself) that has siblings of its own kind (same
/// element name and first class name) where at least two of them, itself included, read as posts (see
/// [`is_post`]). `None` on a page that is not a thread.
pub fn thread_posts(
    dom: &Dom,
    top: usize,
    is_teaser: impl Fn(usize) -> bool,
) -> Option<Vec<usize>> {
    let mut a = top;
    for _ in 0..MAX_CLIMB {
        let p = dom.nodes[a].parent;
        if p == NONE || matches!(dom.nodes[a].name, "body" | "html") {
            return None;
        }
        if let Some(class) = class_of(dom, a) {
            let name = dom.nodes[a].name;
            let kin: Vec<usize> = dom
                .children(p)
                .filter(|&c| {
                    let n = &dom.nodes[c];
                    !n.skip && n.name == name && class_of(dom, c) == Some(class)
                })
                .collect();
            // The post the scorer chose must itself be one (tested first: it is one post,
            // where its kin may be hundreds of rows).
            if kin.len() >= 2 && !is_teaser(a) && is_post(dom, a) {
                let shape = shape_of(dom, a);
                let posts: Vec<usize> = kin
                    .into_iter()
                    // Cheapest test first: `is_post` reads the post's text for a date.
                    .filter(|&c| {
                        alike(&shape, &shape_of(dom, c)) && !is_teaser(c) && is_post(dom, c)
                    })
                    .collect();
                // The post the scorer chose must itself be one: a page's one article beside
                // a row of dated cards of the same kind is not a thread.
                if posts.len() >= 2 && posts.contains(&a) {
                    return Some(posts);
                }
            }
        }
        a = p;
    }
    None
}

/// The kinds (element name, first class name) of an element's child elements: the template a
/// forum fills in for every post (profile, date line, body, signature).
fn shape_of<'a>(dom: &Dom<'a>, i: usize) -> Vec<(&'a str, Option<&'a str>)> {
    let mut kinds: Vec<_> = dom
        .children(i)
        .filter(|&c| dom.nodes[c].el.is_some() && !dom.nodes[c].skip)
        .map(|c| (dom.nodes[c].name, class_of(dom, c)))
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// Two posts filled from one template share at least half of their kinds of children: CMS
/// sections that only share a wrapper class (`shopify-section`) do not.
fn alike(a: &[(&str, Option<&str>)], b: &[(&str, Option<&str>)]) -> bool {
    let common = a.iter().filter(|k| b.contains(k)).count();
    let all = a.len() + b.len() - common;
    all > 0 && common * 2 >= all
}

/// The first name in the element's `class`, when it has one: what kind of block it is. The
/// names after it often alternate from row to row (phpBB's `post bg1` / `post bg2`).
pub(super) fn class_of<'a>(dom: &Dom<'a>, i: usize) -> Option<&'a str> {
    dom.nodes[i]
        .el
        .and_then(|e| e.value().attr("class"))
        .and_then(|c| c.split_whitespace().next())
}

/// A post: some text of its own, mostly not links, and a time (a `<time>` element or a date
/// in its text): replies are stamped, furniture repeated in rows mostly is not.
pub(super) fn is_post(dom: &Dom, c: usize) -> bool {
    let (chars, linked) = text_in_links(dom, c);
    dom.nodes[c].alpha >= MIN_POST_ALPHA && linked * 10 < chars * 3 && stamped(dom, c)
}

/// Does the subtree of `c` hold a `<time>` or a date? Read text node by text node, stopping
/// at the first date: a post is stamped at its head, and an ancestor tried on the way up may be
/// most of the page (joining its text to search it whole was 6% of extraction time).
fn stamped(dom: &Dom, c: usize) -> bool {
    let re = super::content::time_re();
    (c..dom.nodes[c].end).any(|i| {
        let n = &dom.nodes[i];
        let digits = || n.text.bytes().any(|b| b.is_ascii_digit());
        !n.skip && (n.name == "time" || (n.el.is_none() && digits() && re.is_match(n.text)))
    })
}

/// Characters in the subtree of `c`, and of those the ones inside links. The view's own link
/// counts start at the `<a>`: a teaser card whose heading and blurb sit inside one link would
/// read as prose from the heading down, so whole links are counted here.
fn text_in_links(dom: &Dom, c: usize) -> (u32, u32) {
    let mut linked = 0;
    let mut j = c + 1;
    while j < dom.nodes[c].end {
        let n = &dom.nodes[j];
        if n.skip {
            j = n.end;
        } else if n.name == "a" && n.el.and_then(|e| e.attr("href")).is_some() {
            linked += n.chars;
            j = n.end;
        } else {
            j += 1;
        }
    }
    (dom.nodes[c].chars, linked)
}
