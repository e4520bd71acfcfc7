//! Rendered feeds, ready to send: per (channel, format) the plain and gzip bytes, a strong ETag
//! and Last-Modified, in a map that is replaced atomically, so a request only looks bytes up.
//!
//! Freshness without re-rendering on every refresh: each channel has a version, bumped when a
//! refresh changes one of its sources. A render remembers the version it was made from. A
//! request whose cached render is current sends it; one whose render is stale (or missing)
//! waits for a render made from the version it arrived at or a later one: the request that
//! finds none renders and caches it, and readers arriving meanwhile wait for that render
//! rather than making their own. (A channel whose sources change faster than it renders is
//! never current, so "current" cannot be what a waiting reader asks for.) A background worker re-renders dirty channels' cached
//! formats in batches, at most a few times a second, so that readers rarely wait and a channel
//! whose sources all change at once is rendered once, not once per source. Formats nobody asked
//! for are never rendered.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::{ChannelConfig, Config};
use crate::serve::aggregate;
use crate::serve::render::{self, Format};
use crate::store::{Store, StoreError};

/// One rendered feed with everything a response needs, computed once.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    pub gzip: Bytes,
    /// Strong ETag, quoted.
    pub etag: String,
    /// The newest item change (sent as an HTTP date in Last-Modified).
    pub last_modified_at: DateTime<Utc>,
    /// The same two values as ready-made header values, so a request builds nothing.
    pub etag_header: warp::http::HeaderValue,
    pub last_modified_header: warp::http::HeaderValue,
    /// `Link: <hub>; rel="hub", <self>; rel="self"` for public channels (WebSub discovery).
    pub link_header: Option<warp::http::HeaderValue>,
    pub format: Format,
    pub items: usize,
    pub newest: Option<DateTime<Utc>>,
    /// The channel version this was rendered from.
    pub version: u64,
}

/// The three renders of one channel, indexed by [`format_index`].
type Renders = [Option<Arc<Rendered>>; 3];

/// Channel id → its version counter.
type VersionCounters = HashMap<String, Arc<AtomicU64>>;

/// One channel in the lock-free map: its renders and its version counter.
#[derive(Clone)]
struct Slot {
    renders: Renders,
    version: Arc<AtomicU64>,
}

fn format_index(f: Format) -> usize {
    match f {
        Format::Rss => 0,
        Format::Atom => 1,
        Format::Json => 2,
    }
}

/// Extra `?limit=` renders kept at most (they are cheap to rebuild, and a client choosing random
/// limits must not grow memory).
const MAX_LIMIT_RENDERS: usize = 64;

/// What the index page shows of a channel, kept up to date by the render worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelInfo {
    pub items: usize,
    pub newest: Option<DateTime<Utc>>,
}

impl From<&Rendered> for ChannelInfo {
    fn from(r: &Rendered) -> ChannelInfo {
        ChannelInfo {
            items: r.items,
            newest: r.newest,
        }
    }
}

#[derive(Default)]
pub struct FeedCache {
    /// Default-limit renders and each channel's version counter: the hot path, read without
    /// locks.
    main: ArcSwap<HashMap<String, Slot>>,
    /// Renders for other `?limit=` values.
    by_limit: Mutex<HashMap<(String, Format, usize), Arc<Rendered>>>,
    /// Serializes writers of `main` (readers never wait).
    write: Mutex<()>,
    /// Channel version counters (absent = 0) and the channels changed since the worker last
    /// ran. A counter is shared with the channel's [`Slot`], so readers check it without a lock.
    versions: Mutex<(VersionCounters, HashSet<String>)>,
    /// Index figures per channel, and the channels whose figures are out of date: a channel
    /// nobody reads gets its figures when the index page asks for them, not at every change
    /// (a cluster node applying the others' refreshes would otherwise read every changed
    /// channel from the store several times a second).
    info: Mutex<(HashMap<String, ChannelInfo>, HashSet<String>)>,
    /// One gate per (channel, format, limit) being rendered for a request: concurrent misses on
    /// one stale feed wait for a single render instead of each rendering it (a popular channel
    /// that just changed would otherwise cost one render per waiting reader).
    inflight: Mutex<HashMap<FlightKey, Arc<tokio::sync::Mutex<()>>>>,
    /// Renders made since start (requests and the render worker), for `/metrics` and tests.
    renders: AtomicU64,
}

