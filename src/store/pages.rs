//! Reads for paged feeds and catch-up (see `model::cursor`): a source's index entries behind
//! a place in the feed, its articles in the order they arrived after a cursor, the greatest
//! arrival retention removed; when a source's recent articles were first seen (the source
//! page's arrivals per day); and the one-time migration that gives every article stored
//! before arrivals existed its arrival key.

use std::ops::Bound;

use chrono::{DateTime, Utc};

use super::codec::*;
use super::{IndexEntry, Store, StoreError};
use crate::model::Article;

/// Where an article stands in its source's order of arrival: ordering entries orders their
/// articles by arrival (oldest first), ties (only among migrated records) by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArrivalEntry {
    pub arrival: u64,
    pub id: [u8; 16],
}

/// Articles per batch of the migration: small batches, as with every sled write here.
const MIGRATION_BATCH: usize = 500;

impl Store {
    /// Up to `limit` index entries of `source` after `after` in feed order (older ones),
    /// newest first. `after` itself need not exist any more.
    pub fn entries_behind(
        &self,
        source: &str,
        after: IndexEntry,
        limit: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        let prefix = index_prefix(source);
        let mut start = prefix.clone();
        start.extend_from_slice(&after.order);
        start.extend_from_slice(&after.id);
        self.tails_after(&prefix, start, limit, IndexEntry::from_key_tail)
    }

    /// Up to `limit` arrival entries of `source` after `after`, oldest first.
    pub fn arrivals_after(
        &self,
        source: &str,
        after: ArrivalEntry,
        limit: usize,
    ) -> Result<Vec<ArrivalEntry>, StoreError> {
        let prefix = arrival_prefix(source);
        let start = arrival_key_raw(source, after.arrival, &after.id);
        self.tails_after(&prefix, start, limit, |tail| {
            Some(ArrivalEntry {
                arrival: u64::from_be_bytes(tail.get(..8)?.try_into().ok()?),
                id: tail.get(8..24)?.try_into().ok()?,
            })
        })
    }

    /// Up to `limit` keys under `prefix` after `start` (not included), each read from the
    /// rest of the key after the prefix; keys `read` refuses are skipped.
    fn tails_after<T>(
        &self,
        prefix: &[u8],
        start: Vec<u8>,
        limit: usize,
        read: impl Fn(&[u8]) -> Option<T>,
    ) -> Result<Vec<T>, StoreError> {
        let tree = self.tree()?;
        let range = (Bound::Excluded(start), Bound::Excluded(prefix_end(prefix)));
        let mut out = Vec::with_capacity(limit.min(1024));
        for k in tree.range(range).keys() {
            if out.len() >= limit {
                break;
            }
            if let Some(e) = read(&k?[prefix.len()..]) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The greatest arrival given so far. Written in the batch that lands it, under the apply
    /// lock, so every arrival up to it is in the tree by the time it can be read: a catch-up
    /// page reads it first and takes nothing newer, so an arrival landing during its scans
    /// (after a scan of its source has passed) is never skipped.
    pub fn last_arrival(&self) -> Result<u64, StoreError> {
        Ok(read_u64(self.tree()?.get(LAST_ARRIVAL_KEY)?))
    }

    /// The greatest arrival among the articles of `source` that retention removed (0: none).
    pub fn pruned_arrival(&self, source: &str) -> Result<u64, StoreError> {
        Ok(read_u64(self.tree()?.get(pruned_key(source))?))
    }

    /// When `source`'s articles first seen since `since` were (at most `max`), newest arrival
    /// first: the arrival index read backwards. Arrivals follow the order articles landed, and
    /// first-seen times are the clocks of the refreshes that found them, so the two agree up to
    /// clock differences between nodes; the scan stops at the first article seen a day before
    /// `since`, not at the first one before it.
    pub fn first_seen_since(
        &self,
        source: &str,
        since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let tree = self.tree()?;
        let prefix = arrival_prefix(source);
        let stop = since - chrono::Duration::days(1);
        let mut out = Vec::new();
        for k in tree.scan_prefix(&prefix).keys().rev() {
            if out.len() >= max {
                break;
            }
            let k = k?;
            let Some(id) = k.get(prefix.len() + 8..prefix.len() + 24) else {
                continue;
            };
            let mut ak = Vec::with_capacity(17);
            ak.push(P_ARTICLE);
            ak.extend_from_slice(id);
            let Some(v) = tree.get(&ak)? else { continue };
            let a: Article = decode(&ak, &v)?;
            if a.first_seen < stop {
                break;
            }
            if a.first_seen >= since {
                out.push(a.first_seen);
            }
        }
        Ok(out)
    }

    /// The articles with these ids, in this order; a missing one is skipped.
    pub fn articles_by_id(&self, ids: &[[u8; 16]]) -> Result<Vec<Article>, StoreError> {
        let tree = self.tree()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let mut ak = Vec::with_capacity(17);
            ak.push(P_ARTICLE);
            ak.extend_from_slice(id);
            if let Some(v) = tree.get(&ak)? {
                out.push(decode(&ak, &v)?);
            }
        }
        Ok(out)
    }

    /// Give every stored article its arrival key, once, for stores written before arrivals
    /// existed: their first-seen time stands in for the arrival (`Article::arrival_key`). The
    /// keys are a function of the records, so a migration cut short by a crash simply runs
    /// again. A new store is marked at once.
    pub(super) fn index_arrivals(&self) -> Result<(), StoreError> {
        let tree = self.tree()?;
        if tree.contains_key(ARRIVAL_INDEX_KEY)? {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let (mut n, mut in_batch, mut last) = (0usize, 0usize, 0u64);
        for kv in tree.scan_prefix([P_ARTICLE]) {
            let (k, v) = kv?;
            let a: Article = decode(&k, &v)?;
            last = last.max(a.arrival_key());
            batch.insert(arrival_key(&a.source, a.arrival_key(), &a.id), &[] as &[u8]);
            n += 1;
            in_batch += 1;
            if in_batch >= MIGRATION_BATCH {
                self.write(std::mem::take(&mut batch))?;
                in_batch = 0;
            }
        }
        let stored_last = read_u64(tree.get(LAST_ARRIVAL_KEY)?);
        if last > stored_last {
            batch.insert(LAST_ARRIVAL_KEY, &last.to_be_bytes()[..]);
        }
        batch.insert(ARRIVAL_INDEX_KEY, &[1u8][..]);
        self.write(batch)?;
        if n > 0 {
            tracing::info!(
                articles = n,
                "store: arrival order indexed (once, after an upgrade)"
            );
        }
        Ok(())
    }
}
