//! The only HTTP client: conditional GET, timeouts, a minimum transfer rate, a body cap enforced
//! while streaming (on decompressed bytes), redirects followed by hand so that permanent moves,
//! loops and jumps into private networks are seen, and daemon-wide plus per-host concurrency.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::RequestOptions;
// The one rule of what is local space, shared with the WebSub hub; re-exported so the write
// path keeps asking the fetcher.
use crate::ingest::request::{self, ProxyClients};
pub use crate::model::netspace::is_local_url;
use crate::model::netspace::is_private;

/// Limits and identity for every request.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: u64,
    /// Bytes per second below which a transfer is cut off, once `rate_grace` has passed.
    pub min_rate: u64,
    pub rate_grace: Duration,
    pub max_redirects: usize,
    /// Requests at once, daemon-wide.
    pub concurrency: usize,
    /// Requests at once to one host.
    pub per_host: usize,
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: 10 * 1024 * 1024,
            min_rate: 1024,
            rate_grace: Duration::from_secs(5),
            max_redirects: 5,
            concurrency: 16,
            per_host: 2,
            user_agent: format!("feedloom/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Validators from the previous successful fetch.
#[derive(Debug, Clone, Default)]
pub struct Conditional {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What the origin said about how long its answer stays fresh.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheHints {
    pub max_age: Option<Duration>,
    pub expires: Option<DateTime<Utc>>,
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL the body came from, after redirects.
    pub final_url: String,
    /// Set when every hop to the final URL was a permanent redirect (301/308): the source should
    /// be polled there from now on.
    pub moved_permanently_to: Option<String>,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub cache: CacheHints,
    pub body: Bytes,
}

/// The result of a fetch that did not fail.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    NotModified {
        moved_permanently_to: Option<String>,
        cache: CacheHints,
    },
    Fetched(Fetched),
}

/// Why a fetch failed. Each message says what a person can do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("timed out after {0:?} (the server is too slow or unreachable)")]
    Timeout(Duration),
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the server answered HTTP {status}{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error(
        "the server says the resource is gone (HTTP 410); polling stopped until the config changes"
    )]
    Gone,
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect loop back to {0}")]
    RedirectLoop(String),
    #[error("{0} refused: a public source, or a page it links to, may not send the daemon into a private or loopback network")]
    PrivateRedirect(String),
    #[error("response body larger than the {0}-byte limit (poll.max_body)")]
    TooLarge(u64),
    #[error("transfer too slow: {rate} bytes/s after {secs}s (minimum {min} bytes/s)")]
    TooSlow { rate: u64, secs: u64, min: u64 },
    #[error("cannot read file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("bad URL {0}")]
    BadUrl(String),
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// How long the origin asked us to wait before trying again, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Daemon-wide and per-host request slots.
struct Limits {
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    async fn acquire(&self, host: &str) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let host_sem = {
            let mut hosts = self.hosts.lock().expect("host map lock");
            // Idle hosts are forgotten so that the map does not grow with every host ever seen.
            if hosts.len() > 4096 {
                hosts.retain(|_, s| s.available_permits() < self.per_host);
            }
            hosts
                .entry(host.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        // Host first: waiting for a busy host must not hold a global slot others could use.
        let h = host_sem
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        let g = self
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore never closed");
        (h, g)
    }
}

/// One client for the whole daemon (one connection pool), and a guarded twin for redirects.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// The same client, resolving names with [`PublicOnly`]: used for every hop after a public
    /// source's first redirect.
    guarded: reqwest::Client,
    cfg: Arc<FetchConfig>,
    limits: Arc<Limits>,
    /// Clients for sources with a `proxy` of their own.
    proxied: ProxyClients,
}

/// True for a file, or a URL whose host is loopback, private, link-local or a local name: the
/// space only the operator may point the daemon into.
pub fn in_local_space(u: &Url) -> bool {
    u.scheme() == "file" || is_local_url(u)
}

