//! A flat, pre-order view of a parsed document with per-subtree text statistics, computed once
//! so that scoring and cleaning never re-walk or re-parse the tree.

use scraper::{ElementRef, Html, Node, Selector};

use super::boilerplate::{class_id, class_weight, is_unlikely};

/// Marker for "no parent".
pub const NONE: usize = usize::MAX;

/// One node of the flat view.
pub struct FNode<'a> {
    /// The element, or `None` for a text node.
    pub el: Option<ElementRef<'a>>,
    /// Text content for text nodes ("" for elements).
    pub text: &'a str,
    /// Lower-case local name for elements ("" for text).
    pub name: &'a str,
    pub parent: usize,
    /// Exclusive end of this node's subtree: descendants are `index + 1 .. end`.
    pub end: usize,
    /// Excluded from everything (script, style, hidden, removed by a rule).
    pub skip: bool,
    /// Non-whitespace characters of visible text in the subtree.
    pub chars: u32,
    /// Of which inside links.
    pub link_chars: u32,
    /// Punctuation characters outside links.
    pub punct: u32,
    /// Letters (Han characters included) outside links: digits and symbols do not make prose.
    pub alpha: u32,
    /// `<a href>` elements in the subtree.
    pub links: u32,
    /// `<img>` elements in the subtree.
    pub imgs: u32,
    /// `<p>` elements in the subtree.
    pub paras: u32,
    /// Some descendant (not the node itself) is a block element.
    pub block_desc: bool,
    /// readability's class weight of the element's class/id (+25 content-like, −25 furniture).
    pub weight: i8,
    /// Furniture by tag, role or class/id (navigation, comments, share bars, …).
    pub unlikely: bool,
}

impl<'a> FNode<'a> {
    /// A node before its counts are summed: a text node as it is, the base of an element node.
    fn fresh(text: &'a str, parent: usize, end: usize, skip: bool) -> FNode<'a> {
        FNode {
            el: None,
            text,
            name: "",
            parent,
            end,
            skip,
            chars: 0,
            link_chars: 0,
            punct: 0,
            alpha: 0,
            links: 0,
            imgs: 0,
            paras: 0,
            block_desc: false,
            weight: 0,
            unlikely: false,
        }
    }
}

/// The flat document.
pub struct Dom<'a> {
    pub nodes: Vec<FNode<'a>>,
    /// (element address, index), sorted after building, to map selector matches into the view.
    by_ptr: Vec<(usize, usize)>,
    /// `<meta>`, `<title>`, `<time>`, `<base>`, `<style>` elements, wherever they are.
    pub special: Vec<usize>,
    /// Index of `<body>` (or of the root when there is none).
    pub body: usize,
    /// Whether elements hidden by an inline `visibility: hidden` count as visible.
    reveal_soft: bool,
    /// Whether the page has such elements.
    pub soft_hidden: bool,
}

/// How an element's own attributes hide it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hidden {
    No,
    /// `hidden`, `aria-hidden="true"`, `display: none`.
    Hard,
    /// An inline `visibility: hidden` alone: it keeps its place in the layout, and pages use it
    /// for content their scripts reveal on load (WeChat's `#js_content`, reveal-on-scroll
    /// effects). It stays hidden unless what is visible has no article (see
    /// [`Dom::build_revealing`]).
    Soft,
}

/// Elements whose content is never visible text.
fn never_visible(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "head"
            | "title"
            | "meta"
            | "link"
            | "iframe"
            | "svg"
            | "math"
            | "object"
            | "embed"
            | "canvas"
            | "select"
            | "option"
            | "textarea"
            | "button"
            | "input"
            | "map"
            | "area"
    )
}

/// Block-level elements: they start a new paragraph.
pub fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "dir"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "thead"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "ul"
            | "body"
            | "html"
    )
}

/// Punctuation that marks running prose (GNE's symbol density, readability's comma count).
pub fn is_punct(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '！'
            | '？'
            | '；'
            | '：'
            | '、'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '《'
            | '》'
            | '（'
            | '）'
            | ','
            | '.'
            | '!'
            | '?'
            | ';'
            | ':'
            | '"'
    )
}

pub fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}' || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}'
}

