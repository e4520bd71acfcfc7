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
//! | `Mapplied-seq`                                          | last log sequence applied (8 BE) |
//!
//! Source ids never contain `\0` (config validation allows letters, digits, `-_.`), so the index
//! prefix of one source never overlaps another's.

mod apply;
mod codec;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::model::{Article, SourceState};

pub use apply::RefreshCounts;
use codec::{article_key, decode, index_prefix, source_key, url_key, P_ARTICLE, P_SOURCE};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Handle to the store; cheap to clone (sled handles are reference counted).
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
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

    /// The last replicated-log sequence this store applied; 0 when none (or not a cluster).
    pub fn applied_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .tree
            .get(codec::APPLIED_SEQ_KEY)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
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

    /// Every stored article (for export), in key order.
    pub fn all_articles(&self) -> impl Iterator<Item = Result<Article, StoreError>> + '_ {
        self.tree.scan_prefix([P_ARTICLE]).map(|kv| {
            let (k, v) = kv?;
            decode(&k, &v)
        })
    }
}
