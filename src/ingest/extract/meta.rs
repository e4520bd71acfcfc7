//! Page metadata: `<meta>` tags, the title (and the site name in its suffix), visible text
//! lines for dates, sources, editors and bylines.

use std::sync::OnceLock;

use regex::Regex;
use scraper::ElementRef;

use super::date::{find_date, in_displayed_offset, parse_machine_date, FoundDate};
use super::dom::{is_block, push_collapsed, Dom};
use crate::model::RawDate;

/// `<meta>` name/property/itemprop (lower-case) → content, in document order.
pub struct Metas(pub Vec<(String, String)>);

impl Metas {
    pub fn collect(dom: &Dom) -> Metas {
        let mut v = Vec::new();
        for m in dom.special_elements("meta") {
            let e = m.value();
            let Some(content) = e.attr("content") else {
                continue;
            };
            let content = content.trim();
            if content.is_empty() {
                continue;
            }
            for key in ["name", "property", "itemprop", "http-equiv"] {
                if let Some(k) = e.attr(key) {
                    v.push((k.trim().to_ascii_lowercase(), content.to_string()));
                }
            }
        }
        Metas(v)
    }

    pub fn get(&self, keys: &[&str]) -> Option<&str> {
        for k in keys {
            if let Some((_, v)) = self.0.iter().find(|(n, _)| n == k) {
                return Some(v.as_str());
            }
        }
        None
    }
}

fn collapse(s: &str) -> String {
    let mut out = String::new();
    push_collapsed(&mut out, s);
    out.trim().to_string()
}

/// Split a `<title>` into its parts: `咬紧牙关--陕西频道--人民网` → 3 parts.
pub fn title_parts(t: &str) -> Vec<String> {
    let chars: Vec<char> = t.chars().collect();
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    let is_han = |c: char| c as u32 >= 0x2E80;
    while i < chars.len() {
        let c = chars[i];
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        let sep_len = match c {
            '|' | '｜' | '_' | '»' | '«' | '—' => Some(1),
            '-' if next == Some('-') => {
                let mut j = i;
                while j < chars.len() && chars[j] == '-' {
                    j += 1;
                }
                Some(j - i)
            }
            '-' | '–' | '·' => {
                let spaced = prev.is_some_and(|p| p == ' ') && next.is_some_and(|n| n == ' ');
                let hanned = prev.is_some_and(is_han) && next.is_some_and(is_han);
                (spaced || hanned).then_some(1)
            }
            ':' if next == Some(':') => Some(2),
            _ => None,
        };
        match sep_len {
            Some(l) => {
                let p = cur.trim().to_string();
                if !p.is_empty() {
                    parts.push(p);
                }
                cur.clear();
                i += l;
            }
            None => {
                cur.push(c);
                i += 1;
            }
        }
    }
    let p = cur.trim().to_string();
    if !p.is_empty() {
        parts.push(p);
    }
    parts
}

