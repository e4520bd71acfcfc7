//! The store's unit tests: refresh writes, retention, tombstones, URL keys, idempotent apply.

use chrono::{DateTime, Utc};

use super::*;
use crate::model::{Article, SourceState};
use crate::model::{RefreshResult, Retention};

/// One refresh through the store's single write call.
trait ApplyRefresh {
    fn apply_refresh(
        &self,
        source: &str,
        articles: Vec<Article>,
        state: &SourceState,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<RefreshCounts, StoreError>;
}

impl ApplyRefresh for Store {
    fn apply_refresh(
        &self,
        source: &str,
        articles: Vec<Article>,
        state: &SourceState,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<RefreshCounts, StoreError> {
        self.apply(RefreshResult::stored(
            source,
            now,
            state.clone(),
            articles,
            retention,
        ))
    }
}

fn art(source: &str, n: u32, minutes: i64) -> Article {
    Article::sample(source, n, minutes)
}

pub(super) fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("db")).unwrap();
    (dir, s)
}

#[test]
fn new_updated_unchanged_and_order() {
    let (_d, s) = open();
    let st = SourceState::default();
    let c = s
        .apply_refresh(
            "a",
            vec![art("a", 1, 1), art("a", 2, 2)],
            &st,
            Retention::default(),
            Utc::now(),
        )
        .unwrap();
    assert_eq!((c.new, c.updated, c.unchanged), (2, 0, 0));
    let mut changed = art("a", 1, 5);
    changed.title = "item 1 v2".into();
    let c = s
        .apply_refresh(
            "a",
            vec![changed, art("a", 2, 2)],
            &st,
            Retention::default(),
            Utc::now(),
        )
        .unwrap();
    assert_eq!((c.new, c.updated, c.unchanged), (0, 1, 1));
    let got = s.newest("a", 10).unwrap();
    let titles: Vec<_> = got.iter().map(|a| a.title.as_str()).collect();
    assert_eq!(titles, vec!["item 1 v2", "item 2"]);
    assert_eq!(s.count("a"), 2);
    assert_eq!(s.count("b"), 0);
}

#[test]
fn retention_prunes_oldest_and_tombstones_keep_them_out() {
    let (_d, s) = open();
    let st = SourceState::default();
    let r = Retention {
        max_items: 3,
        ..Retention::default()
    };
    let all: Vec<Article> = (0..5).map(|i| art("a", i, i as i64)).collect();
    let c = s
        .apply_refresh("a", all.clone(), &st, r, Utc::now())
        .unwrap();
    assert_eq!(c.pruned, 2);
    assert_eq!(s.count("a"), 3);
    // The source still lists all five: the pruned two stay out.
    let c = s.apply_refresh("a", all, &st, r, Utc::now()).unwrap();
    assert_eq!((c.new, c.tombstoned, c.pruned), (0, 2, 0));
    let titles: Vec<_> = s
        .newest("a", 10)
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    assert_eq!(titles, vec!["item 4", "item 3", "item 2"]);
    assert!(s.knows_url("a", "http://x/0").unwrap());
}

#[test]
fn max_age_prunes_and_tombstones_expire() {
    let (_d, s) = open();
    let st = SourceState::default();
    // Items dated 2024-01-01; "now" a year later; max_age 30 days.
    let now = DateTime::parse_from_rfc3339("2025-01-01T00:00:00+00:00")
        .unwrap()
        .with_timezone(&Utc);
    let r = Retention {
        max_age: Some(std::time::Duration::from_secs(30 * 86400)),
        tombstone_ttl: std::time::Duration::from_secs(86400),
        ..Retention::default()
    };
    let c = s
        .apply_refresh("a", vec![art("a", 1, 1), art("a", 2, 2)], &st, r, now)
        .unwrap();
    assert_eq!((c.new, c.pruned, c.total), (2, 2, 0));
    assert_eq!(s.count("a"), 0);
    // Still tombstoned a moment later...
    let c = s
        .apply_refresh("a", vec![art("a", 1, 1)], &st, r, now)
        .unwrap();
    assert_eq!(c.tombstoned, 1);
    // ...and no longer after the tombstones expired and were swept.
    let later = now + chrono::Duration::days(2);
    assert_eq!(s.expire_tombstones(later, 1000).unwrap(), 2);
    assert!(!s.knows_url("a", "http://x/1").unwrap());
    let keep = Retention::default();
    let c = s
        .apply_refresh("a", vec![art("a", 1, 1)], &st, keep, later)
        .unwrap();
    assert_eq!(c.new, 1);
}

