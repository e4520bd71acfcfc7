//! The only module that touches sled. Everything persisted goes through this narrow interface:
//! apply one [`RefreshResult`](crate::model::RefreshResult) (`apply.rs`), read a source's newest
//! articles and its state (here), export and import. Records and keys are in `codec.rs`.
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
//! | `R` source_id `\0` arrival (8 BE) article_id            | empty (oldest arrival first) |
//! | `P` source_id                                           | greatest arrival pruned (8 BE) |
//! | `Mapplied-seq`                                          | last log sequence applied (8 BE) |
//! | `Mlast-arrival`                                         | greatest arrival given (8 BE) |
//! | `Marrival-index`                                        | present: every article has its `R` key |
//! | `Ws…`, `We…`                                            | WebSub hub records (`websub.rs`) |
//! | `Y` source_id                                           | WebSub subscription (`hub_subscriptions.rs`) |
//! | `H` source_id `\0` slot                                  | one of its last polls (`polls.rs`) |
//!
//! Source ids never contain `\0` (config validation allows letters, digits, `-_.`), so the index
//! prefix of one source never overlaps another's.
//!
//! **Write failures (disk full).** Once sled fails to write its log (ENOSPC, EIO) it keeps
//! failing until it is opened again. The store records the first such failure
//! ([`Store::failure`], which `/healthz` reports) and [`Store::recover`] opens the database
//! again once a probe file shows that writes work: the handles live behind one swappable
//! pointer, so every clone of the `Store` sees the reopened database. What sled had accepted but
//! not yet made durable is lost by then; the caller reloads what it keeps in memory from the
//! store (sources' validators among it), so those documents are fetched and stored again.

mod apply;
mod codec;
mod hub_subscriptions;
mod pages;
pub mod polls;
#[cfg(test)]
mod tests;
mod websub;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;

use crate::model::{Article, SourceState};

pub use apply::RefreshCounts;
use codec::{article_key, decode, hex, index_prefix, source_key, url_key, P_ARTICLE, P_SOURCE};
pub use hub_subscriptions::HubSubscription;
pub use pages::ArrivalEntry;
pub use websub::Subscription;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("store unavailable: being opened again after a write failure ({0})")]
    Reopening(String),
    /// A caller broke `apply_logged_group`'s rule (one value per source).
    #[error("store: a group to apply holds two values of source {0}")]
    SourceTwiceInGroup(String),
}

/// Where an article sorts in its source's index, newest first: ordering entries orders their
/// articles by sort time (newest first), ties by id, as a channel shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexEntry {
    /// The sort time, inverted (see `codec::index_key`), big-endian.
    order: [u8; 8],
    id: [u8; 16],
}

impl IndexEntry {
    /// The entry at a cursor's place in the feed.
    pub fn at(order: u64, id: [u8; 16]) -> IndexEntry {
        IndexEntry {
            order: order.to_be_bytes(),
            id,
        }
    }

    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    fn from_key_tail(tail: &[u8]) -> Option<IndexEntry> {
        Some(IndexEntry {
            order: tail.get(..8)?.try_into().ok()?,
            id: tail.get(8..24)?.try_into().ok()?,
        })
    }
}

/// Handle to the store; cheap to clone (all clones share one database, even across a reopen).
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    /// `None` only while the database is being opened again.
    handles: ArcSwapOption<Handles>,
    /// The first write failure since the database was (re)opened.
    failure: Mutex<Option<String>>,
    /// Held while a document is applied (see `apply_document`).
    apply_lock: Mutex<()>,
    /// How many times the database was opened again after a write failure (see
    /// [`Store::generation`]).
    generation: std::sync::atomic::AtomicU64,
}

/// One opened database.
pub(crate) struct Handles {
    db: sled::Db,
    tree: sled::Tree,
}

impl std::ops::Deref for Handles {
    type Target = sled::Tree;
    fn deref(&self) -> &sled::Tree {
        &self.tree
    }
}

fn open_handles(path: &Path) -> Result<Handles, StoreError> {
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
    Ok(Handles { db, tree })
}

