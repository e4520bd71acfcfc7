//! The listener's limits, from outside (the real daemon as a child process): request heads that
//! never finish and idle keep-alive connections are closed after `header_timeout` and
//! `idle_timeout` while a normal reader keeps being answered within a second; beyond
//! `max_connections` new connections are refused at once and the ones being served go on; an
//! oversized request head gets 431.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{daemon_config_head, get_text, Daemon, Origin};

/// A daemon with one channel `news` over one feed, `server_keys` added to `[server]`.
async fn daemon_with(server_keys: &str) -> (Daemon, Origin, tempfile::TempDir) {
    let origin = Origin::start().await;
    origin.put_fixture("/blog.rss", "scenario/blog.rss", "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "{}{server_keys}\n[sources.blog]\nurl = \"{}\"\ninterval = \"1h\"\n\n[channels.news]\ntitle = \"News\"\nsources = [\"blog\"]\n",
        daemon_config_head(dir.path()),
        origin.url("/blog.rss")
    );
    std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
    let daemon = Daemon::start(dir.path()).await;
    daemon.wait_healthy(Duration::from_secs(10)).await;
    // Wait for the first poll, so that the feed has items.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = get_text(daemon.url("/feeds/news.rss")).await;
        if body.contains("<item>") {
            break;
        }
        assert!(Instant::now() < deadline, "the channel never got items");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (daemon, origin, dir)
}

/// Raise this process's soft descriptor limit to the hard one, and return it.
fn descriptor_limit() -> usize {
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur as usize
    }
}

/// One whole request on `s` and its answer: (status, body).
async fn request(s: &mut TcpStream, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .await?;
    read_answer(s).await
}

async fn read_answer(s: &mut TcpStream) -> std::io::Result<(u16, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head[9..12].parse().unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, buf[head_end..head_end + len].to_vec()))
}

/// Whether the daemon has closed `s` (a read gives end of file or a reset within `within`).
async fn closed_by_peer(s: &mut TcpStream, within: Duration) -> bool {
    let mut b = [0u8; 64];
    match tokio::time::timeout(within, s.read(&mut b)).await {
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

/// A reader that fetches the feed on a new connection every 100 ms until stopped, and returns
/// the slowest answer and how many it got.
fn reader(
    url: String,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<(Duration, usize, usize)> {
    // On a thread and runtime of its own: the times are the daemon's, not those of this test's
    // executor, busy opening thousands of connections.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _ = tx.send(rt.block_on(read_until_stopped(url, stop)));
    });
    tokio::spawn(async move { rx.await.expect("the reader thread answers") })
}

/// The slowest answer, the number of answers, and how many took more than a second.
async fn read_until_stopped(
    url: String,
    stop: tokio::sync::watch::Receiver<bool>,
) -> (Duration, usize, usize) {
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    let mut over = 0;
    while !*stop.borrow() {
        // A new client each time: a new connection, as a feed reader polling would open.
        let c = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let t = Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(5), c.get(&url).send()).await;
        let ok = matches!(&r, Ok(Ok(resp)) if resp.status() == 200);
        assert!(ok, "the reader was not answered: {r:?}");
        slowest = slowest.max(t.elapsed());
        over += usize::from(t.elapsed() >= Duration::from_secs(1));
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (slowest, n, over)
}

/// A keep-alive connection in use: a request every 500 ms until stopped, each answered 200 on
/// the same connection (it is never idle for its timeout, so it must never be closed).
fn busy_connection(
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut n = 0;
        while !*stop.borrow() {
            let (status, _) = request(&mut s, "/feeds/news.rss")
                .await
                .expect("a connection in use is kept open");
            assert_eq!(status, 200);
            n += 1;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        n
    })
}

