//! The index page (`GET /`), as a pure function of what the server knows: the public channels
//! and every source's state, at a given `now` (relative times stay deterministic in tests).
//!
//! The page is small and self-contained: no JavaScript, no external assets, one inline style
//! sheet, readable on a phone (fluid layout; the sources table scrolls sideways on small
//! screens) and in dark mode. Everything that comes from the config or from sources is escaped.

use chrono::{DateTime, Utc};

use crate::model::cluster::ClusterStatus;
use crate::model::SourceStatus;
use crate::serve::render::Format;

/// One link to a channel's feed in one format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLink {
    /// What a person reads: "RSS", "Atom", "JSON Feed".
    pub label: &'static str,
    /// The bare media type (no parameters), for `<link rel="alternate" type=…>`.
    pub content_type: &'static str,
    /// Absolute URL of the feed.
    pub url: String,
}

/// The three feed links of a channel, in the order RSS, Atom, JSON Feed.
pub fn feed_links(base_url: &str, channel_id: &str) -> [FeedLink; 3] {
    let base = base_url.trim_end_matches('/');
    let link = |f: Format, label: &'static str| FeedLink {
        label,
        content_type: f.content_type().split(';').next().unwrap_or("").trim(),
        url: format!(
            "{base}/feeds/{}.{}",
            path_segment(channel_id),
            f.extension()
        ),
    };
    [
        link(Format::Rss, "RSS"),
        link(Format::Atom, "Atom"),
        link(Format::Json, "JSON Feed"),
    ]
}

/// What the page shows of one public channel (private channels are never passed in).
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelCard {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Items the channel serves now (the rendered feed's count).
    pub items: usize,
    /// The newest item's time.
    pub newest: Option<DateTime<Utc>>,
    /// From [`feed_links`]. The Atom link is the one offered for copying.
    pub feeds: [FeedLink; 3],
}

/// One row of the sources table: the same data as `/api/sources`.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRow {
    pub id: String,
    /// The URL polled now.
    pub url: String,
    pub status: SourceStatus,
    pub last_error: Option<String>,
    pub last_poll: Option<DateTime<Utc>>,
    pub next_poll: Option<DateTime<Utc>>,
    pub items: usize,
    pub consecutive_failures: u32,
    /// Repairs the last document needed (an ill-formed feed), shown so ops can tell its owner.
    pub repairs: Vec<String>,
}

/// The word `/api/sources` uses for a status.
pub fn status_label(s: SourceStatus) -> &'static str {
    match s {
        SourceStatus::Ok => "ok",
        SourceStatus::Error => "error",
        SourceStatus::Pending => "pending",
        SourceStatus::Gone => "gone",
    }
}

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode an id for a URL path segment or fragment (ids are letters, digits, `-`, `_`
/// and `.`, but letters may be non-ASCII).
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "just now", "3 min ago", "in 5 min", "2 h ago", "in 3 days", ...
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    let (future, s) = (secs > 0, secs.unsigned_abs());
    if s < 45 {
        return if future { "in a moment" } else { "just now" }.into();
    }
    let amount = if s < 90 {
        "1 min".to_string()
    } else if s < 3600 {
        format!("{} min", (s + 30) / 60)
    } else if s < 36 * 3600 {
        let h = (s + 1800) / 3600;
        format!("{h} h")
    } else if s < 60 * 86400 {
        let d = (s + 43200) / 86400;
        format!("{d} day{}", if d == 1 { "" } else { "s" })
    } else {
        let m = (s + 15 * 86400) / (30 * 86400);
        format!("{m} months")
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `<time>` with the relative time as text, the absolute UTC time in `title` (shown on hover)
/// and RFC 3339 in `datetime`; a dash when there is no time.
pub(super) fn time(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        None => "<span class=\"none\">—</span>".into(),
        Some(t) => format!(
            "<time datetime=\"{}\" title=\"{}\">{}</time>",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            esc(&relative(t, now)),
        ),
    }
}

/// A link for http(s) URLs; plain text for anything else (`file://` sources).
pub(super) fn maybe_link(url: &str, text: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        format!(
            "<a href=\"{}\" rel=\"nofollow noreferrer\">{}</a>",
            esc(url),
            esc(text)
        )
    } else {
        esc(text)
    }
}

