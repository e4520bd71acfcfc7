//! Blog index and archive pages: several complete entries, newest first, one under the other.
//!
//! Scoring picks the best-written block, which on such a page is whichever entry is longest.
//! None of the entries is the page's article more than another, but the page's own order says
//! which one leads: the first, the newest, the one whose date heads the page. Reading the
//! longest instead pairs an arbitrary post with the page and, through the date search that
//! follows the content, an arbitrary date.
//!
//! The structure recognised: the chosen block sits in one of an unbroken run of at least
//! [`MIN_ENTRIES`] sibling elements of one kind (same element name and first class name; a
//! header row of that kind may come before the run), and the same template path leads from
//! each of them down to a block of prose (the same element kinds at the same positions among
//! their kind, a class name somewhere on the way: a template, not table rows that happen to
//! nest alike); every entry is dated and mostly not links. The lead entry's block at that path
//! is then the content. Not for list items or blocks named like comments (comments, reviews and
//! replies answer the page, they do not lead it), and not for a forum thread, whose posts
//! [`super::thread`] reads whole before this is asked.

use super::dom::{Dom, NONE};
use super::thread::{class_of, is_post};

/// How many ancestors of the chosen block are tried as one entry (table layouts nest deep: the
/// archive pages seen put nine levels between an entry and its text).
const MAX_CLIMB: usize = 12;

/// Entries a page must show to be an index: two may be an article and its postscript.
const MIN_ENTRIES: usize = 3;

/// Letters the lead entry's block must hold (a post of one sentence still counts).
const MIN_BLOCK_ALPHA: u32 = 20;

/// One step of the template path: the element's name, first class name, and its position
/// among the siblings of that kind.
type Step<'a> = (&'a str, Option<&'a str>, usize);

/// The block of the page's lead entry that corresponds to `top`, when `top` lies in a later
/// entry of an index page (see the module comment); `None` otherwise.
pub fn lead_entry(dom: &Dom, top: usize) -> Option<usize> {
    // Steps from the current ancestor down to `top`, innermost last once reversed.
    let mut path: Vec<Step> = Vec::new();
    let mut classed = class_of(dom, top).is_some();
    let mut a = top;
    for _ in 0..MAX_CLIMB {
        let p = dom.nodes[a].parent;
        if p == NONE || matches!(dom.nodes[a].name, "body" | "html") {
            return None;
        }
        let (name, class) = (dom.nodes[a].name, class_of(dom, a));
        let kin: Vec<usize> = dom
            .children(p)
            .filter(|&c| {
                let n = &dom.nodes[c];
                !n.skip && n.name == name && class_of(dom, c) == class
            })
            .collect();
        // A class on the path, or on the entries themselves, marks a template.
        // Items of a list (`li`: comments, reviews, replies) and blocks named like comments
        // answer the page rather than follow one another as its posts.
        let listed = name == "li" || dom.nodes[a].weight < 0;
        // `a` itself is tested first: it is one entry, where its kin may be hundreds of rows.
        let candidate = kin.len() >= MIN_ENTRIES && (classed || class.is_some()) && !listed;
        if candidate && is_post(dom, a) {
            // (position among the kin, entry, its block)
            let entries: Vec<(usize, usize, usize)> = kin
                .iter()
                .enumerate()
                .filter_map(|(k, &e)| {
                    let block = follow(dom, e, &path)?;
                    (prose(dom, block) && is_post(dom, e)).then_some((k, e, block))
                })
                .collect();
            // One unbroken run (a header row of the same kind may precede it), holding `a`.
            let run = entries.windows(2).all(|w| w[1].0 == w[0].0 + 1);
            if entries.len() >= MIN_ENTRIES && run && entries.iter().any(|&(_, e, _)| e == a) {
                return (entries[0].1 != a).then_some(entries[0].2);
            }
        }
        let nth = kin.iter().position(|&c| c == a).unwrap_or(0);
        path.push((name, class, nth));
        classed |= class.is_some();
        a = p;
    }
    None
}

/// The node reached from `entry` by `path` (outermost step last), every step matching in
/// element name, first class name and position among its kind.
fn follow(dom: &Dom, entry: usize, path: &[Step]) -> Option<usize> {
    let mut at = entry;
    for &(name, class, nth) in path.iter().rev() {
        at = dom
            .children(at)
            .filter(|&c| {
                let n = &dom.nodes[c];
                !n.skip && n.name == name && class_of(dom, c) == class
            })
            .nth(nth)?;
    }
    Some(at)
}

