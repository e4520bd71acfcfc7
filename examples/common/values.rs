//! The values the store benchmarks apply, shaped like the cluster benchmark's: value `v` is
//! source `s{v % sources}`'s refresh in generation `v / sources`, with `items` new items.

use chrono::{DateTime, Utc};
use feedloom::model::{Article, RefreshResult, Retention, SourceState};

pub fn bench_value(v: usize, sources: usize, items: usize, now: DateTime<Utc>) -> RefreshResult {
    let source = format!("s{}", v % sources);
    let gen = v / sources;
    let articles = (0..items)
        .map(|i| Article {
            id: format!("{:032x}", (v as u128) << 8 | i as u128),
            source: source.clone(),
            url: Some(format!("http://127.0.0.1:8081/{source}/g{gen}/{i}.html")),
            guid: None,
            title: format!("Item {i} of {source}, generation {gen}"),
            content_html: Some(format!("<p>{}</p>", "Some words of the item. ".repeat(20))),
            content_text: "Some words of the item. ".repeat(20),
            summary_html: None,
            published: Some(now.fixed_offset()),
            updated: None,
            first_seen: now,
            arrival: None,
            authors: vec![],
            categories: vec![],
            enclosures: vec![],
            origin: None,
            editors: vec![],
            site: None,
            full_text: Default::default(),
        })
        .collect();
    RefreshResult::stored(
        &source,
        now,
        SourceState::default(),
        articles,
        Retention::default(),
    )
}
