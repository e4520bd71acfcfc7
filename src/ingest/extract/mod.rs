//! HTML pages → article links (list pages) and articles (article pages).
//!
//! Article extraction works on one parse of the page:
//! 1. pinyin annotations left by mirrors are stripped from the raw text
//!    ([`strip_pinyin`](crate::ingest::normalize::pinyin::strip_pinyin)), so that `來(lái)源` reads
//!    `來源` again before any heuristic looks at it;
//! 2. the document is parsed once and flattened ([`dom::Dom`]) with per-subtree text, link and
//!    punctuation counts; hidden elements (inline styles, `hidden`, page stylesheet rules with
//!    `display:none`) and the `remove` selectors are excluded;
//! 3. the content is the `content` selector's match, or the best container by readability-style
//!    scoring, where a paragraph's score grows with its punctuation (GNE's symbol density) and a
//!    container's shrinks with its link density; on a page with no article (a product grid,
//!    a listing) the largest run of items of one template instead ([`listing`]);
//! 4. the content is rendered into clean paragraphs; furniture lines (share widgets, font-size
//!    toggles, "back to top", link tails) are dropped, and the editor line, the source line and
//!    reporter bylines leave the body to become metadata;
//! 5. title, publish time, source, editors and reporters come from selectors when given, else
//!    from meta tags, headings and visible text lines around the content.

mod boilerplate;
mod content;
pub mod date;
pub mod discover;
mod dom;
mod entries;
mod links;
mod listing;
mod meta;
mod related;
pub mod suggest;
mod tables;
mod thread;

use std::sync::OnceLock;

use regex::Regex;
use scraper::{Html, Selector};
use url::Url;

use crate::config::ArticleRules;
use crate::ingest::normalize::pinyin::strip_pinyin;
use crate::model::{Person, RawEntry};

use boilerplate::{editors_in, is_furniture_text, is_pipe_run, reporters_in, source_in};
use content::{blocks_to_html, find_content, render_blocks, Block};
use date::{find_date, find_month, url_date, FoundDate};
use dom::{Dom, NONE};
pub use links::{extract_links, find_list, is_auto, ListGuess};
use meta::{find_title, first_dated, lines, machine_dates, Line, Metas};

/// Why an article page yielded nothing usable.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ExtractError {
    #[error("invalid selector {selector:?}: {reason}")]
    BadSelector { selector: String, reason: String },
    #[error("no article content found")]
    NoContent,
}

fn compile(s: &str) -> Result<Selector, ExtractError> {
    Selector::parse(s).map_err(|e| ExtractError::BadSelector {
        selector: s.to_string(),
        reason: e.to_string(),
    })
}

fn compile_opt(s: &Option<String>) -> Result<Option<Selector>, ExtractError> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(compile)
        .transpose()
}

fn base_sel() -> &'static Selector {
    static S: OnceLock<Selector> = OnceLock::new();
    S.get_or_init(|| Selector::parse("base[href]").expect("valid selector"))
}

fn a_sel() -> &'static Selector {
    static S: OnceLock<Selector> = OnceLock::new();
    S.get_or_init(|| Selector::parse("a[href]").expect("valid selector"))
}

/// The URL relative links resolve against: `<base href>` (itself resolved) or the page URL.
fn base_url(base_href: Option<&str>, page_url: &str) -> Option<Url> {
    let page = Url::parse(page_url).ok();
    let declared = base_href.and_then(|h| match &page {
        Some(p) => p.join(h.trim()).ok(),
        None => Url::parse(h.trim()).ok(),
    });
    declared.or(page)
}

fn css_rule_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"([^{}]+)\{([^{}]*)\}").expect("valid regex"))
}

fn css_hidden_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)display\s*:\s*none|visibility\s*:\s*hidden").expect("valid regex")
    })
}

