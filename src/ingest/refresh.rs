//! One source refresh, start to end: fetch → decode → parse | extract → normalize → store.
//! It never panics on bad input and never returns early without recording what happened in the
//! source's state.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::config::{PollConfig, SourceConfig, SourceKind};
use crate::ingest::decode::decode;
use crate::ingest::extract::{self, ExtractError};
use crate::ingest::fetch::{
    self, CacheHints, Conditional, FetchError, FetchOutcome, Fetched, Fetcher,
};
use crate::ingest::fulltext;
use crate::ingest::normalize::{self, SourceContext};
use crate::ingest::page;
use crate::ingest::parse::{self, ParseError};
use crate::model::{Article, RefreshResult, Retention, SourceState, SourceStatus};
use crate::store::{RefreshCounts, Store, StoreError};

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{error}{}", content_type.as_ref().map(|c| format!(" (Content-Type: {c})")).unwrap_or_default())]
    Parse {
        error: ParseError,
        content_type: Option<String>,
    },
    #[error("{0}")]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The replicated log did not take the result (cluster mode).
    #[error("cluster: {0}")]
    Publish(String),
    /// A blocking-pool task did not complete (it panicked or the runtime is shutting down).
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// How a refresh ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 304 from the origin.
    NotModified,
    /// Same bytes as last time: nothing parsed.
    SameBody,
    /// Parsed and stored.
    Stored,
    Failed(String),
    Gone,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::NotModified => "not_modified",
            Outcome::SameBody => "unchanged",
            Outcome::Stored => "ok",
            Outcome::Failed(_) => "error",
            Outcome::Gone => "gone",
        }
    }

    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// The result of one refresh, for the scheduler, the CLI and metrics.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    pub source: String,
    pub outcome: Outcome,
    pub counts: RefreshCounts,
    pub elapsed: Duration,
    pub bytes: usize,
    /// The state after this refresh (already persisted when it mattered).
    pub state: SourceState,
    /// Article pages that failed or were put off (an HTML source's, a `full_text` feed's
    /// items'); they are fetched at the next poll.
    pub article_failures: usize,
    /// The WebSub hub the document read names (a 200 of a feed), for the subscriber.
    pub hub: Option<crate::ingest::extract::discover::HubLinks>,
}

impl RefreshReport {
    /// Whether channels that include the source must be re-rendered.
    pub fn changed(&self) -> bool {
        self.counts.changed()
    }
}

/// What a refresh needs: the one HTTP client, the store (to read), where results go, and the
/// polling limits.
#[derive(Clone)]
pub struct RefreshCtx {
    pub fetcher: Fetcher,
    pub store: Store,
    pub sink: Sink,
    pub poll: PollConfig,
    /// Turns true when the daemon shuts down: a refresh then starts no further article pages
    /// of a `full_text` source (`None`: a one-off poll, never stopped).
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
}

/// Hands one result to a replicated log; done when the log has it (not when it is applied).
pub type Publish = Arc<
    dyn Fn(RefreshResult) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync,
>;

/// Where refresh results go.
#[derive(Clone)]
pub enum Sink {
    /// One node: applied to the local store at once.
    Local,
    /// A cluster: published to the replicated log, from which every node (this one too)
    /// applies it in log order.
    Log(Publish),
}

/// A deterministic jitter in [-1, 1) derived from the source id and the time, so that sources
/// sharing an interval drift apart instead of firing together.
fn jitter_unit(seed: &str, now: DateTime<Utc>) -> f64 {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(now.timestamp_micros().to_be_bytes());
    let d = h.finalize();
    let v = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    (v as f64 / u32::MAX as f64) * 2.0 - 1.0
}

/// A stable position in [0, 1) for a source id.
pub fn slot_unit(id: &str) -> f64 {
    let d = Sha256::digest(id.as_bytes());
    u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as f64 / (u32::MAX as f64 + 1.0)
}

