//! The WebSub hub from outside: a subscriber written for the tests (a small warp server on
//! 127.0.0.1 that records what it gets and echoes challenges when told to) discovers the hub
//! from a served feed, subscribes, is verified, receives the new items a poll found, signed
//! with its secret (checked with this file's own HMAC), and nothing after unsubscribing. A
//! subscription survives a restart of the daemon; refusals (no echo, private channel, local
//! callback without `allow_local_callbacks`) and retries of a failing callback are checked too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use warp::http::HeaderMap;
use warp::Filter;

use crate::support::{client, daemon_config_head, hmac_sha256, spawn_app, Daemon, Origin, TestApp};

#[derive(Debug, Clone)]
struct Delivery {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
struct SubState {
    /// Paths that echo the challenge (others answer something else).
    echo: Vec<String>,
    /// Status answered to deliveries, by path (200 when not set).
    status: HashMap<String, u16>,
    verifications: Vec<(String, HashMap<String, String>)>,
    deliveries: Vec<Delivery>,
}

/// The test's subscriber.
struct Subscriber {
    addr: SocketAddr,
    state: Arc<Mutex<SubState>>,
}

impl Subscriber {
    async fn start() -> Subscriber {
        let state: Arc<Mutex<SubState>> = Arc::default();
        let st = state.clone();
        let get = warp::get()
            .and(warp::path::full())
            .and(warp::query::<HashMap<String, String>>())
            .map(
                move |path: warp::path::FullPath, q: HashMap<String, String>| {
                    let mut s = st.lock().unwrap();
                    let path = path.as_str().to_string();
                    let echo = s.echo.contains(&path);
                    let challenge = q.get("hub.challenge").cloned().unwrap_or_default();
                    s.verifications.push((path, q));
                    if echo {
                        challenge
                    } else {
                        "no thanks".to_string()
                    }
                },
            );
        let st = state.clone();
        let post = warp::post()
            .and(warp::path::full())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(
                move |path: warp::path::FullPath, headers: HeaderMap, body: Bytes| {
                    let mut s = st.lock().unwrap();
                    let path = path.as_str().to_string();
                    let status = s.status.get(&path).copied().unwrap_or(200);
                    s.deliveries.push(Delivery {
                        path,
                        headers,
                        body,
                    });
                    warp::reply::with_status("", warp::http::StatusCode::from_u16(status).unwrap())
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(get.or(post)).incoming(listener).run());
        Subscriber { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn echo(&self, path: &str) {
        self.state.lock().unwrap().echo.push(path.to_string());
    }

    fn fail(&self, path: &str, status: u16) {
        self.state
            .lock()
            .unwrap()
            .status
            .insert(path.to_string(), status);
    }

    fn verifications(&self, path: &str) -> Vec<HashMap<String, String>> {
        let s = self.state.lock().unwrap();
        s.verifications
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, q)| q.clone())
            .collect()
    }

    fn deliveries(&self, path: &str) -> Vec<Delivery> {
        let s = self.state.lock().unwrap();
        s.deliveries
            .iter()
            .filter(|d| d.path == path)
            .cloned()
            .collect()
    }

    /// Wait for a verification GET of `mode` at `path`; returns its query.
    async fn wait_verification(&self, path: &str, mode: &str) -> HashMap<String, String> {
        let q = wait_for(&format!("a {mode} verification at {path}"), || {
            self.verifications(path)
                .into_iter()
                .find(|q| q.get("hub.mode").map(String::as_str) == Some(mode))
        })
        .await;
        // The hub stores the subscription right after the answer; let it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        q
    }

    async fn wait_deliveries(&self, path: &str, n: usize) -> Vec<Delivery> {
        wait_for(&format!("{n} deliveries at {path}"), || {
            let d = self.deliveries(path);
            (d.len() >= n).then_some(d)
        })
        .await
    }
}

/// Poll `f` until it gives something, for at most 20 s (the daemon polls every second).
async fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn rss(items: &[&str]) -> String {
    let items: String = items
        .iter()
        .enumerate()
        .map(|(n, t)| {
            format!(
                "<item><title>{t}</title><link>http://news.example/{n}</link>\
                 <guid>item-{n}</guid><pubDate>Mon, 0{} Jan 2024 10:00:00 GMT</pubDate></item>",
                n + 1
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>src</title>\
         <link>http://news.example/</link><description>d</description>{items}</channel></rss>"
    )
}

fn sources(origin: &Origin) -> String {
    format!(
        "[sources.s]\nurl = \"{}\"\ninterval = \"1s\"\n\
         [channels.news]\nsources = [\"s\"]\n\
         [channels.secret]\nsources = [\"s\"]\ntoken = \"tok\"\n",
        origin.url("/feed.rss")
    )
}

const LOCAL_HUB: &str = "[websub]\nallow_local_callbacks = true\nretries = 2\nretry_delay = \"300ms\"\ntimeout = \"5s\"\n";

async fn post_hub(hub: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let r = client()
        .post(hub)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Wait until the channel's Atom feed served shows `title`.
async fn wait_served(base: &str, title: &str) {
    let url = format!("{base}/feeds/news.atom");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if body.contains(title) {
            return;
        }
        assert!(Instant::now() < deadline, "{title} not served within 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `<url>; rel="name"` out of a Link header value.
fn link_rel(value: &str, rel: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .contains(&format!("rel=\"{rel}\""))
            .then(|| url.trim().trim_matches(['<', '>']).to_string())
    })
}

async fn app(origin: &Origin) -> TestApp {
    let app = spawn_app(&format!("{}{LOCAL_HUB}", sources(origin))).await;
    app.wait_all_ok().await;
    app
}

#[tokio::test]
async fn a_subscriber_discovers_subscribes_receives_and_unsubscribes() {
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(&["first story"]), "application/rss+xml");
    let app = app(&origin).await;
    let sub = Subscriber::start().await;
    sub.echo("/cb/a");

    // Discovery: the Link header and the feed's own atom:link agree.
    let resp = app.get("/feeds/news.atom").await;
    let link = resp.headers()["link"].to_str().unwrap().to_string();
    let hub = link_rel(&link, "hub").expect("rel=hub in the Link header");
    let topic = link_rel(&link, "self").expect("rel=self in the Link header");
    assert_eq!(hub, app.url("/websub"));
    assert_eq!(topic, app.url("/feeds/news.atom"));
    let body = resp.text().await.unwrap();
    assert!(
        body.contains(&format!("<link href=\"{hub}\" rel=\"hub\"/>")),
        "{body}"
    );
    for (path, needle) in [
        (
            "/feeds/news.rss",
            format!("<atom:link href=\"{hub}\" rel=\"hub\"/>"),
        ),
        (
            "/feeds/news.json",
            format!("\"hubs\":[{{\"type\":\"WebSub\",\"url\":\"{hub}\"}}]"),
        ),
    ] {
        let r = app.get(path).await;
        assert!(r.headers().contains_key("link"), "{path}");
        let text = r.text().await.unwrap();
        assert!(text.contains(&needle), "{path}: {text}");
    }
    // A private channel names no hub.
    let private = app.get("/feeds/secret.atom?token=tok").await;
    assert!(!private.headers().contains_key("link"));
    assert!(!private.text().await.unwrap().contains("rel=\"hub\""));

    let callback = sub.url("/cb/a");
    let (status, text) = post_hub(
        &hub,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &callback),
            ("hub.secret", "s3cret"),
            ("hub.lease_seconds", "7200"),
        ],
    )
    .await;
    assert_eq!(status, 202, "{text}");
    let q = sub.wait_verification("/cb/a", "subscribe").await;
    assert_eq!(q["hub.topic"], topic);
    assert_eq!(q["hub.lease_seconds"], "7200");
    assert_eq!(q["hub.challenge"].len(), 32);
    assert!(sub.deliveries("/cb/a").is_empty(), "nothing changed yet");

    // A new item at the origin: the daemon polls it and delivers the feed, signed.
    origin.put(
        "/feed.rss",
        rss(&["first story", "second story"]),
        "application/rss+xml",
    );
    let d = sub.wait_deliveries("/cb/a", 1).await;
    let d = &d[0];
    let text = String::from_utf8_lossy(&d.body);
    assert!(text.contains("second story"), "{text}");
    assert!(d.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/atom+xml"));
    let sig = d.headers["x-hub-signature"].to_str().unwrap();
    assert_eq!(sig, format!("sha256={}", hmac_sha256(b"s3cret", &d.body)));
    assert!(!feedloom::model::signature::verify(b"wrong", &d.body, sig));
    let link = d.headers["link"].to_str().unwrap();
    assert_eq!(link_rel(link, "hub").as_deref(), Some(hub.as_str()));
    assert_eq!(link_rel(link, "self").as_deref(), Some(topic.as_str()));

    // Unsubscribed (verified the same way): the next item is served, not delivered.
    let (status, text) = post_hub(
        &hub,
        &[
            ("hub.mode", "unsubscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &callback),
        ],
    )
    .await;
    assert_eq!(status, 202, "{text}");
    sub.wait_verification("/cb/a", "unsubscribe").await;
    origin.put(
        "/feed.rss",
        rss(&["first story", "second story", "third story"]),
        "application/rss+xml",
    );
    wait_served(&app.url(""), "third story").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sub.deliveries("/cb/a").len(),
        1,
        "delivered after unsubscribing"
    );
    app.stop().await;
}

#[tokio::test]
async fn requests_that_are_refused() {
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(&["first story"]), "application/rss+xml");
    let app = app(&origin).await;
    let sub = Subscriber::start().await;
    let hub = app.url("/websub");
    let topic = app.url("/feeds/news.rss");
    let callback = sub.url("/cb/mute");
    let bad: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("hub.topic", app.url("/feeds/secret.rss"))],
            "public feeds",
        ),
        (
            vec![("hub.topic", app.url("/feeds/none.rss"))],
            "public feeds",
        ),
        (vec![("hub.mode", "watch".into())], "hub.mode"),
        (vec![("hub.callback", "ftp://x/".into())], "hub.callback"),
        (vec![("hub.secret", "x".repeat(200))], "hub.secret"),
        (
            vec![("hub.lease_seconds", "soon".into())],
            "hub.lease_seconds",
        ),
    ];
    for (changes, reason) in bad {
        let mut form: Vec<(&str, String)> = vec![
            ("hub.mode", "subscribe".into()),
            ("hub.topic", topic.clone()),
            ("hub.callback", callback.clone()),
        ];
        for (k, v) in changes {
            form.retain(|(f, _)| *f != k);
            form.push((k, v));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, text) = post_hub(&hub, &form).await;
        assert_eq!(status, 400, "{form:?}: {text}");
        assert!(text.contains(reason), "{form:?}: {text}");
    }
    assert_eq!(app.status("/websub").await, 405);

    // A callback that does not echo the challenge is not subscribed: it gets nothing.
    let (status, _) = post_hub(
        &hub,
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &topic),
            ("hub.callback", &callback),
        ],
    )
    .await;
    assert_eq!(status, 202);
    sub.wait_verification("/cb/mute", "subscribe").await;
    origin.put(
        "/feed.rss",
        rss(&["first story", "second story"]),
        "application/rss+xml",
    );
    wait_served(&app.url(""), "second story").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sub.deliveries("/cb/mute").is_empty());
    app.stop().await;

    // Without `allow_local_callbacks`, loopback callbacks are refused, by address or name.
    let strict = spawn_app(&sources(&origin)).await;
    let hub = strict.url("/websub");
    let topic = strict.url("/feeds/news.rss");
    for cb in [
        sub.url("/cb/x"),
        format!("http://localhost:{}/cb/x", sub.addr.port()),
        "http://169.254.169.254/latest".to_string(),
    ] {
        let (status, text) = post_hub(
            &hub,
            &[
                ("hub.mode", "subscribe"),
                ("hub.topic", &topic),
                ("hub.callback", &cb),
            ],
        )
        .await;
        assert_eq!(status, 400, "{cb}: {text}");
        assert!(text.contains("private"), "{cb}: {text}");
    }
    assert!(sub.verifications("/cb/x").is_empty());
    strict.stop().await;
}

