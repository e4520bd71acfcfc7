//! Finding the main text (readability-style scoring with GNE's punctuation density) and turning
//! it into clean paragraphs.

use url::Url;

use super::dom::{is_block, is_space, Dom, NONE};
use super::{entries::lead_entry, tables::table_after, thread::thread_posts};

/// Minimum non-link characters for a run of text to count as a paragraph when scoring.
const MIN_UNIT_CHARS: u32 = 15;

struct Scorer<'d, 'a> {
    dom: &'d Dom<'a>,
    score: Vec<f32>,
    init: Vec<bool>,
    strict: bool,
    /// Elements holding a stream of teaser cards (see [`teaser_card`]).
    streams: Vec<usize>,
}

impl Scorer<'_, '_> {
    /// Does `a` hold a stream of teasers outside `top`? Such an ancestor is a page region, not
    /// the article.
    fn holds_stream_beside(&self, a: usize, top: usize) -> bool {
        let (a_end, top_end) = (self.dom.nodes[a].end, self.dom.nodes[top].end);
        self.streams
            .iter()
            .any(|&st| st >= a && st < a_end && !(st >= top && st < top_end))
    }
}

/// Is node `i` furniture by name, role or class (only consulted in strict mode)?
pub fn unlikely(dom: &Dom, i: usize) -> bool {
    dom.nodes[i].unlikely
}

fn tag_base(name: &str) -> f32 {
    match name {
        "div" | "article" | "section" | "main" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

impl Scorer<'_, '_> {
    fn init_node(&mut self, i: usize) {
        if self.init[i] {
            return;
        }
        self.init[i] = true;
        let n = &self.dom.nodes[i];
        self.score[i] = tag_base(n.name) + n.weight as f32;
    }

    /// A paragraph's worth of text owned by element `owner` (the paragraph's parent); a
    /// teaser's text (`scale` < 1) counts for less.
    fn add_unit(&mut self, owner: usize, chars: u32, punct: u32, scale: f32) {
        if chars < MIN_UNIT_CHARS {
            return;
        }
        let s = (1.0 + punct as f32 + (chars as f32 / 100.0).min(3.0)) * scale;
        let mut a = owner;
        let mut level = 0usize;
        while a != NONE && level < 5 {
            if matches!(self.dom.nodes[a].name, "html") {
                break;
            }
            self.init_node(a);
            let div = match level {
                0 => 1.0,
                1 => 2.0,
                l => (l * 3) as f32,
            };
            self.score[a] += s / div;
            a = self.dom.nodes[a].parent;
            level += 1;
        }
    }

    fn walk(&mut self, e: usize, scale: f32) {
        let (mut rc, mut rp) = (0u32, 0u32);
        let dom = self.dom;
        // A stream is several teaser cards side by side; one alone is not.
        let teasers: std::collections::HashSet<usize> = if scale == 1.0 {
            dom.children(e).filter(|&c| teaser_card(dom, c)).collect()
        } else {
            std::collections::HashSet::new()
        };
        let in_stream = teasers.len() >= 3;
        if in_stream {
            self.streams.push(e);
        }
        for c in dom.children(e) {
            let n = &dom.nodes[c];
            if n.skip || (self.strict && n.unlikely) {
                continue;
            }
            if n.el.is_none() || (!n.block_desc && !is_block(n.name)) {
                rc += n.alpha;
                rp += n.punct;
                continue;
            }
            self.add_unit(e, rc, rp, scale);
            rc = 0;
            rp = 0;
            if !n.block_desc {
                let (chars, punct) = (n.alpha, n.punct);
                self.add_unit(e, chars, punct, scale);
            } else {
                let inner = if in_stream && teasers.contains(&c) {
                    TEASER_SCALE
                } else {
                    scale
                };
                self.walk(c, inner);
            }
        }
        self.add_unit(e, rc, rp, scale);
    }

    fn final_score(&self, i: usize) -> f32 {
        self.score[i] * (1.0 - self.dom.link_density(i))
    }
}

/// What a teaser's text counts for against an article's.
const TEASER_SCALE: f32 = 0.25;

/// Is element `c` a teaser card: a short, dated block that opens with a heading whose text is
/// a link to another page (a "more stories" stream item), its summary below? Portal
/// pages put a short article beside a stream ten times longer, and the stream's summaries
/// read like paragraphs: counted in full, they would win. Three or more side by side make a
/// stream (see `Scorer::walk`).
fn teaser_card(dom: &Dom, c: usize) -> bool {
    let card = &dom.nodes[c];
    if card.skip || card.el.is_none() || !card.block_desc || card.chars > 1500 {
        return false;
    }
    let end = card.end;
    for i in (c + 1)..end.min(c + 40) {
        let n = &dom.nodes[i];
        if n.skip {
            continue;
        }
        if matches!(n.name, "h2" | "h3" | "h4" | "h5" | "h6") {
            let linked = n.chars > 0
                && (n.link_chars * 10 >= n.chars * 8 || inside_link(dom, i, c))
                && n.end < end;
            return linked && dated(dom, c);
        }
        // Text before any heading: the block does not open with one.
        if n.el.is_none() && n.alpha >= MIN_UNIT_CHARS {
            return false;
        }
    }
    false
}

/// Is node `i` inside a link below `c` (a card's heading wrapped in its `<a>`)?
fn inside_link(dom: &Dom, i: usize, c: usize) -> bool {
    let mut a = dom.nodes[i].parent;
    while a != NONE && a > c {
        let n = &dom.nodes[a];
        if n.name == "a" && n.el.and_then(|e| e.value().attr("href")).is_some() {
            return true;
        }
        a = n.parent;
    }
    false
}

/// Does card `c` carry a time, as a news stream's items do ("Associated Press · 2 hours ago",
/// `<time>`, a date)? Cards without one (a service page's offers, a product grid) may well be
/// the page's content, so only dated cards make a stream.
pub(super) fn dated(dom: &Dom, c: usize) -> bool {
    let end = dom.nodes[c].end;
    (c..end).any(|i| dom.nodes[i].name == "time") || time_re().is_match(&dom.text_of(c))
}

/// A date or a relative time in text (see [`dated`]).
pub(super) fn time_re() -> &'static regex::Regex {
    static TIME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    TIME.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b\d{1,2}\s*(?:h|hrs?|hours?|m|mins?|minutes?|d|days?)\s+ago\b|\d{1,2}\s*(?:小时|分钟|天)前|\b\d{4}[-/.年]\d{1,2}|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\d{1,2}月\d{1,2}日",
        )
        .expect("valid regex")
    })
}

