//! The applier: every message of the stream, in order, from the one after the last this
//! node's store applied, each with its sequence in the same store batch.

use std::time::Duration;

use async_nats::jetstream::{consumer, stream};
use futures_util::StreamExt;
use tokio::sync::watch;

use super::{Cluster, SUBJECT_PREFIX};
use crate::model::RefreshResult;

impl Cluster {
    /// Apply every message of the stream in order, from the one after the last applied, until
    /// `stop`. A broken consumer is made again from where it stopped.
    pub(super) async fn apply_loop(self, stream: stream::Stream, mut stop: watch::Receiver<bool>) {
        loop {
            let start = self.inner.store.applied_seq().unwrap_or(0) + 1;
            let mut next_seq = start;
            let consumer = stream
                .create_consumer(consumer::push::OrderedConfig {
                    deliver_subject: self.inner.client.new_inbox(),
                    filter_subject: format!("{SUBJECT_PREFIX}>"),
                    deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                        start_sequence: start,
                    },
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
            loop {
                // A watchdog: the consumer can go quiet for good after the server hosting it
                // dies. Quiet while the stream has values this node lacks means broken: read
                // again from the last applied value.
                let next = tokio::select! {
                    n = tokio::time::timeout(Duration::from_secs(5), messages.next()) => match n {
                        Ok(n) => n,
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
                let msg = match next {
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "cluster: stream consumer failed; reading again");
                        break;
                    }
                    None => break,
                };
                let Ok(info) = msg.info() else { continue };
                let seq = info.stream_sequence;
                // A consumer the client made again may replay from the start: what is applied
                // already is passed over before any decoding.
                if seq < next_seq {
                    continue;
                }
                if let Err(e) = self.apply_one(seq, &msg.payload).await {
                    // The store refused, or the value is unreadable by this build: stop here
                    // (never skip a value: the stores would differ for good), say so, and
                    // read again from the last applied value after a pause.
                    tracing::error!(seq, error = %e, "cluster: cannot apply a value");
                    *self.inner.apply_problem.lock().expect("apply problem lock") =
                        Some(format!("cannot apply stream value {seq}: {e}"));
                    if sleep_or_stop(&mut stop).await {
                        return;
                    }
                    break;
                }
                *self.inner.apply_problem.lock().expect("apply problem lock") = None;
                next_seq = seq + 1;
            }
        }
    }

    async fn apply_one(&self, seq: u64, payload: &[u8]) -> Result<(), String> {
        let result = RefreshResult::from_bytes(payload)
            .map_err(|e| format!("{e} (a value from a newer feedloom? upgrade this node)"))?;
        let store = self.inner.store.clone();
        let source = result.source.clone();
        let applied = tokio::task::spawn_blocking(move || {
            let state = result.state.clone();
            store
                .apply_logged(result, seq)
                .map(|c| c.map(|c| (state, c)))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        if let Some((mut state, counts)) = applied {
            state.items = counts.total;
            (self.inner.on_applied)(&source, &state, &counts);
        }
        let mut s = self.inner.status.lock().expect("status lock");
        s.applied_seq = s.applied_seq.max(seq);
        s.lag = s.stream_seq.saturating_sub(s.applied_seq);
        metrics::gauge!("feedloom_cluster_applied_seq").set(s.applied_seq as f64);
        Ok(())
    }
}

/// Pause a second; true when `stop` came first.
async fn sleep_or_stop(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(1)) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}
