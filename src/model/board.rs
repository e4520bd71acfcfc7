//! The live state of every source, shared by the write path (which updates it after each
//! refresh) and the read path (which shows it on `/`, `/api/sources` and `/sources/{id}`). It
//! is a plain map behind a lock: both paths get a handle to it instead of reaching for the
//! whole daemon. Next to it, each source's last [`POLL_HISTORY`] polls, kept in memory only
//! (a restart starts them afresh): a picture of recent behaviour, not a record to replicate.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{SourceState, SourceStatus};

/// Polls remembered per source.
pub const POLL_HISTORY: usize = 100;

/// How one poll ended, as the source page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    /// A document was read and stored (new, changed or no different items).
    Stored,
    /// 304 from the origin.
    NotModified,
    /// The same bytes as last time: nothing parsed.
    Unchanged,
    Failed,
    /// HTTP 410: polling stopped.
    Gone,
}

impl PollOutcome {
    pub fn label(self) -> &'static str {
        match self {
            PollOutcome::Stored => "ok",
            PollOutcome::NotModified => "not modified",
            PollOutcome::Unchanged => "unchanged",
            PollOutcome::Failed => "failed",
            PollOutcome::Gone => "gone",
        }
    }

    /// A failure, drawn apart from the others.
    pub fn is_failure(self) -> bool {
        matches!(self, PollOutcome::Failed | PollOutcome::Gone)
    }
}

/// One poll of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct PollRecord {
    /// When it ended.
    pub at: DateTime<Utc>,
    pub outcome: PollOutcome,
    pub duration: Duration,
    /// Bytes of the document fetched (0 for a 304 or a failure before the body).
    pub bytes: u64,
    pub new: usize,
    pub updated: usize,
    /// The error in words (already redacted where it was made).
    pub error: Option<String>,
}

/// Every source's latest state, as loaded from the store at start and updated by refreshes.
#[derive(Debug, Default)]
pub struct SourceBoard {
    states: Mutex<HashMap<String, SourceState>>,
    /// The last polls of each source, oldest first. A lock of its own: recording a poll never
    /// waits for a page reading states, and the other way round.
    polls: Mutex<HashMap<String, History>>,
}

/// One source's last polls, compact: 24 bytes a poll, and the error texts of its last
/// [`ERRORS_KEPT`] failures apart (a source that never fails keeps none). A history of full
/// [`PollRecord`]s, allocated whole at the first poll, cost 8.8 KB a source: 88 MB on a node
/// polling 10,000 sources.
#[derive(Debug, Default)]
struct History {
    polls: VecDeque<Slot>,
    errors: VecDeque<(i64, std::sync::Arc<str>)>,
}

/// Failures whose error text is kept per source (the source page lists the last ten polls).
const ERRORS_KEPT: usize = 10;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Milliseconds since the epoch.
    at: i64,
    millis: u32,
    bytes: u32,
    new: u16,
    updated: u16,
    outcome: PollOutcome,
}

impl SourceBoard {
    pub fn new(states: impl IntoIterator<Item = (String, SourceState)>) -> SourceBoard {
        SourceBoard {
            states: Mutex::new(states.into_iter().collect()),
            polls: Mutex::default(),
        }
    }

    /// Remember a poll of `id`; the oldest one goes once there are [`POLL_HISTORY`]. Figures
    /// beyond what the compact record holds are saturated (4 GB, 65,535 items, 49 days).
    pub fn record_poll(&self, id: &str, poll: PollRecord) {
        let at = poll.at.timestamp_millis();
        let slot = Slot {
            at,
            millis: u32::try_from(poll.duration.as_millis()).unwrap_or(u32::MAX),
            bytes: u32::try_from(poll.bytes).unwrap_or(u32::MAX),
            new: u16::try_from(poll.new).unwrap_or(u16::MAX),
            updated: u16::try_from(poll.updated).unwrap_or(u16::MAX),
            outcome: poll.outcome,
        };
        let mut polls = self.polls.lock().expect("board lock");
        let h = match polls.get_mut(id) {
            Some(h) => h,
            None => polls.entry(id.to_string()).or_default(),
        };
        if h.polls.len() >= POLL_HISTORY {
            h.polls.pop_front();
        }
        h.polls.push_back(slot);
        if let Some(e) = poll.error {
            // A failing source tends to fail the same way: the text is shared, not copied.
            let text = match h.errors.back() {
                Some((_, last)) if **last == *e => last.clone(),
                _ => std::sync::Arc::from(e.as_str()),
            };
            if h.errors.len() >= ERRORS_KEPT {
                h.errors.pop_front();
            }
            h.errors.push_back((at, text));
        }
    }