/// A source configured with a public address may not be redirected into loopback, private or
/// link-local space (cloud metadata endpoints, admin panels); one configured locally may.
pub fn redirect_allowed(start_is_local: bool, next: &Url) -> bool {
    start_is_local || !is_local_url(next)
}

/// For a public source redirected to a host name: false when the name resolves to any
/// loopback, private or link-local address (a public name pointed at 127.0.0.1 or a metadata
/// endpoint). A name that does not resolve is left for the request itself to fail on.
async fn resolves_public(start_is_local: bool, next: &Url) -> bool {
    if start_is_local {
        return true;
    }
    let Some(url::Host::Domain(name)) = next.host() else {
        return true;
    };
    let port = next.port_or_known_default().unwrap_or(80);
    match tokio::net::lookup_host((name, port)).await {
        Ok(addrs) => !any_private(addrs.map(|a| a.ip())),
        Err(_) => true,
    }
}

fn any_private(mut addrs: impl Iterator<Item = IpAddr>) -> bool {
    addrs.any(is_private)
}

/// A name that resolved into loopback, private or link-local space where only public addresses
/// may be used.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to the non-public address {addr}")]
struct PrivateName {
    name: String,
    addr: IpAddr,
}

/// The system resolver, refusing any name with a loopback, private or link-local address.
///
/// [`resolves_public`] checks a redirect's target before it is followed, which gives the clear
/// error; but the connection resolves the name again, and a name that answers differently the
/// second time (DNS rebinding) would get past a check made only beforehand. Doing the check in
/// the resolver the connection itself uses closes that gap.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(a) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(Box::new(PrivateName { name, addr: a.ip() }) as _);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// True when the environment names a proxy that reqwest will use.
fn behind_proxy() -> bool {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"].iter().any(|k| {
        [k.to_string(), k.to_ascii_lowercase()]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    })
}

/// True when `e` was caused by [`PublicOnly`] refusing a name.
fn refused_as_private(e: &reqwest::Error) -> bool {
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if s.is::<PrivateName>() {
            return true;
        }
        src = s.source();
    }
    false
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

fn cache_hints(h: &HeaderMap) -> CacheHints {
    let max_age = header_str(h, header::CACHE_CONTROL).and_then(|cc| {
        cc.split(',').find_map(|d| {
            let d = d.trim();
            d.strip_prefix("max-age=")
                .or_else(|| d.strip_prefix("s-maxage="))
                .and_then(|n| n.trim_matches('"').parse::<u64>().ok())
                .map(Duration::from_secs)
        })
    });
    let expires = header_str(h, header::EXPIRES)
        .and_then(|e| DateTime::parse_from_rfc2822(&e).ok())
        .map(|d| d.with_timezone(&Utc));
    CacheHints { max_age, expires }
}

impl Fetcher {
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetchError> {
        let builder = || client_builder(&cfg);
        let built = |b: reqwest::ClientBuilder| {
            b.build()
                .map_err(|e| FetchError::Other(format!("cannot build HTTP client: {e}")))
        };
        let client = built(builder())?;
        // Behind a proxy (reqwest honours HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) the proxy resolves
        // the target's name, so a resolver here would only see the proxy's own name, and one
        // on a private address (a corporate proxy) would fail every guarded fetch. The check
        // made before each redirect still applies; the one at connect time is left to the proxy.
        let guarded = if behind_proxy() {
            tracing::warn!(
                "an HTTP proxy is set: private-address checks are made before redirects only,                  not again when connecting"
            );
            client.clone()
        } else {
            built(builder().dns_resolver(Arc::new(PublicOnly)))?
        };
        let limits = Arc::new(Limits {
            global: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
            per_host: cfg.per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        });
        Ok(Fetcher {
            client,
            guarded,
            cfg: Arc::new(cfg),
            limits,
            proxied: ProxyClients::default(),
        })
    }

