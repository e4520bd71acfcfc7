//! Writes: one [`RefreshResult`] becomes one atomic sled batch (new and changed articles with
//! their index and URL keys, retention removals with tombstones, the source's state); the
//! background sweeps; imports.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::codec::*;
use super::{Store, StoreError};
use crate::model::{Article, RefreshResult, Retention, SourceState};

/// What a batch being built writes, so that pruning in the same batch sees the state after it:
/// index keys added and removed, the URL and arrival each written article ends up with (keyed
/// by raw id), and which of them are new (never visible before this batch).
#[derive(Default)]
struct Pending {
    added: Vec<Vec<u8>>,
    removed: HashSet<Vec<u8>>,
    written: HashMap<[u8; 16], (Option<String>, u64)>,
    new: HashSet<[u8; 16]>,
}

/// How one refresh changed the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshCounts {
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Items skipped because they were pruned before (tombstoned).
    pub tombstoned: usize,
    pub pruned: usize,
    /// Articles stored for the source after this refresh.
    pub total: usize,
}

impl RefreshCounts {
    pub fn changed(&self) -> bool {
        self.new > 0 || self.updated > 0 || self.pruned > 0
    }
}

/// Two versions of an article are the same when everything but the first-seen time matches.
fn same_content(a: &Article, b: &Article) -> bool {
    a.url == b.url
        && a.title == b.title
        && a.content_html == b.content_html
        && a.summary_html == b.summary_html
        && a.published == b.published
        && a.updated == b.updated
        && a.authors == b.authors
        && a.categories == b.categories
        && a.enclosures == b.enclosures
        && a.origin == b.origin
        && a.editors == b.editors
        && a.site == b.site
        && a.guid == b.guid
        && a.full_text == b.full_text
}

/// The expiry (Unix seconds) a tombstone record starts with.
fn tomb_expiry(t: &[u8]) -> i64 {
    t.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .unwrap_or(0)
}

impl Store {
    /// Apply one refresh result atomically: new and changed articles with their index
    /// entries, retention pruning (with tombstones), and the source's new state. A crash leaves
    /// either all of it or none of it. Applying the same value again changes nothing (every
    /// article is found unchanged or tombstoned; the same state is written), so a replicated
    /// log may deliver a value more than once.
    pub fn apply(&self, result: RefreshResult) -> Result<RefreshCounts, StoreError> {
        // Arrivals must become visible in the order they are given, or a catch-up reader could
        // see a later one before an earlier one lands and skip the earlier for good: one
        // document is applied at a time.
        let _one_at_a_time = self.one_at_a_time();
        let last_arrival = read_u64(self.tree()?.get(LAST_ARRIVAL_KEY)?);
        let mut next_arrival = last_arrival;
        let mut batch = sled::Batch::default();
        let counts = self.stage(&mut batch, &mut next_arrival, result, None)?;
        if next_arrival != last_arrival {
            batch.insert(LAST_ARRIVAL_KEY, &next_arrival.to_be_bytes()[..]);
        }
        self.write(batch)?;
        Ok(counts)
    }

    /// Apply a result that came from the replicated log at stream sequence `seq`, recording the
    /// sequence in the same batch, so that a node resumes exactly after the last value it
    /// applied. A value at or below the recorded sequence is skipped (`None`): the log
    /// delivered it again. A group of one (see [`Store::apply_logged_group`]).
    pub fn apply_logged(
        &self,
        result: RefreshResult,
        seq: u64,
    ) -> Result<Option<RefreshCounts>, StoreError> {
        Ok(self
            .apply_logged_group(vec![(seq, result)])?
            .pop()
            .flatten())
    }

    /// Remove the articles this store holds exactly as they are (`same_content`) from a
    /// document about to be published: applying them would change nothing. An article whose
    /// URL another entry of the document shares stays, since which of them is first decides
    /// what the apply does with the other.
    pub fn drop_unchanged(&self, articles: &mut Vec<Article>) {
        let mut urls: HashMap<&str, usize> = HashMap::new();
        for a in articles.iter() {
            if let Some(u) = &a.url {
                *urls.entry(u.as_str()).or_default() += 1;
            }
        }
        let keep: Vec<bool> = articles
            .iter()
            .map(|a| {
                if a.url.as_deref().is_some_and(|u| urls[u] > 1) {
                    return true;
                }
                !matches!(self.article(&a.id), Ok(Some(old)) if same_content(&old, a))
            })
            .collect();
        let mut keep = keep.into_iter();
        articles.retain(|_| keep.next().unwrap_or(true));
    }

