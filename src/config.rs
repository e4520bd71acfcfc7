//! `config.toml` → [`Config`]: serde reads a raw, spanned shape; validation turns it into domain
//! types and reports every problem with the line:col it comes from.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use regex::Regex;
use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::extract::ArticleRules;
use crate::normalize::chinese::Script;

/// One problem found in a config file, located by line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} has {} problem(s):\n{}", path.display(), problems.len(), render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

fn render_problems(path: &Path, problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}:{p}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a source's document is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Feed,
    Html,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Absolute base for self links; derived from `listen` when absent.
    pub base_url: String,
    /// True when `base_url` was not configured (so the bound address can replace a port 0).
    pub base_url_derived: bool,
    /// Enables `POST /admin/reload` when set.
    pub admin_token: Option<String>,
    /// HTTP server threads, each with its own event loop (like nginx workers). Fixed at start;
    /// a reload does not change it.
    pub workers: usize,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// Default per-source retention (articles kept).
    pub max_items: usize,
    /// Default per-source maximum article age.
    pub max_age: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct PollConfig {
    /// Sources refreshed at once, daemon-wide.
    pub concurrency: usize,
    /// HTTP requests at once to one host, article fetches included.
    pub per_host: usize,
    pub min_interval: Duration,
    pub max_interval: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    /// Below this rate (bytes/s, averaged after the first seconds) a transfer is cut off.
    pub min_rate: u64,
}

/// Selectors for an HTML source.
#[derive(Debug, Clone)]
pub struct HtmlConfig {
    pub items: String,
    pub rules: ArticleRules,
    pub max_items: usize,
}

#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    /// Where to fetch: http(s) or file URL (paths are turned into file URLs).
    pub url: Url,
    pub kind: Option<SourceKind>,
    pub interval: Duration,
    pub timezone: Tz,
    pub html: Option<HtmlConfig>,
    pub max_items: usize,
    pub max_age: Option<Duration>,
}

impl SourceConfig {
    /// The host used for per-host politeness limits ("" for files).
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or("").to_string()
    }
}

#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub sources: Vec<String>,
    pub limit: usize,
    pub include: Option<Regex>,
    pub exclude: Option<Regex>,
    pub language: Option<String>,
    pub script: Script,
    pub token: Option<String>,
    pub icon: Option<String>,
}

impl ChannelConfig {
    pub fn is_private(&self) -> bool {
        self.token.is_some()
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (sources' relative paths are relative to its folder).
    pub path: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub poll: PollConfig,
    pub sources: BTreeMap<String, SourceConfig>,
    pub channels: BTreeMap<String, ChannelConfig>,
}

impl Config {
    /// Read and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validate config text; `path` locates relative paths and names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        validate(text, path).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// The channels that include `source_id`.
    pub fn channels_of(&self, source_id: &str) -> Vec<String> {
        self.channels
            .values()
            .filter(|c| c.sources.iter().any(|s| s == source_id))
            .map(|c| c.id.clone())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw shape, as serde reads it.

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    poll: RawPoll,
    #[serde(default)]
    sources: BTreeMap<String, Spanned<RawSource>>,
    #[serde(default)]
    channels: BTreeMap<String, Spanned<RawChannel>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    admin_token: Option<String>,
    workers: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: Option<String>,
    max_items: Option<Spanned<i64>>,
    max_age: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    concurrency: Option<Spanned<i64>>,
    per_host: Option<Spanned<i64>>,
    min_interval: Option<Spanned<String>>,
    max_interval: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<String>>,
    min_rate: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    url: Spanned<String>,
    kind: Option<SourceKind>,
    interval: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
    max_age: Option<Spanned<String>>,
    html: Option<RawHtml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHtml {
    items: Spanned<String>,
    title: Option<Spanned<String>>,
    content: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    author: Option<Spanned<String>>,
    source: Option<Spanned<String>>,
    #[serde(default)]
    remove: Vec<Spanned<String>>,
    max_items: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    title: Option<String>,
    description: Option<String>,
    sources: Spanned<Vec<Spanned<String>>>,
    limit: Option<Spanned<i64>>,
    include: Option<Spanned<String>>,
    exclude: Option<Spanned<String>>,
    language: Option<String>,
    script: Option<Script>,
    token: Option<String>,
    token_env: Option<Spanned<String>>,
    icon: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// Collects problems with their locations while validation walks the raw config.
struct Problems<'a> {
    text: &'a str,
    list: Vec<ConfigProblem>,
}

impl Problems<'_> {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.list.push(ConfigProblem {
            line,
            col,
            message: message.into(),
        });
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = text[line_start..offset].chars().count() + 1;
    (line, col)
}

/// Parse a duration such as `"90s"`, `"10m"`, `"1h"`, `"2d"`, `"500ms"` or `"1h30m"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("duration {s:?} needs a unit (ms, s, m, h, d)"))?;
        if digits == 0 {
            return Err(format!("duration {s:?} must start with a number"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("duration {s:?} is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" | "min" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "d" => Duration::from_secs(n * 86400),
            _ => {
                return Err(format!(
                    "unknown unit {unit:?} in duration {s:?} (use ms, s, m, h, d)"
                ))
            }
        };
        total += d;
    }
    Ok(total)
}

/// Parse a size such as `"10MiB"`, `"512KiB"`, `"1GB"` or `"1000"` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split]
        .parse()
        .map_err(|_| format!("size {s:?} must start with a number"))?;
    let mult = match s[split..].trim() {
        "" | "B" => 1,
        "KB" | "kB" => 1000,
        "KiB" | "K" => 1024,
        "MB" => 1_000_000,
        "MiB" | "M" => 1024 * 1024,
        "GB" => 1_000_000_000,
        "GiB" | "G" => 1024 * 1024 * 1024,
        u => {
            return Err(format!(
                "unknown unit {u:?} in size {s:?} (use B, KiB, MiB, GiB)"
            ))
        }
    };
    Ok(n * mult)
}

fn validate(text: &str, path: &Path) -> Result<Config, Vec<ConfigProblem>> {
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

    let mut sources = BTreeMap::new();
    for (id, raw_src) in &raw.sources {
        if let Some(src) = validate_source(id, raw_src, &dir, &store, &mut p) {
            sources.insert(id.clone(), src);
        }
    }
    let mut channels = BTreeMap::new();
    for (id, raw_ch) in &raw.channels {
        if let Some(ch) = validate_channel(id, raw_ch, &raw.sources, &mut p) {
            channels.insert(id.clone(), ch);
        }
    }
    if !p.list.is_empty() {
        p.list.sort_by_key(|x| (x.line, x.col));
        return Err(p.list);
    }
    Ok(Config {
        path: path.to_path_buf(),
        server,
        store,
        poll,
        sources,
        channels,
    })
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
    }
}

