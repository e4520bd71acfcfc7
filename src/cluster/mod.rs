//! Cluster mode: N feedloom nodes over NATS JetStream (see docs/cluster.md).
//!
//! - **Membership**: each node writes its record (`Member`) to the `feedloom_members` bucket
//!   every third of a lease; the bucket's `max_age` is the lease, so a node that stops writing
//!   disappears from it.
//! - **Ownership**: sources fall into [`partition::PARTITIONS`] partitions; a partition's owner
//!   is the rendezvous choice among the live members, and the owner holds its lease: a key in
//!   the `feedloom_leases` bucket written with create (only if absent) and renewed with
//!   compare-and-set on its revision; the bucket's `max_age` expires a lease nobody renews. A
//!   node polls a source only while it holds a lease it renewed less than two thirds of a lease
//!   ago, so two nodes never poll one source at once, even while membership changes. A lease is
//!   given up (deleted) only when no poll of its partition is in flight.
//! - **Publish**: a refresh's [`RefreshResult`] goes to the `FEEDLOOM` stream, subject per source,
//!   with a `Nats-Msg-Id` (the hash of its bytes), so a retried publish lands once.
//! - **Apply**: every node reads the whole stream in order from the sequence after the last one
//!   its store applied, and applies the values (several of distinct sources to a sled batch)
//!   with the last one's sequence in the same batch ([`Store::apply_logged_group`]); a crash
//!   resumes exactly there, and an empty store rebuilds from the start of the stream.
//!
//! The module knows the store, the config and the model, never the two paths: the wiring hands
//! it a callback for applied values and asks it for poll permits and for publishing.

mod apply;
mod nats;
pub mod partition;

use nats::{connect_options, ensure_bucket, lease_key, subject_of};

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use async_nats::jetstream::{self, kv, stream};
use chrono::Utc;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::config::{ClusterConfig, Config};
use crate::model::cluster::{ClusterStatus, Member};
use crate::model::{RefreshResult, SourceBoard, SourceState};
use crate::store::{RefreshCounts, Store};

const STREAM: &str = "FEEDLOOM";
const SUBJECT_PREFIX: &str = "feedloom.r.";
const MEMBERS: &str = "feedloom_members";
const LEASES: &str = "feedloom_leases";
/// How long NATS remembers a message id for deduplication: a retried publish within it lands
/// once.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Messages kept per source: enough for every article a source can still have stored (its
/// `max_items`, 1000 by default) plus the state-only messages in between.
const MESSAGES_PER_SOURCE: i64 = 5000;
/// How long the stream keeps a message: the default tombstone lifetime, so that a rebuilt store
/// keeps pruned items out as the others do.
const STREAM_MAX_AGE: Duration = Duration::from_secs(90 * 86400);

/// Why a cluster operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach NATS: {0}")]
    Unreachable(String),
    #[error("the stream is not ready yet (NATS has not answered since start)")]
    NotReady,
    #[error("NATS did not take the message: {0}")]
    Publish(String),
}

/// Told about each value applied from the log: its source, the state it recorded, and how it
/// changed the store.
pub type OnApplied = Arc<dyn Fn(&str, &SourceState, &RefreshCounts) + Send + Sync>;

/// A lease this node holds.
struct Held {
    revision: u64,
    /// Until when polls may start under it (two thirds of a lease after the last renewal was
    /// sent, so always before NATS could expire it).
    valid_until: Instant,
    /// Polls of the partition in flight; the lease is not given up while any is.
    inflight: usize,
    /// Which taking of the lease this is: a permit from an earlier one (lost and taken again)
    /// must not count against this one.
    epoch: u64,
    /// No longer this node's by rendezvous: no new polls; given up once none is in flight.
    releasing: bool,
    /// Sources polled under this lease: their latest states are published when the lease is
    /// handed over, so the next owner continues from them (a 304 publishes nothing, so the
    /// log alone may hold an older next poll time).
    polled: std::collections::HashSet<String>,
    /// The stream's last sequence when the lease was taken: no poll starts before this node
    /// has applied it, so a node taking a partition over starts from its previous owner's last
    /// state (validators, next poll time), not an older one.
    ready_at: u64,
}

