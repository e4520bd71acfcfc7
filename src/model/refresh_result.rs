//! The result of one refresh as a self-contained value: the replication seam.
//!
//! A refresh does not write to the store itself; it makes a [`RefreshResult`] and hands it to
//! `Store::apply`, which lands it as one atomic batch. The value carries everything the apply
//! decides from — the source's new and changed articles, its retention rule, the instant of the
//! refresh and the source's new state (validators, backoff, next poll) — so that any store that
//! applies the same sequence of values ends in the same state. That is what a cluster needs: one
//! node publishes the value to a replicated log, every node applies it.
//!
//! Removals and tombstones are not listed in the value: they are derived by the apply, from the
//! value and the store it lands in (retention is "keep the newest `max_items`, none older than
//! `max_age` at `at`"). Listing them would tie the value to the publisher's copy of the store;
//! deriving them keeps the apply a deterministic function of (store, value), and makes it
//! idempotent: applying a value a second time finds every article unchanged or tombstoned and
//! writes the same state again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Article, SourceState};

/// The format version of a serialized [`RefreshResult`]; a reader refuses versions it does not
/// know instead of misreading them.
pub const REFRESH_RESULT_VERSION: u8 = 1;

/// Retention for one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub max_items: usize,
    pub max_age: Option<Duration>,
    /// How long a tombstone keeps a pruned item from coming back.
    pub tombstone_ttl: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_items: 1000,
            max_age: None,
            tombstone_ttl: Duration::from_secs(90 * 86400),
        }
    }
}

/// What one refresh of one source changes in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshResult {
    /// [`REFRESH_RESULT_VERSION`] when made by this build.
    pub version: u8,
    pub source: String,
    /// The instant of the refresh: retention ages and tombstone expiry are reckoned from it,
    /// never from the clock of the node that applies the value.
    pub at: DateTime<Utc>,
    /// The source's state after the refresh. Its `items` is recomputed by the apply when
    /// `document` is present.
    pub state: SourceState,
    /// What the fetched document held; `None` when the refresh stored no document (a 304, the
    /// same body again, a failure), and then only the state is written.
    pub document: Option<DocumentItems>,
}

/// The articles one document yielded, with the retention rule to apply after them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentItems {
    pub articles: Vec<Article>,
    pub retention: Retention,
}

impl RefreshResult {
    /// A result that stores a document's articles (possibly none, which still applies retention).
    pub fn stored(
        source: &str,
        at: DateTime<Utc>,
        state: SourceState,
        articles: Vec<Article>,
        retention: Retention,
    ) -> RefreshResult {
        RefreshResult {
            version: REFRESH_RESULT_VERSION,
            source: source.to_string(),
            at,
            state,
            document: Some(DocumentItems {
                articles,
                retention,
            }),
        }
    }

    /// A result that only records the source's state.
    pub fn state_only(source: &str, at: DateTime<Utc>, state: SourceState) -> RefreshResult {
        RefreshResult {
            version: REFRESH_RESULT_VERSION,
            source: source.to_string(),
            at,
            state,
            document: None,
        }
    }

    /// The value as bytes for a log or a wire: a version byte, then JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![self.version];
        serde_json::to_writer(&mut out, self).expect("model types always serialize");
        out
    }

    /// Read a value written by [`RefreshResult::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<RefreshResult, String> {
        match bytes.split_first() {
            Some((&REFRESH_RESULT_VERSION, body)) => {
                serde_json::from_slice(body).map_err(|e| e.to_string())
            }
            Some((v, _)) => Err(format!("unknown refresh result version {v}")),
            None => Err("empty refresh result".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_bytes() {
        let now = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let state = SourceState {
            etag: Some("\"v1\"".into()),
            consecutive_failures: 2,
            next_poll: Some(now),
            ..Default::default()
        };
        let r = RefreshResult::stored(
            "a",
            now,
            state.clone(),
            vec![Article::sample("a", 1, 1), Article::sample("a", 2, 2)],
            Retention {
                max_age: Some(Duration::from_secs(86400)),
                ..Retention::default()
            },
        );
        assert_eq!(RefreshResult::from_bytes(&r.to_bytes()).unwrap(), r);
        let s = RefreshResult::state_only("a", now, state);
        assert_eq!(RefreshResult::from_bytes(&s.to_bytes()).unwrap(), s);
        let mut wrong = s.to_bytes();
        wrong[0] = 9;
        assert!(RefreshResult::from_bytes(&wrong)
            .unwrap_err()
            .contains("version 9"));
    }
}
