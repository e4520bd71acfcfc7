//! The command line as a user runs it: exit codes and output of `check`, `poll`, `extract`,
//! `render`.

use std::process::{Command, Output};

use crate::support::{fixtures, Origin};

fn feedloom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_feedloom"))
        .args(args)
        .env("FEEDLOOM_LOG", "warn")
        .output()
        .expect("run feedloom")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn check_reports_every_problem_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[sources.a]\nurl = \"a.xml\"\ninterval = \"soon\"\n[channels.c]\nsources = [\"a\", \"zzz\"]\nexclude = \"(\"\n",
    )
    .unwrap();
    let o = feedloom(&["--config", cfg.to_str().unwrap(), "check"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let path = cfg.display().to_string();
    assert!(out.contains(&format!("{path}:3:12: interval")), "{out}");
    assert!(
        out.contains(&format!("{path}:5:17: channel \"c\" names source \"zzz\"")),
        "{out}"
    );
    assert!(
        out.contains(&format!("{path}:6:11: exclude: invalid regex")),
        "{out}"
    );
    // `serve` refuses the same config.
    let o = feedloom(&["--config", cfg.to_str().unwrap(), "serve"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("3:12"));
}

#[test]
fn the_shipped_config_is_valid() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let o = feedloom(&["--config", shipped.to_str().unwrap(), "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[tokio::test]
async fn check_fetch_warns_about_selectors_that_match_nothing() {
    let origin = Origin::start().await;
    origin.put_fixture(
        "/GB/226647/index.html",
        "people-sn/GB/226647/index.html",
        "text/html; charset=GB2312",
    );
    origin.put_fixture(
        "/n2/2021/1229/c226647-35071234.html",
        "people-sn/n2/2021/1229/c226647-35071234.html",
        "text/html; charset=GB2312",
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[sources.p]\nurl = \"{}\"\n[sources.p.html]\nitems = \"div.p2j_list li a\"\ntitle = \"h1\"\ncontent = \".no-such-class\"\n[channels.c]\nsources = [\"p\"]\n",
            origin.url("/GB/226647/index.html")
        ),
    )
    .unwrap();
    let path = cfg.to_str().unwrap().to_string();
    let o = tokio::task::spawn_blocking(move || feedloom(&["--config", &path, "check", "--fetch"]))
        .await
        .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("content = \".no-such-class\" matches nothing"),
        "{out}"
    );
    assert!(!out.contains("title = "), "h1 matches: {out}");
}

#[tokio::test]
async fn poll_prints_a_line_per_source_and_fails_when_one_fails() {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = \"{}\"\n[sources.good]\nurl = \"{}\"\n[sources.bad]\nurl = \"{}\"\n[channels.c]\nsources = [\"good\", \"bad\"]\n",
            dir.path().join("s.sled").display(),
            origin.url("/blog.rss"),
            origin.url("/missing.rss")
        ),
    )
    .unwrap();
    let path = cfg.to_str().unwrap().to_string();
    let p = path.clone();
    let o = tokio::task::spawn_blocking(move || feedloom(&["--config", &p, "poll"]))
        .await
        .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("good") && l.contains("new=2")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("bad") && l.contains("HTTP 404")),
        "{out}"
    );
    // Only the good one: exit 0, and now nothing is new (304 from the origin).
    let p = path.clone();
    let o = tokio::task::spawn_blocking(move || feedloom(&["--config", &p, "poll", "good"]))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("not_modified"), "{}", stdout(&o));
    // render prints the stored channel.
    let p = path.clone();
    let o = tokio::task::spawn_blocking(move || {
        feedloom(&["--config", &p, "render", "c", "--format", "rss"])
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("<rss"), "{}", stdout(&o));
    let p = path.clone();
    let o = tokio::task::spawn_blocking(move || feedloom(&["--config", &p, "render", "nope"]))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn extract_prints_the_article_as_json_from_a_file() {
    let page = fixtures().join("people-sn/mirror/c226647-35071234.html");
    let o = feedloom(&[
        "--config",
        "/nonexistent/config.toml",
        "extract",
        page.to_str().unwrap(),
        "--script",
        "simplified",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &v[0];
    assert_eq!(a["title"], "咬紧牙关 持续从严 坚持就是胜利");
    assert_eq!(a["published"], "2021-12-29T08:35:00+08:00");
    assert_eq!(a["editors"], serde_json::json!(["李志强", "魏鑫"]));
    for key in ["url", "authors", "source", "content_html", "content_text"] {
        assert!(a.get(key).is_some(), "missing {key}");
    }
    assert!(!a["content_text"].as_str().unwrap().contains("(wǎng)"));
}

/// `feedloom poll` under a pseudo-terminal (util-linux `script`) draws its progress on standard
/// error, `n/total` with a rate; piped, it prints no carriage returns.
#[tokio::test]
async fn poll_shows_progress_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return;
    }
    let origin = Origin::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = format!(
        "[store]\npath = \"{}\"\n",
        dir.path().join("s.sled").display()
    );
    let mut ids = Vec::new();
    for i in 0..12 {
        origin.put_fixture(
            &format!("/f{i}.rss"),
            "scenario/blog.rss",
            "application/rss+xml",
        );
        cfg.push_str(&format!(
            "[sources.s{i}]\nurl = \"{}\"\n",
            origin.url(&format!("/f{i}.rss"))
        ));
        ids.push(format!("\"s{i}\""));
    }
    cfg.push_str(&format!("[channels.c]\nsources = [{}]\n", ids.join(", ")));
    let path = dir.path().join("config.toml");
    std::fs::write(&path, cfg).unwrap();
    let command = format!(
        "FEEDLOOM_LOG=warn {} --config {} poll",
        env!("CARGO_BIN_EXE_feedloom"),
        path.display()
    );
    let o = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    // `script` relays the terminal: standard error and output both arrive on its stdout.
    let tty = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{tty}");
    assert!(tty.contains("polled 12/12 ["), "{tty:?}");
    assert!(tty.contains("/s"), "{tty:?}");
    assert!(tty.contains("\r\x1b[2K"), "redrawn in place: {tty:?}");

    // Piped: the report only (a run this short prints no progress line), no carriage return.
    let p = path.to_str().unwrap().to_string();
    let o = tokio::task::spawn_blocking(move || feedloom(&["--config", &p, "poll", "s0"]))
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("\x1b[2K"));

    // `import` of that store's export into a fresh store shows `n/total` lines on a terminal.
    let p = path.to_str().unwrap().to_string();
    let dump = tokio::task::spawn_blocking(move || feedloom(&["--config", &p, "export"]))
        .await
        .unwrap();
    assert_eq!(dump.status.code(), Some(0));
    let lines = stdout(&dump)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert!(lines > 12, "{lines} dump lines");
    let dump_path = dir.path().join("dump.jsonl");
    std::fs::write(&dump_path, &dump.stdout).unwrap();
    let fresh = dir.path().join("fresh.toml");
    std::fs::write(
        &fresh,
        format!(
            "[store]\npath = \"{}\"\n[sources.s0]\nurl = \"{}\"\n[channels.c]\nsources = [\"s0\"]\n",
            dir.path().join("fresh.sled").display(),
            origin.url("/f0.rss")
        ),
    )
    .unwrap();
    let command = format!(
        "FEEDLOOM_LOG=warn {} --config {} import {}",
        env!("CARGO_BIN_EXE_feedloom"),
        fresh.display(),
        dump_path.display()
    );
    let o = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let tty = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{tty}");
    assert!(
        tty.contains(&format!("imported {lines}/{lines} [")),
        "{tty:?}"
    );
    assert!(tty.contains("imported 12 source states"), "{tty:?}");

    // `opml import` of a reader's export: `converted n/total` for its feeds on a terminal, the
    // TOML on standard output.
    let opml_path = dir.path().join("reader.opml");
    let outlines: String = (0..5)
        .map(|i| {
            format!("<outline type=\"rss\" text=\"Feed {i}\" xmlUrl=\"https://f{i}.example/rss\"/>")
        })
        .collect();
    std::fs::write(
        &opml_path,
        format!("<?xml version=\"1.0\"?><opml version=\"2.0\"><body>{outlines}</body></opml>"),
    )
    .unwrap();
    let command = format!(
        "FEEDLOOM_LOG=warn {} --config {} opml import {}",
        env!("CARGO_BIN_EXE_feedloom"),
        fresh.display(),
        opml_path.display()
    );
    let o = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let tty = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{tty}");
    assert!(tty.contains("converted 5/5 ["), "{tty:?}");
    assert!(tty.contains("https://f4.example/rss"), "{tty:?}");
}
