//! The WebSub subscriber from outside, against a small hub written here: a source whose feed
//! names a hub is subscribed with a callback and a secret; the hub's intent check is answered
//! only for the subscription feedloom asked for; a signed push puts its items into the channel
//! within seconds without a fetch of the source; a push with a bad signature changes nothing;
//! `[websub] subscribe = false` subscribes to nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warp::Filter;

use crate::support::{client, get_json, hmac_sha256, spawn_app, Origin, TestApp};

/// The subscription requests a hub received (form fields).
#[derive(Clone, Default)]
struct Hub {
    requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

impl Hub {
    async fn start(&self) -> String {
        let reqs = self.requests.clone();
        let route = warp::post()
            .and(warp::path("hub"))
            .and(warp::body::form())
            .map(move |form: HashMap<String, String>| {
                reqs.lock().unwrap().push(form);
                warp::reply::with_status("", warp::http::StatusCode::ACCEPTED)
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        format!("http://{addr}/hub")
    }

    async fn wait_request(&self) -> HashMap<String, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(r) = self.requests.lock().unwrap().first().cloned() {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no subscription request"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn rss(hub: &str, self_url: &str, items: &[&str]) -> String {
    let items: String = items
        .iter()
        .map(|t| {
            format!("<item><title>{t}</title><link>http://news.example/{t}</link><guid>{t}</guid></item>")
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\
         <channel><title>t</title><link>http://news.example/</link><description>d</description>\
         <atom:link rel=\"hub\" href=\"{hub}\"/><atom:link rel=\"self\" href=\"{self_url}\"/>\
         {items}</channel></rss>"
    )
}

async fn titles(app: &crate::support::TestApp) -> Vec<String> {
    let v = get_json(app.url("/feeds/c.json")).await;
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_string())
        .collect()
}

/// Intent verification as a hub makes it, granting an hour: the challenge's echo, or the
/// status.
async fn verify(callback: &str, topic: &str, challenge: &str) -> (u16, String) {
    verify_lease(callback, topic, challenge, "3600").await
}

/// The same, granting `lease_seconds`.
async fn verify_lease(
    callback: &str,
    topic: &str,
    challenge: &str,
    lease_seconds: &str,
) -> (u16, String) {
    let mut u = url::Url::parse(callback).unwrap();
    u.query_pairs_mut()
        .append_pair("hub.mode", "subscribe")
        .append_pair("hub.topic", topic)
        .append_pair("hub.challenge", challenge)
        .append_pair("hub.lease_seconds", lease_seconds);
    let r = client().get(u).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn push(callback: &str, body: &str, signature: &str) -> u16 {
    client()
        .post(callback)
        .header("Content-Type", "application/rss+xml")
        .header("X-Hub-Signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A hub, an origin whose feed names it, and the daemon polling that feed every `interval`
/// with `extra` config before the source.
struct Setup {
    hub: Hub,
    hub_url: String,
    origin: Origin,
    topic: String,
    app: TestApp,
}

async fn setup(interval: &str, extra: &str) -> Setup {
    let hub = Hub::default();
    let hub_url = hub.start().await;
    let origin = Origin::start().await;
    let topic = origin.url("/feed.rss");
    origin.put(
        "/feed.rss",
        rss(&hub_url, &topic, &["first"]),
        "application/rss+xml",
    );
    let app = spawn_app(&format!(
        "{extra}[sources.s]\nurl = \"{topic}\"\ninterval = \"{interval}\"\n\
         [channels.c]\ntitle = \"C\"\nsources = [\"s\"]\n"
    ))
    .await;
    Setup {
        hub,
        hub_url,
        origin,
        topic,
        app,
    }
}

#[tokio::test]
async fn a_feed_naming_a_hub_is_subscribed_and_signed_pushes_land_without_a_fetch() {
    let Setup {
        hub,
        hub_url,
        origin,
        topic,
        app,
    } = setup("1h", "").await;

    // The subscription request: topic from the feed's self link, a callback under this
    // daemon's address, a secret, a lease.
    let req = hub.wait_request().await;
    assert_eq!(req["hub.mode"], "subscribe");
    assert_eq!(req["hub.topic"], topic);
    let callback = req["hub.callback"].clone();
    assert!(
        callback.starts_with(&app.url("/websub/callback/s/")),
        "{callback}"
    );
    let secret = req["hub.secret"].clone();
    assert!(secret.len() >= 32, "{secret}");
    assert!(req["hub.lease_seconds"].parse::<u64>().unwrap() > 0);

    // Intent: echoed for the topic it asked for, refused for another topic or token.
    assert_eq!(verify(&callback, &topic, "not-this").await.0, 200);
    let (status, _) = verify(&callback, "http://other.example/feed", "c1").await;
    assert_eq!(status, 404);
    let wrong_token = format!("{}x", &callback[..callback.len() - 1]);
    assert_eq!(verify(&wrong_token, &topic, "c2").await.0, 404);
    assert_eq!(
        verify(&callback, &topic, "chal-123").await,
        (200, "chal-123".to_string())
    );
    assert!(titles(&app).await.contains(&"first".to_string()));
    let fetches = origin.hits("/feed.rss");

    // A push with a bad signature is acknowledged and ignored; a signed one lands at once.
    let forged = rss(&hub_url, &topic, &["forged", "first"]);
    let status = push(
        &callback,
        &forged,
        &format!("sha256={}", hmac_sha256(b"guess", forged.as_bytes())),
    )
    .await;
    assert!((200..300).contains(&status), "{status}");
    assert!((200..300).contains(&push(&callback, &forged, "").await));
    let pushed = rss(&hub_url, &topic, &["pushed", "first"]);
    let sig = format!(
        "sha256={}",
        hmac_sha256(secret.as_bytes(), pushed.as_bytes())
    );
    let sent = tokio::time::Instant::now();
    assert_eq!(push(&callback, &pushed, &sig).await, 200);
    loop {
        let t = titles(&app).await;
        if t.contains(&"pushed".to_string()) {
            assert!(!t.contains(&"forged".to_string()), "{t:?}");
            break;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "pushed items not served within 3 s: {t:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        origin.hits("/feed.rss"),
        fetches,
        "a push costs no fetch of the source"
    );
    // Pushes to a token nobody was given are not accepted.
    assert_eq!(push(&wrong_token, &pushed, &sig).await, 404);
    app.stop().await;
}

#[tokio::test]
async fn subscribe_false_subscribes_to_nothing() {
    let Setup {
        hub, origin, app, ..
    } = setup("1s", "[websub]\nsubscribe = false\n").await;
    // Three polls at least, then no request has reached the hub.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while origin.hits("/feed.rss") < 3 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(hub.requests.lock().unwrap().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_lease_near_its_end_is_renewed_at_a_poll_and_a_long_one_is_not() {
    let Setup {
        hub,
        origin,
        topic,
        app,
        ..
    } = setup("1s", "").await;
    let first = hub.wait_request().await;
    let callback = first["hub.callback"].clone();
    // A lease of a minute is within the renewal margin (an hour at least): the next poll asks
    // again, for the same callback and secret.
    assert_eq!(verify_lease(&callback, &topic, "c", "60").await.1, "c");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while hub.requests.lock().unwrap().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lease was not renewed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let renewal = hub.requests.lock().unwrap()[1].clone();
    assert_eq!(renewal["hub.callback"], callback);
    assert_eq!(renewal["hub.secret"], first["hub.secret"]);
    // Verified for 30 days: polls go on, no request reaches the hub.
    assert_eq!(verify(&callback, &topic, "d").await, (200, "d".to_string()));
    assert_eq!(verify_lease(&callback, &topic, "e", "2592000").await.1, "e");
    let n = hub.requests.lock().unwrap().len();
    let polls = origin.hits("/feed.rss");
    while origin.hits("/feed.rss") < polls + 3 {
        assert!(tokio::time::Instant::now() < deadline + Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(hub.requests.lock().unwrap().len(), n);
    app.stop().await;
}

/// A push and a poll of one source never run at once: each starts from the source's state and
/// ends by writing a new one, so overlapping, the later would write over the other's. A push
/// that arrives while a poll is in flight is stored after the poll has finished.
#[tokio::test]
async fn a_push_waits_for_a_poll_in_flight() {
    let Setup {
        hub,
        hub_url,
        origin,
        topic,
        app,
    } = setup("1s", "").await;
    let req = hub.wait_request().await;
    let (callback, secret) = (req["hub.callback"].clone(), req["hub.secret"].clone());
    assert_eq!(
        verify(&callback, &topic, "chal").await,
        (200, "chal".to_string())
    );
    // Polls now take 1.5 s at the origin; wait until one is in flight.
    origin.delay("/feed.rss", Duration::from_millis(1500));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while origin.in_flight("/feed.rss") == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no poll in flight");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answered_before = origin.requests().len();
    let pushed = rss(&hub_url, &topic, &["pushed", "first"]);
    let sig = format!(
        "sha256={}",
        hmac_sha256(secret.as_bytes(), pushed.as_bytes())
    );
    assert_eq!(push(&callback, &pushed, &sig).await, 200);
    let push_answered = std::time::Instant::now();
    let poll_answered = origin
        .requests()
        .into_iter()
        .skip(answered_before)
        .find(|r| r.path == "/feed.rss")
        .map(|r| r.at)
        .expect("the poll in flight was answered before the push was");
    assert!(poll_answered <= push_answered);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !titles(&app).await.contains(&"pushed".to_string()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the push was stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