/// One server thread per core, as nginx's `worker_processes auto`.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn positive(v: &Option<Spanned<i64>>, default: usize, what: &str, p: &mut Problems) -> usize {
    match v {
        None => default,
        Some(s) if *s.get_ref() >= 1 => *s.get_ref() as usize,
        Some(s) => {
            p.at(s.span(), format!("{what} must be at least 1"));
            default
        }
    }
}

fn duration_opt(v: &Option<Spanned<String>>, what: &str, p: &mut Problems) -> Option<Duration> {
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
    let html = raw.html.as_ref().map(|h| HtmlConfig {
        items: selector(&h.items, p),
        rules: ArticleRules {
            title: h.title.as_ref().map(|s| selector(s, p)),
            content: h.content.as_ref().map(|s| selector(s, p)),
            date: h.date.as_ref().map(|s| selector(s, p)),
            author: h.author.as_ref().map(|s| selector(s, p)),
            source: h.source.as_ref().map(|s| selector(s, p)),
            remove: h.remove.iter().map(|s| selector(s, p)).collect(),
        },
        max_items: positive(&h.max_items, 20, "html.max_items", p),
    });
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
        html,
        max_items: positive(&raw.max_items, store.max_items, "max_items", p),
        max_age: duration_opt(&raw.max_age, "max_age", p).or(store.max_age),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<ConfigProblem> {
        match Config::parse(text, Path::new("/tmp/x/config.toml")) {
            Ok(_) => vec![],
            Err(ConfigError::Invalid { problems, .. }) => problems,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("ten minutes").is_err());
    }

    #[test]
    fn good_config_parses() {
        let c = Config::parse(
            r#"
[server]
listen = "127.0.0.1:0"
[sources.a]
url = "feeds/a.xml"
interval = "10m"
timezone = "Asia/Shanghai"
[sources.b]
url = "http://example.com/list.html"
[sources.b.html]
items = "div.p2j_list li a"
[channels.c]
title = "C"
sources = ["a", "b"]
script = "simplified"
"#,
            Path::new("/tmp/x/config.toml"),
        )
        .unwrap();
        assert_eq!(c.sources["a"].url.as_str(), "file:///tmp/x/feeds/a.xml");
        assert_eq!(c.sources["b"].kind, Some(SourceKind::Html));
        assert_eq!(c.channels["c"].limit, 50);
        assert_eq!(c.channels["c"].script, Script::Simplified);
        assert_eq!(c.store.path, PathBuf::from("/tmp/x/data/feedloom.sled"));
        assert!(c.server.workers >= 1, "one HTTP worker per core by default");
    }

    #[test]
    fn server_workers_is_a_positive_count() {
        let ok = Config::parse("[server]\nworkers = 3\n", Path::new("/tmp/x/config.toml")).unwrap();
        assert_eq!(ok.server.workers, 3);
        let p = problems("[server]\nworkers = 0\n");
        assert_eq!(p.len(), 1);
        assert!(
            p[0].message.contains("server.workers must be at least 1"),
            "{p:?}"
        );
    }

    #[test]
    fn every_problem_is_located() {
        let text = r#"[sources.a]
url = "ftp://x/y"
interval = "5 minutes"
[sources.b]
url = "http://example.com/"
[sources.b.html]
items = "div[[["
[channels.c]
sources = ["a", "missing"]
include = "(unclosed"
"#;
        let ps = problems(text);
        let lines: Vec<usize> = ps.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 7, 9, 10], "{ps:?}");
        assert!(ps[3].message.contains("missing"));
        assert_eq!(ps[3].col, 17);
    }

    #[test]
    fn unknown_key_is_located() {
        let ps = problems("[sources.a]\nurl = \"a.xml\"\nintervall = \"1m\"\n");
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].line, 3, "{ps:?}");
        assert!(ps[0].message.contains("intervall"), "{ps:?}");
    }

    #[test]
    fn interval_minimum() {
        let ps = problems("[sources.a]\nurl = \"a.xml\"\ninterval = \"500ms\"\n");
        assert_eq!(ps.len(), 1);
        assert!(ps[0].message.contains("at least 1s"));
    }
}
