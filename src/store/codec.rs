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
/// The last replicated-log sequence applied (cluster mode): 8 bytes, big-endian.
pub(super) const APPLIED_SEQ_KEY: &[u8] = b"Mapplied-seq";

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

/// Article ids are 32 hex chars; stored as their 16 bytes. Any other string is hashed to 16 so
/// that foreign ids (imports) still get a fixed-size key.
pub(super) fn id_bytes(id: &str) -> [u8; 16] {
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
    let micros = sort.timestamp_micros().max(0) as u64;
    k.extend_from_slice(&(u64::MAX - micros).to_be_bytes());
    k.extend_from_slice(&id_bytes(id));
    k
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
