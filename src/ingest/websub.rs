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

use crate::config::SourceConfig;
use crate::ingest::fetch::Fetched;
use crate::ingest::refresh::{self, Outcome, RefreshReport};
use crate::ingest::state::Ingest;
use crate::model::push::{CallbackAnswer, CallbackRequest};
use crate::model::{netspace, redact, signature, RefreshResult, Retention};
use crate::store::{HubSubscription, RefreshCounts};

/// The hub a feed names and the topic (its self URL, else the URL it was fetched from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubLinks {
    pub hub: String,
    pub topic: String,
}

/// The lease asked for (the hub decides).
const LEASE: Duration = Duration::from_secs(10 * 24 * 3600);
/// A subscription the hub never verified is asked for again after this long.
const RETRY_UNVERIFIED: chrono::Duration = chrono::Duration::hours(1);
/// How much of a document is looked at for its hub links (they come before the items).
const HEAD_BYTES: usize = 64 * 1024;

/// The subscriber's part of the daemon: where callbacks are (the public base URL) and which
/// sources have a subscription request on its way.
pub struct Subscriber {
    pub base_url: String,
    in_flight: Mutex<HashSet<String>>,
}

impl Subscriber {
    pub fn new(base_url: &str) -> Subscriber {
        Subscriber {
            base_url: base_url.trim_end_matches('/').to_string(),
            in_flight: Mutex::new(HashSet::new()),
        }
    }
}

/// The hub and self links of a fetched feed: from its `Link` header first, then from the
/// document's `<link>`/`<atom:link>` elements. Pure.
pub fn hub_links(link_header: Option<&str>, body: &[u8], fetched_url: &str) -> Option<HubLinks> {
    let mut hub = None;
    let mut topic = None;
    if let Some(h) = link_header {
        for part in h.split(',') {
            let Some((url, params)) = part.trim().split_once('>') else {
                continue;
            };
            let url = url.trim().trim_start_matches('<').trim();
            for rel in rels(params) {
                match rel.as_str() {
                    "hub" if hub.is_none() => hub = Some(url.to_string()),
                    "self" if topic.is_none() => topic = Some(url.to_string()),
                    _ => {}
                }
            }
        }
    }
    if hub.is_none() || topic.is_none() {
        let head = String::from_utf8_lossy(&body[..body.len().min(HEAD_BYTES)]);
        let link = regex_link();
        for m in link.find_iter(&head) {
            let tag = m.as_str();
            let (Some(rel), Some(href)) = (attr(tag, "rel"), attr(tag, "href")) else {
                continue;
            };
            let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
            if rels.contains(&"hub") && hub.is_none() {
                hub = Some(href.clone());
            }
            if rels.contains(&"self") && topic.is_none() {
                topic = Some(href);
            }
        }
    }
    let base = url::Url::parse(fetched_url).ok();
    let absolute = |u: String| -> Option<String> {
        match &base {
            Some(b) => b.join(&u).ok().map(|u| u.to_string()),
            None => url::Url::parse(&u).ok().map(|u| u.to_string()),
        }
    };
    let hub = absolute(hub?)?;
    let topic = topic
        .and_then(absolute)
        .unwrap_or_else(|| fetched_url.to_string());
    Some(HubLinks { hub, topic })
}

/// The relation types of one `Link` header entry's parameters.
fn rels(params: &str) -> Vec<String> {
    params
        .split(';')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("rel")
                .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
        })
        .flat_map(|v| {
            v.split_ascii_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn regex_link() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"(?i)<(?:atom:)?link\b[^>]*>").expect("valid regex"))
}

/// An attribute's value in one start tag (`"…"` or `'…'`), entities `&amp;` decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let re = regex::Regex::new(&format!(r#"(?i)\s{name}\s*=\s*(?:"([^"]*)"|'([^']*)')"#)).ok()?;
    let c = re.captures(tag)?;
    let v = c.get(1).or_else(|| c.get(2))?.as_str();
    Some(v.replace("&amp;", "&"))
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