/// Selectors that the page's own `<style>` blocks hide (`.rm_txt_con div.otitle {display:none}`).
fn hidden_selectors(dom: &Dom) -> Vec<Selector> {
    let mut out = Vec::new();
    for st in dom.special_elements("style") {
        let css: String = st.text().collect();
        if !css.contains("none") && !css.contains("hidden") {
            continue;
        }
        for c in css_rule_re().captures_iter(&css) {
            if !css_hidden_re().is_match(&c[2]) {
                continue;
            }
            for s in c[1].split(',') {
                let s = s.trim();
                if s.is_empty()
                    || s.contains(':')
                    || s.contains('@')
                    || s.contains('*')
                    || matches!(s, "body" | "html")
                {
                    continue;
                }
                if let Ok(sel) = Selector::parse(s) {
                    out.push(sel);
                }
            }
        }
    }
    out
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .collect()
}

/// Paragraphs that survived, and what the furniture lines said.
#[derive(Default)]
struct Cleaned {
    blocks: Vec<Block>,
    editors: Vec<String>,
    reporters: Vec<String>,
    source: Option<String>,
    date: Option<FoundDate>,
}

/// A short line that is only a date (and perhaps its label, source, author or hit counter).
fn is_date_line(t: &str) -> Option<FoundDate> {
    if t.chars().count() > 60 || t.contains('。') {
        return None;
    }
    let d = find_date(t)?;
    let labelled = [
        "来源", "來源", "发布", "發布", "时间", "時間", "日期", "作者", "编辑", "編輯", "点击",
        "阅读", "浏览", "记者",
    ]
    .iter()
    .any(|l| t.contains(l));
    let han = t
        .chars()
        .filter(|c| *c as u32 >= 0x2E80 && !matches!(c, '年' | '月' | '日' | '时' | '分' | '秒'))
        .count();
    (labelled || han <= 6).then_some(d)
}

fn clean_blocks(blocks: Vec<Block>, title: Option<&str>) -> Cleaned {
    let n = blocks.len();
    let ntitle = title.map(norm).unwrap_or_default();
    let mut c = Cleaned::default();
    for (k, b) in blocks.into_iter().enumerate() {
        let t = b.text.as_str();
        let len = b.chars();
        if len == 0 {
            if b.imgs > 0 && b.links == 0 {
                c.blocks.push(b);
            }
            continue;
        }
        if let Some(e) = editors_in(t) {
            if c.editors.is_empty() {
                c.editors = e;
            }
            continue;
        }
        if len <= 60 {
            if let Some(s) = source_in(t) {
                c.source.get_or_insert(s);
                if let Some(d) = is_date_line(t) {
                    c.date.get_or_insert(d);
                }
                continue;
            }
        }
        if k < 4 {
            if let Some(d) = is_date_line(t) {
                c.date.get_or_insert(d);
                continue;
            }
        }
        if k < 3 || k + 3 >= n {
            if let Some(r) = reporters_in(t) {
                if len <= 30 {
                    c.reporters.extend(r);
                    continue;
                }
            }
        }
        if is_furniture_text(t) || is_pipe_run(t) {
            continue;
        }
        if b.links >= 3 && b.link_chars as usize * 10 >= len * 6 {
            continue;
        }
        if k < 3 && !ntitle.is_empty() && norm(t) == ntitle {
            continue;
        }
        c.blocks.push(b);
    }
    related::drop_related_lists(&mut c.blocks);
    c
}

fn text_of_sel(doc: &Html, sel: &Selector) -> Option<String> {
    doc.select(sel).find_map(|e| {
        let mut s = String::new();
        dom::push_collapsed(&mut s, &e.text().collect::<String>());
        let s = s.trim().to_string();
        (!s.is_empty()).then_some(s)
    })
}

fn plausible_meta_author(a: &str) -> bool {
    let a = a.trim();
    !a.is_empty()
        && a.chars().count() <= 40
        && !a.chars().any(|c| c.is_ascii_digit())
        && !a.contains("://")
        && !a.contains('@')
}

