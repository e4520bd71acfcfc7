//! What `feedloom suggest` proposes for a list page's article pages: automatic extraction is
//! tried on a few of them, and where it is unsure (no title, no date, a very short body) a
//! selector is looked for that works on every one of them. Pure: the pages are given.

use scraper::{Html, Selector};

use super::date::find_date;
use super::dom::Dom;
use super::{extract_article, hidden_selectors, text_of_sel, without_hidden};
use crate::config::ArticleRules;

/// Fewer characters of body than this is "very short": likely not the whole article.
pub const SHORT_BODY: usize = 200;

/// Selectors for what automatic extraction was unsure of, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleHints {
    pub title: Option<String>,
    pub content: Option<String>,
    pub date: Option<String>,
    /// What was unsure and had no selector found, in words (one line each).
    pub notes: Vec<String>,
}

/// How automatic extraction fared on one page.
struct Outcome {
    title: bool,
    date: bool,
    body_chars: usize,
}

fn outcome(html: &str, url: &str) -> Outcome {
    match extract_article(html, url, &ArticleRules::default()) {
        Ok(e) => Outcome {
            title: e.title.as_deref().is_some_and(|t| !t.trim().is_empty()),
            date: e.published.is_some(),
            body_chars: e
                .content_html
                .as_deref()
                .map(|h| {
                    Html::parse_fragment(h)
                        .root_element()
                        .text()
                        .flat_map(str::chars)
                        .filter(|c| !c.is_whitespace())
                        .count()
                })
                .unwrap_or(0),
        },
        Err(_) => Outcome {
            title: false,
            date: false,
            body_chars: 0,
        },
    }
}

/// Selectors for the fields automatic extraction is unsure of on `pages` (HTML, URL).
pub fn article_hints(pages: &[(String, String)]) -> ArticleHints {
    let mut hints = ArticleHints::default();
    if pages.is_empty() {
        return hints;
    }
    let docs: Vec<Html> = pages.iter().map(|(h, _)| Html::parse_document(h)).collect();
    let outcomes: Vec<Outcome> = pages.iter().map(|(h, u)| outcome(h, u)).collect();
    if outcomes.iter().any(|o| !o.title) {
        hints.title = ["h1", "h2"]
            .into_iter()
            .find(|s| works_everywhere(&docs, s, |t| (2..=200).contains(&t.chars().count())))
            .map(String::from);
        if hints.title.is_none() {
            hints.notes.push("no title found automatically".into());
        }
    }
    if outcomes.iter().any(|o| !o.date) {
        hints.date = candidates(&docs[0], |dom, i| {
            let n = &dom.nodes[i];
            n.chars > 0 && n.chars <= 80 && find_date(&dom.text_of(i)).is_some()
        })
        .into_iter()
        .find(|s| works_everywhere(&docs, s, |t| find_date(t).is_some()));
        if hints.date.is_none() {
            hints.notes.push("no publication date found".into());
        }
    }
    if outcomes.iter().any(|o| o.body_chars < SHORT_BODY) {
        hints.content = content_candidates(&docs[0])
            .into_iter()
            .find(|s| works_everywhere(&docs, s, |t| t.chars().count() >= SHORT_BODY / 2));
        if hints.content.is_none() {
            hints.notes.push(format!(
                "the article text found is short (under {SHORT_BODY} characters)"
            ));
        }
    }
    hints
}

/// Does the selector find, on every page, an element whose text passes `ok`?
fn works_everywhere(docs: &[Html], sel: &str, ok: impl Fn(&str) -> bool) -> bool {
    let Ok(parsed) = Selector::parse(sel) else {
        return false;
    };
    docs.iter()
        .all(|d| text_of_sel(d, &parsed).is_some_and(|t| ok(&t)))
}

/// A selector naming element `i` on its own: `#id`, else `tag.class`.
fn name_of(dom: &Dom, i: usize) -> Option<String> {
    let el = dom.nodes[i].el?;
    let plain = |s: &str| {
        s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if let Some(id) = el.value().attr("id").filter(|id| plain(id)) {
        return Some(format!("#{id}"));
    }
    let class = el
        .value()
        .attr("class")?
        .split_ascii_whitespace()
        .find(|c| plain(c))?;
    Some(format!("{}.{class}", dom.nodes[i].name))
}

/// Named elements of the visible page that pass `keep`, innermost first.
fn candidates(doc: &Html, keep: impl Fn(&Dom, usize) -> bool) -> Vec<String> {
    let first = Dom::build(doc);
    let hidden = hidden_selectors(&first);
    let dom = without_hidden(first, doc, &hidden, &[]);
    let mut out: Vec<String> = Vec::new();
    for i in (dom.body..dom.nodes.len()).rev() {
        if dom.nodes[i].skip || dom.nodes[i].el.is_none() || !keep(&dom, i) {
            continue;
        }
        if let Some(s) = name_of(&dom, i) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Named blocks of prose (few links, several paragraphs' worth of text), the most text first.
fn content_candidates(doc: &Html) -> Vec<String> {
    let first = Dom::build(doc);
    let hidden = hidden_selectors(&first);
    let dom = without_hidden(first, doc, &hidden, &[]);
    let mut scored: Vec<(u32, String)> = Vec::new();
    for i in dom.body + 1..dom.nodes.len() {
        let n = &dom.nodes[i];
        if n.skip || n.el.is_none() || n.unlikely || dom.link_density(i) > 0.3 {
            continue;
        }
        let prose = n.chars - n.link_chars;
        if (prose as usize) < SHORT_BODY / 2 || n.punct < 3 {
            continue;
        }
        if let Some(s) = name_of(&dom, i) {
            scored.push((prose, s));
        }
    }
    // The innermost block holding most of the best one's prose: the article, not the page.
    let best = scored.iter().map(|(p, _)| *p).max().unwrap_or(0);
    let mut good: Vec<(u32, String)> = scored
        .into_iter()
        .filter(|(p, _)| *p * 10 >= best * 8)
        .collect();
    good.sort_by_key(|(p, _)| *p);
    good.into_iter().map(|(_, s)| s).collect()
}