    /// Fetch `url` (http, https or file), with validators from the last fetch. The URL is the
    /// operator's (a configured source): a local one may be fetched and may redirect locally.
    /// `opts`: the source's request options (see [`crate::ingest::request`]).
    pub async fn get(
        &self,
        url: &str,
        cond: &Conditional,
        opts: &RequestOptions,
    ) -> Result<FetchOutcome, FetchError> {
        self.fetch(url, cond, true, opts).await
    }

    /// Fetch a URL that a page on the web linked to (an HTML source's article): it is held to
    /// the rules of a public source whatever its host, and names must resolve to public
    /// addresses from the first request on.
    pub async fn get_linked(
        &self,
        url: &str,
        opts: &RequestOptions,
    ) -> Result<FetchOutcome, FetchError> {
        self.fetch(url, &Conditional::default(), false, opts).await
    }

    /// [`Fetcher::get`] (`operator_url`) or [`Fetcher::get_linked`], with validators either way:
    /// for a URL that was the web's link once and is polled again (an announced feed).
    pub async fn fetch(
        &self,
        url: &str,
        cond: &Conditional,
        operator_url: bool,
        opts: &RequestOptions,
    ) -> Result<FetchOutcome, FetchError> {
        let start = Url::parse(url).map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
        if start.scheme() == "file" {
            if !operator_url {
                return Err(FetchError::BadUrl(format!(
                    "{url}: a linked page may not be a file"
                )));
            }
            return self.read_file(&start).await;
        }
        let total = self.cfg.timeout;
        match tokio::time::timeout(total, self.get_http(start, cond, operator_url, opts)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(total)),
        }
    }

    async fn read_file(&self, u: &Url) -> Result<FetchOutcome, FetchError> {
        let path = u
            .to_file_path()
            .map_err(|_| FetchError::BadUrl(u.to_string()))?;
        let err = |e: std::io::Error| FetchError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let meta = tokio::fs::metadata(&path).await.map_err(err)?;
        if meta.len() > self.cfg.max_body {
            return Err(FetchError::TooLarge(self.cfg.max_body));
        }
        let body = tokio::fs::read(&path).await.map_err(err)?;
        Ok(FetchOutcome::Fetched(Fetched {
            final_url: u.to_string(),
            moved_permanently_to: None,
            content_type: None,
            etag: None,
            last_modified: None,
            cache: CacheHints::default(),
            body: Bytes::from(body),
        }))
    }

    async fn get_http(
        &self,
        start: Url,
        cond: &Conditional,
        operator_url: bool,
        opts: &RequestOptions,
    ) -> Result<FetchOutcome, FetchError> {
        if !operator_url && is_local_url(&start) {
            return Err(FetchError::PrivateRedirect(start.to_string()));
        }
        let start_is_local = operator_url && is_local_url(&start);
        let mut url = start.clone();
        let mut seen: HashSet<String> = HashSet::from([url.to_string()]);
        let mut all_permanent = true;
        let mut hops = 0;
        loop {
            let host = url.host_str().unwrap_or("").to_string();
            let _permits = self.limits.acquire(&host).await;
            // After a public source's first redirect, names must resolve to public addresses
            // when connecting, not only when the redirect was checked.
            let guarded = !start_is_local && (hops > 0 || !operator_url);
            // Through a source's own proxy the proxy resolves names, as with HTTP_PROXY: the
            // checks before each redirect still apply, the one at connect time cannot.
            let client = match &opts.proxy {
                Some(proxy) => self
                    .proxied
                    .get(proxy, || client_builder(&self.cfg))
                    .map_err(FetchError::Other)?,
                None if guarded => self.guarded.clone(),
                None => self.client.clone(),
            };
            let mut req = request::apply(client.get(url.clone()), opts, &start, &url);
            if let Some(e) = &cond.etag {
                req = req.header(header::IF_NONE_MATCH, e);
            }
            if let Some(lm) = &cond.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm);
            }
            let resp = req.send().await.map_err(|e| {
                if guarded && refused_as_private(&e) {
                    FetchError::PrivateRedirect(url.to_string())
                } else {
                    classify(&e)
                }
            })?;
            let status = resp.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                let loc = header_str(resp.headers(), header::LOCATION).ok_or_else(|| {
                    FetchError::Other(format!(
                        "HTTP {} without a Location header",
                        status.as_u16()
                    ))
                })?;
                let next = url
                    .join(&loc)
                    .map_err(|_| FetchError::BadUrl(format!("redirect to {loc}")))?;
                hops += 1;
                if hops > self.cfg.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.cfg.max_redirects));
                }
                if !seen.insert(next.to_string()) {
                    return Err(FetchError::RedirectLoop(next.to_string()));
                }
                if !redirect_allowed(start_is_local, &next)
                    || !resolves_public(start_is_local, &next).await
                {
                    return Err(FetchError::PrivateRedirect(next.to_string()));
                }
                if next.scheme() != "http" && next.scheme() != "https" {
                    return Err(FetchError::BadUrl(format!("redirect to {next}")));
                }
                all_permanent &= status.as_u16() == 301 || status.as_u16() == 308;
                url = next;
                continue;
            }
            let moved = (hops > 0 && all_permanent).then(|| url.to_string());
            let headers = resp.headers().clone();
            let cache = cache_hints(&headers);
            if status == reqwest::StatusCode::NOT_MODIFIED {
                return Ok(FetchOutcome::NotModified {
                    moved_permanently_to: moved,
                    cache,
                });
            }
            if status.as_u16() == 410 {
                return Err(FetchError::Gone);
            }
            if !status.is_success() {
                let retry_after = header_str(&headers, header::RETRY_AFTER)
                    .and_then(|v| parse_retry_after(&v, Utc::now()));
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after,
                });
            }
            if let Some(len) = resp.content_length() {
                // Only a hint: compressed bodies are checked again while they stream.
                if len > self.cfg.max_body {
                    return Err(FetchError::TooLarge(self.cfg.max_body));
                }
            }
            let body = self.read_body(resp).await?;
            return Ok(FetchOutcome::Fetched(Fetched {
                final_url: url.to_string(),
                moved_permanently_to: moved,
                content_type: header_str(&headers, header::CONTENT_TYPE),
                etag: header_str(&headers, header::ETAG),
                last_modified: header_str(&headers, header::LAST_MODIFIED),
                cache,
                body,
            }));
        }
    }

    /// Stream the (decompressed) body, enforcing the size cap and the minimum rate.
    async fn read_body(&self, mut resp: reqwest::Response) -> Result<Bytes, FetchError> {
        let started = Instant::now();
        let mut buf = BytesMut::new();
        loop {
            // A chunk that never comes is caught by the rate check at the next wake-up.
            let next = tokio::time::timeout(Duration::from_secs(1), resp.chunk()).await;
            match next {
                Ok(Ok(Some(chunk))) => {
                    if (buf.len() + chunk.len()) as u64 > self.cfg.max_body {
                        return Err(FetchError::TooLarge(self.cfg.max_body));
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => return Ok(buf.freeze()),
                Ok(Err(e)) => return Err(classify(&e)),
                Err(_) => {}
            }
            let elapsed = started.elapsed();
            if elapsed > self.cfg.rate_grace && self.cfg.min_rate > 0 {
                let rate = (buf.len() as f64 / elapsed.as_secs_f64()) as u64;
                if rate < self.cfg.min_rate {
                    return Err(FetchError::TooSlow {
                        rate,
                        secs: elapsed.as_secs(),
                        min: self.cfg.min_rate,
                    });
                }
            }
        }
    }
}

/// The settings every client of the fetcher shares.
fn client_builder(cfg: &FetchConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(cfg.user_agent.clone())
        .connect_timeout(cfg.connect_timeout)
        // Redirects are followed by hand in `get` (permanent moves, loops, private targets).
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(cfg.per_host.max(1))
}

fn classify(e: &reqwest::Error) -> FetchError {
    if e.is_timeout() {
        return FetchError::Timeout(Duration::ZERO);
    }
    // The innermost cause is the one a person can act on ("connection refused", "dns error").
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = s.to_string();
        src = s.source();
    }
    if e.is_connect() {
        FetchError::Connect(msg)
    } else if e.is_decode() || e.is_body() {
        FetchError::Other(format!("cannot read the body: {msg}"))
    } else {
        FetchError::Other(msg)
    }
}

