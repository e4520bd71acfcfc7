//! The source page's unit tests (the page from outside is tested in tests/it/source_page.rs).

use std::time::Duration;

use chrono::TimeZone;

use super::*;
use crate::model::board::PollOutcome;
use crate::model::SourceStatus;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 6, 12, 0, 0).unwrap()
}

fn poll(mins_ago: i64, outcome: PollOutcome, ms: u64, bytes: u64, new: usize) -> PollRecord {
    PollRecord {
        at: now() - chrono::Duration::minutes(mins_ago),
        outcome,
        duration: Duration::from_millis(ms),
        bytes,
        new,
        updated: 0,
        error: outcome
            .is_failure()
            .then(|| "HTTP 503 from <origin> \"x\"".to_string()),
    }
}

fn view() -> SourceView {
    SourceView {
        row: SourceRow {
            id: "shaanxi".into(),
            url: "https://sn.example.cn/feed?apikey=REDACTED".into(),
            status: SourceStatus::Error,
            last_error: Some("HTTP 503 from <origin>".into()),
            last_poll: Some(now() - chrono::Duration::minutes(1)),
            next_poll: Some(now() + chrono::Duration::minutes(9)),
            items: 12,
            consecutive_failures: 1,
            repairs: vec![],
        },
        last_success: Some(now() - chrono::Duration::minutes(11)),
        polls: vec![
            poll(21, PollOutcome::Stored, 120, 4096, 3),
            poll(11, PollOutcome::NotModified, 40, 0, 0),
            poll(1, PollOutcome::Failed, 5, 0, 0),
        ],
        arrivals: arrivals_per_day(
            &[
                now() - chrono::Duration::hours(1),
                now() - chrono::Duration::hours(2),
                now() - chrono::Duration::days(3),
                now() - chrono::Duration::days(45),
            ],
            now(),
        ),
        newest: vec![ItemLink {
            title: "陕西<新闻>".into(),
            url: Some("https://sn.example.cn/a/1.html".into()),
            time: now() - chrono::Duration::hours(1),
        }],
        settings: vec![("headers.X-Api-Key".into(), REDACTED.into())],
        channels: vec![("shaanxi".into(), "陕西新闻".into())],
    }
}

#[test]
fn one_mark_per_poll_and_failures_marked() {
    let page = source_html(&view(), now());
    assert_eq!(page.matches("<g class=\"poll ").count(), 3, "{page}");
    assert_eq!(page.matches("<g class=\"poll failed\">").count(), 1);
    assert_eq!(
        page.matches("class=\"mark\"").count(),
        1,
        "one ▲ for the failure"
    );
    assert_eq!(page.matches("<g class=\"day\">").count(), ARRIVAL_DAYS);
    assert!(page.contains("2024-05-06: 2 new items"), "{page}");
    assert!(page.contains("2024-05-03: 1 new item<"), "{page}");
    assert!(
        page.contains("3 items first seen"),
        "45 days ago is outside: {page}"
    );
}

#[test]
fn everything_is_escaped_and_nothing_runs() {
    let page = source_html(&view(), now());
    assert!(
        !page.contains("<origin>") && !page.contains("<新闻>"),
        "{page}"
    );
    assert!(page.contains("陕西&lt;新闻&gt;"));
    assert!(page.contains("href=\"https://sn.example.cn/a/1.html\""));
    assert!(!page.contains("<script") && !page.contains("src="));
}

#[test]
fn arrivals_count_per_utc_day_oldest_first() {
    let days = arrivals_per_day(&[now(), now() - chrono::Duration::days(29)], now());
    assert_eq!(days.len(), ARRIVAL_DAYS);
    assert_eq!(days[0], (NaiveDate::from_ymd_opt(2024, 4, 7).unwrap(), 1));
    assert_eq!(days[29], (now().date_naive(), 1));
    assert_eq!(days.iter().map(|d| d.1).sum::<usize>(), 2);
}

#[test]
fn no_polls_yet_says_so() {
    let mut v = view();
    v.polls.clear();
    let page = source_html(&v, now());
    assert!(page.contains("No polls since this server started"));
    assert!(!page.contains("class=\"poll "));
}

#[test]
fn settings_and_errors_lose_their_secrets() {
    let cfg = crate::config::Config::parse(
        r#"
[sources.s]
url = "https://bob:pw-in-url@h.example/rss?apikey=k3y-in-url-123&page=2"
headers = { "X-Api-Key" = "hdr-secret-1" }
username = "alice-user"
password = "pw-secret-2"
cookie = "sid=cookie-secret-3"
proxy = "http://pu:proxy-pw-4@proxy.example:3128"
user_agent = "MyReader/1.0"

[channels.c]
title = "C"
sources = ["s"]
"#,
        std::path::Path::new("/tmp/config.toml"),
    )
    .unwrap();
    let src = &cfg.sources["s"];
    let shown: String = settings(src)
        .iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect();
    for secret in [
        "pw-in-url",
        "k3y-in-url-123",
        "hdr-secret-1",
        "alice-user",
        "pw-secret-2",
        "cookie-secret-3",
        "proxy-pw-4",
        "bob",
    ] {
        assert!(!shown.contains(secret), "{secret} shown: {shown}");
    }
    assert!(shown.contains("headers.X-Api-Key=REDACTED"), "{shown}");
    assert!(shown.contains("user_agent=MyReader/1.0"));
    assert!(
        shown.contains("page=2"),
        "harmless query values stay: {shown}"
    );
    assert_eq!(
        scrub(
            "401: cookie sid=cookie-secret-3 for alice-user refused",
            src
        ),
        "401: cookie REDACTED for REDACTED refused"
    );
}