#[test]
fn url_changed_and_pruned_in_one_batch_leaves_no_url_key_behind() {
    let (_d, s) = open();
    let st = SourceState::default();
    let now = Utc::now();
    let r = Retention {
        max_items: 2,
        tombstone_ttl: std::time::Duration::from_secs(86400),
        ..Retention::default()
    };
    s.apply_refresh("a", vec![art("a", 1, 1)], &st, r, now)
        .unwrap();
    // Item 1 moves to a new URL (same guid, same date: same index key) in the refresh that
    // also brings two newer items and so prunes it.
    let mut moved = art("a", 1, 1);
    moved.url = Some("http://x/1-moved".into());
    let c = s
        .apply_refresh(
            "a",
            vec![moved, art("a", 2, 2), art("a", 3, 3)],
            &st,
            r,
            now,
        )
        .unwrap();
    assert_eq!((c.updated, c.new, c.pruned), (1, 2, 1));
    assert!(!s.knows_url("a", "http://x/1").unwrap());
    assert!(s.knows_url("a", "http://x/1-moved").unwrap(), "tombstoned");
    // Once the tombstone expires, nothing of item 1 is left.
    let later = now + chrono::Duration::days(2);
    assert_eq!(s.expire_tombstones(later, 1000).unwrap(), 1);
    assert!(!s.knows_url("a", "http://x/1-moved").unwrap());
}

#[test]
fn a_story_back_after_its_tombstone_expired_at_a_new_url_leaves_no_old_key() {
    let (_d, s) = open();
    let st = SourceState::default();
    let now = Utc::now();
    let r = Retention {
        max_items: 1,
        tombstone_ttl: std::time::Duration::from_secs(60),
        ..Retention::default()
    };
    // Item 1 is pruned at once (item 2 is newer): tombstoned with its URL.
    s.apply_refresh("a", vec![art("a", 1, 1), art("a", 2, 2)], &st, r, now)
        .unwrap();
    assert!(s.knows_url("a", "http://x/1").unwrap());
    // Its tombstone expires (not yet swept) and it comes back under the same guid at a new
    // URL, newer than item 2.
    let later = now + chrono::Duration::minutes(5);
    let mut back = art("a", 1, 3);
    back.url = Some("http://x/1-new".into());
    let c = s.apply_refresh("a", vec![back], &st, r, later).unwrap();
    assert_eq!(c.new, 1);
    assert!(s.knows_url("a", "http://x/1-new").unwrap());
    assert!(
        !s.knows_url("a", "http://x/1").unwrap(),
        "the old URL key leaked"
    );
}

#[test]
fn one_story_twice_in_a_document_is_written_once() {
    let (_d, s) = open();
    let st = SourceState::default();
    let now = Utc::now();
    let r = Retention::default();
    s.apply_refresh("a", vec![art("a", 0, 0)], &st, r, now)
        .unwrap();
    // Two new guids, both at item 0's URL: one update of item 0, not two.
    let mut a = art("a", 10, 10);
    a.url = Some("http://x/0".into());
    let mut b = art("a", 11, 20);
    b.url = Some("http://x/0".into());
    let c = s.apply_refresh("a", vec![a, b], &st, r, now).unwrap();
    assert_eq!((c.new, c.updated, c.total), (0, 1, 1));
    let ids: Vec<String> = s
        .newest("a", 10)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    // Two new guids sharing a new URL: one article, whose URL key outlives no tombstone.
    let mut g1 = art("a", 1, 30);
    g1.url = Some("http://x/u".into());
    let mut g2 = art("a", 2, 25);
    g2.url = Some("http://x/u".into());
    let keep_one = Retention {
        max_items: 2,
        tombstone_ttl: std::time::Duration::from_secs(86400),
        ..Retention::default()
    };
    let c = s
        .apply_refresh("a", vec![g1, g2], &st, keep_one, now)
        .unwrap();
    assert_eq!(c.new, 1);
    assert_eq!(
        s.expire_tombstones(now + chrono::Duration::days(2), 1000)
            .unwrap(),
        0
    );
    assert!(s.knows_url("a", "http://x/u").unwrap());
    assert_eq!(s.count("a"), 2);
}