/// Where `id`'s slot falls, as a fraction of the interval, counted from `now`: 0 means its slot
/// is now, 0.5 half an interval from now. Slots are fixed on the wall clock (phase
/// `slot_unit(id) × interval` after each multiple of the interval since the epoch), so they do not
/// depend on when the daemon started.
pub fn slot_ahead(id: &str, interval_secs: f64, now: DateTime<Utc>) -> f64 {
    if interval_secs <= 0.0 {
        return 0.0;
    }
    let t = now.timestamp_millis() as f64 / 1000.0;
    let phase = slot_unit(id) * interval_secs;
    (phase - t).rem_euclid(interval_secs) / interval_secs
}

/// How far (seconds) to move the next poll from `now + interval` so that it lands on the
/// source's own slot: the first slot at least 0.9 × interval from now. A source on its slot keeps
/// its interval exactly; one off its slot (after start-up or a failure) is moved there in a
/// single step — at most 10% sooner, or later by less than an interval, once — so polls of
/// thousands of sources stay spread evenly over the interval instead of coming in waves.
fn slot_shift(id: &str, interval_secs: f64, now: DateTime<Utc>) -> f64 {
    if interval_secs <= 0.0 {
        return 0.0;
    }
    let earliest = 0.9 * interval_secs;
    let until_slot = slot_ahead(id, interval_secs, now) * interval_secs;
    // Slots come every interval: the first one at or after `earliest`.
    let k = ((earliest - until_slot) / interval_secs).ceil().max(0.0);
    until_slot + k * interval_secs - interval_secs
}

