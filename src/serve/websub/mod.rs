//! The WebSub hub (W3C WebSub Recommendation), publisher and hub in one: every public feed
//! names `{base_url}/websub` as its hub; `POST /websub` takes subscription requests, answers
//! 202 and verifies the subscriber's intent afterwards; when a subscribed feed's document
//! changes, every verified subscriber gets it POSTed, signed with its secret.
//!
//! Rules kept here:
//! - A topic is one of this server's public feed URLs, `{base_url}/feeds/{id}.{rss|atom|json}`;
//!   a private channel cannot be subscribed to (it answers as a channel that does not exist).
//! - A callback in loopback, private or link-local space is refused unless
//!   `[websub] allow_local_callbacks`: at the request (the URL, and the addresses its name has
//!   then) and again by the resolver of every connection ([`deliver`]), as the fetcher does.
//! - A subscription is active only once the callback echoed the challenge of a verification
//!   GET with a 2xx; an unsubscription is verified the same way.
//! - A feed is published once per change of its document (its ETag), not once per render: the
//!   ETag last published is kept in the store, so a restart does not publish again.
//! - Deliveries run in background tasks ([`deliver`]): they never hold up rendering or
//!   serving, run a bounded number at a time, and a slow subscriber delays nobody else.

mod deliver;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::Utc;
use url::Url;

use crate::config::{ChannelConfig, Config};
use crate::model::netspace;
use crate::serve::cache::FeedCache;
use crate::serve::render::Format;
use crate::store::{Store, Subscription};

pub use deliver::Deliveries;

/// Largest `POST /websub` body read (the listener refuses larger ones).
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// `hub.secret` must be shorter than this (WebSub: "less than 200 bytes").
const MAX_SECRET: usize = 200;

/// What a subscriber asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subscribe,
    Unsubscribe,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A checked request, waiting for its intent to be verified.
#[derive(Debug, Clone)]
pub struct Intent {
    pub mode: Mode,
    pub channel: String,
    pub format: Format,
    pub topic: String,
    pub callback: Url,
    pub secret: Option<String>,
    pub lease: Duration,
}

/// The hub: the store's subscriptions, the verification and delivery client, the delivery
/// slots.
pub struct Hub {
    config: Arc<ArcSwap<Config>>,
    store: Store,
    deliveries: Deliveries,
    /// One publishing pass at a time, so two passes never both see a feed's old ETag and
    /// deliver the same change twice.
    publishing: tokio::sync::Mutex<()>,
    /// Verifications in flight: each is a GET to a callback anyone may name, so their number
    /// is bounded (requests beyond it are answered 503 and may come again).
    verifying: Arc<tokio::sync::Semaphore>,
}

/// The most intent verifications in flight at once.
pub const MAX_VERIFICATIONS: usize = 32;

fn counter(name: &'static str, result: &'static str) {
    metrics::counter!(name, "result" => result).increment(1);
}

impl Hub {
    pub fn new(config: Arc<ArcSwap<Config>>, store: Store) -> Arc<Hub> {
        let deliveries = Deliveries::new(config.clone(), store.clone());
        Arc::new(Hub {
            config,
            store,
            deliveries,
            publishing: tokio::sync::Mutex::new(()),
            verifying: Arc::new(tokio::sync::Semaphore::new(MAX_VERIFICATIONS)),
        })
    }

