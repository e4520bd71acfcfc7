//! Wiring: `App::build(config)` opens the store, binds the listener (port 0 works, for tests) and
//! loads source states; `run_until_stopped(shutdown)` runs the scheduler and the HTTP server until
//! the shutdown future resolves, then stops in order: no new polls, in-flight refreshes finish,
//! the server closes, sled is flushed.
//!
//! This is the only module that knows both paths. It makes the write path's [`Ingest`] and the
//! read path's [`ServeState`] from one config, one store and one board of source states, and
//! connects them: a refresh that changed channels marks them stale in the read path's cache.

pub mod memory;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::Context;
use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::cluster::{Cluster, OnApplied};
use crate::config::{Config, ConfigError, ReloadSummary};
use crate::ingest::fetch::Fetcher;
use crate::ingest::{fetch_config, own_everything, Ingest, Ownership, Permit, PollPermit, Sink};
use crate::model::SourceBoard;
use crate::serve::cache::FeedCache;
use crate::serve::{metrics_handle, ClusterView, ServeState};
use crate::store::Store;

/// The daemon's two halves and what they share.
pub struct AppState {
    pub config: Arc<ArcSwap<Config>>,
    pub store: Store,
    pub ingest: Arc<Ingest>,
    pub serve: Arc<ServeState>,
    /// The address the server is bound to, once it is (a derived base URL uses it).
    pub bound: Arc<Mutex<Option<SocketAddr>>>,
    /// The cluster's task in cluster mode, awaited at shutdown.
    cluster: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Without a configured `base_url`, self links use the address actually bound (a `listen` with
/// port 0 gets its real port).
pub fn with_bound_base_url(config: &mut Config, addr: SocketAddr) {
    if config.server.base_url_derived {
        config.server.base_url = format!("http://{addr}");
    }
}

/// Re-read the config file. An invalid config is refused and the running one kept; a valid
/// one is swapped in: the scheduler starts added sources and drops removed ones (their
/// articles stay until retention removes them; their poll history and WebSub subscription go),
/// changed sources take effect at their next poll.
/// `[server]` and `[store]` changes need a restart. The caller re-renders the channels.
fn reload_config(
    config: &ArcSwap<Config>,
    bound: &Mutex<Option<SocketAddr>>,
    store: &Store,
) -> Result<ReloadSummary, ConfigError> {
    let old = config.load_full();
    let mut new = Config::load(&old.path)?;
    if let Some(addr) = *bound.lock().expect("bound lock") {
        with_bound_base_url(&mut new, addr);
    }
    if old.needs_restart(&new) {
        tracing::warn!(
            "[server] listen and workers and [store] path changes take effect after a restart"
        );
    }
    let summary = old.changes_to(&new);
    config.store(Arc::new(new));
    tracing::info!(added = ?summary.added, removed = ?summary.removed, changed = ?summary.changed, "config reloaded");
    // A removed channel's hub subscribers and last published ETags go: a channel added later
    // under the same id starts with none.
    let new_cfg = config.load();
    for id in old
        .channels
        .keys()
        .filter(|c| !new_cfg.channels.contains_key(*c))
    {
        if let Err(e) = store.forget_channel_hub(id) {
            tracing::debug!(channel = %id, error = %e, "hub records not forgotten");
        }
    }
    // A removed source's articles stay until retention takes them; its poll history (a
    // picture of it) and its WebSub subscription go now.
    for id in &summary.removed {
        if let Err(e) = store.forget_polls(id) {
            tracing::debug!(source = %id, error = %e, "poll history not forgotten");
        }
        if let Err(e) = store.remove_hub_subscription(id) {
            tracing::debug!(source = %id, error = %e, "hub subscription not forgotten");
        }
    }
    Ok(summary)
}

/// What both paths are made from.
struct Parts {
    config: Arc<ArcSwap<Config>>,
    store: Store,
    fetcher: Fetcher,
    board: Arc<SourceBoard>,
    bound: Arc<Mutex<Option<SocketAddr>>>,
}

impl Parts {
    fn open(config: Config) -> anyhow::Result<Parts> {
        let store = Store::open(&config.store.path)
            .with_context(|| format!("cannot open the store at {}", config.store.path.display()))?;
        let fetcher = Fetcher::new(fetch_config(&config))?;
        let board = Arc::new(SourceBoard::new(store.source_states()?));
        Ok(Parts {
            config: Arc::new(ArcSwap::from_pointee(config)),
            store,
            fetcher,
            board,
            bound: Arc::new(Mutex::new(None)),
        })
    }

    fn serve(&self, cluster: Option<ClusterView>) -> Arc<ServeState> {
        let reload = {
            let (config, bound, store) =
                (self.config.clone(), self.bound.clone(), self.store.clone());
            Arc::new(move || reload_config(&config, &bound, &store))
        };
        Arc::new(ServeState {
            config: self.config.clone(),
            store: self.store.clone(),
            board: self.board.clone(),
            cache: FeedCache::default(),
            render_wakeup: tokio::sync::Notify::new(),
            reload,
            cluster,
            push: OnceLock::new(),
            websub: crate::serve::websub::Hub::new(self.config.clone(), self.store.clone()),
        })
    }

    fn finish(
        self,
        serve: Arc<ServeState>,
        sink: Sink,
        ownership: Ownership,
        takeover_slack: Option<std::time::Duration>,
    ) -> Arc<AppState> {
        let changed = {
            let serve = serve.clone();
            Arc::new(move |channels: &[String]| serve.invalidate(channels))
        };
        let ingest = Arc::new(Ingest {
            config: self.config.clone(),
            store: self.store.clone(),
            fetcher: self.fetcher,
            board: self.board,
            sink,
            ownership,
            changed,
            takeover_slack,
            refreshing: Default::default(),
            websub: std::sync::OnceLock::new(),
        });
        Arc::new(AppState {
            config: self.config,
            store: self.store,
            ingest,
            serve,
            bound: self.bound,
            cluster: Mutex::new(None),
        })
    }
}

impl AppState {
    /// Open the store, load what it remembers about each source, and make both paths, for a
    /// process alone with its store (also what the command line's one-shot commands use).
    pub fn open(config: Config) -> anyhow::Result<Arc<AppState>> {
        let parts = Parts::open(config)?;
        let serve = parts.serve(None);
        Ok(parts.finish(serve, Sink::Local, own_everything(), None))
    }

    /// The same for a cluster node: results go to the replicated log, polls need a lease, and
    /// values applied from the log update the board and mark channels stale. The cluster's
    /// tasks run until `stop`.
    pub async fn open_cluster(
        config: Config,
        stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Arc<AppState>> {
        let parts = Parts::open(config)?;
        // The read path shows the cluster's status; the cluster is made after it, since
        // applied values mark its channels stale.
        let view: Arc<OnceLock<Cluster>> = Arc::new(OnceLock::new());
        let status: ClusterView = {
            let view = view.clone();
            Arc::new(move || view.get().map(Cluster::status).unwrap_or_default())
        };
        let serve = parts.serve(Some(status));
        let on_applied: OnApplied = {
            let (board, serve, config) = (parts.board.clone(), serve.clone(), parts.config.clone());
            Arc::new(move |source, state, counts| {
                board.set(source, state.clone());
                if counts.changed() {
                    serve.invalidate(&config.load().channels_of(source));
                }
            })
        };
        let (cluster, task) = Cluster::start(
            parts.config.clone(),
            parts.store.clone(),
            parts.board.clone(),
            on_applied,
            stop,
        )
        .await
        .context("starting cluster mode")?;
        let _ = view.set(cluster.clone());
        let sink = {
            let cluster = cluster.clone();
            Sink::Log(Arc::new(move |result| {
                let cluster = cluster.clone();
                Box::pin(async move { cluster.publish(result).await.map_err(|e| e.to_string()) })
            }))
        };
        let ownership: Ownership = {
            let cluster = cluster.clone();
            Arc::new(move |source| {
                cluster
                    .begin_poll(source)
                    .map(|p| Box::new(LeasePermit(p)) as PollPermit)
            })
        };
        // Half a lease: a source this node simply polls late is overdue by less; one taken over
        // from a dead node is overdue by at least the lease it took to expire.
        let slack = parts.config.load().cluster.as_ref().map(|c| c.lease / 2);
        let state = parts.finish(serve, sink, ownership, slack);
        *state.cluster.lock().expect("cluster lock") = Some(task);
        Ok(state)
    }

    /// Reload the config (SIGHUP, `POST /admin/reload`) and re-render every channel.
    pub fn reload(&self) -> Result<ReloadSummary, ConfigError> {
        let summary = (self.serve.reload)()?;
        self.serve.invalidate_all();
        Ok(summary)
    }
}

/// How often histogram samples are folded into the metrics' buckets.
pub const METRICS_UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the background upkeep runs.
pub const MAINTENANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// How often a store whose writes failed is tried again.
pub const STORE_RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Free space a store needs before it is opened again after a write failure: a probe file of
/// this size must be written and synced next to it.
const STORE_PROBE_BYTES: usize = 1024 * 1024;

impl AppState {
    /// After a write failure, try the store again until writes work; then reload what memory
    /// holds about it (what sled had accepted but not made durable is gone, and with it the
    /// validators that would make the next poll a 304) and re-render every channel.
    async fn store_doctor(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(STORE_RETRY_EVERY) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if self.store.failure().is_none() {
                continue;
            }
            let st = self.clone();
            let recovered =
                tokio::task::spawn_blocking(move || st.store.recover(STORE_PROBE_BYTES)).await;
            match recovered {
                Ok(Ok(true)) => match self.store.source_states() {
                    Ok(states) => {
                        for (id, state) in states {
                            self.ingest.board.set(&id, state);
                        }
                        self.serve.invalidate_all();
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the store after reopening it")
                    }
                },
                Ok(Ok(false)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "cannot open the store again yet"),
                Err(e) => tracing::error!(error = %e, "store recovery task failed"),
            }
        }
    }
}

/// A built daemon: bound, store open, not yet running.
pub struct App {
    pub state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    stop: (watch::Sender<bool>, watch::Receiver<bool>),
    cluster_stop: watch::Sender<bool>,
}

/// A cluster node's poll permit as the write path sees it: lost with the lease.
struct LeasePermit(crate::cluster::PollPermit);

impl Permit for LeasePermit {
    fn can_be_lost(&self) -> bool {
        true
    }

    fn lost(&self) -> bool {
        // At the lease's end as this node counts it (from when the renewal was sent; NATS
        // counts from when it got it, later, and another node takes the lease over only after
        // its next round has seen it gone): the write path looks every 200 ms.
        self.0.lost(std::time::Duration::ZERO)
    }
}

/// The WebSub subscriber, for a daemon serving on its own (its callbacks need the public base
/// URL, known once bound; a cluster does not subscribe): the write path's handler, reached
/// through the read path's callback route.
fn connect_websub_subscriber(state: &Arc<AppState>) {
    let cfg = state.config.load();
    if cfg.cluster.is_some() || !cfg.websub.subscribe {
        return;
    }
    let subscriber =
        crate::ingest::websub::Subscriber::new(&cfg.server.base_url, cfg.server.base_url_derived);
    let _ = state.ingest.websub.set(Arc::new(subscriber));
    // Weak: the write path already holds the read path (its `changed` handle); a strong
    // handle back would keep both, and the store with its file lock, alive after shutdown.
    let ingest = Arc::downgrade(&state.ingest);
    let _ = state.serve.push.set(Arc::new(move |req| {
        let ingest = ingest.upgrade();
        Box::pin(async move {
            match ingest {
                Some(ingest) => ingest.websub_callback(req).await,
                None => crate::model::push::CallbackAnswer::new(503, "shutting down"),
            }
        })
    }));
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
        let stop = watch::channel(false);
        // The cluster stops after the scheduler has drained (it keeps its leases while polls
        // run), so it has its own signal.
        let cluster_stop = watch::channel(false);
        let state = if config.cluster.is_some() {
            AppState::open_cluster(config, cluster_stop.1.clone()).await?
        } else {
            AppState::open(config)?
        };
        *state.bound.lock().expect("bound lock") = Some(addr);
        connect_websub_subscriber(&state);
        Ok(App {
            state,
            listener,
            addr,
            stop,
            cluster_stop: cluster_stop.0,
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
            state,
            listener,
            stop: (stop_tx, stop_rx),
            cluster_stop,
            ..
        } = self;
        // The server starts at once; channels render in the background (or on first request).
        let renderer = tokio::spawn(state.serve.clone().render_worker(stop_rx.clone()));
        state.serve.invalidate_all();
        let scheduler = tokio::spawn(crate::ingest::scheduler::run(
            state.ingest.clone(),
            stop_rx.clone(),
        ));
        let maint = state.ingest.clone();
        let mut maint_stop = stop_rx.clone();
        let maintenance = tokio::spawn(async move {
            loop {
                let ingest = maint.clone();
                let _ = tokio::task::spawn_blocking(move || ingest.maintain()).await;
                tokio::select! {
                    _ = tokio::time::sleep(MAINTENANCE_EVERY) => {}
                    _ = maint_stop.wait_for(|s| *s) => return,
                }
            }
        });
        let doctor = tokio::spawn(state.clone().store_doctor(stop_rx.clone()));
        // The metrics recorder keeps every histogram sample (one or more a request, a poll)
        // until they are folded into the buckets, which otherwise happens only when
        // `/metrics` is scraped: a daemon nobody scrapes would grow by ~8 bytes a request for
        // good (700 MB a day at 1,000 requests a second).
        let mut upkeep_stop = stop_rx.clone();
        let metrics_upkeep = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(METRICS_UPKEEP_EVERY) => {}
                    _ = upkeep_stop.wait_for(|s| *s) => return,
                }
                crate::serve::state::metrics_handle().run_upkeep();
                memory::release_free_pages();
                // sled starts its writing threads as needed, at its caller's priority.
                crate::threads::keep_store_threads_lowered();
            }
        });
        let workers = state.config.load().server.workers;
        let server = crate::serve::http::start(
            state.serve.clone(),
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
        let _ = doctor.await;
        let _ = metrics_upkeep.await;
        // No poll is in flight any more: the cluster hands its leases over and stops applying
        // (briefly: a node cut off from NATS lets its leases expire instead).
        let _ = cluster_stop.send(true);
        let cluster = state.cluster.lock().expect("cluster lock").take();
        if let Some(task) = cluster {
            if tokio::time::timeout(std::time::Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("the cluster did not stop within 10 s; leaving it");
            }
        }
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