fn norm_title(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{3000}')
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// The title and, when it was an `<h1>`/`<h2>`, its node index (the date line follows it).
pub struct TitleInfo {
    pub title: Option<String>,
    pub node: Option<usize>,
    pub site: Option<String>,
}

pub fn find_title(dom: &Dom, metas: &Metas) -> TitleInfo {
    let raw = dom
        .special_elements("title")
        .next()
        .map(|t| collapse(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let parts = raw.as_deref().map(title_parts).unwrap_or_default();
    let og = metas
        .get(&["og:title", "twitter:title", "dc.title", "headline"])
        .map(collapse)
        .filter(|t| !t.is_empty());
    // headings, in document order
    let mut heads: Vec<(usize, String, u8)> = Vec::new();
    for (i, n) in dom.nodes.iter().enumerate() {
        if n.skip {
            continue;
        }
        let lvl = match n.name {
            "h1" => 1,
            "h2" => 2,
            _ => continue,
        };
        let t = dom.text_of(i);
        if !t.is_empty() && t.chars().count() <= 200 {
            heads.push((i, t, lvl));
        }
    }
    let nraw = raw.as_deref().map(norm_title).unwrap_or_default();
    let nog = og.as_deref().map(norm_title).unwrap_or_default();
    let matches = |h: &str| {
        let nh = norm_title(h);
        nh.chars().count() >= 4
            && ((!nraw.is_empty() && nraw.contains(&nh)) || (!nog.is_empty() && nog.contains(&nh)))
    };
    let site = metas
        .get(&["og:site_name", "application-name"])
        .map(collapse)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            (parts.len() >= 2)
                .then(|| parts.last().cloned())
                .flatten()
                .filter(|s| s.chars().count() <= 16)
        })
        .or_else(|| {
            metas
                .get(&["copyright"])
                .and_then(|c| c.strip_suffix("版权所有").map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty() && s.chars().count() <= 16)
        });
    // 1. a heading that the <title> (or og:title) contains: the longest such h1, else h2
    for lvl in [1u8, 2] {
        let best = heads
            .iter()
            .filter(|(_, t, l)| *l == lvl && matches(t))
            .max_by_key(|(_, t, _)| t.chars().count());
        if let Some((i, t, _)) = best {
            return TitleInfo {
                title: Some(t.clone()),
                node: Some(*i),
                site,
            };
        }
    }
    let first_h1 = heads.iter().find(|(_, _, l)| *l == 1).map(|(i, _, _)| *i);
    // 2. og:title, minus a site suffix when it is the <title> again
    if let Some(og) = og {
        let ogp = title_parts(&og);
        let t = if ogp.len() >= 2 && Some(&og) == raw.as_ref() {
            best_part(&ogp)
        } else {
            og
        };
        return TitleInfo {
            title: Some(t),
            node: first_h1,
            site,
        };
    }
    // 3. the <title> without its site suffix
    if !parts.is_empty() {
        return TitleInfo {
            title: Some(best_part(&parts)),
            node: first_h1,
            site,
        };
    }
    // 4. the first heading
    TitleInfo {
        title: heads.first().map(|(_, t, _)| t.clone()),
        node: heads.first().map(|(i, _, _)| *i),
        site,
    }
}

/// The story part of a split title: the first one unless it is much shorter than another.
fn best_part(parts: &[String]) -> String {
    let first = &parts[0];
    let longest = parts
        .iter()
        .max_by_key(|p| p.chars().count())
        .unwrap_or(first);
    if first.chars().count() * 3 < longest.chars().count() {
        longest.clone()
    } else {
        first.clone()
    }
}

/// A line of visible text and the node that starts it.
pub struct Line {
    pub node: usize,
    pub text: String,
}

/// Visible text of the body cut into lines at block elements and `<br>`.
pub fn lines(dom: &Dom) -> Vec<Line> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = dom.body;
    let end = dom.nodes[dom.body].end;
    let mut i = dom.body;
    while i < end {
        let n = &dom.nodes[i];
        if n.skip {
            i = n.end;
            continue;
        }
        if n.el.is_none() {
            if cur.trim().is_empty() {
                start = i;
            }
            push_collapsed(&mut cur, n.text);
        } else if is_block(n.name) || n.name == "br" {
            let t = cur.trim();
            if !t.is_empty() {
                out.push(Line {
                    node: start,
                    text: t.to_string(),
                });
            }
            cur.clear();
            start = i;
        }
        i += 1;
    }
    let t = cur.trim();
    if !t.is_empty() {
        out.push(Line {
            node: start,
            text: t.to_string(),
        });
    }
    out
}

fn jsonld_date_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#""(datePublished|dateCreated|dateModified)"\s*:\s*"([^"]{8,40})""#)
            .expect("valid regex")
    })
}