/// A view without what the page's stylesheet rules hide (`hidden`) and what the source's
/// `remove` selectors name.
fn without_hidden<'a>(
    mut dom: Dom<'a>,
    doc: &'a Html,
    hidden: &[Selector],
    remove: &[Selector],
) -> Dom<'a> {
    for s in hidden {
        dom.skip_matching(doc, s, true);
    }
    for s in remove {
        dom.skip_matching(doc, s, false);
    }
    if !hidden.is_empty() || !remove.is_empty() {
        dom.compute_stats();
    }
    dom
}

/// Extract one article page into a [`RawEntry`] (link = `page_url`). Dates written
/// `nn/nn/yyyy` are read in the order the page's `<html lang>` implies.
pub fn extract_article(
    html: &str,
    page_url: &str,
    rules: &ArticleRules,
) -> Result<RawEntry, ExtractError> {
    let order = date::SlashOrder::from_lang(html_lang(html).as_deref());
    date::with_slash_order(order, || extract_article_in_order(html, page_url, rules))
}

/// The `lang` of the page's `<html>` start tag, read from the first bytes.
fn html_lang(html: &str) -> Option<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(
            r#"(?is)<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)"#,
        )
        .expect("valid regex")
    });
    let head = &html[..floor_boundary(html, 4096)];
    re.captures(head).map(|c| c[1].to_string())
}

fn floor_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The page's one main region: its only `<main>` element, else its only `role="main"`.
fn main_region(dom: &Dom) -> Option<usize> {
    let one = |hit: &dyn Fn(usize) -> bool| {
        let mut found =
            (dom.body..dom.nodes[dom.body].end).filter(|&i| !dom.nodes[i].skip && hit(i));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    };
    one(&|i| dom.nodes[i].name == "main")
        .or_else(|| one(&|i| dom.nodes[i].el.and_then(|e| e.value().attr("role")) == Some("main")))
}

/// A heading that is a link to another page (a teaser's headline).
fn linked_headline(dom: &Dom, i: usize) -> bool {
    let n = &dom.nodes[i];
    if n.skip || !matches!(n.name, "h2" | "h3" | "h4" | "h5" | "h6") || n.chars == 0 {
        return false;
    }
    if n.link_chars * 10 >= n.chars * 8 {
        return true;
    }
    let p = n.parent;
    p != NONE && dom.nodes[p].name == "a"
}

/// The source's selectors, compiled once per page.
struct Rules {
    title: Option<Selector>,
    content: Option<Selector>,
    date: Option<Selector>,
    author: Option<Selector>,
    source: Option<Selector>,
    remove: Vec<Selector>,
}