/// Wait until `deadline` (at least `min`) for the daemon to close `s`.
async fn closed_by(s: &mut TcpStream, deadline: Instant, min: Duration) -> bool {
    closed_by_peer(
        s,
        deadline.saturating_duration_since(Instant::now()).max(min),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_heads_and_idle_connections_are_closed_while_readers_are_answered() {
    let fds = descriptor_limit();
    let (header_timeout, idle_timeout) = (Duration::from_secs(2), Duration::from_secs(4));
    let (daemon, _origin, _dir) =
        daemon_with("header_timeout = \"2s\"\nidle_timeout = \"4s\"\n").await;
    // As many as the 5,000 where the descriptor limit allows (both ends are here).
    let half = 5000.min(fds.saturating_sub(300) / 3);
    let idle = 500.min(half / 4);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reading = reader(daemon.url("/feeds/news.rss"), stop_rx.clone());
    let busy = busy_connection(daemon.addr, stop_rx);

    let t0 = Instant::now();
    let mut halves = Vec::with_capacity(half);
    for _ in 0..half {
        let mut s = TcpStream::connect(daemon.addr).await.unwrap();
        s.write_all(b"GET /feeds/news.rss HTTP/1.1\r\nHost: t\r\n")
            .await
            .unwrap();
        halves.push(s);
    }
    let mut idles = Vec::with_capacity(idle);
    for _ in 0..idle {
        let mut s = TcpStream::connect(daemon.addr).await.unwrap();
        let (status, _) = request(&mut s, "/feeds/news.rss").await.unwrap();
        assert_eq!(status, 200);
        idles.push(s);
    }
    let opened = Instant::now();

    // Never before the limit: the first heads, opened at t0, are still open 1.5 s later.
    tokio::time::sleep_until((t0 + Duration::from_millis(1500)).into()).await;
    if t0.elapsed() < header_timeout {
        for (i, s) in halves.iter_mut().take(50).enumerate() {
            assert!(
                !closed_by_peer(s, Duration::from_millis(1)).await,
                "unfinished head {i} closed before header_timeout"
            );
        }
    }
    // The daemon cuts within two seconds past a limit (a sweep a second, on a clock that may lag
    // a second); three more seconds allow for a loaded machine (CI runs tests in parallel).
    let slack = Duration::from_secs(5);
    let heads_deadline = opened + header_timeout + slack;
    for (i, s) in halves.iter_mut().enumerate() {
        assert!(
            closed_by(s, heads_deadline, Duration::from_millis(200)).await,
            "unfinished head {i} of {half} still open {:?} after all were opened",
            header_timeout + slack
        );
    }
    let idle_deadline = opened + idle_timeout + slack;
    for (i, s) in idles.iter_mut().enumerate() {
        assert!(
            closed_by(s, idle_deadline, Duration::from_millis(200)).await,
            "idle connection {i} of {idle} still open {:?} after all were opened",
            idle_timeout + slack
        );
    }
    stop_tx.send(true).unwrap();
    let busy_requests = busy.await.unwrap();
    assert!(
        // It began before the idle connections were answered, and they lived idle_timeout.
        busy_requests as u128 >= idle_timeout.as_millis() / 500 - 2,
        "the busy connection was used throughout ({busy_requests} requests)"
    );
    let (slowest, answered, over) = reading.await.unwrap();
    eprintln!(
        "{half} unfinished heads and {idle} idle connections: reader answered {answered} times, slowest {slowest:?}, {over} over a second"
    );
    assert!(answered >= 20, "the reader ran throughout");
    // Within a second, but for a few answers on a 2-core machine shared with the other tests
    // (CI saw 1.017 s once, then 1.015 s twice as the suite grew), and never two seconds: slow
    // clients holding the server would make most answers wait for their timeouts.
    assert!(
        over <= 3 && slowest < Duration::from_secs(2),
        "a reader waited {slowest:?} ({over} answers over a second) while the slow clients were held"
    );
    let metrics = get_text(daemon.url("/metrics")).await;
    assert!(
        metrics.contains("feedloom_http_closed_total{reason=\"header_timeout\"}"),
        "closings are counted"
    );
}

#[tokio::test]
async fn beyond_max_connections_new_ones_are_refused_and_served_ones_go_on() {
    let (daemon, _origin, _dir) = daemon_with("max_connections = 20\n").await;
    // Wait for the readiness checks' connections to be closed by their clients.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut served = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(daemon.addr).await.unwrap();
        let (status, _) = request(&mut s, "/feeds/news.rss").await.unwrap();
        assert_eq!(status, 200);
        served.push(s);
    }
    // 50 more: each is told 503 at once and closed.
    for _ in 0..50 {
        let t = Instant::now();
        let mut s = TcpStream::connect(daemon.addr).await.unwrap();
        let (status, body) = tokio::time::timeout(Duration::from_secs(1), read_answer(&mut s))
            .await
            .expect("a refused connection is answered at once")
            .unwrap();
        assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
        assert!(closed_by_peer(&mut s, Duration::from_secs(1)).await);
        assert!(t.elapsed() < Duration::from_secs(1));
    }
    // The 20 go on being served on their connections.
    for s in served.iter_mut() {
        let (status, body) = request(s, "/feeds/news.rss").await.unwrap();
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&body).contains("<item>"));
    }
    // Closing some makes room again.
    served.truncate(10);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut s = TcpStream::connect(daemon.addr).await.unwrap();
    let (status, _) = request(&mut s, "/feeds/news.rss").await.unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let (daemon, _origin, _dir) = daemon_with("max_header_size = \"8KiB\"\n").await;
    let mut s = TcpStream::connect(daemon.addr).await.unwrap();
    let big = "x".repeat(20_000);
    s.write_all(
        format!("GET /feeds/news.rss HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let (status, _) = read_answer(&mut s).await.unwrap();
    assert_eq!(status, 431);
    // A normal head is fine.
    let mut s = TcpStream::connect(daemon.addr).await.unwrap();
    let (status, _) = request(&mut s, "/feeds/news.rss").await.unwrap();
    assert_eq!(status, 200);
}
