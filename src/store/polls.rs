//! Each source's last [`POLL_HISTORY`] polls, as the source page shows them. Node-local (in a
//! cluster each node keeps the polls it made), never replicated, and on disk rather than in
//! memory: a history held in memory grew to 3 KB a source once it was full (30 MB on a node
//! polling 10,000 sources), and a restart forgot it.
//!
//! | key                            | value                                            |
//! |--------------------------------|--------------------------------------------------|
//! | `H` source_id `\0` slot (1)    | one poll: [`encode_poll`]                         |
//! | `H` source_id `\0` `0xFF`      | the slot the next poll goes to (1 byte)          |
//!
//! The slots form a ring of [`POLL_HISTORY`] per source, so a poll costs one read and one
//! two-key batch whatever the history's length, and nothing needs deleting as polls age.

use std::time::Duration;

use chrono::DateTime;

use super::{Store, StoreError};
use crate::model::board::{PollOutcome, PollRecord};

/// Polls remembered per source.
pub const POLL_HISTORY: usize = 100;

const P_POLL: u8 = b'H';
const NEXT_SLOT: u8 = 0xFF;
/// Error texts are cut to this many bytes: a page of HTML quoted in an error is not history.
const MAX_ERROR_BYTES: usize = 512;

fn prefix(source: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(source.len() + 3);
    k.push(P_POLL);
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k
}

fn slot_key(source: &str, slot: u8) -> Vec<u8> {
    let mut k = prefix(source);
    k.push(slot);
    k
}

/// 23 bytes and the error text: milliseconds since the epoch (8), duration in ms (4, saturated
/// at 49 days), bytes (4, saturated at 4 GB), new and updated items (2 each, saturated), the
/// outcome (1), and the error text's length (2) before the text.
fn encode_poll(p: &PollRecord) -> Vec<u8> {
    let error = p
        .error
        .as_deref()
        .map(|e| cut(e, MAX_ERROR_BYTES))
        .unwrap_or("");
    let mut v = Vec::with_capacity(23 + error.len());
    v.extend_from_slice(&p.at.timestamp_millis().to_be_bytes());
    v.extend_from_slice(&saturate_u32(p.duration.as_millis()).to_be_bytes());
    v.extend_from_slice(&saturate_u32(u128::from(p.bytes)).to_be_bytes());
    v.extend_from_slice(&u16::try_from(p.new).unwrap_or(u16::MAX).to_be_bytes());
    v.extend_from_slice(&u16::try_from(p.updated).unwrap_or(u16::MAX).to_be_bytes());
    v.push(outcome_code(p.outcome));
    v.extend_from_slice(&(error.len() as u16).to_be_bytes());
    v.extend_from_slice(error.as_bytes());
    v
}

fn decode_poll(v: &[u8]) -> Option<PollRecord> {
    let at = i64::from_be_bytes(v.get(0..8)?.try_into().ok()?);
    let millis = u32::from_be_bytes(v.get(8..12)?.try_into().ok()?);
    let bytes = u32::from_be_bytes(v.get(12..16)?.try_into().ok()?);
    let new = u16::from_be_bytes(v.get(16..18)?.try_into().ok()?);
    let updated = u16::from_be_bytes(v.get(18..20)?.try_into().ok()?);
    let outcome = outcome_of(*v.get(20)?)?;
    let len = usize::from(u16::from_be_bytes(v.get(21..23)?.try_into().ok()?));
    let error = v.get(23..23 + len)?;
    Some(PollRecord {
        at: DateTime::from_timestamp_millis(at)?,
        outcome,
        duration: Duration::from_millis(u64::from(millis)),
        bytes: u64::from(bytes),
        new: usize::from(new),
        updated: usize::from(updated),
        error: (!error.is_empty()).then(|| String::from_utf8_lossy(error).into_owned()),
    })
}

