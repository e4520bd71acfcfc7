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