#[test]
fn same_url_new_guid_is_an_update() {
    let (_d, s) = open();
    let st = SourceState::default();
    s.apply_refresh(
        "a",
        vec![art("a", 1, 1)],
        &st,
        Retention::default(),
        Utc::now(),
    )
    .unwrap();
    let mut again = art("a", 1, 1);
    again.id = crate::model::ids::article_id("a", Some("other-guid"), None, "", "");
    again.guid = Some("other-guid".into());
    let c = s
        .apply_refresh("a", vec![again], &st, Retention::default(), Utc::now())
        .unwrap();
    assert_eq!((c.new, c.updated), (0, 1));
    assert_eq!(s.count("a"), 1);
}

#[test]
fn state_lands_with_the_batch() {
    let (_d, s) = open();
    let st = SourceState {
        etag: Some("\"v1\"".into()),
        ..Default::default()
    };
    s.apply_refresh(
        "a",
        vec![art("a", 1, 1)],
        &st,
        Retention::default(),
        Utc::now(),
    )
    .unwrap();
    assert_eq!(
        s.source_state("a").unwrap().unwrap().etag.as_deref(),
        Some("\"v1\"")
    );
}

/// Every key and value in the store, for comparing whole states.
fn snapshot(s: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    s.tree()
        .unwrap()
        .iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

#[test]
fn applying_the_same_result_twice_changes_nothing() {
    let (_d, s) = open();
    let now = Utc::now();
    let r = Retention {
        max_items: 3,
        tombstone_ttl: std::time::Duration::from_secs(86400),
        ..Retention::default()
    };
    let st = SourceState {
        etag: Some("\"v1\"".into()),
        next_poll: Some(now),
        ..Default::default()
    };
    s.apply_refresh("a", vec![art("a", 1, 1)], &st, r, now)
        .unwrap();
    // A result with a new story, a changed one, one story twice and enough items to prune:
    // every branch of the apply that writes something.
    let mut changed = art("a", 1, 1);
    changed.title = "item 1 v2".into();
    let mut twin = art("a", 9, 9);
    twin.url = Some("http://x/2".into());
    let articles = vec![
        changed,
        art("a", 2, 2),
        twin,
        art("a", 3, 3),
        art("a", 4, 4),
        art("a", 5, 5),
    ];
    let result = RefreshResult::stored("a", now, st.clone(), articles, r);
    // Through the wire form, as a replicated log would deliver it.
    let result = RefreshResult::from_bytes(&result.to_bytes()).unwrap();
    let first = s.apply(result.clone()).unwrap();
    assert!(
        first.new > 0 && first.updated == 1 && first.pruned > 0,
        "{first:?}"
    );
    let after_once = snapshot(&s);
    let second = s.apply(result.clone()).unwrap();
    assert!(!second.changed(), "{second:?}");
    assert_eq!(second.total, first.total);
    assert_eq!(
        snapshot(&s),
        after_once,
        "the second apply changed the store"
    );
    // A state-only result is idempotent too.
    let failed = SourceState {
        consecutive_failures: 1,
        ..st
    };
    let only = RefreshResult::state_only("a", now, failed);
    s.apply(only.clone()).unwrap();
    let after_state = snapshot(&s);
    s.apply(only).unwrap();
    assert_eq!(snapshot(&s), after_state);
    assert_eq!(
        s.source_state("a").unwrap().unwrap().consecutive_failures,
        1
    );
}

fn arrivals(s: &Store, source: &str) -> Vec<(u64, String)> {
    let start = ArrivalEntry {
        arrival: 0,
        id: [0; 16],
    };
    let entries = s.arrivals_after(source, start, 1000).unwrap();
    let ids: Vec<[u8; 16]> = entries.iter().map(|e| e.id).collect();
    let arts = s.articles_by_id(&ids).unwrap();
    entries
        .iter()
        .zip(arts)
        .map(|(e, a)| {
            assert_eq!(a.arrival, Some(e.arrival), "the record carries its arrival");
            (e.arrival, a.title)
        })
        .collect()
}

#[test]
fn arrivals_increase_in_landing_order_and_survive_updates() {
    let (_d, s) = open();
    let st = SourceState::default();
    let t = Utc::now();
    s.apply_refresh(
        "a",
        vec![art("a", 1, 5), art("a", 2, 1)],
        &st,
        Retention::default(),
        t,
    )
    .unwrap();
    // A refresh that started earlier but lands later still arrives later.
    s.apply_refresh(
        "b",
        vec![art("b", 3, 9)],
        &st,
        Retention::default(),
        t - chrono::Duration::seconds(30),
    )
    .unwrap();
    let a = arrivals(&s, "a");
    let b = arrivals(&s, "b");
    assert_eq!(
        a.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
        ["item 1", "item 2"]
    );
    assert!(a[0].0 < a[1].0 && a[1].0 < b[0].0, "{a:?} {b:?}");
    // An update keeps the arrival.
    let mut changed = art("a", 1, 5);
    changed.title = "item 1, corrected".into();
    s.apply_refresh("a", vec![changed], &st, Retention::default(), t)
        .unwrap();
    let again = arrivals(&s, "a");
    assert_eq!(again[0], (a[0].0, "item 1, corrected".to_string()));
}

#[test]
fn pruning_marks_the_greatest_visible_arrival_removed() {
    let (_d, s) = open();
    let st = SourceState::default();
    let keep2 = Retention {
        max_items: 2,
        ..Retention::default()
    };
    let t = Utc::now();
    // Three at once, one pruned in the same batch: never visible, nothing marked.
    s.apply_refresh(
        "a",
        vec![art("a", 1, 1), art("a", 2, 2), art("a", 3, 3)],
        &st,
        keep2,
        t,
    )
    .unwrap();
    assert_eq!(s.pruned_arrival("a").unwrap(), 0);
    let before = arrivals(&s, "a");
    assert_eq!(before.len(), 2);
    // Two newer ones push both out: the mark is the greater of their arrivals.
    s.apply_refresh("a", vec![art("a", 4, 4), art("a", 5, 5)], &st, keep2, t)
        .unwrap();
    assert_eq!(s.pruned_arrival("a").unwrap(), before[0].0.max(before[1].0));
    assert_eq!(
        arrivals(&s, "a").len(),
        2,
        "the arrival keys went with the articles"
    );
}

#[test]
fn a_store_older_than_arrivals_is_indexed_once_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let base = Utc::now();
    {
        let s = Store::open(&path).unwrap();
        let mut old = Vec::new();
        for n in 0..3u32 {
            let mut a = art("a", n, i64::from(n));
            a.first_seen = base + chrono::Duration::seconds(10 - i64::from(n));
            old.push(a);
        }
        s.import_articles(&old).unwrap();
        // As a store written before arrivals: no arrival keys, no mark.
        let t = s.tree().unwrap();
        for k in t.scan_prefix([codec::P_ARRIVAL]).keys() {
            t.remove(k.unwrap()).unwrap();
        }
        t.remove(codec::ARRIVAL_INDEX_KEY).unwrap();
        s.flush().unwrap();
    }
    let s = Store::open(&path).unwrap();
    let start = ArrivalEntry {
        arrival: 0,
        id: [0; 16],
    };
    let entries = s.arrivals_after("a", start, 10).unwrap();
    let ids: Vec<[u8; 16]> = entries.iter().map(|e| e.id).collect();
    let titles: Vec<String> = s
        .articles_by_id(&ids)
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    // Ordered by first-seen time, which stands in for the arrival.
    assert_eq!(titles, ["item 2", "item 1", "item 0"]);
    // New articles arrive after all of them.
    s.apply_refresh(
        "a",
        vec![art("a", 9, 0)],
        &SourceState::default(),
        Retention::default(),
        base,
    )
    .unwrap();
    let entries = s.arrivals_after("a", start, 10).unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(
        s.articles_by_id(&[entries[3].id]).unwrap()[0].title,
        "item 9"
    );
}

