//! Rendered feeds, ready to send: per (channel, format) the plain and gzip bytes, a strong ETag
//! and Last-Modified, in a map that is replaced atomically. A request only looks bytes up; a
//! change re-renders the affected channels once.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::aggregate;
use crate::config::{ChannelConfig, Config};
use crate::render::{self, Format};
use crate::store::{Store, StoreError};

/// One rendered feed with everything a response needs, computed once.
#[derive(Debug)]
pub struct Rendered {
    pub body: Bytes,
    pub gzip: Bytes,
    /// Strong ETag, quoted.
    pub etag: String,
    /// HTTP date of the newest item change.
    pub last_modified: String,
    pub last_modified_at: DateTime<Utc>,
    /// The same two values as ready-made header values, so a request builds nothing.
    pub etag_header: warp::http::HeaderValue,
    pub last_modified_header: warp::http::HeaderValue,
    pub format: Format,
    pub items: usize,
    pub newest: Option<DateTime<Utc>>,
}

/// The three renders of one channel, indexed by [`format_index`].
type Renders = [Option<Arc<Rendered>>; 3];

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

#[derive(Default)]
pub struct FeedCache {
    /// Default-limit renders: the hot path, read without locks.
    main: ArcSwap<HashMap<String, Renders>>,
    /// Renders for other `?limit=` values.
    by_limit: Mutex<HashMap<(String, Format, usize), Arc<Rendered>>>,
    /// Serializes writers of `main` (readers never wait).
    write: Mutex<()>,
}

fn gzip(bytes: &[u8]) -> Bytes {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("writing to a Vec cannot fail");
    Bytes::from(enc.finish().expect("writing to a Vec cannot fail"))
}

/// Render one channel in one format from the store. Blocking (store reads): call it off the
/// async workers.
pub fn render_channel(
    store: &Store,
    channel: &ChannelConfig,
    base_url: &str,
    format: Format,
    limit: usize,
) -> Result<Rendered, StoreError> {
    let budget = aggregate::per_source_budget(channel, limit);
    let mut per_source = Vec::with_capacity(channel.sources.len());
    for s in &channel.sources {
        per_source.push(store.newest(s, budget)?);
    }
    let view = aggregate::channel_view(channel, per_source, limit);
    let meta = aggregate::feed_meta(channel, base_url, format, &view);
    let body = render::render(&meta, &view, format);
    let etag = format!("\"{}\"", crate::normalize::hex16(&Sha256::digest(&body)));
    let newest = view.iter().map(|a| a.sort_time()).max();
    let last_modified = meta.updated.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    Ok(Rendered {
        etag_header: warp::http::HeaderValue::from_str(&etag)
            .expect("hex digest in quotes is a valid header value"),
        last_modified_header: warp::http::HeaderValue::from_str(&last_modified)
            .expect("an HTTP date is a valid header value"),
        gzip: gzip(&body),
        body: Bytes::from(body),
        etag,
        last_modified,
        last_modified_at: meta.updated,
        format,
        items: view.len(),
        newest,
    })
}

impl FeedCache {
    pub fn get(&self, channel: &str, format: Format) -> Option<Arc<Rendered>> {
        // Looked up by &str: a hit allocates nothing.
        self.main.load().get(channel)?[format_index(format)].clone()
    }

    pub fn get_limit(&self, channel: &str, format: Format, limit: usize) -> Option<Arc<Rendered>> {
        self.by_limit
            .lock()
            .expect("cache lock")
            .get(&(channel.to_string(), format, limit))
            .cloned()
    }

    pub fn put_limit(&self, channel: &str, format: Format, limit: usize, r: Arc<Rendered>) {
        let mut m = self.by_limit.lock().expect("cache lock");
        if m.len() >= MAX_LIMIT_RENDERS {
            m.clear();
        }
        m.insert((channel.to_string(), format, limit), r);
    }

    /// Re-render `channels` in every format and swap them in. Blocking.
    pub fn refresh_channels(&self, store: &Store, config: &Config, channels: &[String]) {
        let mut fresh = Vec::new();
        for id in channels {
            let Some(ch) = config.channels.get(id) else {
                continue;
            };
            for f in Format::ALL {
                match render_channel(store, ch, &config.server.base_url, f, ch.limit) {
                    Ok(r) => fresh.push((id.clone(), f, Arc::new(r))),
                    Err(e) => tracing::error!(channel = %id, error = %e, "cannot render channel"),
                }
            }
        }
        let _w = self.write.lock().expect("cache write lock");
        let mut map: HashMap<String, Renders> = (**self.main.load()).clone();
        // Channels removed from the config disappear from the cache too.
        map.retain(|c, _| config.channels.contains_key(c));
        for (id, f, r) in fresh {
            map.entry(id).or_default()[format_index(f)] = Some(r);
        }
        self.main.store(Arc::new(map));
        self.by_limit
            .lock()
            .expect("cache lock")
            .retain(|(c, _, _), _| !channels.contains(c) && config.channels.contains_key(c));
    }
}