    /// Apply values that came from the replicated log, in stream order, as **one** sled batch
    /// with the last one's sequence: what the batch holds lands all together or not at all.
    /// Values at or below the recorded sequence are skipped (`None` in their place).
    ///
    /// Why: sled writes out its log buffer twice for every batch (`pin_log` rolls it before
    /// and after its reservation), a `pwrite` and a `sync_file_range` each time, and that was
    /// most of what applying a value cost. A group of values pays it once.
    ///
    /// The values must be of distinct sources. A value reads only its own source's keys (its
    /// articles, URL and index keys, tombstones, pruned mark: article ids hash the source), so
    /// staging values of distinct sources into one batch gives what applying them one by one
    /// gives; two values of one source would each read the tree without the other's writes.
    /// Such a group is refused, not applied wrongly.
    pub fn apply_logged_group(
        &self,
        values: Vec<(u64, RefreshResult)>,
    ) -> Result<Vec<Option<RefreshCounts>>, StoreError> {
        let mut sources = HashSet::new();
        if let Some((_, twice)) = values
            .iter()
            .find(|(_, r)| !sources.insert(r.source.as_str()))
        {
            return Err(StoreError::SourceTwiceInGroup(twice.source.clone()));
        }
        drop(sources);
        // One group at a time, as `apply` takes one document at a time.
        let _one_at_a_time = self.one_at_a_time();
        let tree = self.tree()?;
        let applied = read_u64(tree.get(APPLIED_SEQ_KEY)?);
        let last_arrival = read_u64(tree.get(LAST_ARRIVAL_KEY)?);
        let mut next_arrival = last_arrival;
        let mut batch = sled::Batch::default();
        let mut last_seq = None;
        let mut out = Vec::with_capacity(values.len());
        for (seq, result) in values {
            if seq <= applied || last_seq.is_some_and(|l| seq <= l) {
                out.push(None);
                continue;
            }
            out.push(Some(self.stage(
                &mut batch,
                &mut next_arrival,
                result,
                Some(seq),
            )?));
            last_seq = Some(seq);
        }
        let Some(last_seq) = last_seq else {
            return Ok(out);
        };
        batch.insert(APPLIED_SEQ_KEY, &last_seq.to_be_bytes()[..]);
        if next_arrival != last_arrival {
            batch.insert(LAST_ARRIVAL_KEY, &next_arrival.to_be_bytes()[..]);
        }
        self.write(batch)?;
        Ok(out)
    }