fn saturate_u32(n: u128) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The longest prefix of `s` within `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn outcome_code(o: PollOutcome) -> u8 {
    match o {
        PollOutcome::Stored => 0,
        PollOutcome::NotModified => 1,
        PollOutcome::Unchanged => 2,
        PollOutcome::Failed => 3,
        PollOutcome::Gone => 4,
    }
}

fn outcome_of(code: u8) -> Option<PollOutcome> {
    Some(match code {
        0 => PollOutcome::Stored,
        1 => PollOutcome::NotModified,
        2 => PollOutcome::Unchanged,
        3 => PollOutcome::Failed,
        4 => PollOutcome::Gone,
        _ => return None,
    })
}

impl Store {
    /// Remember a poll of `source`, in place of its oldest once there are [`POLL_HISTORY`].
    pub fn record_poll(&self, source: &str, poll: &PollRecord) -> Result<(), StoreError> {
        let t = self.tree()?;
        let next_key = slot_key(source, NEXT_SLOT);
        let slot = match t
            .get(&next_key)?
            .as_deref()
            .and_then(|v| v.first().copied())
        {
            Some(s) if usize::from(s) < POLL_HISTORY => s,
            _ => 0,
        };
        let mut batch = sled::Batch::default();
        batch.insert(slot_key(source, slot), encode_poll(poll));
        let next = (usize::from(slot) + 1) % POLL_HISTORY;
        batch.insert(next_key, vec![next as u8]);
        self.note(t.apply_batch(batch))
    }

    /// The last polls of `source`, oldest first (empty when it was never polled here). A
    /// record this build cannot read is passed over: it is a picture, not data.
    pub fn polls(&self, source: &str) -> Result<Vec<PollRecord>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree()?.scan_prefix(prefix(source)) {
            let (k, v) = kv?;
            if k.last() == Some(&NEXT_SLOT) {
                continue;
            }
            if let Some(p) = decode_poll(&v) {
                out.push(p);
            }
        }
        out.sort_by_key(|p| p.at);
        Ok(out)
    }

    /// Forget the polls of a source no longer configured.
    pub fn forget_polls(&self, source: &str) -> Result<(), StoreError> {
        self.remove_prefixed(&[&prefix(source)])
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
    fn the_last_hundred_polls_are_kept_oldest_first_across_a_reopen() {
        let (dir, store) = crate::store::tests::open();
        assert!(store.polls("a").unwrap().is_empty());
        for n in 0..POLL_HISTORY + 7 {
            store.record_poll("a", &poll(n)).unwrap();
        }
        store.record_poll("a-b", &poll(1)).unwrap();
        let a = store.polls("a").unwrap();
        assert_eq!(a.len(), POLL_HISTORY);
        assert_eq!(a.first().unwrap().new, 7, "the oldest seven went");
        assert_eq!(a.last().unwrap().new, POLL_HISTORY + 6);
        assert_eq!(a[5], poll(12));
        drop(store);
        let store = Store::open(&dir.path().join("db")).unwrap();
        assert_eq!(store.polls("a").unwrap().len(), POLL_HISTORY);
        assert_eq!(store.polls("a-b").unwrap(), vec![poll(1)]);
        store.record_poll("a", &poll(500)).unwrap();
        let a = store.polls("a").unwrap();
        assert_eq!(a.len(), POLL_HISTORY);
        assert_eq!(a.first().unwrap().new, 8);
        assert_eq!(a.last().unwrap().new, 500);
        store.forget_polls("a").unwrap();
        assert!(store.polls("a").unwrap().is_empty());
        assert_eq!(store.polls("a-b").unwrap().len(), 1);
    }

    #[test]
    fn error_texts_and_saturated_figures_round_trip() {
        let (_dir, store) = crate::store::tests::open();
        let long = "é".repeat(400);
        let failed = PollRecord {
            outcome: PollOutcome::Failed,
            error: Some(long.clone()),
            bytes: u64::MAX,
            new: 1_000_000,
            ..poll(3)
        };
        store.record_poll("s", &failed).unwrap();
        let got = store.polls("s").unwrap().remove(0);
        assert_eq!(got.outcome, PollOutcome::Failed);
        assert_eq!(got.bytes, u64::from(u32::MAX));
        assert_eq!(got.new, usize::from(u16::MAX));
        let e = got.error.unwrap();
        assert_eq!(e.len(), MAX_ERROR_BYTES);
        assert!(long.starts_with(&e));
    }
}
