//! `feedloom suggest` from outside: a local origin serves the people.com.cn list page and its
//! two articles; the printed tables, pasted into a config with a channel, are polled as they
//! are and yield exactly the two articles.

use std::process::{Command, Output};

use crate::support::Origin;

fn feedloom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(args)
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .expect("run feedloom")
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        feedloom(&args)
    })
    .await
    .unwrap()
}

async fn people_origin() -> Origin {
    let o = Origin::start().await;
    for p in [
        "GB/226647/index.html",
        "n2/2021/1229/c226647-35071234.html",
        "n2/2022/0213/c360307-35131671.html",
    ] {
        o.put_fixture(
            &format!("/{p}"),
            &format!("people-sn/{p}"),
            "text/html; charset=GB2312",
        );
    }
    o
}

#[tokio::test]
async fn suggested_tables_pasted_into_a_config_poll_the_two_articles() {
    let origin = people_origin().await;
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none.toml");
    let list = origin.url("/GB/226647/index.html");
    let o = run(vec![
        "--config".into(),
        none.display().to_string(),
        "suggest".into(),
        list.clone(),
        "--id".into(),
        "people".into(),
    ])
    .await;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("[sources.people]\n"), "{out}");
    assert!(out.contains(&format!("url = \"{list}\"")), "{out}");
    assert!(out.contains("[sources.people.html]\n"), "{out}");
    // A concrete selector, not "auto": it is what the finder settled on.
    assert!(out.contains("items = \"div.p2j_list a\""), "{out}");
    // The two articles and nothing else were read: the list page and at most its two links.
    assert_eq!(origin.hits("/GB/226647/index.html"), 1);
    assert_eq!(origin.hits("/n2/2021/1229/c226647-35071234.html"), 1);
    assert_eq!(origin.hits("/n2/2022/0213/c360307-35131671.html"), 1);

    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = \"{}\"\n\n{out}\n[channels.c]\nsources = [\"people\"]\n",
            dir.path().join("s.sled").display()
        ),
    )
    .unwrap();
    let path = cfg.display().to_string();
    let o = run(vec!["--config".into(), path.clone(), "check".into()]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = run(vec!["--config".into(), path.clone(), "poll".into()]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = run(vec![
        "--config".into(),
        path,
        "render".into(),
        "c".into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    assert_eq!(o.status.code(), Some(0));
    let feed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut urls: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["url"].as_str().unwrap().to_string())
        .collect();
    urls.sort();
    assert_eq!(
        urls,
        vec![
            origin.url("/n2/2021/1229/c226647-35071234.html"),
            origin.url("/n2/2022/0213/c360307-35131671.html"),
        ]
    );
}

/// `items = "auto"` in a config polls the same two articles.
#[tokio::test]
async fn auto_items_poll_the_two_articles() {
    let origin = people_origin().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = \"{}\"\n[sources.p]\nurl = \"{}\"\ntimezone = \"Asia/Shanghai\"\n[sources.p.html]\nitems = \"auto\"\n[channels.c]\nsources = [\"p\"]\n",
            dir.path().join("s.sled").display(),
            origin.url("/GB/226647/index.html")
        ),
    )
    .unwrap();
    let path = cfg.display().to_string();
    let o = run(vec!["--config".into(), path.clone(), "poll".into()]).await;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("new=2"), "{out}");
    let o = run(vec![
        "--config".into(),
        path,
        "render".into(),
        "c".into(),
        "--format".into(),
        "json".into(),
    ])
    .await;
    let feed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let titles: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        titles.contains(&"咬紧牙关 持续从严 坚持就是胜利"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"江苏多地要求中高风险地区师生员工暂不返校"),
        "{titles:?}"
    );
}

/// A page with no list of article links: nothing to suggest, exit 1.
#[tokio::test]
async fn suggest_says_when_a_page_has_no_list() {
    let origin = Origin::start().await;
    origin.put(
        "/a.html",
        "<html><body><h1>标题</h1><p>正文，没有链接。</p></body></html>",
        "text/html; charset=utf-8",
    );
    let dir = tempfile::tempdir().unwrap();
    let o = run(vec![
        "--config".into(),
        dir.path().join("none.toml").display().to_string(),
        "suggest".into(),
        origin.url("/a.html"),
    ])
    .await;
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no list of article links"));
}
