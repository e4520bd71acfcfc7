//! Full text for summary feeds (`[sources.ID] full_text = true`): the page each new item links
//! to is fetched once, its article extracted (with the source's `[html]` selectors, or
//! automatically), and stored as the item's content; the feed's title, dates and link stay,
//! and the feed's content becomes the summary.
//!
//! Stored items say where their content came from (`Article::full_text`). An item stored with
//! its page's text is never fetched again: each later poll carries the stored text forward
//! into the feed's (summary-only) version, so an unchanged item compares equal to the stored
//! one and is neither rewritten nor counted as updated. A page that failed for now leaves the
//! feed's content in place and is asked again at the next poll; the refresh withholds the
//! feed's validators for that (see `refresh::process`), as it does for an HTML list page
//! whose article failed.

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::config::{ArticleRules, SourceConfig};
use crate::ingest::fetch::Fetcher;
use crate::ingest::page;
use crate::model::{Article, FullText};
use crate::store::Store;

/// At most this many pages are fetched in one poll of one source; the items beyond wait for
/// the next poll (a feed's first poll may list a hundred items, and a refresh should end
/// within its poll, not an hour later).
pub const PAGES_PER_POLL: usize = 20;

/// Pages of one source fetched at once (the fetcher's per-host limit applies as well).
const CONCURRENT_PAGES: usize = 4;

/// What one poll left for the next: pages that failed for now (their items keep the feed's
/// content) and items put off (the per-poll bound, or shutdown), left out of this result.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filled {
    pub fetched: usize,
    pub failed: usize,
    pub deferred: usize,
}

impl Filled {
    /// Pages to ask again at the next poll.
    pub fn retry(&self) -> usize {
        self.failed + self.deferred
    }
}

/// How reading one page ended; `None` when shutdown came first.
type PageRead = Option<Result<Option<Article>, page::PageError>>;

/// What to do with one item of the document.
enum Plan {
    /// Nothing: not a page to read (no web link, a pruned item the store still remembers).
    Keep,
    /// Already stored with what its page gave: carry that forward.
    Carry(Box<Article>),
    /// Fetch its page.
    Fetch(String),
    /// Leave it out of this result: the store could not say whether it has it.
    Defer,
}