/// JetStream handles, once the stream and buckets exist.
#[derive(Clone)]
struct Handles {
    stream: stream::Stream,
    members: kv::Store,
    /// The members bucket's own stream, to list its keys with a plain request.
    members_stream: stream::Stream,
    leases: kv::Store,
}

struct Inner {
    cfg: ClusterConfig,
    config: Arc<ArcSwap<Config>>,
    store: Store,
    client: async_nats::Client,
    js: jetstream::Context,
    handles: Mutex<Option<Handles>>,
    held: Mutex<HashMap<u16, Held>>,
    status: Mutex<ClusterStatus>,
    on_applied: OnApplied,
    board: Arc<SourceBoard>,
    epochs: AtomicU64,
    /// Why the applier is stuck, when it is (shown as the cluster's problem).
    apply_problem: Mutex<Option<String>>,
    /// The stream's last sequence at this node's first round: it joins once it has applied it.
    join_at: Mutex<Option<u64>>,
}

/// A running cluster node: cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

/// Held while a source is polled under this node's lease.
pub struct PollPermit {
    inner: Arc<Inner>,
    partition: u16,
    epoch: u64,
}

impl PollPermit {
    /// True once the lease this permit was given under may run out in NATS within `margin`:
    /// not renewed for a whole lease since the last renewal was sent (NATS counts from when it
    /// got it, later), or lost and taken again.
    pub fn lost(&self, margin: Duration) -> bool {
        let held = self.inner.held.lock().expect("held lock");
        match held.get(&self.partition) {
            Some(h) if h.epoch == self.epoch => {
                let expires = h.valid_until + self.inner.cfg.lease / 3;
                Instant::now() + margin >= expires
            }
            _ => true,
        }
    }
}

impl Drop for PollPermit {
    fn drop(&mut self) {
        if let Some(h) = self
            .inner
            .held
            .lock()
            .expect("held lock")
            .get_mut(&self.partition)
        {
            if h.epoch == self.epoch {
                h.inflight = h.inflight.saturating_sub(1);
            }
        }
    }
}

impl Cluster {
    /// Connect (in the background: NATS may still be down) and start the node's tasks, which
    /// run until `stop`. `on_applied` is told about every value applied from the stream.
    pub async fn start(
        config: Arc<ArcSwap<Config>>,
        store: Store,
        board: Arc<SourceBoard>,
        on_applied: OnApplied,
        stop: watch::Receiver<bool>,
    ) -> Result<(Cluster, tokio::task::JoinHandle<()>), ClusterError> {
        let cfg = config
            .load()
            .cluster
            .clone()
            .expect("Cluster::start is called with a [cluster] config");
        let client = connect_options(&cfg)
            .await?
            .connect(cfg.nats.clone())
            .await
            .map_err(|e| ClusterError::Unreachable(e.to_string()))?;
        let js = jetstream::new(client.clone());
        let applied = store.applied_seq().unwrap_or(0);
        let status = ClusterStatus {
            node: cfg.node.clone(),
            reachable: false,
            problem: Some("connecting to NATS".into()),
            applied_seq: applied,
            config_digest: config.load().digest.clone(),
            ..Default::default()
        };
        let inner = Arc::new(Inner {
            cfg,
            config,
            store,
            client,
            js,
            handles: Mutex::new(None),
            held: Mutex::new(HashMap::new()),
            status: Mutex::new(status),
            on_applied,
            board,
            epochs: AtomicU64::new(0),
            apply_problem: Mutex::new(None),
            join_at: Mutex::new(None),
        });
        let cluster = Cluster { inner };
        let task = tokio::spawn(cluster.clone().run(stop));
        Ok((cluster, task))
    }

