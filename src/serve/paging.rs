//! Paged feeds (RFC 5005 §3) and catch-up: the pages behind a channel's newest one
//! (`?before=CURSOR`, newest first, reached through each page's `next` link) and the items
//! that arrived after a cursor (`?after=CURSOR`, oldest first, `next` continuing forward until
//! the reader has caught up). See `model::cursor` for what a cursor holds.
//!
//! A page shows what the channel's feed shows: the same filters and script, and one copy of
//! a story that several sources carry — the newest copy, as in the feed (`is_channel_copy`).
//! So walking `next` from the newest page meets every stored item of the channel once, and
//! items arriving meanwhile (which sort before the walk's cursor, or after it in arrival)
//! neither shift nor repeat what is left.

use std::collections::HashMap;

use crate::config::ChannelConfig;
use crate::model::cursor::{inverted_micros, Cursor};
use crate::model::ids::id_bytes;
use crate::model::Article;
use crate::serve::aggregate;
use crate::store::{ArrivalEntry, IndexEntry, Store, StoreError};

/// Which page a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The items after the cursor's place in the feed (older ones), newest first.
    Before(Cursor),
    /// The items that arrived after the cursor's item, oldest first.
    After(Cursor),
}

impl Page {
    /// The query parameter that asks for this kind of page.
    pub fn param(&self) -> &'static str {
        match self {
            Page::Before(_) => "before",
            Page::After(_) => "after",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("bad cursor {0:?}: use the cursor of a feed item or a feed's next link")]
    Bad(String),
    #[error("give either before or after, not both")]
    Both,
    #[error(
        "cursor expired: items that arrived after it have since been removed by the channel's \
         retention; start again from the newest page"
    )]
    Expired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The page a query asks for (`before=` or `after=`), or none for the newest page.
pub fn requested(query: &HashMap<String, String>) -> Result<Option<Page>, PageError> {
    let cursor = |v: &String| Cursor::decode(v).ok_or_else(|| PageError::Bad(v.clone()));
    match (query.get("before"), query.get("after")) {
        (Some(_), Some(_)) => Err(PageError::Both),
        (Some(b), None) => Ok(Some(Page::Before(cursor(b)?))),
        (None, Some(a)) => Ok(Some(Page::After(cursor(a)?))),
        (None, None) => Ok(None),
    }
}

/// The link to the page after `last` (the last item of a full page): `self_url` with the
/// limit the reader asked for (when it is not the channel's) and the cursor.
pub fn next_url(self_url: &str, param: &str, last: &Article, limit: Option<usize>) -> String {
    let cursor = Cursor::of(last).encode();
    match limit {
        Some(l) => format!("{self_url}?limit={l}&{param}={cursor}"),
        None => format!("{self_url}?{param}={cursor}"),
    }
}

/// Entries read per source in the first round; more rounds read four times as many while
/// filters and duplicates leave a page short.
const FIRST_ROUND: usize = 64;
/// The most entries read per source for one page (retention bounds it well below, normally).
const MAX_ROUND: usize = 1 << 20;

/// The `limit` items of one page of `channel`, in page order. Blocking (store reads).
pub fn channel_page(
    store: &Store,
    channel: &ChannelConfig,
    page: Page,
    limit: usize,
) -> Result<Vec<Article>, PageError> {
    let expired = |c: &Cursor| -> Result<bool, StoreError> {
        for s in &channel.sources {
            if store.pruned_arrival(s)? > c.arrival {
                return Ok(true);
            }
        }
        Ok(false)
    };
    // The arrivals to take: none newer than the last one given before the scans start.
    let horizon = match page {
        Page::After(c) if expired(&c)? => return Err(PageError::Expired),
        Page::After(_) => store.last_arrival()?,
        Page::Before(_) => u64::MAX,
    };
    let mut round = FIRST_ROUND.max(limit);
    loop {
        let (ids, complete) = match page {
            Page::Before(c) => merged(channel, round, |s, n| {
                store.entries_behind(s, IndexEntry::at(c.order, c.id), n)
            })?,
            Page::After(c) => merged(channel, round, |s, n| {
                let after = ArrivalEntry {
                    arrival: c.arrival,
                    id: c.id,
                };
                let mut entries = store.arrivals_after(s, after, n)?;
                entries.retain(|e| e.arrival <= horizon);
                Ok(entries)
            })?,
        };
        let mut out = Vec::with_capacity(limit);
        for id in ids {
            let Some(a) = store.articles_by_id(&[id])?.pop() else {
                continue;
            };
            if is_channel_copy(store, channel, &a)? && aggregate::passes(channel, &a) {
                out.push(aggregate::convert_script(a, channel.script));
                if out.len() >= limit {
                    break;
                }
            }
        }
        if out.len() >= limit || complete || round >= MAX_ROUND {
            // Retention may have removed items after the cursor while they were read (skipped
            // above as missing): then the reader may have missed them after all.
            if let Page::After(c) = page {
                if expired(&c)? {
                    return Err(PageError::Expired);
                }
            }
            return Ok(out);
        }
        round = round.saturating_mul(4);
    }
}

/// Something a per-source scan yields in page order.
trait Entry: Ord + Copy {
    fn id(&self) -> [u8; 16];
}

impl Entry for IndexEntry {
    fn id(&self) -> [u8; 16] {
        IndexEntry::id(self)
    }
}

impl Entry for ArrivalEntry {
    fn id(&self) -> [u8; 16] {
        self.id
    }
}

/// Up to `round` entries of each source merged into page order, cut where the first source
/// that has more stops (beyond it the merge could miss that source's entries); and whether
/// every source was read to its end.
fn merged<E: Entry>(
    channel: &ChannelConfig,
    round: usize,
    mut scan: impl FnMut(&str, usize) -> Result<Vec<E>, StoreError>,
) -> Result<(Vec<[u8; 16]>, bool), StoreError> {
    let mut all = Vec::new();
    let mut horizon: Option<E> = None;
    for s in &channel.sources {
        let entries = scan(s, round)?;
        if entries.len() >= round {
            let last = *entries.last().expect("round is positive");
            horizon = Some(horizon.map_or(last, |h| h.min(last)));
        }
        all.extend(entries);
    }
    all.sort_unstable();
    if let Some(h) = horizon {
        all.retain(|e| *e <= h);
    }
    Ok((all.iter().map(Entry::id).collect(), horizon.is_none()))
}

/// True when `a` is the copy of its story the channel shows: no other source of the channel
/// holds the same canonical URL at a newer place in the feed (the feed's own rule).
fn is_channel_copy(
    store: &Store,
    channel: &ChannelConfig,
    a: &Article,
) -> Result<bool, StoreError> {
    let Some(url) = &a.url else {
        return Ok(true);
    };
    let place = |x: &Article| (inverted_micros(x.sort_time()), id_bytes(&x.id));
    let mine = place(a);
    for s in &channel.sources {
        if *s == a.source {
            continue;
        }
        if let Some(other) = store.article_at_url(s, url)? {
            if place(&other) < mine {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
