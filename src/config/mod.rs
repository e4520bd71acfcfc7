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
use url::Url;

mod raw;
mod units;
mod validate;
mod websub;

pub use units::{line_col, parse_duration, parse_size};

use crate::model::script::Script;

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

/// Optional CSS selectors that override automatic extraction on article pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleRules {
    pub title: Option<String>,
    pub content: Option<String>,
    pub date: Option<String>,
    pub author: Option<String>,
    pub source: Option<String>,
    /// Selectors of elements to drop from the content.
    pub remove: Vec<String>,
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
    /// Time a client has to send a whole request head, counted from its first byte (or from
    /// the connection's opening, for the first request).
    pub header_timeout: Duration,
    /// Time a keep-alive connection may wait between requests, or stall while its answer is
    /// written, before it is closed.
    pub idle_timeout: Duration,
    /// Open connections at most; `None`: half the descriptor limit (at most 16,384).
    pub max_connections: Option<usize>,
    /// Largest request head accepted (bigger ones get 431).
    pub max_header_bytes: usize,
    /// Nice value (0–19) of everything but the HTTP threads: readers first. Fixed at start.
    pub background_nice: i32,
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
    /// Boxed, as the request options and full-text rules are: most sources have none, and a
    /// config of 30,000 sources kept them inline at 700 bytes a source.
    pub html: Option<Box<HtmlConfig>>,
    pub max_items: usize,
    pub max_age: Option<Duration>,
    /// What the origin needs besides the URL: headers, User-Agent, credentials, a proxy (one
    /// shared empty value for all the sources that need nothing).
    pub request: std::sync::Arc<RequestOptions>,
    /// When the URL is a web page announcing several feeds: the title of the one to poll.
    pub feed_title: Option<String>,
    /// `full_text = true` on a feed source: the page each new item links to is fetched once and
    /// read with these rules (the `[html]` selectors, or none for automatic extraction); its
    /// text becomes the item's content.
    pub full_text: Option<Box<ArticleRules>>,
}

/// How to ask a source's origin for its document (`headers`, `user_agent`, `username` with
/// `password`/`password_env`, `cookie`/`cookie_env`, `proxy` in `[sources.ID]`). Headers,
/// credentials and cookies go only to the source URL's own origin, never to another host a
/// redirect leads to. Its `Debug` names what is set and never shows a value, so secrets stay out
/// of logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestOptions {
    /// Extra request headers, by name (names validated as HTTP tokens).
    pub headers: Vec<(String, String)>,
    /// Sent instead of the daemon's User-Agent, to every host of the fetch.
    pub user_agent: Option<String>,
    /// HTTP basic authentication: user name and password.
    pub basic_auth: Option<(String, String)>,
    /// A `Cookie` header value.
    pub cookie: Option<String>,
    /// Fetch through this proxy (http, https, socks5 or socks5h URL).
    pub proxy: Option<Url>,
}

impl RequestOptions {
    /// These options behind a shared pointer: empty options all share one.
    pub fn shared(self) -> std::sync::Arc<RequestOptions> {
        static EMPTY: std::sync::OnceLock<std::sync::Arc<RequestOptions>> =
            std::sync::OnceLock::new();
        if self.is_empty() {
            EMPTY.get_or_init(Default::default).clone()
        } else {
            std::sync::Arc::new(self)
        }
    }

    pub fn is_empty(&self) -> bool {
        self == &RequestOptions::default()
    }
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestOptions")
            .field("headers", &names)
            .field("user_agent", &self.user_agent.is_some())
            .field("basic_auth", &self.basic_auth.is_some())
            .field("cookie", &self.cookie.is_some())
            .field(
                "proxy",
                &self.proxy.as_ref().map(|p| p.scheme().to_string()),
            )
            .finish()
    }
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

/// `[cluster]`: run as one node of several over NATS JetStream (see docs/cluster.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// This node's id, unique in the cluster; the host name when not configured.
    pub node: String,
    /// NATS server URLs (`nats://host:port`); the client fails over between them.
    pub nats: Vec<String>,
    /// The environment variable holding the NATS credentials: `user:password`, a token, or the
    /// path of a `.creds` file.
    pub credentials_env: Option<String>,
    /// How long a partition lease lasts without renewal; failover takes about two.
    pub lease: Duration,
    /// Replicas of the stream and the buckets (at most the number of NATS servers).
    pub replicas: usize,
}