/// Give the items of a `full_text` source's document their pages' text: carried forward from
/// the store for items read before, fetched (at most [`PAGES_PER_POLL`]) for the others.
/// `from_local_feed`: the feed is in local space, so its links are the operator's (else each
/// page is fetched by a public link's rules). When `stop` turns true no further page is
/// started and those in flight are given up; their items wait for the next poll.
#[allow(clippy::too_many_arguments)]
pub async fn fill(
    fetcher: &Fetcher,
    store: &Store,
    src: &SourceConfig,
    rules: &ArticleRules,
    from_local_feed: bool,
    articles: &mut Vec<Article>,
    stop: Option<watch::Receiver<bool>>,
    now: DateTime<Utc>,
) -> Filled {
    let plans = {
        let store = store.clone();
        let source = src.id.clone();
        // A `file:` item page only for a feed that is itself a file: a feed fetched over HTTP
        // (even from this machine, e.g. a local relay of others' feeds) must not make the
        // daemon read local files and publish them.
        let feed_is_file = src.url.scheme() == "file";
        let items: Vec<(String, Option<String>)> = articles
            .iter()
            .map(|a| {
                let url = a
                    .url
                    .clone()
                    .filter(|u| feed_is_file || !u.starts_with("file:"));
                (a.id.clone(), url)
            })
            .collect();
        // sled reads: off the async workers, like the rest of a refresh's store work.
        match tokio::task::spawn_blocking(move || {
            items
                .iter()
                .map(|(id, url)| plan(&store, &source, id, url.as_deref()))
                .collect::<Vec<Plan>>()
        })
        .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(source = %src.id, error = %e, "full text: store lookups failed; the items wait for the next poll");
                let deferred = articles.len();
                articles.clear();
                return Filled {
                    deferred,
                    ..Filled::default()
                };
            }
        }
    };

    let mut filled = Filled::default();
    let mut keep = vec![true; articles.len()];
    let mut todo: Vec<(usize, String)> = Vec::new();
    for (i, p) in plans.into_iter().enumerate() {
        match p {
            Plan::Keep => {}
            Plan::Carry(stored) => carry_forward(&mut articles[i], &stored),
            Plan::Fetch(link) if todo.len() < PAGES_PER_POLL => todo.push((i, link)),
            Plan::Fetch(_) | Plan::Defer => {
                keep[i] = false;
                filled.deferred += 1;
            }
        }
    }

    let results: Vec<(usize, String, PageRead)> = futures_util::stream::iter(todo)
        .map(|(i, link)| {
            let rules = rules.clone();
            let mut stop = stop.clone();
            async move {
                if stop.as_ref().is_some_and(|s| *s.borrow()) {
                    return (i, link, None);
                }
                let fetch = page::fetch_article(fetcher, src, &link, from_local_feed, rules, now);
                let r = tokio::select! {
                    r = fetch => Some(r),
                    _ = stopped(&mut stop) => None,
                };
                (i, link, r)
            }
        })
        .buffered(CONCURRENT_PAGES)
        .collect()
        .await;

    for (i, link, r) in results {
        let art = &mut articles[i];
        match r {
            None => {
                keep[i] = false;
                filled.deferred += 1;
            }
            Some(Ok(Some(page))) if page.content_html.is_some() => {
                use_page(art, page);
                filled.fetched += 1;
            }
            Some(Ok(_)) => {
                tracing::info!(source = %src.id, page = %crate::model::redact::url(&link), "full text: the page holds no article; the item keeps the feed's content");
                art.full_text = FullText::Unavailable;
            }
            Some(Err(e)) if e.is_permanent() => {
                tracing::info!(source = %src.id, page = %crate::model::redact::url(&link), error = %crate::model::redact::text(&e.to_string()), "full text: the page gives no article; the item keeps the feed's content");
                art.full_text = FullText::Unavailable;
            }
            Some(Err(e)) => {
                filled.failed += 1;
                tracing::warn!(source = %src.id, page = %crate::model::redact::url(&link), error = %crate::model::redact::text(&e.to_string()), "full text: page failed; the item keeps the feed's content and is retried at the next poll");
            }
        }
    }
    let mut keep = keep.into_iter();
    articles.retain(|_| keep.next().unwrap_or(true));
    filled
}

/// The plan for one item, from what the store holds for it: by id first, then by canonical
/// URL, as the apply finds the stored version an entry updates.
fn plan(store: &Store, source: &str, id: &str, url: Option<&str>) -> Plan {
    let stored = match store.article(id) {
        Ok(Some(a)) => Ok(Some(a)),
        Ok(None) => match url {
            Some(u) => store.article_at_url(source, u),
            None => Ok(None),
        },
        Err(e) => Err(e),
    };
    match stored {
        Err(e) => {
            tracing::warn!(source, error = %e, "full text: cannot read the store; the item waits for the next poll");
            Plan::Defer
        }
        Ok(Some(a)) if !a.full_text.is_feed() => Plan::Carry(Box::new(a)),
        _ => {
            let Some(u) = url.filter(|u| is_page_link(u)) else {
                return Plan::Keep;
            };
            // A URL the store knows without an article is a pruned item's: the apply keeps
            // it out, so its page is not worth a request.
            match store.knows_url(source, u) {
                Ok(true) if matches!(stored, Ok(None)) => Plan::Keep,
                _ => Plan::Fetch(u.to_string()),
            }
        }
    }
}

/// Links that name a page the fetcher can get (a feed's `tag:` or `urn:` ids are not).
fn is_page_link(u: &str) -> bool {
    url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "file"))
}

/// The feed's own content of an item, kept as its summary once the page's text is its content.
fn teaser(art: &Article) -> Option<String> {
    art.summary_html
        .clone()
        .or_else(|| art.content_html.clone())
}

/// Put a page's article text into the feed's item: its content (HTML and text) from the
/// page, everything else (title, dates, link, id) the feed's.
fn use_page(art: &mut Article, page: Article) {
    art.summary_html = teaser(art);
    art.content_html = page.content_html;
    art.content_text = page.content_text;
    art.full_text = FullText::Page;
}

