//! The HTTP listener. `server.workers` threads each run a single-threaded tokio runtime with its
//! own accept loop on the shared listening socket, as nginx workers do: a connection lives on one
//! thread from accept to close, so answering it needs no cross-thread wake-up or work stealing.
//! Feed requests (`GET`/`HEAD /feeds/…`, the hot path readers poll) are answered on that thread
//! from the rendered cache; every other route goes to the warp filter ([`super::routes::routes`])
//! on the main runtime, where polling, reloads and page building live, so a slow status page
//! never holds a feed answer back.
//!
//! Each worker also keeps its connections within `[server]`'s limits ([`super::limits`]): a
//! head must arrive within `header_timeout`, a kept-alive connection may idle `idle_timeout`,
//! and beyond `max_connections` new connections are answered 503 and closed at once.

use std::convert::Infallible;
use std::future::Future;
use std::net::TcpListener as StdListener;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::{service_fn, Service};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;

use super::limits::{ConnClock, ConnCount, Limits, Sweep, Watched, REFUSED};
use super::state::ServeState;

/// How long open connections get to finish their answers once the daemon stops.
const GRACE: Duration = Duration::from_secs(5);

/// The running server threads.
pub struct Workers {
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// What a server thread's connections need to answer requests. One per thread: its reference
/// count is touched by that thread only, never bumped by all workers on every request.
struct Ctx {
    state: Arc<ServeState>,
    /// The main runtime, where every route but the feed fast path is answered.
    main: tokio::runtime::Handle,
    warp: WarpFn,
    limits: Limits,
    /// Open connections across all workers.
    open: Arc<ConnCount>,
}

/// The warp filter as a function from a request (its head, and its body for the routes that
/// read one) to a whole answer (warp's service type cannot be named).
type WarpFn = Arc<
    dyn Fn(Request<Full<Bytes>>) -> Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>
        + Send
        + Sync,
>;

fn warp_fn(state: Arc<ServeState>) -> WarpFn {
    let service = TowerToHyperService::new(warp::service(super::routes::routes(state)));
    Arc::new(move |req| {
        let answer = service.call(req);
        Box::pin(async move {
            let resp = answer.await.unwrap_or_else(|e| match e {});
            let (parts, body) = resp.into_parts();
            match body.collect().await {
                Ok(body) => Response::from_parts(parts, Full::new(body.to_bytes())),
                Err(e) => internal(&e.to_string()),
            }
        })
    })
}

/// Start `workers` server threads on `listener`. They stop accepting when `stop` turns true and
/// give open connections [`GRACE`] to finish.
pub fn start(
    state: Arc<ServeState>,
    listener: StdListener,
    workers: usize,
    stop: watch::Receiver<bool>,
) -> std::io::Result<Workers> {
    listener.set_nonblocking(true)?;
    let main = tokio::runtime::Handle::current();
    let warp = warp_fn(state.clone());
    let limits = {
        let server = &state.config.load().server;
        let limit = super::limits::raise_descriptor_limit();
        let max_connections = server
            .max_connections
            .unwrap_or_else(|| super::limits::default_max_connections(limit));
        if max_connections + 64 > limit {
            tracing::warn!(max_connections, descriptor_limit = limit,
                "server.max_connections is close to the descriptor limit: accepting may fail before it is reached");
        }
        Limits {
            header_timeout: server.header_timeout,
            idle_timeout: server.idle_timeout,
            max_connections,
            max_header_bytes: server.max_header_bytes,
        }
    };
    let open = ConnCount::new(limits.max_connections);
    let mut threads = Vec::with_capacity(workers);
    for n in 0..workers.max(1) {
        let listener = listener.try_clone()?;
        // Its blocking threads render for readers who missed the cache: named as the
        // readers' (the main runtime's threads are `feedloom-bg`, see `threads`).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("feedloom-http-b")
            .build()?;
        let ctx = Arc::new(Ctx {
            state: state.clone(),
            main: main.clone(),
            warp: warp.clone(),
            limits,
            open: open.clone(),
        });
        let stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("feedloom-http-{n}"))
            .spawn(move || {
                runtime.block_on(accept_loop(listener, ctx, stop));
                // Renders started by a cache miss run on this runtime's blocking pool; do not
                // wait for them past the grace period (dropping the runtime would wait forever).
                runtime.shutdown_timeout(GRACE);
            })?;
        threads.push(thread);
    }
    Ok(Workers { threads })
}

impl Workers {
    /// Wait for every server thread to finish (each bounds its own wait by [`GRACE`]).
    pub async fn join(self) {
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                if t.join().is_err() {
                    tracing::error!("an HTTP server thread panicked");
                }
            }
        })
        .await;
    }
}