/// `[websub]`: the WebSub hub this server is for its public feeds (`POST /websub`), and the
/// subscriber its sources' feeds may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSubConfig {
    /// Subscribe to the hubs that sources' feeds name (one node only; a cluster never does).
    pub subscribe: bool,
    /// Callbacks on loopback, private or link-local addresses are accepted (tests, internal
    /// services); refused otherwise, as the fetcher refuses public sources leading there.
    pub allow_local_callbacks: bool,
    /// Lease granted when the subscriber asks for none, and the bounds of what it may ask.
    pub default_lease: Duration,
    pub min_lease: Duration,
    pub max_lease: Duration,
    /// Delivery attempts after a failed first one, `retry_delay` apart, doubling each time.
    pub retries: u32,
    pub retry_delay: Duration,
    /// Time limit of one verification or delivery request.
    pub timeout: Duration,
    /// Deliveries in flight at once, daemon-wide.
    pub concurrency: usize,
}

impl Default for WebSubConfig {
    fn default() -> Self {
        WebSubConfig {
            subscribe: true,
            allow_local_callbacks: false,
            default_lease: Duration::from_secs(10 * 86400),
            min_lease: Duration::from_secs(3600),
            max_lease: Duration::from_secs(30 * 86400),
            retries: 3,
            retry_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            concurrency: 8,
        }
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
    /// `None`: one process with its own store, no NATS.
    pub cluster: Option<ClusterConfig>,
    pub websub: WebSubConfig,
    /// A short hash of the config without each node's own keys (`[cluster] node`, `[server]
    /// listen`, `[store] path`), so that cluster nodes running different configs show it.
    pub digest: String,
    /// Each source's channels, in channel order: asked once per refresh and once per value a
    /// cluster node applies, so it is looked up, not searched for.
    pub channels_by_source: BTreeMap<String, Box<[std::sync::Arc<str>]>>,
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
        validate::validate(text, path).map_err(|problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// The channels that include `source_id`.
    pub fn channels_of(&self, source_id: &str) -> Vec<String> {
        self.channels_by_source
            .get(source_id)
            .map(|of| of.iter().map(|c| c.to_string()).collect())
            .unwrap_or_default()
    }

    /// What taking `new` in place of `self` changes, source by source.
    pub fn changes_to(&self, new: &Config) -> ReloadSummary {
        let mut summary = ReloadSummary::default();
        for (id, src) in &new.sources {
            match self.sources.get(id) {
                None => summary.added.push(id.clone()),
                // `Debug` hides the request options' values, so they are compared apart.
                Some(o) if format!("{o:?}") != format!("{src:?}") || o.request != src.request => {
                    summary.changed.push(id.clone())
                }
                Some(_) => {}
            }
        }
        summary.removed = self
            .sources
            .keys()
            .filter(|id| !new.sources.contains_key(*id))
            .cloned()
            .collect();
        summary
    }

    /// Settings that take effect only at the next start.
    pub fn needs_restart(&self, new: &Config) -> bool {
        new.server.listen != self.server.listen
            || new.server.workers != self.server.workers
            || new.server.background_nice != self.server.background_nice
            || new.store.path != self.store.path
    }
}

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_covers_what_nodes_share_and_nothing_of_their_own() {
        let cfg = |node: &str, listen: &str, extra: &str| {
            let text = format!(
                "# node {node}\n[server]\nlisten = \"{listen}\"\n[store]\npath = \"/var/{node}\"\n\
                 [cluster]\nnode = \"{node}\"\nnats = [\"nats://127.0.0.1:4222\"]\n\
                 [sources.a]\nurl = \"http://127.0.0.1:9/a.xml\"{extra}\n[channels.c]\nsources = [\"a\"]\n"
            );
            Config::parse(&text, Path::new("/tmp/x/config.toml"))
                .unwrap()
                .digest
        };
        assert_eq!(cfg("a", "127.0.0.1:8095", ""), cfg("b", "0.0.0.0:8096", ""));
        assert_ne!(
            cfg("a", "127.0.0.1:8095", ""),
            cfg("a", "127.0.0.1:8095", "\ninterval = \"5m\"")
        );
    }

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
    fn background_nice_is_a_nice_value() {
        let path = Path::new("/tmp/x/config.toml");
        assert_eq!(Config::parse("", path).unwrap().server.background_nice, 0);
        let ok = Config::parse("[server]\nbackground_nice = 10\n", path).unwrap();
        assert_eq!(ok.server.background_nice, 10);
        for bad in ["-1", "20"] {
            let p = problems(&format!("[server]\nbackground_nice = {bad}\n"));
            assert_eq!(p.len(), 1, "{bad}: {p:?}");
            assert!(p[0].message.contains("0 to 19"), "{p:?}");
        }
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
