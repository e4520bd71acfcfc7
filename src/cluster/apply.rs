//! The applier: every message of the stream, in order, from the one after the last this
//! node's store applied, with the last applied sequence in the same store batch.
//!
//! Three things keep a node that applies a flood of values (a wave of new items, or a new node
//! rebuilding) a good server for its readers:
//! - **Bounded memory.** Values are pulled in requests of at most [`PULL_BATCH`] messages
//!   (an ordered *pull* consumer), so no more than about that many wait in memory however far
//!   behind the node is. A push consumer would have the server send the whole backlog into the
//!   client's subscription buffer (65,536 messages) at once.
//! - **Serving first.** Values are decoded and applied on one thread of their own, in batches of
//!   what has arrived, at a lower CPU priority than the HTTP threads: while both want the CPU,
//!   readers are answered first and the applier catches up in the gaps.
//! - **Cheap applies.** Up to [`APPLY_GROUP`] values of distinct sources that have arrived
//!   together are one store batch (`Store::apply_logged_group`): sled's fixed cost per batch
//!   (two log writes and syncs) was most of the cost of a value.

use std::sync::mpsc;
use std::time::Duration;

use async_nats::jetstream::{consumer, stream};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{oneshot, watch};

use super::{Cluster, SUBJECT_PREFIX};
use crate::model::RefreshResult;

/// The most messages one pull request asks for: what may wait in memory at once.
const PULL_BATCH: i64 = 128;
/// The most messages (and payload bytes) handed to the applier thread at once.
const APPLY_BATCH: usize = 64;
const APPLY_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The most values applied as one store batch: sled pays two log writes and two
/// `sync_file_range`s per batch, so grouping divides that cost (apply_bench: 360 µs of CPU
/// per value one by one, 114 µs in groups of 32); more gains little and holds the apply lock
/// longer.
const APPLY_GROUP: usize = 32;
/// The applier thread's nice value: above the HTTP threads' 0, so they win the CPU.
const APPLIER_NICE: i32 = 10;

/// Values in stream order, and where to say how far they got.
struct Job {
    values: Vec<(u64, Bytes)>,
    /// The store's generation the values were read for: none is applied to a store opened
    /// again since (it may lack values before them).
    generation: u64,
    done: oneshot::Sender<Result<(), (u64, String)>>,
}