    /// A permit to poll `source` now, when this node holds the lease of its partition; else
    /// how soon it is worth asking again (ownership changes only at a round, every third of a
    /// lease).
    pub fn begin_poll(&self, source: &str) -> Result<PollPermit, Duration> {
        let again = self.inner.cfg.lease / 3;
        let partition = partition::of_source(source);
        let applied = self.inner.status.lock().expect("status lock").applied_seq;
        let mut held = self.inner.held.lock().expect("held lock");
        let Some(h) = held.get_mut(&partition) else {
            return Err(again);
        };
        if Instant::now() >= h.valid_until || h.releasing || applied < h.ready_at {
            return Err(again);
        }
        h.inflight += 1;
        if !h.polled.contains(source) {
            h.polled.insert(source.to_string());
        }
        Ok(PollPermit {
            inner: self.inner.clone(),
            partition,
            epoch: h.epoch,
        })
    }

    /// Publish one refresh result; done when the stream has it. Articles this node's store
    /// already holds exactly as they are (which every store that applied the log as far does
    /// too) are left out: applying them would change nothing, and a feed of hundreds of items
    /// with one new one is then a message of one article.
    pub async fn publish(&self, mut result: RefreshResult) -> Result<(), ClusterError> {
        let handles = self.inner.handles.lock().expect("handles lock").clone();
        if handles.is_none() {
            return Err(ClusterError::NotReady);
        }
        if let Some(doc) = result.document.take() {
            let store = self.inner.store.clone();
            let doc = tokio::task::spawn_blocking(move || {
                let mut doc = doc;
                store.drop_unchanged(&mut doc.articles);
                doc
            })
            .await
            .map_err(|e| ClusterError::Publish(e.to_string()))?;
            result.document = Some(doc);
        }
        let payload = result.to_bytes();
        let max = self.inner.client.server_info().max_payload;
        if max > 0 && payload.len() > max {
            return Err(ClusterError::Publish(format!(
                "the result is {} bytes, over NATS's max_payload of {max}; raise max_payload \
                 on the servers or lower the source's items",
                payload.len()
            )));
        }
        let id = crate::model::ids::hex16(&Sha256::digest(&payload));
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", id.as_str());
        nats::publish_acked(
            &self.inner.js,
            subject_of(&result.source),
            headers,
            payload.into(),
        )
        .await
        .map_err(|e| ClusterError::Publish(e.to_string()))
    }

