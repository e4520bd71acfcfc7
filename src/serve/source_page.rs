//! A source's page (`GET /sources/{id}`), as a pure function of what the server knows about it:
//! its state, its last polls, when its articles arrived, its newest items and its settings.
//!
//! Like the index page: no JavaScript, no external assets, the index page's style sheet plus
//! a few rules for the charts, readable on a phone and in dark mode. The charts are inline SVG
//! coloured by the style sheet; each poll and each day is one group with a `<title>` (the
//! browser's tooltip, and what a screen reader reads), failures are drawn in another colour
//! *and* with a mark of their own in a row below, so they stand out without colour too, and a
//! table under the poll chart gives the recent polls in words. Everything from the config or
//! from sources is escaped, and the settings are shown with every secret replaced.

use chrono::{DateTime, NaiveDate, Utc};

use super::pages::{esc, maybe_link, path_segment, plural, status_label, time, SourceRow, STYLE};
use crate::config::SourceConfig;
use crate::model::board::PollRecord;
use crate::model::redact::{self, REDACTED};
use crate::store::polls::POLL_HISTORY;

/// Days shown in the arrivals chart.
pub const ARRIVAL_DAYS: usize = 30;

/// Items listed under "Newest items".
pub const NEWEST_ITEMS: usize = 15;

/// One of the source's newest stored items.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemLink {
    pub title: String,
    pub url: Option<String>,
    /// Its place in the feed (published, else updated, else first seen).
    pub time: DateTime<Utc>,
}

/// Everything the page shows of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceView {
    /// The status line, as on the index page (URL already redacted).
    pub row: SourceRow,
    pub last_success: Option<DateTime<Utc>>,
    /// This process's last polls, oldest first.
    pub polls: Vec<PollRecord>,
    /// Articles first seen per day (UTC), oldest day first, [`ARRIVAL_DAYS`] days to today.
    pub arrivals: Vec<(NaiveDate, usize)>,
    /// Newest first.
    pub newest: Vec<ItemLink>,
    /// (key, value) pairs, secrets already replaced (see [`settings`]).
    pub settings: Vec<(String, String)>,
    /// The public channels that include the source: (id, title).
    pub channels: Vec<(String, String)>,
}

/// Count first-seen times per UTC day over the [`ARRIVAL_DAYS`] days that end today.
pub fn arrivals_per_day(
    first_seen: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Vec<(NaiveDate, usize)> {
    let today = now.date_naive();
    let first = today - chrono::Days::new(ARRIVAL_DAYS as u64 - 1);
    let mut days: Vec<(NaiveDate, usize)> = (0..ARRIVAL_DAYS as u64)
        .map(|i| (first + chrono::Days::new(i), 0))
        .collect();
    for t in first_seen {
        let d = t.date_naive();
        if d >= first && d <= today {
            days[(d - first).num_days() as usize].1 += 1;
        }
    }
    days
}

/// The source's settings as the page shows them. Header values, the basic-auth user name and
/// password and the cookie are replaced by `REDACTED` (only their presence shows); URLs (the
/// source's, the proxy's) lose their user-info and key-like query values.
pub fn settings(src: &SourceConfig) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| out.push((k.to_string(), v));
    put("url", redact::url(src.url.as_str()));
    put(
        "kind",
        match src.kind {
            Some(crate::config::SourceKind::Feed) => "feed".into(),
            Some(crate::config::SourceKind::Html) => "html".into(),
            None => "detected".into(),
        },
    );
    put("interval", duration_words(src.interval));
    put("timezone", src.timezone.name().to_string());
    put("max_items", src.max_items.to_string());
    if let Some(a) = src.max_age {
        put("max_age", duration_words(a));
    }
    if let Some(t) = &src.feed_title {
        put("feed_title", t.clone());
    }
    if src.full_text.is_some() {
        put("full_text", "true".into());
    }
    if let Some(h) = &src.html {
        put("html.items", h.items.clone());
        put("html.max_items", h.max_items.to_string());
    }
    if let Some(rules) = src
        .html
        .as_ref()
        .map(|h| &h.rules)
        .or(src.full_text.as_deref())
    {
        for (k, v) in [
            ("html.title", &rules.title),
            ("html.content", &rules.content),
            ("html.date", &rules.date),
            ("html.author", &rules.author),
            ("html.source", &rules.source),
        ] {
            if let Some(v) = v {
                put(k, v.clone());
            }
        }
        if !rules.remove.is_empty() {
            put("html.remove", rules.remove.join(", "));
        }
    }
    let req = &src.request;
    for (name, _) in &req.headers {
        put(&format!("headers.{name}"), REDACTED.into());
    }
    if let Some(ua) = &req.user_agent {
        put("user_agent", ua.clone());
    }
    if req.basic_auth.is_some() {
        put("username", REDACTED.into());
        put("password", REDACTED.into());
    }
    if req.cookie.is_some() {
        put("cookie", REDACTED.into());
    }
    if let Some(p) = &req.proxy {
        put("proxy", redact::url(p.as_str()));
    }
    out
}