    /// Add one value's writes to `batch` (under the apply lock; the caller writes the batch
    /// and the global keys).
    fn stage(
        &self,
        batch: &mut sled::Batch,
        next_arrival: &mut u64,
        result: RefreshResult,
        seq: Option<u64>,
    ) -> Result<RefreshCounts, StoreError> {
        let source = result.source.as_str();
        let Some(doc) = result.document else {
            batch.insert(source_key(source), encode(&result.state));
            return Ok(RefreshCounts {
                total: result.state.items,
                ..RefreshCounts::default()
            });
        };
        self.stage_document(
            batch,
            next_arrival,
            source,
            doc.articles,
            &result.state,
            doc.retention,
            result.at,
            seq,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn stage_document(
        &self,
        batch: &mut sled::Batch,
        next_arrival: &mut u64,
        source: &str,
        articles: Vec<Article>,
        state: &SourceState,
        retention: Retention,
        now: DateTime<Utc>,
        seq: Option<u64>,
    ) -> Result<RefreshCounts, StoreError> {
        let tree = self.tree()?;
        let mut counts = RefreshCounts::default();
        // Index entries this batch adds or removes, so pruning sees the post-batch picture.
        let mut pending = Pending::default();
        let mut seen_ids = HashSet::new();

        // Canonical URLs this batch writes: a second entry with one of them is the same story.
        let mut batch_urls = HashSet::new();
        for (position, mut art) in articles.into_iter().enumerate() {
            art.arrival = None;
            let tk = tomb_key(&art.id);
            if let Some(t) = tree.get(&tk)? {
                if tomb_expiry(&t) > now.timestamp() {
                    counts.tombstoned += 1;
                    continue;
                }
                batch.remove(tk);
                // The expired tombstone's URL key goes with it, unless the story is back at the
                // same URL (its key is written again below).
                if let Some(old_uk) = t.get(8..).filter(|k| !k.is_empty()) {
                    let same = art
                        .url
                        .as_ref()
                        .is_some_and(|u| url_key(source, u).as_slice() == old_uk);
                    if !same {
                        batch.remove(old_uk.to_vec());
                    }
                }
            }
            // Within a source an item is also recognised by its canonical URL, so a feed that
            // changes its guids does not duplicate every story.
            let mut existing = self.article(&art.id)?;
            if existing.is_none() {
                if let Some(u) = &art.url {
                    if let Some(old_id) = tree.get(url_key(source, u))? {
                        let old_id = hex(&old_id);
                        match self.article(&old_id)? {
                            Some(old) if old.source == source => {
                                art.id = old_id;
                                existing = Some(old);
                            }
                            Some(_) => {}
                            // The URL outlived its article: it was pruned and its tombstone
                            // still stands, so the story stays out under a new guid too.
                            // An expired tombstone (not swept yet) no longer counts, as on
                            // the id path above: whether the sweep ran must not change what
                            // a value does, or stores applying the same log would differ.
                            None => {
                                let otk = tomb_key(&old_id);
                                if let Some(t) = tree.get(&otk)? {
                                    if tomb_expiry(&t) > now.timestamp() {
                                        counts.tombstoned += 1;
                                        continue;
                                    }
                                    // Its URL key is this URL's, written again below.
                                    batch.remove(otk);
                                }
                            }
                        }
                    }
                }
            }
            // Two entries of one document that are one story (the same id, or one URL that
            // leads to one stored article or to one written here): the first wins. Checked
            // after the URL lookup, which may have given this entry another entry's id.
            if !seen_ids.insert(art.id.clone()) {
                continue;
            }
            if let Some(u) = &art.url {
                if !batch_urls.insert(url_key(source, u)) {
                    continue;
                }
            }
            match existing {
                Some(old) if same_content(&old, &art) => {
                    counts.unchanged += 1;
                    continue;
                }
                Some(old) => {
                    art.first_seen = old.first_seen;
                    art.arrival = Some(old.arrival_key());
                    let old_ik = index_key(source, old.sort_time(), &old.id);
                    let new_ik = index_key(source, art.sort_time(), &art.id);
                    if old_ik != new_ik {
                        batch.remove(old_ik.clone());
                        pending.removed.insert(old_ik);
                        batch.insert(new_ik.clone(), &[] as &[u8]);
                        pending.added.push(new_ik);
                    }
                    if old.url != art.url {
                        if let Some(u) = &old.url {
                            batch.remove(url_key(source, u));
                        }
                    }
                    counts.updated += 1;
                }
                None => {
                    let ik = index_key(source, art.sort_time(), &art.id);
                    batch.insert(ik.clone(), &[] as &[u8]);
                    pending.added.push(ik);
                    let arrival = match seq {
                        // The same on every node that applies this value.
                        Some(seq) => {
                            LOGGED_ARRIVAL_BASE
                                + (seq << LOGGED_ARRIVAL_SHIFT)
                                + (position as u64).min((1 << LOGGED_ARRIVAL_SHIFT) - 1)
                        }
                        // One node: the refresh's instant, or just after the last arrival
                        // when refreshes land out of order.
                        None => (now.timestamp_micros().max(0) as u64).max(*next_arrival + 1),
                    };
                    *next_arrival = (*next_arrival).max(arrival);
                    art.arrival = Some(arrival);
                    batch.insert(arrival_key(source, arrival, &art.id), &[] as &[u8]);
                    pending.new.insert(id_bytes(&art.id));
                    counts.new += 1;
                }
            }
            if let Some(u) = &art.url {
                batch.insert(url_key(source, u), &id_bytes(&art.id)[..]);
            }
            pending
                .written
                .insert(id_bytes(&art.id), (art.url.clone(), art.arrival_key()));
            batch.insert(article_key(&art.id), encode(&art));
        }

        let (pruned, total) = self.prune_into(batch, source, &pending, retention, now)?;
        counts.pruned = pruned;
        counts.total = total;
        let mut state = state.clone();
        state.items = total;
        batch.insert(source_key(source), encode(&state));
        Ok(counts)
    }

    /// Add retention removals for `source` to `batch`: beyond `max_items` newest, or older than
    /// `max_age`. Each pruned article leaves a tombstone so that the source listing it again
    /// does not bring it back.
    fn prune_into(
        &self,
        batch: &mut sled::Batch,
        source: &str,
        pending: &Pending,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), StoreError> {
        let tree = self.tree()?;
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for k in tree.scan_prefix(index_prefix(source)).keys() {
            let k = k?;
            if !pending.removed.contains(k.as_ref()) {
                keys.push(k.to_vec());
            }
        }
        keys.extend(pending.added.iter().cloned());
        keys.sort();
        keys.dedup();
        let prefix_len = index_prefix(source).len();
        let cutoff = retention.max_age.map(|age| {
            let t = now - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
            u64::MAX - t.timestamp_micros().max(0) as u64
        });
        let expiry = (now
            + chrono::Duration::from_std(retention.tombstone_ttl)
                .unwrap_or(chrono::Duration::days(90)))
        .timestamp();
        let mut pruned = 0;
        let pruned_before = read_u64(tree.get(pruned_key(source))?);
        let mut pruned_max = pruned_before;
        for (i, k) in keys.iter().enumerate() {
            let inv = u64::from_be_bytes(
                k[prefix_len..prefix_len + 8]
                    .try_into()
                    .expect("index key layout"),
            );
            let too_old = cutoff.is_some_and(|c| inv > c);
            if i < retention.max_items && !too_old {
                continue;
            }
            let id_raw = &k[k.len() - 16..];
            let id = hex(id_raw);
            let mut ak = vec![P_ARTICLE];
            ak.extend_from_slice(id_raw);
            // An article this very batch writes has its new URL only in the batch; the tree
            // still holds the old one, whose URL key the batch removes. Taking the tree's would
            // tombstone a dead key and leave the new one behind for good.
            let (url, arrival) = match pending.written.get(id_raw) {
                Some(written) => written.clone(),
                None => match tree.get(&ak)? {
                    Some(v) => {
                        let a = decode::<Article>(&ak, &v)?;
                        let arrival = a.arrival_key();
                        (a.url, arrival)
                    }
                    None => (None, 0),
                },
            };
            let id_fixed: [u8; 16] = id_raw.try_into().expect("index key layout");
            batch.remove(k.clone());
            batch.remove(ak);
            batch.remove(arrival_key_raw(source, arrival, &id_fixed));
            // An article that arrives and is pruned in one batch was never visible: no reader
            // can have missed it.
            if !pending.new.contains(&id_fixed) {
                pruned_max = pruned_max.max(arrival);
            }
            // The URL key stays: it now marks a tombstoned URL, so HTML crawls skip it and a
            // new guid for the same story is recognised.
            let mut t = expiry.to_be_bytes().to_vec();
            if let Some(u) = url {
                t.extend_from_slice(&url_key(source, &u));
            }
            batch.insert(tomb_key(&id), t);
            pruned += 1;
        }
        if pruned_max != pruned_before {
            batch.insert(pruned_key(source), &pruned_max.to_be_bytes()[..]);
        }
        Ok((pruned, keys.len() - pruned))
    }

    /// Remove expired tombstones (and the URL keys they kept), at most `max` per call so that a
    /// sweep never holds the store for long.
    pub fn expire_tombstones(&self, now: DateTime<Utc>, max: usize) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for kv in self.tree()?.scan_prefix([P_TOMB]) {
            let (k, v) = kv?;
            let expiry = v
                .get(..8)
                .map(|b| i64::from_be_bytes(b.try_into().expect("8 bytes")))
                .unwrap_or(0);
            if expiry <= now.timestamp() {
                batch.remove(k);
                if v.len() > 8 {
                    batch.remove(&v[8..]);
                }
                n += 1;
                if n >= max {
                    break;
                }
            }
        }
        self.write(batch)?;
        Ok(n)
    }

    /// Apply retention to a source outside a refresh (the background sweep for `max_age`).
    pub fn prune(
        &self,
        source: &str,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        // Under the apply lock: an apply of the same source meanwhile would otherwise write its
        // own pruned mark over this one, or an article this sweep removes back.
        let _one_at_a_time = self.one_at_a_time();
        let mut batch = sled::Batch::default();
        let (n, _) = self.prune_into(&mut batch, source, &Pending::default(), retention, now)?;
        if n > 0 {
            self.write(batch)?;
        }
        Ok(n)
    }

    /// Store articles from an export as they are (ids, first-seen times), with their index and
    /// URL entries. An article already present is replaced.
    pub fn import_articles(&self, articles: &[Article]) -> Result<usize, StoreError> {
        let _one_at_a_time = self.one_at_a_time();
        let mut batch = sled::Batch::default();
        let last_arrival = read_u64(self.tree()?.get(LAST_ARRIVAL_KEY)?);
        let mut next_arrival = last_arrival;
        for art in articles {
            if let Some(old) = self.article(&art.id)? {
                batch.remove(index_key(&old.source, old.sort_time(), &old.id));
                batch.remove(arrival_key(&old.source, old.arrival_key(), &old.id));
            }
            batch.insert(
                index_key(&art.source, art.sort_time(), &art.id),
                &[] as &[u8],
            );
            batch.insert(
                arrival_key(&art.source, art.arrival_key(), &art.id),
                &[] as &[u8],
            );
            next_arrival = next_arrival.max(art.arrival_key());
            if let Some(u) = &art.url {
                batch.insert(url_key(&art.source, u), &id_bytes(&art.id)[..]);
            }
            batch.insert(article_key(&art.id), encode(art));
        }
        if next_arrival != last_arrival {
            batch.insert(LAST_ARRIVAL_KEY, &next_arrival.to_be_bytes()[..]);
        }
        self.write(batch)?;
        Ok(articles.len())
    }
}
