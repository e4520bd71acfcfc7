//! The write path's handle on the daemon: [`Ingest`], what the scheduler and the background
//! upkeep work with, made by the wiring (`app`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::fetch::Fetcher;
use super::refresh::{Outcome, RefreshCtx, RefreshReport, Sink};
use crate::config::{Config, SourceConfig};
use crate::model::board::{PollOutcome, PollRecord};
use crate::model::Retention;
use crate::model::{SourceBoard, SourceState};
use crate::store::Store;

/// Told which channels a refresh changed; the wiring points it at the read path's cache.
pub type ChannelsChanged = Arc<dyn Fn(&[String]) + Send + Sync>;

/// Held while a source is polled; dropping it says the poll is over.
pub type PollPermit = Box<dyn Permit>;

/// A permit to poll one source, held while the poll runs.
pub trait Permit: Send {
    /// Whether the permit can be lost while a poll runs (so the poll must watch it).
    fn can_be_lost(&self) -> bool {
        false
    }

    /// True once the permit no longer covers a request in flight (a cluster node whose lease
    /// ran out, unrenewed: another node may poll the source now). One node's never is.
    fn lost(&self) -> bool {
        false
    }
}

impl Permit for () {}

/// Whether this process may poll a source now: a permit held while it does, or how soon to ask
/// again. One node may always; a cluster node only while it holds the lease of the source's
/// partition.
pub type Ownership = Arc<dyn Fn(&str) -> Result<PollPermit, Duration> + Send + Sync>;

/// The ownership of a process that is alone: every source, always.
pub fn own_everything() -> Ownership {
    Arc::new(|_| Ok(Box::new(())))
}

/// How long a pushed document waits for a poll of its source to end.
const PUSH_WAIT: Duration = Duration::from_secs(10);

/// What the write path needs, as narrow handles: the live config, the store, the one HTTP
/// client, the board of source states, where results go, which sources this process may poll,
/// and whom to tell about changed channels.
pub struct Ingest {
    pub config: Arc<ArcSwap<Config>>,
    pub store: Store,
    pub fetcher: Fetcher,
    pub board: Arc<SourceBoard>,
    pub sink: Sink,
    pub ownership: Ownership,
    pub changed: ChannelsChanged,
    /// Cluster mode: a source found overdue by more than this when this node gets its permit
    /// was most likely taken over from a node that died, whose last polls (304s publish
    /// nothing) this node cannot know; it is polled at its next slot instead of at once, so
    /// the origin never sees it sooner than an interval after the dead node's last poll.
    pub takeover_slack: Option<Duration>,
    /// The WebSub subscriber, once the daemon serves (it needs the callback's public URL);
    /// never set for one-off commands or in cluster mode.
    pub websub: std::sync::OnceLock<Arc<crate::ingest::websub::Subscriber>>,
    /// Sources being refreshed right now, by a poll or a push.
    pub refreshing: Refreshing,
}

/// The sources a poll or a push is refreshing right now. A refresh starts from the source's
/// state (validators, backoff) and ends by writing a new one: two at once would each start
/// from the same state, and the later to finish would write its view over the other's (an old
/// ETag after a newer one: an extra full fetch). So a refresh holds its source's [`Claim`]
/// from before it reads the state until its state is on the board.
#[derive(Debug, Default, Clone)]
pub struct Refreshing(Arc<std::sync::Mutex<RefreshingSets>>);

#[derive(Debug, Default)]
struct RefreshingSets {
    busy: std::collections::HashSet<String>,
    /// Pushes waiting for a source, by source: polls let them go first (a source polled
    /// back to back would otherwise never be free when a waiting push looks).
    waiting: HashMap<String, usize>,
}

/// A source's turn to be refreshed; the next refresh may start once it is dropped.
#[derive(Debug)]
pub struct Claim {
    set: Refreshing,
    source: String,
}

impl Refreshing {
    /// The source's turn, unless another refresh of it holds it or a push waits for it.
    pub fn claim(&self, source: &str) -> Option<Claim> {
        let mut sets = self.0.lock().expect("refreshing lock");
        if sets.waiting.contains_key(source) {
            return None;
        }
        self.take(&mut sets, source)
    }