/// The nodes holding the main content, in document order: the best-scored container plus the
/// siblings that belong with it; and the elements that hold a stream of teaser cards. `strict`
/// skips elements whose names say furniture.
pub fn find_content(dom: &Dom, strict: bool) -> (Vec<usize>, Vec<usize>) {
    let mut streams = Vec::new();
    let roots = find_roots(dom, strict, &mut streams);
    (roots, streams)
}

fn find_roots(dom: &Dom, strict: bool, streams: &mut Vec<usize>) -> Vec<usize> {
    let n = dom.nodes.len();
    let mut s = Scorer {
        dom,
        score: vec![0.0; n],
        init: vec![false; n],
        strict,
        streams: Vec::new(),
    };
    s.walk(dom.body, 1.0);
    streams.extend_from_slice(&s.streams);
    let mut top = NONE;
    let mut best = f32::MIN;
    for i in 0..n {
        if s.init[i] {
            let f = s.final_score(i);
            if f > best {
                best = f;
                top = i;
            }
        }
    }
    if top == NONE {
        return vec![dom.body];
    }
    if let Some(a) = common_ancestor_of_runners_up(dom, &s, top, best) {
        top = a;
    }
    // Climb while the parent scores better (several good paragraphs containers under it).
    let mut last = best;
    let mut parent = dom.nodes[top].parent;
    while parent != NONE && !matches!(dom.nodes[parent].name, "body" | "html") {
        if !s.init[parent] {
            parent = dom.nodes[parent].parent;
            continue;
        }
        let ps = s.final_score(parent);
        if ps < best / 3.0 {
            break;
        }
        if ps > last {
            top = parent;
            best = ps;
            break;
        }
        last = ps;
        parent = dom.nodes[parent].parent;
    }
    if let Some(a) = article_ancestor(dom, &s, top, best) {
        top = a;
    }
    // A lone child carries no more than its parent.
    loop {
        let p = dom.nodes[top].parent;
        if p == NONE || matches!(dom.nodes[p].name, "body" | "html") {
            break;
        }
        let elems = dom
            .children(p)
            .filter(|&c| {
                let n = &dom.nodes[c];
                !n.skip && (n.el.is_some() || n.chars > 0)
            })
            .count();
        if elems != 1 {
            break;
        }
        top = p;
    }
    // A forum thread: the post chosen and its sibling posts, together.
    if let Some(posts) = thread_posts(dom, top, |c| teaser_card(dom, c)) {
        let alpha: u32 = posts.iter().map(|&p| dom.nodes[p].alpha).sum();
        if alpha > dom.nodes[top].alpha * 3 / 2 {
            return posts;
        }
    }
    // A blog's index: the lead entry, not the longest (see `entries`).
    let top = lead_entry(dom, top).unwrap_or(top);
    let top_score = s.final_score(top).max(best);
    let parent = dom.nodes[top].parent;
    if parent == NONE {
        return vec![top];
    }
    let threshold = (top_score * 0.2).max(10.0);
    let top_class = dom.nodes[top]
        .el
        .and_then(|e| e.value().attr("class"))
        .unwrap_or("");
    let mut out = Vec::new();
    for c in dom.children(parent) {
        let nd = &dom.nodes[c];
        if nd.skip || nd.el.is_none() {
            continue;
        }
        if c == top {
            out.push(c);
            continue;
        }
        if (strict && unlikely(dom, c)) || s.holds_stream_beside(c, top) {
            continue;
        }
        let mut bonus = 0.0;
        let class = nd.el.and_then(|e| e.value().attr("class")).unwrap_or("");
        if !class.is_empty() && class == top_class {
            bonus = top_score * 0.2;
        }
        // A table of figures right after the text is the article's too (see `tables`).
        let scored = s.init[c] && s.final_score(c) + bonus >= threshold;
        if (scored && dom.link_density(c) < 0.3) || table_after(dom, top, c) {
            out.push(c);
            continue;
        }
        // A sibling section of the same kind (same tag, a class in common: a CMS's component
        // blocks) whose own score is diluted by its depth (its paragraphs sit a few wrappers
        // down) still belongs when a node inside it scores like article text.
        let same_kind = nd.name == dom.nodes[top].name
            && class
                .split_whitespace()
                .any(|t| top_class.split_whitespace().any(|u| u == t));
        if same_kind
            && nd.block_desc
            && dom.link_density(c) < 0.2
            && best_inside(dom, &s, c) >= threshold
        {
            out.push(c);
            continue;
        }
        if nd.name == "p" || (is_block(nd.name) && !nd.block_desc) {
            let ld = dom.link_density(c);
            let len = nd.chars;
            if len > 80 && ld < 0.25 {
                out.push(c);
            } else if len > 0 && len <= 80 && ld == 0.0 {
                let t = dom.text_of(c);
                if t.ends_with(['。', '.', '！', '？', '!', '?', '”']) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// readability's alternative candidates: when at least three of the next four best-scored nodes
/// score within 75% of the best, the article is the nearest ancestor of the best that holds
/// three of them (an article split into sections that each score alike).
fn common_ancestor_of_runners_up(
    dom: &Dom,
    s: &Scorer<'_, '_>,
    top: usize,
    best: f32,
) -> Option<usize> {
    let mut ranked: Vec<(f32, usize)> = (0..dom.nodes.len())
        .filter(|&i| s.init[i] && i != top)
        .map(|i| (s.final_score(i), i))
        .collect();
    // Only the four best matter: select them without sorting every scored node.
    let by_score = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0);
    if ranked.len() > 4 {
        ranked.select_nth_unstable_by(3, by_score);
        ranked.truncate(4);
    }
    let close: Vec<usize> = ranked
        .iter()
        .filter(|(score, _)| *score >= best * 0.75)
        .map(|&(_, i)| i)
        .collect();
    if close.len() < 3 {
        return None;
    }
    let mut p = dom.nodes[top].parent;
    // As in `article_ancestor`: not past a form, and only a plain container of prose, not of
    // link cards, that the renderer will walk (in strict mode not one named like furniture).
    while p != NONE && !matches!(dom.nodes[p].name, "body" | "html" | "form") {
        let end = dom.nodes[p].end;
        if close.iter().filter(|&&c| c > p && c < end).count() >= 3 {
            let prose = dom.link_density(p) < 0.25 && !s.holds_stream_beside(p, top);
            return (plain_container(dom, p) && prose && !(s.strict && dom.nodes[p].unlikely))
                .then_some(p);
        }
        p = dom.nodes[p].parent;
    }
    None
}

/// Only a plain container may become the article by climbing: a list or a table wrapping the
/// text renders otherwise.
fn plain_container(dom: &Dom, i: usize) -> bool {
    matches!(dom.nodes[i].name, "div" | "article" | "section" | "main")
}

/// The best score of any node inside `c` (0 when none was scored).
fn best_inside(dom: &Dom, s: &Scorer<'_, '_>, c: usize) -> f32 {
    (c + 1..dom.nodes[c].end)
        .filter(|&i| s.init[i])
        .map(|i| s.final_score(i))
        .fold(0.0, f32::max)
}

/// Page builders (Elementor, Gutenberg, Divi) wrap every few paragraphs in a stack of widgets:
/// the best-scored node is then one widget, while an ancestor a few levels up holds the whole
/// article, its score diluted by the depth. An ancestor that holds at least twice the prose,
/// nearly free of links, and still scores near the best is the article; of several, the best
/// scored.
fn article_ancestor(dom: &Dom, s: &Scorer<'_, '_>, top: usize, best: f32) -> Option<usize> {
    let prose = dom.nodes[top].alpha;
    let mut a = dom.nodes[top].parent;
    let mut chosen: Option<(usize, f32)> = None;
    for _ in 0..10 {
        // Text inside a form (a forum's post list) is not rendered from above the form.
        if a == NONE || matches!(dom.nodes[a].name, "body" | "html" | "form") {
            break;
        }
        if s.init[a] && plain_container(dom, a) {
            let fs = s.final_score(a);
            if fs >= best * 0.6
                && dom.nodes[a].alpha >= prose * 2
                && dom.link_density(a) < 0.2
                && !s.holds_stream_beside(a, top)
                && chosen.is_none_or(|(_, c)| fs > c)
            {
                chosen = Some((a, fs));
            }
        }
        a = dom.nodes[a].parent;
    }
    chosen.map(|(a, _)| a)
}

/// One paragraph-level piece of the cleaned content.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Output tag: `p`, `h2`…`h6`, `li`, `pre`.
    pub tag: &'static str,
    pub html: String,
    pub text: String,
    pub links: u32,
    pub link_chars: u32,
    pub imgs: u32,
    /// Which list a `li` belongs to (consecutive items of one list share it).
    pub list: usize,
}

impl Block {
    pub fn chars(&self) -> usize {
        self.text.chars().filter(|c| !is_space(*c)).count()
    }
}

struct Renderer<'d, 'a> {
    dom: &'d Dom<'a>,
    base: Option<&'d Url>,
    strict: bool,
    blocks: Vec<Block>,
    cur: Block,
    tag: &'static str,
    pre: bool,
    in_link: bool,
    list: usize,
    roots: Vec<usize>,
}

fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

/// Resolve a URL found in the page; `None` for scripts, mail links and garbage.
pub fn resolve(base: Option<&Url>, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() {
        return None;
    }
    let lower = href.get(..11).unwrap_or(href).to_ascii_lowercase();
    if lower.starts_with("javascript:")
        || lower.starts_with("mailto:")
        || lower.starts_with("data:")
    {
        return None;
    }
    let u = match base {
        Some(b) => b.join(href).ok()?,
        None => Url::parse(href).ok()?,
    };
    Some(u.to_string())
}

impl<'d, 'a> Renderer<'d, 'a> {
    fn flush(&mut self) {
        let mut b = std::mem::take(&mut self.cur);
        let trimmed = b.text.trim_matches(is_space);
        if trimmed.is_empty() && b.imgs == 0 {
            return;
        }
        b.text = trimmed.to_string();
        if !self.pre {
            b.html = b.html.trim_matches(is_space).to_string();
        }
        b.tag = self.tag;
        b.list = self.list;
        self.blocks.push(b);
    }

    fn push_text(&mut self, t: &str) {
        if self.pre {
            escape_text(&mut self.cur.html, t);
            self.cur.text.push_str(t);
            return;
        }
        for c in t.chars() {
            if is_space(c) {
                if !self.cur.text.is_empty() && !self.cur.text.ends_with(' ') {
                    self.cur.text.push(' ');
                    self.cur.html.push(' ');
                }
            } else {
                self.cur.text.push(c);
                if self.in_link {
                    self.cur.link_chars += 1;
                }
                match c {
                    '&' => self.cur.html.push_str("&amp;"),
                    '<' => self.cur.html.push_str("&lt;"),
                    '>' => self.cur.html.push_str("&gt;"),
                    _ => self.cur.html.push(c),
                }
            }
        }
    }

    /// readability's conditional cleaning: containers inside the content that look like
    /// furniture (link lists, share bars, navigation) are dropped whole.
    fn drop_conditionally(&self, i: usize) -> bool {
        let n = &self.dom.nodes[i];
        if self.roots.contains(&i) {
            return false;
        }
        if matches!(n.name, "nav" | "aside" | "footer" | "header" | "form") {
            return true;
        }
        if self.strict && unlikely(self.dom, i) {
            return true;
        }
        let ld = self.dom.link_density(i);
        match n.name {
            "div" | "section" | "ul" | "ol" | "table" | "dl" | "tbody" | "tr" | "td" | "center"
            | "span" | "font" => {
                if n.links >= 2 && ld > 0.5 {
                    return true;
                }
                let w = n.weight;
                if w < 0 && ld > 0.2 {
                    return true;
                }
                if w < 0 && n.chars < 200 && n.paras == 0 {
                    return true;
                }
                false
            }
            "p" => n.links >= 2 && ld > 0.8,
            _ => false,
        }
    }

    fn walk(&mut self, i: usize) {
        let n = &self.dom.nodes[i];
        if n.skip {
            return;
        }
        let Some(el) = n.el else {
            let t = n.text;
            self.push_text(t);
            return;
        };
        if self.drop_conditionally(i) {
            return;
        }
        let name = n.name;
        match name {
            "br" => {
                if self.pre {
                    self.cur.html.push('\n');
                    self.cur.text.push('\n');
                } else {
                    self.flush();
                }
            }
            "hr" => self.flush(),
            "img" => {
                let v = el.value();
                let tiny = |a: &str| {
                    v.attr(a)
                        .and_then(|s| s.trim().trim_end_matches("px").parse::<u32>().ok())
                        .is_some_and(|x| x <= 2)
                };
                if tiny("width") || tiny("height") {
                    return;
                }
                let mut src = v.attr("src").unwrap_or("");
                let lazy = src.is_empty()
                    || src.starts_with("data:")
                    || src.contains("blank.gif")
                    || src.contains("loading")
                    || src.contains("grey.gif");
                if lazy {
                    for a in [
                        "data-src",
                        "data-original",
                        "data-lazy-src",
                        "data-actualsrc",
                        "data-url",
                    ] {
                        if let Some(s) = v.attr(a) {
                            src = s;
                            break;
                        }
                    }
                }
                if let Some(abs) = resolve(self.base, src) {
                    self.cur.html.push_str("<img src=\"");
                    escape_attr(&mut self.cur.html, &abs);
                    self.cur.html.push('"');
                    if let Some(alt) = v.attr("alt").filter(|a| !a.trim().is_empty()) {
                        self.cur.html.push_str(" alt=\"");
                        escape_attr(&mut self.cur.html, alt.trim());
                        self.cur.html.push('"');
                    }
                    self.cur.html.push('>');
                    self.cur.imgs += 1;
                }
            }
            "a" => {
                let href = el.value().attr("href").and_then(|h| resolve(self.base, h));
                match href {
                    Some(h) if !self.in_link => {
                        self.cur.links += 1;
                        self.cur.html.push_str("<a href=\"");
                        escape_attr(&mut self.cur.html, &h);
                        self.cur.html.push_str("\">");
                        self.in_link = true;
                        self.children(i);
                        self.in_link = false;
                        self.cur.html.push_str("</a>");
                    }
                    _ => self.children(i),
                }
            }
            "strong" | "b" | "em" | "i" | "u" | "sub" | "sup" | "code" | "s" | "del" | "ins"
            | "mark" | "q" | "cite" | "abbr" | "small" => {
                let tag = match name {
                    "b" => "strong",
                    "i" => "em",
                    t => t,
                };
                let before = self.cur.html.len();
                self.cur.html.push('<');
                self.cur.html.push_str(tag);
                self.cur.html.push('>');
                let mark = self.cur.html.len();
                self.children(i);
                if self.cur.html.len() == mark {
                    // empty: drop the open tag
                    self.cur.html.truncate(before);
                } else if self.cur.html.len() > mark {
                    self.cur.html.push_str("</");
                    self.cur.html.push_str(tag);
                    self.cur.html.push('>');
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let prev = self.tag;
                self.tag = match name {
                    "h1" | "h2" => "h2",
                    "h3" => "h3",
                    "h4" => "h4",
                    "h5" => "h5",
                    _ => "h6",
                };
                self.children(i);
                self.flush();
                self.tag = prev;
            }
            "ul" | "ol" => {
                self.flush();
                self.list += 1;
                self.children(i);
                self.flush();
                self.list += 1;
            }
            "li" => {
                self.flush();
                let prev = self.tag;
                self.tag = "li";
                self.children(i);
                self.flush();
                self.tag = prev;
            }
            "pre" => {
                self.flush();
                let prev = self.tag;
                self.tag = "pre";
                self.pre = true;
                self.children(i);
                self.flush();
                self.pre = false;
                self.tag = prev;
            }
            _ if is_block(name) => {
                self.flush();
                self.children(i);
                self.flush();
            }
            _ => self.children(i),
        }
    }

    fn children(&mut self, i: usize) {
        let dom = self.dom;
        for c in dom.children(i) {
            self.walk(c);
        }
    }
}

/// Turn the content nodes into paragraph blocks (unfiltered: furniture lines are removed by
/// the caller, which also reads metadata out of them).
pub fn render_blocks(dom: &Dom, roots: &[usize], base: Option<&Url>, strict: bool) -> Vec<Block> {
    let mut r = Renderer {
        dom,
        base,
        strict,
        blocks: Vec::new(),
        cur: Block::default(),
        tag: "p",
        pre: false,
        in_link: false,
        list: 0,
        roots: roots.to_vec(),
    };
    for &root in roots {
        r.walk(root);
        r.flush();
    }
    r.blocks
}

/// Serialize blocks as HTML: `<p>`s, headings, lists, `<pre>`.
pub fn blocks_to_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    let mut open_list: Option<usize> = None;
    for b in blocks {
        if b.tag == "li" {
            if open_list != Some(b.list) {
                if open_list.is_some() {
                    out.push_str("</ul>");
                }
                out.push_str("<ul>");
                open_list = Some(b.list);
            }
        } else if open_list.take().is_some() {
            out.push_str("</ul>");
        }
        out.push('<');
        out.push_str(b.tag);
        out.push('>');
        out.push_str(&b.html);
        out.push_str("</");
        out.push_str(b.tag);
        out.push('>');
        if b.tag != "li" {
            out.push('\n');
        }
    }
    if open_list.is_some() {
        out.push_str("</ul>\n");
    }
    out
}
