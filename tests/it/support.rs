//! Test harness: a real local origin on 127.0.0.1:0 (with ETag/Last-Modified handling and
//! scriptable misbehaviour) and the real daemon on port 0 with a temporary store, either in this
//! process ([`spawn_app`]) or as a child process ([`Daemon`]) for signals, kills and logs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use warp::http::{header, HeaderMap, Response, StatusCode};
use warp::Filter;

/// The fixtures folder of this crate.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// How the origin answers one path.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// A document with validators: ETag (hash) and a fixed Last-Modified; 304 when they match.
    File { body: Bytes, content_type: String },
    /// A bare status with extra headers.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// A redirect.
    Redirect { status: u16, location: String },
}

#[derive(Default)]
struct OriginState {
    routes: HashMap<String, Behavior>,
    hits: HashMap<String, usize>,
    not_modified: HashMap<String, usize>,
    user_agents: Vec<String>,
    log: Vec<Request>,
    /// Requests that arrived, by path (`hits` counts those answered).
    started: HashMap<String, usize>,
    /// How long a path's answers are held back.
    delays: HashMap<String, std::time::Duration>,
}

/// One request the origin answered: what, who (its User-Agent) and when.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub user_agent: String,
    pub at: std::time::Instant,
    /// Every header it came with.
    pub headers: HeaderMap,
}