/// When to poll next after a success: the interval moved by at most ±10% toward the source's
/// slot, never sooner than the
/// origin asked (RSS ttl, Cache-Control max-age, Expires), within the configured bounds.
pub fn next_after_success(
    src: &SourceConfig,
    poll: &PollConfig,
    ttl_minutes: Option<u32>,
    cache: CacheHints,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let base = src.interval.as_secs_f64();
    let mut secs = base + slot_shift(&src.id, base, now);
    if let Some(ttl) = ttl_minutes {
        secs = secs.max(ttl as f64 * 60.0);
    }
    if let Some(ma) = cache.max_age {
        secs = secs.max(ma.as_secs_f64());
    }
    if let Some(exp) = cache.expires {
        secs = secs.max((exp - now).num_milliseconds() as f64 / 1000.0);
    }
    secs = secs
        .max(poll.min_interval.as_secs_f64())
        .min(poll.max_interval.as_secs_f64().max(base));
    now + chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

/// When to poll next after the `failures`-th consecutive failure: interval × 2^(failures-1) with
/// jitter, capped at `max_backoff`, and never sooner than a `Retry-After`.
pub fn next_after_failure(
    src: &SourceConfig,
    poll: &PollConfig,
    failures: u32,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let exp = failures.saturating_sub(1).min(30);
    let mut secs = src.interval.as_secs_f64() * 2f64.powi(exp as i32);
    secs *= 1.0 + 0.1 * jitter_unit(&src.id, now);
    secs = secs.min(poll.max_backoff.as_secs_f64());
    if let Some(ra) = retry_after {
        secs = secs.max(ra.as_secs_f64());
    }
    secs = secs.max(poll.min_interval.as_secs_f64());
    now + chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

fn body_hash(body: &[u8]) -> String {
    crate::model::ids::hex16(&Sha256::digest(body))
}

/// Refresh one source and persist the outcome. `prev` is the state the scheduler holds.
pub async fn refresh(ctx: &RefreshCtx, src: &SourceConfig, prev: SourceState) -> RefreshReport {
    let started = Instant::now();
    let now = Utc::now();
    let mut state = prev;
    if state.discovered && state.discovered_for != src.feed_title {
        // The config now names another announced feed: ask the page again.
        forget_discovered(&mut state);
    }
    let poll_url = state.url.clone().unwrap_or_else(|| src.url.to_string());
    let url_before = state.url.clone();
    let cond = Conditional {
        etag: state.etag.clone(),
        last_modified: state.last_modified.clone(),
    };
    let mut report = RefreshReport {
        source: src.id.clone(),
        outcome: Outcome::Stored,
        counts: RefreshCounts::default(),
        elapsed: Duration::ZERO,
        bytes: 0,
        state: SourceState::default(),
        article_failures: 0,
        hub: None,
    };
    let status_before = state.status;
    let validators_before = (
        state.etag.clone(),
        state.last_modified.clone(),
        state.body_hash.clone(),
    );
    state.last_poll = Some(now);

    // Credentials go to the source's own site only, also after a move or a discovery; a feed
    // that a public page announced stays held to the web's rules.
    let opts = crate::ingest::request::for_link(&src.request, &src.url, &poll_url);
    let operator_url = !state.discovered || state.discovered_local;
    let result = match ctx
        .fetcher
        .fetch(&poll_url, &cond, operator_url, &opts)
        .await
    {
        Err(e) => Err(RefreshError::Fetch(e)),
        Ok(FetchOutcome::NotModified {
            moved_permanently_to,
            cache,
        }) => {
            let moved = note_move(src, &mut state, moved_permanently_to);
            succeed(&mut state, now);
            state.next_poll = Some(next_after_success(src, &ctx.poll, None, cache, now));
            report.outcome = Outcome::NotModified;
            // A 304 costs no parsing and no article writes; the state is written only when
            // something a restart must know changed.
            if moved || status_before != SourceStatus::Ok {
                persist_state(ctx, &src.id, &state, now).await;
            }
            Ok(())
        }
        Ok(FetchOutcome::Fetched(doc)) => match follow_announced_feed(ctx, src, &mut state, doc)
            .await
        {
            Err(e) => Err(e),
            Ok(FetchOutcome::NotModified { .. }) => Err(RefreshError::Fetch(FetchError::Other(
                "the announced feed answered 304 to a request without validators".into(),
            ))),
            Ok(FetchOutcome::Fetched(doc)) => {
                report.bytes = doc.body.len();
                let moved = note_move(src, &mut state, doc.moved_permanently_to.clone());
                let hash = body_hash(&doc.body);
                if state.body_hash.as_deref() == Some(hash.as_str())
                    && state.status == SourceStatus::Ok
                {
                    let validators_changed =
                        state.etag != doc.etag || state.last_modified != doc.last_modified;
                    state.etag = doc.etag.clone();
                    state.last_modified = doc.last_modified.clone();
                    succeed(&mut state, now);
                    state.next_poll =
                        Some(next_after_success(src, &ctx.poll, None, doc.cache, now));
                    report.outcome = Outcome::SameBody;
                    if moved || validators_changed {
                        persist_state(ctx, &src.id, &state, now).await;
                    }
                    Ok(())
                } else {
                    process(ctx, src, doc, hash, &mut state, now, &mut report).await
                }
            }
        },
    };

    if let Err(e) = result {
        // Nothing of the document was stored, so neither are its validators: with them, the
        // next poll would get a 304 and the items would be lost for good.
        (state.etag, state.last_modified, state.body_hash) = if state.url == url_before {
            validators_before
        } else {
            // The polled URL changed in this refresh (a discovery): the old validators are not
            // this URL's.
            (None, None, None)
        };
        fail(ctx, src, &mut state, &e, now, &mut report).await;
    }
    report.elapsed = started.elapsed();
    report.state = state;
    report
}

/// The report of a poll given up before it ended (its permit was lost): nothing stored, the
/// state as it was (the node that polls the source now continues from its own).
pub fn abandoned(source: &str, state: SourceState, why: &str) -> RefreshReport {
    RefreshReport {
        source: source.to_string(),
        outcome: Outcome::Failed(why.to_string()),
        counts: RefreshCounts::default(),
        elapsed: Duration::ZERO,
        bytes: 0,
        state,
        article_failures: 0,
        hub: None,
    }
}

/// Feed autodiscovery: a source (not an HTML source) whose URL answered with a web page that
/// announces feeds is polled as the announced feed (the first, or the one `feed_title` names)
/// from now on, like a permanent move. The feed is fetched at once; a page that announces none
/// is handed on as it is (and fails as "not a feed").
async fn follow_announced_feed(
    ctx: &RefreshCtx,
    src: &SourceConfig,
    state: &mut SourceState,
    doc: Fetched,
) -> Result<FetchOutcome, RefreshError> {
    if src.html.is_some() || src.kind == Some(SourceKind::Html) || !looks_like_html(&doc.body) {
        return Ok(FetchOutcome::Fetched(doc));
    }
    if state.discovered {
        // The feed it found answers with a page now (a removed feed redirected to the home
        // page, say): look for the feed again, on this page and, failing that, on the
        // configured one at the next poll.
        forget_discovered(state);
    }
    let Some(feed) = announced_feed(&doc, src.feed_title.clone()).await else {
        return Ok(FetchOutcome::Fetched(doc));
    };
    tracing::info!(source = %src.id, page = %crate::model::redact::url(&doc.final_url), feed = %crate::model::redact::url(&feed), "the source is a web page announcing a feed; polling the feed from now on");
    let opts = crate::ingest::request::for_link(&src.request, &src.url, &feed);
    let local_page = url::Url::parse(&doc.final_url).is_ok_and(|u| fetch::is_local_url(&u));
    let fetched = if local_page {
        ctx.fetcher.get(&feed, &Conditional::default(), &opts).await
    } else {
        ctx.fetcher.get_linked(&feed, &opts).await
    }
    .map_err(|e| match e {
        // 410 from the announced feed is not the source gone: the page is still there.
        FetchError::Gone => RefreshError::Fetch(FetchError::Status {
            status: 410,
            retry_after: None,
        }),
        e => RefreshError::Fetch(e),
    })?;
    state.url = Some(feed);
    state.discovered = true;
    state.discovered_for = src.feed_title.clone();
    state.discovered_local = local_page;
    (state.etag, state.last_modified, state.body_hash) = (None, None, None);
    Ok(fetched)
}

/// Poll the configured page again at the next poll, without the discovered feed's validators.
fn forget_discovered(state: &mut SourceState) {
    state.url = None;
    state.discovered = false;
    state.discovered_for = None;
    state.discovered_local = false;
    (state.etag, state.last_modified, state.body_hash) = (None, None, None);
}

/// A cheap look at the first bytes, so that feeds (nearly every fetch) are not decoded twice.
fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(1024)]).to_ascii_lowercase();
    // The first markup after a BOM, blank space, an XML declaration and comments: a feed
    // whose first item quotes HTML is not a page.
    let mut rest = head.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    while let Some(skip) = ["<?", "<!--"]
        .iter()
        .find(|p| rest.starts_with(**p))
        .and_then(|p| rest.find(if *p == "<?" { "?>" } else { "-->" }))
    {
        rest = rest[skip..].trim_start_matches(['?', '-', '>', ' ', '\t', '\r', '\n']);
    }
    rest.starts_with("<!doctype html") || rest.starts_with("<html") || rest.starts_with("<head")
}