pub(super) const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1a1a1a;--mute:#5f6368;--bg:#fff;--card:#f6f7f9;--line:#dfe1e5;\
--link:#0b57d0;--bad:#b3261e;--badbg:#fdecea;--warn:#8a5a00;--okc:#137333}\
@media(prefers-color-scheme:dark){:root{--fg:#e8eaed;--mute:#9aa0a6;--bg:#16181b;--card:#202326;\
--line:#3c4043;--link:#8ab4f8;--bad:#f28b82;--badbg:#3b1f1e;--warn:#fdd663;--okc:#81c995}}\
*{box-sizing:border-box}\
body{margin:0 auto;max-width:62rem;padding:1rem;font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",\
Roboto,\"Noto Sans\",\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",sans-serif;\
color:var(--fg);background:var(--bg);-webkit-text-size-adjust:100%}\
a{color:var(--link)}h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin:1.5rem 0 .5rem}\
h3{font-size:1.1rem;margin:0 0 .25rem}h3 a{color:inherit;text-decoration:none}\
.mute,.none{color:var(--mute)}.summary{margin:.25rem 0 1rem}\
.bad{color:var(--bad);font-weight:600}\
.cards{display:grid;gap:.75rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr))}\
.card{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;\
overflow-wrap:anywhere}\
.card p{margin:.25rem 0}.feeds a{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.15rem .6rem;\
border:1px solid var(--line);border-radius:1rem;text-decoration:none;background:var(--bg)}\
.copy{display:block;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;\
background:var(--bg);border:1px dashed var(--line);border-radius:.25rem;padding:.3rem .5rem;\
user-select:all;-webkit-user-select:all;overflow-wrap:anywhere}\
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:.5rem}\
table{border-collapse:collapse;width:100%;font-size:.875rem}\
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}\
th{background:var(--card);white-space:nowrap}td.n{text-align:right}td.t{white-space:nowrap}\
td.src{min-width:10rem}td.src small{display:block;color:var(--mute);overflow-wrap:anywhere;max-width:22rem}\
td.err{min-width:14rem;max-width:28rem}\
tr.error td{background:var(--badbg)}tr.error td.st,tr.error td.err,tr.error td.f{color:var(--bad)}\
tr.gone td{color:var(--mute)}tr.gone td.st{color:var(--warn)}\
.badge{display:inline-block;padding:0 .45rem;border-radius:.75rem;font-size:.8rem;font-weight:600;\
border:1px solid currentColor}.badge.ok{color:var(--okc)}.badge.error{color:var(--bad)}\
.badge.gone{color:var(--warn)}.badge.pending{color:var(--mute)}\
footer{margin:2rem 0 1rem;color:var(--mute);font-size:.875rem}\
@media(max-width:40rem){body{padding:.75rem}h1{font-size:1.35rem}table{font-size:.8rem}\
td.src{min-width:8rem}td.err{min-width:11rem}}";

/// The index page.
pub fn index_html(
    site_title: &str,
    channels: &[ChannelCard],
    sources: &[SourceRow],
    now: DateTime<Utc>,
) -> String {
    index_page(site_title, channels, sources, None, now)
}