    /// A place for one more verification, held until it ends; `None` while
    /// [`MAX_VERIFICATIONS`] are in flight.
    pub fn verification_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.verifying.clone().try_acquire_owned().ok()
    }

    /// End deliveries and verifications in flight (at shutdown: they hold the store).
    pub fn shutdown(&self) {
        self.deliveries.shutdown();
    }

    /// Run `work` (a verification) in the background until it ends or the hub shuts down.
    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        self.deliveries.spawn(work);
    }

    /// Check a `POST /websub` body (form-encoded). `Err` is the reason for a 400.
    pub async fn accept(&self, body: &[u8]) -> Result<Intent, String> {
        let cfg = self.config.load_full();
        let mut form = std::collections::HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if form.insert(k.to_string(), v.to_string()).is_some() {
                return Err(format!("{k} given more than once"));
            }
        }
        let field = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let mode = match field("hub.mode") {
            Some("subscribe") => Mode::Subscribe,
            Some("unsubscribe") => Mode::Unsubscribe,
            Some(m) => {
                return Err(format!(
                    "hub.mode must be subscribe or unsubscribe, not {m:?}"
                ))
            }
            None => return Err("hub.mode is missing".into()),
        };
        let topic = field("hub.topic").ok_or("hub.topic is missing")?;
        let (channel, format) = topic_channel(&cfg, topic).ok_or_else(|| {
            format!(
                "hub.topic must be one of this server's public feeds, {}/feeds/ID.rss, .atom or .json",
                cfg.server.base_url
            )
        })?;
        let callback = field("hub.callback").ok_or("hub.callback is missing")?;
        let callback = Url::parse(callback)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or("hub.callback must be an absolute http:// or https:// URL")?;
        if !cfg.websub.allow_local_callbacks && !resolves_public(&callback).await {
            return Err(
                "hub.callback is in loopback, private or link-local space, which this hub does not call"
                    .into(),
            );
        }
        let secret = field("hub.secret").map(str::to_string);
        if secret.as_ref().is_some_and(|s| s.len() >= MAX_SECRET) {
            return Err(format!(
                "hub.secret must be shorter than {MAX_SECRET} bytes"
            ));
        }
        let w = &cfg.websub;
        let lease = match field("hub.lease_seconds") {
            None => w.default_lease,
            Some(l) => Duration::from_secs(l.parse::<u64>().map_err(|_| {
                format!("hub.lease_seconds must be a whole number of seconds, not {l:?}")
            })?),
        }
        .clamp(w.min_lease, w.max_lease.max(w.min_lease));
        Ok(Intent {
            mode,
            channel: channel.id.clone(),
            format,
            topic: topic.to_string(),
            callback,
            secret,
            lease,
        })
    }

    /// Verify the intent of an accepted request with the subscriber, then make (or end) the
    /// subscription. Runs after the 202 has been sent.
    pub async fn verify(&self, cache: &FeedCache, intent: Intent) {
        let challenge = challenge();
        let ok = self.deliveries.verify_intent(&intent, &challenge).await;
        let who = intent.callback.as_str();
        if !ok {
            tracing::info!(callback = %crate::model::redact::url(who), topic = %intent.topic,
                mode = intent.mode.as_str(), "WebSub intent not verified; nothing changed");
            counter("feedloom_websub_subscriptions_total", "unverified");
            return;
        }
        let ext = intent.format.extension();
        match intent.mode {
            Mode::Unsubscribe => {
                let store = self.store.clone();
                let (ch, cb) = (intent.channel.clone(), who.to_string());
                let _ = blocking(move || store.remove_subscription(&ch, ext, &cb)).await;
                counter("feedloom_websub_subscriptions_total", "unsubscribed");
            }
            Mode::Subscribe => {
                let lease_seconds = intent.lease.as_secs();
                let sub = Subscription {
                    channel: intent.channel.clone(),
                    format: ext.to_string(),
                    topic: intent.topic.clone(),
                    callback: who.to_string(),
                    secret: intent.secret.clone(),
                    lease_seconds,
                    expires: Utc::now() + chrono::Duration::seconds(lease_seconds as i64),
                };
                // Under the publishing turn: the document the subscriber starts from is
                // rendered, the subscription stored, and that document recorded as published
                // (unless one is already, for earlier subscribers). A change made after the
                // render is then published against it, to this subscriber too.
                let _turn = self.publishing.lock().await;
                let cfg = self.config.load_full();
                let start = match cfg.channels.get(&intent.channel) {
                    Some(ch) => cache
                        .current_or_render(
                            &self.store,
                            ch,
                            &cfg.server.base_url,
                            intent.format,
                            ch.limit,
                        )
                        .await
                        .ok()
                        .map(|r| r.etag.clone()),
                    None => None,
                };
                let (store, id) = (self.store.clone(), intent.channel.clone());
                let stored = blocking(move || {
                    store.put_subscription(&sub)?;
                    match (start, store.published_etag(&id, ext)?) {
                        (Some(etag), None) => store.set_published_etag(&id, ext, &etag),
                        _ => Ok(()),
                    }
                })
                .await;
                match stored {
                    Ok(()) => counter("feedloom_websub_subscriptions_total", "verified"),
                    Err(e) => tracing::error!(error = %e, "cannot store a WebSub subscription"),
                }
            }
        }
    }

    /// Publish the feeds of `channels` that changed: each subscribed format is rendered (if
    /// no reader asked for it yet, it is rendered now and kept fresh from then on) and, when
    /// its ETag differs from the one last published, sent to every subscriber.
    pub async fn publish(&self, cache: &FeedCache, channels: &[String]) {
        let _turn = self.publishing.lock().await;
        let cfg = self.config.load_full();
        for id in channels {
            let Some(ch) = cfg.channels.get(id).filter(|c| !c.is_private()) else {
                continue;
            };
            for format in Format::ALL {
                let ext = format.extension();
                let (store, cid) = (self.store.clone(), id.clone());
                let subs = match blocking(move || store.subscriptions(&cid, ext, Utc::now())).await
                {
                    Ok(s) if !s.is_empty() => s,
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!(channel = %id, error = %e, "cannot read WebSub subscriptions");
                        continue;
                    }
                };
                let base = &cfg.server.base_url;
                let r = match cache
                    .current_or_render(&self.store, ch, base, format, ch.limit)
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(channel = %id, error = %e, "cannot render a subscribed feed");
                        continue;
                    }
                };
                let (store, cid, etag) = (self.store.clone(), id.clone(), r.etag.clone());
                let changed = blocking(move || {
                    let last = store.published_etag(&cid, ext)?;
                    if last.as_deref() == Some(etag.as_str()) {
                        return Ok(false);
                    }
                    store.set_published_etag(&cid, ext, &etag)?;
                    Ok(true)
                })
                .await;
                if !matches!(changed, Ok(true)) {
                    continue;
                }
                let doc = Document {
                    body: r.body.clone(),
                    content_type: format.content_type(),
                    link: link_value(&format!("{base}/websub"), &self_url(base, ch, format)),
                };
                for sub in subs {
                    self.deliveries.send(sub, doc.clone());
                }
            }
        }
    }
}

