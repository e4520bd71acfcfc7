//! Validation: the raw shape becomes domain types, and every problem is collected with the
//! line:col it comes from (all of them at once, not the first only).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use regex::Regex;
use toml::Spanned;
use url::Url;

use sha2::Digest;

use super::raw::*;
use super::units::{line_col, parse_duration, parse_size};
use super::*;

/// Collects problems with their locations while validation walks the raw config.
pub(super) struct Problems<'a> {
    text: &'a str,
    list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    pub(super) fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.list.push(ConfigProblem {
            line,
            col,
            message: message.into(),
        });
    }
}

pub(super) fn validate(text: &str, path: &Path) -> Result<Config, Vec<ConfigProblem>> {
    let mut p = Problems {
        text,
        list: Vec::new(),
    };
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            p.at(span, e.message().trim().to_string());
            return Err(p.list);
        }
    };
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };

    let server = validate_server(&raw.server, &mut p);
    let store = validate_store(&raw.store, &dir, &mut p);
    let poll = validate_poll(&raw.poll, &mut p);

    // Collected, not inserted one by one: a map built from an iterator packs its nodes full,
    // where inserting keys in order leaves each node a little over half used (11 MB instead of
    // about 7 for 30,000 sources, held for the daemon's life).
    let sources: BTreeMap<String, SourceConfig> = raw
        .sources
        .iter()
        .filter_map(|(id, raw_src)| {
            validate_source(id, raw_src, &dir, &store, &mut p).map(|src| (id.clone(), src))
        })
        .collect();
    let channels: BTreeMap<String, ChannelConfig> = raw
        .channels
        .iter()
        .filter_map(|(id, raw_ch)| {
            validate_channel(id, raw_ch, &raw.sources, &mut p).map(|ch| (id.clone(), ch))
        })
        .collect();
    let cluster = raw.cluster.as_ref().map(|c| validate_cluster(c, &mut p));
    let websub = super::websub::validate(&raw.websub, &mut p);
    if !p.list.is_empty() {
        p.list.sort_by_key(|x| (x.line, x.col));
        return Err(p.list);
    }
    let mut by_source: HashMap<&str, Vec<std::sync::Arc<str>>> = HashMap::new();
    for ch in channels.values() {
        let id: std::sync::Arc<str> = ch.id.as_str().into();
        for s in &ch.sources {
            let of = by_source.entry(s.as_str()).or_default();
            if !of.contains(&id) {
                of.push(id.clone());
            }
        }
    }
    // Kept for the daemon's life, one entry per source: a packed map of shared channel ids
    // (a hash map of string lists was about 5 MB for 30,000 sources).
    let channels_by_source: BTreeMap<String, Box<[std::sync::Arc<str>]>> = by_source
        .into_iter()
        .map(|(s, of)| (s.to_string(), of.into_boxed_slice()))
        .collect();
    Ok(Config {
        path: path.to_path_buf(),
        server,
        store,
        poll,
        sources,
        channels,
        cluster,
        websub,
        digest: shared_digest(text),
        channels_by_source,
    })
}

/// The host name, as the default node id.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "feedloom".to_string())
}

fn validate_cluster(raw: &Spanned<RawCluster>, p: &mut Problems) -> ClusterConfig {
    let c = raw.get_ref();
    let node = match &c.node {
        Some(n) if valid_id(n.get_ref()) => n.get_ref().clone(),
        Some(n) => {
            p.at(
                n.span(),
                format!(
                    "cluster.node {:?} may use only letters, digits, '-', '_' and '.'",
                    n.get_ref()
                ),
            );
            String::new()
        }
        None => host_name()
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || "-_.".contains(ch) {
                    ch
                } else {
                    '-'
                }
            })
            .collect(),
    };
    if c.nats.get_ref().is_empty() {
        p.at(c.nats.span(), "cluster.nats lists no NATS server");
    }
    for u in c.nats.get_ref() {
        match Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "nats" | "tls") && url.host_str().is_some() => {}
            _ => p.at(
                c.nats.span(),
                format!("cluster.nats: {u:?} is not a URL like \"nats://10.0.0.1:4222\""),
            ),
        }
    }
    let lease = duration_opt(&c.lease, "cluster.lease", p).unwrap_or(Duration::from_secs(15));
    if lease < Duration::from_secs(2) {
        if let Some(l) = &c.lease {
            p.at(l.span(), "cluster.lease must be at least 2s");
        }
    }
    let replicas = positive(&c.replicas, 3, "cluster.replicas", p).min(5);
    ClusterConfig {
        node,
        nats: c.nats.get_ref().clone(),
        credentials_env: c.credentials_env.clone().filter(|e| !e.is_empty()),
        lease,
        replicas,
    }
}

