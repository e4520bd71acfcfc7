//! The hub's outgoing requests: verification GETs and content deliveries, over one reqwest
//! client whose resolver refuses names in local space (unless `[websub]
//! allow_local_callbacks`), so a callback whose name changes its answer after the request
//! was checked (DNS rebinding) is still refused when connecting. Redirects are not followed
//! and no proxy is used: either would take the request somewhere that was never checked.
//!
//! A delivery is a task of its own: it takes one of `[websub] concurrency` slots only while
//! a request is in flight (never while it waits to retry), each request is bounded by
//! `[websub] timeout`, failed attempts are retried `retries` times, `retry_delay` apart and
//! doubling, then the delivery is dropped. A subscriber answering 410 Gone is unsubscribed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use reqwest::header;
use tokio::sync::Semaphore;

use super::{callable, counter, Document, Intent};
use crate::config::Config;
use crate::model::netspace;
use crate::store::{Store, Subscription};

/// Deliveries waiting or in flight at most; beyond it new ones are dropped (a hub whose
/// subscribers all hang must not grow without bound).
const MAX_PENDING: usize = 10_000;

/// Largest verification answer read: the challenge is 32 characters.
const MAX_ECHO: usize = 1024;

/// The delivery machinery: client, slots, backlog count.
pub struct Deliveries {
    config: Arc<ArcSwap<Config>>,
    store: Store,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    pending: Arc<AtomicUsize>,
    /// Turns true at shutdown: deliveries and verifications in flight end (they hold the
    /// store, which must be closed when the daemon's run ends).
    stop: tokio::sync::watch::Sender<bool>,
}