    /// The source's turn, waiting (up to `within`) for a refresh of it to end; no poll of it
    /// starts meanwhile.
    pub async fn claim_within(&self, source: &str, within: Duration) -> Option<Claim> {
        let deadline = tokio::time::Instant::now() + within;
        let waiting = |sets: &mut RefreshingSets, by: isize| {
            let n = sets.waiting.entry(source.to_string()).or_default();
            *n = n.saturating_add_signed(by);
            if *n == 0 {
                sets.waiting.remove(source);
            }
        };
        waiting(&mut self.0.lock().expect("refreshing lock"), 1);
        loop {
            {
                let mut sets = self.0.lock().expect("refreshing lock");
                let claim = self.take(&mut sets, source);
                if claim.is_some() || tokio::time::Instant::now() >= deadline {
                    waiting(&mut sets, -1);
                    return claim;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Mark the source busy and hand out its claim, unless it is busy already.
    fn take(&self, sets: &mut RefreshingSets, source: &str) -> Option<Claim> {
        sets.busy.insert(source.to_string()).then(|| Claim {
            set: self.clone(),
            source: source.to_string(),
        })
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .expect("refreshing lock")
            .busy
            .remove(&self.source);
    }
}

impl Ingest {
    pub fn refresh_ctx(&self) -> RefreshCtx {
        RefreshCtx {
            fetcher: self.fetcher.clone(),
            store: self.store.clone(),
            sink: self.sink.clone(),
            poll: self.config.load().poll.clone(),
            stop: None,
        }
    }

    /// After a poll: the WebSub subscriber subscribes to the hub the feed names, or renews.
    fn websub_after_poll(&self, source: &str, hub: Option<&crate::ingest::websub::HubLinks>) {
        let Some(sub) = self.websub.get() else {
            return;
        };
        if let Some(src) = self.config.load().sources.get(source) {
            crate::ingest::websub::after_poll(sub, &self.store, &self.fetcher, src, hub);
        }
    }

    /// A hub's request to a source's callback (see `ingest::websub`); pushed content stored
    /// is finished like a refresh (board, metrics, channels marked stale).
    pub async fn websub_callback(
        &self,
        req: crate::model::push::CallbackRequest,
    ) -> crate::model::push::CallbackAnswer {
        if self.websub.get().is_none() {
            return crate::model::push::CallbackAnswer::new(404, "no such subscription");
        }
        // A push is a refresh: it waits for a poll of the source to end (briefly: a hub
        // retries a delivery answered 503), and no poll starts while it runs.
        let _claim = if req.post {
            match self.refreshing.claim_within(&req.source, PUSH_WAIT).await {
                Some(c) => Some(c),
                None => {
                    return crate::model::push::CallbackAnswer::new(
                        503,
                        "the source is being refreshed; deliver again later",
                    )
                }
            }
        } else {
            None
        };
        let config = self.config.load_full();
        let (answer, report) = crate::ingest::websub::callback(
            &self.refresh_ctx(),
            &config,
            |src| self.source_state(src),
            req,
        )
        .await;
        if let Some(report) = report {
            self.finish_refresh(report);
        }
        answer
    }

    /// The state a refresh of `src` starts from.
    pub fn source_state(&self, src: &SourceConfig) -> SourceState {
        self.board.state(&src.id, src.url.as_str())
    }

    /// Record a finished refresh: state, metrics, log, and tell which channels it changed
    /// (nothing waits for a render here).
    pub fn finish_refresh(&self, report: RefreshReport) {
        metrics::counter!("feedloom_polls_total", "outcome" => report.outcome.label()).increment(1);
        metrics::histogram!("feedloom_fetch_seconds").record(report.elapsed.as_secs_f64());
        metrics::counter!("feedloom_fetched_bytes_total").increment(report.bytes as u64);
        metrics::counter!("feedloom_items_stored_total")
            .increment((report.counts.new + report.counts.updated) as u64);
        let src_label = [("source", report.source.clone())];
        metrics::gauge!("feedloom_source_consecutive_failures", &src_label)
            .set(report.state.consecutive_failures as f64);
        if let Some(t) = report.state.last_success {
            metrics::gauge!("feedloom_source_last_success_timestamp_seconds", &src_label)
                .set(t.timestamp() as f64);
        }
        tracing::debug!(source = %report.source, outcome = report.outcome.label(), new = report.counts.new,
            updated = report.counts.updated, unchanged = report.counts.unchanged, ms = report.elapsed.as_millis() as u64, "refreshed");
        let changed = report.changed();
        self.websub_after_poll(&report.source, report.hub.as_ref());
        // The history is a picture for the source page: a store that cannot take it (disk
        // full) costs the picture, never the poll.
        if let Err(e) = self
            .store
            .record_poll(&report.source, &poll_record(&report))
        {
            tracing::debug!(source = %report.source, error = %e, "poll history not recorded");
        }
        self.board.set(&report.source, report.state);
        if changed {
            let channels = self.config.load().channels_of(&report.source);
            (self.changed)(&channels);
        }
    }

    /// Background upkeep, in bounded steps so it never holds the store for long: `max_age`
    /// retention for every source and expiry of old tombstones.
    pub fn maintain(&self) {
        let cfg = self.config.load_full();
        let now = chrono::Utc::now();
        let mut pruned_sources = Vec::new();
        // In a cluster, age retention runs inside each applied value (with the value's clock),
        // never by each node's own clock: stores applying the same log must stay the same.
        let replicated = matches!(self.sink, Sink::Log(_));
        for src in cfg.sources.values() {
            if src.max_age.is_none() || replicated {
                continue;
            }
            let retention = Retention {
                max_items: src.max_items,
                max_age: src.max_age,
                ..Default::default()
            };
            match self.store.prune(&src.id, retention, now) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(source = %src.id, pruned = n, "retention: pruned old articles");
                    let items = self.store.count(&src.id);
                    self.board.update(&src.id, |st| st.items = items);
                    pruned_sources.push(src.id.clone());
                }
                Err(e) => tracing::error!(source = %src.id, error = %e, "retention sweep failed"),
            }
        }
        // The tombstone sweep also goes by the local clock: in a cluster, expired tombstones
        // stay (they no longer count when applying; they only take space).
        if !replicated {
            loop {
                match self.store.expire_tombstones(now, 1000) {
                    Ok(1000) => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "tombstone sweep failed");
                        break;
                    }
                }
            }
        }
        let channels: std::collections::BTreeSet<String> = pruned_sources
            .iter()
            .flat_map(|s| cfg.channels_of(s))
            .collect();
        if !channels.is_empty() {
            let channels: Vec<String> = channels.into_iter().collect();
            (self.changed)(&channels);
        }
    }
}

