//! The live state of every source, shared by the write path (which updates it after each
//! refresh) and the read path (which shows it on `/`, `/api/sources` and `/sources/{id}`). It
//! is a plain map behind a lock: both paths get a handle to it instead of reaching for the
//! whole daemon. The shape of one poll ([`PollRecord`]) is here too; the last polls of each
//! source are kept by the store (`store::polls`), on disk, not in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{SourceState, SourceStatus};

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
    /// Boxed: a state is about 260 bytes, and a hash table keeps up to twice as many slots
    /// as entries (65,536 for 30,000 sources: 18 MB of mostly empty slots unboxed, 2 MB boxed).
    states: Mutex<HashMap<String, Box<SourceState>>>,
}

impl SourceBoard {
    pub fn new(states: impl IntoIterator<Item = (String, SourceState)>) -> SourceBoard {
        SourceBoard {
            states: Mutex::new(
                states
                    .into_iter()
                    .map(|(id, st)| (id, Box::new(st)))
                    .collect(),
            ),
        }
    }

    /// The state a refresh of source `id`, configured at `configured_url`, starts from (and
    /// what status pages show for it).
    pub fn state(&self, id: &str, configured_url: &str) -> SourceState {
        let stored = self
            .states
            .lock()
            .expect("board lock")
            .get(id)
            .map(|st| SourceState::clone(st));
        starting_state(configured_url, stored)
    }

    /// The state held for `id`, as it is (no configured URL to compare with).
    pub fn get(&self, id: &str) -> Option<SourceState> {
        self.states
            .lock()
            .expect("board lock")
            .get(id)
            .map(|st| SourceState::clone(st))
    }

    pub fn set(&self, id: &str, state: SourceState) {
        let mut states = self.states.lock().expect("board lock");
        match states.get_mut(id) {
            // In place: no new key string nor box for a source seen before.
            Some(st) => **st = state,
            None => {
                states.insert(id.to_string(), Box::new(state));
            }
        }
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
