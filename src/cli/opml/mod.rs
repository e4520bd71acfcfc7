//! OPML import, a pure function of text: a feed reader's OPML export → `[sources.*]` and
//! `[channels.*]` TOML to append to `config.toml` (`feedloom import`, `feedloom opml import`).
//! Categories (outlines that contain outlines) become channels; feeds at the top level go into
//! one channel `imported`. Ids are derived from titles: stable (the same input gives the same
//! ids) and unique. The document is read by the tolerant tokenizer in `reader.rs`. (Export is
//! on the read path: `serve/opml.rs`.)

mod reader;

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use url::Url;

/// Why an OPML document could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    #[error("this is not an OPML document (no <opml> root element)")]
    NotOpml,
    #[error("the OPML document lists no feeds (no outline with an http(s) xmlUrl)")]
    NoFeeds,
}

/// The poll interval given to imported sources.
pub const IMPORT_INTERVAL: &str = "30m";
/// The channel that collects feeds found outside any category.
pub const TOP_LEVEL_CHANNEL: &str = "imported";

/// A feed reader's OPML export → TOML text with `[sources.ID]` and `[channels.ID]` tables.
#[cfg(test)]
pub fn import(opml: &str) -> Result<String, OpmlError> {
    import_avoiding(opml, &BTreeSet::new(), &BTreeSet::new(), &mut |_, _| {})
}

/// A feed reader's OPML export → TOML text with `[sources.ID]` and `[channels.ID]` tables,
/// never producing a source id in `taken_sources` or a channel id in
/// `taken_channels` (the ids the config already uses), so the result can be appended to it.
/// `on_feed(done, total)` is called after each feed is given its id (for a progress line).
pub fn import_avoiding(
    opml: &str,
    taken_sources: &BTreeSet<String>,
    taken_channels: &BTreeSet<String>,
    on_feed: &mut dyn FnMut(usize, usize),
) -> Result<String, OpmlError> {
    let doc = reader::parse(opml)?;
    let plan = plan(&doc, taken_sources, taken_channels, on_feed);
    if plan.sources.is_empty() {
        return Err(OpmlError::NoFeeds);
    }
    Ok(to_toml(&plan))
}

/// One `<outline>` element.
#[derive(Debug, Default)]
struct Outline {
    attrs: HashMap<String, String>,
    children: Vec<Outline>,
}

impl Outline {
    /// Attribute by name, ignoring case (`xmlUrl`, `xmlurl` and `XMLURL` are all seen).
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// The human name: `title`, else `text`.
    fn name(&self) -> Option<&str> {
        self.attr("title").or_else(|| self.attr("text"))
    }

    /// The feed URL, when this outline is a feed we can poll.
    fn feed_url(&self) -> Option<String> {
        feed_url(self.attr("xmlUrl")?)
    }
}

/// The `<body>`'s top-level outlines (outlines outside `<body>` count too: some exports omit it).
#[derive(Debug, Default)]
struct Document {
    outlines: Vec<Outline>,
}

/// An http(s) URL, normalized so that duplicates compare equal; `feed://` and `feed:https://`
/// (as some readers write) are accepted.
fn feed_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = if let Some(rest) = raw.strip_prefix("feed://") {
        format!("http://{rest}")
    } else if let Some(rest) = raw.strip_prefix("feed:") {
        rest.to_string()
    } else {
        raw.to_string()
    };
    let u = Url::parse(&raw).ok()?;
    match u.scheme() {
        "http" | "https" if u.host_str().is_some() => Some(u.to_string()),
        _ => None,
    }
}

/// What the import will write.
struct Plan {
    /// (id, url, title) in document order.
    sources: Vec<(String, String, Option<String>)>,
    /// (id, title, source ids) in document order.
    channels: Vec<(String, String, Vec<String>)>,
    skipped: usize,
}