/// The channel and format a topic URL names, if it is one of this server's public feeds.
fn topic_channel<'c>(cfg: &'c Config, topic: &str) -> Option<(&'c ChannelConfig, Format)> {
    let prefix = format!("{}/feeds/", cfg.server.base_url);
    let rest = topic.strip_prefix(&prefix)?;
    if rest.contains(['?', '#', '/']) {
        return None;
    }
    let rest = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    let (id, ext) = rest.rsplit_once('.')?;
    let format = Format::ALL.into_iter().find(|f| f.extension() == ext)?;
    let ch = cfg.channels.get(id).filter(|c| !c.is_private())?;
    Some((ch, format))
}

/// The feed's canonical URL, as its `rel="self"` link names it.
fn self_url(base: &str, ch: &ChannelConfig, format: Format) -> String {
    let url = format!("{base}/feeds/{}.{}", ch.id, format.extension());
    Url::parse(&url).map_or(url, |u| u.to_string())
}

/// A `Link` header value naming the hub and the topic.
fn link_value(hub: &str, topic: &str) -> String {
    format!("<{hub}>; rel=\"hub\", <{topic}>; rel=\"self\"")
}

/// False when the URL is local by itself (an address or name in local space), or its name
/// resolves to any such address now. A name that does not resolve passes here; the
/// verification request then fails on it.
async fn resolves_public(u: &Url) -> bool {
    if netspace::is_local_url(u) {
        return false;
    }
    let Some(url::Host::Domain(name)) = u.host() else {
        return true;
    };
    let port = u.port_or_known_default().unwrap_or(80);
    match tokio::net::lookup_host((name, port)).await {
        Ok(mut addrs) => !addrs.any(|a| netspace::is_private(a.ip())),
        Err(_) => true,
    }
}

/// True when `ip` may be called back under the current config.
fn callable(config: &ArcSwap<Config>, ip: IpAddr) -> bool {
    config.load().websub.allow_local_callbacks || !netspace::is_private(ip)
}

/// An unguessable challenge: 16 bytes from the kernel's generator, as hex.
fn challenge() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
    if read.is_err() {
        // No /dev/urandom (a bare chroot): the per-process random hasher keys, the time and a
        // counter, hashed. Weaker, but a challenge only has to be unpredictable to a callback
        // that did not ask to subscribe.
        use sha2::Digest;
        use std::hash::{BuildHasher, Hasher};
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        h.write_u128(Utc::now().timestamp_nanos_opt().unwrap_or(0) as u128);
        let d = sha2::Sha256::digest(h.finish().to_le_bytes());
        b.copy_from_slice(&d[..16]);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Run store work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// A delivered document: the body and the headers it goes with.
#[derive(Clone)]
struct Document {
    body: Bytes,
    content_type: &'static str,
    link: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_this_servers_public_feeds() {
        let text = "[server]\nbase_url = \"https://h.example\"\n[sources.s]\nurl = \"a.xml\"\n\
                    [channels.pub]\nsources = [\"s\"]\n[channels.priv]\nsources = [\"s\"]\ntoken = \"t\"\n\
                    [channels.\"中文\"]\nsources = [\"s\"]\n";
        let cfg = Config::parse(text, std::path::Path::new("/tmp/x/c.toml")).unwrap();
        let t = |s: &str| topic_channel(&cfg, s).map(|(c, f)| (c.id.clone(), f));
        assert_eq!(
            t("https://h.example/feeds/pub.atom"),
            Some(("pub".into(), Format::Atom))
        );
        assert_eq!(
            t("https://h.example/feeds/%E4%B8%AD%E6%96%87.json"),
            Some(("中文".into(), Format::Json))
        );
        assert_eq!(
            t("https://h.example/feeds/中文.rss"),
            Some(("中文".into(), Format::Rss))
        );
        for bad in [
            "https://h.example/feeds/priv.atom",
            "https://h.example/feeds/none.atom",
            "https://h.example/feeds/pub.xml",
            "https://h.example/feeds/pub.atom?limit=5",
            "http://other.example/feeds/pub.atom",
        ] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn challenges_differ() {
        let (a, b) = (challenge(), challenge());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
