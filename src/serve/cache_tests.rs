//! The render cache's unit tests (kept apart so that `cache.rs` stays a readable size).
use super::*;
use std::path::Path;

fn setup() -> (tempfile::TempDir, Store, Config) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let cfg = Config::parse(
        "[sources.a]\nurl = \"http://127.0.0.1:9/a.xml\"\n[channels.c]\nsources = [\"a\"]\n",
        Path::new("/tmp/x/config.toml"),
    )
    .unwrap();
    (dir, store, cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_on_a_stale_feed_render_once() {
    let (_d, store, cfg) = setup();
    let cache = Arc::new(FeedCache::default());
    let ch = cfg.channels["c"].clone();
    let base = cfg.server.base_url.clone();
    let first = cache
        .current_or_render(&store, &ch, &base, Format::Atom, ch.limit)
        .await
        .unwrap();
    assert_eq!(cache.renders(), 1);
    // The channel changes: 64 readers arrive at once.
    cache.mark_dirty(&["c".to_string()]);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let (cache, store, ch, base) = (cache.clone(), store.clone(), ch.clone(), base.clone());
            tokio::spawn(async move {
                cache
                    .current_or_render(&store, &ch, &base, Format::Atom, ch.limit)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.version, first.version + 1);
    }
    assert_eq!(cache.renders(), 2, "one render for all 64 readers");
    // A cached current render costs nothing; other formats and limits are their own feeds.
    cache
        .current_or_render(&store, &ch, &base, Format::Atom, ch.limit)
        .await
        .unwrap();
    cache
        .current_or_render(&store, &ch, &base, Format::Rss, 5)
        .await
        .unwrap();
    assert_eq!(cache.renders(), 3);
    assert!(
        cache.inflight.lock().unwrap().is_empty(),
        "gates are removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_of_a_channel_that_never_stops_changing_share_renders() {
    let (_d, store, cfg) = setup();
    // Enough items that a render takes a while (a millisecond or so).
    let arts = (0..50)
        .map(|n| crate::model::Article {
            content_html: Some("<p>words </p>".repeat(200)),
            ..crate::model::Article::sample("a", n, i64::from(n))
        })
        .collect();
    store
        .apply(crate::model::RefreshResult::stored(
            "a",
            Utc::now(),
            Default::default(),
            arts,
            crate::model::Retention::default(),
        ))
        .unwrap();
    let cache = Arc::new(FeedCache::default());
    let ch = cfg.channels["c"].clone();
    let base = cfg.server.base_url.clone();
    // The channel changes all the time: no render is current by the time it ends.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (cache, stop) = (cache.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                cache.mark_dirty(&["c".to_string()]);
                std::thread::sleep(std::time::Duration::from_micros(5));
            }
        })
    };
    let readers: Vec<_> = (0..32)
        .map(|_| {
            let (cache, store, ch, base) = (cache.clone(), store.clone(), ch.clone(), base.clone());
            tokio::spawn(async move {
                for _ in 0..20 {
                    let arrived = cache.version("c");
                    let r = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        cache.current_or_render(&store, &ch, &base, Format::Rss, ch.limit),
                    )
                    .await
                    .expect("a reader is answered while the channel keeps changing")
                    .unwrap();
                    assert!(r.version >= arrived, "a render from before the reader came");
                }
            })
        })
        .collect();
    for r in readers {
        r.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    assert!(
        cache.renders() <= 320,
        "{} renders for 640 requests: readers waiting together share one",
        cache.renders()
    );
}

/// What a channel showed before index keys were merged first: every source's newest
/// `budget` articles, decoded, merged by `channel_view`.
fn channel_articles_by_decoding_all(
    store: &Store,
    channel: &ChannelConfig,
    limit: usize,
) -> Vec<crate::model::Article> {
    let budget = aggregate::per_source_budget(channel, limit);
    let per_source = channel
        .sources
        .iter()
        .map(|s| store.newest(s, budget).unwrap())
        .collect();
    aggregate::channel_view(channel, per_source, limit)
}