async fn accept_loop(listener: StdListener, ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register the listening socket");
            return;
        }
    };
    let graceful = GracefulShutdown::new();
    let stopped = stop.wait_for(|s| *s);
    tokio::pin!(stopped);
    let mut sweep = Sweep::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (io, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(pair) => pair,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = tick.tick() => {
                sweep.run(&ctx.limits);
                continue;
            }
            _ = &mut stopped => break,
        };
        let Some(slot) = ctx.open.try_open() else {
            // Full: say so in one non-blocking write and close; the connections being served
            // keep their descriptors and their thread's time.
            let _ = io.try_write(REFUSED);
            metrics::counter!("feedloom_http_refused_total").increment(1);
            continue;
        };
        // Answers are written whole; waiting for more data to coalesce only adds latency.
        let _ = io.set_nodelay(true);
        let clock = ConnClock::new();
        sweep.add(clock.clone());
        let service = {
            let (ctx, clock) = (ctx.clone(), clock.clone());
            service_fn(move |req| {
                let (ctx, clock) = (ctx.clone(), clock.clone());
                async move {
                    clock.request_started();
                    let resp = answer(&ctx, req).await;
                    clock.request_finished();
                    Ok::<_, Infallible>(resp)
                }
            })
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .max_buf_size(ctx.limits.max_header_bytes)
            .serve_connection(
                TokioIo::new(Watched::new(
                    super::sendfile::SendfileStream::new(io),
                    clock.clone(),
                )),
                service,
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _slot = slot;
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "HTTP connection ended with an error");
                },
                // Past its limit: dropping the connection closes the socket.
                _ = clock.closed() => {}
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after {GRACE:?}; closing");
    }
}

/// Errors from `accept` that concern one connection only, or a lack of file descriptors, which
/// frees up as connections close: wait a moment then go on (as hyper's old server did).
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Where a request head goes. The listener and the fuzz harness (`fuzz/src/lib.rs`) both
/// decide with [`dispatch`], so the harness drives the listener's real decision.
pub enum Dispatch {
    /// A target without a path (authority form, `CONNECT host:443`): it names no route, and
    /// warp's path filter would panic on it (found by fuzzing). Answered by [`bad_target`].
    BadTarget,
    /// `GET`/`HEAD /feeds/…`: answered on the listener's thread by [`answer_feed`].
    Feed,
    /// Everything else: the warp filter.
    Other,
}

pub fn dispatch(parts: &hyper::http::request::Parts) -> Dispatch {
    if parts.uri.path_and_query().is_none() {
        Dispatch::BadTarget
    } else if parts.uri.path().starts_with("/feeds/")
        && (parts.method == Method::GET || parts.method == Method::HEAD)
    {
        Dispatch::Feed
    } else {
        Dispatch::Other
    }
}

pub fn bad_target() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"bad request target\n")));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

/// A feed request, from the rendered cache.
pub async fn answer_feed(
    state: &Arc<ServeState>,
    parts: &hyper::http::request::Parts,
) -> Response<Full<Bytes>> {
    super::routes::respond(
        state,
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &parts.headers,
    )
    .await
    .map(Full::new)
}

async fn answer(ctx: &Ctx, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    match dispatch(&parts) {
        Dispatch::BadTarget => bad_target(),
        Dispatch::Feed => answer_feed(&ctx.state, &parts).await,
        Dispatch::Other => {
            // Only `POST /websub` (at most MAX_REQUEST_BODY) and a hub's push to a source's
            // callback (bounded like a fetched document) read a body; every other route gets
            // the head only.
            let path = parts.uri.path();
            let limit = if parts.method != Method::POST {
                None
            } else if path == "/websub" {
                Some(super::websub::MAX_REQUEST_BODY)
            } else if let Some(rest) = path.strip_prefix("/websub/callback/") {
                // Only for a subscription this node asked for: a stranger's upload is not read
                // (the route answers 404 without it).
                callback_known(&ctx.state, rest)
                    .then(|| ctx.state.config.load().poll.max_body as usize)
            } else {
                None
            };
            let body = if let Some(limit) = limit {
                let read = http_body_util::Limited::new(body, limit).collect();
                match tokio::time::timeout(BODY_TIMEOUT, read).await {
                    Ok(Ok(b)) => b.to_bytes(),
                    Ok(Err(_)) => return too_large(),
                    Err(_) => return body_timeout(),
                }
            } else {
                Bytes::new()
            };
            let req = Request::from_parts(parts, Full::new(body));
            match ctx.main.spawn((ctx.warp)(req)).await {
                Ok(resp) => resp,
                Err(e) => internal(&e.to_string()),
            }
        }
    }
}

/// How long a request body may take to arrive.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `{source}/{token}` names a subscription of this node's WebSub subscriber.
fn callback_known(state: &ServeState, source_and_token: &str) -> bool {
    let Some((source, token)) = source_and_token.split_once('/') else {
        return false;
    };
    let source = percent_encoding::percent_decode_str(source).decode_utf8_lossy();
    state.push.get().is_some()
        && matches!(state.store.hub_subscription(&source), Ok(Some(sub))
            if crate::model::signature::constant_time_eq(sub.token.as_bytes(), token.as_bytes()))
}

fn body_timeout() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"request body too slow\n")));
    *r.status_mut() = StatusCode::REQUEST_TIMEOUT;
    r
}

fn too_large() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(b"request body too large\n")));
    *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    r
}

fn internal(why: &str) -> Response<Full<Bytes>> {
    tracing::error!(error = why, "request failed");
    let mut r = Response::new(Full::new(Bytes::from_static(b"internal error\n")));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}
