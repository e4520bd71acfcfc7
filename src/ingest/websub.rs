//! The WebSub subscriber: a source whose feed names a hub (an `atom:link rel="hub"` or a
//! `Link: <…>; rel="hub"` header) is subscribed to it, with a callback URL that ends in an
//! unguessable token and a secret of its own. The hub verifies intent by calling the callback
//! (the challenge is echoed only for a subscription this node asked for, with its topic), and
//! then pushes new documents there, signed with the secret. A pushed document goes through
//! the same pipeline as a poll (read → normalize → `RefreshResult` → sink) without a fetch;
//! one with a missing or wrong signature is acknowledged and ignored (the Recommendation's
//! rule: a hub must not learn which signatures pass). Leases are renewed at a poll when less
//! than two intervals (at least an hour) are left, and polling goes on at the source's interval
//! as a safety net. A hub link is held to the rule of article links: a public source's hub may
//! not be in local space.
//!
//! Node-local: in cluster mode no source is subscribed (the wiring leaves the subscriber out).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::{Config, SourceConfig};
pub use crate::ingest::extract::discover::{hub_links, HubLinks};
use crate::ingest::fetch::{Fetched, Fetcher};
use crate::ingest::fulltext;
use crate::ingest::refresh::{self, Outcome, RefreshCtx, RefreshReport};
use crate::model::push::{CallbackAnswer, CallbackRequest};
use crate::model::{netspace, redact, signature, RefreshResult, Retention, SourceState};
use crate::store::{HubSubscription, RefreshCounts, Store};

/// The lease asked for (the hub decides).
const LEASE: Duration = Duration::from_secs(10 * 24 * 3600);
/// A subscription the hub never verified is asked for again after this long.
const RETRY_UNVERIFIED: chrono::Duration = chrono::Duration::hours(1);

/// The subscriber's part of the daemon: where callbacks are (the public base URL) and which
/// sources have a subscription request on its way.
pub struct Subscriber {
    pub base_url: String,
    /// The base URL was made up from the listening address, not configured.
    base_url_derived: bool,
    warned: std::sync::atomic::AtomicBool,
    in_flight: Mutex<HashSet<String>>,
}

impl Subscriber {
    pub fn new(base_url: &str, base_url_derived: bool) -> Subscriber {
        Subscriber {
            base_url: base_url.trim_end_matches('/').to_string(),
            base_url_derived,
            warned: Default::default(),
            in_flight: Mutex::new(HashSet::new()),
        }
    }
}