/// A block of prose: letters of its own, mostly outside links.
fn prose(dom: &Dom, i: usize) -> bool {
    let n = &dom.nodes[i];
    n.alpha >= MIN_BLOCK_ALPHA && n.link_chars * 10 < n.chars * 3
}

#[cfg(test)]
mod tests {
    use crate::config::ArticleRules;
    use crate::ingest::extract::extract_article;
    use crate::model::RawDate;

    /// One entry of a table-layout blog archive (the template of the archive pages seen in the
    /// Chinese corpus): a title row with the time, the body cell, a footer with the permalink.
    fn entry(id: u32, title: &str, time: &str, body: &str) -> String {
        format!(
            r#"<tr><td><a name="{id}"></a><table class="table-bg"><tr><td><table><tr>
<td class="post-title">{title}</td><td class="post-title">{time}</td></tr></table></td></tr>
<tr><td><table><tr><td class="post-body">{body}</td></tr>
<tr><td class="post-footer">由作者张贴 @ <a href="/blogview.php?postID={id}">{time}</a>
<a href="/comment.php?postID={id}">发表评论</a></td></tr></table></td></tr></table></td></tr>"#
        )
    }

    fn page(entries: &[String], header_row: bool) -> String {
        let header = if header_row {
            r#"<tr><td class="blog-name">海边的博客 <a href="/rss.php">订阅</a></td></tr>"#
        } else {
            ""
        };
        format!(
            r#"<html><head><title>海边的博客 | blog.example.cn</title></head><body>
<table><tr><td><a href="/">首页</a> | <a href="/search.php">搜索</a></td></tr></table>
<table>{header}{}</table><p>Copyright 2005</p></body></html>"#,
            entries.concat()
        )
    }

    fn sentences(s: &str, n: usize) -> String {
        (0..n)
            .map(|k| format!("{s}第{k}段，写得很认真。"))
            .collect()
    }

    fn extract(html: &str) -> (String, Option<chrono::NaiveDateTime>) {
        let e = extract_article(
            html,
            "http://blog.example.cn/archives.php?date=200503",
            &ArticleRules::default(),
        )
        .expect("an article");
        let text = scraper::Html::parse_fragment(&e.content_html.unwrap())
            .root_element()
            .text()
            .collect();
        let date = e.published.map(|d| match d {
            RawDate::Exact(x) => x.naive_local(),
            RawDate::Local(x) => x,
        });
        (text, date)
    }

    /// An archive of four posts, newest first, the second by far the longest: the scorer's
    /// best block is the second post, but the page leads with the first, and its date is the
    /// page's. A header row of the same kind above the entries does not hide the run.
    #[test]
    fn an_archive_page_is_read_as_its_lead_entry() {
        for header_row in [false, true] {
            let html = page(
                &[
                    entry(
                        4,
                        "昨天去金矿玩",
                        "2005-03-21 01:20:44",
                        &sentences("金矿", 3),
                    ),
                    entry(3, "长发剪了", "2005-03-18 01:58:01", &sentences("长发", 30)),
                    entry(2, "雪景", "2005-03-15 16:47:37", &sentences("雪景", 5)),
                    entry(1, "情人节", "2005-03-10 09:00:00", &sentences("元宵", 4)),
                ],
                header_row,
            );
            let (text, date) = extract(&html);
            assert!(text.contains("金矿第2段"), "{text}");
            assert!(!text.contains("长发第0段"), "{text}");
            assert!(!text.contains("雪景第0段"), "{text}");
            assert_eq!(
                date.map(|d| d.to_string()).as_deref(),
                Some("2005-03-21 01:20:44")
            );
        }
    }

    /// Two posts are not an index (an article and its postscript, a post and an update):
    /// the best-written block stays the content.
    #[test]
    fn two_entries_are_not_an_index() {
        let html = page(
            &[
                entry(2, "短的", "2005-03-21 01:20:44", &sentences("短文", 4)),
                entry(1, "长的", "2005-03-18 01:58:01", &sentences("长文", 30)),
            ],
            false,
        );
        let (text, _) = extract(&html);
        assert!(text.contains("长文第29段"), "{text}");
        assert!(!text.contains("短文第0段"), "{text}");
    }
}