/// An item read before: what its page gave is carried into the feed's present version, so
/// that an unchanged item is the stored one exactly (and a changed title or date still
/// updates it, keeping the text).
fn carry_forward(art: &mut Article, stored: &Article) {
    match stored.full_text {
        FullText::Page => {
            art.summary_html = teaser(art);
            art.content_html = stored.content_html.clone();
            art.content_text = stored.content_text.clone();
            art.full_text = FullText::Page;
        }
        FullText::Unavailable => art.full_text = FullText::Unavailable,
        FullText::Feed => {}
    }
}

/// Resolves when shutdown begins; never without a stop signal.
async fn stopped(stop: &mut Option<watch::Receiver<bool>>) {
    match stop {
        Some(rx) => {
            // An error means the sender is gone: the daemon is going down too.
            let _ = rx.wait_for(|s| *s).await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RefreshResult, Retention, SourceState};

    fn apply(store: &Store, articles: Vec<Article>) -> crate::store::RefreshCounts {
        let r = RefreshResult::stored(
            "a",
            Utc::now(),
            SourceState::default(),
            articles,
            Retention {
                max_items: 2,
                ..Retention::default()
            },
        );
        store.apply(r).unwrap()
    }

    /// The feed's version of item `n`: its summary only.
    fn from_feed(n: u32) -> Article {
        Article {
            content_html: Some(format!("<p>teaser {n}</p>")),
            content_text: format!("teaser {n}"),
            ..Article::sample("a", n, n as i64)
        }
    }

    /// Plan and carry forward as `fill` does, without fetching.
    fn planned(store: &Store, art: &mut Article) -> &'static str {
        match plan(store, "a", &art.id, art.url.as_deref()) {
            Plan::Keep => "keep",
            Plan::Carry(stored) => {
                carry_forward(art, &stored);
                "carry"
            }
            Plan::Fetch(_) => "fetch",
            Plan::Defer => "defer",
        }
    }

    #[test]
    fn an_item_read_before_is_carried_forward_and_stays_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut first = from_feed(1);
        assert_eq!(planned(&store, &mut first), "fetch", "a new item");
        let page = Article {
            content_html: Some("<p>the whole story</p>".into()),
            content_text: "the whole story".into(),
            ..Article::sample("a", 99, 0)
        };
        use_page(&mut first, page);
        assert_eq!(first.summary_html.as_deref(), Some("<p>teaser 1</p>"));
        assert_eq!(apply(&store, vec![first]).new, 1);

        // The next poll's feed has the summary again: carried forward, nothing changes.
        let mut again = from_feed(1);
        assert_eq!(planned(&store, &mut again), "carry");
        let counts = apply(&store, vec![again]);
        assert_eq!((counts.unchanged, counts.updated), (1, 0), "{counts:?}");

        // A new title in the feed updates the item and keeps the page's text.
        let mut retitled = Article {
            title: "a better title".into(),
            ..from_feed(1)
        };
        assert_eq!(planned(&store, &mut retitled), "carry");
        assert_eq!(apply(&store, vec![retitled]).updated, 1);
        let stored = store.article(&from_feed(1).id).unwrap().unwrap();
        assert_eq!(stored.title, "a better title");
        assert_eq!(stored.content_text, "the whole story");
        assert_eq!(stored.full_text, FullText::Page);
    }

    #[test]
    fn failed_and_unavailable_pages_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Stored with the feed's content (its page failed): asked again.
        apply(&store, vec![from_feed(1)]);
        assert_eq!(planned(&store, &mut from_feed(1)), "fetch");
        // Marked unavailable: never asked again, and the mark survives the next poll.
        let gone = Article {
            full_text: FullText::Unavailable,
            ..from_feed(2)
        };
        apply(&store, vec![gone]);
        let mut again = from_feed(2);
        assert_eq!(planned(&store, &mut again), "carry");
        assert_eq!(again.full_text, FullText::Unavailable);
        assert_eq!(apply(&store, vec![again]).unchanged, 1);
        // A pruned item (max_items = 2) is not fetched: the apply keeps it out anyway.
        apply(&store, vec![from_feed(3)]);
        assert!(store.article(&from_feed(1).id).unwrap().is_none(), "pruned");
        assert_eq!(planned(&store, &mut from_feed(1)), "keep");
        // Items without a web link have no page.
        let no_link = Article {
            url: Some("tag:example.com,2024:1".into()),
            ..from_feed(4)
        };
        assert_eq!(planned(&store, &mut no_link.clone()), "keep");
    }
}