/// 32 random bytes as hex, for callback tokens and secrets.
fn random_hex() -> String {
    use std::io::Read;
    let mut b = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        // No /dev/urandom (a bare chroot): hash what differs between calls.
        use sha2::Digest;
        let seed = format!(
            "{:?}{:?}",
            std::time::SystemTime::now(),
            std::thread::current().id()
        );
        b.copy_from_slice(&sha2::Sha256::digest(seed.as_bytes()));
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether a subscription should be asked for again now: a lease running out within two
/// intervals (at least an hour), or a request the hub never verified within an hour.
fn due(sub: &HubSubscription, interval: Duration, now: DateTime<Utc>) -> bool {
    if !sub.verified {
        return now - sub.requested_at > RETRY_UNVERIFIED;
    }
    let margin = chrono::Duration::from_std(interval * 2)
        .unwrap_or(chrono::Duration::days(1))
        .max(chrono::Duration::hours(1));
    sub.lease_until.is_none_or(|until| until - now < margin)
}

/// After a poll of `src`: subscribe to the hub its feed names (`hub`: from a document just
/// read), or renew a lease about to end. The request goes out in the background.
pub fn after_poll(
    sub: &Arc<Subscriber>,
    store: &Store,
    fetcher: &Fetcher,
    src: &SourceConfig,
    hub: Option<&HubLinks>,
) {
    let source = src.id.as_str();
    let now = Utc::now();
    let current = match store.hub_subscription(source) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(source, error = %e, "websub: cannot read the subscription");
            return;
        }
    };
    let mut want = match (hub, current) {
        (Some(h), Some(c)) if c.hub == h.hub && c.topic == h.topic => {
            due(&c, src.interval, now).then_some(c)
        }
        (Some(h), _) => Some(HubSubscription {
            hub: h.hub.clone(),
            topic: h.topic.clone(),
            token: random_hex(),
            secret: random_hex(),
            verified: false,
            requested_at: now,
            from_local: h.from_local,
            lease_until: None,
        }),
        (None, Some(c)) => due(&c, src.interval, now).then_some(c),
        (None, None) => None,
    };
    let Some(mut want) = want.take() else {
        return;
    };
    // A public feed's hub link is held to the rule of the links a public page gives: decided
    // by where the feed came from (its final URL), not by the configured one.
    let operator = want.from_local;
    let Ok(hub_url) = url::Url::parse(&want.hub) else {
        return;
    };
    if !operator && netspace::is_local_url(&hub_url) {
        tracing::warn!(source, hub = %redact::url(&want.hub), "websub: a public feed's hub in local space is not subscribed to");
        return;
    }
    // A callback under a base URL made up from the listening address reaches hubs on this
    // machine or network at best: a hub elsewhere needs `[server] base_url`.
    if sub.base_url_derived && !netspace::is_local_url(&hub_url) {
        if !sub.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(hub = %redact::url(&want.hub), "websub: set [server] base_url to the address hubs can reach; feeds naming public hubs are not subscribed until then");
        }
        return;
    }
    if !sub
        .in_flight
        .lock()
        .expect("in-flight lock")
        .insert(source.to_string())
    {
        return;
    }
    want.requested_at = now;
    // Stored before asking, so that a hub verifying at once finds it.
    if let Err(e) = store.put_hub_subscription(source, &want) {
        tracing::warn!(source, error = %e, "websub: cannot store the subscription");
        sub.in_flight.lock().expect("in-flight lock").remove(source);
        return;
    }
    let callback = format!("{}/websub/callback/{}/{}", sub.base_url, source, want.token);
    let client = fetcher.http_client(operator).clone();
    let (sub, source) = (Arc::clone(sub), source.to_string());
    tokio::spawn(async move {
        let lease = LEASE.as_secs().to_string();
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", want.topic.as_str()),
            ("hub.callback", callback.as_str()),
            ("hub.secret", want.secret.as_str()),
            ("hub.lease_seconds", lease.as_str()),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = client
            .post(&want.hub)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .timeout(Duration::from_secs(30))
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => {
                tracing::info!(source = %source, hub = %redact::url(&want.hub), "websub: subscription requested");
                metrics::counter!("feedloom_websub_subscribe_requests_total", "outcome" => "ok")
                    .increment(1);
            }
            Ok(r) => {
                tracing::warn!(source = %source, hub = %redact::url(&want.hub), status = r.status().as_u16(), "websub: the hub refused the subscription");
                metrics::counter!("feedloom_websub_subscribe_requests_total", "outcome" => "refused")
                        .increment(1);
            }
            Err(e) => {
                tracing::warn!(source = %source, hub = %redact::url(&want.hub), error = %redact::text(&e.to_string()), "websub: cannot reach the hub");
                metrics::counter!("feedloom_websub_subscribe_requests_total", "outcome" => "error")
                    .increment(1);
            }
        }
        sub.in_flight
            .lock()
            .expect("in-flight lock")
            .remove(&source);
    });
}

/// A hub's request to a source's callback: intent verification (GET) or content (POST).
/// Content stored comes back as the report of a refresh, for the caller to finish.
pub async fn callback(
    ctx: &RefreshCtx,
    config: &Config,
    state_of: impl Fn(&SourceConfig) -> SourceState,
    req: CallbackRequest,
) -> (CallbackAnswer, Option<RefreshReport>) {
    let store = &ctx.store;
    let not_ours = || (CallbackAnswer::new(404, "no such subscription"), None);
    let sub = match store.hub_subscription(&req.source) {
        Ok(Some(s)) => s,
        Ok(None) => return not_ours(),
        Err(e) => return (CallbackAnswer::new(503, e.to_string()), None),
    };
    if !signature::constant_time_eq(sub.token.as_bytes(), req.token.as_bytes()) {
        return not_ours();
    }
    if req.post {
        return pushed(ctx, config, state_of, &req, &sub).await;
    }
    let q = |k: &str| req.query.get(k).map(String::as_str).unwrap_or("");
    match q("hub.mode") {
        "subscribe" if q("hub.topic") == sub.topic && !q("hub.challenge").is_empty() => {
            let lease = q("hub.lease_seconds").parse::<i64>().ok();
            let verified = HubSubscription {
                verified: true,
                lease_until: lease.map(|s| Utc::now() + chrono::Duration::seconds(s)),
                ..sub
            };
            if let Err(e) = store.put_hub_subscription(&req.source, &verified) {
                return (CallbackAnswer::new(503, e.to_string()), None);
            }
            tracing::info!(source = %req.source, lease_seconds = ?lease, "websub: subscription verified");
            (CallbackAnswer::new(200, q("hub.challenge")), None)
        }
        "denied" if q("hub.topic") == sub.topic => {
            tracing::warn!(source = %req.source, reason = q("hub.reason"), "websub: the hub denied the subscription");
            let denied = HubSubscription {
                verified: false,
                ..sub
            };
            let _ = store.put_hub_subscription(&req.source, &denied);
            (CallbackAnswer::new(200, ""), None)
        }
        // Not a subscription this node asked for (this subscriber never unsubscribes: an
        // unwanted lease just runs out).
        _ => not_ours(),
    }
}

