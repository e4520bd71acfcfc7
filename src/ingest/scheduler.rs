//! Decides when each source is refreshed: at start (spread out, not in one burst), then at the
//! `next_poll` each refresh computed (interval with jitter, origin hints, backoff). Never two
//! refreshes of one source at once; at most `poll.concurrency` refreshes daemon-wide (requests
//! are further limited per host inside the fetcher).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::state::Ingest;
use crate::ingest::refresh::{self, RefreshCtx, RefreshReport};
use crate::model::SourceStatus;

/// How long shutdown waits for in-flight refreshes before giving up on them.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running poll checks that its permit still holds.
const LEASE_CHECK: Duration = Duration::from_millis(200);

/// When a source seen for the first time in this process is first polled: within a window that
/// grows with the number of sources (a few hundred polls a second at most at start), in the
/// order of the sources' slots from now (so that the second polls, which land on the slots,
/// follow one another evenly), and no sooner than a stored `next_poll` from before a restart
/// (politeness survives restarts).
fn first_due(
    id: &str,
    interval: Duration,
    n_sources: usize,
    stored_next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let window = Duration::from_millis(5 * n_sources as u64)
        .min(interval)
        .min(Duration::from_secs(120));
    let offset = window.mul_f64(refresh::slot_ahead(id, interval.as_secs_f64(), now));
    let spread = now + chrono::Duration::from_std(offset).unwrap_or_default();
    match stored_next {
        Some(t) if t > spread => t,
        _ => spread,
    }
}

/// The source's next slot on the wall clock (within one interval from `now`).
fn next_slot(id: &str, interval: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let ahead = refresh::slot_ahead(id, interval.as_secs_f64(), now);
    now + chrono::Duration::from_std(interval.mul_f64(ahead)).unwrap_or_default()
}

