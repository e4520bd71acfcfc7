//! One article page that a link leads to (an HTML list page's article, a `full_text` feed
//! item's page): fetched by the link's rules, extracted and normalized. The CPU work runs on
//! the blocking pool.

use chrono::{DateTime, Utc};

use crate::config::{ArticleRules, SourceConfig};
use crate::ingest::decode::decode;
use crate::ingest::extract::{self, ExtractError};
use crate::ingest::fetch::{Conditional, FetchError, FetchOutcome, Fetcher};
use crate::ingest::normalize::{self, SourceContext};
use crate::model::Article;

/// Why an article page gave no article.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error("the page answered 304 to a request without validators")]
    NotModified,
    /// The blocking-pool task did not complete (it panicked or the runtime is shutting down).
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl PageError {
    /// Whether asking again would get the same answer: the page is gone, refused by the
    /// local-space or size rules, or holds no article. Anything else (a timeout, a 5xx, a
    /// refused connection) may go away.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            PageError::Fetch(
                FetchError::Gone
                    | FetchError::Status {
                        status: 404 | 410,
                        ..
                    }
                    | FetchError::PrivateRedirect(_)
                    | FetchError::TooLarge(_)
                    | FetchError::BadUrl(_)
                    | FetchError::TooManyRedirects(_)
                    | FetchError::RedirectLoop(_)
            ) | PageError::Extract(_)
        )
    }
}

/// Fetch one article page, extract it with `rules` and normalize it. `link` becomes the
/// article's link whatever redirects followed. A link from a page in local space is the
/// operator's; one from a page on the web is held to a public link's rules
/// (`Fetcher::get_linked`).
pub async fn fetch_article(
    fetcher: &Fetcher,
    src: &SourceConfig,
    link: &str,
    from_local_page: bool,
    rules: ArticleRules,
    now: DateTime<Utc>,
) -> Result<Option<Article>, PageError> {
    let opts = crate::ingest::request::for_link(&src.request, &src.url, link);
    let listed = if from_local_page {
        fetcher.get(link, &Conditional::default(), &opts).await
    } else {
        fetcher.get_linked(link, &opts).await
    };
    let doc = match listed? {
        FetchOutcome::Fetched(d) => d,
        FetchOutcome::NotModified { .. } => return Err(PageError::NotModified),
    };
    let src = src.clone();
    let link = link.to_string();
    super::cpu::run(move || {
        let text = decode(&doc.body, doc.content_type.as_deref()).text;
        let mut entry = extract::extract_article(&text, &doc.final_url, &rules)?;
        entry.link = Some(link);
        let sctx = SourceContext {
            source_id: &src.id,
            timezone: src.timezone,
            base_url: &doc.final_url,
        };
        Ok(normalize::normalize(entry, &sctx, now))
    })
    .await?
}