/// A short hash of what every node of a cluster must share: the config's lines without the
/// keys that are each node's own (`[cluster] node`, `[server] listen`, `[store] path`), blank
/// lines, full-line comments and indentation. Line by line, not by parsing the TOML again: a
/// second parse of a 30,000-source config cost 100 MB at start.
fn shared_digest(text: &str) -> String {
    let mut h = sha2::Sha256::new();
    let mut table = "";
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim();
        } else if let Some((key, _)) = t.split_once('=') {
            let own = matches!(
                (table, key.trim()),
                ("cluster", "node") | ("server", "listen") | ("store", "path")
            );
            if own {
                continue;
            }
        }
        h.update(t.as_bytes());
        h.update(b"\n");
    }
    crate::model::ids::hex16(&h.finalize())[..12].to_string()
}

fn validate_server(raw: &RawServer, p: &mut Problems) -> ServerConfig {
    let mut listen: SocketAddr = "127.0.0.1:8080".parse().expect("literal address");
    if let Some(l) = &raw.listen {
        match l.get_ref().parse::<SocketAddr>() {
            Ok(a) => listen = a,
            Err(_) => p.at(
                l.span(),
                format!(
                    "listen {:?} is not an address like \"127.0.0.1:8080\"",
                    l.get_ref()
                ),
            ),
        }
    }
    let mut base_url = format!("http://{listen}");
    if let Some(b) = &raw.base_url {
        match Url::parse(b.get_ref()) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                base_url = u.as_str().trim_end_matches('/').to_string()
            }
            _ => p.at(
                b.span(),
                format!("base_url {:?} is not an http(s) URL", b.get_ref()),
            ),
        }
    }
    ServerConfig {
        listen,
        base_url_derived: raw.base_url.is_none(),
        base_url,
        admin_token: raw.admin_token.clone().filter(|t| !t.is_empty()),
        workers: positive(&raw.workers, default_workers(), "server.workers", p),
        header_timeout: nonzero_duration(&raw.header_timeout, 10, "server.header_timeout", p),
        idle_timeout: nonzero_duration(&raw.idle_timeout, 60, "server.idle_timeout", p),
        max_connections: raw
            .max_connections
            .as_ref()
            .map(|_| positive(&raw.max_connections, 1, "server.max_connections", p)),
        max_header_bytes: match &raw.max_header_size {
            None => 16 * 1024,
            Some(s) => match parse_size(s.get_ref()) {
                // hyper's read buffer cannot be smaller.
                Ok(n) if n >= 8192 => n as usize,
                Ok(_) => {
                    p.at(
                        s.span(),
                        "server.max_header_size must be at least 8KiB".to_string(),
                    );
                    16 * 1024
                }
                Err(e) => {
                    p.at(s.span(), format!("server.max_header_size: {e}"));
                    16 * 1024
                }
            },
        },
        background_nice: match &raw.background_nice {
            Some(n) if !(0..=19).contains(n.get_ref()) => {
                p.at(n.span(), "server.background_nice must be 0 to 19");
                0
            }
            n => n.as_ref().map_or(0, |n| *n.get_ref() as i32),
        },
    }
}