/// The feed URL a fetched web page announces (off the async workers: it parses the page).
pub async fn announced_feed(doc: &Fetched, wanted: Option<String>) -> Option<String> {
    let (body, content_type, base) = (
        doc.body.clone(),
        doc.content_type.clone(),
        doc.final_url.clone(),
    );
    super::cpu::run(move || {
        let text = decode(&body, content_type.as_deref()).text;
        if parse::looks_like_feed(&text) {
            return None;
        }
        let feeds = extract::discover::announced_feeds(&text, &base);
        extract::discover::choose(&feeds, wanted.as_deref()).map(|f| f.url.clone())
    })
    .await
    .ok()
    .flatten()
}

fn note_move(src: &SourceConfig, state: &mut SourceState, moved: Option<String>) -> bool {
    match moved {
        Some(to) if state.url.as_deref() != Some(to.as_str()) => {
            tracing::info!(source = %src.id, from = ?state.url.as_deref().map(crate::model::redact::url), to = %crate::model::redact::url(&to), "source moved permanently; polling the new URL from now on");
            state.url = Some(to);
            true
        }
        _ => false,
    }
}

fn succeed(state: &mut SourceState, now: DateTime<Utc>) {
    state.status = SourceStatus::Ok;
    state.last_error = None;
    state.consecutive_failures = 0;
    state.last_success = Some(now);
}