impl Store {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let handles = open_handles(path)?;
        let store = Store {
            shared: Arc::new(Shared {
                path: path.to_path_buf(),
                handles: ArcSwapOption::from_pointee(handles),
                failure: Mutex::new(None),
                apply_lock: Mutex::new(()),
                generation: std::sync::atomic::AtomicU64::new(0),
            }),
        };
        store.index_arrivals()?;
        Ok(store)
    }

    /// Held while a document is applied or a source pruned (see `apply_document`). A panic
    /// under it must not stop every later write, so a poisoned lock is taken as it is.
    pub(crate) fn one_at_a_time(&self) -> std::sync::MutexGuard<'_, ()> {
        self.shared
            .apply_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The open database, or why there is none right now.
    pub(crate) fn tree(&self) -> Result<Arc<Handles>, StoreError> {
        self.shared.handles.load_full().ok_or_else(|| {
            StoreError::Reopening(self.failure().unwrap_or_else(|| "unknown".into()))
        })
    }

    /// Why writes fail, when they do: set by the first failed write since the database was
    /// opened, cleared by [`Store::recover`].
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.lock().expect("failure lock").clone()
    }

    /// Note a failed write: an I/O error leaves sled failing until it is opened again.
    fn note<T>(&self, r: Result<T, sled::Error>) -> Result<T, StoreError> {
        if let Err(e) = &r {
            self.note_sled_failure(e);
        }
        r.map_err(StoreError::from)
    }

    /// Note a failed read: while its log cannot be written, sled fails some reads too (a read
    /// that consolidates a page writes), sometimes before any write has reported it. True when
    /// the error is such a failure.
    pub fn note_failed_read(&self, e: &StoreError) -> bool {
        match e {
            StoreError::Sled(e) => self.note_sled_failure(e),
            StoreError::Reopening(_) => true,
            StoreError::Corrupt { .. } | StoreError::SourceTwiceInGroup(_) => false,
        }
    }

    fn note_sled_failure(&self, e: &sled::Error) -> bool {
        if !matches!(e, sled::Error::Io(_) | sled::Error::ReportableBug(_)) {
            return false;
        }
        let mut f = self.shared.failure.lock().expect("failure lock");
        if f.is_none() {
            tracing::error!(error = %e, path = %self.shared.path.display(),
                "store writes fail; serving what is stored, retrying the store");
            *f = Some(e.to_string());
        }
        true
    }

    /// Write one batch (recording a failure).
    pub(crate) fn write(&self, batch: sled::Batch) -> Result<(), StoreError> {
        let t = self.tree()?;
        self.note(t.apply_batch(batch))
    }

    /// Remove every key under each of `prefixes`, in one batch.
    pub(crate) fn remove_prefixed(&self, prefixes: &[&[u8]]) -> Result<(), StoreError> {
        let t = self.tree()?;
        let mut batch = sled::Batch::default();
        for prefix in prefixes {
            for k in t.scan_prefix(prefix).keys() {
                batch.remove(k?);
            }
        }
        self.note(t.apply_batch(batch))
    }

    /// A cheap check for `/healthz`: no write failure outstanding, and readable; otherwise
    /// why not, in words.
    pub fn health(&self) -> Result<(), String> {
        if let Some(f) = self.failure() {
            return Err(format!("the store cannot write: {f}"));
        }
        match self.tree().map(|t| t.get(b"health-probe")) {
            Ok(Ok(_)) => Ok(()),
            _ => Err("the store is not usable".into()),
        }
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        let t = self.tree()?;
        self.note(t.db.flush())?;
        Ok(())
    }

    /// After a write failure: when writes work again on the store's file system (a probe file
    /// of `probe_bytes` is written and synced), open the database again, and answer true. The
    /// caller then reloads its in-memory view of the store. False while the failure lasts;
    /// an error when the database cannot be opened (it is tried again at the next call).
    pub fn recover(&self, probe_bytes: usize) -> Result<bool, StoreError> {
        if self.failure().is_none() {
            return Ok(false);
        }
        let dir = self
            .shared
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let probe = dir.join(".feedloom-write-probe");
        let ok = (|| -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&probe)?;
            f.write_all(&vec![0u8; probe_bytes])?;
            f.sync_all()
        })();
        let _ = std::fs::remove_file(&probe);
        if ok.is_err() {
            return Ok(false);
        }
        // Maybe sled can write again as it is (a transient error): a synced probe write.
        if let Ok(t) = self.tree() {
            let healthy = t.insert(b"health-probe", &b"1"[..]).is_ok() && t.db.flush().is_ok();
            if healthy {
                *self.shared.failure.lock().expect("failure lock") = None;
                tracing::info!("store writes work again");
                return Ok(true);
            }
        }
        // Close the failed database: wait (briefly) for readers to let go of it, since sled
        // locks its files while any handle lives.
        // A new generation from the moment the failed database is let go: a writer that
        // checks the generation before writing cannot then write to the new database with
        // the old one's idea of what it holds.
        self.shared
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(old) = self.shared.handles.swap(None) {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while Arc::strong_count(&old) > 1 && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            drop(old);
        }
        let mut last = None;
        // sled's background threads may hold the files a moment longer.
        for _ in 0..50 {
            match open_handles(&self.shared.path) {
                Ok(h) => {
                    self.shared.handles.store(Some(Arc::new(h)));
                    *self.shared.failure.lock().expect("failure lock") = None;
                    tracing::info!(path = %self.shared.path.display(), "store opened again after a write failure");
                    return Ok(true);
                }
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Err(last.expect("tried at least once"))
    }

    /// Changes each time the database is opened again after a write failure. What sled had
    /// accepted but not made durable is gone then, the last applied log sequence among it:
    /// a reader of the log that kept its place in memory must start again from the store's.
    pub fn generation(&self) -> u64 {
        self.shared
            .generation
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn source_state(&self, source: &str) -> Result<Option<SourceState>, StoreError> {
        let k = source_key(source);
        match self.tree()?.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// All stored source states (including sources no longer configured).
    pub fn source_states(&self) -> Result<Vec<(String, SourceState)>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree()?.scan_prefix([P_SOURCE]) {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[1..]).into_owned();
            out.push((id, decode(&k, &v)?));
        }
        Ok(out)
    }

    /// The last replicated-log sequence this store applied; 0 when none (or not a cluster).
    pub fn applied_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .tree()?
            .get(codec::APPLIED_SEQ_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
    }

    pub fn article(&self, id: &str) -> Result<Option<Article>, StoreError> {
        let k = article_key(id);
        match self.tree()?.get(&k)? {
            Some(v) => Ok(Some(decode(&k, &v)?)),
            None => Ok(None),
        }
    }

    /// True when an article with this canonical URL is stored for the source, or was pruned and
    /// is still tombstoned (so an HTML crawl does not fetch it again).
    pub fn knows_url(&self, source: &str, url: &str) -> Result<bool, StoreError> {
        Ok(self.tree()?.contains_key(url_key(source, url))?)
    }

    /// The source's stored article at this canonical URL (the one an entry with a new guid but
    /// the same URL updates, as `apply` decides); `None` when there is none, also when the URL
    /// is only a pruned article's (see [`Store::knows_url`]).
    pub fn article_at_url(&self, source: &str, url: &str) -> Result<Option<Article>, StoreError> {
        let Some(id) = self.tree()?.get(url_key(source, url))? else {
            return Ok(None);
        };
        Ok(self.article(&hex(&id))?.filter(|a| a.source == source))
    }

    /// Number of articles stored for a source.
    pub fn count(&self, source: &str) -> usize {
        self.tree()
            .map(|t| t.scan_prefix(index_prefix(source)).keys().count())
            .unwrap_or(0)
    }

    /// The newest `limit` articles of a source, newest first.
    pub fn newest(&self, source: &str, limit: usize) -> Result<Vec<Article>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        let tree = self.tree()?;
        for k in tree.scan_prefix(index_prefix(source)).keys() {
            if out.len() >= limit {
                break;
            }
            let k = k?;
            let id = &k[k.len() - 16..];
            let mut ak = vec![P_ARTICLE];
            ak.extend_from_slice(id);
            // An index entry without its article cannot happen (one batch writes both); skip
            // rather than fail the whole channel if it ever does.
            if let Some(v) = tree.get(&ak)? {
                out.push(decode(&ak, &v)?);
            }
        }
        Ok(out)
    }

    /// The newest `limit` index entries of `source`, newest first: keys only, no article is
    /// read. A channel merges its sources' entries and then reads just the articles it shows
    /// (see [`Store::articles`]), instead of decoding every source's newest `limit` articles.
    pub fn newest_entries(
        &self,
        source: &str,
        limit: usize,
    ) -> Result<Vec<IndexEntry>, StoreError> {
        let tree = self.tree()?;
        let prefix = index_prefix(source).len();
        let mut out = Vec::with_capacity(limit.min(1024));
        for k in tree.scan_prefix(index_prefix(source)).keys() {
            if out.len() >= limit {
                break;
            }
            let k = k?;
            if let Some(e) = IndexEntry::from_key_tail(&k[prefix..]) {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The articles of `entries`, in their order. An entry whose article is missing is skipped
    /// (one batch writes both, so it cannot happen; a channel should not fail if it ever does).
    pub fn articles(&self, entries: &[IndexEntry]) -> Result<Vec<Article>, StoreError> {
        let tree = self.tree()?;
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let mut ak = Vec::with_capacity(17);
            ak.push(P_ARTICLE);
            ak.extend_from_slice(&e.id);
            if let Some(v) = tree.get(&ak)? {
                out.push(decode(&ak, &v)?);
            }
        }
        Ok(out)
    }

    /// Every stored article (for export), in key order.
    pub fn all_articles(&self) -> Box<dyn Iterator<Item = Result<Article, StoreError>> + '_> {
        match self.tree() {
            Ok(t) => Box::new(t.scan_prefix([P_ARTICLE]).map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })),
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    }
}