/// A duration that must be more than zero, in whole seconds at least (the listener's sweep is
/// once a second).
pub(super) fn nonzero_duration(
    v: &Option<Spanned<String>>,
    default_secs: u64,
    what: &str,
    p: &mut Problems,
) -> Duration {
    match duration_opt(v, what, p) {
        None => Duration::from_secs(default_secs),
        Some(d) if d >= Duration::from_secs(1) => d,
        Some(_) => {
            if let Some(s) = v {
                p.at(s.span(), format!("{what} must be at least 1s"));
            }
            Duration::from_secs(default_secs)
        }
    }
}

/// One server thread per core, as nginx's `worker_processes auto`.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

pub(super) fn positive(
    v: &Option<Spanned<i64>>,
    default: usize,
    what: &str,
    p: &mut Problems,
) -> usize {
    match v {
        None => default,
        Some(s) if *s.get_ref() >= 1 => *s.get_ref() as usize,
        Some(s) => {
            p.at(s.span(), format!("{what} must be at least 1"));
            default
        }
    }
}

pub(super) fn duration_opt(
    v: &Option<Spanned<String>>,
    what: &str,
    p: &mut Problems,
) -> Option<Duration> {
    let s = v.as_ref()?;
    match parse_duration(s.get_ref()) {
        Ok(d) => Some(d),
        Err(e) => {
            p.at(s.span(), format!("{what}: {e}"));
            None
        }
    }
}

fn validate_store(raw: &RawStore, dir: &Path, p: &mut Problems) -> StoreConfig {
    let path = raw.path.as_deref().unwrap_or("data/feedloom.sled");
    StoreConfig {
        path: dir.join(path),
        max_items: positive(&raw.max_items, 1000, "store.max_items", p),
        max_age: duration_opt(&raw.max_age, "store.max_age", p),
    }
}

fn validate_poll(raw: &RawPoll, p: &mut Problems) -> PollConfig {
    let max_body = match &raw.max_body {
        None => 10 * 1024 * 1024,
        Some(s) => parse_size(s.get_ref()).unwrap_or_else(|e| {
            p.at(s.span(), format!("poll.max_body: {e}"));
            10 * 1024 * 1024
        }),
    };
    PollConfig {
        concurrency: positive(&raw.concurrency, 16, "poll.concurrency", p),
        per_host: positive(&raw.per_host, 2, "poll.per_host", p),
        min_interval: duration_opt(&raw.min_interval, "poll.min_interval", p)
            .unwrap_or(Duration::from_secs(1)),
        max_interval: duration_opt(&raw.max_interval, "poll.max_interval", p)
            .unwrap_or(Duration::from_secs(7 * 86400)),
        max_backoff: duration_opt(&raw.max_backoff, "poll.max_backoff", p)
            .unwrap_or(Duration::from_secs(86400)),
        connect_timeout: duration_opt(&raw.connect_timeout, "poll.connect_timeout", p)
            .unwrap_or(Duration::from_secs(10)),
        timeout: duration_opt(&raw.timeout, "poll.timeout", p).unwrap_or(Duration::from_secs(30)),
        max_body,
        min_rate: raw
            .min_rate
            .as_ref()
            .map(|r| (*r.get_ref()).max(0) as u64)
            .unwrap_or(1024),
    }
}

/// Turn a configured location into a URL: http(s) and file URLs as they are, anything else a
/// path relative to the config file's folder.
fn source_url(s: &str, dir: &Path) -> Result<Url, String> {
    if s.contains("://") {
        let u = Url::parse(s).map_err(|e| format!("url {s:?} is not a valid URL: {e}"))?;
        return match u.scheme() {
            "http" | "https" if u.host_str().is_some() => Ok(u),
            "file" => Ok(u),
            other => Err(format!(
                "url {s:?}: scheme {other:?} is not supported (use http, https, file or a path)"
            )),
        };
    }
    if s.trim().is_empty() {
        return Err("url is empty".into());
    }
    let p = dir.join(s);
    let abs = if p.is_absolute() {
        p
    } else {
        std::env::current_dir()
            .map(|c| c.join(&p))
            .unwrap_or(p.clone())
    };
    Url::from_file_path(&abs).map_err(|_| format!("path {s:?} cannot be turned into a file URL"))
}