/// Hand a refresh result on: the one place where the write path writes. One node applies it to
/// its store and knows the counts at once; a cluster publishes it to its replicated log (and
/// learns the counts when the value is applied, from the log).
pub(crate) async fn commit(
    ctx: &RefreshCtx,
    result: RefreshResult,
) -> Result<Option<RefreshCounts>, RefreshError> {
    match &ctx.sink {
        Sink::Local => {
            let store = ctx.store.clone();
            Ok(Some(
                tokio::task::spawn_blocking(move || store.apply(result)).await??,
            ))
        }
        Sink::Log(publish) => {
            publish(result).await.map_err(RefreshError::Publish)?;
            Ok(None)
        }
    }
}

/// Record a state change that came with no document (a 304, the same body, a failure). A
/// failure to record it is logged: the refresh itself already has its outcome.
async fn persist_state(ctx: &RefreshCtx, id: &str, state: &SourceState, now: DateTime<Utc>) {
    let result = RefreshResult::state_only(id, now, state.clone());
    if let Err(e) = commit(ctx, result).await {
        tracing::error!(error = %e, "cannot persist source state");
    }
}

async fn fail(
    ctx: &RefreshCtx,
    src: &SourceConfig,
    state: &mut SourceState,
    e: &RefreshError,
    now: DateTime<Utc>,
    report: &mut RefreshReport,
) {
    // Errors may quote the URL (with its credentials or key): shown and logged redacted.
    let msg = crate::model::redact::text(&e.to_string());
    state.last_error = Some(msg.clone());
    let vanished = matches!(
        e,
        RefreshError::Fetch(FetchError::Gone | FetchError::Status { status: 404, .. })
    );
    // A feed the configured page announced is no more: ask the page again at the next poll
    // (it may announce another) rather than give the source up.
    let rediscover = state.discovered && vanished;
    if rediscover {
        forget_discovered(state);
    }
    if matches!(e, RefreshError::Fetch(FetchError::Gone)) && !rediscover {
        state.status = SourceStatus::Gone;
        state.next_poll = None;
        report.outcome = Outcome::Gone;
    } else {
        state.status = SourceStatus::Error;
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        let retry_after = match e {
            RefreshError::Fetch(f) => f.retry_after(),
            _ => None,
        };
        state.next_poll = Some(next_after_failure(
            src,
            &ctx.poll,
            state.consecutive_failures,
            retry_after,
            now,
        ));
        report.outcome = Outcome::Failed(msg.clone());
    }
    tracing::warn!(source = %src.id, failures = state.consecutive_failures, error = %msg, next_poll = ?state.next_poll, "refresh failed");
    persist_state(ctx, &src.id, state, now).await;
}

