//! The only module that touches sled. Everything persisted goes through this narrow interface:
//! put one refresh batch, read a source's newest articles, read and write source state.
//!
//! Layout: one sled tree, keys prefixed by record kind, so that a whole refresh is one atomic
//! `apply_batch` (sled batches on one tree are atomic across crashes; multi-tree transactions are
//! slower and have been the subject of corruption reports):
//!
//! | key                                                     | value                        |
//! |---------------------------------------------------------|------------------------------|
//! | `S` source_id                                           | versioned [`SourceState`]    |
//! | `A` article_id (16 bytes)                               | versioned [`Article`]        |
//! | `I` source_id `\0` inverted sort time (8 BE) article_id | empty (newest first in scans)|
//! | `U` hash(source_id, canonical URL) (16 bytes)           | article_id                   |
//! | `T` article_id                                          | tombstone: expiry (8 BE) + URL key |
//!
//! Source ids never contain `\0` (config validation allows letters, digits, `-_.`), so the index
//! prefix of one source never overlaps another's.

use std::path::Path;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::model::{Article, SourceState};

/// Version byte in front of every record, so later formats can migrate old ones.
const RECORD_VERSION: u8 = 1;

const P_SOURCE: u8 = b'S';
const P_ARTICLE: u8 = b'A';
const P_INDEX: u8 = b'I';
const P_URL: u8 = b'U';
const P_TOMB: u8 = b'T';

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// What a batch being built writes, so that pruning in the same batch sees the state after it:
/// index keys added and removed, and the URL each written article ends up with (keyed by raw id).
#[derive(Default)]
struct Pending {
    added: Vec<Vec<u8>>,
    removed: std::collections::HashSet<Vec<u8>>,
    urls: std::collections::HashMap<[u8; 16], Option<String>>,
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

/// Retention for one source.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_items: usize,
    pub max_age: Option<std::time::Duration>,
    /// How long a tombstone keeps a pruned item from coming back.
    pub tombstone_ttl: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_items: 1000,
            max_age: None,
            tombstone_ttl: std::time::Duration::from_secs(90 * 86400),
        }
    }
}

/// Handle to the store; cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    serde_json::to_writer(&mut out, v).expect("model types always serialize");
    out
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason,
    };
    match bytes.split_first() {
        Some((&RECORD_VERSION, body)) => {
            serde_json::from_slice(body).map_err(|e| corrupt(e.to_string()))
        }
        Some((v, _)) => Err(corrupt(format!("unknown record version {v}"))),
        None => Err(corrupt("empty record".into())),
    }
}

fn article_key(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(P_ARTICLE);
    k.extend_from_slice(&id_bytes(id));
    k
}

