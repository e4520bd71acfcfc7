//! The domain types every stage passes along, and the few pure functions on them that both
//! paths share (ids, script conversion). No I/O happens here; nothing here imports another
//! module of the crate.
//!
//! Two shapes of an item exist on purpose:
//! - [`RawEntry`] is what a parser or an extractor found, untrusted and unsanitized, with dates
//!   that may lack an offset;
//! - [`Article`] is what normalization made of it: a stable id, a canonical URL, plain-text title,
//!   sanitized HTML, instants with offsets. Only `Article`s are stored and served.

pub mod board;
pub mod cluster;
pub mod ids;
pub mod netspace;
pub mod redact;
pub mod refresh_result;
pub mod script;
pub mod signature;

pub use board::SourceBoard;
pub use refresh_result::{DocumentItems, RefreshResult, Retention};

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

/// A person credited on an item (author, reporter, contributor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Person {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

impl Person {
    pub fn named(name: impl Into<String>) -> Self {
        Person {
            name: name.into(),
            email: None,
            uri: None,
        }
    }
}

/// A media file attached to an item (podcast audio, images).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
}

/// A date as a source wrote it: either an instant with its offset, or a local wall-clock time
/// that the source's configured timezone turns into an instant during normalization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawDate {
    Exact(DateTime<FixedOffset>),
    Local(NaiveDateTime),
}

/// One item as a parser (feed) or an extractor (HTML article) found it. Untrusted: titles may
/// carry markup and entities, HTML is not sanitized, links may be relative to `base`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// The feed's own identifier (RSS guid, Atom id, JSON Feed id).
    pub guid: Option<String>,
    /// The item's link, absolute when the parser could resolve it.
    pub link: Option<String>,
    /// Base URL for resolving relative links inside content (xml:base or the document URL).
    pub base: Option<String>,
    /// Title as found; may contain HTML markup or entities.
    pub title: Option<String>,
    /// Full content as HTML (unsanitized).
    pub content_html: Option<String>,
    /// Summary/description as HTML (unsanitized).
    pub summary_html: Option<String>,
    pub published: Option<RawDate>,
    pub updated: Option<RawDate>,
    pub authors: Vec<Person>,
    pub categories: Vec<String>,
    pub enclosures: Vec<Enclosure>,
    /// The publication the story comes from (`来源：陕西日报`).
    pub origin: Option<String>,
    /// Editors credited on the page (`(责编：李志强、魏鑫)`), in order.
    pub editors: Vec<String>,
    /// The site name (`人民网`).
    pub site: Option<String>,
}

/// What a feed document yielded: feed-level facts the scheduler and renderer care about plus its
/// entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    pub title: Option<String>,
    pub link: Option<String>,
    /// RSS `<ttl>` in minutes, when given; the scheduler never polls sooner.
    pub ttl_minutes: Option<u32>,
    pub entries: Vec<RawEntry>,
    /// Which repairs had to be applied before the document parsed (empty when it was well-formed).
    pub repairs: Vec<String>,
}

/// A stored, normalized, sanitized item. Everything served comes from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Stable id: hex of a hash over the source id and the item's guid (fallbacks: link, then
    /// title + content).
    pub id: String,
    /// The source id that produced it.
    pub source: String,
    /// Canonical URL (tracking parameters and fragment removed); the dedupe key across sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The guid as the source gave it, for output `guid`/`id` when it is a permalink-free id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    /// Plain text, entities decoded, tags stripped.
    pub title: String,
    /// Sanitized HTML with absolute URLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_html: Option<String>,
    /// Plain-text rendering of the content (or summary), for JSON Feed `content_text` and filters.
    #[serde(default)]
    pub content_text: String,
    /// Sanitized HTML summary, when the source gave one separate from the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<FixedOffset>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<DateTime<FixedOffset>>,
    /// When feedloom first stored this article; the sort key when `published` is absent.
    pub first_seen: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<Person>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enclosures: Vec<Enclosure>,
    /// Source publication (`来源`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

impl Article {
    /// A plain article for unit tests: guid `g{n}`, URL `http://x/{n}`, published `minutes`
    /// after 2024-01-01T00:00Z.
    #[cfg(test)]
    pub fn sample(source: &str, n: u32, minutes: i64) -> Article {
        let base = DateTime::parse_from_rfc3339("2024-01-01T00:00:00+00:00").expect("valid");
        Article {
            id: crate::model::ids::article_id(source, Some(&format!("g{n}")), None, "", ""),
            source: source.into(),
            url: Some(format!("http://x/{n}")),
            guid: Some(format!("g{n}")),
            title: format!("item {n}"),
            content_html: Some(format!("<p>{n}</p>")),
            content_text: format!("{n}"),
            summary_html: None,
            published: Some(base + chrono::Duration::minutes(minutes)),
            updated: None,
            first_seen: Utc::now(),
            authors: vec![],
            categories: vec![],
            enclosures: vec![],
            origin: None,
            editors: vec![],
            site: None,
        }
    }

    /// The instant used to order articles: published, else updated, else first seen.
    pub fn sort_time(&self) -> DateTime<Utc> {
        self.published
            .or(self.updated)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(self.first_seen)
    }
}

/// The health of a source as `/api/sources` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    #[default]
    Pending,
    Ok,
    Error,
    Gone,
}

/// What feedloom remembers about a source between polls (persisted in the store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SourceState {
    /// The URL polled now (differs from the configured one after a permanent redirect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The configured URL this state belongs to; a config change resets redirects and `gone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_url: Option<String>,
    /// Set when `url` is a feed that the configured web page announced (autodiscovery): if that
    /// feed disappears (404, 410), the page is asked again instead of giving up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discovered: bool,
    /// The `feed_title` the feed was chosen by: another one in the config asks the page again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_for: Option<String>,
    /// The page that announced the feed was in local space: the feed is fetched with the
    /// operator's rules (else with a public link's), decided once at discovery.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discovered_local: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// Hash of the last body that was processed, so an unchanged body without validators costs
    /// no parsing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_hash: Option<String>,
    #[serde(default)]
    pub status: SourceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default)]
    pub consecutive_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll: Option<DateTime<Utc>>,
    /// Articles stored for the source after its last stored refresh (kept here so that status
    /// pages need no store scan).
    #[serde(default)]
    pub items: usize,
    /// Repairs the last document needed (ill-formed feeds), for ops to see.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repairs: Vec<String>,
}