fn plan(
    doc: &Document,
    taken_sources: &BTreeSet<String>,
    taken_channels: &BTreeSet<String>,
    on_feed: &mut dyn FnMut(usize, usize),
) -> Plan {
    // Group feeds by the channel they go to: top-level feeds first (channel `imported`), then
    // each category in document order; nested categories are channels of their own, titled
    // "Parent / Child".
    let mut groups: Vec<(Option<String>, Vec<&Outline>)> = vec![(None, Vec::new())];
    let mut skipped = 0;
    fn walk<'a>(
        outlines: &'a [Outline],
        path: Option<&str>,
        group: usize,
        groups: &mut Vec<(Option<String>, Vec<&'a Outline>)>,
        skipped: &mut usize,
    ) {
        for o in outlines {
            if o.feed_url().is_some() {
                groups[group].1.push(o);
            } else if o.children.is_empty() {
                // A leaf without a usable xmlUrl (a bookmark, a podcast with only a link, ...).
                *skipped += 1;
            }
            if !o.children.is_empty() {
                let name = o.name().unwrap_or("Untitled");
                let title = match path {
                    Some(p) => format!("{p} / {name}"),
                    None => name.to_string(),
                };
                groups.push((Some(title.clone()), Vec::new()));
                let g = groups.len() - 1;
                walk(&o.children, Some(&title), g, groups, skipped);
            }
        }
    }
    walk(&doc.outlines, None, 0, &mut groups, &mut skipped);

    let mut source_ids = Ids::new(taken_sources);
    let mut channel_ids = Ids::new(taken_channels);
    let mut by_url: HashMap<String, String> = HashMap::new();
    let mut sources = Vec::new();
    let mut channels = Vec::new();
    let total: usize = groups.iter().map(|(_, feeds)| feeds.len()).sum();
    let mut done = 0;
    for (title, feeds) in groups {
        let mut members: Vec<String> = Vec::new();
        for o in feeds {
            done += 1;
            on_feed(done, total);
            let url = o.feed_url().expect("grouped feeds have a URL");
            let id = match by_url.get(&url) {
                Some(id) => id.clone(),
                None => {
                    let base = o
                        .name()
                        .map(|n| slug(n, "feed"))
                        .unwrap_or_else(|| url_slug(&url));
                    let id = source_ids.claim(&base);
                    by_url.insert(url.clone(), id.clone());
                    sources.push((id.clone(), url, o.name().map(str::to_string)));
                    id
                }
            };
            if !members.contains(&id) {
                members.push(id);
            }
        }
        if members.is_empty() {
            continue;
        }
        let (base, title) = match title {
            None => (TOP_LEVEL_CHANNEL.to_string(), "Imported feeds".to_string()),
            Some(t) => (slug(&t, "channel"), t),
        };
        channels.push((channel_ids.claim(&base), title, members));
    }
    Plan {
        sources,
        channels,
        skipped,
    }
}

/// Hands out unique ids: the base, else `base-2`, `base-3`, ...
struct Ids {
    used: BTreeSet<String>,
}

impl Ids {
    fn new(taken: &BTreeSet<String>) -> Ids {
        Ids {
            used: taken.clone(),
        }
    }

    fn claim(&mut self, base: &str) -> String {
        let mut id = base.to_string();
        let mut n = 2;
        while self.used.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.used.insert(id.clone());
        id
    }
}

/// Longest slug kept (cut at a word boundary when possible).
const MAX_SLUG: usize = 40;

/// An id from a title: lowercase ASCII words joined by `-` ("Hacker News" → `hacker-news`,
/// "Café Tech" → `cafe-tech`). A title with letters outside Latin (CJK, Cyrillic, ...) gets a
/// short stable hash so that different titles stay apart: `阮一峰的网络日志` → `feed-1a2b3c4d`,
/// `36氪` → `36-1a2b3c4d`. `prefix` is used when no ASCII word is left.
fn slug(title: &str, prefix: &str) -> String {
    let mut ascii = String::new();
    let mut foreign = false;
    for c in title.chars() {
        let folded = if c.is_ascii() {
            Some(
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
                .to_string(),
            )
        } else {
            fold_latin(c).map(str::to_string)
        };
        match folded {
            Some(s) => {
                for f in s.chars() {
                    if f.is_ascii_alphanumeric() {
                        ascii.push(f);
                    } else if !ascii.ends_with('-') {
                        ascii.push('-');
                    }
                }
            }
            None => {
                foreign = true;
                if !ascii.ends_with('-') {
                    ascii.push('-');
                }
            }
        }
    }
    let mut ascii = ascii.trim_matches('-').to_string();
    if ascii.len() > MAX_SLUG {
        let cut = ascii[..MAX_SLUG].rfind('-').filter(|&i| i >= MAX_SLUG / 2);
        ascii.truncate(cut.unwrap_or(MAX_SLUG));
        ascii = ascii.trim_end_matches('-').to_string();
    }
    if !foreign && !ascii.is_empty() {
        return ascii;
    }
    let hash = short_hash(title.trim());
    if ascii.is_empty() {
        format!("{prefix}-{hash}")
    } else {
        format!("{ascii}-{hash}")
    }
}