/// `text` with every configured secret of `src` (header values, user name, password, cookie)
/// replaced: error texts are redacted for URLs where they are made, and this keeps a secret an
/// origin or a library echoed off the page too.
pub fn scrub(text: &str, src: &SourceConfig) -> String {
    let req = &src.request;
    let mut secrets: Vec<&str> = req.headers.iter().map(|(_, v)| v.as_str()).collect();
    if let Some((user, pass)) = &req.basic_auth {
        secrets.extend([user.as_str(), pass.as_str()]);
    }
    secrets.extend(req.cookie.as_deref());
    // Longest first, so that a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in secrets.into_iter().filter(|s| s.trim().len() >= 3) {
        out = out.replace(s, REDACTED);
    }
    out
}

fn duration_words(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{} ms", d.as_millis()),
        s if s % 86400 == 0 => format!("{}d", s / 86400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// "320 ms", "1.4 s", "12 s".
fn ms_words(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{} ms", ms.round() as u64)
    } else if ms < 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{} s", (ms / 1000.0).round() as u64)
    }
}

/// "0 B", "812 B", "4.1 KiB", "2.0 MiB".
fn bytes_words(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

/// Extra rules for this page, after the index page's style sheet.
const PAGE_STYLE: &str = "\
.crumbs{margin:.25rem 0 0;font-size:.875rem}\
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.5rem 0}\
.facts dt{color:var(--mute)}.facts dd{margin:0;overflow-wrap:anywhere}\
.errbox{background:var(--badbg);color:var(--bad);border-radius:.5rem;padding:.5rem .75rem;\
overflow-wrap:anywhere}\
figure{margin:.5rem 0 1rem}figcaption{color:var(--mute);font-size:.875rem;margin:.25rem 0}\
.chart{display:block;width:100%;max-width:46rem;height:auto}\
.chart text{fill:var(--mute);font:10.5px system-ui,sans-serif}.chart text.sub{font-size:9px}\
.chart .axis{stroke:var(--line);stroke-width:1}\
.chart .dur{fill:var(--link)}.chart .bytes{fill:var(--mute)}.chart .new{fill:var(--okc)}\
.chart .failed .dur{fill:var(--bad)}.chart .mark{fill:var(--bad)}\
.chart .hit{fill:transparent}.chart g:hover .hit{fill:var(--line);opacity:.6}\
.chart .day .bar{fill:var(--okc)}.chart .day .zero{fill:var(--line)}\
.key{display:inline-block;width:.7em;height:.7em;margin:0 .25em 0 .6em;border-radius:2px;vertical-align:-.05em}\
.key.dur{background:var(--link)}.key.bytes{background:var(--mute)}.key.new{background:var(--okc)}\
.key.failed{background:var(--bad)}\
ol.items{padding-left:1.5rem;margin:.25rem 0}ol.items li{margin:.2rem 0;overflow-wrap:anywhere}\
td.k{white-space:nowrap;color:var(--mute)}td.v{overflow-wrap:anywhere}\
tr.failed td{background:var(--badbg)}tr.failed td.o{color:var(--bad);font-weight:600}\
tr.failed td.e{color:var(--bad);padding-left:1.5rem;overflow-wrap:anywhere}\
@media(max-width:40rem){.chart text{font-size:16px}.chart text.sub{font-size:13px}}";

/// The page.
pub fn source_html(v: &SourceView, now: DateTime<Utc>) -> String {
    let r = &v.row;
    let id = esc(&r.id);
    let label = status_label(r.status);
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"color-scheme\" content=\"light dark\">\n");
    out.push_str(&format!("<title>{id} · source · feedloom</title>\n"));
    out.push_str("<link rel=\"icon\" href=\"data:,\">\n");
    out.push_str(&format!(
        "<style>{STYLE}{PAGE_STYLE}</style>\n</head>\n<body>\n"
    ));
    out.push_str(&format!(
        "<header>\n<p class=\"crumbs\"><a href=\"/\">feedloom</a> › \
         <a href=\"/#source-{}\">sources</a></p>\n\
         <h1>{id} <span class=\"badge {label}\">{label}</span></h1>\n\
         <p class=\"summary mute\">{}</p>\n</header>\n<main>\n",
        esc(&path_segment(&r.id)),
        maybe_link(&r.url, &r.url),
    ));

    // Status.
    out.push_str("<h2>Status</h2>\n");
    if let Some(e) = &r.last_error {
        out.push_str(&format!(
            "<p class=\"errbox\"><strong>Last error:</strong> {}</p>\n",
            esc(e)
        ));
    }
    out.push_str("<dl class=\"facts\">\n");
    let fact = |out: &mut String, k: &str, v: String| {
        out.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>\n"));
    };
    fact(&mut out, "status", esc(status_words(r.status)));
    fact(&mut out, "last poll", time(r.last_poll, now));
    fact(&mut out, "last success", time(v.last_success, now));
    fact(&mut out, "next poll", time(r.next_poll, now));
    fact(
        &mut out,
        "failures in a row",
        r.consecutive_failures.to_string(),
    );
    fact(&mut out, "items stored", r.items.to_string());
    if !r.repairs.is_empty() {
        fact(&mut out, "repairs needed", esc(&r.repairs.join(", ")));
    }
    out.push_str("</dl>\n");

    polls_section(&mut out, &v.polls, now);
    arrivals_section(&mut out, &v.arrivals);

    // Newest items.
    out.push_str("<h2 id=\"items\">Newest items</h2>\n");
    if v.newest.is_empty() {
        out.push_str("<p class=\"mute\">No items stored.</p>\n");
    } else {
        out.push_str("<ol class=\"items\">\n");
        for it in &v.newest {
            let title = if it.title.trim().is_empty() {
                "(untitled)"
            } else {
                it.title.as_str()
            };
            let link = match &it.url {
                Some(u) => maybe_link(u, title),
                None => esc(title),
            };
            out.push_str(&format!(
                "<li>{link} <span class=\"mute\">· {}</span></li>\n",
                time(Some(it.time), now)
            ));
        }
        out.push_str("</ol>\n");
    }

    // Settings.
    out.push_str("<h2 id=\"settings\">Settings</h2>\n<div class=\"scroll\">\n<table>\n<tbody>\n");
    for (k, val) in &v.settings {
        out.push_str(&format!(
            "<tr><td class=\"k\">{}</td><td class=\"v\">{}</td></tr>\n",
            esc(k),
            esc(val)
        ));
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    if !v.channels.is_empty() {
        let list = v
            .channels
            .iter()
            .map(|(cid, title)| {
                format!(
                    "<a href=\"/#{}\">{}</a>",
                    esc(&path_segment(cid)),
                    esc(title)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!("<p>In channels: {list}</p>\n"));
    }
    out.push_str("</main>\n");
    out.push_str(&format!(
        "<footer><a href=\"/\">All channels and sources</a> · \
         <a href=\"/api/sources\">/api/sources</a><br>\
         Page generated {} by feedloom.</footer>\n</body>\n</html>\n",
        now.format("%Y-%m-%d %H:%M:%S UTC")
    ));
    out
}

fn status_words(s: crate::model::SourceStatus) -> &'static str {
    use crate::model::SourceStatus::*;
    match s {
        Ok => "ok: the last poll worked",
        Error => "error: the last poll failed; retried with backoff",
        Pending => "pending: not polled yet",
        Gone => "gone: the origin answered 410; not polled until its url changes",
    }
}

// The poll chart's geometry, in its viewBox units: a label column at the left, then one slot
// per poll, the newest at the right edge (as a strip chart scrolls).
const W: f64 = 480.0;
const LEFT: f64 = 96.0;
const RIGHT: f64 = 6.0;
const DUR_TOP: f64 = 6.0;
const DUR_H: f64 = 80.0;
const BYTES_TOP: f64 = 98.0;
const BYTES_H: f64 = 30.0;
const NEW_TOP: f64 = 140.0;
const NEW_H: f64 = 30.0;
const MARK_TOP: f64 = 178.0;
const AXIS_Y: f64 = 206.0;
const POLLS_H: f64 = 212.0;

fn polls_section(out: &mut String, polls: &[PollRecord], now: DateTime<Utc>) {
    out.push_str(&format!(
        "<h2 id=\"polls\">Last {POLL_HISTORY} polls</h2>\n"
    ));
    if polls.is_empty() {
        out.push_str(
            "<p class=\"mute\">No polls since this server started (in a cluster, this node \
             shows the polls it made itself).</p>\n",
        );
        return;
    }
    let failed = polls.iter().filter(|p| p.outcome.is_failure()).count();
    let max_ms = polls
        .iter()
        .map(|p| p.duration.as_secs_f64() * 1000.0)
        .fold(1.0, f64::max);
    let max_bytes = polls.iter().map(|p| p.bytes).max().unwrap_or(0).max(1);
    let max_new = polls.iter().map(|p| p.new).max().unwrap_or(0).max(1);
    let summary = format!(
        "{} poll{} since {}, {failed} failed; longest {}, largest {}, most new items {}",
        polls.len(),
        plural(polls.len()),
        polls[0].at.format("%Y-%m-%d %H:%M UTC"),
        ms_words(max_ms),
        bytes_words(max_bytes),
        max_new,
    );
    out.push_str("<figure>\n");
    out.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {POLLS_H}\" role=\"img\" \
         aria-labelledby=\"polls-t polls-d\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <title id=\"polls-t\">Last polls, oldest left, newest right</title>\n\
         <desc id=\"polls-d\">{}</desc>\n",
        esc(&summary)
    ));
    // Row labels (the name, and under it the value a full-height bar stands for) and the
    // rows' base lines.
    let label = |out: &mut String, top: f64, h: f64, name: &str, max: String| {
        out.push_str(&format!(
            "<text x=\"0\" y=\"{:.1}\">{name}</text>\
             <text class=\"sub\" x=\"0\" y=\"{:.1}\">max {}</text>\
             <line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\n",
            top + 11.0,
            top + 25.0,
            esc(&max),
            W - RIGHT,
            top + h + 0.5,
            top + h + 0.5,
        ));
    };
    label(out, DUR_TOP, DUR_H, "duration", ms_words(max_ms));
    label(out, BYTES_TOP, BYTES_H, "bytes", bytes_words(max_bytes));
    label(out, NEW_TOP, NEW_H, "new items", max_new.to_string());
    out.push_str(&format!(
        "<text x=\"0\" y=\"{:.1}\">failed</text>\n",
        MARK_TOP + 11.0
    ));
    let slot = (W - LEFT - RIGHT) / POLL_HISTORY as f64;
    let bar = slot * 0.75;
    let first_x = W - RIGHT - slot * polls.len() as f64;
    for (i, p) in polls.iter().enumerate() {
        let x = first_x + slot * i as f64;
        let ms = p.duration.as_secs_f64() * 1000.0;
        let h = |v: f64, max: f64, full: f64| {
            if v <= 0.0 {
                0.0
            } else {
                (v / max * full).max(1.5)
            }
        };
        let (dh, bh, nh) = (
            h(ms, max_ms, DUR_H),
            h(p.bytes as f64, max_bytes as f64, BYTES_H),
            h(p.new as f64, max_new as f64, NEW_H),
        );
        // A poll faster than a pixel still shows it happened.
        let dh = dh.max(1.5);
        let class = if p.outcome.is_failure() {
            "poll failed"
        } else {
            "poll ok"
        };
        let mut tip = format!(
            "{} · {} · {} · {} · {} new, {} updated",
            p.at.format("%Y-%m-%d %H:%M:%S UTC"),
            p.outcome.label(),
            ms_words(ms),
            bytes_words(p.bytes),
            p.new,
            p.updated
        );
        if let Some(e) = &p.error {
            tip.push_str(" · ");
            tip.push_str(e);
        }
        out.push_str(&format!(
            "<g class=\"{class}\"><title>{}</title>\
             <rect class=\"hit\" x=\"{x:.2}\" y=\"{DUR_TOP}\" width=\"{slot:.2}\" height=\"{:.1}\"/>\
             <rect class=\"dur\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{dh:.2}\"/>",
            esc(&tip),
            MARK_TOP + 12.0 - DUR_TOP,
            DUR_TOP + DUR_H - dh,
        ));
        if bh > 0.0 {
            out.push_str(&format!(
                "<rect class=\"bytes\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{bh:.2}\"/>",
                BYTES_TOP + BYTES_H - bh
            ));
        }
        if nh > 0.0 {
            out.push_str(&format!(
                "<rect class=\"new\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{nh:.2}\"/>",
                NEW_TOP + NEW_H - nh
            ));
        }
        if p.outcome.is_failure() {
            // A triangle pointing up at the failed poll, in a row of its own: its place and
            // shape say "failed" without colour.
            let cx = x + bar / 2.0;
            out.push_str(&format!(
                "<path class=\"mark\" d=\"M{:.2} {:.1}L{:.2} {:.1}L{:.2} {:.1}Z\"/>",
                cx,
                MARK_TOP + 1.0,
                cx + 3.0,
                MARK_TOP + 11.0,
                cx - 3.0,
                MARK_TOP + 11.0,
            ));
        }
        out.push_str("</g>\n");
    }
    // The time axis: the first poll's time under its bar (or at the left), "now" at the right.
    out.push_str(&format!(
        "<text x=\"{:.1}\" y=\"{AXIS_Y}\">{}</text>\
         <text x=\"{:.1}\" y=\"{AXIS_Y}\" text-anchor=\"end\">newest: {}</text>\n</svg>\n",
        0.0,
        esc(&format!(
            "← older: first {}",
            polls[0].at.format("%m-%d %H:%M")
        )),
        W - RIGHT,
        esc(&super::pages::relative(polls[polls.len() - 1].at, now)),
    ));
    out.push_str(&format!(
        "<figcaption>{} <span class=\"key dur\"></span>duration \
         <span class=\"key bytes\"></span>bytes <span class=\"key new\"></span>new items \
         <span class=\"key failed\"></span>failed (▲). Hover a bar for its poll.</figcaption>\n\
         </figure>\n",
        esc(&summary)
    ));

    // The latest polls in words; a failure's error on a line of its own under it, so that a
    // narrow screen need not scroll sideways to read it.
    out.push_str(
        "<div class=\"scroll\">\n<table>\n<thead><tr><th>poll (UTC)</th><th>outcome</th>\
         <th>duration</th><th>bytes</th><th>new · updated</th></tr></thead>\n<tbody>\n",
    );
    for p in polls.iter().rev().take(10) {
        let failed = if p.outcome.is_failure() {
            " class=\"failed\""
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr{failed}><td class=\"t\"><time datetime=\"{}\">{}</time></td>\
             <td class=\"o\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{} · {}</td></tr>\n",
            p.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            p.at.format("%m-%d %H:%M:%S"),
            p.outcome.label(),
            ms_words(p.duration.as_secs_f64() * 1000.0),
            bytes_words(p.bytes),
            p.new,
            p.updated,
        ));
        if let Some(e) = &p.error {
            out.push_str(&format!(
                "<tr{failed}><td class=\"e\" colspan=\"5\">{}</td></tr>\n",
                esc(e)
            ));
        }
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

const DAYS_H: f64 = 122.0;
const DAYS_TOP: f64 = 8.0;
const DAYS_BAR_H: f64 = 84.0;

fn arrivals_section(out: &mut String, days: &[(NaiveDate, usize)]) {
    out.push_str(&format!(
        "<h2 id=\"arrivals\">New items per day <span class=\"mute\">(last {} days, UTC)</span></h2>\n",
        days.len()
    ));
    let total: usize = days.iter().map(|d| d.1).sum();
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return;
    };
    let summary = format!(
        "{total} item{} first seen from {} to {}; at most {max} a day",
        plural(total),
        first.0,
        last.0
    );
    out.push_str(&format!(
        "<figure>\n<svg class=\"chart\" viewBox=\"0 0 {W} {DAYS_H}\" role=\"img\" \
         aria-labelledby=\"days-t days-d\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <title id=\"days-t\">New items per day</title>\n<desc id=\"days-d\">{}</desc>\n\
         <text x=\"0\" y=\"{:.1}\">items a day</text>\
         <text class=\"sub\" x=\"0\" y=\"{:.1}\">max {max}</text>\
         <line class=\"axis\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\n",
        esc(&summary),
        DAYS_TOP + 11.0,
        DAYS_TOP + 25.0,
        W - RIGHT,
        DAYS_TOP + DAYS_BAR_H + 0.5,
        DAYS_TOP + DAYS_BAR_H + 0.5,
    ));
    let slot = (W - LEFT - RIGHT) / days.len() as f64;
    let bar = slot * 0.7;
    for (i, (day, n)) in days.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let tip = format!("{day}: {n} new item{}", plural(*n));
        let body = if *n == 0 {
            format!(
                "<rect class=\"zero\" x=\"{x:.2}\" y=\"{:.1}\" width=\"{bar:.2}\" height=\"1.5\"/>",
                DAYS_TOP + DAYS_BAR_H - 1.5
            )
        } else {
            let h = (*n as f64 / max as f64 * DAYS_BAR_H).max(2.0);
            format!(
                "<rect class=\"bar\" x=\"{x:.2}\" y=\"{:.2}\" width=\"{bar:.2}\" height=\"{h:.2}\"/>",
                DAYS_TOP + DAYS_BAR_H - h
            )
        };
        out.push_str(&format!(
            "<g class=\"day\"><title>{}</title>\
             <rect class=\"hit\" x=\"{x:.2}\" y=\"{DAYS_TOP}\" width=\"{slot:.2}\" height=\"{DAYS_BAR_H}\"/>\
             {body}</g>\n",
            esc(&tip)
        ));
    }
    // Dates under the first, middle and last days.
    let mid = days.len() / 2;
    for (i, anchor) in [(0, "start"), (mid, "middle"), (days.len() - 1, "end")] {
        let x = match anchor {
            "start" => LEFT,
            "end" => W - RIGHT,
            _ => LEFT + slot * (i as f64 + 0.35),
        };
        out.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
            DAYS_TOP + DAYS_BAR_H + 16.0,
            days[i].0.format("%b %-d")
        ));
    }
    out.push_str(&format!(
        "\n</svg>\n<figcaption>{}. Hover a bar for its day.</figcaption>\n</figure>\n",
        esc(&summary)
    ));
}

#[cfg(test)]
#[path = "source_page_tests.rs"]
mod tests;