#[tokio::test]
async fn a_failing_callback_is_retried_then_dropped() {
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(&["first story"]), "application/rss+xml");
    let app = app(&origin).await;
    let sub = Subscriber::start().await;
    sub.echo("/cb/down");
    sub.fail("/cb/down", 503);
    let (status, _) = post_hub(
        &app.url("/websub"),
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", &app.url("/feeds/news.json")),
            ("hub.callback", &sub.url("/cb/down")),
        ],
    )
    .await;
    assert_eq!(status, 202);
    sub.wait_verification("/cb/down", "subscribe").await;
    origin.put(
        "/feed.rss",
        rss(&["first story", "second story"]),
        "application/rss+xml",
    );
    // The first attempt and `retries = 2` more (300 ms, then 600 ms later), then no more.
    let d = sub.wait_deliveries("/cb/down", 3).await;
    assert!(d.iter().all(|d| d.headers.get("x-hub-signature").is_none()));
    assert!(String::from_utf8_lossy(&d[0].body).contains("second story"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        sub.deliveries("/cb/down").len(),
        3,
        "retried beyond retries"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_subscription_survives_a_restart() {
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(&["first story"]), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    // A fixed base URL, as in production: the port changes at the restart, the feed's bytes
    // (its self links) do not.
    let config = format!(
        "{}base_url = \"http://feeds.test\"\n{}{LOCAL_HUB}",
        daemon_config_head(dir.path()),
        sources(&origin)
    );
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let mut daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    wait_served(&daemon.url(""), "first story").await;
    let sub = Subscriber::start().await;
    sub.echo("/cb/r");
    let (status, _) = post_hub(
        &daemon.url("/websub"),
        &[
            ("hub.mode", "subscribe"),
            ("hub.topic", "http://feeds.test/feeds/news.atom"),
            ("hub.callback", &sub.url("/cb/r")),
            ("hub.secret", "k"),
        ],
    )
    .await;
    assert_eq!(status, 202);
    sub.wait_verification("/cb/r", "subscribe").await;
    daemon.signal(libc::SIGTERM);
    assert!(daemon.wait_exit(Duration::from_secs(20)).await.success());

    // Same store, a new port: the subscription holds, and a restart alone delivers nothing.
    let daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    wait_served(&daemon.url(""), "first story").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(sub.deliveries("/cb/r").is_empty(), "a restart is no change");
    origin.put(
        "/feed.rss",
        rss(&["first story", "second story"]),
        "application/rss+xml",
    );
    let d = sub.wait_deliveries("/cb/r", 1).await;
    assert!(String::from_utf8_lossy(&d[0].body).contains("second story"));
    assert_eq!(
        d[0].headers["x-hub-signature"].to_str().unwrap(),
        format!("sha256={}", hmac_sha256(b"k", &d[0].body))
    );
}

/// Each verification is a GET to a callback anyone may name: a flood of subscription requests
/// naming callbacks that never answer holds at most `MAX_VERIFICATIONS` of them at once; the
/// rest are told to come again (503, Retry-After), and there is room again once they time out.
#[tokio::test]
async fn verifications_in_flight_are_bounded() {
    const MAX: usize = feedloom::serve::websub::MAX_VERIFICATIONS;
    let origin = Origin::start().await;
    origin.put("/feed.rss", rss(&["first story"]), "application/rss+xml");
    let app = app(&origin).await;
    // A callback host that takes connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let held: Arc<Mutex<Vec<tokio::net::TcpStream>>> = Arc::default();
    let h = held.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = silent.accept().await {
            h.lock().unwrap().push(s);
        }
    });
    let hub = app.url("/websub");
    let topic = app.url("/feeds/news.rss");
    let post = |n: usize| {
        let (hub, topic) = (hub.clone(), topic.clone());
        async move {
            let callback = format!("http://{silent_addr}/cb/{n}");
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("hub.mode", "subscribe"),
                    ("hub.topic", topic.as_str()),
                    ("hub.callback", callback.as_str()),
                ])
                .finish();
            let r = client()
                .post(&hub)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").is_some();
            (r.status().as_u16(), retry)
        }
    };
    let started = Instant::now();
    let mut answers = Vec::new();
    for n in 0..MAX + 8 {
        answers.push(post(n).await);
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the requests must all be answered before the first verification times out (5 s)"
    );
    let accepted = answers.iter().filter(|(s, _)| *s == 202).count();
    let refused: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert_eq!(accepted, MAX, "{answers:?}");
    assert_eq!(refused.len(), 8, "{answers:?}");
    assert!(
        refused.iter().all(|(_, retry)| *retry),
        "503s say when to retry"
    );
    // The held verifications time out (5 s): room again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = post(1000).await;
        if status == 202 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            Instant::now() < deadline,
            "no room after the verifications timed out"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(4));
}