/// Machine-readable publish and update dates: meta tags, `<time datetime>`, JSON-LD.
pub fn machine_dates(
    dom: &Dom,
    html: &str,
    metas: &Metas,
) -> (Option<FoundDate>, Option<FoundDate>) {
    let published = metas
        .get(&[
            "article:published_time",
            "og:article:published_time",
            "og:published_time",
            "datepublished",
            "publishdate",
            "publish_date",
            "publish-date",
            "publishtime",
            "pubdate",
            "pubtime",
            "parsely-pub-date",
            "sailthru.date",
            "dc.date.issued",
            "dc.date",
            "dcterms.date",
            "dcterms.created",
            "article.published",
            "og:release_date",
            "date",
            "weibo:article:create_at",
            "datecreated",
            "published",
            "article:published",
            "citation_publication_date",
            "citation_date",
        ])
        .and_then(parse_machine_date);
    let updated = metas
        .get(&[
            "article:modified_time",
            "og:updated_time",
            "datemodified",
            "dcterms.modified",
            "lastmod",
        ])
        .and_then(parse_machine_date);
    let mut ld_pub = None;
    let mut ld_mod = None;
    if html.contains("\"date") {
        for c in jsonld_date_re().captures_iter(html) {
            let d = parse_machine_date(&c[2]);
            match &c[1] {
                "dateModified" => ld_mod = ld_mod.or(d),
                _ => ld_pub = ld_pub.or(d),
            }
        }
    }
    // Every `<time datetime>` with the date it carries, parsed once.
    let times: Vec<(ElementRef, FoundDate)> = dom
        .special_elements("time")
        .filter_map(|t| Some((t, parse_machine_date(t.value().attr("datetime")?)?)))
        .collect();
    let time_el = times.first().map(|(_, d)| *d);
    // A tooltip only when nothing machine-readable gives a time of day.
    let timed = |d: &Option<FoundDate>| d.is_some_and(|d| d.has_time);
    let time_el = if timed(&published) || timed(&ld_pub) || timed(&time_el) {
        time_el
    } else {
        time_el.or_else(|| tooltip_date(dom))
    };
    let pick = |a: Option<FoundDate>, b: Option<FoundDate>| match (a, b) {
        (Some(x), Some(y)) if !x.has_time && y.has_time && x.naive_date() == y.naive_date() => {
            Some(y)
        }
        (Some(x), _) => Some(x),
        (None, y) => y,
    };
    let published = pick(pick(published, ld_pub), time_el).map(|p| displayed(&times, p));
    (published, updated.or(ld_mod))
}

/// A relative time shown with the exact one in its tooltip (`<span title="2024-05-04 10:15">3
/// hours ago</span>`, `<a title="2021年12月29日 08:35">3小时前</a>`), as forums, Weibo and many
/// Chinese sites print them: the first such element's exact time.
fn tooltip_date(dom: &Dom) -> Option<FoundDate> {
    static RELATIVE: OnceLock<Regex> = OnceLock::new();
    let relative = RELATIVE.get_or_init(|| {
        Regex::new(
            r"(?i)\bago\b|\byesterday\b|\bjust now\b|前$|前\s|刚刚|昨天|今天|\b\d{1,2}\s*(?:h|m|min|d)\b",
        )
        .expect("valid regex")
    });
    dom.nodes.iter().enumerate().find_map(|(i, n)| {
        let title = n.el?.value().attr("title")?;
        if n.skip || n.chars == 0 || n.chars > 40 || !title.bytes().any(|b| b.is_ascii_digit()) {
            return None;
        }
        let shown = dom.text_of(i);
        if !relative.is_match(shown.trim()) {
            return None;
        }
        parse_machine_date(title)
            .or_else(|| find_date(title))
            .filter(|d| d.has_time)
    })
}

/// `published` in the offset the page shows it in, when a `<time>` element with the same
/// instant displays another clock (a UTC datetime shown as local time).
fn displayed(times: &[(ElementRef, FoundDate)], published: FoundDate) -> FoundDate {
    let RawDate::Exact(p) = published.date else {
        return published;
    };
    times
        .iter()
        .filter(|(_, d)| matches!(d.date, RawDate::Exact(x) if x == p))
        .find_map(|(t, _)| in_displayed_offset(published, &t.text().collect::<String>()))
        .unwrap_or(published)
}

/// The first dated line among `lines`, and its position.
pub fn first_dated<'l>(lines: impl Iterator<Item = &'l Line>) -> Option<FoundDate> {
    for l in lines {
        if l.text.chars().count() > 200 {
            // long lines are story text; a date there is a mention
            continue;
        }
        if let Some(d) = find_date(&l.text) {
            return Some(d);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_titles() {
        assert_eq!(
            title_parts("咬紧牙关 持续从严 坚持就是胜利--陕西频道--人民网"),
            vec!["咬紧牙关 持续从严 坚持就是胜利", "陕西频道", "人民网"]
        );
        assert_eq!(
            title_parts("COVID-19 news - BBC"),
            vec!["COVID-19 news", "BBC"]
        );
        assert_eq!(title_parts("标题_新浪网"), vec!["标题", "新浪网"]);
    }
}
