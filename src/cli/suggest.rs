//! `feedloom suggest URL`: a ready-to-paste `[sources.ID]` + `[sources.ID.html]` table for a
//! news list page, found by fetching the page and a few of its articles; and the hidden
//! `feedloom extract-links FILE URL` that prints the links a list page yields (for
//! `bench/eval_links.sh`).

use std::process::ExitCode;

use std::io::Write;

use anyhow::Context;

use crate::ingest::decode::decode;
use crate::ingest::extract::{self, suggest::ArticleHints};
use crate::ingest::fetch::{Conditional, FetchOutcome, Fetched, Fetcher};

/// Article pages read to judge automatic extraction.
const SAMPLE: usize = 3;

pub(super) async fn suggest(
    path: &std::path::Path,
    url: &str,
    id: Option<&str>,
) -> anyhow::Result<ExitCode> {
    // The same fetcher and rules as a poll: the config's [poll] settings when there is one.
    let fetch_cfg = if path.exists() {
        crate::ingest::fetch_config(&super::load(path)?)
    } else {
        Default::default()
    };
    let fetcher = Fetcher::new(fetch_cfg)?;
    let page_url = url::Url::parse(url).with_context(|| format!("{url:?} is not a valid URL"))?;
    let page = fetched(fetcher.get(
        page_url.as_str(),
        &Conditional::default(),
        &Default::default(),
    ))
    .await
    .with_context(|| format!("cannot fetch {}", crate::model::redact::url(url)))?;
    let text = decode(&page.body, page.content_type.as_deref()).text;
    let id = id.map(String::from).unwrap_or_else(|| source_id(&page_url));
    if crate::ingest::parse::looks_like_feed(&text) {
        println!("# {url} is a feed: no [html] table needed");
        println!("[sources.{id}]\nurl = {}", toml_str(url));
        return Ok(ExitCode::SUCCESS);
    }
    let guess = extract::find_list(&text, &page.final_url);
    if guess.links.is_empty() {
        println!("# no list of article links found on {url}");
        return Ok(ExitCode::from(1));
    }
    let from_local = crate::ingest::fetch::in_local_space(&page_url);
    let mut pages = Vec::new();
    for link in guess.links.iter().take(SAMPLE) {
        let got = if from_local {
            fetched(fetcher.get(link, &Conditional::default(), &Default::default())).await
        } else {
            fetched(fetcher.get_linked(link, &Default::default())).await
        };
        match got {
            Ok(d) => pages.push((decode(&d.body, d.content_type.as_deref()).text, d.final_url)),
            Err(e) => eprintln!("cannot fetch {link}: {e}"),
        }
    }
    let read = pages.len();
    let hints = tokio::task::spawn_blocking(move || extract::suggest::article_hints(&pages))
        .await
        .context("reading the article pages")?;
    let feeds = extract::discover::announced_feeds(&text, &page.final_url);
    if let Some(f) = feeds.first() {
        println!(
            "# this page announces a feed, which may be better to poll: {}",
            f.url
        );
    }
    print!("{}", snippet(&id, url, &guess, &hints, read));
    Ok(ExitCode::SUCCESS)
}

async fn fetched(
    f: impl std::future::Future<Output = Result<FetchOutcome, crate::ingest::fetch::FetchError>>,
) -> anyhow::Result<Fetched> {
    match f.await? {
        FetchOutcome::Fetched(d) => Ok(d),
        FetchOutcome::NotModified { .. } => anyhow::bail!("unexpected 304"),
    }
}

/// The TOML tables to paste.
fn snippet(
    id: &str,
    url: &str,
    guess: &extract::ListGuess,
    hints: &ArticleHints,
    read: usize,
) -> String {
    let mut s = format!(
        "# {} article links found, e.g. {}; {read} article page(s) read\n",
        guess.links.len(),
        guess.links[0]
    );
    if read == 0 {
        s += "# no article page could be fetched: automatic extraction of them was not checked\n";
    }
    s += &format!("[sources.{id}]\nurl = {}\n", toml_str(url));
    s += &format!("[sources.{id}.html]\n");
    match &guess.selector {
        Some(sel) => s += &format!("items = {}\n", toml_str(sel)),
        None => {
            s += "# no CSS selector describes exactly the links found: they are found anew at each poll\n";
            s += "items = \"auto\"\n";
        }
    }
    for (key, v) in [
        ("title", &hints.title),
        ("content", &hints.content),
        ("date", &hints.date),
    ] {
        if let Some(v) = v {
            s += &format!("{key} = {}\n", toml_str(v));
        }
    }
    for n in &hints.notes {
        s += &format!("# unsure: {n}; set a selector by hand\n");
    }
    s
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A source id from the page's host and path: letters, digits and `-`.
fn source_id(u: &url::Url) -> String {
    let host = u.host_str().unwrap_or("page").trim_start_matches("www.");
    let mut id: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    id = id.trim_matches('-').to_string();
    if id.is_empty() {
        "page".into()
    } else {
        id
    }
}

/// `feedloom extract-links FILE URL [--items SEL]`: the links the list page in FILE, as
/// served from URL, yields (one a line); the automatic finder's selector on standard error.
pub(super) fn extract_links(
    file: &std::path::Path,
    url: &str,
    items: &str,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let text = decode(&bytes, None).text;
    let links = if extract::is_auto(items) {
        let guess = extract::find_list(&text, url);
        eprintln!(
            "selector: {}",
            guess.selector.as_deref().unwrap_or("(none: auto)")
        );
        guess.links
    } else {
        extract::extract_links(&text, url, items, usize::MAX)?
    };
    // A closed pipe (`| head`) ends the listing quietly.
    let mut out = std::io::stdout().lock();
    for l in links {
        if writeln!(out, "{l}").is_err() {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