/// A local HTTP origin serving what the test puts there.
pub struct Origin {
    pub addr: SocketAddr,
    state: Arc<Mutex<OriginState>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Origin {
    pub async fn start() -> Origin {
        let state: Arc<Mutex<OriginState>> = Arc::default();
        let st = state.clone();
        let route = warp::path::full().and(warp::header::headers_cloned()).then(
            move |path: warp::path::FullPath, headers: HeaderMap| {
                let st = st.clone();
                async move {
                    let delay = {
                        let mut s = st.lock().unwrap();
                        *s.started.entry(path.as_str().to_string()).or_default() += 1;
                        s.delays.get(path.as_str()).copied()
                    };
                    if let Some(d) = delay {
                        tokio::time::sleep(d).await;
                    }
                    answer(&st, path.as_str(), &headers)
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(
            warp::serve(route)
                .incoming(listener)
                .graceful(async move {
                    let _ = rx.await;
                })
                .run(),
        );
        Origin {
            addr,
            state,
            stop: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn put(&self, path: &str, body: impl Into<Bytes>, content_type: &str) {
        self.set(
            path,
            Behavior::File {
                body: body.into(),
                content_type: content_type.to_string(),
            },
        );
    }

    pub fn put_fixture(&self, path: &str, rel: &str, content_type: &str) {
        self.put(path, fixture(rel), content_type);
    }

    pub fn set(&self, path: &str, b: Behavior) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), b);
    }

    pub fn hits(&self, path: &str) -> usize {
        *self.state.lock().unwrap().hits.get(path).unwrap_or(&0)
    }

    /// Requests for `path` that arrived and are not answered yet (held by [`Origin::delay`]).
    pub fn in_flight(&self, path: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.started.get(path).unwrap_or(&0) - s.hits.get(path).unwrap_or(&0)
    }

    /// Hold every answer for `path` back by `d` (the request counts as a hit when answered).
    pub fn delay(&self, path: &str, d: std::time::Duration) {
        self.state
            .lock()
            .unwrap()
            .delays
            .insert(path.to_string(), d);
    }

    pub fn not_modified(&self, path: &str) -> usize {
        *self
            .state
            .lock()
            .unwrap()
            .not_modified
            .get(path)
            .unwrap_or(&0)
    }

    pub fn user_agents(&self) -> Vec<String> {
        self.state.lock().unwrap().user_agents.clone()
    }

    /// Every request answered so far, in order (`at`: when it was answered).
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    /// Stop answering (connections are refused afterwards).
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(st: &Arc<Mutex<OriginState>>, path: &str, headers: &HeaderMap) -> Response<Bytes> {
    let mut s = st.lock().unwrap();
    *s.hits.entry(path.to_string()).or_default() += 1;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    if let Some(ua) = ua {
        s.user_agents.push(ua.to_string());
    }
    s.log.push(Request {
        path: path.to_string(),
        user_agent: ua.unwrap_or("").to_string(),
        at: std::time::Instant::now(),
        headers: headers.clone(),
    });
    let Some(b) = s.routes.get(path).cloned() else {
        let mut r = Response::new(Bytes::from_static(b"not found"));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    match b {
        Behavior::File { body, content_type } => {
            let etag = format!(
                "\"{}\"",
                feedloom::model::ids::hex16(&Sha256::digest(&body))
            );
            let last_modified = "Mon, 01 Jan 2024 00:00:00 GMT";
            let inm = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            if inm == Some(etag.as_str()) {
                *s.not_modified.entry(path.to_string()).or_default() += 1;
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = StatusCode::NOT_MODIFIED;
                r.headers_mut().insert(header::ETAG, etag.parse().unwrap());
                return r;
            }
            let mut r = Response::new(body);
            let h = r.headers_mut();
            h.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
            h.insert(header::ETAG, etag.parse().unwrap());
            h.insert(header::LAST_MODIFIED, last_modified.parse().unwrap());
            r
        }
        Behavior::Status {
            status,
            headers: extra,
            body,
        } => {
            let mut r = Response::new(body);
            *r.status_mut() = StatusCode::from_u16(status).unwrap();
            for (k, v) in extra {
                r.headers_mut().insert(
                    header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            r
        }
        Behavior::Redirect { status, location } => {
            let mut r = Response::new(Bytes::new());
            *r.status_mut() = StatusCode::from_u16(status).unwrap();
            r.headers_mut()
                .insert(header::LOCATION, location.parse().unwrap());
            r
        }
    }
}

/// A running daemon with its own temporary store.
pub struct TestApp {
    pub addr: SocketAddr,
    pub dir: Arc<tempfile::TempDir>,
    pub config_text: String,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Start the daemon on `config` (TOML without `[server]` and `[store]`, which are added: port 0
/// and a store in a fresh temporary folder).
pub async fn spawn_app(config: &str) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    spawn_app_in(dir, config).await
}

/// Start the daemon with `POST /admin/reload` enabled (admin token `adm`).
pub async fn spawn_app_admin(config: &str) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    spawn_app_in(dir, &format!("#admin\n{config}")).await
}

/// Start the daemon with the store in `dir` (to restart on the same store).
pub async fn spawn_app_in(dir: Arc<tempfile::TempDir>, config: &str) -> TestApp {
    let admin = if config.starts_with("#admin\n") {
        "admin_token = \"adm\"\n"
    } else {
        ""
    };
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{admin}[store]\npath = \"{}\"\n{config}",
        dir.path().join("store.sled").display()
    );
    let cfg_path = dir.path().join("config.toml");
    std::fs::write(&cfg_path, &text).unwrap();
    let cfg = feedloom::config::Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e}"));
    let app = feedloom::app::App::build(cfg).await.unwrap();
    let addr = app.addr();
    let (tx, rx) = oneshot::channel::<()>();
    let done = tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        dir,
        config_text: config.to_string(),
        stop: Some(tx),
        done: Some(done),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Orderly shutdown; returns once the store is flushed.
    pub async fn stop(mut self) -> Arc<tempfile::TempDir> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(done) = self.done.take() {
            done.await.unwrap().unwrap();
        }
        self.dir.clone()
    }

    /// Stop and start again on the same store and config.
    pub async fn restart(self) -> TestApp {
        let cfg = self.config_text.clone();
        let dir = self.stop().await;
        spawn_app_in(dir, &cfg).await
    }

    pub async fn sources(&self) -> Vec<serde_json::Value> {
        let v = get_json(self.url("/api/sources")).await;
        serde_json::from_value(v).unwrap()
    }

    /// Wait until `pred` holds for `/api/sources`, or panic after `timeout`.
    pub async fn wait_sources(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let s = self.sources().await;
            if pred(&s) {
                return s;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}: {s:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until every source has been polled at least once successfully.
    pub async fn wait_all_ok(&self) -> Vec<serde_json::Value> {
        self.wait_sources(Duration::from_secs(20), "all sources ok", |s| {
            s.iter().all(|x| x["status"] == "ok")
        })
        .await
    }

    /// `POST /admin/reload` with a bearer token.
    pub async fn admin_reload(&self, token: &str) -> reqwest::Response {
        client()
            .post(self.url("/admin/reload"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The status of a plain GET.
    pub async fn status(&self, path: &str) -> u16 {
        self.get(path).await.status().as_u16()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        client().get(self.url(path)).send().await.unwrap()
    }

    pub async fn text(&self, path: &str) -> String {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.text().await.unwrap()
    }

    /// Parse a served feed with feed-rs (an independent parser).
    pub async fn feed(&self, path: &str) -> feed_rs::model::Feed {
        let body = self.text(path).await;
        feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{path}: {e}\n{body}"))
    }
}

/// GET a URL and read its JSON body.
pub async fn get_json(url: impl reqwest::IntoUrl) -> serde_json::Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// GET a URL and read its body as text.
pub async fn get_text(url: impl reqwest::IntoUrl) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A client that does not ask for compression (tests look at raw bytes).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
        .unwrap()
}

/// How the raw origin answers a path: exact bytes, optionally trickled.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    /// Status line and headers, without the blank line.
    pub head: String,
    pub body: Bytes,
    /// Write the body in chunks of this size with `delay` between them.
    pub chunk: usize,
    pub delay: Duration,
}

impl RawAnswer {
    pub fn new(head: &str, body: impl Into<Bytes>) -> RawAnswer {
        RawAnswer {
            head: head.to_string(),
            body: body.into(),
            chunk: 64 * 1024,
            delay: Duration::ZERO,
        }
    }
}

/// A hand-written HTTP/1.1 origin for answers warp will not produce: trickling bodies, bodies
/// without Content-Length, pre-compressed bombs. One request per connection.
pub struct RawOrigin {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, RawAnswer>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    /// (requests being answered now, the most ever at once)
    in_flight: Arc<Mutex<(usize, usize)>>,
    task: tokio::task::JoinHandle<()>,
}

impl RawOrigin {
    pub async fn start() -> RawOrigin {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, RawAnswer>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let in_flight: Arc<Mutex<(usize, usize)>> = Arc::default();
        let (r, h, f) = (routes.clone(), hits.clone(), in_flight.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (routes, hits, flight) = (r.clone(), h.clone(), f.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&buf);
                    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
                    let answer = routes.lock().unwrap().get(&path).cloned();
                    {
                        let mut f = flight.lock().unwrap();
                        f.0 += 1;
                        f.1 = f.1.max(f.0);
                    }
                    let done = InFlight(flight.clone());
                    let Some(a) = answer else {
                        let _ = sock
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    };
                    let head = format!("{}\r\nConnection: close\r\n\r\n", a.head.trim_end());
                    if sock.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    for (i, c) in a.body.chunks(a.chunk.max(1)).enumerate() {
                        // The delay comes before each chunk after the first, so an answer is
                        // over as soon as its last byte is written.
                        if i > 0 && !a.delay.is_zero() {
                            tokio::time::sleep(a.delay).await;
                        }
                        if sock.write_all(c).await.is_err() {
                            return;
                        }
                    }
                    drop(done);
                    let _ = sock.shutdown().await;
                });
            }
        });
        RawOrigin {
            addr,
            routes,
            hits,
            in_flight,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, a: RawAnswer) {
        self.routes.lock().unwrap().insert(path.to_string(), a);
    }

    pub fn hits(&self, path: &str) -> usize {
        *self.hits.lock().unwrap().get(path).unwrap_or(&0)
    }

    /// The most requests this origin was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    /// The requests this origin is answering now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().0
    }
}

/// Decrements the in-flight count when an answer ends, however it ends.
struct InFlight(Arc<Mutex<(usize, usize)>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().unwrap().0 -= 1;
    }
}

impl Drop for RawOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `[server]` and `[store]` tables of a config for [`Daemon`]: port 0 (the daemon reports
/// the port it got, see [`Daemon::start`]) and a store in `dir`. `[server]` comes last, so a
/// caller may append more server keys (`workers = 2`) before its own tables.
pub fn daemon_config_head(dir: &Path) -> String {
    format!(
        "[store]\npath = \"{}\"\n[server]\nlisten = \"127.0.0.1:0\"\n",
        dir.join("store.sled").display()
    )
}

/// How [`Daemon::start_with`] runs the daemon.
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    /// `FEEDLOOM_LOG`. It must let `feedloom::cli` log at info level: that is where the daemon
    /// reports the address it serves on.
    pub log: String,
    /// `--log-format json` instead of the human format.
    pub json_logs: bool,
    /// More environment variables for the daemon.
    pub env: Vec<(String, String)>,
}

impl Default for DaemonOptions {
    fn default() -> DaemonOptions {
        DaemonOptions {
            log: "info".to_string(),
            json_logs: false,
            env: Vec::new(),
        }
    }
}

/// The message `feedloom serve` logs once it is bound, followed by the address and a slash.
const SERVING_ON: &str = "feedloom serving on http://";

/// The real `feedloom serve` as a child process on the config `dir/config.toml`.
///
/// The config listens on port 0 ([`daemon_config_head`]) and the daemon's own log tells the port
/// it got, so tests running in parallel never race for a port: a port picked by binding and
/// releasing it can be taken by another test before the daemon binds it. A restart on the same
/// store gets a new port, so read [`Daemon::addr`] after every start.
///
/// Its stderr is read by a thread for its whole life (a full pipe would block the daemon's
/// logging, and with it the daemon), and kept for [`Daemon::log`] and [`Daemon::wait_log`].
/// Dropping a `Daemon` that is still running kills it, so a failed test leaves no daemon behind.
pub struct Daemon {
    child: std::process::Child,
    /// Where the daemon serves.
    pub addr: SocketAddr,
    started: std::time::Instant,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    exited: Option<std::process::ExitStatus>,
}

impl Daemon {
    /// Start the daemon on `dir/config.toml` with info-level human logs, and return once it has
    /// reported its address (it may not answer yet: see [`Daemon::wait_healthy`]).
    pub async fn start(dir: &Path) -> Daemon {
        Daemon::start_with(dir, DaemonOptions::default()).await
    }

    /// [`Daemon::start`] with other logging.
    pub async fn start_with(dir: &Path, opts: DaemonOptions) -> Daemon {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedloom"));
        cmd.arg("--config").arg(dir.join("config.toml"));
        if opts.json_logs {
            cmd.args(["--log-format", "json"]);
        }
        let mut child = cmd
            .arg("serve")
            .env("FEEDLOOM_LOG", &opts.log)
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start feedloom");
        let started = std::time::Instant::now();
        let stderr = child.stderr.take().expect("piped stderr");
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let (tx, rx) = oneshot::channel::<SocketAddr>();
        let kept = lines.clone();
        let reader = std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut stderr = std::io::BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match stderr.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                if tx.is_some() {
                    if let Some(addr) = served_addr(&line) {
                        let _ = tx.take().expect("checked").send(addr);
                    }
                }
                kept.lock().unwrap().push(line);
            }
        });
        let mut daemon = Daemon {
            child,
            // Replaced below; a daemon that never reports its address makes `start` panic.
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            started,
            lines,
            reader: Some(reader),
            exited: None,
        };
        const WITHIN: Duration = Duration::from_secs(10);
        match tokio::time::timeout(WITHIN, rx).await {
            Ok(Ok(addr)) => daemon.addr = addr,
            // The reader ended without the line: the daemon exited (an invalid config, say).
            Ok(Err(_)) => {
                let status = daemon.child.wait().expect("wait for feedloom");
                daemon.exited = Some(status);
                panic!(
                    "feedloom exited ({status}) before logging {SERVING_ON:?}; its stderr:\n{}",
                    daemon.log()
                );
            }
            Err(_) => panic!(
                "feedloom did not log {SERVING_ON:?} within {WITHIN:?} (FEEDLOOM_LOG={:?} must \
                 let info through); its stderr so far:\n{}",
                opts.log,
                daemon.log()
            ),
        }
        daemon
    }

    /// `http://ADDR/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Wait until `GET /healthz` answers 200, or panic after `within`. Returns the time since
    /// the process was started.
    pub async fn wait_healthy(&self, within: Duration) -> Duration {
        let c = client();
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Ok(r) = c.get(self.url("/healthz")).send().await {
                if r.status() == 200 {
                    return self.started.elapsed();
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "daemon on {} not healthy within {within:?}; its stderr:\n{}",
                self.addr,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `GET /api/sources`.
    pub async fn sources(&self) -> Vec<serde_json::Value> {
        serde_json::from_value(get_json(self.url("/api/sources")).await).unwrap()
    }

    /// The daemon's process id (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send `sig` (`libc::SIGTERM`, `libc::SIGHUP`…) to the daemon, which must not have been
    /// reaped yet (its pid could be another process's by then).
    pub fn signal(&self, sig: libc::c_int) {
        assert!(self.exited.is_none(), "signal to a daemon already reaped");
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) takes plain integers; the pid is our unreaped child's.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {sig}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// SIGKILL, and reap the process.
    pub fn kill(&mut self) -> std::process::ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        self.child.kill().expect("SIGKILL feedloom");
        let status = self.child.wait().expect("wait for feedloom");
        self.exited = Some(status);
        status
    }

    /// The exit status if the daemon has exited (reaping it), `None` while it runs.
    pub fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("try_wait feedloom");
        }
        self.exited
    }

    /// Wait for the daemon to exit, or panic after `within`; then wait for the rest of its
    /// stderr, so that [`Daemon::log`] is complete. Polls instead of blocking, so that origins
    /// on the test's runtime keep answering the daemon while it drains.
    pub async fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        let status = loop {
            if let Some(status) = self.try_exit() {
                break status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "daemon still running {within:?} later; its stderr:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // The pipe ends when the process does (it starts no children that could hold it).
        while self.reader.as_ref().is_some_and(|r| !r.is_finished()) {
            assert!(
                tokio::time::Instant::now() < deadline + Duration::from_secs(5),
                "the daemon's stderr stayed open after it exited"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stderr reader");
        }
        status
    }

    /// Everything the daemon wrote to stderr so far, a line each.
    pub fn log_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Everything the daemon wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log_lines().join("\n")
    }

    /// How many lines the daemon has logged so far: pass it to [`Daemon::wait_log`] to look
    /// only at what comes after.
    pub fn log_mark(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Wait for a line after the first `since` that contains `needle`, and return it; panic
    /// after `within`.
    pub async fn wait_log(&self, since: usize, needle: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .skip(since)
                .find(|l| l.contains(needle))
            {
                return l.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the daemon did not log {needle:?} within {within:?}; its stderr:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The address in a [`SERVING_ON`] log line, in the human or the JSON format.
fn served_addr(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(SERVING_ON)? + SERVING_ON.len()..];
    rest[..rest.find('/')?].parse().ok()
}

/// HMAC-SHA256 (RFC 2104), written here independently of the daemon's, for
/// the WebSub tests (hub and subscriber) to sign and check bodies with.
pub fn hmac_sha256(key: &[u8], body: &[u8]) -> String {
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}