type FlightKey = (String, Format, usize);

/// One caller's share of a feed's render gate. Dropping it (when the caller is done, or when
/// its request is dropped mid-render) removes the gate if nobody else holds it, so gates for
/// one-off `?limit=` values or removed channels do not pile up.
struct Flight<'c> {
    cache: &'c FeedCache,
    key: FlightKey,
    gate: Arc<tokio::sync::Mutex<()>>,
}

impl<'c> Flight<'c> {
    fn join(cache: &'c FeedCache, key: FlightKey) -> Flight<'c> {
        let gate = cache
            .inflight
            .lock()
            .expect("inflight lock")
            .entry(key.clone())
            .or_default()
            .clone();
        Flight { cache, key, gate }
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        // Taken under the map's lock, where every new caller clones the gate: the map's
        // reference and ours being the only two means nobody is waiting or about to.
        let mut m = self.cache.inflight.lock().expect("inflight lock");
        if Arc::strong_count(&self.gate) <= 2 {
            m.remove(&self.key);
        }
    }
}

/// Why a feed could not be rendered for a request.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("render task failed: {0}")]
    Panicked(String),
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// The `limit` articles a channel shows, newest first, from the store. Blocking.
fn channel_articles(
    store: &Store,
    channel: &ChannelConfig,
    limit: usize,
) -> Result<Vec<crate::model::Article>, StoreError> {
    let budget = aggregate::per_source_budget(channel, limit);
    // Index keys first (cheap), merged into the order the channel shows: a channel of 200
    // sources with 20 items each then decodes the 100 articles it shows, not 4,000.
    let mut entries = Vec::new();
    for s in &channel.sources {
        entries.extend(store.newest_entries(s, budget)?);
    }
    entries.sort_unstable();
    // `limit` articles, and more (doubling) only while duplicates or filters leave too few.
    let mut take = limit.min(entries.len());
    loop {
        let view = aggregate::channel_view(channel, vec![store.articles(&entries[..take])?], limit);
        if view.len() >= limit || take == entries.len() {
            return Ok(view);
        }
        take = take.saturating_mul(2).max(1).min(entries.len());
    }
}

/// The index figures of one channel, read from the store the way a render would read them.
/// Blocking.
pub fn channel_info(store: &Store, channel: &ChannelConfig) -> Result<ChannelInfo, StoreError> {
    let view = channel_articles(store, channel, channel.limit)?;
    Ok(ChannelInfo {
        items: view.len(),
        newest: view.iter().map(|a| a.sort_time()).max(),
    })
}

/// Render one channel in one format from the store. Blocking (store reads): call it off the
/// async workers. What it read may not be on disk yet: callers flush the store before they
/// publish the result (see [`FeedCache::refresh_channels`] and
/// [`FeedCache::current_or_render`]). `zero_copy`: the render will be cached for readers, so
/// large bodies get an in-memory file for `sendfile` (see [`crate::serve::sendfile`]).
pub fn render_channel(
    store: &Store,
    channel: &ChannelConfig,
    base_url: &str,
    format: Format,
    limit: usize,
    version: u64,
    zero_copy: bool,
) -> Result<Rendered, StoreError> {
    let view = channel_articles(store, channel, limit)?;
    let mut meta = aggregate::feed_meta(channel, base_url, format, &view);
    // A full page has a page behind it (maybe empty): RFC 5005's `next`.
    if view.len() >= limit {
        if let Some(last) = view.last() {
            let asked = (limit != channel.limit).then_some(limit);
            meta.next_url = Some(crate::serve::paging::next_url(
                &meta.self_url,
                "before",
                last,
                asked,
            ));
        }
    }
    let body = render::render(&meta, &view, format);
    let etag = format!("\"{}\"", crate::model::ids::hex16(&Sha256::digest(&body)));
    let newest = view.iter().map(|a| a.sort_time()).max();
    let last_modified = meta.updated.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    // Renders kept for readers of the default limit are sent from in-memory files (zero-copy);
    // renders for other `?limit=` values (or for `feedloom render`) would only cost a file each.
    let keep = |b: Vec<u8>| {
        if zero_copy {
            crate::serve::sendfile::file_backed(b)
        } else {
            Bytes::from(b)
        }
    };
    Ok(Rendered {
        etag_header: warp::http::HeaderValue::from_str(&etag)
            .expect("hex digest in quotes is a valid header value"),
        last_modified_header: warp::http::HeaderValue::from_str(&last_modified)
            .expect("an HTTP date is a valid header value"),
        // The self URL percent-encoded (a channel id may be non-ASCII; header values may not).
        link_header: meta.hub.as_deref().and_then(|hub| {
            let self_url = url::Url::parse(&meta.self_url).ok()?;
            let link = format!("<{hub}>; rel=\"hub\", <{self_url}>; rel=\"self\"");
            warp::http::HeaderValue::from_str(&link).ok()
        }),
        gzip: keep(gzip(&body)),
        body: keep(body),
        etag,
        last_modified_at: meta.updated,
        format,
        items: view.len(),
        newest,
        version,
    })
}

/// Whether `r` may replace `cached`: renders only move forward, so a slow render finishing
/// after a faster, later one does not put older bytes back.
fn newer(r: &Rendered, cached: Option<&Rendered>) -> bool {
    cached.is_none_or(|c| r.version >= c.version)
}

impl FeedCache {
    /// The current render of `ch` in `format` with `limit` items: from the cache, or rendered
    /// now from the store (flushed before it is returned, so what a reader sees survives a
    /// crash) and cached. Concurrent callers for the same feed share one render.
    pub async fn current_or_render(
        &self,
        store: &Store,
        ch: &ChannelConfig,
        base_url: &str,
        format: Format,
        limit: usize,
    ) -> Result<Arc<Rendered>, RenderError> {
        let default_limit = limit == ch.limit;
        if default_limit {
            if let Some(r) = self.get_current(&ch.id, format) {
                return Ok(r);
            }
        }
        // The version this request arrived at: a render made from it or a later one shows
        // everything that changed before the request came in, which is all a reader can ask.
        // Asking for the version that is current when the render ends instead would never be
        // satisfied while sources keep changing (each waiter would re-render in turn, one
        // after another, and every render would be thrown away as stale).
        let wanted = self.version(&ch.id);
        let lookup = || {
            if default_limit {
                self.get_at_least(&ch.id, format, wanted)
            } else {
                self.get_limit(&ch.id, format, limit, wanted)
            }
        };
        if let Some(r) = lookup() {
            return Ok(r);
        }
        // While the store cannot write, sled fails some reads too (a read that consolidates a
        // page writes to its log): readers get the last render there is, older than the
        // channel's version but what the daemon has, rather than a render attempt per request.
        if store.failure().is_some() {
            if let Some(r) = self.latest(&ch.id, format, limit, default_limit) {
                return Ok(r);
            }
        }
        let flight = Flight::join(self, (ch.id.clone(), format, limit));
        let result = async {
            let _turn = flight.gate.lock().await;
            // Whoever held the gate before may have rendered it already.
            if let Some(r) = lookup() {
                return Ok(r);
            }
            let version = self.version(&ch.id);
            let (store2, ch2, base) = (store.clone(), ch.clone(), base_url.to_string());
            let r = tokio::task::spawn_blocking(move || {
                let store = store2;
                let started = std::time::Instant::now();
                let r = render_channel(&store, &ch2, &base, format, limit, version, default_limit)?;
                let rendered = std::time::Instant::now();
                metrics::histogram!("feedloom_render_seconds")
                    .record((rendered - started).as_secs_f64());
                let flushed = store.flush();
                // The readers who missed wait for this too: a slow disk, or sled's writers
                // starved of CPU, shows here.
                metrics::histogram!("feedloom_render_flush_seconds")
                    .record(rendered.elapsed().as_secs_f64());
                match flushed {
                    Ok(()) => Ok::<_, StoreError>((r, true)),
                    // The disk is full (or failing): readers still get what the store holds,
                    // not kept, so the first render after recovery replaces it. An item shown
                    // now and lost with sled's unwritten tail comes back with the same id at
                    // the next poll.
                    Err(_) if store.failure().is_some() => Ok((r, false)),
                    Err(e) => Err(e),
                }
            })
            .await
            .map_err(|e| RenderError::Panicked(e.to_string()))?;
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    let failing = store.failure().is_some() || store.note_failed_read(&e);
                    return match self.latest(&ch.id, format, limit, default_limit) {
                        Some(r) if failing => Ok(r),
                        _ => Err(e.into()),
                    };
                }
            };
            self.count_render();
            let (r, durable) = r;
            let r = Arc::new(r);
            if !durable {
                return Ok(r);
            }
            if default_limit {
                self.put(&ch.id, r.clone());
            } else {
                self.put_limit(&ch.id, format, limit, r.clone());
            }
            Ok(r)
        }
        .await;
        drop(flight);
        result
    }

    fn count_render(&self) {
        self.renders.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("feedloom_renders_total").increment(1);
    }

    /// Renders made since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// The channel's current version.
    pub fn version(&self, channel: &str) -> u64 {
        let v = self.versions.lock().expect("versions lock");
        v.0.get(channel).map_or(0, |c| c.load(Ordering::Acquire))
    }

    /// The newest cached render of the feed (`limit` items, `default_limit` when that is the
    /// channel's own), of whatever version.
    fn latest(
        &self,
        channel: &str,
        format: Format,
        limit: usize,
        default_limit: bool,
    ) -> Option<Arc<Rendered>> {
        if default_limit {
            self.get_at_least(channel, format, 0)
        } else {
            self.get_limit(channel, format, limit, 0)
        }
    }

    /// The cached render if it was made from version `wanted` or a later one.
    fn get_at_least(&self, channel: &str, format: Format, wanted: u64) -> Option<Arc<Rendered>> {
        let main = self.main.load();
        let r = main.get(channel)?.renders[format_index(format)].clone()?;
        (r.version >= wanted).then_some(r)
    }

    /// The version counter of `channel`, created at 0 if the channel has none yet.
    fn counter(&self, channel: &str) -> Arc<AtomicU64> {
        let mut v = self.versions.lock().expect("versions lock");
        v.0.entry(channel.to_string()).or_default().clone()
    }

    /// The cached render if it is current. Takes no lock (this is every feed request).
    pub fn get_current(&self, channel: &str, format: Format) -> Option<Arc<Rendered>> {
        let main = self.main.load();
        let slot = main.get(channel)?;
        let r = slot.renders[format_index(format)].clone()?;
        (r.version == slot.version.load(Ordering::Acquire)).then_some(r)
    }

    /// The channel's slot in `map`, made (sharing its version counter) if missing.
    fn slot_in<'m>(&self, map: &'m mut HashMap<String, Slot>, channel: &str) -> &'m mut Slot {
        map.entry(channel.to_string()).or_insert_with(|| Slot {
            renders: Renders::default(),
            version: self.counter(channel),
        })
    }

    /// Record that `channels` changed: their renders are stale from now on.
    pub fn mark_dirty(&self, channels: &[String]) {
        let mut v = self.versions.lock().expect("versions lock");
        for c in channels {
            v.0.entry(c.clone())
                .or_default()
                .fetch_add(1, Ordering::AcqRel);
            v.1.insert(c.clone());
        }
    }

    /// Take the set of channels changed since the last call.
    pub fn take_dirty(&self) -> Vec<String> {
        let mut v = self.versions.lock().expect("versions lock");
        v.1.drain().collect()
    }

    /// The channel's index figures as last computed (see [`FeedCache::update_infos`]).
    pub fn info(&self, channel: &str) -> Option<ChannelInfo> {
        self.info.lock().expect("info lock").0.get(channel).copied()
    }

    /// Record figures read at channel version `version`; they are current (the channel's
    /// "out of date" mark goes) only if the channel has not changed since.
    fn set_info(&self, channel: &str, info: ChannelInfo, version: u64) {
        let current = self.version(channel);
        let mut i = self.info.lock().expect("info lock");
        i.0.insert(channel.to_string(), info);
        if version >= current {
            i.1.remove(channel);
        }
    }

    /// Which of `channels` have figures out of date (changed since they were computed).
    pub fn stale_infos<'a>(&self, channels: impl Iterator<Item = &'a str>) -> Vec<String> {
        let i = self.info.lock().expect("info lock");
        channels
            .filter(|c| i.1.contains(*c) || !i.0.contains_key(*c))
            .map(str::to_string)
            .collect()
    }

    /// Compute the index figures of `channels` from the store. Blocking.
    pub fn update_infos(&self, store: &Store, config: &Config, channels: &[String]) {
        for id in channels {
            let Some(ch) = config.channels.get(id) else {
                continue;
            };
            let version = self.version(id);
            match channel_info(store, ch) {
                Ok(info) => self.set_info(id, info, version),
                Err(e) => tracing::error!(channel = %id, error = %e, "cannot read channel"),
            }
        }
    }

    /// Cache `r` unless a render from a later version is cached already. A render of a
    /// version that is no longer current is still kept: [`FeedCache::get_current`] will not
    /// send it as current, but readers who arrived before the change it missed may have it.
    pub fn put(&self, channel: &str, r: Arc<Rendered>) {
        let _w = self.write.lock().expect("cache write lock");
        let mut map: HashMap<String, Slot> = (**self.main.load()).clone();
        let slot = format_index(r.format);
        let renders = &mut self.slot_in(&mut map, channel).renders;
        if !newer(&r, renders[slot].as_deref()) {
            return;
        }
        renders[slot] = Some(r.clone());
        self.main.store(Arc::new(map));
        self.set_info(channel, ChannelInfo::from(&*r), r.version);
    }

    /// The cached `?limit=` render if it was made from version `wanted` or a later one.
    pub fn get_limit(
        &self,
        channel: &str,
        format: Format,
        limit: usize,
        wanted: u64,
    ) -> Option<Arc<Rendered>> {
        let r = self
            .by_limit
            .lock()
            .expect("cache lock")
            .get(&(channel.to_string(), format, limit))
            .cloned()?;
        (r.version >= wanted).then_some(r)
    }

    pub fn put_limit(&self, channel: &str, format: Format, limit: usize, r: Arc<Rendered>) {
        let mut m = self.by_limit.lock().expect("cache lock");
        let key = (channel.to_string(), format, limit);
        if !newer(&r, m.get(&key).map(|c| &**c)) {
            return;
        }
        if m.len() >= MAX_LIMIT_RENDERS {
            m.clear();
        }
        m.insert(key, r);
    }

    /// Bring `channels` up to date: re-render the formats that are cached (someone reads them)
    /// and refresh the index figures; formats nobody asked for stay unrendered. Blocking.
    pub fn refresh_channels(&self, store: &Store, config: &Config, channels: &[String]) {
        let mut fresh = Vec::new();
        let mut infos = Vec::new();
        for id in channels {
            let Some(ch) = config.channels.get(id) else {
                continue;
            };
            let version = self.version(id);
            let cached = self
                .main
                .load()
                .get(id)
                .map(|s| s.renders.clone())
                .unwrap_or_default();
            let wanted: Vec<Format> = Format::ALL
                .into_iter()
                .filter(|f| cached[format_index(*f)].is_some())
                .collect();
            // A channel nobody reads needs no render, and its index figures only when the
            // index page asks.
            if wanted.is_empty() {
                self.info.lock().expect("info lock").1.insert(id.clone());
                continue;
            }
            for f in wanted {
                let base = &config.server.base_url;
                match render_channel(store, ch, base, f, ch.limit, version, true) {
                    Ok(r) => {
                        self.count_render();
                        infos.push((id, ChannelInfo::from(&r), r.version));
                        fresh.push((id.clone(), Arc::new(r)));
                    }
                    Err(e) => tracing::error!(channel = %id, error = %e, "cannot render channel"),
                }
            }
        }
        // One flush for the whole batch, after every read and before anything is published:
        // nothing is served before it is on disk.
        if let Err(e) = store.flush() {
            tracing::error!(error = %e, "cannot flush the store; channels not re-rendered");
            // Still stale: the render worker tries again at the next change.
            self.mark_dirty(channels);
            return;
        }
        for (id, info, version) in infos {
            self.set_info(id, info, version);
        }
        let _w = self.write.lock().expect("cache write lock");
        let mut map: HashMap<String, Slot> = (**self.main.load()).clone();
        // Channels removed from the config disappear from the cache too.
        map.retain(|c, _| config.channels.contains_key(c));
        for (id, r) in fresh {
            let slot = format_index(r.format);
            let renders = &mut self.slot_in(&mut map, &id).renders;
            if newer(&r, renders[slot].as_deref()) {
                renders[slot] = Some(r);
            }
        }
        self.main.store(Arc::new(map));
        self.by_limit
            .lock()
            .expect("cache lock")
            .retain(|(c, _, _), _| config.channels.contains_key(c));
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
