//! The fuzz harness: one function per target, taking the fuzzer's bytes and driving feedloom's
//! public entry points the way the daemon does (see `src/ingest/refresh.rs`'s `read_document`
//! and `src/serve/http.rs`'s `answer`).
//!
//! The targets in `fuzz_targets/` are one-line wrappers around these functions, and
//! `tests/fuzz_regressions.rs` includes this file (`#[path]`) to replay saved inputs through
//! exactly the same code. So it uses only crates that feedloom itself depends on.

#![allow(dead_code)]

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::service::{service_fn, Service};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use feedloom::config::{ArticleRules, Config};
use feedloom::ingest::decode::decode;
use feedloom::ingest::extract::{self, date};
use feedloom::ingest::normalize::{self, pinyin, SourceContext};
use feedloom::ingest::parse;
use feedloom::model::{RawDate, RawEntry};

/// A fixed "now", so that a saved input replays identically (normalize compares dates to it).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 17, 12, 0, 0).unwrap()
}

const FEED_URL: &str = "https://news.example.com/feeds/latest.xml";
const PAGE_URLS: [&str; 4] = [
    "https://news.example.com/2024/05/17/article-123.html",
    "http://sn.people.com.cn/n2/2021/1229/c186331-35072386.html",
    "https://example.org/posts/hello-world",
    "file:///srv/mirror/page.html",
];
const TIMEZONES: [Tz; 3] = [Tz::UTC, Tz::Asia__Shanghai, Tz::America__New_York];