/// Content a hub pushed: checked against the secret, then read like a polled document.
async fn pushed(
    ctx: &RefreshCtx,
    config: &Config,
    state_of: impl Fn(&SourceConfig) -> SourceState,
    req: &CallbackRequest,
    sub: &HubSubscription,
) -> (CallbackAnswer, Option<RefreshReport>) {
    let signed = req
        .signature
        .as_deref()
        .is_some_and(|s| signature::verify(sub.secret.as_bytes(), &req.body, s));
    if !signed {
        tracing::warn!(source = %req.source, "websub: pushed content without a valid signature ignored");
        metrics::counter!("feedloom_websub_pushes_total", "outcome" => "bad_signature")
            .increment(1);
        return (CallbackAnswer::new(202, ""), None);
    }
    let Some(src) = config.sources.get(&req.source) else {
        return (CallbackAnswer::new(410, "no such source"), None);
    };
    match store_pushed(ctx, src, state_of, req, sub).await {
        Ok(report) => {
            metrics::counter!("feedloom_websub_pushes_total", "outcome" => "ok").increment(1);
            tracing::info!(source = %req.source, new = report.counts.new, updated = report.counts.updated, "websub: pushed content stored");
            (CallbackAnswer::new(200, ""), Some(report))
        }
        Err(e) => {
            metrics::counter!("feedloom_websub_pushes_total", "outcome" => "error").increment(1);
            tracing::warn!(source = %req.source, error = %e, "websub: pushed content not stored");
            // A 5xx makes the hub deliver it again later.
            (CallbackAnswer::new(500, e.to_string()), None)
        }
    }
}

async fn store_pushed(
    ctx: &RefreshCtx,
    src: &SourceConfig,
    state_of: impl Fn(&SourceConfig) -> SourceState,
    req: &CallbackRequest,
    sub: &HubSubscription,
) -> Result<RefreshReport, refresh::RefreshError> {
    let now = Utc::now();
    let doc = Fetched {
        final_url: sub.topic.clone(),
        moved_permanently_to: None,
        content_type: req.content_type.clone(),
        etag: None,
        last_modified: None,
        cache: Default::default(),
        body: req.body.clone(),
        links: None,
    };
    let store = ctx.store.clone();
    let source_id = src.id.clone();
    let known = move |url: &str| store.knows_url(&source_id, url).unwrap_or(false);
    let mut collected = refresh::collect(&ctx.fetcher, src, &doc, known, now).await?;
    if let Some(rules) = &src.full_text {
        // As a poll does, or the push would put the summaries back over the pages' text. The
        // pushed document is the hub's: its item pages are held to the rules of public links,
        // whatever the source's own URL. Pages left for later are read at the next poll.
        let (fetcher, store, stop) = (&ctx.fetcher, &ctx.store, ctx.stop.clone());
        let articles = &mut collected.articles;
        fulltext::fill(fetcher, store, src, rules, false, articles, stop, now).await;
    }
    // The source's state stays as the last poll left it (its validators are the origin's),
    // read as late as possible: a poll may have ended meanwhile.
    let state = state_of(src);
    let retention = Retention {
        max_items: src.max_items,
        max_age: src.max_age,
        ..Retention::default()
    };
    let result = RefreshResult::stored(&src.id, now, state.clone(), collected.articles, retention);
    let counts = refresh::commit(ctx, result)
        .await?
        .unwrap_or_else(RefreshCounts::default);
    Ok(RefreshReport {
        source: src.id.clone(),
        outcome: Outcome::Stored,
        counts,
        elapsed: Duration::ZERO,
        bytes: req.body.len(),
        state: SourceState {
            items: counts.total.max(state.items),
            ..state
        },
        article_failures: 0,
        hub: None,
    })
}
