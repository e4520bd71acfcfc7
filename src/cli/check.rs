//! `feedloom check [--fetch]`: the config's problems with line:col, likely mistakes, and (with
//! `--fetch`) what the sources' origins answer: which feed a web page announces, which
//! selectors of an HTML source match nothing.

use std::process::ExitCode;

use crate::config::{Config, ConfigError, SourceConfig, SourceKind};
use crate::ingest::fetch::{Conditional, FetchOutcome, Fetched, Fetcher};

pub(super) async fn check(path: &std::path::Path, fetch: bool) -> anyhow::Result<ExitCode> {
    match Config::load(path) {
        Ok(c) => {
            println!(
                "{}: ok ({} sources, {} channels)",
                path.display(),
                c.sources.len(),
                c.channels.len()
            );
            let mut all = warnings(&c);
            if fetch {
                match crate::ingest::fetch::Fetcher::new(crate::ingest::fetch_config(&c)) {
                    Ok(fetcher) => {
                        for line in discovered_feeds(&c, &fetcher).await {
                            println!("{line}");
                        }
                        all.extend(selector_warnings(&c, &fetcher).await);
                    }
                    Err(_) => all.push("cannot build the HTTP client".into()),
                }
            }
            for w in all {
                println!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ConfigError::Invalid { problems, .. }) => {
            for p in problems {
                println!("{}:{p}", path.display());
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            println!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// Likely mistakes that are not errors.
pub fn warnings(c: &Config) -> Vec<String> {
    let mut out = Vec::new();
    for id in c.sources.keys() {
        if c.channels_of(id).is_empty() {
            out.push(format!("source {id:?} is in no channel"));
        }
    }
    for s in c.sources.values() {
        let public = !crate::ingest::fetch::in_local_space(&s.url);
        if public && s.interval < std::time::Duration::from_secs(60) {
            out.push(format!(
                "source {:?} polls a public host every {:?}: that is impolite (use at least 1m)",
                s.id, s.interval
            ));
        }
    }
    out
}

/// The source's document as its polls fetch it (its request options), `None` for a 304, or
/// why it could not be fetched (credentials redacted).
async fn source_page(fetcher: &Fetcher, src: &SourceConfig) -> Result<Option<Fetched>, String> {
    match fetcher
        .get(src.url.as_str(), &Conditional::default(), &src.request)
        .await
    {
        Ok(FetchOutcome::Fetched(d)) => Ok(Some(d)),
        Ok(_) => Ok(None),
        Err(e) => Err(format!(
            "source {:?}: cannot fetch {}: {}",
            src.id,
            crate::model::redact::url(src.url.as_str()),
            crate::model::redact::text(&e.to_string())
        )),
    }
}

/// Fetch each feed source whose URL may be a web page and say which announced feed it polls
/// (autodiscovery), or that a page announces none.
async fn discovered_feeds(c: &Config, fetcher: &Fetcher) -> Vec<String> {
    let mut out = Vec::new();
    for src in c.sources.values() {
        if src.html.is_some() || src.kind == Some(SourceKind::Html) {
            continue;
        }
        let shown = crate::model::redact::url(src.url.as_str());
        let page = match source_page(fetcher, src).await {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(e) => {
                out.push(format!("warning: {e}"));
                continue;
            }
        };
        let text = crate::ingest::decode::decode(&page.body, page.content_type.as_deref()).text;
        if crate::ingest::parse::looks_like_feed(&text) {
            continue;
        }
        let feeds = crate::ingest::extract::discover::announced_feeds(&text, &page.final_url);
        match crate::ingest::extract::discover::choose(&feeds, src.feed_title.as_deref()) {
            Some(f) => out.push(format!(
                "source {:?}: {shown} is a web page announcing {} feed(s); polling {}{}",
                src.id,
                feeds.len(),
                crate::model::redact::url(&f.url),
                f.title
                    .as_deref()
                    .map(|t| format!(" ({t:?})"))
                    .unwrap_or_default()
            )),
            None if !feeds.is_empty() => out.push(format!(
                "warning: source {:?}: no announced feed is titled {:?} (titles: {:?})",
                src.id,
                src.feed_title.as_deref().unwrap_or(""),
                feeds
                    .iter()
                    .filter_map(|f| f.title.as_deref())
                    .collect::<Vec<_>>()
            )),
            None => out.push(format!(
                "warning: source {:?}: {shown} is a web page that announces no feed: give the \
                 feed's URL, or a [sources.{}.html] table to read the page itself",
                src.id, src.id
            )),
        }
    }
    out
}

/// Fetch each HTML source's list page and first article; warn about selectors that match
/// nothing there.
async fn selector_warnings(c: &Config, fetcher: &Fetcher) -> Vec<String> {
    let mut out = Vec::new();
    for src in c.sources.values() {
        let Some(html) = &src.html else { continue };
        let page = match source_page(fetcher, src).await {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(e) => {
                out.push(e);
                continue;
            }
        };
        let text = crate::ingest::decode::decode(&page.body, page.content_type.as_deref()).text;
        let links = crate::ingest::extract::extract_links(&text, &page.final_url, &html.items, 1)
            .unwrap_or_default();
        let Some(first) = links.first() else {
            out.push(format!(
                "source {:?}: items = {:?} finds no article links on {}",
                src.id, html.items, page.final_url
            ));
            continue;
        };
        let opts = crate::ingest::request::for_link(&src.request, &src.url, first);
        let article = match fetcher.get(first, &Conditional::default(), &opts).await {
            Ok(FetchOutcome::Fetched(d)) => d,
            _ => continue,
        };
        let text =
            crate::ingest::decode::decode(&article.body, article.content_type.as_deref()).text;
        let doc = scraper::Html::parse_document(&text);
        let r = &html.rules;
        for (key, sel) in [
            ("title", &r.title),
            ("content", &r.content),
            ("date", &r.date),
            ("author", &r.author),
            ("source", &r.source),
        ] {
            let Some(sel) = sel else { continue };
            let Ok(parsed) = scraper::Selector::parse(sel) else {
                continue;
            };
            if doc.select(&parsed).next().is_none() {
                out.push(format!(
                    "source {:?}: {key} = {sel:?} matches nothing on {first}",
                    src.id
                ));
            }
        }
    }
    out
}
