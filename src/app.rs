//! Wiring: `App::build(config)` opens the store, binds the listener (port 0 works, for tests) and
//! loads source states; `run_until_stopped(shutdown)` runs the scheduler and the HTTP server until
//! the shutdown future resolves, then stops in order: no new polls, in-flight refreshes finish,
//! the server closes, sled is flushed.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use arc_swap::ArcSwap;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

use crate::cache::FeedCache;
use crate::config::{Config, SourceConfig};
use crate::fetch::{FetchConfig, Fetcher};
use crate::model::SourceState;
use crate::refresh::{self, RefreshCtx, RefreshReport};
use crate::store::Store;

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

/// Everything the scheduler and the server share.
pub struct AppState {
    pub config: ArcSwap<Config>,
    pub store: Store,
    pub fetcher: Fetcher,
    /// The latest state of every source, as `/api/sources` shows it.
    pub sources: Mutex<HashMap<String, SourceState>>,
    pub cache: FeedCache,
    /// Wakes the render worker when channels become stale.
    pub render_wakeup: tokio::sync::Notify,
    /// The address the server is bound to, once it is (a derived base URL uses it).
    pub bound: Mutex<Option<SocketAddr>>,
}

/// Without a configured `base_url`, self links use the address actually bound (a `listen` with
/// port 0 gets its real port).
pub fn with_bound_base_url(config: &mut Config, addr: SocketAddr) {
    if config.server.base_url_derived {
        config.server.base_url = format!("http://{addr}");
    }
}

/// The fetcher's limits and identity from the config.
pub fn fetch_config(config: &Config) -> FetchConfig {
    FetchConfig {
        connect_timeout: config.poll.connect_timeout,
        timeout: config.poll.timeout,
        max_body: config.poll.max_body,
        min_rate: config.poll.min_rate,
        concurrency: config.poll.concurrency,
        per_host: config.poll.per_host,
        user_agent: format!(
            "feedloom/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            config.server.base_url
        ),
        ..FetchConfig::default()
    }
}

impl AppState {
    /// Open the store and load what it remembers about each source.
    pub fn open(config: Config) -> anyhow::Result<Arc<AppState>> {
        let store = Store::open(&config.store.path)
            .with_context(|| format!("cannot open the store at {}", config.store.path.display()))?;
        let fetcher = Fetcher::new(fetch_config(&config))?;
        let mut sources = HashMap::new();
        for (id, st) in store.source_states()? {
            sources.insert(id, st);
        }
        Ok(Arc::new(AppState {
            config: ArcSwap::from_pointee(config),
            store,
            fetcher,
            sources: Mutex::new(sources),
            cache: FeedCache::default(),
            render_wakeup: tokio::sync::Notify::new(),
            bound: Mutex::new(None),
        }))
    }

    pub fn refresh_ctx(&self) -> RefreshCtx {
        RefreshCtx {
            fetcher: self.fetcher.clone(),
            store: self.store.clone(),
            poll: self.config.load().poll.clone(),
        }
    }

    /// The state a refresh of `src` starts from.
    pub fn source_state(&self, src: &SourceConfig) -> SourceState {
        let stored = self
            .sources
            .lock()
            .expect("sources lock")
            .get(&src.id)
            .cloned();
        refresh::starting_state(src, stored)
    }

    /// Record a finished refresh: state, metrics, log, and mark the channels it changed as
    /// stale (the render worker and readers pick that up; nothing waits for a render here).
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
        let source = report.source.clone();
        self.sources
            .lock()
            .expect("sources lock")
            .insert(report.source, report.state);
        if changed {
            let channels = self.config.load().channels_of(&source);
            self.invalidate(&channels);
        }
    }

    /// Mark channels stale and wake the render worker.
    pub fn invalidate(&self, channels: &[String]) {
        if channels.is_empty() {
            return;
        }
        self.cache.mark_dirty(channels);
        self.render_wakeup.notify_one();
    }

    /// Mark every configured channel stale (at start, and after a reload).
    pub fn invalidate_all(&self) {
        let all: Vec<String> = self.config.load().channels.keys().cloned().collect();
        self.invalidate(&all);
    }

    /// Bring dirty channels up to date, in batches, at most every [`RENDER_DEBOUNCE`], until
    /// `stop`. Runs on the blocking pool so serving threads never render for it.
    async fn render_worker(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = self.render_wakeup.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            // Let a burst of refreshes collect, so each channel renders once for all of them.
            tokio::time::sleep(RENDER_DEBOUNCE).await;
            let dirty = self.cache.take_dirty();
            if dirty.is_empty() {
                continue;
            }
            let st = self.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let cfg = st.config.load_full();
                st.cache.refresh_channels(&st.store, &cfg, &dirty);
            })
            .await;
        }
    }
}

