//! The read path's handle on the daemon: [`ServeState`], what the listener and the routes work
//! with, made by the wiring (`app`); what the status pages show of the sources; the render
//! worker; the process's metrics recorder.

use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

use super::cache::FeedCache;
use super::pages::SourceRow;
use super::source_page::{self, ItemLink, SourceView};
use super::websub::Hub;
use crate::config::{Config, ConfigError, ReloadSummary};
use crate::model::cluster::ClusterStatus;
use crate::model::SourceBoard;
use crate::store::{Store, StoreError};

/// Re-reads the config and swaps it in (the wiring decides how); `POST /admin/reload` calls it.
pub type Reload = Arc<dyn Fn() -> Result<ReloadSummary, ConfigError> + Send + Sync>;

/// This node's view of its cluster (cluster mode only).
pub type ClusterView = Arc<dyn Fn() -> ClusterStatus + Send + Sync>;

/// What the read path needs, as narrow handles: the live config, the store (read only), the
/// board of source states, the rendered-feed cache, the reload action, and in cluster mode the
/// cluster's status.
pub struct ServeState {
    pub config: Arc<ArcSwap<Config>>,
    pub store: Store,
    pub board: Arc<SourceBoard>,
    pub cache: FeedCache,
    /// Wakes the render worker when channels become stale.
    pub render_wakeup: tokio::sync::Notify,
    pub reload: Reload,
    pub cluster: Option<ClusterView>,
    /// The WebSub subscriber's callback handler (`/websub/callback/…`), set by the wiring once
    /// the daemon serves on one node; unset, callbacks answer 404.
    pub push: OnceLock<crate::model::push::PushHandle>,
    /// The WebSub hub: subscriptions to the public feeds, and their deliveries.
    pub websub: Arc<Hub>,
}

/// How long the render worker lets changes collect before re-rendering.
pub const RENDER_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(250);

/// The process-wide metrics recorder (a process can install only one).
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ])
            .expect("static bucket list is valid")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (embedding); then ours just stays empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

impl ServeState {
    /// Mark channels stale and wake the render worker.
    pub fn invalidate(&self, channels: &[String]) {
        if channels.is_empty() {
            return;
        }
        self.cache.mark_dirty(channels);
        self.render_wakeup.notify_one();
    }

    /// Every configured source's row, from the in-memory states (no store access).
    pub fn source_rows(&self) -> Vec<SourceRow> {
        let cfg = self.config.load();
        cfg.sources
            .values()
            .map(|src| {
                let s = self.board.state(&src.id, src.url.as_str());
                SourceRow {
                    id: src.id.clone(),
                    url: crate::model::redact::url(s.url.as_deref().unwrap_or(src.url.as_str())),
                    status: s.status,
                    // Redacted where it is made (`ingest::refresh::fail`), logs included.
                    last_error: s.last_error,
                    last_poll: s.last_poll,
                    next_poll: s.next_poll,
                    items: s.items,
                    consecutive_failures: s.consecutive_failures,
                    repairs: s.repairs,
                }
            })
            .collect()
    }

    /// What the page of source `id` shows (`None`: no such source). Reads the store: call it
    /// on the blocking pool.
    pub fn source_view(
        &self,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<SourceView>, StoreError> {
        let cfg = self.config.load_full();
        let Some(src) = cfg.sources.get(id) else {
            return Ok(None);
        };
        let Some(mut row) = self.source_rows().into_iter().find(|r| r.id == src.id) else {
            return Ok(None);
        };
        let since = now - chrono::Days::new(source_page::ARRIVAL_DAYS as u64);
        // A bound on the work one page view may do for a very busy source.
        let first_seen = self.store.first_seen_since(id, since, 20_000)?;
        let newest = self.store.newest(id, source_page::NEWEST_ITEMS)?;
        let mut polls = self.store.polls(id)?;
        for p in &mut polls {
            p.error = p.error.as_deref().map(|e| source_page::scrub(e, src));
        }
        row.last_error = row.last_error.map(|e| source_page::scrub(&e, src));
        Ok(Some(SourceView {
            last_success: self.board.get(id).and_then(|s| s.last_success),
            polls,
            arrivals: source_page::arrivals_per_day(&first_seen, now),
            newest: newest
                .into_iter()
                .map(|a| ItemLink {
                    time: a.sort_time(),
                    title: a.title,
                    url: a.url,
                })
                .collect(),
            settings: source_page::settings(src),
            // Private channels are left out, as on `/`.
            channels: cfg
                .channels_of(id)
                .iter()
                .filter_map(|c| cfg.channels.get(c))
                .filter(|c| !c.is_private())
                .map(|c| (c.id.clone(), c.title.clone()))
                .collect(),
            row,
        }))
    }

    /// Mark every configured channel stale (at start, and after a reload).
    pub fn invalidate_all(&self) {
        let all: Vec<String> = self.config.load().channels.keys().cloned().collect();
        self.invalidate(&all);
    }

    /// Bring dirty channels up to date, in batches, at most every [`RENDER_DEBOUNCE`], until
    /// `stop`. Runs on the blocking pool so serving threads never render for it.
    pub async fn render_worker(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut publishing = tokio::task::JoinSet::new();
        loop {
            let stopping = tokio::select! {
                _ = self.render_wakeup.notified() => false,
                _ = stop.wait_for(|s| *s) => true,
            };
            if stopping {
                // Publishing holds the store: let it end (briefly) before the store is flushed
                // and closed.
                let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
                    while publishing.join_next().await.is_some() {}
                })
                .await;
                publishing.abort_all();
                self.websub.shutdown();
                return;
            }
            while publishing.try_join_next().is_some() {}
            // Let a burst of refreshes collect, so each channel renders once for all of them.
            tokio::time::sleep(RENDER_DEBOUNCE).await;
            let dirty = self.cache.take_dirty();
            if dirty.is_empty() {
                continue;
            }
            let st = self.clone();
            let dirty = tokio::task::spawn_blocking(move || {
                let cfg = st.config.load_full();
                st.cache.refresh_channels(&st.store, &cfg, &dirty);
                dirty
            })
            .await;
            // WebSub subscribers of the changed feeds get them, in the background: a slow
            // delivery (or a render of a format only subscribers read) never holds this loop.
            if let Ok(dirty) = dirty {
                let st = self.clone();
                publishing.spawn(async move { st.websub.publish(&st.cache, &dirty).await });
            }
        }
    }
}
