//! Identifiers every layer shares: the stable article id (the write path makes it, the store
//! keys records by it) and the hex form of digests.

use sha2::{Digest, Sha256};

/// The stable article id: a hash of the source and the item's guid, else its canonical link,
/// else its title and text (as Miniflux does), so re-polling the same item finds it again.
pub fn article_id(
    source: &str,
    guid: Option<&str>,
    url: Option<&str>,
    title: &str,
    text: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(source.as_bytes());
    h.update([0]);
    match (guid, url) {
        (Some(g), _) => {
            h.update(b"g:");
            h.update(g.as_bytes());
        }
        (None, Some(u)) => {
            h.update(b"u:");
            h.update(u.as_bytes());
        }
        (None, None) => {
            h.update(b"t:");
            h.update(title.as_bytes());
            h.update([0]);
            h.update(text.as_bytes());
        }
    }
    hex16(&h.finalize())
}

/// Hex of the first 16 bytes of a digest.
pub fn hex16(digest: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(32);
    for b in &digest[..16] {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Article ids are 32 hex digits; as keys and in cursors they are their 16 bytes. Any other
/// string (a foreign id from an import) is hashed to 16 bytes, so every id has a fixed size.
pub fn id_bytes(id: &str) -> [u8; 16] {
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
