//! Cursors: an item's place in its channel, opaque to readers, for paged feeds (RFC 5005
//! `next`, `?before=`) and catch-up (`?after=`).
//!
//! A cursor carries two positions of one article. Its **arrival** (when the store first held
//! it, strictly increasing in the order articles land; see `Article::arrival`) answers
//! `?after=`: a reader who remembers one cursor is given everything stored since, whatever
//! dates the items claim. Its **place in the feed** (sort time, then id, the order every
//! channel shows) answers `?before=`: the pages behind the newest one. Both are absolute, so a
//! cursor stays valid while new items arrive.

use crate::model::ids::id_bytes;
use crate::model::Article;

/// Version prefix of the text form, so that the layout can change without misreading old
/// cursors (an unknown version is a bad cursor, answered with 400).
const VERSION: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// `Article::arrival_key`.
    pub arrival: u64,
    /// The sort time, inverted (microseconds subtracted from `u64::MAX`), as in the store's
    /// index keys: ascending order is newest first.
    pub order: u64,
    /// The article id's 16 bytes.
    pub id: [u8; 16],
}

impl Cursor {
    pub fn of(a: &Article) -> Cursor {
        Cursor {
            arrival: a.arrival_key(),
            order: inverted_micros(a.sort_time()),
            id: id_bytes(&a.id),
        }
    }

    /// The text form: a version digit and 64 hex digits.
    pub fn encode(&self) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(65);
        s.push_str(VERSION);
        let _ = write!(s, "{:016x}{:016x}", self.arrival, self.order);
        for b in self.id {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let hex = text.strip_prefix(VERSION)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let arrival = u64::from_str_radix(&hex[..16], 16).ok()?;
        let order = u64::from_str_radix(&hex[16..32], 16).ok()?;
        let mut id = [0u8; 16];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[32 + 2 * i..34 + 2 * i], 16).ok()?;
        }
        Some(Cursor { arrival, order, id })
    }
}

/// Microseconds since the epoch, inverted so that an ascending order is newest first.
pub fn inverted_micros(t: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::MAX - t.timestamp_micros().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let mut a = Article::sample("s", 1, 5);
        a.arrival = Some(1_700_000_000_000_123);
        let c = Cursor::of(&a);
        let text = c.encode();
        assert_eq!(text.len(), 65);
        assert_eq!(Cursor::decode(&text), Some(c));
        assert_eq!(Cursor::decode(&text[1..]), None);
        assert_eq!(Cursor::decode(&format!("2{}", &text[1..])), None);
        assert_eq!(Cursor::decode(&text.replace('0', "g")), None);
        assert_eq!(Cursor::decode(""), None);
        assert_eq!(Cursor::decode("1é"), None);
    }
}