/// The index page, with a table of the cluster's members in cluster mode.
pub fn index_page(
    site_title: &str,
    channels: &[ChannelCard],
    sources: &[SourceRow],
    cluster: Option<&ClusterStatus>,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::with_capacity(4096 + 1024 * (channels.len() + sources.len()));
    let title = esc(site_title);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    out.push_str(&format!("<title>{title}</title>\n"));
    for ch in channels {
        for f in &ch.feeds {
            out.push_str(&format!(
                "<link rel=\"alternate\" type=\"{}\" title=\"{} ({})\" href=\"{}\">\n",
                esc(f.content_type),
                esc(&ch.title),
                esc(f.label),
                esc(&f.url),
            ));
        }
    }
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));

    // Header with a one-line summary; broken sources are named and linked.
    let broken: Vec<&SourceRow> = sources
        .iter()
        .filter(|s| matches!(s.status, SourceStatus::Error | SourceStatus::Gone))
        .collect();
    out.push_str(&format!(
        "<header>\n<h1>{title}</h1>\n<p class=\"summary mute\">"
    ));
    out.push_str(&format!(
        "{} channel{} · <a href=\"#sources\">{} source{}</a>",
        channels.len(),
        plural(channels.len()),
        sources.len(),
        plural(sources.len()),
    ));
    if !broken.is_empty() {
        let names = broken
            .iter()
            .map(|s| {
                format!(
                    "<a href=\"#source-{}\">{}</a>",
                    esc(&path_segment(&s.id)),
                    esc(&s.id)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            " · <span class=\"bad\">{} failing: {names}</span>",
            broken.len()
        ));
    }
    out.push_str("</p>\n</header>\n<main>\n");

    // Channels.
    out.push_str("<h2>Channels</h2>\n");
    if channels.is_empty() {
        out.push_str("<p class=\"mute\">No public channels.</p>\n");
    } else {
        out.push_str("<div class=\"cards\">\n");
        for ch in channels {
            let id = esc(&path_segment(&ch.id));
            out.push_str(&format!(
                "<section class=\"card\" id=\"{id}\">\n<h3><a href=\"#{id}\">{}</a></h3>\n",
                esc(&ch.title)
            ));
            if let Some(d) = ch.description.as_deref().filter(|d| !d.trim().is_empty()) {
                out.push_str(&format!("<p>{}</p>\n", esc(d)));
            }
            out.push_str(&format!(
                "<p class=\"mute\">{} item{} · newest {}</p>\n",
                ch.items,
                plural(ch.items),
                time(ch.newest, now)
            ));
            out.push_str("<p class=\"feeds\">");
            for f in &ch.feeds {
                out.push_str(&format!(
                    "<a href=\"{}\" type=\"{}\">{}</a>",
                    esc(&f.url),
                    esc(f.content_type),
                    esc(f.label)
                ));
            }
            out.push_str("</p>\n");
            let copy = ch
                .feeds
                .iter()
                .find(|f| f.label == "Atom")
                .unwrap_or(&ch.feeds[0]);
            out.push_str(&format!(
                "<p class=\"mute\">Subscribe in a feed reader with this address:</p>\n\
                 <code class=\"copy\" title=\"Tap or double-click to select, then copy\">{}</code>\n",
                esc(&copy.url)
            ));
            out.push_str("</section>\n");
        }
        out.push_str("</div>\n");
    }

    // Sources.
    out.push_str("<h2 id=\"sources\">Sources</h2>\n");
    if sources.is_empty() {
        out.push_str("<p class=\"mute\">No sources.</p>\n");
    } else {
        out.push_str(
            "<div class=\"scroll\">\n<table>\n<thead><tr><th>source</th><th>status</th>\
             <th>last error</th><th>failures</th><th>last poll</th><th>next poll</th>\
             <th>items</th></tr></thead>\n<tbody>\n",
        );
        for s in sources {
            let label = status_label(s.status);
            out.push_str(&format!(
                "<tr class=\"{label}\" id=\"source-{}\">\
                 <td class=\"src\"><strong><a href=\"/sources/{}\">{}</a></strong><small>{}</small></td>\
                 <td class=\"st\"><span class=\"badge {label}\">{label}</span></td>\
                 <td class=\"err\">{}</td><td class=\"n f\">{}</td>\
                 <td class=\"t\">{}</td><td class=\"t\">{}</td><td class=\"n\">{}</td></tr>\n",
                esc(&path_segment(&s.id)),
                esc(&path_segment(&s.id)),
                esc(&s.id),
                maybe_link(&s.url, &s.url),
                match (&s.last_error, s.repairs.is_empty()) {
                    (Some(e), _) => esc(e),
                    (None, false) => format!(
                        "<span class=\"none\">repaired: {}</span>",
                        esc(&s.repairs.join(", "))
                    ),
                    (None, true) => "<span class=\"none\">—</span>".into(),
                },
                s.consecutive_failures,
                time(s.last_poll, now),
                time(s.next_poll, now),
                s.items,
            ));
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }
    if let Some(c) = cluster {
        cluster_section(&mut out, c, now);
    }
    out.push_str("</main>\n");

    out.push_str(&format!(
        "<footer><a href=\"/opml\">OPML</a> · <a href=\"/api/sources\">/api/sources</a> · \
         <a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a><br>\
         Page generated {} by feedloom.</footer>\n</body>\n</html>\n",
        now.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    out
}

/// The members as this node sees them: who polls how much, how far each has applied the log.
fn cluster_section(out: &mut String, c: &ClusterStatus, now: DateTime<Utc>) {
    out.push_str("<h2 id=\"cluster\">Cluster</h2>\n<p class=\"mute\">");
    out.push_str(&format!(
        "this node: <strong>{}</strong> · applied {} of {} (lag {}) · ",
        esc(&c.node),
        c.applied_seq,
        c.stream_seq,
        c.lag
    ));
    if c.reachable {
        out.push_str("NATS reachable");
    } else {
        out.push_str(&format!(
            "<span class=\"bad\">NATS unreachable: {}</span> (serving what is stored; polling paused)",
            esc(c.problem.as_deref().unwrap_or("unknown"))
        ));
    }
    out.push_str(
        "</p>\n<div class=\"scroll\">\n<table>\n<thead><tr><th>member</th><th>last seen</th>\
                  <th>sources</th><th>partitions</th><th>applied</th><th>lag</th><th>config</th>\
                  </tr></thead>\n<tbody>\n",
    );
    for m in &c.members {
        let config = if m.config_digest == c.config_digest {
            esc(&m.config_digest)
        } else {
            format!(
                "<span class=\"bad\">{} (differs)</span>",
                esc(&m.config_digest)
            )
        };
        out.push_str(&format!(
            "<tr><td class=\"src\"><strong>{}</strong></td><td class=\"t\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{config}</td></tr>\n",
            esc(&m.id),
            time(Some(m.last_seen), now),
            m.sources_owned,
            m.partitions_owned,
            m.applied_seq,
            c.stream_seq.saturating_sub(m.applied_seq),
        ));
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 6, 12, 0, 0).unwrap()
    }

    fn card(id: &str, title: &str) -> ChannelCard {
        ChannelCard {
            id: id.into(),
            title: title.into(),
            description: Some("News <b>&</b> \"views\"".into()),
            items: 12,
            newest: Some(now() - chrono::Duration::minutes(3)),
            feeds: feed_links("http://127.0.0.1:8080/", id),
        }
    }

    fn row(id: &str, status: SourceStatus) -> SourceRow {
        SourceRow {
            id: id.into(),
            url: format!("https://{id}.example/feed?a=1&b=2"),
            status,
            last_error: (status == SourceStatus::Error)
                .then(|| "HTTP 500 from <origin> \"x\"; retrying".into()),
            last_poll: Some(now() - chrono::Duration::minutes(3)),
            next_poll: Some(now() + chrono::Duration::minutes(5)),
            items: 7,
            consecutive_failures: if status == SourceStatus::Error { 3 } else { 0 },
            repairs: vec![],
        }
    }

    #[test]
    fn feed_links_are_absolute() {
        let l = feed_links("https://feeds.example.com/", "mixed");
        assert_eq!(l[0].url, "https://feeds.example.com/feeds/mixed.rss");
        assert_eq!(l[0].content_type, "application/rss+xml");
        assert_eq!(l[1].url, "https://feeds.example.com/feeds/mixed.atom");
        assert_eq!(l[1].content_type, "application/atom+xml");
        assert_eq!(l[2].url, "https://feeds.example.com/feeds/mixed.json");
        assert_eq!(l[2].content_type, "application/feed+json");
        assert_eq!(l[2].label, "JSON Feed");
    }

    #[test]
    fn autodiscovery_for_every_channel_and_format() {
        let page = index_html(
            "feedloom",
            &[card("mixed", "Mixed"), card("shaanxi", "陕西新闻")],
            &[],
            now(),
        );
        let head = &page[..page.find("</head>").unwrap()];
        for (id, title) in [("mixed", "Mixed"), ("shaanxi", "陕西新闻")] {
            for (ty, ext, label) in [
                ("application/rss+xml", "rss", "RSS"),
                ("application/atom+xml", "atom", "Atom"),
                ("application/feed+json", "json", "JSON Feed"),
            ] {
                let want = format!(
                    "<link rel=\"alternate\" type=\"{ty}\" title=\"{title} ({label})\" \
                     href=\"http://127.0.0.1:8080/feeds/{id}.{ext}\">"
                );
                assert!(head.contains(&want), "missing {want}\n{head}");
            }
        }
        assert_eq!(head.matches("rel=\"alternate\"").count(), 6);
        assert!(head.contains("name=\"viewport\""));
        // Anchors match the OPML htmlUrl (`{base}/#{id}`), and the Atom URL is offered to copy.
        assert!(page.contains("<section class=\"card\" id=\"mixed\">"));
        assert!(page.contains("<code class=\"copy\""));
        assert!(page.contains(">http://127.0.0.1:8080/feeds/shaanxi.atom</code>"));
    }

    #[test]
    fn everything_is_escaped() {
        let mut ch = card("x", "<script>alert(1)</script>");
        ch.feeds[0].url = "http://h/feeds/x.rss?a=\"><script>".into();
        let mut r = row("bad", SourceStatus::Error);
        r.url = "javascript:alert(1)".into();
        let page = index_html("<My & feeds>", &[ch], &[r], now());
        assert!(!page.contains("<script"), "{page}");
        assert!(!page.contains("<b>"));
        assert!(!page.contains("href=\"javascript:"));
        assert!(page.contains("<title>&lt;My &amp; feeds&gt;</title>"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("News &lt;b&gt;&amp;&lt;/b&gt; &quot;views&quot;"));
        assert!(page.contains("HTTP 500 from &lt;origin&gt; &quot;x&quot;; retrying"));
        assert!(page.contains("?a=&quot;&gt;&lt;script&gt;"));
        // No scripts or external assets of our own either.
        assert!(!page.contains("<script") && !page.contains("src="));
    }

    #[test]
    fn broken_sources_stand_out() {
        let rows = [
            row("good", SourceStatus::Ok),
            row("broken", SourceStatus::Error),
            row("moved-away", SourceStatus::Gone),
            row("new", SourceStatus::Pending),
        ];
        let page = index_html("feedloom", &[], &rows, now());
        assert!(page.contains(
            "2 failing: <a href=\"#source-broken\">broken</a>, <a href=\"#source-moved-away\">moved-away</a>"
        ));
        assert!(page.contains("<tr class=\"error\" id=\"source-broken\">"));
        assert!(page.contains("<span class=\"badge error\">error</span>"));
        assert!(page.contains("<td class=\"n f\">3</td>"));
        // Relative and absolute times.
        assert!(page.contains(
            "<time datetime=\"2024-05-06T11:57:00Z\" title=\"2024-05-06 11:57:00 UTC\">3 min ago</time>"
        ));
        assert!(page.contains("title=\"2024-05-06 12:05:00 UTC\">in 5 min</time>"));
        // http(s) source URLs are links (escaped), others are text.
        assert!(page.contains("href=\"https://good.example/feed?a=1&amp;b=2\""));
        assert!(page.contains("class=\"scroll\""));
    }

    #[test]
    fn private_channels_are_simply_not_passed_in() {
        // The server filters private channels out; the page shows only what it is given.
        let page = index_html("feedloom", &[card("public", "Public")], &[], now());
        assert!(!page.contains("secret"));
        assert!(page.contains("1 channel ·"));
        let empty = index_html("feedloom", &[], &[], now());
        assert!(empty.contains("No public channels."));
        assert!(!empty.contains("rel=\"alternate\""));
    }

    #[test]
    fn relative_times() {
        let n = now();
        let m = chrono::Duration::minutes;
        assert_eq!(relative(n, n), "just now");
        assert_eq!(
            relative(n + chrono::Duration::seconds(10), n),
            "in a moment"
        );
        assert_eq!(relative(n - m(1), n), "1 min ago");
        assert_eq!(relative(n + m(5), n), "in 5 min");
        assert_eq!(relative(n - m(59), n), "59 min ago");
        assert_eq!(relative(n - m(150), n), "3 h ago");
        assert_eq!(relative(n - chrono::Duration::days(1), n), "24 h ago");
        assert_eq!(relative(n - chrono::Duration::days(3), n), "3 days ago");
        assert_eq!(relative(n + chrono::Duration::days(200), n), "in 7 months");
    }

    /// Writes a sample page to `$FEEDLOOM_PAGE_PREVIEW` so that a person can look at it in a
    /// browser before the server serves it:
    /// `FEEDLOOM_PAGE_PREVIEW=/tmp/page.html cargo test --lib pages::tests::preview -- --ignored`
    #[test]
    #[ignore]
    fn preview() {
        let path = std::env::var("FEEDLOOM_PAGE_PREVIEW").expect("set FEEDLOOM_PAGE_PREVIEW");
        let mut zh = card("shaanxi", "陕西新闻");
        zh.description = Some("Chinese news, cleaned and served in simplified script.".into());
        zh.newest = Some(now() - chrono::Duration::days(3));
        let mut mixed = card("mixed", "Mixed sources");
        mixed.description = Some(
            "An RSS, an Atom and a JSON Feed source merged; the story they share appears once."
                .into(),
        );
        let mut bad = row("people-sn", SourceStatus::Error);
        bad.url = "http://sn.people.com.cn/GB/226647/index.html".into();
        bad.last_error = Some(
            "HTTP 503 Service Unavailable from sn.people.com.cn; retrying with backoff (next in 40 min)"
                .into(),
        );
        bad.next_poll = Some(now() + chrono::Duration::minutes(40));
        let mut gone = row("old-blog", SourceStatus::Gone);
        gone.last_error = Some("HTTP 410 Gone: polling stopped until the url changes".into());
        let mut pending = row("new-source", SourceStatus::Pending);
        pending.last_poll = None;
        pending.items = 0;
        let page = index_html(
            "feedloom",
            &[mixed, zh],
            &[
                row("blog", SourceStatus::Ok),
                gone,
                row("json", SourceStatus::Ok),
                pending,
                bad,
                row("site", SourceStatus::Ok),
            ],
            now(),
        );
        std::fs::write(path, page).unwrap();
    }

    #[test]
    fn deterministic() {
        let rows = [row("a", SourceStatus::Ok)];
        let chs = [card("c", "C")];
        assert_eq!(
            index_html("t", &chs, &rows, now()),
            index_html("t", &chs, &rows, now())
        );
    }
}