/// The fetcher's limits and identity from the config.
pub fn fetch_config(config: &crate::config::Config) -> FetchConfig {
    FetchConfig {
        connect_timeout: config.poll.connect_timeout,
        timeout: config.poll.timeout,
        max_body: config.poll.max_body,
        min_rate: config.poll.min_rate,
        concurrency: config.poll.concurrency,
        per_host: config.poll.per_host,
        // A cluster node names itself, so an origin's log shows which node asked.
        user_agent: match &config.cluster {
            None => format!(
                "feedloom/{} (+{})",
                env!("CARGO_PKG_VERSION"),
                config.server.base_url
            ),
            Some(c) => format!(
                "feedloom/{} (+{}; node {})",
                env!("CARGO_PKG_VERSION"),
                config.server.base_url,
                c.node
            ),
        },
        ..FetchConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("3600", now),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 08:28:00 GMT", now),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn public_sources_cannot_bounce_into_private_space() {
        let meta = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let lan = Url::parse("http://192.168.1.1/admin").unwrap();
        let public = Url::parse("https://example.org/feed").unwrap();
        assert!(!redirect_allowed(false, &meta));
        assert!(!redirect_allowed(false, &lan));
        assert!(redirect_allowed(false, &public));
        // Ops may configure local sources, and those may redirect locally.
        assert!(redirect_allowed(true, &lan));
    }

    #[test]
    fn a_name_resolving_anywhere_private_is_refused() {
        let ips = |v: &[&str]| {
            v.iter()
                .map(|s| s.parse::<IpAddr>().unwrap())
                .collect::<Vec<_>>()
        };
        assert!(any_private(
            ips(&["93.184.216.34", "127.0.0.1"]).into_iter()
        ));
        assert!(any_private(ips(&["::ffff:10.0.0.1"]).into_iter()));
        assert!(any_private(ips(&["fd00::1"]).into_iter()));
        assert!(!any_private(
            ips(&["93.184.216.34", "2606:2800:220:1::1"]).into_iter()
        ));
    }

    #[tokio::test]
    async fn the_guarded_client_refuses_private_names_when_connecting() {
        // A live origin on loopback: the plain client reaches it by name, the guarded one must
        // refuse to connect even though nothing checked the URL beforehand.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            }
        });
        let f = Fetcher::new(FetchConfig::default()).unwrap();
        let url = format!("http://localhost:{port}/");
        let plain = f.client.get(&url).send().await.unwrap();
        assert_eq!(plain.status(), 200);
        let e = f.guarded.get(&url).send().await.unwrap_err();
        assert!(refused_as_private(&e), "{e:?}");
    }

    #[tokio::test]
    async fn linked_pages_are_held_to_the_public_rules() {
        let f = Fetcher::new(FetchConfig::default()).unwrap();
        for url in [
            "http://127.0.0.1:9/x",
            "http://169.254.169.254/latest/meta-data/",
        ] {
            assert!(
                matches!(
                    f.get_linked(url, &Default::default()).await,
                    Err(FetchError::PrivateRedirect(_))
                ),
                "{url}"
            );
        }
        assert!(matches!(
            f.get_linked("file:///etc/hostname", &Default::default())
                .await,
            Err(FetchError::BadUrl(_))
        ));
    }

    #[tokio::test]
    async fn localhost_by_name_is_refused_for_public_sources() {
        // `localhost` resolves from /etc/hosts (no network).
        let u = Url::parse("http://localhost:9/x").unwrap();
        assert!(!resolves_public(false, &u).await);
        assert!(resolves_public(true, &u).await);
    }
}