/// What the source page keeps of a finished refresh.
fn poll_record(report: &RefreshReport) -> PollRecord {
    let (outcome, error) = match &report.outcome {
        Outcome::Stored => (PollOutcome::Stored, None),
        Outcome::NotModified => (PollOutcome::NotModified, None),
        Outcome::SameBody => (PollOutcome::Unchanged, None),
        // Both texts were redacted where they were made (`refresh::fail`).
        Outcome::Failed(why) => (PollOutcome::Failed, Some(why.clone())),
        Outcome::Gone => (PollOutcome::Gone, report.state.last_error.clone()),
    };
    PollRecord {
        at: chrono::Utc::now(),
        outcome,
        duration: report.elapsed,
        bytes: report.bytes as u64,
        new: report.counts.new,
        updated: report.counts.updated,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_refresh_of_a_source_at_a_time_and_a_waiting_push_goes_first() {
        let r = Refreshing::default();
        let poll = r.claim("a").expect("free");
        assert!(r.claim("a").is_none(), "held");
        assert!(r.claim("b").is_some(), "another source is free");
        let r2 = r.clone();
        let push =
            tokio::spawn(
                async move { r2.claim_within("a", Duration::from_secs(5)).await.is_some() },
            );
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(poll);
        // A poll looking now finds the source promised to the waiting push.
        assert!(r.claim("a").is_none());
        assert!(push.await.unwrap(), "the push got its turn");
        assert!(r.claim("a").is_some(), "and gave it back");
        let held = r.claim("c").unwrap();
        assert!(r
            .claim_within("c", Duration::from_millis(100))
            .await
            .is_none());
        drop(held);
        assert!(r.claim("c").is_some(), "a push that gave up waits no more");
    }
}