    /// The last polls of `id`, oldest first (empty when it was not polled since the start);
    /// the error text only for the last failures.
    pub fn polls(&self, id: &str) -> Vec<PollRecord> {
        let polls = self.polls.lock().expect("board lock");
        let Some(h) = polls.get(id) else {
            return Vec::new();
        };
        h.polls
            .iter()
            .map(|s| PollRecord {
                at: DateTime::from_timestamp_millis(s.at).unwrap_or_default(),
                outcome: s.outcome,
                duration: Duration::from_millis(u64::from(s.millis)),
                bytes: u64::from(s.bytes),
                new: usize::from(s.new),
                updated: usize::from(s.updated),
                error: s
                    .outcome
                    .is_failure()
                    .then(|| h.errors.iter().rev().find(|(at, _)| *at == s.at))
                    .flatten()
                    .map(|(_, e)| e.to_string()),
            })
            .collect()
    }

    /// The state a refresh of source `id`, configured at `configured_url`, starts from (and
    /// what status pages show for it).
    pub fn state(&self, id: &str, configured_url: &str) -> SourceState {
        let stored = self.states.lock().expect("board lock").get(id).cloned();
        starting_state(configured_url, stored)
    }

    /// The state held for `id`, as it is (no configured URL to compare with).
    pub fn get(&self, id: &str) -> Option<SourceState> {
        self.states.lock().expect("board lock").get(id).cloned()
    }

    pub fn set(&self, id: &str, state: SourceState) {
        self.states
            .lock()
            .expect("board lock")
            .insert(id.to_string(), state);
    }

    /// Change a source's state in place, if it is known.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut SourceState)) {
        if let Some(st) = self.states.lock().expect("board lock").get_mut(id) {
            f(st);
        }
    }
}

/// The state to start from: a changed configured URL forgets redirects, validators and `gone`.
pub fn starting_state(configured_url: &str, stored: Option<SourceState>) -> SourceState {
    let configured = configured_url.to_string();
    match stored {
        Some(s) if s.configured_url.as_deref() == Some(configured.as_str()) => s,
        Some(s) => SourceState {
            configured_url: Some(configured.clone()),
            url: Some(configured),
            status: SourceStatus::Pending,
            consecutive_failures: 0,
            last_poll: s.last_poll,
            last_success: s.last_success,
            ..Default::default()
        },
        None => SourceState {
            configured_url: Some(configured.clone()),
            url: Some(configured),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(n: usize) -> PollRecord {
        PollRecord {
            at: DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap(),
            outcome: PollOutcome::Stored,
            duration: Duration::from_millis(n as u64),
            bytes: n as u64,
            new: n,
            updated: 0,
            error: None,
        }
    }

    #[test]
    fn error_texts_are_kept_for_the_last_failures_only() {
        let board = SourceBoard::default();
        for n in 0..30 {
            board.record_poll(
                "a",
                PollRecord {
                    outcome: PollOutcome::Failed,
                    error: Some(format!("boom {}", n / 20)),
                    ..poll(n)
                },
            );
        }
        let a = board.polls("a");
        assert_eq!(a.len(), 30);
        assert!(a[..20].iter().all(|p| p.error.is_none()));
        assert!(a[20..].iter().all(|p| p.error.as_deref() == Some("boom 1")));
        assert_eq!(a[29].duration, Duration::from_millis(29));
    }

    #[test]
    fn poll_history_keeps_the_last_hundred_oldest_first() {
        let board = SourceBoard::default();
        assert!(board.polls("a").is_empty());
        for n in 0..POLL_HISTORY + 7 {
            board.record_poll("a", poll(n));
        }
        board.record_poll("b", poll(1));
        let a = board.polls("a");
        assert_eq!(a.len(), POLL_HISTORY);
        assert_eq!(a.first().unwrap().new, 7, "the oldest seven went");
        assert_eq!(a.last().unwrap().new, POLL_HISTORY + 6);
        assert_eq!(board.polls("b").len(), 1);
    }
}