impl Rules {
    fn compile(rules: &ArticleRules) -> Result<Rules, ExtractError> {
        Ok(Rules {
            title: compile_opt(&rules.title)?,
            content: compile_opt(&rules.content)?,
            date: compile_opt(&rules.date)?,
            author: compile_opt(&rules.author)?,
            source: compile_opt(&rules.source)?,
            remove: rules
                .remove
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(compile)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// Below this many characters of body text a page has no article of its own.
const THIN: usize = 200;

fn extract_article_in_order(
    html: &str,
    page_url: &str,
    rules: &ArticleRules,
) -> Result<RawEntry, ExtractError> {
    let rules = Rules::compile(rules)?;
    let text = strip_pinyin(html);
    let doc = Html::parse_document(&text);
    let found = extract_parsed(&doc, &text, page_url, &rules);
    let chars = found.as_ref().map_or(0, |(_, chars)| *chars);
    // Pages rendered by a script (Discourse forums, some SPAs) print their text for readers
    // without scripts inside `<noscript>`, which a browser with scripts (and so this parser)
    // reads as raw text. Where the scripted view has no article, the page is read as a
    // reader without scripts sees it.
    if chars < THIN && noscript_chars(&doc) >= THIN {
        let plain = parse_without_scripts(&text);
        if let Ok((entry, chars2)) = extract_parsed(&plain, &text, page_url, &rules) {
            if chars2 > chars * 2 {
                return Ok(entry);
            }
        }
    }
    found.map(|(entry, _)| entry)
}

/// Characters of raw text inside `<noscript>` elements (markup included: a rough size).
fn noscript_chars(doc: &Html) -> usize {
    static S: OnceLock<Selector> = OnceLock::new();
    let sel = S.get_or_init(|| Selector::parse("noscript").expect("valid selector"));
    doc.select(sel)
        .map(|e| e.text().map(str::len).sum::<usize>())
        .sum()
}

/// The document as a browser without scripts builds it: `<noscript>` content is markup.
fn parse_without_scripts(text: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    let opts = html5ever::ParseOpts {
        tree_builder: html5ever::tree_builder::TreeBuilderOpts {
            scripting_enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    html5ever::driver::parse_document(scraper::HtmlTreeSink::new(Html::new_document()), opts)
        .one(text)
}

/// Extraction from one parse of the page: the entry and how many characters its body holds.
fn extract_parsed(
    doc: &Html,
    text: &str,
    page_url: &str,
    rules: &Rules,
) -> Result<(RawEntry, usize), ExtractError> {
    let Rules {
        title: title_sel,
        content: content_sel,
        date: date_sel,
        author: author_sel,
        source: source_sel,
        remove,
    } = rules;
    let first = Dom::build(doc);
    let base = base_url(
        first
            .special_elements("base")
            .find_map(|b| b.value().attr("href")),
        page_url,
    );
    let hidden = hidden_selectors(&first);
    let mut dom = without_hidden(first, doc, &hidden, remove);
    let metas = Metas::collect(&dom);
    let ti = find_title(&dom, &metas);
    let title = title_sel
        .as_ref()
        .and_then(|s| text_of_sel(doc, s))
        .or(ti.title.clone());

    // Content: the selector's outermost matches, or the automatic choice.
    let mut roots: Vec<usize> = Vec::new();
    if let Some(sel) = &content_sel {
        for e in doc.select(sel) {
            if let Some(i) = dom.index_of(&e) {
                if !dom.nodes[i].skip && !roots.iter().any(|&r| r < i && i < dom.nodes[r].end) {
                    roots.push(i);
                }
            }
        }
    }
    let cleaned = if !roots.is_empty() {
        clean_blocks(
            render_blocks(&dom, &roots, base.as_ref(), false),
            title.as_deref(),
        )
    } else {
        // One automatic attempt on a view: its roots, cleaned blocks and their characters.
        let attempt = |dom: &Dom, strict: bool| {
            let (r, streams) = find_content(dom, strict);
            let c = clean_blocks(
                render_blocks(dom, &r, base.as_ref(), strict),
                title.as_deref(),
            );
            let chars: usize = c.blocks.iter().map(|b| b.chars()).sum();
            (r, c, chars, streams)
        };
        let (r, mut c, mut chars, mut streams) = attempt(&dom, true);
        roots = r;
        if chars < 200 {
            let (r2, c2, chars2, s2) = attempt(&dom, false);
            if chars2 > chars * 2 {
                (roots, c, chars, streams) = (r2, c2, chars2, s2);
            }
        }
        // Still no article, on a page that hides some of its content with an inline
        // `visibility: hidden` until a script reveals it: read it as the reader will see it.
        if chars < 200 && dom.soft_hidden {
            let revealed = without_hidden(Dom::build_revealing(doc), doc, &hidden, remove);
            let (r3, c3, chars3, s3) = attempt(&revealed, true);
            if chars3 > chars * 2 {
                (roots, c, chars, streams) = (r3, c3, chars3, s3);
                dom = revealed;
            }
        }
        // A page with no single article (a listing, a link-list wiki page, a home page of
        // sections): what was found is a sliver of the page's main region, which is then the
        // content, rendered as the page shows it. Not on a portal, where the sliver is a
        // short article beside a stream of teasers in the same region: a dated stream, or, on
        // a page that says it is an article (`og:type`), five or more linked headlines.
        // Both fallbacks below ask these; the region is a walk over the whole page.
        let main = main_region(&dom);
        let article = metas
            .get(&["og:type"])
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("article"));
        if let Some(m) = main {
            let (region, end) = (dom.nodes[m].chars as usize, dom.nodes[m].end);
            let in_roots = |i: usize| roots.iter().any(|&r| r <= i && i < dom.nodes[r].end);
            let portal = streams
                .iter()
                .any(|&st| st > m && st < end && !in_roots(st))
                || (article
                    && (m + 1..end)
                        .filter(|&i| !in_roots(i) && linked_headline(&dom, i))
                        .count()
                        >= 5);
            if chars * 4 < region && dom.link_density(m) < 0.5 && !portal {
                let blocks = render_blocks(&dom, &[m], base.as_ref(), false);
                let c4 = clean_blocks(blocks, title.as_deref());
                let chars4: usize = c4.blocks.iter().map(Block::chars).sum();
                if chars4 > chars * 2 {
                    (roots, c) = (vec![m], c4);
                }
            }
        }
        // A page whose content is a list of items (a product grid, a listing): see `listing`.
        let chars = c.blocks.iter().map(Block::chars).sum();
        let scope = main.unwrap_or(dom.body);
        let (b, t) = (base.as_ref(), title.as_deref());
        let found = (chars, &streams[..]);
        if let Some((r, c5)) = listing::list_instead(&mut dom, scope, found, article, b, t) {
            (roots, c) = (vec![r], c5);
        }
        c
    };
    if cleaned.blocks.is_empty() {
        return Err(ExtractError::NoContent);
    }
    let content_start = roots.first().copied().unwrap_or(NONE);
    let content_end = roots
        .last()
        .map(|&r| dom.nodes[r].end)
        .unwrap_or(dom.nodes.len());
    let lines = lines(&dom);
    // A title taken from <title> alone: find where the page prints it, for the date search.
    let title_node = ti.node.or_else(|| {
        let nt = norm(title.as_deref()?);
        lines
            .iter()
            .find(|l| l.node < content_start && norm(&l.text) == nt)
            .map(|l| l.node)
    });

    // Publish time.
    let (machine, updated) = machine_dates(&dom, text, &metas);
    let published = match date_sel.as_ref().and_then(|s| text_of_sel(doc, s)) {
        Some(t) => find_date(&t).or(machine),
        None => agree_with_url(
            pick_date(
                machine,
                cleaned.date,
                &lines,
                title_node,
                content_start,
                content_end,
            ),
            machine,
            url_date(page_url),
            &lines,
        ),
    };

    // Source publication.
    let source = source_sel
        .as_ref()
        .and_then(|s| text_of_sel(doc, s))
        .map(|t| source_in(&t).unwrap_or(t))
        .or_else(|| {
            metas
                .get(&["source", "article:source", "og:source"])
                .and_then(|v| {
                    source_in(v).or_else(|| (v.chars().count() <= 20).then(|| v.to_string()))
                })
        })
        .or(cleaned.source.clone())
        .or_else(|| {
            lines
                .iter()
                .filter(|l| l.text.chars().count() <= 80)
                .find_map(|l| source_in(&l.text))
        });

    // Editors: the body's editor line, else one anywhere on the page.
    let editors = if cleaned.editors.is_empty() {
        lines
            .iter()
            .find_map(|l| editors_in(&l.text))
            .unwrap_or_default()
    } else {
        cleaned.editors.clone()
    };

    // Authors: selector, reporters on bylines, a byline line next to the title, meta author.
    let mut authors: Vec<String> = Vec::new();
    if let Some(a) = author_sel.as_ref().and_then(|s| text_of_sel(doc, s)) {
        authors = reporters_in(&a).unwrap_or_else(|| vec![a]);
    }
    if authors.is_empty() {
        authors = cleaned.reporters.clone();
    }
    if authors.is_empty() {
        let from = title_node.unwrap_or(dom.body);
        authors = lines
            .iter()
            .filter(|l| l.node > from && l.node < content_start)
            .find_map(|l| reporters_in(&l.text))
            .unwrap_or_default();
    }
    if authors.is_empty() {
        if let Some(a) = metas
            .get(&["author", "article:author", "dc.creator", "byl"])
            .filter(|a| plausible_meta_author(a))
        {
            authors.push(a.trim().trim_start_matches("By ").to_string());
        }
    }
    let mut seen = std::collections::HashSet::new();
    authors.retain(|a| seen.insert(a.clone()));

    let chars = cleaned.blocks.iter().map(Block::chars).sum();
    let entry = RawEntry {
        guid: None,
        link: Some(page_url.to_string()),
        base: base.map(|b| b.to_string()),
        title,
        content_html: Some(blocks_to_html(&cleaned.blocks)),
        summary_html: None,
        published: published.map(|d| d.date),
        updated: updated.map(|d| d.date),
        authors: authors.into_iter().map(Person::named).collect(),
        categories: Vec::new(),
        enclosures: Vec::new(),
        origin: source,
        editors,
        site: ti.site,
    };
    Ok((entry, chars))
}

/// A day in the page's URL (`/2023/10/03/`) is the site's own record of when it published the
/// page. A chosen date more than a day away from it (a sidebar's or a related post's date, a
/// page that prints none of its own) gives way: to a date line printed for that day, which may
/// carry the time, else to the day itself. A day apart is left alone: URLs are often dated in
/// another time zone than the page.
fn agree_with_url(
    chosen: Option<FoundDate>,
    machine: Option<FoundDate>,
    url_day: Option<chrono::NaiveDate>,
    lines: &[Line],
) -> Option<FoundDate> {
    let Some(day) = url_day else {
        return chosen;
    };
    if chosen.is_some_and(|c| (c.naive_date() - day).num_days().abs() <= 1) {
        return chosen;
    }
    // A time the page states in its metadata is the publisher's own word; it stays.
    if chosen.is_some_and(|c| c.has_time && Some(c) == machine) {
        return chosen;
    }
    // The first line printed for that day (later ones are often comments), with a time if
    // any line gives one.
    let printed: Vec<FoundDate> = lines
        .iter()
        .filter_map(|l| find_date(&l.text))
        .filter(|d| d.naive_date() == day)
        .collect();
    let printed = printed
        .iter()
        .find(|d| d.has_time)
        .or(printed.first())
        .copied();
    printed.or(Some(FoundDate {
        date: crate::model::RawDate::Local(day.and_time(chrono::NaiveTime::MIN)),
        has_time: false,
    }))
}

/// Choose the publish time: a machine date with a time of day wins; else a visible date between
/// the title and the content (or a date line inside the content's head); else the closest one
/// before the content, then a machine date-only value, then one after the content.
fn pick_date(
    machine: Option<FoundDate>,
    in_body: Option<FoundDate>,
    lines: &[Line],
    title_node: Option<usize>,
    content_start: usize,
    content_end: usize,
) -> Option<FoundDate> {
    if let Some(m) = machine.filter(|m| m.has_time) {
        return Some(m);
    }
    let tier1 = title_node.and_then(|t| {
        first_dated(
            lines
                .iter()
                // After the title, and before the content, or, when the title sits inside
                // the content, before the content's end: a date printed after the article
                // belongs to what follows it (related posts, comments).
                .filter(|l| {
                    l.node > t
                        && (l.node < content_start || (t > content_start && l.node < content_end))
                }),
        )
    });
    let tier1 = tier1.or(in_body);
    let tier2 = || {
        let before: Vec<&Line> = lines.iter().filter(|l| l.node < content_start).collect();
        first_dated(before.into_iter().rev())
    };
    let tier3 = || {
        first_dated(
            lines
                .iter()
                .filter(|l| l.node >= content_start && l.node < content_end),
        )
    };
    let tier4 = || first_dated(lines.iter().filter(|l| l.node >= content_end));
    let visible = tier1.or_else(tier2).or_else(tier3);
    match (machine, visible) {
        (Some(m), Some(v)) => {
            if v.naive_date() == m.naive_date() || tier1.is_some() {
                Some(v)
            } else {
                Some(m)
            }
        }
        (Some(m), None) => Some(m),
        (None, Some(v)) => Some(v),
        (None, None) => tier4().or_else(|| lines.iter().rev().find_map(|l| find_month(&l.text))),
    }
}