fn selector(s: &Spanned<String>, p: &mut Problems) -> String {
    if let Err(e) = scraper::Selector::parse(s.get_ref()) {
        p.at(
            s.span(),
            format!("invalid CSS selector {:?}: {e:?}", s.get_ref()),
        );
    }
    s.get_ref().clone()
}

fn validate_source(
    id: &str,
    raw: &Spanned<RawSource>,
    dir: &Path,
    store: &StoreConfig,
    p: &mut Problems,
) -> Option<SourceConfig> {
    let span = raw.span();
    let raw = raw.get_ref();
    if !valid_id(id) {
        p.at(
            span.clone(),
            format!("source id {id:?} may only use letters, digits, '-', '_' and '.'"),
        );
    }
    let url = match source_url(raw.url.get_ref(), dir) {
        Ok(u) => Some(u),
        Err(e) => {
            p.at(raw.url.span(), e);
            None
        }
    };
    let interval = match &raw.interval {
        None => Duration::from_secs(30 * 60),
        Some(s) => match parse_duration(s.get_ref()) {
            Ok(d) if d >= Duration::from_secs(1) => d,
            Ok(_) => {
                p.at(s.span(), "interval must be at least 1s");
                Duration::from_secs(1)
            }
            Err(e) => {
                p.at(s.span(), format!("interval: {e}"));
                Duration::from_secs(1)
            }
        },
    };
    let timezone = match &raw.timezone {
        None => Tz::UTC,
        Some(s) => s.get_ref().parse::<Tz>().unwrap_or_else(|_| {
            p.at(
                s.span(),
                format!(
                    "unknown timezone {:?} (use an IANA name such as \"Asia/Shanghai\")",
                    s.get_ref()
                ),
            );
            Tz::UTC
        }),
    };
    let full_text = raw.full_text.as_ref().filter(|f| *f.get_ref());
    if let Some(f) = full_text {
        if raw.kind == Some(SourceKind::Html) {
            p.at(
                f.span(),
                "full_text reads the pages a feed's items link to; an HTML source (kind = \"html\") stores its article pages in full already",
            );
        }
    }
    let rules = |h: &RawHtml, p: &mut Problems| ArticleRules {
        title: h.title.as_ref().map(|s| selector(s, p)),
        content: h.content.as_ref().map(|s| selector(s, p)),
        date: h.date.as_ref().map(|s| selector(s, p)),
        author: h.author.as_ref().map(|s| selector(s, p)),
        source: h.source.as_ref().map(|s| selector(s, p)),
        remove: h.remove.iter().map(|s| selector(s, p)).collect(),
    };
    // Beside `full_text` the [html] table holds only the rules for reading an item's page: a
    // list-page selector there would make the source two things at once.
    let (html, full_text) = match (&raw.html, full_text) {
        (None, None) => (None, None),
        (None, Some(_)) => (None, Some(ArticleRules::default())),
        (Some(h), Some(_)) => {
            if let Some(items) = &h.items {
                p.at(
                    items.span(),
                    "html.items makes this an HTML list source, whose article pages are stored in full anyway; beside full_text = true, [html] takes only the article selectors (title, content, date, author, source, remove)",
                );
            }
            if let Some(m) = &h.max_items {
                p.at(
                    m.span(),
                    "html.max_items counts the links on a list page; it has no meaning beside full_text = true",
                );
            }
            (None, Some(rules(h, p)))
        }
        (Some(h), None) => {
            let items = match &h.items {
                Some(items) => selector(items, p),
                None => {
                    p.at(
                        span.clone(),
                        format!("[sources.{id}.html] needs items (the selector of the article links on the list page), unless full_text = true reads a feed's item pages with these selectors"),
                    );
                    String::new()
                }
            };
            let html = HtmlConfig {
                items,
                rules: rules(h, p),
                max_items: positive(&h.max_items, 20, "html.max_items", p),
            };
            (Some(html), None)
        }
    };
    Some(SourceConfig {
        id: id.to_string(),
        url: url?,
        kind: raw.kind.or(if html.is_some() {
            Some(SourceKind::Html)
        } else {
            None
        }),
        interval,
        timezone,
        html: html.map(Box::new),
        max_items: positive(&raw.max_items, store.max_items, "max_items", p),
        max_age: duration_opt(&raw.max_age, "max_age", p).or(store.max_age),
        request: validate_request(raw, p).shared(),
        feed_title: raw.feed_title.clone().filter(|t| !t.trim().is_empty()),
        full_text: full_text.map(Box::new),
    })
}