/// An id for a feed without a title: its host and path words.
fn url_slug(url: &str) -> String {
    let u = Url::parse(url).expect("feed URLs are parsed before");
    let host = u.host_str().unwrap_or("").trim_start_matches("www.");
    let s = slug(host, "feed");
    if s.is_empty() {
        "feed".into()
    } else {
        s
    }
}

/// 8 hex digits of SHA-256: stable across runs, machines and versions.
fn short_hash(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// ASCII for a non-ASCII Latin letter (`é` → `e`, `ß` → `ss`), a space for punctuation and
/// symbols (a word break), `None` for letters of other scripts.
fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
            "a"
        }
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' | 'ð' | 'Ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ę' | 'Ě' => {
            "e"
        }
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'İ' => "i",
        'ł' | 'ľ' | 'Ł' | 'Ľ' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō'
        | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'Ř' => "r",
        'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'Ť' | 'Ţ' => "t",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű' => {
            "u"
        }
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        // Typographic punctuation is a word break like ASCII punctuation.
        c if !c.is_alphanumeric() => " ",
        _ => return None,
    })
}

fn to_toml(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Imported from OPML by `feedloom opml import`: {} feed(s) in {} channel(s){}.\n\
         # Review the ids and intervals, then append this to config.toml and reload.\n",
        plan.sources.len(),
        plan.channels.len(),
        if plan.skipped > 0 {
            format!(
                "; {} outline(s) without an http(s) xmlUrl skipped",
                plan.skipped
            )
        } else {
            String::new()
        }
    ));
    for (id, url, title) in &plan.sources {
        out.push('\n');
        if let Some(t) = title {
            out.push_str(&format!("# {}\n", comment(t)));
        }
        out.push_str(&format!(
            "[sources.{id}]\nurl = {}\ninterval = {}\n",
            toml_str(url),
            toml_str(IMPORT_INTERVAL)
        ));
    }
    for (id, title, members) in &plan.channels {
        let list = members
            .iter()
            .map(|m| toml_str(m))
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "\n[channels.{id}]\ntitle = {}\nsources = [{list}]\n",
            toml_str(title)
        ));
    }
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text safe on one comment line.
fn comment(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::opml::export;
    use std::path::Path;

    /// An export shaped like Feedly's/Inoreader's: categories, a CJK category and titles, a
    /// feed listed twice, a bookmark without xmlUrl, HTML entities and a bare `&`.
    const READER_EXPORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- OPML generated by a feed reader -->
<opml version="1.0">
  <head>
    <title>My subscriptions in Reader</title>
    <dateCreated>Mon, 06 May 2024 09:12:00 +0000</dateCreated>
  </head>
  <body>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="Hacker News" title="Hacker News" xmlUrl="https://news.ycombinator.com/rss" htmlUrl="https://news.ycombinator.com/"/>
      <outline type="rss" text="LWN.net" title="LWN.net" xmlUrl="https://lwn.net/headlines/rss" htmlUrl="https://lwn.net"/>
      <outline type="rss" text="Rust Blog" title="Rust Blog" xmlUrl="https://blog.rust-lang.org/feed.xml" htmlUrl="https://blog.rust-lang.org/"/>
    </outline>
    <outline text="中文" title="中文">
      <outline type="rss" text="阮一峰的网络日志" title="阮一峰的网络日志" xmlUrl="http://www.ruanyifeng.com/blog/atom.xml" htmlUrl="http://www.ruanyifeng.com/blog/"/>
      <outline type="rss" text="36氪" title="36氪" xmlUrl="https://36kr.com/feed"/>
      <outline type="rss" text="Hacker News" title="Hacker News" xmlUrl="https://news.ycombinator.com/rss"/>
      <outline text="a bookmark" htmlUrl="https://example.com/"/>
    </outline>
    <outline text="News &amp; Politics" title="News &amp; Politics">
      <outline type="rss" text="Le Monde &mdash; À la une" xmlUrl="https://www.lemonde.fr/rss/une.xml"/>
      <outline type="rss" title="Hacker News" xmlUrl="https://hnrss.org/frontpage?points=100&count=20"/>
    </outline>
    <outline text="Empty folder"></outline>
    <outline type="rss" text="xkcd.com" title="xkcd.com" xmlUrl="https://xkcd.com/atom.xml" htmlUrl="https://xkcd.com/"/>
    <outline type="rss" text="Podcast without feed" htmlUrl="https://pod.example/"/>
    <outline type="rss" xmlUrl="https://www.example.org/feed/"/>
  </body>
</opml>
"#;

    fn parse_config(toml: &str) -> crate::config::Config {
        crate::config::Config::parse(toml, Path::new("/tmp/opml-test/config.toml"))
            .unwrap_or_else(|e| panic!("{e}\n---\n{toml}"))
    }

    #[test]
    fn reader_export_becomes_valid_config() {
        let toml = import(READER_EXPORT).unwrap();
        let c = parse_config(&toml);
        let ids: Vec<&str> = c.sources.keys().map(String::as_str).collect();
        let hash = |s: &str| short_hash(s);
        let mut want = vec![
            "hacker-news".to_string(),
            "lwn-net".into(),
            "rust-blog".into(),
            format!("feed-{}", hash("阮一峰的网络日志")),
            format!("36-{}", hash("36氪")),
            "le-monde-a-la-une".into(),
            "hacker-news-2".into(),
            "xkcd-com".into(),
            "example-org".into(),
        ];
        want.sort();
        assert_eq!(ids, want, "{toml}");
        // The same URL is one source, in every channel that listed it.
        assert_eq!(
            c.sources["hacker-news"].url.as_str(),
            "https://news.ycombinator.com/rss"
        );
        assert_eq!(
            c.channels["tech"].sources,
            ["hacker-news", "lwn-net", "rust-blog"]
        );
        let zh = c
            .channels
            .values()
            .find(|ch| ch.title == "中文")
            .expect("CJK category");
        assert_eq!(zh.id, format!("channel-{}", hash("中文")));
        assert_eq!(zh.sources.len(), 3);
        assert!(zh.sources.contains(&"hacker-news".to_string()));
        // Entities decoded in titles; a bare `&` in a URL survives.
        let news = &c.channels["news-politics"];
        assert_eq!(news.title, "News & Politics");
        assert_eq!(
            c.sources["hacker-news-2"].url.as_str(),
            "https://hnrss.org/frontpage?points=100&count=20"
        );
        // Top-level feeds go to `imported`; the empty folder is no channel.
        assert_eq!(c.channels["imported"].sources, ["xkcd-com", "example-org"]);
        assert_eq!(c.channels.len(), 4, "{toml}");
        assert_eq!(c.sources["xkcd-com"].interval.as_secs(), 30 * 60);
        assert!(
            toml.contains("3 outline(s) without an http(s) xmlUrl skipped"),
            "{toml}"
        );
        assert!(toml.contains("# 阮一峰的网络日志\n"), "{toml}");
    }

    #[test]
    fn import_is_stable() {
        assert_eq!(
            import(READER_EXPORT).unwrap(),
            import(READER_EXPORT).unwrap()
        );
    }

    #[test]
    fn ids_avoid_the_config_ids() {
        let taken_s: BTreeSet<String> = ["hacker-news".to_string()].into();
        let taken_c: BTreeSet<String> = ["tech".to_string(), "imported".to_string()].into();
        let toml = import_avoiding(READER_EXPORT, &taken_s, &taken_c, &mut |_, _| {}).unwrap();
        assert!(!toml.contains("[sources.hacker-news]\n"), "{toml}");
        assert!(toml.contains("[sources.hacker-news-2]\n"), "{toml}");
        assert!(toml.contains("[sources.hacker-news-3]\n"), "{toml}");
        assert!(toml.contains("[channels.tech-2]\n"), "{toml}");
        assert!(toml.contains("[channels.imported-2]\n"), "{toml}");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Hacker News", "feed"), "hacker-news");
        assert_eq!(
            slug("  The Verge -- All Posts!  ", "feed"),
            "the-verge-all-posts"
        );
        assert_eq!(slug("Café Crème’s Blog", "feed"), "cafe-creme-s-blog");
        assert_eq!(
            slug("阮一峰的网络日志", "feed"),
            format!("feed-{}", short_hash("阮一峰的网络日志"))
        );
        assert_ne!(slug("新闻", "feed"), slug("旧闻", "feed"));
        assert_eq!(slug("Новости", "feed").len(), "feed-".len() + 8);
        let long = slug(
            "A very long title that keeps going and going well beyond forty",
            "feed",
        );
        assert!(long.len() <= MAX_SLUG, "{long}");
        assert!(!long.ends_with('-'), "{long}");
        assert_eq!(short_hash("x"), short_hash("x"));
    }

    #[test]
    fn nested_categories_and_unclosed_outlines() {
        let opml = r#"<opml version="2.0"><body>
<outline text="Dev">
  <outline text="Rust">
    <outline type="rss" text="This Week in Rust" xmlUrl="https://this-week-in-rust.org/rss.xml"></outline>
  </outline>
  <outline type="rss" text="Go Blog" xmlUrl="feed://go.dev/blog/feed.atom"/>
</outline>
</body></opml>"#;
        let toml = import(opml).unwrap();
        let c = parse_config(&toml);
        assert_eq!(c.channels["dev"].sources, ["go-blog"], "{toml}");
        assert_eq!(c.channels["dev-rust"].title, "Dev / Rust");
        assert_eq!(c.channels["dev-rust"].sources, ["this-week-in-rust"]);
        assert_eq!(
            c.sources["go-blog"].url.as_str(),
            "http://go.dev/blog/feed.atom"
        );
        // A truncated export: the open outlines are closed at the end.
        let truncated = r#"<opml><body><outline text="Dev"><outline text="A" xmlUrl="https://a.example/rss"/><outline text="B" xmlUrl="https://b.example/rss">"#;
        let c = parse_config(&import(truncated).unwrap());
        assert_eq!(c.channels["dev"].sources, ["a", "b"]);
    }

    #[test]
    fn attribute_case_and_quotes_are_tolerated() {
        let opml = "\u{feff}<?xml version='1.0'?><OPML><BODY>\
            <OUTLINE TEXT='Quote \"test\"' XMLURL='https://a.example/rss'/>\
            <outline text=Bare xmlurl=https://b.example/rss />\
            </BODY></OPML>";
        let c = parse_config(&import(opml).unwrap());
        assert_eq!(
            c.sources["quote-test"].url.as_str(),
            "https://a.example/rss"
        );
        assert_eq!(c.sources["bare"].url.as_str(), "https://b.example/rss");
    }

    #[test]
    fn errors() {
        assert_eq!(
            import("<html><body>hi</body></html>"),
            Err(OpmlError::NotOpml)
        );
        assert_eq!(import("not xml at all < > &"), Err(OpmlError::NotOpml));
        assert_eq!(import(""), Err(OpmlError::NotOpml));
        assert_eq!(
            import(
                r#"<opml><body><outline text="x" htmlUrl="https://x/"/><outline text="ftp" xmlUrl="ftp://x/feed"/></body></opml>"#
            ),
            Err(OpmlError::NoFeeds)
        );
    }

    #[test]
    fn toml_strings_are_escaped() {
        let opml = r#"<opml><body><outline text="Tricky &quot;quotes&quot; \ and&#10;newline" xmlUrl="https://x.example/"/></body></opml>"#;
        let toml = import(opml).unwrap();
        let c = parse_config(&toml);
        assert_eq!(c.sources.len(), 1);
        assert!(
            toml.contains("# Tricky \"quotes\" \\ and newline\n"),
            "{toml}"
        );
    }

    #[test]
    fn round_trip() {
        let out = export(
            &crate::serve::opml::sample_channels(),
            "https://feeds.example.com",
        );
        let toml = import(&out).unwrap();
        let c = parse_config(&toml);
        assert_eq!(c.sources.len(), 2, "{toml}");
        assert_eq!(
            c.sources["mixed-sources-friends"].url.as_str(),
            "https://feeds.example.com/feeds/mixed.atom"
        );
        let zh = format!("feed-{}", short_hash("陕西新闻"));
        assert_eq!(
            c.sources[&zh].url.as_str(),
            "https://feeds.example.com/feeds/shaanxi.atom"
        );
        assert_eq!(
            c.channels["imported"].sources,
            ["mixed-sources-friends".to_string(), zh]
        );
    }
}
