//! Connection limits of the HTTP listener, cheap on the hot path: the time to receive a request
//! head (`server.header_timeout`), the time a keep-alive connection may sit idle between
//! requests or stall while its answer is written (`server.idle_timeout`), and the number of open
//! connections (`server.max_connections`).
//!
//! Per-request timers (hyper's `header_read_timeout`) cost a timer-wheel entry per request; at
//! tens of thousands of requests a second that shows. Here each connection instead carries a
//! [`ConnClock`]: its phase and the coarse second it entered it, updated with two relaxed
//! atomic stores when bytes arrive or a request starts and ends. Each worker thread sweeps its
//! own connections once a second and closes those past their limit, as nginx does with its
//! timer tree, only coarser: a limit is kept to within two seconds, and never cut short.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The limits one listener applies (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
}

/// Seconds since the process's first sweep, advanced by the sweeps (every worker's, once a
/// second), read on every request.
static NOW: AtomicU32 = AtomicU32::new(0);

fn now_secs() -> u32 {
    NOW.load(Ordering::Relaxed)
}

fn advance_clock() {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let secs = START.get_or_init(Instant::now).elapsed().as_secs() as u32;
    NOW.fetch_max(secs, Ordering::Relaxed);
}

/// Waiting for the next request (or for the first one's first byte).
const IDLE: u8 = 0;
/// Part of a request head has arrived.
const HEAD: u8 = 1;
/// A request is being answered (by this daemon: never timed out).
const BUSY: u8 = 2;

/// Where one connection is and since when; shared by its socket, its service and the sweep.
pub struct ConnClock {
    phase: AtomicU8,
    since: AtomicU32,
    close: Notify,
}

impl ConnClock {
    /// A new connection: the head timer starts now (a client that connects and sends nothing
    /// has not sent its head in time either).
    pub fn new() -> Arc<ConnClock> {
        Arc::new(ConnClock {
            phase: AtomicU8::new(HEAD),
            since: AtomicU32::new(now_secs()),
            close: Notify::new(),
        })
    }

    fn enter(&self, phase: u8) {
        self.phase.store(phase, Ordering::Relaxed);
        self.since.store(now_secs(), Ordering::Relaxed);
    }

    /// A request head was read whole: the daemon answers it.
    pub fn request_started(&self) {
        self.enter(BUSY);
    }

    /// The answer is handed over for writing: the connection is idle until its next request.
    pub fn request_finished(&self) {
        self.enter(IDLE);
    }

    fn bytes_read(&self) {
        if self.phase.load(Ordering::Relaxed) == IDLE {
            self.enter(HEAD);
        }
    }

    fn bytes_written(&self) {
        // An answer still being written to a reader that reads is not idleness.
        if self.phase.load(Ordering::Relaxed) == IDLE {
            self.since.store(now_secs(), Ordering::Relaxed);
        }
    }

    /// Resolves when the sweep has decided to close this connection.
    pub async fn closed(&self) {
        self.close.notified().await
    }

    fn expired(&self, limits: &Limits, now: u32) -> Option<&'static str> {
        // `since` was read from the coarse clock, which only advances at sweeps and so can be
        // up to a second behind the moment the phase began; a second of grace on top of `>`
        // means a connection is never cut before its limit (and at most about two seconds
        // after it).
        let age = Duration::from_secs(u64::from(
            now.saturating_sub(self.since.load(Ordering::Relaxed))
                .saturating_sub(1),
        ));
        match self.phase.load(Ordering::Relaxed) {
            HEAD if age > limits.header_timeout => Some("request head not received in time"),
            IDLE if age > limits.idle_timeout => Some("idle"),
            _ => None,
        }
    }
}

/// One worker's connections, swept once a second.
#[derive(Default)]
pub struct Sweep {
    conns: Vec<Arc<ConnClock>>,
}

impl Sweep {
    pub fn add(&mut self, clock: Arc<ConnClock>) {
        self.conns.push(clock);
    }