/// How long the render worker lets changes collect before re-rendering.
pub const RENDER_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(250);

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl AppState {
    /// Re-read the config file. An invalid config is refused and the running one kept; a valid
    /// one is swapped in: the scheduler starts added sources and drops removed ones (their data
    /// stays until retention removes it), changed sources take effect at their next poll, and
    /// every channel is re-rendered. `[server]` and `[store]` changes need a restart.
    pub async fn reload(self: &Arc<Self>) -> Result<ReloadSummary, crate::config::ConfigError> {
        let old = self.config.load_full();
        let mut new = Config::load(&old.path)?;
        if let Some(addr) = *self.bound.lock().expect("bound lock") {
            with_bound_base_url(&mut new, addr);
        }
        if new.server.listen != old.server.listen
            || new.server.workers != old.server.workers
            || new.store.path != old.store.path
        {
            tracing::warn!(
                "[server] listen and workers and [store] path changes take effect after a restart"
            );
        }
        let mut summary = ReloadSummary::default();
        for (id, src) in &new.sources {
            match old.sources.get(id) {
                None => summary.added.push(id.clone()),
                Some(o) if format!("{o:?}") != format!("{src:?}") => {
                    summary.changed.push(id.clone())
                }
                Some(_) => {}
            }
        }
        summary.removed = old
            .sources
            .keys()
            .filter(|id| !new.sources.contains_key(*id))
            .cloned()
            .collect();
        self.config.store(Arc::new(new));
        tracing::info!(added = ?summary.added, removed = ?summary.removed, changed = ?summary.changed, "config reloaded");
        self.invalidate_all();
        Ok(summary)
    }

    /// Background upkeep, in bounded steps so it never holds the store for long: `max_age`
    /// retention for every source and expiry of old tombstones.
    pub fn maintain(&self) {
        let cfg = self.config.load_full();
        let now = chrono::Utc::now();
        let mut pruned_sources = Vec::new();
        for src in cfg.sources.values() {
            if src.max_age.is_none() {
                continue;
            }
            let retention = crate::store::Retention {
                max_items: src.max_items,
                max_age: src.max_age,
                ..Default::default()
            };
            match self.store.prune(&src.id, retention, now) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(source = %src.id, pruned = n, "retention: pruned old articles");
                    let items = self.store.count(&src.id);
                    if let Some(st) = self.sources.lock().expect("sources lock").get_mut(&src.id) {
                        st.items = items;
                    }
                    pruned_sources.push(src.id.clone());
                }
                Err(e) => tracing::error!(source = %src.id, error = %e, "retention sweep failed"),
            }
        }
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
        let channels: std::collections::BTreeSet<String> = pruned_sources
            .iter()
            .flat_map(|s| cfg.channels_of(s))
            .collect();
        if !channels.is_empty() {
            let channels: Vec<String> = channels.into_iter().collect();
            self.invalidate(&channels);
        }
    }
}

/// How often the background upkeep runs.
pub const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// A built daemon: bound, store open, not yet running.
pub struct App {
    pub state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
}

impl App {
    /// Open the store and bind the listener. The listen address may use port 0.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let listen = config.server.listen;
        let _ = metrics_handle();
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let mut config = config;
        with_bound_base_url(&mut config, addr);
        let state = AppState::open(config)?;
        *state.bound.lock().expect("bound lock") = Some(addr);
        Ok(App {
            state,
            listener,
            addr,
        })
    }

    /// The bound address (the real port when the config said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve and poll until `shutdown` resolves, then stop in order and flush the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let App {
            state, listener, ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        // The server starts at once; channels render in the background (or on first request).
        let renderer = tokio::spawn(state.clone().render_worker(stop_rx.clone()));
        state.invalidate_all();
        let scheduler = tokio::spawn(crate::scheduler::run(state.clone(), stop_rx.clone()));
        let maint_state = state.clone();
        let mut maint_stop = stop_rx.clone();
        let maintenance = tokio::spawn(async move {
            loop {
                let st = maint_state.clone();
                let _ = tokio::task::spawn_blocking(move || st.maintain()).await;
                tokio::select! {
                    _ = tokio::time::sleep(MAINTENANCE_EVERY) => {}
                    _ = maint_stop.wait_for(|s| *s) => return,
                }
            }
        });
        let workers = state.config.load().server.workers;
        let server = crate::http::start(
            state.clone(),
            listener.into_std().context("listening socket")?,
            workers,
            stop_rx.clone(),
        )
        .context("starting the HTTP server threads")?;
        shutdown.await;
        tracing::info!("shutting down: no new polls; waiting for in-flight refreshes");
        let _ = stop_tx.send(true);
        if let Err(e) = scheduler.await {
            tracing::error!(error = %e, "scheduler task failed");
        }
        let _ = maintenance.await;
        let _ = renderer.await;
        // Open connections (keep-alive readers) get a moment to finish, then are closed.
        server.join().await;
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .context("flush task")?
            .context("flushing the store")?;
        tracing::info!("store flushed; bye");
        Ok(())
    }
}