    /// This node's view of the cluster.
    pub fn status(&self) -> ClusterStatus {
        let mut s = self.inner.status.lock().expect("status lock").clone();
        let connected = matches!(
            self.inner.client.connection_state(),
            async_nats::connection::State::Connected
        );
        if let Some(p) = self
            .inner
            .apply_problem
            .lock()
            .expect("apply problem lock")
            .clone()
        {
            s.problem = Some(p);
        }
        if !connected {
            s.reachable = false;
            s.problem
                .get_or_insert_with(|| "disconnected from NATS".to_string());
        }
        s
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        // The stream and buckets: retried until NATS answers (it may start after us, or have
        // no JetStream leader yet).
        let handles = loop {
            match self.ensure_handles().await {
                Ok(h) => break h,
                Err(e) => {
                    self.set_problem(Some(e.to_string()));
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            }
        };
        *self.inner.handles.lock().expect("handles lock") = Some(handles.clone());
        let applier = tokio::spawn(
            self.clone()
                .apply_loop(handles.stream.clone(), stop.clone()),
        );
        let tick = self.inner.cfg.lease / 3;
        loop {
            // A round waits on NATS; a stop does not wait for it.
            let round = tokio::select! {
                r = self.tick(&handles) => r,
                _ = stop.wait_for(|s| *s) => break,
            };
            match round {
                // The round itself said how things stand (reachable; joined or catching up).
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: membership or lease round failed");
                    self.set_problem(Some(e));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        // A clean stop hands the partitions over at once instead of after a lease. The wiring
        // stops this task only after the scheduler drained, so no poll is in flight; each
        // delete names the revision this node wrote, so it never removes another's lease. All
        // at once and briefly: a node cut off from NATS just lets its leases expire.
        let held: Vec<(u16, u64, std::collections::HashSet<String>)> = self
            .inner
            .held
            .lock()
            .expect("held lock")
            .drain()
            .map(|(p, h)| (p, h.revision, h.polled))
            .collect();
        let leases = handles.leases.clone();
        let this = self.clone();
        let deletes = futures_util::future::join_all(held.into_iter().map(|(p, rev, polled)| {
            let leases = leases.clone();
            let this = this.clone();
            async move {
                if this.hand_over(polled).await.is_ok() {
                    let _ = leases.delete_expect_revision(lease_key(p), Some(rev)).await;
                }
            }
        }));
        let members = handles.members.clone();
        let node = self.inner.cfg.node.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), async move {
            deletes.await;
            members.delete(&node).await
        })
        .await;
        let _ = applier.await;
    }

    /// Publish the latest state of each source polled under a lease about to be given up.
    async fn hand_over(&self, polled: std::collections::HashSet<String>) -> Result<(), String> {
        for source in polled {
            if let Some(state) = self.inner.board.get(&source) {
                let result = RefreshResult::state_only(&source, Utc::now(), state);
                self.publish(result)
                    .await
                    .map_err(|e| format!("handing over {source}: {e}"))?;
            }
        }
        Ok(())
    }

    fn set_problem(&self, problem: Option<String>) {
        let mut s = self.inner.status.lock().expect("status lock");
        s.reachable = problem.is_none();
        s.problem = problem;
    }

    async fn ensure_handles(&self) -> Result<Handles, String> {
        let js = &self.inner.js;
        let replicas = self.inner.cfg.replicas;
        let stream = js
            .get_or_create_stream(stream::Config {
                name: STREAM.to_string(),
                subjects: vec![format!("{SUBJECT_PREFIX}>")],
                storage: stream::StorageType::File,
                num_replicas: replicas,
                retention: stream::RetentionPolicy::Limits,
                max_messages_per_subject: MESSAGES_PER_SOURCE,
                max_age: STREAM_MAX_AGE,
                discard: stream::DiscardPolicy::Old,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| format!("stream {STREAM}: {e}"))?;
        let lease = self.inner.cfg.lease;
        let members = ensure_bucket(js, MEMBERS, lease, replicas).await?;
        let leases = ensure_bucket(js, LEASES, lease, replicas).await?;
        let members_stream = js
            .get_stream(format!("KV_{MEMBERS}"))
            .await
            .map_err(|e| format!("bucket {MEMBERS}: {e}"))?;
        Ok(Handles {
            stream,
            members,
            members_stream,
            leases,
        })
    }

    /// One round: announce this node, read the members, take or renew the leases of the
    /// partitions this node should own, give up the others.
    async fn tick(&self, h: &Handles) -> Result<(), String> {
        let inner = &self.inner;
        let me = inner.cfg.node.clone();
        let cfg = inner.config.load_full();
        let stream_seq = h
            .stream
            .clone()
            .info()
            .await
            .map(|i| i.state.last_sequence)
            .map_err(|e| format!("stream info: {e}"))?;
        {
            let mut s = inner.status.lock().expect("status lock");
            s.stream_seq = s.stream_seq.max(stream_seq);
        }
        // A node joins (announces itself, and so takes partitions) only once it has applied the
        // stream as it was when it started: a new or far-behind node would otherwise take its
        // share and poll none of it until caught up.
        let applied_now = inner.store.applied_seq().unwrap_or(0);
        let joined = {
            let mut join_at = inner.join_at.lock().expect("join lock");
            let target = *join_at.get_or_insert(stream_seq);
            applied_now >= target
        };
        let (partitions_owned, sources_owned) = self.owned_counts(&cfg);
        let applied = inner.store.applied_seq().unwrap_or(0);
        let record = Member {
            id: me.clone(),
            last_seen: Utc::now(),
            partitions_owned,
            sources_owned,
            applied_seq: applied,
            config_digest: cfg.digest.clone(),
        };
        let bytes = serde_json::to_vec(&record).expect("member record serializes");
        if joined {
            // One lost announcement costs nothing (the record lives a whole lease and is
            // written every third of one), while failing the round for it (a moment of "no
            // responders" while the bucket elects a leader) would leave every lease unrenewed
            // and pause polling until the next round. The read below fails if NATS is away.
            if let Err(e) = h.members.put(&me, bytes.into()).await {
                tracing::warn!(error = %e, "cluster: announcing this node failed; renewing its leases all the same");
            }
        }
        let mut members = Vec::new();
        // The keys from the bucket stream's subjects (a plain request), not `keys()`: that
        // makes a consumer, which can stay broken for minutes after the server hosting it
        // dies (seen in the one-server-down test).
        let prefix = format!("$KV.{MEMBERS}.");
        let mut subjects = h
            .members_stream
            .info_with_subjects(format!("{prefix}>"))
            .await
            .map_err(|e| format!("membership: {e}"))?;
        let mut keys = Vec::new();
        while let Some(subject) = subjects.next().await {
            let (subject, _) = subject.map_err(|e| format!("membership: {e}"))?;
            if let Some(k) = subject.strip_prefix(&prefix) {
                keys.push(k.to_string());
            }
        }
        for k in keys {
            if let Ok(Some(v)) = h.members.get(&k).await {
                if let Ok(m) = serde_json::from_slice::<Member>(&v) {
                    members.push(m);
                }
            }
        }
        if joined && !members.iter().any(|m| m.id == me) {
            members.push(record);
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let ids: Vec<String> = members.iter().map(|m| m.id.clone()).collect();

        // One failed lease call does not end the round: the other partitions are still renewed.
        // The calls of a round run concurrently: one after another, a node's ~85 renewals took
        // 85 round trips, and under load the last of them came late enough for NATS to expire
        // the lease first (the "lost a lease" warnings of the cluster benchmark).
        let mut calls = Vec::new();
        for p in 0..partition::PARTITIONS {
            let mine = joined && partition::owner(p, &ids) == Some(me.as_str());
            // Read and marked in one critical section: no poll can start between the check
            // that none is in flight and the release.
            let held = {
                let mut held = inner.held.lock().expect("held lock");
                match held.get_mut(&p) {
                    None => None,
                    Some(x) => {
                        x.releasing = !mine;
                        if !mine && x.inflight == 0 {
                            let rev = x.revision;
                            let polled = std::mem::take(&mut x.polled);
                            held.remove(&p);
                            Some((rev, Some(polled)))
                        } else {
                            Some((x.revision, None))
                        }
                    }
                }
            };
            calls.push(async move {
                match (mine, held) {
                    (true, Some((rev, _))) => self.renew(h, p, rev).await,
                    (true, None) => self.acquire(h, p).await,
                    // Not ours any more and no poll under it in flight: give it up, naming the
                    // revision this node wrote (never another node's lease).
                    (false, Some((rev, Some(polled)))) => match self.hand_over(polled).await {
                        Ok(()) => {
                            let _ = h
                                .leases
                                .delete_expect_revision(lease_key(p), Some(rev))
                                .await;
                            Ok(())
                        }
                        Err(e) => Err(e),
                    },
                    // Not ours, polls still running: kept until they end; no new ones start.
                    (false, Some((rev, None))) => self.renew(h, p, rev).await,
                    (false, None) => Ok(()),
                }
            });
        }
        let first_error = futures_util::future::join_all(calls)
            .await
            .into_iter()
            .find_map(Result::err);
        let (partitions_owned, sources_owned) = self.owned_counts(&cfg);
        let mut s = inner.status.lock().expect("status lock");
        s.members = members;
        s.stream_seq = stream_seq;
        s.applied_seq = applied.max(s.applied_seq);
        s.lag = stream_seq.saturating_sub(s.applied_seq);
        s.partitions_owned = partitions_owned;
        s.sources_owned = sources_owned;
        s.config_digest = cfg.digest.clone();
        metrics::gauge!("feedloom_cluster_members").set(s.members.len() as f64);
        metrics::gauge!("feedloom_cluster_partitions_owned").set(partitions_owned as f64);
        metrics::gauge!("feedloom_cluster_sources_owned").set(sources_owned as f64);
        metrics::gauge!("feedloom_cluster_lag").set(s.lag as f64);
        s.reachable = true;
        s.problem = (!joined).then(|| {
            format!(
                "catching up before joining: applied {} of {}",
                s.applied_seq,
                inner.join_at.lock().expect("join lock").unwrap_or(0)
            )
        });
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn owned_counts(&self, cfg: &Config) -> (usize, usize) {
        let held = self.inner.held.lock().expect("held lock");
        let sources = cfg
            .sources
            .keys()
            .filter(|s| held.contains_key(&partition::of_source(s)))
            .count();
        (held.len(), sources)
    }

    async fn renew(&self, h: &Handles, p: u16, rev: u64) -> Result<(), String> {
        let sent = Instant::now();
        match h
            .leases
            .update(lease_key(p), self.inner.cfg.node.clone().into(), rev)
            .await
        {
            Ok(new_rev) => {
                self.hold(p, new_rev, sent);
                Ok(())
            }
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                // Someone else wrote it: the lease expired under us. Stop polling there.
                tracing::warn!(partition = p, "cluster: lost a lease");
                self.inner.held.lock().expect("held lock").remove(&p);
                Ok(())
            }
            Err(e) => Err(format!("lease renewal: {e}")),
        }
    }

    async fn acquire(&self, h: &Handles, p: u16) -> Result<(), String> {
        let sent = Instant::now();
        let me = self.inner.cfg.node.clone();
        match h.leases.create(lease_key(p), me.clone().into()).await {
            Ok(rev) => {
                self.hold(p, rev, sent);
                // Polls wait until this node has applied the stream as it is now that the
                // lease is ours: the previous owner can publish nothing after this.
                let last = h.stream.clone().info().await.map(|i| i.state.last_sequence);
                if let Some(held) = self.inner.held.lock().expect("held lock").get_mut(&p) {
                    held.ready_at = match last {
                        Ok(last) => held.ready_at.max(last),
                        // Not known: no polls until a renewal settles it.
                        Err(_) => u64::MAX,
                    };
                }
                Ok(())
            }
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                // Held by another node until it lets go or its lease expires; or by this node
                // before a restart, which takes it back.
                match h.leases.entry(lease_key(p)).await {
                    Ok(Some(entry))
                        if entry.operation == kv::Operation::Put
                            && *entry.value == *me.as_bytes() =>
                    {
                        self.renew(h, p, entry.revision).await
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!("lease lookup: {e}")),
                }
            }
            Err(e) => Err(format!("lease: {e}")),
        }
    }

    fn hold(&self, p: u16, revision: u64, sent: Instant) {
        let valid_until = sent + self.inner.cfg.lease * 2 / 3;
        // A lease newly taken: polls wait until the stream as it is now is applied.
        let ready_at = self.inner.status.lock().expect("status lock").stream_seq;
        let mut held = self.inner.held.lock().expect("held lock");
        let h = held.entry(p).or_insert_with(|| Held {
            revision,
            valid_until,
            inflight: 0,
            epoch: self.inner.epochs.fetch_add(1, Ordering::Relaxed),
            releasing: false,
            polled: Default::default(),
            ready_at,
        });
        h.revision = revision;
        h.valid_until = valid_until;
        if h.ready_at == u64::MAX {
            h.ready_at = ready_at;
        }
    }
}
