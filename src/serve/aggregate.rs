//! A channel's view: its sources' newest articles merged, deduplicated by canonical URL,
//! filtered, converted to the channel's script, sorted newest first and cut. Pure.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use crate::config::ChannelConfig;
use crate::model::script::{self, Script};
use crate::model::Article;
use crate::serve::render::{FeedMeta, Format};

/// How many articles to read per source to fill a view of `limit` items: without filters the
/// newest `limit` of each source suffice; with filters more are read, up to retention.
pub fn per_source_budget(channel: &ChannelConfig, limit: usize) -> usize {
    if channel.include.is_some() || channel.exclude.is_some() {
        limit.saturating_mul(10).max(1000)
    } else {
        limit
    }
}

/// True when the channel's `include`/`exclude` filters let `a` through.
pub(crate) fn passes(channel: &ChannelConfig, a: &Article) -> bool {
    let hay = |re: &regex::Regex| re.is_match(&a.title) || re.is_match(&a.content_text);
    if let Some(inc) = &channel.include {
        if !hay(inc) {
            return false;
        }
    }
    if let Some(exc) = &channel.exclude {
        if hay(exc) {
            return false;
        }
    }
    true
}

/// Merge per-source lists (each newest first) into the channel view.
pub fn channel_view(
    channel: &ChannelConfig,
    per_source: Vec<Vec<Article>>,
    limit: usize,
) -> Vec<Article> {
    let mut all: Vec<Article> = per_source.into_iter().flatten().collect();
    // Newest first; ties broken by id so that the order (and so the bytes and ETag) is stable.
    all.sort_by(|a, b| {
        b.sort_time()
            .cmp(&a.sort_time())
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut seen_urls = HashSet::new();
    let mut seen_ids = HashSet::new();
    let mut out = Vec::with_capacity(limit.min(all.len()));
    for a in all {
        if out.len() >= limit {
            break;
        }
        if !seen_ids.insert(a.id.clone()) {
            continue;
        }
        // The same story reposted by two sources appears once: the newest copy wins.
        if let Some(u) = &a.url {
            if !seen_urls.insert(u.clone()) {
                continue;
            }
        }
        if !passes(channel, &a) {
            continue;
        }
        out.push(convert_script(a, channel.script));
    }
    out
}

/// `a` in the channel's Chinese script.
pub(crate) fn convert_script(mut a: Article, script: Script) -> Article {
    if script == Script::Keep {
        return a;
    }
    let c = |s: &str| script::convert(s, script);
    a.title = c(&a.title);
    a.content_html = a.content_html.as_deref().map(c);
    a.summary_html = a.summary_html.as_deref().map(c);
    a.content_text = c(&a.content_text);
    a.origin = a.origin.as_deref().map(c);
    a.site = a.site.as_deref().map(c);
    a.editors = a.editors.iter().map(|e| c(e)).collect();
    for p in &mut a.authors {
        p.name = c(&p.name);
    }
    a.categories = a.categories.iter().map(|e| c(e)).collect();
    a
}

/// Feed-level facts for rendering `articles` of `channel` in `format`.
pub fn feed_meta(
    channel: &ChannelConfig,
    base_url: &str,
    format: Format,
    articles: &[Article],
) -> FeedMeta {
    let updated = articles
        .iter()
        .map(|a| {
            a.updated
                .or(a.published)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(a.first_seen)
        })
        .max()
        // An empty channel still needs a fixed date, or its bytes would change every render.
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    FeedMeta {
        id: channel.id.clone(),
        title: channel.title.clone(),
        description: channel.description.clone(),
        language: channel.language.clone(),
        self_url: format!("{base_url}/feeds/{}.{}", channel.id, format.extension()),
        home_url: format!("{base_url}/#{}", channel.id),
        icon: channel.icon.clone(),
        hub: (!channel.is_private()).then(|| format!("{base_url}/websub")),
        updated,
        next_url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(include: Option<&str>, exclude: Option<&str>) -> ChannelConfig {
        ChannelConfig {
            id: "c".into(),
            title: "C".into(),
            description: None,
            sources: vec!["a".into(), "b".into()],
            limit: 50,
            include: include.map(|r| regex::Regex::new(r).unwrap()),
            exclude: exclude.map(|r| regex::Regex::new(r).unwrap()),
            language: None,
            script: Script::Keep,
            token: None,
            icon: None,
        }
    }

    fn art(source: &str, id: &str, url: &str, minute: i64, title: &str) -> Article {
        Article {
            id: id.into(),
            url: Some(url.into()),
            guid: None,
            title: title.into(),
            content_html: None,
            content_text: String::new(),
            ..Article::sample(source, 0, minute)
        }
    }

    #[test]
    fn merges_dedupes_filters_and_cuts() {
        let a = vec![
            art("a", "1", "http://x/shared", 5, "shared story"),
            art("a", "2", "http://x/a2", 3, "rust news"),
        ];
        let b = vec![
            art("b", "3", "http://x/b3", 4, "sports"),
            art("b", "4", "http://x/shared", 2, "shared story again"),
        ];
        let v = channel_view(&ch(None, None), vec![a.clone(), b.clone()], 50);
        let ids: Vec<_> = v.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, vec!["1", "3", "2"]);
        let v = channel_view(&ch(None, Some("sports")), vec![a.clone(), b.clone()], 50);
        assert_eq!(v.len(), 2);
        let v = channel_view(&ch(Some("rust"), None), vec![a.clone(), b.clone()], 50);
        assert_eq!(v.len(), 1);
        let v = channel_view(&ch(None, None), vec![a, b], 2);
        assert_eq!(v.len(), 2);
    }
}
