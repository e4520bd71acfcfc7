//! Records and keys: how model values become sled keys and versioned bytes. See the table in
//! `store/mod.rs` for the layout.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::StoreError;

/// Version byte in front of every record, so later formats can migrate old ones.
pub(super) const RECORD_VERSION: u8 = 1;

pub(super) const P_SOURCE: u8 = b'S';
pub(super) const P_ARTICLE: u8 = b'A';
pub(super) const P_INDEX: u8 = b'I';
pub(super) const P_URL: u8 = b'U';
pub(super) const P_TOMB: u8 = b'T';
pub(super) const P_ARRIVAL: u8 = b'R';
pub(super) const P_PRUNED: u8 = b'P';
/// The last replicated-log sequence applied (cluster mode): 8 bytes, big-endian.
pub(super) const APPLIED_SEQ_KEY: &[u8] = b"Mapplied-seq";
/// The greatest arrival given so far (8 bytes, big-endian).
pub(super) const LAST_ARRIVAL_KEY: &[u8] = b"Mlast-arrival";
/// Present once every stored article has its arrival key (written by the migration that
/// made them for stores older than arrivals, or at once for a new store).
pub(super) const ARRIVAL_INDEX_KEY: &[u8] = b"Marrival-index";
/// Arrivals given while applying the replicated log start here: far above any microsecond
/// timestamp (the arrivals of a single node), so that a store that joins a cluster keeps its
/// order, and made of the stream sequence alone, so that every node gives the same article
/// the same arrival.
pub(super) const LOGGED_ARRIVAL_BASE: u64 = 1 << 62;
/// Room for the entries of one logged document: arrival = base + sequence × 2^20 + position.
pub(super) const LOGGED_ARRIVAL_SHIFT: u32 = 20;

pub(super) fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut out = vec![RECORD_VERSION];
    serde_json::to_writer(&mut out, v).expect("model types always serialize");
    out
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
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

pub(super) fn article_key(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(P_ARTICLE);
    k.extend_from_slice(&id_bytes(id));
    k
}

pub(super) use crate::model::ids::id_bytes;

pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(super) fn index_prefix(source: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(source.len() + 2);
    k.push(P_INDEX);
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k
}

pub(super) fn index_key(source: &str, sort: DateTime<Utc>, id: &str) -> Vec<u8> {
    let mut k = index_prefix(source);
    // Inverted so that an ascending scan yields newest first.
    k.extend_from_slice(&crate::model::cursor::inverted_micros(sort).to_be_bytes());
    k.extend_from_slice(&id_bytes(id));
    k
}

pub(super) fn arrival_prefix(source: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(source.len() + 2);
    k.push(P_ARRIVAL);
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k
}

/// Ascending scans yield a source's articles in the order they arrived.
pub(super) fn arrival_key(source: &str, arrival: u64, id: &str) -> Vec<u8> {
    arrival_key_raw(source, arrival, &id_bytes(id))
}

pub(super) fn arrival_key_raw(source: &str, arrival: u64, id: &[u8; 16]) -> Vec<u8> {
    let mut k = arrival_prefix(source);
    k.extend_from_slice(&arrival.to_be_bytes());
    k.extend_from_slice(id);
    k
}

/// The greatest arrival among a source's articles removed by retention (8 bytes, BE): a
/// catch-up cursor older than it may have missed those articles.
pub(super) fn pruned_key(source: &str) -> Vec<u8> {
    let mut k = vec![P_PRUNED];
    k.extend_from_slice(source.as_bytes());
    k
}

/// The first key after every key that starts with `prefix` (which ends in the `\0` separator).
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

pub(super) fn read_u64(v: Option<sled::IVec>) -> u64 {
    v.and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0)
}

pub(super) fn url_key(source: &str, url: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    h.update(url.as_bytes());
    let mut k = vec![P_URL];
    k.extend_from_slice(&h.finalize()[..16]);
    k
}

pub(super) fn tomb_key(id: &str) -> Vec<u8> {
    let mut k = vec![P_TOMB];
    k.extend_from_slice(&id_bytes(id));
    k
}

pub(super) fn source_key(id: &str) -> Vec<u8> {
    let mut k = vec![P_SOURCE];
    k.extend_from_slice(id.as_bytes());
    k
}