/// Run until `stop` turns true; then stop starting refreshes and wait (bounded) for those in
/// flight, so their writes land.
pub async fn run(state: Arc<Ingest>, mut stop: watch::Receiver<bool>) {
    // Due times, twice: by source (to replace one) and ordered by time (to find what is due
    // without scanning every source on each wake-up; thousands of sources are expected).
    let mut due: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut queue: BTreeSet<(DateTime<Utc>, String)> = BTreeSet::new();
    let mut running: HashSet<String> = HashSet::new();
    let mut claims: HashMap<String, super::state::Claim> = HashMap::new();
    // Sources put off to their slot once after a take-over (see `Ingest::takeover_slack`).
    let mut deferred: HashSet<String> = HashSet::new();
    // Sources whose interval or URL a reload changed, brought forward: due at the time the
    // scheduler gave them, not the later one their stored state names (made with the old
    // settings).
    let mut rescheduled: HashSet<String> = HashSet::new();
    let mut tasks: JoinSet<RefreshReport> = JoinSet::new();
    let mut task_sources: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut synced: Option<Arc<crate::config::Config>> = None;
    let set_due = |due: &mut HashMap<String, DateTime<Utc>>,
                   queue: &mut BTreeSet<(DateTime<Utc>, String)>,
                   id: &str,
                   at: DateTime<Utc>| {
        if let Some(old) = due.insert(id.to_string(), at) {
            queue.remove(&(old, id.to_string()));
        }
        queue.insert((at, id.to_string()));
    };
    loop {
        if *stop.borrow() {
            break;
        }
        let cfg = state.config.load_full();
        let now = Utc::now();
        // Follow the config (at start and after each reload): new sources get a first due
        // time, removed ones are dropped.
        if !synced.as_ref().is_some_and(|c| Arc::ptr_eq(c, &cfg)) {
            due.retain(|id, _| cfg.sources.contains_key(id));
            queue.retain(|(_, id)| cfg.sources.contains_key(id));
            rescheduled.retain(|id| cfg.sources.contains_key(id));
            // A changed interval or URL takes effect now, not at the due time the old settings
            // gave: the source is due at its slot within the new interval, when that is sooner.
            if let Some(old) = &synced {
                for (id, src) in &cfg.sources {
                    let Some(before) = old.sources.get(id) else {
                        continue;
                    };
                    if before.interval == src.interval && before.url == src.url {
                        continue;
                    }
                    let Some(current) = due.get(id).copied() else {
                        continue;
                    };
                    let at = next_slot(id, src.interval, now);
                    if at < current {
                        set_due(&mut due, &mut queue, id, at);
                        rescheduled.insert(id.clone());
                    }
                }
            }
            for (id, src) in &cfg.sources {
                if due.contains_key(id) || running.contains(id) {
                    continue;
                }
                let st = state.source_state(src);
                if st.status == SourceStatus::Gone {
                    continue;
                }
                let at = first_due(id, src.interval, cfg.sources.len(), st.next_poll, now);
                set_due(&mut due, &mut queue, id, at);
            }
            synced = Some(cfg.clone());
        }
        // Start what is due, oldest first, within the concurrency limit.
        while tasks.len() < cfg.poll.concurrency {
            let Some((at, id)) = queue.first().cloned() else {
                break;
            };
            if at > now {
                break;
            }
            queue.pop_first();
            due.remove(&id);
            let Some(src) = cfg.sources.get(&id).cloned() else {
                continue;
            };
            // Held from before the state is read until the new one is on the board.
            let Some(claim) = state.refreshing.claim(&id) else {
                // A pushed document of it is being stored: look again shortly.
                let soon = now + chrono::Duration::milliseconds(500);
                set_due(&mut due, &mut queue, &id, soon);
                continue;
            };
            let prev = state.source_state(&src);
            let permit = match (state.ownership)(&id) {
                Ok(permit) => permit,
                // Another cluster node polls it (or this one holds no lease yet): look again
                // when it is next due by the state its owner published, or when ownership
                // may have changed.
                Err(retry) => {
                    let soon = now + chrono::Duration::from_std(retry).unwrap_or_default();
                    let again = prev.next_poll.filter(|t| *t > soon).unwrap_or(soon);
                    set_due(&mut due, &mut queue, &id, again);
                    continue;
                }
            };
            // The state may say later than the queue: a cluster node that just took the source
            // over continues at the next poll time its previous owner published.
            let brought_forward = rescheduled.remove(&id);
            if let Some(next) = prev.next_poll.filter(|t| *t > now && !brought_forward) {
                drop(permit);
                set_due(&mut due, &mut queue, &id, next);
                continue;
            }
            if let (Some(slack), Some(next)) = (state.takeover_slack, prev.next_poll) {
                let overdue = (now - next).to_std().unwrap_or_default();
                if overdue > slack && deferred.insert(id.clone()) {
                    drop(permit);
                    set_due(&mut due, &mut queue, &id, next_slot(&id, src.interval, now));
                    continue;
                }
            }
            deferred.remove(&id);
            running.insert(id.clone());
            claims.insert(id.clone(), claim);
            let st = state.clone();
            let stop = stop.clone();
            let handle = tasks.spawn(async move {
                // The permit lives as long as the refresh: a cluster node keeps its lease
                // until the poll is over. A lease that runs out unrenewed (NATS away) ends the
                // poll, request and all: another node may poll the source from then on, and
                // the origin must never see two nodes' requests at once.
                let ctx = RefreshCtx {
                    stop: Some(stop),
                    ..st.refresh_ctx()
                };
                if !permit.can_be_lost() {
                    return refresh::refresh(&ctx, &src, prev).await;
                }
                let poll = refresh::refresh(&ctx, &src, prev.clone());
                tokio::pin!(poll);
                loop {
                    tokio::select! {
                        report = &mut poll => return report,
                        _ = tokio::time::sleep(LEASE_CHECK) => {
                            if permit.lost() {
                                tracing::warn!(source = %src.id, "the lease of the source's partition ran out during its poll; the poll is abandoned");
                                return refresh::abandoned(&src.id, prev, "the lease of its partition ran out during the poll");
                            }
                        }
                    }
                }
            });
            task_sources.insert(handle.id(), id);
        }
        let next_wake = queue
            .first()
            .map(|(t, _)| (*t - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(20), Duration::from_secs(1));
        tokio::select! {
            _ = stop.changed() => {}
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                match joined {
                    Ok((task, report)) => {
                        task_sources.remove(&task);
                        running.remove(&report.source);
                        if let Some(next) = report.state.next_poll {
                            set_due(&mut due, &mut queue, &report.source, next);
                        }
                        let claim = claims.remove(&report.source);
                        state.finish_refresh(report);
                        drop(claim);
                    }
                    Err(e) => {
                        // A panicking refresh is a bug, but only that source pays: it is
                        // tried again one interval later.
                        let source = task_sources.remove(&e.id()).unwrap_or_default();
                        tracing::error!(%source, error = %e, "a refresh task panicked");
                        running.remove(&source);
                        claims.remove(&source);
                        if let Some(src) = state.config.load().sources.get(&source) {
                            let retry = Utc::now()
                                + chrono::Duration::from_std(src.interval).unwrap_or_default();
                            set_due(&mut due, &mut queue, &source, retry);
                        }
                    }
                }
            }
            _ = tokio::time::sleep(next_wake) => {}
        }
    }
    // Shutdown: no new refreshes; let the running ones land their writes.
    let drain = async {
        while let Some(joined) = tasks.join_next().await {
            if let Ok(report) = joined {
                state.finish_refresh(report);
            }
        }
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        tracing::warn!(
            "in-flight refreshes did not finish within {DRAIN_TIMEOUT:?}; abandoning them"
        );
        tasks.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_polls_are_spread_and_respect_stored_next_poll() {
        let now = Utc::now();
        let times: Vec<_> = (0..1000)
            .map(|i| first_due(&format!("s{i}"), Duration::from_secs(600), 1000, None, now))
            .collect();
        let max = times.iter().max().unwrap();
        let min = times.iter().min().unwrap();
        assert!((*max - *min).num_milliseconds() > 4000, "spread over ~5 s");
        let later = now + chrono::Duration::minutes(30);
        assert_eq!(
            first_due("x", Duration::from_secs(600), 1, Some(later), now),
            later
        );
    }
}