impl Ingest {
    /// After a poll of `source`: subscribe to the hub its feed names (`hub`: from a document
    /// just read), or renew a lease about to end. The request goes out in the background.
    pub fn websub_after_poll(&self, source: &str, hub: Option<&HubLinks>) {
        let Some(sub) = self.websub.get() else {
            return;
        };
        let cfg = self.config.load();
        let Some(src) = cfg.sources.get(source) else {
            return;
        };
        let now = Utc::now();
        let current = match self.store.hub_subscription(source) {
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
                lease_until: None,
            }),
            (None, Some(c)) => due(&c, src.interval, now).then_some(c),
            (None, None) => None,
        };
        let Some(mut want) = want.take() else {
            return;
        };
        // A public source's hub link is held to the rule of the links a public page gives.
        let operator = url::Url::parse(src.url.as_str()).is_ok_and(|u| netspace::is_local_url(&u));
        let Ok(hub_url) = url::Url::parse(&want.hub) else {
            return;
        };
        if !operator && netspace::is_local_url(&hub_url) {
            tracing::warn!(source, hub = %redact::url(&want.hub), "websub: a public feed's hub in local space is not subscribed to");
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
        if let Err(e) = self.store.put_hub_subscription(source, &want) {
            tracing::warn!(source, error = %e, "websub: cannot store the subscription");
            sub.in_flight.lock().expect("in-flight lock").remove(source);
            return;
        }
        let callback = format!("{}/websub/callback/{}/{}", sub.base_url, source, want.token);
        let client = self.fetcher.http_client(operator).clone();
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
    pub async fn websub_callback(&self, req: CallbackRequest) -> CallbackAnswer {
        let not_ours = || CallbackAnswer::new(404, "no such subscription");
        let sub = match self.store.hub_subscription(&req.source) {
            Ok(Some(s)) => s,
            Ok(None) => return not_ours(),
            Err(e) => return CallbackAnswer::new(503, e.to_string()),
        };
        if self.websub.get().is_none()
            || !signature::constant_time_eq(sub.token.as_bytes(), req.token.as_bytes())
        {
            return not_ours();
        }
        if req.post {
            return self.pushed(&req, &sub).await;
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
                if let Err(e) = self.store.put_hub_subscription(&req.source, &verified) {
                    return CallbackAnswer::new(503, e.to_string());
                }
                tracing::info!(source = %req.source, lease_seconds = ?lease, "websub: subscription verified");
                CallbackAnswer::new(200, q("hub.challenge"))
            }
            "denied" if q("hub.topic") == sub.topic => {
                tracing::warn!(source = %req.source, reason = q("hub.reason"), "websub: the hub denied the subscription");
                let denied = HubSubscription {
                    verified: false,
                    ..sub
                };
                let _ = self.store.put_hub_subscription(&req.source, &denied);
                CallbackAnswer::new(200, "")
            }
            // Not a subscription this node asked for (this subscriber never unsubscribes: an
            // unwanted lease just runs out).
            _ => not_ours(),
        }
    }

    /// Content a hub pushed: checked against the secret, then read like a polled document.
    async fn pushed(&self, req: &CallbackRequest, sub: &HubSubscription) -> CallbackAnswer {
        let signed = req
            .signature
            .as_deref()
            .is_some_and(|s| signature::verify(sub.secret.as_bytes(), &req.body, s));
        if !signed {
            tracing::warn!(source = %req.source, "websub: pushed content without a valid signature ignored");
            metrics::counter!("feedloom_websub_pushes_total", "outcome" => "bad_signature")
                .increment(1);
            return CallbackAnswer::new(202, "");
        }
        let cfg = self.config.load_full();
        let Some(src) = cfg.sources.get(&req.source) else {
            return CallbackAnswer::new(410, "no such source");
        };
        match self.store_pushed(src, req, sub).await {
            Ok(report) => {
                metrics::counter!("feedloom_websub_pushes_total", "outcome" => "ok").increment(1);
                tracing::info!(source = %req.source, new = report.counts.new, updated = report.counts.updated, "websub: pushed content stored");
                self.finish_refresh(report);
                CallbackAnswer::new(200, "")
            }
            Err(e) => {
                metrics::counter!("feedloom_websub_pushes_total", "outcome" => "error")
                    .increment(1);
                tracing::warn!(source = %req.source, error = %e, "websub: pushed content not stored");
                // A 5xx makes the hub deliver it again later.
                CallbackAnswer::new(500, e.to_string())
            }
        }
    }

    async fn store_pushed(
        &self,
        src: &SourceConfig,
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
        let store = self.store.clone();
        let source_id = src.id.clone();
        let known = move |url: &str| store.knows_url(&source_id, url).unwrap_or(false);
        let collected = refresh::collect(&self.fetcher, src, &doc, known, now).await?;
        // The source's state stays as the last poll left it: its validators are the origin's.
        let state = self.source_state(src);
        let retention = Retention {
            max_items: src.max_items,
            max_age: src.max_age,
            ..Retention::default()
        };
        let result =
            RefreshResult::stored(&src.id, now, state.clone(), collected.articles, retention);
        let counts = refresh::commit(&self.refresh_ctx(), result)
            .await?
            .unwrap_or_else(RefreshCounts::default);
        Ok(RefreshReport {
            source: src.id.clone(),
            outcome: Outcome::Stored,
            counts,
            elapsed: Duration::ZERO,
            bytes: req.body.len(),
            state: crate::model::SourceState {
                items: counts.total.max(state.items),
                ..state
            },
            article_failures: 0,
            hub: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hub_and_self_in_headers_and_documents() {
        let h = hub_links(
            Some(r#"<https://hub.example/>; rel="hub", </feed.xml>; rel="self""#),
            b"",
            "https://site.example/x",
        );
        assert_eq!(
            h,
            Some(HubLinks {
                hub: "https://hub.example/".into(),
                topic: "https://site.example/feed.xml".into()
            })
        );
        let doc =
            br#"<rss><channel><atom:link rel="self" href="https://site.example/rss?a=1&amp;b=2"/>
            <atom:link href='https://hub.example/h' rel='hub'/></channel></rss>"#;
        let h = hub_links(None, doc, "https://site.example/x").unwrap();
        assert_eq!(h.hub, "https://hub.example/h");
        assert_eq!(h.topic, "https://site.example/rss?a=1&b=2");
        // No self link: the fetched URL is the topic.
        let h = hub_links(
            None,
            br#"<feed><link rel="hub" href="/hub"/></feed>"#,
            "https://s.example/f",
        )
        .unwrap();
        assert_eq!(h.topic, "https://s.example/f");
        assert_eq!(h.hub, "https://s.example/hub");
        assert_eq!(
            hub_links(
                None,
                b"<rss><channel></channel></rss>",
                "https://s.example/"
            ),
            None
        );
    }
}