fn lossy(data: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// A deterministic small number from the input, to pick among fixed options without taking
/// bytes away from the document (seed files stay plain documents). The length is used: the
/// fuzzer changes it constantly.
fn pick(data: &[u8], n: usize) -> usize {
    data.len() % n
}

/// An optional leading `Content-Type: …` line, as a fetch would report it; the rest is the body.
pub fn split_content_type(data: &[u8]) -> (Option<String>, &[u8]) {
    const KEY: &[u8] = b"Content-Type:";
    if data.len() >= KEY.len() && data[..KEY.len()].eq_ignore_ascii_case(KEY) {
        let end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
        let ct = String::from_utf8_lossy(&data[KEY.len()..end])
            .trim()
            .to_string();
        let rest = if end < data.len() {
            &data[end + 1..]
        } else {
            &[]
        };
        return (Some(ct), rest);
    }
    (None, data)
}

/// A panic hook for the parse targets. `parse_feed` runs feed-rs under `catch_unwind` (a panic
/// inside feed-rs is reported as a parse error, by design), but libFuzzer's hook aborts on every
/// panic, caught or not. Panics whose location is inside feed-rs or quick-xml are therefore
/// let through to that `catch_unwind` (and named once on stderr); every other panic — ours,
/// including `dates.rs` called back from inside feed-rs — still aborts: a finding.
pub fn tolerate_caught_parser_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        let seen: Mutex<Vec<String>> = Mutex::new(Vec::new());
        std::panic::set_hook(Box::new(move |info| {
            let loc = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let in_parser = loc.contains("/feed-rs-") || loc.contains("/quick-xml-");
            if in_parser {
                let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                if !seen.contains(&loc) {
                    // Worded without "panicked at", which run.sh reads as a finding.
                    let msg = info
                        .payload()
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| info.payload().downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    let msg: String = msg.chars().take(200).collect();
                    eprintln!("fuzz: tolerated a panic inside feed-rs/quick-xml (caught by parse_feed's run_parser) at {loc}: {msg}");
                    seen.push(loc);
                }
                return;
            }
            fuzzer_hook(info)
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// decode

/// `decode(bytes, content_type)`; the content type is an optional first line
/// `Content-Type: …`.
pub fn fuzz_decode(data: &[u8]) {
    let (ct, body) = split_content_type(data);
    let d = decode(body, ct.as_deref());
    // A BOM-less valid UTF-8 body with no declaration decodes to itself.
    if ct.is_none() && !body.starts_with(b"\xEF\xBB\xBF") && d.encoding == "UTF-8" {
        if let Ok(s) = std::str::from_utf8(body) {
            assert_eq!(d.text, s, "UTF-8 input changed by decode");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// feed parse (with repair) → normalize, as refresh.rs reads a feed source

pub fn fuzz_parse_feed(data: &[u8]) {
    tolerate_caught_parser_panics();
    let (ct, body) = split_content_type(data);
    let text = decode(body, ct.as_deref()).text;
    let _ = parse::looks_like_feed(&text);
    let tz = TIMEZONES[pick(data, TIMEZONES.len())];
    if let Ok(parsed) = parse::parse_feed(&text, Some(FEED_URL)) {
        let ctx = SourceContext {
            source_id: "fuzz",
            timezone: tz,
            base_url: FEED_URL,
        };
        for e in parsed.entries {
            let _ = normalize::normalize(e, &ctx, now());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// article extraction → normalize (an html source without an [html] table, or an article page)

fn article_rules(which: usize) -> ArticleRules {
    match which {
        0 => ArticleRules::default(),
        // The shape of README's people-sn example, plus the selectors a config may set.
        _ => ArticleRules {
            title: Some("h1".into()),
            content: Some(".rm_txt_con, article, #content".into()),
            date: Some(".col-1-1, time, .date".into()),
            author: Some(".author, [rel=author]".into()),
            source: Some(".source a".into()),
            remove: vec![".edit".into(), ".share".into(), "script".into()],
        },
    }
}

pub fn fuzz_extract_article(data: &[u8]) {
    let (ct, body) = split_content_type(data);
    let text = decode(body, ct.as_deref()).text;
    let url = PAGE_URLS[pick(data, PAGE_URLS.len())];
    let rules = article_rules(pick(data, 2));
    if let Ok(entry) = extract::extract_article(&text, url, &rules) {
        let ctx = SourceContext {
            source_id: "fuzz",
            timezone: Tz::Asia__Shanghai,
            base_url: url,
        };
        let _ = normalize::normalize(entry, &ctx, now());
    }
}

// ---------------------------------------------------------------------------------------------
// list-page link extraction

const ITEM_SELECTORS: [&str; 4] = ["div.p2j_list li a", "a", "ul li", "article h2 a, .news a"];

pub fn fuzz_extract_links(data: &[u8]) {
    let (ct, body) = split_content_type(data);
    let text = decode(body, ct.as_deref()).text;
    let url = PAGE_URLS[pick(data, PAGE_URLS.len())];
    let sel = ITEM_SELECTORS[pick(data, ITEM_SELECTORS.len())];
    if let Ok(links) = extract::extract_links(&text, url, sel, 20) {
        assert!(links.len() <= 20, "more links than max_items");
        for l in &links {
            assert!(!l.contains('#'), "fragment kept in {l:?}");
            let _ = normalize::canonical_url(l);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dates: the page-date finders (extract/date.rs) and the feed timestamp parser (parse/dates.rs,
// reached through parse_feed, it being crate-private), then normalize's instant conversion

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;")
}

pub fn fuzz_dates(data: &[u8]) {
    tolerate_caught_parser_panics();
    let s = lossy(data);
    let _ = date::find_date(&s);
    let _ = date::find_month(&s);
    let _ = date::url_date(&s);
    let _ = date::url_date(&format!("https://example.com/{s}"));
    // `<time datetime="MACHINE">DISPLAYED</time>`: the two halves split at the first '|'.
    let (machine, displayed) = s.split_once('|').unwrap_or((&s, &s));
    if let Some(m) = date::parse_machine_date(machine) {
        let _ = m.naive_date();
        if let Some(shown) = date::in_displayed_offset(m, displayed) {
            // Only the offset may change, never the instant.
            if let (RawDate::Exact(a), RawDate::Exact(b)) = (m.date, shown.date) {
                assert_eq!(a, b, "in_displayed_offset moved the instant");
            }
        }
    }
    // The feed timestamp parser sees the text as feed-rs hands it over.
    let text = s.trim();
    if text.len() > 256 {
        return;
    }
    let x = xml_escape(text);
    let j = serde_json::to_string(text).expect("a string serializes");
    let docs = [
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><pubDate>{x}</pubDate><item><title>a</title>\
             <link>https://e.example/a</link><pubDate>{x}</pubDate></item></channel></rss>"
        ),
        format!(
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>urn:f</id><updated>{x}</updated>\
             <entry><id>urn:e</id><title>a</title><updated>{x}</updated><published>{x}</published></entry></feed>"
        ),
        format!(
            "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"t\",\"items\":[{{\"id\":\"1\",\
             \"title\":\"a\",\"url\":\"https://e.example/a\",\"date_published\":{j},\"date_modified\":{j}}}]}}"
        ),
    ];
    for (i, doc) in docs.iter().enumerate() {
        if let Ok(parsed) = parse::parse_feed(doc, Some(FEED_URL)) {
            let ctx = SourceContext {
                source_id: "fuzz",
                timezone: TIMEZONES[i],
                base_url: FEED_URL,
            };
            for e in parsed.entries {
                let _ = normalize::normalize(e, &ctx, now());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// config

pub fn fuzz_config(data: &[u8]) {
    let text = lossy(data);
    match Config::parse(&text, Path::new("/etc/feedloom/config.toml")) {
        Ok(cfg) => {
            for id in cfg.sources.keys() {
                let _ = cfg.channels_of(id);
            }
            let _ = cfg.changes_to(&cfg);
            assert!(
                !cfg.needs_restart(&cfg),
                "a config needs a restart against itself"
            );
            let _ = feedloom::serve::routes::public_channels(&cfg);
            for src in cfg.sources.values() {
                let _ = src.host();
            }
        }
        // Rendering the problems (line:col, messages) is part of what an operator sees.
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// normalize (and the text stages it uses: pinyin stripping, sanitizing, plain text)

/// The input split at NUL bytes into entry fields, in order: title, content, summary, link,
/// guid, author, category, date, origin, editor, site. Missing fields are `None`.
pub fn fuzz_normalize(data: &[u8]) {
    let s = lossy(data);
    let _ = pinyin::strip_pinyin(&s);
    let base = url::Url::parse(PAGE_URLS[0]).ok();
    let _ = normalize::sanitize(&s, base.as_ref());
    let plain = normalize::html_to_text(&s);
    let ex = normalize::excerpt(&plain, 1 + pick(data, 200));
    assert!(
        ex.chars().count() <= 1 + pick(data, 200) + 1,
        "excerpt too long"
    );
    let _ = normalize::canonical_url(&s);

    let mut f = s.split('\0').map(|x| Some(x.to_string()));
    let mut next = || f.next().flatten();
    let title = next();
    let content_html = next();
    let summary_html = next();
    let link = next();
    let guid = next();
    let author = next();
    let category = next();
    let date_text = next();
    let entry = RawEntry {
        title,
        content_html,
        summary_html,
        link,
        guid,
        base: Some(PAGE_URLS[pick(data, PAGE_URLS.len())].to_string()),
        authors: author
            .map(|name| {
                vec![feedloom::model::Person {
                    name,
                    ..Default::default()
                }]
            })
            .unwrap_or_default(),
        categories: category.into_iter().collect(),
        published: date_text
            .as_deref()
            .and_then(date::parse_machine_date)
            .map(|d| d.date),
        origin: next(),
        editors: next().into_iter().collect(),
        site: next(),
        ..Default::default()
    };
    let ctx = SourceContext {
        source_id: "fuzz",
        timezone: TIMEZONES[pick(data, TIMEZONES.len())],
        base_url: PAGE_URLS[0],
    };
    let _ = normalize::normalize(entry, &ctx, now());
}

// ---------------------------------------------------------------------------------------------
// routes: raw HTTP/1.1 bytes → hyper's request-head parser → the listener's dispatch →
// routes::respond / the warp filter, against a small store

const CONFIG: &str = r#"
[server]
listen = "127.0.0.1:0"
base_url = "http://feeds.example"
admin_token = "adm1n"

[store]
path = "store.sled"

[sources.blog]
url = "https://blog.example/feed.rss"
[sources.site]
url = "https://site.example/atom.xml"
[sources.json]
url = "https://json.example/feed.json"
[sources.gbk]
url = "https://gbk.example/rss.xml"
timezone = "Asia/Shanghai"

[channels.mixed]
title = "Mixed"
sources = ["blog", "site", "json"]
limit = 20

[channels.private]
sources = ["gbk"]
token = "s3cret"
script = "simplified"

[channels."新闻"]
sources = ["gbk", "blog"]
script = "traditional"
"#;

/// The private channel's token: a 200 or 304 for that channel needs it somewhere in the request.
const TOKEN: &str = "s3cret";

const SCENARIO: [(&str, &[u8]); 4] = [
    (
        "blog",
        include_bytes!("../../tests/fixtures/scenario/blog.rss"),
    ),
    (
        "site",
        include_bytes!("../../tests/fixtures/scenario/site.atom"),
    ),
    (
        "json",
        include_bytes!("../../tests/fixtures/scenario/items.json"),
    ),
    (
        "gbk",
        include_bytes!("../../tests/fixtures/scenario/gbk.rss"),
    ),
];

type WarpFn = Arc<
    dyn Fn(Request<Empty<Bytes>>) -> Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>
        + Send
        + Sync,
>;

pub struct Server {
    rt: tokio::runtime::Runtime,
    state: Arc<feedloom::serve::ServeState>,
    warp: WarpFn,
}

static ROUTES_DIR: OnceLock<std::path::PathBuf> = OnceLock::new();

fn open_server() -> Server {
    use feedloom::model::refresh_result::{RefreshResult, Retention};
    use feedloom::model::SourceState;
    use feedloom::serve::ServeState;

    // The store lives in TMPDIR (run.sh points it at its scratch folder).
    let dir = std::env::temp_dir().join(format!("feedloom-fuzz-routes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot make the store folder");
    // The folder goes when the process exits normally (a crash leaves it: under run.sh it is
    // inside a scratch folder that run.sh removes).
    if ROUTES_DIR.set(dir.clone()).is_ok() {
        extern "C" fn remove_routes_dir() {
            if let Some(d) = ROUTES_DIR.get() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
        // SAFETY: registers a plain extern "C" function with no arguments.
        unsafe {
            libc::atexit(remove_routes_dir);
        }
    }
    let config_path = dir.join("config.toml");
    let config = Config::parse(CONFIG, &config_path).expect("the routes config is valid");
    let store = feedloom::store::Store::open(&config.store.path).expect("cannot open the store");
    for (source, bytes) in SCENARIO {
        let text = decode(bytes, None).text;
        let parsed = parse::parse_feed(&text, Some(FEED_URL)).expect("scenario feed parses");
        let ctx = SourceContext {
            source_id: source,
            timezone: Tz::Asia__Shanghai,
            base_url: FEED_URL,
        };
        let articles = parsed
            .entries
            .into_iter()
            .filter_map(|e| normalize::normalize(e, &ctx, now()))
            .collect();
        store
            .apply(RefreshResult::stored(
                source,
                now(),
                SourceState::default(),
                articles,
                Retention::default(),
            ))
            .expect("store apply");
    }
    let board = Arc::new(feedloom::model::board::SourceBoard::new(
        store.source_states().expect("source states"),
    ));
    let config = Arc::new(arc_swap::ArcSwap::from_pointee(config));
    let reload: feedloom::serve::Reload = {
        let config = config.clone();
        let path = config_path.clone();
        Arc::new(move || {
            let old = config.load_full();
            let new = Config::parse(CONFIG, &path)?;
            let summary = old.changes_to(&new);
            config.store(Arc::new(new));
            Ok(summary)
        })
    };
    let cluster: feedloom::serve::ClusterView =
        Arc::new(|| feedloom::model::cluster::ClusterStatus {
            node: "fuzz-1".into(),
            reachable: true,
            ..Default::default()
        });
    let websub = feedloom::serve::websub::Hub::new(config.clone(), store.clone());
    let state = Arc::new(ServeState {
        websub,
        config,
        store,
        board,
        cache: Default::default(),
        render_wakeup: tokio::sync::Notify::new(),
        reload,
        cluster: Some(cluster),
        push: Default::default(),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // As http.rs's warp_fn: the warp filter as a function from request head to whole answer.
    let warp: WarpFn = {
        let service = TowerToHyperService::new(warp::service(feedloom::serve::routes::routes(
            state.clone(),
        )));
        Arc::new(move |req| {
            let answer = service.call(req);
            Box::pin(async move {
                let resp = answer.await.unwrap_or_else(|e| match e {});
                let (parts, body) = resp.into_parts();
                let body = body.collect().await.expect("warp body").to_bytes();
                Response::from_parts(parts, Full::new(body))
            })
        })
    };
    Server { rt, state, warp }
}

fn server() -> &'static Server {
    static S: OnceLock<Server> = OnceLock::new();
    S.get_or_init(open_server)
}

/// As the listener's `answer`, with its own dispatch decision: feed reads from the cache,
/// path-less targets refused, everything else to warp (called here on the harness's runtime).
async fn answer(srv: &Server, req: Request<Incoming>) -> Response<Full<Bytes>> {
    use feedloom::serve::http::{answer_feed, bad_target, dispatch, Dispatch};
    let (parts, _body) = req.into_parts();
    match dispatch(&parts) {
        Dispatch::BadTarget => bad_target(),
        Dispatch::Feed => answer_feed(&srv.state, &parts).await,
        Dispatch::Other => (srv.warp)(Request::from_parts(parts, Empty::<Bytes>::new())).await,
    }
}

fn is_private_feed(path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    decoded.starts_with("/feeds/private.")
}

/// Feed the bytes to hyper's HTTP/1.1 server over an in-memory connection, as one client would
/// send them (pipelined requests included), then close the client's side.
pub fn fuzz_routes(data: &[u8]) {
    let srv = server();
    let has_token = percent_encoding::percent_decode(data)
        .decode_utf8_lossy()
        .contains(TOKEN);
    srv.rt.block_on(async {
        let (mut client, server_io) = tokio::io::duplex(64 * 1024);
        let service = service_fn(move |req: Request<Incoming>| async move {
            let path = req.uri().path().to_string();
            let resp = answer(srv, req).await;
            let status = resp.status();
            assert_ne!(
                status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 for {path:?}"
            );
            if is_private_feed(&path)
                && (status == StatusCode::OK || status == StatusCode::NOT_MODIFIED)
            {
                assert!(
                    has_token,
                    "private feed {path:?} served ({status}) without its token"
                );
            }
            Ok::<_, Infallible>(resp)
        });
        // As the listener's builder (http.rs), plus half_close: the harness closes its write
        // side after the last byte, and without it hyper drops the connection at that EOF
        // before answering, where a real client would simply wait for the answers.
        let max_buf = srv.state.config.load().server.max_header_bytes;
        let conn = hyper::server::conn::http1::Builder::new()
            .max_buf_size(max_buf)
            .half_close(true)
            .serve_connection(TokioIo::new(server_io), service);
        let write = async move {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut out = Vec::new();
            let _ = client.read_to_end(&mut out).await;
            out
        };
        let (_, out) = tokio::join!(conn, write);
        if std::env::var_os("FEEDLOOM_FUZZ_DEBUG").is_some() {
            eprintln!("--- response bytes:\n{}", String::from_utf8_lossy(&out));
        }
    });
}