impl Cluster {
    /// Apply every message of the stream in order, from the one after the last applied, until
    /// `stop`. A broken consumer is made again from where it stopped.
    pub(super) async fn apply_loop(self, stream: stream::Stream, mut stop: watch::Receiver<bool>) {
        let jobs = match self.clone().start_applier_thread() {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!(error = %e, "cluster: cannot start the applier thread");
                *self.inner.apply_problem.lock().expect("apply problem lock") =
                    Some(format!("cannot start the applier thread: {e}"));
                return;
            }
        };
        loop {
            // The place to read from is the store's: after the store was opened again (a write
            // failure), values this loop had handed over may be gone from it.
            let generation = self.inner.store.generation();
            let start = match self.inner.store.applied_seq() {
                Ok(seq) => seq + 1,
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: cannot read the last applied value");
                    if sleep_or_stop(&mut stop).await {
                        return;
                    }
                    continue;
                }
            };
            {
                let mut s = self.inner.status.lock().expect("status lock");
                s.applied_seq = start - 1;
                s.lag = s.stream_seq.saturating_sub(s.applied_seq);
            }
            let mut next_seq = start;
            let consumer = stream
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: format!("{SUBJECT_PREFIX}>"),
                    deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                        start_sequence: start,
                    },
                    max_batch: PULL_BATCH,
                    ..Default::default()
                })
                .await;
            let mut messages = match consumer {
                Ok(c) => match c.messages().await {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster: cannot read the stream");
                        if sleep_or_stop(&mut stop).await {
                            return;
                        }
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: cannot read the stream");
                    if sleep_or_stop(&mut stop).await {
                        return;
                    }
                    continue;
                }
            };
            'read: loop {
                // A watchdog: the consumer can go quiet for good after the server hosting it
                // dies. Quiet while the stream has values this node lacks means broken: read
                // again from the last applied value.
                let next = tokio::select! {
                    n = tokio::time::timeout(Duration::from_secs(5), messages.next()) => match n {
                        Ok(n) => n,
                        Err(_) if self.inner.store.generation() != generation => break,
                        Err(_) => {
                            let s = self.inner.status.lock().expect("status lock").clone();
                            if s.stream_seq > s.applied_seq {
                                tracing::warn!(applied = s.applied_seq, stream = s.stream_seq,
                                    "cluster: the stream consumer went quiet behind the stream; reading again");
                                break;
                            }
                            continue;
                        }
                    },
                    _ = stop.wait_for(|s| *s) => return,
                };
                // The first message, then whatever else has arrived already: one job.
                let mut values: Vec<(u64, Bytes)> = Vec::new();
                let mut bytes = 0;
                let mut broken = false;
                let mut next = Some(next);
                while let Some(n) = next.take() {
                    match n {
                        Some(Ok(msg)) => {
                            if let Ok(info) = msg.info() {
                                let seq = info.stream_sequence;
                                // A consumer the client made again may replay from the start:
                                // what is applied already is passed over before any decoding.
                                if seq >= next_seq {
                                    bytes += msg.payload.len();
                                    next_seq = seq + 1;
                                    values.push((seq, msg.payload.clone()));
                                }
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "cluster: stream consumer failed; reading again");
                            broken = true;
                            break;
                        }
                        None => {
                            broken = true;
                            break;
                        }
                    }
                    if values.len() < APPLY_BATCH && bytes < APPLY_BATCH_BYTES {
                        next = messages.next().now_or_never();
                    }
                }
                if !values.is_empty() {
                    let (done, outcome) = oneshot::channel();
                    let job = Job {
                        values,
                        generation,
                        done,
                    };
                    if jobs.send(job).is_err() {
                        return;
                    }
                    let outcome = tokio::select! {
                        o = outcome => o.unwrap_or(Err((0, "the applier thread ended".into()))),
                        // The thread finishes its batch (a few store writes) on its own.
                        _ = stop.wait_for(|s| *s) => return,
                    };
                    if let Err((seq, e)) = outcome {
                        // The store refused, or the value is unreadable by this build: stop
                        // here (never skip a value: the stores would differ for good), say so,
                        // and read again from the last applied value after a pause.
                        tracing::error!(seq, error = %e, "cluster: cannot apply a value");
                        *self.inner.apply_problem.lock().expect("apply problem lock") =
                            Some(format!("cannot apply stream value {seq}: {e}"));
                        if sleep_or_stop(&mut stop).await {
                            return;
                        }
                        break 'read;
                    }
                    *self.inner.apply_problem.lock().expect("apply problem lock") = None;
                }
                if self.inner.store.generation() != generation {
                    tracing::warn!("cluster: the store was opened again after a write failure; reading the stream again from its last applied value");
                    break;
                }
                if broken {
                    break;
                }
            }
        }
    }

    /// The thread that decodes and applies values, at [`APPLIER_NICE`]; it ends when the
    /// sender it returns is dropped.
    fn start_applier_thread(self) -> std::io::Result<mpsc::SyncSender<Job>> {
        let (tx, rx) = mpsc::sync_channel::<Job>(1);
        std::thread::Builder::new()
            .name("feedloom-apply".into())
            .spawn(move || {
                // Never a higher priority than the rest of the background: a process allowed
                // to lower nice values (root) would otherwise undo a higher `background_nice`.
                let nice = APPLIER_NICE.max(crate::threads::background_nice());
                crate::threads::lower_this_thread(nice);
                // Half of what an apply costs is spent in sled's own threads (its log flusher
                // and I/O pool, which write the batches out), at the priority of whoever
                // started them: without this the applier yields to readers and its writes do
                // not. The app's upkeep keeps threads sled starts later at it too.
                crate::threads::lower_store_threads(nice);
                for job in rx {
                    let outcome = self.apply_job(&job);
                    let _ = job.done.send(outcome);
                }
            })?;
        Ok(tx)
    }

    /// Decode and apply a job's values in stream order (on the applier thread), in groups of
    /// up to [`APPLY_GROUP`] values of distinct sources, each group one store batch. A value
    /// this build cannot read stops the job there, after the values before it.
    fn apply_job(&self, job: &Job) -> Result<(), (u64, String)> {
        let mut decoded = Vec::with_capacity(job.values.len());
        let mut undecodable = None;
        for (seq, payload) in &job.values {
            match RefreshResult::from_bytes(payload) {
                Ok(result) => decoded.push((*seq, result)),
                Err(e) => {
                    undecodable = Some((
                        *seq,
                        format!("{e} (a value from a newer feedloom? upgrade this node)"),
                    ));
                    break;
                }
            }
        }
        let mut group: Vec<(u64, RefreshResult)> = Vec::new();
        for (seq, result) in decoded {
            // A second value of a source goes into the next group: each value of a group reads
            // the store as it was before the group.
            let cut =
                group.len() == APPLY_GROUP || group.iter().any(|(_, g)| g.source == result.source);
            if cut && !self.apply_group(std::mem::take(&mut group), job.generation)? {
                return Ok(());
            }
            group.push((seq, result));
        }
        if !group.is_empty() && !self.apply_group(group, job.generation)? {
            return Ok(());
        }
        undecodable.map_or(Ok(()), Err)
    }

    /// Apply one group in one store batch, then tell the wiring about each value; false (and
    /// nothing applied) when the store was opened again since the job was read: the loop sees
    /// the new generation and reads again.
    fn apply_group(
        &self,
        group: Vec<(u64, RefreshResult)>,
        generation: u64,
    ) -> Result<bool, (u64, String)> {
        if self.inner.store.generation() != generation {
            return Ok(false);
        }
        let first = group[0].0;
        let last = group[group.len() - 1].0;
        let told: Vec<_> = group
            .iter()
            .map(|(_, r)| (r.source.clone(), r.state.clone()))
            .collect();
        let applied = self
            .inner
            .store
            .apply_logged_group(group)
            .map_err(|e| (first, e.to_string()))?;
        for ((source, mut state), counts) in told.into_iter().zip(applied) {
            if let Some(counts) = counts {
                state.items = counts.total;
                (self.inner.on_applied)(&source, &state, &counts);
            }
        }
        let mut s = self.inner.status.lock().expect("status lock");
        s.applied_seq = s.applied_seq.max(last);
        s.lag = s.stream_seq.saturating_sub(s.applied_seq);
        metrics::gauge!("feedloom_cluster_applied_seq").set(s.applied_seq as f64);
        Ok(true)
    }
}

/// Pause a second; true when `stop` came first.
async fn sleep_or_stop(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(1)) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}
