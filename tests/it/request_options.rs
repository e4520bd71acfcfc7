//! Per-source request options, from outside: the origin receives the configured headers,
//! User-Agent, basic auth (the password from the daemon's environment) and cookie; a redirect to
//! another site gets none of the credentials; a source with a `proxy` is fetched through it; no
//! secret value reaches the log, `/api/sources` or the index page.

use std::time::{Duration, Instant};

use crate::support::{daemon_config_head, get_text, Behavior, Daemon, DaemonOptions, Origin};

const KEY: &str = "k-7f3a91-api";
const PASSWORD: &str = "pw-from-env-55c1";
const COOKIE: &str = "session=c00k1e-9d2e";
const UA: &str = "ExampleCorp monitor/2.1 (ops@example.com)";

fn header<'a>(r: &'a crate::support::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn origins_get_the_configured_headers_and_credentials_stay_on_the_sources_site() {
    // The source's site, another site a redirect leads to, and a proxy.
    let site = Origin::start().await;
    let other = Origin::start().await;
    let proxy = Origin::start().await;
    site.put_fixture("/api.rss", "scenario/blog.rss", "application/rss+xml");
    site.set(
        "/moved.rss",
        Behavior::Redirect {
            status: 302,
            location: other.url("/feed.rss"),
        },
    );
    other.put_fixture("/feed.rss", "scenario/blog.rss", "application/rss+xml");
    proxy.put_fixture("/p.rss", "scenario/blog.rss", "application/rss+xml");

    let dir = tempfile::tempdir().unwrap();
    let options = format!(
        "headers = {{ \"X-Api-Key\" = \"{KEY}\" }}\nuser_agent = \"{UA}\"\n\
         username = \"reader\"\npassword_env = \"FEEDLOOM_TEST_SOURCE_PW\"\ncookie = \"{COOKIE}\"\n"
    );
    let cfg = format!(
        "{}\n[sources.api]\nurl = \"{}\"\n{options}\n\
         [sources.moved]\nurl = \"{}\"\n{options}\n\
         [sources.proxied]\nurl = \"http://feeds.proxied.invalid/p.rss\"\nproxy = \"{}\"\n\n\
         [channels.all]\nsources = [\"api\", \"moved\", \"proxied\"]\n",
        daemon_config_head(dir.path()),
        site.url("/api.rss"),
        site.url("/moved.rss"),
        proxy.url(""),
    );
    std::fs::write(dir.path().join("config.toml"), &cfg).unwrap();
    let mut daemon = Daemon::start_with(
        dir.path(),
        DaemonOptions {
            env: vec![("FEEDLOOM_TEST_SOURCE_PW".into(), PASSWORD.into())],
            ..DaemonOptions::default()
        },
    )
    .await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let sources = loop {
        let s = daemon.sources().await;
        if s.len() == 3 && s.iter().all(|r| r["items"].as_u64().unwrap_or(0) > 0) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "not every source has items: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The source's own site got everything configured.
    let asked = site.requests();
    let api = asked.iter().find(|r| r.path == "/api.rss").expect("polled");
    assert_eq!(header(api, "x-api-key"), Some(KEY));
    assert_eq!(header(api, "user-agent"), Some(UA));
    assert_eq!(header(api, "cookie"), Some(COOKIE));
    let basic = format!(
        "Basic {}",
        base64_encode(format!("reader:{PASSWORD}").as_bytes())
    );
    assert_eq!(header(api, "authorization"), Some(basic.as_str()));
    let moved = asked
        .iter()
        .find(|r| r.path == "/moved.rss")
        .expect("asked");
    assert_eq!(header(moved, "x-api-key"), Some(KEY));

    // The other site, reached by a redirect: the User-Agent, none of the credentials.
    let followed = other.requests();
    let f = followed
        .iter()
        .find(|r| r.path == "/feed.rss")
        .expect("followed");
    assert_eq!(header(f, "user-agent"), Some(UA));
    for name in ["x-api-key", "authorization", "cookie"] {
        assert_eq!(header(f, name), None, "{name} went to another site");
    }

    // The proxied source went through the proxy, which was asked for the full URL's path.
    let via = proxy.requests();
    assert!(via.iter().any(|r| r.path == "/p.rss"), "{via:?}");
    assert_eq!(header(&via[0], "host"), Some("feeds.proxied.invalid"));

    let api_text = serde_json::to_string(&sources).unwrap();
    let page = get_text(daemon.url("/")).await;
    daemon.signal(libc::SIGTERM);
    let _ = daemon.wait_exit(Duration::from_secs(15)).await;
    let log = daemon.log();
    for secret in [KEY, PASSWORD, "c00k1e-9d2e"] {
        assert!(!api_text.contains(secret), "{secret} in /api/sources");
        assert!(!page.contains(secret), "{secret} on the index page");
        let line = log.lines().find(|l| l.contains(secret));
        assert!(line.is_none(), "{secret} in the log: {line:?}");
    }
}

#[tokio::test]
async fn a_password_env_that_is_not_set_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "[sources.a]\nurl = \"http://127.0.0.1:9/a.xml\"\nusername = \"u\"\n\
               password_env = \"FEEDLOOM_TEST_SURELY_UNSET_VAR\"\n\
               headers = { \"If-None-Match\" = \"x\", \"Bad Name\" = \"y\", Authorization = \"z\" }\n\
               [channels.c]\nsources = [\"a\"]\n";
    let path = dir.path().join("config.toml");
    std::fs::write(&path, cfg).unwrap();
    let err = feedloom::config::Config::load(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("FEEDLOOM_TEST_SURELY_UNSET_VAR"), "{err}");
    assert!(
        err.contains("If-None-Match is set by feedloom itself"),
        "{err}"
    );
    assert!(err.contains("\"Bad Name\" is not a header name"), "{err}");
    assert!(
        err.contains("Authorization and username both set it"),
        "{err}"
    );
}

/// Standard base64, enough for one header value.
fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