/// Headers the fetcher sets itself: conditional requests, framing and the host are its own.
const RESERVED_HEADERS: [&str; 8] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "if-none-match",
    "if-modified-since",
    "accept-encoding",
    "user-agent",
];

/// An HTTP token (RFC 9110 §5.6.2): what a header name may be made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A value that can go on a header line: no control characters but tab.
fn header_value_ok(s: &str) -> bool {
    !s.chars()
        .any(|c| (c.is_control() && c != '\t') || c == '\u{7f}')
}

/// A secret given inline or through an environment variable (`what` and `what_env`).
fn secret(
    inline: &Option<Spanned<String>>,
    env: &Option<Spanned<String>>,
    what: &str,
    p: &mut Problems,
) -> Option<String> {
    match (inline, env) {
        (Some(v), Some(_)) => {
            p.at(v.span(), format!("give {what} or {what}_env, not both"));
            None
        }
        (Some(v), None) => Some(v.get_ref().clone()),
        (None, Some(var)) => match std::env::var(var.get_ref()) {
            Ok(v) => Some(v),
            Err(_) => {
                p.at(
                    var.span(),
                    format!(
                        "{what}_env names {:?}, which is not set in the environment",
                        var.get_ref()
                    ),
                );
                None
            }
        },
        (None, None) => None,
    }
}