/// React's streamed server rendering (Next.js and others) sends a Suspense boundary's content
/// late, in `<div hidden id="S:1f">`, and a script moves it into place as the page loads: the
/// reader sees it, so it is not hidden text.
fn react_streamed(id: Option<&str>) -> bool {
    id.and_then(|i| i.strip_prefix("S:"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Does an inline `style` or attribute hide the element?
fn hidden_by_attrs(el: &ElementRef) -> Hidden {
    let v = el.value();
    if v.attr("hidden").is_some() && !react_streamed(v.attr("id")) {
        return Hidden::Hard;
    }
    if v.attr("aria-hidden") == Some("true") {
        return Hidden::Hard;
    }
    if let Some(style) = v.attr("style") {
        let compact: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if compact.contains("display:none") {
            return Hidden::Hard;
        }
        if compact.contains("visibility:hidden") {
            return Hidden::Soft;
        }
    }
    Hidden::No
}

/// Class weight and "unlikely" flag of an element, from its tag, role, class and id.
fn furniture(el: &ElementRef, name: &str) -> (i8, bool) {
    let v = el.value();
    if v.attr("class").is_none() && v.attr("id").is_none() && v.attr("role").is_none() {
        return (0, matches!(name, "nav" | "aside" | "footer"));
    }
    let ci = class_id(el);
    let weight = class_weight(&ci) as i8;
    let role = matches!(
        v.attr("role"),
        Some("navigation" | "complementary" | "banner" | "contentinfo" | "menu" | "menubar")
    );
    let unlikely = matches!(name, "nav" | "aside" | "footer") || role || is_unlikely(&ci, name);
    (weight, unlikely)
}

impl<'a> Dom<'a> {
    pub fn build(doc: &'a Html) -> Dom<'a> {
        Dom::build_with(doc, false)
    }

    /// The view with inline `visibility: hidden` content counted as visible: for a page whose
    /// visible part holds no article (the article waits for a script to reveal it).
    pub fn build_revealing(doc: &'a Html) -> Dom<'a> {
        Dom::build_with(doc, true)
    }

    fn build_with(doc: &'a Html, reveal_soft: bool) -> Dom<'a> {
        let mut dom = Dom {
            nodes: Vec::with_capacity(2048),
            by_ptr: Vec::with_capacity(1024),
            special: Vec::new(),
            body: 0,
            reveal_soft,
            soft_hidden: false,
        };
        let root = doc.root_element();
        dom.push_element(root, NONE, false, 0);
        dom.body = dom.nodes.iter().position(|n| n.name == "body").unwrap_or(0);
        dom.by_ptr.sort_unstable();
        dom.compute_stats();
        dom
    }

    fn push_element(&mut self, el: ElementRef<'a>, parent: usize, skip_parent: bool, depth: u32) {
        let name = el.value().name();
        let idx = self.nodes.len();
        let hidden = hidden_by_attrs(&el);
        self.soft_hidden |= hidden == Hidden::Soft && !skip_parent;
        // A `<noscript>` parsed as markup (see `extract::parse_without_scripts`) is what the
        // page shows a reader without scripts; parsed with scripts on, it is raw text.
        let noscript_markup =
            name == "noscript" && el.children().any(|c| matches!(c.value(), Node::Element(_)));
        let skip = skip_parent
            || (never_visible(name) && !noscript_markup)
            || hidden == Hidden::Hard
            || (hidden == Hidden::Soft && !self.reveal_soft);
        self.by_ptr.push((el.value() as *const _ as usize, idx));
        if matches!(name, "meta" | "title" | "time" | "base" | "style") {
            self.special.push(idx);
        }
        let (weight, unlikely) = if skip {
            (0, false)
        } else {
            furniture(&el, name)
        };
        self.nodes.push(FNode {
            el: Some(el),
            name,
            weight,
            unlikely,
            ..FNode::fresh("", parent, idx + 1, skip)
        });
        if depth < 400 {
            for child in el.children() {
                match child.value() {
                    Node::Element(_) => {
                        if let Some(c) = ElementRef::wrap(child) {
                            self.push_element(c, idx, skip, depth + 1);
                        }
                    }
                    Node::Text(t) => {
                        let text: &'a str = t;
                        let end = self.nodes.len() + 1;
                        self.nodes.push(FNode::fresh(text, idx, end, skip));
                    }
                    _ => {}
                }
            }
        }
        self.nodes[idx].end = self.nodes.len();
    }

    /// The `<meta>`/`<title>`/`<time>`/`<base>`/`<style>` elements named `name`, in order.
    pub fn special_elements<'s>(
        &'s self,
        name: &'s str,
    ) -> impl Iterator<Item = ElementRef<'a>> + 's {
        self.special
            .iter()
            .filter(move |&&i| self.nodes[i].name == name)
            .filter_map(|&i| self.nodes[i].el)
    }

    /// Index of an element matched by a selector.
    pub fn index_of(&self, el: &ElementRef) -> Option<usize> {
        let key = el.value() as *const _ as usize;
        self.by_ptr
            .binary_search_by_key(&key, |(p, _)| *p)
            .ok()
            .map(|k| self.by_ptr[k].1)
    }

    /// Exclude a subtree from everything.
    pub fn skip_subtree(&mut self, i: usize) {
        let end = self.nodes[i].end;
        for n in &mut self.nodes[i..end] {
            n.skip = true;
        }
    }

    /// Recompute the per-subtree statistics (after skipping subtrees).
    pub fn compute_stats(&mut self) {
        for n in &mut self.nodes {
            n.chars = 0;
            n.link_chars = 0;
            n.punct = 0;
            n.alpha = 0;
            n.links = 0;
            n.imgs = 0;
            n.paras = 0;
            n.block_desc = false;
            if n.el.is_none() && !n.skip {
                for c in n.text.chars() {
                    if !is_space(c) {
                        n.chars += 1;
                        if is_punct(c) {
                            n.punct += 1;
                        } else if c.is_alphabetic() {
                            n.alpha += 1;
                        }
                    }
                }
            }
        }
        for i in (0..self.nodes.len()).rev() {
            if self.nodes[i].skip {
                continue;
            }
            let name = self.nodes[i].name;
            match name {
                "a" if self.nodes[i].el.and_then(|e| e.attr("href")).is_some() => {
                    let n = &mut self.nodes[i];
                    n.link_chars = n.chars;
                    n.punct = 0;
                    n.alpha = 0;
                    n.links += 1;
                }
                "img" => self.nodes[i].imgs += 1,
                "p" => self.nodes[i].paras += 1,
                _ => {}
            }
            let p = self.nodes[i].parent;
            if p == NONE {
                continue;
            }
            let (chars, link_chars, punct, alpha, links, imgs, paras, block) = {
                let n = &self.nodes[i];
                (
                    n.chars,
                    n.link_chars,
                    n.punct,
                    n.alpha,
                    n.links,
                    n.imgs,
                    n.paras,
                    n.block_desc || (n.el.is_some() && is_block(n.name)),
                )
            };
            let pn = &mut self.nodes[p];
            pn.chars += chars;
            pn.link_chars += link_chars;
            pn.punct += punct;
            pn.alpha += alpha;
            pn.links += links;
            pn.imgs += imgs;
            pn.paras += paras;
            pn.block_desc |= block;
        }
    }

    /// Children indices of node `i` (elements and text), in document order.
    pub fn children(&self, i: usize) -> Children<'_, 'a> {
        Children {
            dom: self,
            next: i + 1,
            end: self.nodes[i].end,
        }
    }

    pub fn link_density(&self, i: usize) -> f32 {
        let n = &self.nodes[i];
        if n.chars == 0 {
            0.0
        } else {
            n.link_chars as f32 / n.chars as f32
        }
    }

    /// Visible text of a subtree, whitespace collapsed.
    pub fn text_of(&self, i: usize) -> String {
        let mut out = String::new();
        let end = self.nodes[i].end;
        let mut j = i;
        while j < end {
            let n = &self.nodes[j];
            if n.skip {
                j = n.end;
                continue;
            }
            if n.el.is_none() {
                push_collapsed(&mut out, n.text);
            } else if (is_block(n.name) || n.name == "br") && !out.ends_with(' ') {
                out.push(' ');
            }
            j += 1;
        }
        out.trim().to_string()
    }

    /// Mark elements matched by `sel` as skipped. With `guard`, an element that holds more than
    /// half of the page's text is spared (a stylesheet hiding the article until a script runs).
    pub fn skip_matching(&mut self, doc: &'a Html, sel: &Selector, guard: bool) {
        let body_chars = self.nodes[self.body].chars.max(1);
        let hits: Vec<usize> = doc.select(sel).filter_map(|e| self.index_of(&e)).collect();
        for i in hits {
            if guard && self.nodes[i].chars * 2 > body_chars {
                continue;
            }
            if matches!(self.nodes[i].name, "html" | "body") {
                continue;
            }
            self.skip_subtree(i);
        }
    }
}

pub struct Children<'d, 'a> {
    dom: &'d Dom<'a>,
    next: usize,
    end: usize,
}

impl Iterator for Children<'_, '_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        self.next = self.dom.nodes[i].end;
        Some(i)
    }
}

/// Append `text` to `out`, collapsing whitespace runs into one space.
pub fn push_collapsed(out: &mut String, text: &str) {
    for c in text.chars() {
        if is_space(c) {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
}