#[test]
fn first_seen_since_reads_recent_arrivals_newest_first() {
    let (_d, s) = open();
    let st = SourceState::default();
    let now = Utc::now();
    let ago = |days: i64| now - chrono::Duration::days(days);
    // Applied in the order they were first seen, as refreshes land.
    for (n, seen) in [(1, ago(40)), (2, ago(10)), (3, ago(0))] {
        let mut a = art("a", n, n as i64);
        a.first_seen = seen;
        s.apply_refresh("a", vec![a], &st, Retention::default(), seen)
            .unwrap();
    }
    let mut other = art("b", 9, 9);
    other.first_seen = ago(1);
    s.apply_refresh("b", vec![other], &st, Retention::default(), now)
        .unwrap();
    assert_eq!(
        s.first_seen_since("a", ago(30), 100).unwrap(),
        vec![ago(0), ago(10)],
        "the one seen 40 days ago is left out, and source b's"
    );
    assert_eq!(s.first_seen_since("a", ago(30), 1).unwrap(), vec![ago(0)]);
    assert!(s.first_seen_since("none", ago(30), 100).unwrap().is_empty());
}

/// A log of values over three sources: first items, updates, pruning, a state-only value.
fn logged_values(now: DateTime<Utc>) -> Vec<(u64, RefreshResult)> {
    let r = Retention {
        max_items: 3,
        tombstone_ttl: std::time::Duration::from_secs(86400),
        ..Retention::default()
    };
    let mut out = Vec::new();
    for round in 0..4u32 {
        for source in ["a", "b", "c"] {
            let mut articles: Vec<Article> = (0..3)
                .map(|i| art(source, round * 2 + i, i64::from(round * 2 + i)))
                .collect();
            // The previous round's newest item comes back changed.
            articles[0].title = format!("{source} round {round}");
            let state = SourceState {
                etag: Some(format!("\"{source}{round}\"")),
                ..Default::default()
            };
            out.push(RefreshResult::stored(source, now, state, articles, r));
        }
        out.push(RefreshResult::state_only(
            "b",
            now,
            SourceState {
                consecutive_failures: round,
                ..Default::default()
            },
        ));
    }
    out.into_iter()
        .enumerate()
        .map(|(i, v)| (i as u64 + 1, v))
        .collect()
}