/// The system resolver, refusing names with an address in local space unless the config
/// allows local callbacks.
struct CallbackResolver {
    config: Arc<ArcSwap<Config>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to the non-public address {addr}, which this hub does not call")]
struct LocalName {
    name: String,
    addr: std::net::IpAddr,
}

impl reqwest::dns::Resolve for CallbackResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_string();
        let config = self.config.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            if let Some(a) = addrs.iter().find(|a| !callable(&config, a.ip())) {
                return Err(Box::new(LocalName { name, addr: a.ip() }) as _);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Why one attempt failed.
enum Failure {
    /// 410: the subscriber is gone for good.
    Gone,
    Other(String),
}

impl Deliveries {
    pub fn new(config: Arc<ArcSwap<Config>>, store: Store) -> Deliveries {
        let w = config.load().websub.clone();
        let client = reqwest::Client::builder()
            .user_agent(format!(
                "feedloom/{} (WebSub hub)",
                env!("CARGO_PKG_VERSION")
            ))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(w.timeout)
            .dns_resolver(Arc::new(CallbackResolver {
                config: config.clone(),
            }))
            .build()
            // Building fails only without a TLS backend, which is compiled in.
            .expect("the WebSub client builds");
        Deliveries {
            config,
            store,
            client,
            slots: Arc::new(Semaphore::new(w.concurrency)),
            pending: Arc::new(AtomicUsize::new(0)),
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    /// End every delivery and verification in flight, and start no more.
    pub(super) fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Run `work` in the background until it ends or the hub shuts down.
    pub(super) fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut stop = self.stop.subscribe();
        if *stop.borrow() {
            return;
        }
        tokio::spawn(async move {
            tokio::select! {
                _ = work => {}
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }

    /// An address-literal callback in local space is refused before any request (the
    /// resolver sees names only).
    fn refused(&self, u: &url::Url) -> bool {
        !self.config.load().websub.allow_local_callbacks && netspace::is_local_url(u)
    }

    /// GET the callback with the challenge; true when it answered 2xx with exactly the
    /// challenge as its body.
    pub(super) async fn verify_intent(&self, intent: &Intent, challenge: &str) -> bool {
        let mut url = intent.callback.clone();
        if self.refused(&url) {
            return false;
        }
        url.query_pairs_mut()
            .append_pair("hub.mode", intent.mode.as_str())
            .append_pair("hub.topic", &intent.topic)
            .append_pair("hub.challenge", challenge)
            .append_pair("hub.lease_seconds", &intent.lease.as_secs().to_string());
        let timeout = self.config.load().websub.timeout;
        let answer = async {
            let resp = self.client.get(url).send().await.ok()?;
            if !resp.status().is_success() {
                return None;
            }
            let mut body = Vec::new();
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk.ok()?);
                if body.len() > MAX_ECHO {
                    return None;
                }
            }
            Some(body)
        };
        match tokio::time::timeout(timeout, answer).await {
            Ok(Some(body)) => body == challenge.as_bytes(),
            _ => false,
        }
    }

    /// Deliver `doc` to `sub` in the background.
    pub(super) fn send(&self, sub: Subscription, doc: Document) {
        if self.pending.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            counter("feedloom_websub_deliveries_total", "overflow");
            tracing::warn!("WebSub delivery backlog full; a delivery was dropped");
            return;
        }
        // Checked again at each delivery: a reload may have turned local callbacks off.
        let refused = url::Url::parse(&sub.callback).map_or(true, |u| self.refused(&u));
        let task = Task {
            config: self.config.clone(),
            store: self.store.clone(),
            client: self.client.clone(),
            slots: self.slots.clone(),
            pending: self.pending.clone(),
            refused,
        };
        self.spawn(task.run(sub, doc));
    }
}

/// One delivery's handles (clones, so the task owns what it uses).
struct Task {
    config: Arc<ArcSwap<Config>>,
    store: Store,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    pending: Arc<AtomicUsize>,
    refused: bool,
}

impl Task {
    async fn run(self, sub: Subscription, doc: Document) {
        let w = self.config.load().websub.clone();
        let mut delay = w.retry_delay;
        let mut outcome = Err(Failure::Other("not tried".into()));
        for attempt in 0..=w.retries {
            if attempt > 0 {
                counter("feedloom_websub_deliveries_total", "retried");
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            outcome = self.attempt(&sub, &doc, w.timeout).await;
            if matches!(outcome, Ok(()) | Err(Failure::Gone)) {
                break;
            }
        }
        let who = crate::model::redact::url(&sub.callback);
        match outcome {
            Ok(()) => counter("feedloom_websub_deliveries_total", "ok"),
            Err(Failure::Gone) => {
                counter("feedloom_websub_deliveries_total", "gone");
                tracing::info!(callback = %who, topic = %sub.topic, "WebSub subscriber gone (410); unsubscribed");
                let store = self.store.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    store.remove_subscription(&sub.channel, &sub.format, &sub.callback)
                })
                .await;
            }
            Err(Failure::Other(why)) => {
                counter("feedloom_websub_deliveries_total", "failed");
                tracing::info!(callback = %who, topic = %sub.topic, error = %why,
                    "WebSub delivery failed after its retries; dropped");
            }
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }

    async fn attempt(
        &self,
        sub: &Subscription,
        doc: &Document,
        timeout: std::time::Duration,
    ) -> Result<(), Failure> {
        if self.refused {
            return Err(Failure::Other("the callback is in local space".into()));
        }
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| Failure::Other(e.to_string()))?;
        let mut req = self
            .client
            .post(&sub.callback)
            .timeout(timeout)
            .header(header::CONTENT_TYPE, doc.content_type)
            .header(header::LINK, &doc.link)
            .body(doc.body.clone());
        if let Some(secret) = &sub.secret {
            let sig = crate::model::signature::sign(secret.as_bytes(), &doc.body);
            req = req.header("X-Hub-Signature", sig);
        }
        // Without the URL: a callback is a capability, not for the log.
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Other(e.without_url().to_string()))?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            reqwest::StatusCode::GONE => Err(Failure::Gone),
            s => Err(Failure::Other(format!("HTTP {s}"))),
        }
    }
}