#[test]
fn merging_index_keys_first_shows_what_decoding_every_article_showed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db")).unwrap();
    let cfg = Config::parse(
        "[sources.a]\nurl = \"http://127.0.0.1:9/a\"\n[sources.b]\nurl = \"http://127.0.0.1:9/b\"\n\
         [sources.c]\nurl = \"http://127.0.0.1:9/c\"\n\
         [channels.all]\nsources = [\"a\", \"b\", \"c\"]\nlimit = 30\n\
         [channels.odd]\nsources = [\"a\", \"b\", \"c\"]\nlimit = 30\nexclude = \"[02468]$\"\n",
        Path::new("/tmp/x/config.toml"),
    )
    .unwrap();
    for (k, src) in ["a", "b", "c"].into_iter().enumerate() {
        let arts = (0..40u32)
            .map(|n| {
                let mut a = crate::model::Article::sample(src, n, i64::from(n * 3) + k as i64);
                // Every source reposts some of the same stories (same URL) and some items
                // share a time with another source's.
                if n % 4 == 0 {
                    a.url = Some(format!("http://x/shared/{n}"));
                }
                if n % 5 == 0 {
                    a.published = crate::model::Article::sample(src, n, i64::from(n)).published;
                }
                a
            })
            .collect();
        store
            .apply(crate::model::RefreshResult::stored(
                src,
                Utc::now(),
                Default::default(),
                arts,
                crate::model::Retention::default(),
            ))
            .unwrap();
    }
    for id in ["all", "odd"] {
        let ch = &cfg.channels[id];
        for limit in [0, 1, 7, 30, 200] {
            let ids =
                |v: Vec<crate::model::Article>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
            let got = ids(channel_articles(&store, ch, limit).unwrap());
            let want = ids(channel_articles_by_decoding_all(&store, ch, limit));
            assert_eq!(got, want, "channel {id}, limit {limit}");
            assert!(limit == 0 || !got.is_empty());
        }
    }
}

#[test]
fn a_slower_older_render_does_not_replace_a_newer_one() {
    let (_d, store, cfg) = setup();
    let cache = FeedCache::default();
    let ch = &cfg.channels["c"];
    let base = &cfg.server.base_url;
    let render =
        |v| Arc::new(render_channel(&store, ch, base, Format::Rss, ch.limit, v, false).unwrap());
    cache.mark_dirty(&["c".to_string(), "c".to_string()]);
    cache.put("c", render(2));
    cache.put("c", render(1));
    assert_eq!(cache.get_current("c", Format::Rss).unwrap().version, 2);
    cache.mark_dirty(&["c".to_string()]);
    assert!(
        cache.get_current("c", Format::Rss).is_none(),
        "stale is not current"
    );
    assert_eq!(cache.get_at_least("c", Format::Rss, 2).unwrap().version, 2);
    assert!(cache.get_at_least("c", Format::Rss, 3).is_none());
}

#[tokio::test]
async fn a_request_dropped_mid_render_leaves_no_gate() {
    let (_d, store, cfg) = setup();
    let cache = FeedCache::default();
    let ch = cfg.channels["c"].clone();
    let base = cfg.server.base_url.clone();
    // Poll the render once (it starts the blocking render and waits), then drop it, as a
    // server drops a request whose client went away.
    {
        let fut = cache.current_or_render(&store, &ch, &base, Format::Atom, 7);
        let mut fut = std::pin::pin!(fut);
        let _ = futures_util::poll!(fut.as_mut());
    }
    assert!(cache.inflight.lock().unwrap().is_empty());
}

#[test]
fn refreshing_an_unread_channel_updates_its_figures_without_rendering() {
    let (_d, store, cfg) = setup();
    let cache = FeedCache::default();
    let now = Utc::now();
    let art = crate::model::Article {
        published: Some(now.fixed_offset()),
        ..crate::model::Article::sample("a", 1, 0)
    };
    store
        .apply(crate::model::RefreshResult::stored(
            "a",
            now,
            Default::default(),
            vec![art],
            crate::model::Retention::default(),
        ))
        .unwrap();
    cache.mark_dirty(&["c".to_string()]);
    cache.refresh_channels(&store, &cfg, &cache.take_dirty());
    assert_eq!(cache.renders(), 0, "nobody reads c: nothing to render");
    let stale = cache.stale_infos(["c"].into_iter());
    assert_eq!(stale, ["c"], "its figures wait for the index page");
    cache.update_infos(&store, &cfg, &stale);
    assert!(cache.stale_infos(["c"].into_iter()).is_empty());
    let info = cache.info("c").unwrap();
    assert_eq!(info.items, 1);
    assert!(info.newest.is_some());
}