/// Article ids are 32 hex chars; stored as their 16 bytes. Any other string is hashed to 16 so
/// that foreign ids (imports) still get a fixed-size key.
fn id_bytes(id: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (i, chunk) in id.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).unwrap_or("00");
            out[i] = u8::from_str_radix(s, 16).unwrap_or(0);
        }
    } else {
        out.copy_from_slice(&Sha256::digest(id.as_bytes())[..16]);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn index_prefix(source: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(source.len() + 2);
    k.push(P_INDEX);
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k
}

fn index_key(source: &str, sort: DateTime<Utc>, id: &str) -> Vec<u8> {
    let mut k = index_prefix(source);
    // Inverted so that an ascending scan yields newest first.
    let micros = sort.timestamp_micros().max(0) as u64;
    k.extend_from_slice(&(u64::MAX - micros).to_be_bytes());
    k.extend_from_slice(&id_bytes(id));
    k
}

fn url_key(source: &str, url: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    h.update(url.as_bytes());
    let mut k = vec![P_URL];
    k.extend_from_slice(&h.finalize()[..16]);
    k
}

fn tomb_key(id: &str) -> Vec<u8> {
    let mut k = vec![P_TOMB];
    k.extend_from_slice(&id_bytes(id));
    k
}

fn source_key(id: &str) -> Vec<u8> {
    let mut k = vec![P_SOURCE];
    k.extend_from_slice(id.as_bytes());
    k
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
}

impl Store {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let db = sled::Config::new()
            .path(path)
            // A deliberate cache size: large enough for the hot index ranges of thousands of
            // sources, small enough for a small VPS.
            .cache_capacity(16 * 1024 * 1024)
            .flush_every_ms(Some(500))
            .open()?;
        let tree = db.open_tree("feedloom")?;
        Ok(Store { db, tree })
    }

    /// A cheap liveness check for `/healthz`.
    pub fn is_usable(&self) -> bool {
        self.tree.get(b"health-probe").is_ok()
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    pub fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        let k = source_key(source);
        match self.tree.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// All stored source states (including sources no longer configured).
    pub fn source_states(&self) -> Result<Vec<(String, SourceState)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix([P_SOURCE]) {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[1..]).into_owned();
            out.push((id, decode(&k, &v)?));
        }
        Ok(out)
    }

    pub fn put_source_state(&self, source: &str, state: &SourceState) -> Result<(), StoreError> {
        self.tree.insert(source_key(source), encode(state))?;
        Ok(())
    }

    pub fn article(&self, id: &str) -> Result<Option<Article>, StoreError> {
        let k = article_key(id);
        match self.tree.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// True when an article with this canonical URL is stored for the source, or was pruned and
    /// is still tombstoned (so an HTML crawl does not fetch it again).
    pub fn knows_url(&self, source: &str, url: &str) -> Result<bool, StoreError> {
        Ok(self.tree.contains_key(url_key(source, url))?)
    }

    /// Number of articles stored for a source.
    pub fn count(&self, source: &str) -> usize {
        self.tree.scan_prefix(index_prefix(source)).keys().count()
    }

    /// The newest `limit` articles of a source, newest first.
    pub fn newest(&self, source: &str, limit: usize) -> Result<Vec<Article>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for k in self.tree.scan_prefix(index_prefix(source)).keys() {
            if out.len() >= limit {
                break;
            }
            let k = k?;
            let id = &k[k.len() - 16..];
            let mut ak = vec![P_ARTICLE];
            ak.extend_from_slice(id);
            // An index entry without its article cannot happen (one batch writes both); skip
            // rather than fail the whole channel if it ever does.
            if let Some(v) = self.tree.get(&ak)? {
                out.push(decode(&ak, &v)?);
            }
        }
        Ok(out)
    }

    /// Write one refresh of one source atomically: new and changed articles with their index
    /// entries, retention pruning (with tombstones), and the source's new state. A crash leaves
    /// either all of it or none of it.
    pub fn apply_refresh(
        &self,
        source: &str,
        articles: Vec<Article>,
        state: &SourceState,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<RefreshCounts, StoreError> {
        let mut counts = RefreshCounts::default();
        let mut batch = sled::Batch::default();
        // Index entries this batch adds or removes, so pruning sees the post-batch picture.
        let mut pending = Pending::default();
        let mut seen_ids = std::collections::HashSet::new();

        // Canonical URLs this batch writes: a second entry with one of them is the same story.
        let mut batch_urls = std::collections::HashSet::new();
        for mut art in articles {
            let tk = tomb_key(&art.id);
            if let Some(t) = self.tree.get(&tk)? {
                let expiry = t
                    .get(..8)
                    .map(|b| i64::from_be_bytes(b.try_into().expect("8 bytes")))
                    .unwrap_or(0);
                if expiry > now.timestamp() {
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
                    if let Some(old_id) = self.tree.get(url_key(source, u))? {
                        let old_id = hex(&old_id);
                        match self.article(&old_id)? {
                            Some(old) if old.source == source => {
                                art.id = old_id;
                                existing = Some(old);
                            }
                            Some(_) => {}
                            // The URL outlived its article: it was pruned and its tombstone
                            // still stands, so the story stays out under a new guid too.
                            None => {
                                if self.tree.contains_key(tomb_key(&old_id))? {
                                    counts.tombstoned += 1;
                                    continue;
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
                    counts.new += 1;
                }
            }
            if let Some(u) = &art.url {
                batch.insert(url_key(source, u), &id_bytes(&art.id)[..]);
            }
            pending.urls.insert(id_bytes(&art.id), art.url.clone());
            batch.insert(article_key(&art.id), encode(&art));
        }

        let (pruned, total) = self.prune_into(&mut batch, source, &pending, retention, now)?;
        counts.pruned = pruned;
        counts.total = total;
        let mut state = state.clone();
        state.items = total;
        batch.insert(source_key(source), encode(&state));
        self.tree.apply_batch(batch)?;
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
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for k in self.tree.scan_prefix(index_prefix(source)).keys() {
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
            let url = match pending.urls.get(id_raw) {
                Some(url) => url.clone(),
                None => match self.tree.get(&ak)? {
                    Some(v) => decode::<Article>(&ak, &v)?.url,
                    None => None,
                },
            };
            batch.remove(k.clone());
            batch.remove(ak);
            // The URL key stays: it now marks a tombstoned URL, so HTML crawls skip it and a
            // new guid for the same story is recognised.
            let mut t = expiry.to_be_bytes().to_vec();
            if let Some(u) = url {
                t.extend_from_slice(&url_key(source, &u));
            }
            batch.insert(tomb_key(&id), t);
            pruned += 1;
        }
        Ok((pruned, keys.len() - pruned))
    }

    /// Remove expired tombstones (and the URL keys they kept), at most `max` per call so that a
    /// sweep never holds the store for long.
    pub fn expire_tombstones(&self, now: DateTime<Utc>, max: usize) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for kv in self.tree.scan_prefix([P_TOMB]) {
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
        self.tree.apply_batch(batch)?;
        Ok(n)
    }

    /// Apply retention to a source outside a refresh (the background sweep for `max_age`).
    pub fn prune(
        &self,
        source: &str,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let (n, _) = self.prune_into(&mut batch, source, &Pending::default(), retention, now)?;
        if n > 0 {
            self.tree.apply_batch(batch)?;
        }
        Ok(n)
    }

    /// Store articles from an export as they are (ids, first-seen times), with their index and
    /// URL entries. An article already present is replaced.
    pub fn import_articles(&self, articles: &[Article]) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        for art in articles {
            if let Some(old) = self.article(&art.id)? {
                batch.remove(index_key(&old.source, old.sort_time(), &old.id));
            }
            batch.insert(
                index_key(&art.source, art.sort_time(), &art.id),
                &[] as &[u8],
            );
            if let Some(u) = &art.url {
                batch.insert(url_key(&art.source, u), &id_bytes(&art.id)[..]);
            }
            batch.insert(article_key(&art.id), encode(art));
        }
        self.tree.apply_batch(batch)?;
        Ok(articles.len())
    }

    /// Every stored article (for export), in key order.
    pub fn all_articles(&self) -> impl Iterator<Item = Result<Article, StoreError>> + '_ {
        self.tree.scan_prefix([P_ARTICLE]).map(|kv| {
            let (k, v) = kv?;
            decode(&k, &v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(source: &str, n: u32, minutes: i64) -> Article {
        Article::sample(source, n, minutes)
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("db")).unwrap();
        (dir, s)
    }

    #[test]
    fn new_updated_unchanged_and_order() {
        let (_d, s) = open();
        let st = SourceState::default();
        let c = s
            .apply_refresh(
                "a",
                vec![art("a", 1, 1), art("a", 2, 2)],
                &st,
                Retention::default(),
                Utc::now(),
            )
            .unwrap();
        assert_eq!((c.new, c.updated, c.unchanged), (2, 0, 0));
        let mut changed = art("a", 1, 5);
        changed.title = "item 1 v2".into();
        let c = s
            .apply_refresh(
                "a",
                vec![changed, art("a", 2, 2)],
                &st,
                Retention::default(),
                Utc::now(),
            )
            .unwrap();
        assert_eq!((c.new, c.updated, c.unchanged), (0, 1, 1));
        let got = s.newest("a", 10).unwrap();
        let titles: Vec<_> = got.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, vec!["item 1 v2", "item 2"]);
        assert_eq!(s.count("a"), 2);
        assert_eq!(s.count("b"), 0);
    }

    #[test]
    fn retention_prunes_oldest_and_tombstones_keep_them_out() {
        let (_d, s) = open();
        let st = SourceState::default();
        let r = Retention {
            max_items: 3,
            ..Retention::default()
        };
        let all: Vec<Article> = (0..5).map(|i| art("a", i, i as i64)).collect();
        let c = s
            .apply_refresh("a", all.clone(), &st, r, Utc::now())
            .unwrap();
        assert_eq!(c.pruned, 2);
        assert_eq!(s.count("a"), 3);
        // The source still lists all five: the pruned two stay out.
        let c = s.apply_refresh("a", all, &st, r, Utc::now()).unwrap();
        assert_eq!((c.new, c.tombstoned, c.pruned), (0, 2, 0));
        let titles: Vec<_> = s
            .newest("a", 10)
            .unwrap()
            .into_iter()
            .map(|a| a.title)
            .collect();
        assert_eq!(titles, vec!["item 4", "item 3", "item 2"]);
        assert!(s.knows_url("a", "http://x/0").unwrap());
    }

    #[test]
    fn max_age_prunes_and_tombstones_expire() {
        let (_d, s) = open();
        let st = SourceState::default();
        // Items dated 2024-01-01; "now" a year later; max_age 30 days.
        let now = DateTime::parse_from_rfc3339("2025-01-01T00:00:00+00:00")
            .unwrap()
            .with_timezone(&Utc);
        let r = Retention {
            max_age: Some(std::time::Duration::from_secs(30 * 86400)),
            tombstone_ttl: std::time::Duration::from_secs(86400),
            ..Retention::default()
        };
        let c = s
            .apply_refresh("a", vec![art("a", 1, 1), art("a", 2, 2)], &st, r, now)
            .unwrap();
        assert_eq!((c.new, c.pruned, c.total), (2, 2, 0));
        assert_eq!(s.count("a"), 0);
        // Still tombstoned a moment later...
        let c = s
            .apply_refresh("a", vec![art("a", 1, 1)], &st, r, now)
            .unwrap();
        assert_eq!(c.tombstoned, 1);
        // ...and no longer after the tombstones expired and were swept.
        let later = now + chrono::Duration::days(2);
        assert_eq!(s.expire_tombstones(later, 1000).unwrap(), 2);
        assert!(!s.knows_url("a", "http://x/1").unwrap());
        let keep = Retention::default();
        let c = s
            .apply_refresh("a", vec![art("a", 1, 1)], &st, keep, later)
            .unwrap();
        assert_eq!(c.new, 1);
    }

    #[test]
    fn url_changed_and_pruned_in_one_batch_leaves_no_url_key_behind() {
        let (_d, s) = open();
        let st = SourceState::default();
        let now = Utc::now();
        let r = Retention {
            max_items: 2,
            tombstone_ttl: std::time::Duration::from_secs(86400),
            ..Retention::default()
        };
        s.apply_refresh("a", vec![art("a", 1, 1)], &st, r, now)
            .unwrap();
        // Item 1 moves to a new URL (same guid, same date: same index key) in the refresh that
        // also brings two newer items and so prunes it.
        let mut moved = art("a", 1, 1);
        moved.url = Some("http://x/1-moved".into());
        let c = s
            .apply_refresh(
                "a",
                vec![moved, art("a", 2, 2), art("a", 3, 3)],
                &st,
                r,
                now,
            )
            .unwrap();
        assert_eq!((c.updated, c.new, c.pruned), (1, 2, 1));
        assert!(!s.knows_url("a", "http://x/1").unwrap());
        assert!(s.knows_url("a", "http://x/1-moved").unwrap(), "tombstoned");
        // Once the tombstone expires, nothing of item 1 is left.
        let later = now + chrono::Duration::days(2);
        assert_eq!(s.expire_tombstones(later, 1000).unwrap(), 1);
        assert!(!s.knows_url("a", "http://x/1-moved").unwrap());
    }

    #[test]
    fn a_story_back_after_its_tombstone_expired_at_a_new_url_leaves_no_old_key() {
        let (_d, s) = open();
        let st = SourceState::default();
        let now = Utc::now();
        let r = Retention {
            max_items: 1,
            tombstone_ttl: std::time::Duration::from_secs(60),
            ..Retention::default()
        };
        // Item 1 is pruned at once (item 2 is newer): tombstoned with its URL.
        s.apply_refresh("a", vec![art("a", 1, 1), art("a", 2, 2)], &st, r, now)
            .unwrap();
        assert!(s.knows_url("a", "http://x/1").unwrap());
        // Its tombstone expires (not yet swept) and it comes back under the same guid at a new
        // URL, newer than item 2.
        let later = now + chrono::Duration::minutes(5);
        let mut back = art("a", 1, 3);
        back.url = Some("http://x/1-new".into());
        let c = s.apply_refresh("a", vec![back], &st, r, later).unwrap();
        assert_eq!(c.new, 1);
        assert!(s.knows_url("a", "http://x/1-new").unwrap());
        assert!(
            !s.knows_url("a", "http://x/1").unwrap(),
            "the old URL key leaked"
        );
    }

    #[test]
    fn one_story_twice_in_a_document_is_written_once() {
        let (_d, s) = open();
        let st = SourceState::default();
        let now = Utc::now();
        let r = Retention::default();
        s.apply_refresh("a", vec![art("a", 0, 0)], &st, r, now)
            .unwrap();
        // Two new guids, both at item 0's URL: one update of item 0, not two.
        let mut a = art("a", 10, 10);
        a.url = Some("http://x/0".into());
        let mut b = art("a", 11, 20);
        b.url = Some("http://x/0".into());
        let c = s.apply_refresh("a", vec![a, b], &st, r, now).unwrap();
        assert_eq!((c.new, c.updated, c.total), (0, 1, 1));
        let ids: Vec<String> = s
            .newest("a", 10)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids.len(), 1, "{ids:?}");
        // Two new guids sharing a new URL: one article, whose URL key outlives no tombstone.
        let mut g1 = art("a", 1, 30);
        g1.url = Some("http://x/u".into());
        let mut g2 = art("a", 2, 25);
        g2.url = Some("http://x/u".into());
        let keep_one = Retention {
            max_items: 2,
            tombstone_ttl: std::time::Duration::from_secs(86400),
            ..Retention::default()
        };
        let c = s
            .apply_refresh("a", vec![g1, g2], &st, keep_one, now)
            .unwrap();
        assert_eq!(c.new, 1);
        assert_eq!(
            s.expire_tombstones(now + chrono::Duration::days(2), 1000)
                .unwrap(),
            0
        );
        assert!(s.knows_url("a", "http://x/u").unwrap());
        assert_eq!(s.count("a"), 2);
    }

    #[test]
    fn same_url_new_guid_is_an_update() {
        let (_d, s) = open();
        let st = SourceState::default();
        s.apply_refresh(
            "a",
            vec![art("a", 1, 1)],
            &st,
            Retention::default(),
            Utc::now(),
        )
        .unwrap();
        let mut again = art("a", 1, 1);
        again.id = crate::normalize::article_id("a", Some("other-guid"), None, "", "");
        again.guid = Some("other-guid".into());
        let c = s
            .apply_refresh("a", vec![again], &st, Retention::default(), Utc::now())
            .unwrap();
        assert_eq!((c.new, c.updated), (0, 1));
        assert_eq!(s.count("a"), 1);
    }

    #[test]
    fn state_lands_with_the_batch() {
        let (_d, s) = open();
        let st = SourceState {
            etag: Some("\"v1\"".into()),
            ..Default::default()
        };
        s.apply_refresh(
            "a",
            vec![art("a", 1, 1)],
            &st,
            Retention::default(),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(
            s.source_state("a").unwrap().unwrap().etag.as_deref(),
            Some("\"v1\"")
        );
    }
}