/// Decode and read a fetched document, then store what it holds.
async fn process(
    ctx: &RefreshCtx,
    src: &SourceConfig,
    doc: Fetched,
    hash: String,
    state: &mut SourceState,
    now: DateTime<Utc>,
    report: &mut RefreshReport,
) -> Result<(), RefreshError> {
    let store = ctx.store.clone();
    let source_id = src.id.clone();
    let known = move |url: &str| store.knows_url(&source_id, url).unwrap_or(false);
    let mut collected = collect(&ctx.fetcher, src, &doc, known, now).await?;
    if let Some(rules) = &src.full_text {
        // Before the result is made, so that the pages' text travels in it (to a cluster's
        // log too); a page left for later counts as a failed article page.
        let local = url::Url::parse(&doc.final_url).is_ok_and(|u| fetch::in_local_space(&u));
        let (fetcher, store, stop) = (&ctx.fetcher, &ctx.store, ctx.stop.clone());
        let articles = &mut collected.articles;
        let filled = fulltext::fill(fetcher, store, src, rules, local, articles, stop, now).await;
        collected.article_failures += filled.retry();
    }
    report.article_failures = collected.article_failures;
    if src.kind != Some(SourceKind::Html) && src.html.is_none() {
        report.hub = crate::ingest::extract::discover::hub_links(
            doc.links.as_deref(),
            &doc.body,
            &doc.final_url,
        );
    }

    // Validators are stored only when everything the document points to was stored, so a
    // failed article page is retried instead of hidden behind a 304.
    if collected.article_failures == 0 {
        state.etag = doc.etag.clone();
        state.last_modified = doc.last_modified.clone();
        state.body_hash = Some(hash);
    } else {
        state.etag = None;
        state.last_modified = None;
        state.body_hash = None;
    }
    state.repairs = collected.repairs;
    succeed(state, now);
    state.next_poll = Some(next_after_success(
        src,
        &ctx.poll,
        collected.ttl_minutes,
        doc.cache,
        now,
    ));

    let retention = Retention {
        max_items: src.max_items,
        max_age: src.max_age,
        ..Retention::default()
    };
    let result = RefreshResult::stored(&src.id, now, state.clone(), collected.articles, retention);
    if let Some(counts) = commit(ctx, result).await? {
        state.items = counts.total;
        report.counts = counts;
    }
    report.outcome = Outcome::Stored;
    Ok(())
}

/// What a document yielded, before storing.
pub struct Collected {
    pub articles: Vec<Article>,
    pub ttl_minutes: Option<u32>,
    pub repairs: Vec<String>,
    pub article_failures: usize,
}

/// What the first, CPU-bound read of a fetched document found.
enum Document {
    /// Items ready to store (a feed, or an HTML page that is itself the article).
    Items(Collected),
    /// An HTML list page: the article links on it.
    Links(Vec<String>),
}

/// Decode and read a document: parse a feed, or find the links on a list page, or extract the
/// page as one article. Pure CPU work; run it on the blocking pool.
fn read_document(
    src: &SourceConfig,
    body: &[u8],
    content_type: Option<&str>,
    final_url: &str,
    now: DateTime<Utc>,
) -> Result<Document, RefreshError> {
    let text = decode(body, content_type).text;
    let kind = match src.kind {
        Some(k) => k,
        None if parse::looks_like_feed(&text) || src.html.is_none() => SourceKind::Feed,
        None => SourceKind::Html,
    };
    let sctx = SourceContext {
        source_id: &src.id,
        timezone: src.timezone,
        base_url: final_url,
    };
    match (kind, &src.html) {
        (SourceKind::Feed, _) => {
            let parsed =
                parse::parse_feed(&text, Some(final_url)).map_err(|error| RefreshError::Parse {
                    error,
                    content_type: content_type.map(str::to_string),
                })?;
            if !parsed.repairs.is_empty() {
                tracing::info!(source = %src.id, repairs = ?parsed.repairs, "feed needed repair");
            }
            let articles = parsed
                .entries
                .into_iter()
                .filter_map(|e| normalize::normalize(e, &sctx, now))
                .collect();
            Ok(Document::Items(Collected {
                articles,
                ttl_minutes: parsed.ttl_minutes,
                repairs: parsed.repairs,
                article_failures: 0,
            }))
        }
        (SourceKind::Html, None) => {
            // Without an [html] table the page itself is the article.
            let entry = extract::extract_article(&text, final_url, &Default::default())?;
            Ok(Document::Items(Collected {
                articles: normalize::normalize(entry, &sctx, now)
                    .into_iter()
                    .collect(),
                ttl_minutes: None,
                repairs: vec![],
                article_failures: 0,
            }))
        }
        (SourceKind::Html, Some(html)) => Ok(Document::Links(extract::extract_links(
            &text,
            final_url,
            &html.items,
            html.max_items,
        )?)),
    }
}