    /// Forget ended connections and close those past their limits.
    pub fn run(&mut self, limits: &Limits) {
        advance_clock();
        let now = now_secs();
        let mut closed = [0usize; 2];
        self.conns.retain(|c| {
            // The connection's task and its socket hold the other references.
            if Arc::strong_count(c) == 1 {
                return false;
            }
            match c.expired(limits, now) {
                Some(why) => {
                    closed[usize::from(why == "idle")] += 1;
                    c.close.notify_one();
                    false
                }
                None => true,
            }
        });
        if closed[0] > 0 {
            metrics::counter!("feedloom_http_closed_total", "reason" => "header_timeout")
                .increment(closed[0] as u64);
        }
        if closed[1] > 0 {
            metrics::counter!("feedloom_http_closed_total", "reason" => "idle_timeout")
                .increment(closed[1] as u64);
        }
    }
}

/// Open connections across a listener's workers, against `max_connections`.
pub struct ConnCount {
    open: AtomicUsize,
    max: usize,
}

/// Held by a connection's task while it is open.
pub struct Slot(Arc<ConnCount>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnCount {
    pub fn new(max: usize) -> Arc<ConnCount> {
        Arc::new(ConnCount {
            open: AtomicUsize::new(0),
            max,
        })
    }

    /// A slot for one more connection, or `None` at the limit.
    pub fn try_open(self: &Arc<Self>) -> Option<Slot> {
        let mut n = self.open.load(Ordering::Relaxed);
        loop {
            if n >= self.max {
                return None;
            }
            match self
                .open
                .compare_exchange_weak(n, n + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Some(Slot(self.clone())),
                Err(now) => n = now,
            }
        }
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

/// What a connection beyond `max_connections` is told before it is closed: no work for the
/// daemon beyond one non-blocking write.
pub const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 33\r\n\r\ntoo many connections; retry soon\n";

/// The default `max_connections`: half the file descriptors this process may open (after
/// raising its soft limit to the hard one, as a server should), at most 16,384. The other half
/// stays for the store, the fetcher's sockets and the sendfile bodies.
pub fn default_max_connections(descriptor_limit: usize) -> usize {
    (descriptor_limit / 2).clamp(64, 16_384)
}

/// Raise the soft descriptor limit to the hard limit (as Go's runtime and nginx's
/// `worker_rlimit_nofile` do: every reader connection and every zero-copy feed body holds one,
/// and the usual soft default of 1024 is a few hundred readers), and return it.
pub fn raise_descriptor_limit() -> usize {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
            return usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX);
        }
    }
    1024
}

/// A socket that tells its connection's clock when bytes arrive and leave.
pub struct Watched<S> {
    inner: S,
    clock: Arc<ConnClock>,
}

impl<S> Watched<S> {
    pub fn new(inner: S, clock: Arc<ConnClock>) -> Watched<S> {
        Watched { inner, clock }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.bytes_written();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.clock.bytes_written();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(5),
            max_connections: 2,
            max_header_bytes: 8192,
        }
    }

    #[test]
    fn phases_expire_after_their_own_limits_plus_the_clocks_grace_second() {
        let c = ConnClock::new();
        let t0 = now_secs();
        assert_eq!(
            c.expired(&limits(), t0 + 3),
            None,
            "at the limit plus the clock's lag, not past it"
        );
        assert!(c.expired(&limits(), t0 + 4).is_some(), "head past 2 s");
        c.request_started();
        assert_eq!(
            c.expired(&limits(), t0 + 100),
            None,
            "a request being answered never expires"
        );
        c.request_finished();
        assert_eq!(c.expired(&limits(), t0 + 6), None);
        assert_eq!(c.expired(&limits(), t0 + 7), Some("idle"));
        c.bytes_read();
        assert_eq!(
            c.expired(&limits(), t0 + 4),
            Some("request head not received in time"),
            "the first byte of the next request starts the head timer"
        );
    }

    #[test]
    fn the_count_refuses_past_the_limit_and_frees_on_drop() {
        let n = ConnCount::new(2);
        let a = n.try_open().expect("first");
        let _b = n.try_open().expect("second");
        assert!(n.try_open().is_none());
        drop(a);
        assert!(n.try_open().is_some());
    }
}