#[test]
fn a_group_of_values_lands_as_they_would_one_by_one() {
    let now = Utc::now();
    let values = logged_values(now);
    let (_d1, one) = open();
    for (seq, v) in values.clone() {
        one.apply_logged(v, seq).unwrap();
    }
    let (_d2, grouped) = open();
    // Cut where a source repeats, as the cluster's applier does.
    let mut group: Vec<(u64, RefreshResult)> = Vec::new();
    let mut groups = 0;
    for (seq, v) in values.clone() {
        if group.iter().any(|(_, g)| g.source == v.source) {
            grouped
                .apply_logged_group(std::mem::take(&mut group))
                .unwrap();
            groups += 1;
        }
        group.push((seq, v));
    }
    grouped.apply_logged_group(group).unwrap();
    assert!(groups >= 4, "the log was applied in {groups} groups");
    assert_eq!(snapshot(&grouped), snapshot(&one));
    assert_eq!(grouped.applied_seq().unwrap(), values.len() as u64);
    // The log delivering a group again changes nothing and says so.
    let again = grouped.apply_logged_group(values[..3].to_vec()).unwrap();
    assert_eq!(again, vec![None, None, None]);
    assert_eq!(snapshot(&grouped), snapshot(&one));
}

#[test]
fn a_group_with_a_source_twice_is_refused_whole() {
    let now = Utc::now();
    let values = logged_values(now);
    let (_d, s) = open();
    let before = snapshot(&s);
    // Values 1 ("a"), 2 ("b"), 3 ("c"), 4 ("b", state only).
    let err = s.apply_logged_group(values[..4].to_vec()).unwrap_err();
    assert!(
        matches!(err, StoreError::SourceTwiceInGroup(ref b) if b == "b"),
        "{err}"
    );
    assert_eq!(snapshot(&s), before);
    assert_eq!(s.applied_seq().unwrap(), 0);
}