fn validate_request(raw: &RawSource, p: &mut Problems) -> RequestOptions {
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let lower = name.to_ascii_lowercase();
        if !is_token(name) {
            p.at(
                value.span(),
                format!("headers: {name:?} is not a header name"),
            );
        } else if RESERVED_HEADERS.contains(&lower.as_str()) {
            let hint = if lower == "user-agent" {
                " (use user_agent)"
            } else {
                ""
            };
            p.at(
                value.span(),
                format!("headers: {name} is set by feedloom itself{hint}"),
            );
        } else if !header_value_ok(value.get_ref()) {
            p.at(
                value.span(),
                format!("headers: the value of {name} has a control character"),
            );
        } else {
            headers.push((name.clone(), value.get_ref().clone()));
        }
    }
    // A header that a credential key also sets would be sent twice.
    for (key, header) in [
        (raw.username.is_some(), "authorization"),
        (raw.cookie.is_some() || raw.cookie_env.is_some(), "cookie"),
    ] {
        if let Some((name, value)) = raw
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(header))
        {
            if key {
                let by = if header == "cookie" {
                    "cookie"
                } else {
                    "username"
                };
                p.at(
                    value.span(),
                    format!("headers: {name} and {by} both set it; give one"),
                );
            }
        }
    }
    let user_agent = raw.user_agent.as_ref().and_then(|u| {
        let ok = !u.get_ref().trim().is_empty() && header_value_ok(u.get_ref());
        if !ok {
            p.at(u.span(), "user_agent must be a non-empty line of text");
        }
        ok.then(|| u.get_ref().clone())
    });
    let password = secret(&raw.password, &raw.password_env, "password", p);
    let basic_auth = match (&raw.username, password) {
        (Some(u), pw) => {
            if u.get_ref().contains(':') || !header_value_ok(u.get_ref()) {
                p.at(
                    u.span(),
                    "username may not contain ':' or control characters",
                );
            }
            Some((u.get_ref().clone(), pw.unwrap_or_default()))
        }
        (None, Some(_)) => {
            let span = raw
                .password
                .as_ref()
                .or(raw.password_env.as_ref())
                .map(|s| s.span())
                .unwrap_or_default();
            p.at(span, "a password needs a username");
            None
        }
        (None, None) => None,
    };
    let cookie = secret(&raw.cookie, &raw.cookie_env, "cookie", p).filter(|c| {
        let ok = header_value_ok(c);
        if !ok {
            let span = raw.cookie.as_ref().or(raw.cookie_env.as_ref());
            p.at(
                span.map(|s| s.span()).unwrap_or_default(),
                "the cookie has a control character",
            );
        }
        ok
    });
    let proxy = raw
        .proxy
        .as_ref()
        .and_then(|s| match Url::parse(s.get_ref()) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => Some(u),
            _ => {
                p.at(
                    s.span(),
                    format!(
                        "proxy {:?} is not an http://, https://, socks5:// or socks5h:// URL",
                        s.get_ref()
                    ),
                );
                None
            }
        });
    RequestOptions {
        headers,
        user_agent,
        basic_auth,
        cookie,
        proxy,
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn regex(v: &Option<Spanned<String>>, what: &str, p: &mut Problems) -> Option<Regex> {
    let s = v.as_ref()?;
    match regex::RegexBuilder::new(s.get_ref())
        .case_insensitive(true)
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            p.at(s.span(), format!("{what}: invalid regex: {e}"));
            None
        }
    }
}

fn validate_channel(
    id: &str,
    raw: &Spanned<RawChannel>,
    all_sources: &BTreeMap<String, Spanned<RawSource>>,
    p: &mut Problems,
) -> Option<ChannelConfig> {
    let span = raw.span();
    let raw = raw.get_ref();
    if !valid_id(id) {
        p.at(
            span.clone(),
            format!("channel id {id:?} may only use letters, digits, '-', '_' and '.'"),
        );
    }
    if raw.sources.get_ref().is_empty() {
        p.at(
            raw.sources.span(),
            format!("channel {id:?} lists no sources"),
        );
    }
    for s in raw.sources.get_ref() {
        if !all_sources.contains_key(s.get_ref()) {
            p.at(
                s.span(),
                format!(
                    "channel {id:?} names source {:?}, which is not defined under [sources]",
                    s.get_ref()
                ),
            );
        }
    }
    let limit = match &raw.limit {
        None => 50,
        Some(l) if (1..=1000).contains(l.get_ref()) => *l.get_ref() as usize,
        Some(l) => {
            p.at(l.span(), "limit must be between 1 and 1000");
            50
        }
    };
    let token = match (&raw.token, &raw.token_env) {
        (Some(t), _) if !t.is_empty() => Some(t.clone()),
        (_, Some(var)) => match std::env::var(var.get_ref()) {
            Ok(t) if !t.is_empty() => Some(t),
            _ => {
                p.at(
                    var.span(),
                    format!(
                        "token_env names {:?}, which is not set in the environment",
                        var.get_ref()
                    ),
                );
                None
            }
        },
        _ => None,
    };
    Some(ChannelConfig {
        id: id.to_string(),
        title: raw.title.clone().unwrap_or_else(|| id.to_string()),
        description: raw.description.clone(),
        sources: raw
            .sources
            .get_ref()
            .iter()
            .map(|s| s.get_ref().clone())
            .collect(),
        limit,
        include: regex(&raw.include, "include", p),
        exclude: regex(&raw.exclude, "exclude", p),
        language: raw.language.clone(),
        script: raw.script.unwrap_or_default(),
        token,
        icon: raw.icon.clone(),
    })
}