/// Turn a fetched document into normalized articles. For an HTML source this fetches the
/// article pages that `known` does not recognise. Parsing, extraction and sanitizing run on the
/// blocking pool so that polling never stalls the threads that serve feeds.
pub async fn collect(
    fetcher: &Fetcher,
    src: &SourceConfig,
    doc: &Fetched,
    known: impl Fn(&str) -> bool,
    now: DateTime<Utc>,
) -> Result<Collected, RefreshError> {
    let read = {
        let src = src.clone();
        let body = doc.body.clone();
        let ct = doc.content_type.clone();
        let url = doc.final_url.clone();
        super::cpu::run(move || read_document(&src, &body, ct.as_deref(), &url, now)).await??
    };
    let links = match read {
        Document::Items(c) => return Ok(c),
        Document::Links(links) => links,
    };
    let html = src.html.as_ref().expect("links come from an html source");
    let from_local_page =
        url::Url::parse(&doc.final_url).is_ok_and(|u| crate::ingest::fetch::in_local_space(&u));
    let todo: Vec<String> = links
        .into_iter()
        .filter(|l| !known(&normalize::canonical_url(l)))
        .collect();
    let results: Vec<(String, Result<Option<Article>, String>)> = futures_util::stream::iter(todo)
        .map(|link| {
            let fetcher = fetcher.clone();
            let rules = html.rules.clone();
            let src = src.clone();
            async move {
                let r = page::fetch_article(&fetcher, &src, &link, from_local_page, rules, now)
                    .await
                    .map_err(|e| e.to_string());
                (link, r)
            }
        })
        .buffered(4)
        .collect()
        .await;
    let mut articles = Vec::new();
    let mut failures = 0;
    for (link, r) in results {
        match r {
            Ok(a) => articles.extend(a),
            Err(e) => {
                failures += 1;
                tracing::warn!(source = %src.id, article = %link, error = %e, "article page failed; it is retried at the next poll");
            }
        }
    }
    Ok(Collected {
        articles,
        ttl_minutes: None,
        repairs: vec![],
        article_failures: failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_told_from_a_feed_that_quotes_html() {
        assert!(looks_like_html(b"\xef\xbb\xbf\n<!DOCTYPE html><html>"));
        assert!(looks_like_html(
            b"<?xml version='1.0'?>\n<!-- x -->\n<html lang='en'>"
        ));
        assert!(!looks_like_html(
            b"<?xml version='1.0'?><rss><channel><item><description><![CDATA[<html>"
        ));
        assert!(!looks_like_html(
            b"{\"version\": \"https://jsonfeed.org/version/1.1\"}"
        ));
    }

    #[test]
    fn polls_land_on_their_slots_in_one_step() {
        let interval = 600.0;
        let start = Utc::now();
        // 200 sources polled at the same moment (a start-up burst).
        let mut times: Vec<DateTime<Utc>> = vec![start; 200];
        for cycle in 0..3 {
            for (i, t) in times.iter_mut().enumerate() {
                let shift = slot_shift(&format!("s{i}"), interval, *t);
                // Never more than 10% sooner; later by less than one interval.
                assert!((-60.0 - 1e-6..540.0 + 1e-6).contains(&shift), "{shift}");
                if cycle > 0 {
                    // Once on its slot, a source keeps its interval (to the millisecond).
                    assert!(shift.abs() < 0.01, "cycle {cycle}: shift {shift}");
                }
                *t += chrono::Duration::milliseconds(((interval + shift) * 1000.0) as i64);
            }
        }
        // The 200 sources now occupy the whole interval, each at its own slot.
        let mut phases: Vec<f64> = times
            .iter()
            .map(|t| (t.timestamp_millis() as f64 / 1000.0).rem_euclid(interval))
            .collect();
        for (i, p) in phases.iter().enumerate() {
            let want = slot_unit(&format!("s{i}")) * interval;
            let off = (p - want).abs();
            assert!(off < 0.01 || (interval - off) < 0.01, "{p} vs slot {want}");
        }
        phases.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let widest_gap = phases.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        assert!(
            widest_gap < 60.0,
            "widest gap {widest_gap}s of a 600s interval"
        );
    }
}
