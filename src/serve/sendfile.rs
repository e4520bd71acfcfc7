//! Zero-copy answers for large cached bodies, as nginx's `sendfile on`.
//!
//! Writing a 40 KB feed with `writev` makes the kernel copy it from our memory into socket
//! buffers on every request; at tens of thousands of requests a second that copy is the largest
//! cost left. A body made by [`file_backed`] also lives in an anonymous in-memory file (memfd),
//! and [`SendfileStream`], the socket type the HTTP workers give hyper, recognises such a body
//! among the buffers hyper writes and sends it with `sendfile(2)` from that file instead: the
//! kernel then hands the file's pages to the socket without copying them.
//!
//! A body is recognised by address: the registry maps the address range of every file-backed
//! body to its file. The range is registered for exactly as long as the bytes exist (the owner
//! that holds them unregisters when it is dropped), and the file is reference-counted, so a send
//! never reads a closed or reused descriptor. Anything not registered, and every platform other
//! than Linux, takes the ordinary `writev` path.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Bodies smaller than this are copied: below it a second system call costs more than the copy.
pub const MIN_FILE_BACKED: usize = 16 * 1024;

/// At most this many bodies are file-backed at once: each holds a descriptor, and descriptors
/// must remain for connections. Past it, bodies are simply copied.
pub const MAX_FILES: usize = 1024;

/// Bytes sent with `sendfile` since start (exported as `feedloom_http_sendfile_bytes_total`).
static SENT: AtomicU64 = AtomicU64::new(0);

/// File-backed bodies alive now.
static FILES: AtomicUsize = AtomicUsize::new(0);

/// Set when the kernel refuses memfd_create or sendfile (sandboxes may): from then on every
/// body is copied as before, instead of failing connections.
static DISABLED: AtomicBool = AtomicBool::new(false);

fn disable(why: &io::Error) {
    if !DISABLED.swap(true, Ordering::Relaxed) {
        tracing::warn!(error = %why, "zero-copy sends unavailable; copying feed bodies instead");
    }
}

/// Bytes sent from files so far.
pub fn sent_bytes() -> u64 {
    SENT.load(Ordering::Relaxed)
}

/// `body` as `Bytes`, also backed by an in-memory file when it is large enough and the platform
/// allows (otherwise just the bytes).
pub fn file_backed(body: Vec<u8>) -> Bytes {
    if body.len() < MIN_FILE_BACKED
        || DISABLED.load(Ordering::Relaxed)
        || FILES.load(Ordering::Relaxed) >= MAX_FILES
    {
        return Bytes::from(body);
    }
    imp::file_backed(body)
}

/// A TCP stream whose vectored writes send registered bodies with `sendfile`.
pub struct SendfileStream {
    stream: TcpStream,
    /// Bytes this stream sent from files.
    from_file: u64,
}

impl SendfileStream {
    pub fn new(stream: TcpStream) -> SendfileStream {
        SendfileStream {
            stream,
            from_file: 0,
        }
    }

    /// Bytes this stream has sent with `sendfile`.
    pub fn sent_from_file(&self) -> u64 {
        self.from_file
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Once zero-copy is off, bodies that already have a file are copied too.
        let found = if DISABLED.load(Ordering::Relaxed) {
            None
        } else {
            imp::find(bufs)
        };
        let Some(found) = found else {
            return Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        };
        match std::task::ready!(imp::poll_send(
            &self.stream,
            cx,
            &bufs[..found.index],
            &found
        )) {
            Ok((sent, from_file)) => {
                self.from_file += from_file as u64;
                SENT.fetch_add(from_file as u64, Ordering::Relaxed);
                Poll::Ready(Ok(sent))
            }
            // Nothing was sent: refused by the kernel, not by the peer. Copy from now on.
            Err(e) if imp::unsupported(&e) => {
                disable(&e);
                Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::BTreeMap;
    use std::io::{self, IoSlice, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::sync::atomic::Ordering;
    use std::sync::RwLock;
    use std::task::{ready, Context, Poll};

    use bytes::Bytes;
    use tokio::io::Interest;
    use tokio::net::TcpStream;

    use super::{disable, FILES, MIN_FILE_BACKED};

    /// Start address of each file-backed body → (its length, its file).
    static REGISTRY: RwLock<BTreeMap<usize, (usize, OwnedFd)>> = RwLock::new(BTreeMap::new());

    /// Holds a body's bytes; while it exists, the bytes' addresses are registered.
    struct Owner {
        data: Vec<u8>,
    }

    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            &self.data
        }
    }

    impl Drop for Owner {
        fn drop(&mut self) {
            let removed = REGISTRY
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(self.data.as_ptr() as usize));
            // The descriptor closes here, after the lock is released.
            drop(removed);
            FILES.fetch_sub(1, Ordering::Relaxed);
        }
    }

    pub(super) fn file_backed(body: Vec<u8>) -> Bytes {
        let file = match memfd(&body) {
            Ok(f) => f,
            Err(e) => {
                disable(&e);
                return Bytes::from(body);
            }
        };
        FILES.fetch_add(1, Ordering::Relaxed);
        let (start, len) = (body.as_ptr() as usize, body.len());
        // Registered before the owner exists, so that its drop always finds the entry. The
        // heap buffer does not move when the Vec moves into the owner.
        REGISTRY
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(start, (len, file));
        Bytes::from_owner(Owner { data: body })
    }

    fn memfd(body: &[u8]) -> io::Result<OwnedFd> {
        // SAFETY: a valid NUL-terminated name and flags; the result is checked.
        let fd = unsafe { libc::memfd_create(c"feedloom-feed".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut file = std::fs::File::from(owned);
        file.write_all(body)?;
        Ok(OwnedFd::from(file))
    }

    /// Errors by which the kernel (or a sandbox) refuses the zero-copy calls themselves.
    pub(super) fn unsupported(e: &io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::EPERM)
        )
    }

    /// Whether a body starting at `addr` is registered (for tests).
    #[cfg(test)]
    pub(super) fn registered(addr: usize) -> bool {
        REGISTRY
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&addr)
    }

    /// A registered body among the buffers hyper wants written.
    pub(super) struct Found {
        /// Position of the body's slice in the buffers.
        pub index: usize,
        /// Borrowed: the slice being written keeps its body, hence the registry entry and
        /// the open file, alive for the whole send.
        file: RawFd,
        /// Where the slice starts in the file, and its length.
        offset: usize,
        len: usize,
    }

    pub(super) fn find(bufs: &[IoSlice<'_>]) -> Option<Found> {
        // Small slices (response heads, small bodies) never take the lock.
        let index = bufs.iter().position(|b| b.len() >= MIN_FILE_BACKED / 2)?;
        let slice = &bufs[index];
        let addr = slice.as_ptr() as usize;
        let r = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
        let (&start, (len, file)) = r.range(..=addr).next_back()?;
        // hyper may hand us the tail of a body after a partial write: any slice inside counts.
        if addr + slice.len() > start + len {
            return None;
        }
        Some(Found {
            index,
            file: file.as_raw_fd(),
            offset: addr - start,
            len: slice.len(),
        })
    }

    pub(super) fn poll_send(
        stream: &TcpStream,
        cx: &mut Context<'_>,
        head: &[IoSlice<'_>],
        found: &Found,
    ) -> Poll<io::Result<(usize, usize)>> {
        loop {
            ready!(stream.poll_write_ready(cx))?;
            match stream.try_io(Interest::WRITABLE, || send(stream.as_raw_fd(), head, found)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                other => return Poll::Ready(other),
            }
        }
    }

    /// The head buffers (with MSG_MORE, so that they leave in the same packet as the body), then
    /// the body from its file. Returns what was sent in all and how much of it came from the
    /// file; WouldBlock only when nothing was sent.
    fn send(sock: i32, head: &[IoSlice<'_>], found: &Found) -> io::Result<(usize, usize)> {
        let mut sent = 0;
        let want: usize = head.iter().map(|b| b.len()).sum();
        if want > 0 {
            // SAFETY: IoSlice is ABI-compatible with iovec on Unix; the msghdr points at `head`,
            // which outlives the call.
            let n = unsafe {
                let mut msg: libc::msghdr = std::mem::zeroed();
                msg.msg_iov = head.as_ptr() as *mut libc::iovec;
                msg.msg_iovlen = head.len() as _;
                libc::sendmsg(sock, &msg, libc::MSG_MORE | libc::MSG_NOSIGNAL)
            };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            sent = n as usize;
            if sent < want {
                return Ok((sent, 0));
            }
        }
        let mut offset = found.offset as libc::off_t;
        // SAFETY: both descriptors are open for the duration of the call (the caller's slice
        // keeps the body, so its registry entry and file, alive); the kernel writes only
        // `offset`.
        let n = unsafe { libc::sendfile(sock, found.file, &mut offset, found.len) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if sent > 0 { Ok((sent, 0)) } else { Err(e) };
        }
        Ok((sent + n as usize, n as usize))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io::{self, IoSlice};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use tokio::net::TcpStream;

    pub(super) struct Found {
        pub index: usize,
    }

    pub(super) fn file_backed(body: Vec<u8>) -> Bytes {
        Bytes::from(body)
    }

    pub(super) fn find(_: &[IoSlice<'_>]) -> Option<Found> {
        None
    }

    pub(super) fn unsupported(_: &io::Error) -> bool {
        false
    }

    pub(super) fn poll_send(
        _: &TcpStream,
        _: &mut Context<'_>,
        _: &[IoSlice<'_>],
        _: &Found,
    ) -> Poll<io::Result<(usize, usize)>> {
        unreachable!("find never finds a file-backed body off Linux")
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Write `head` + `body` through a SendfileStream the way hyper does (vectored, resuming
    /// after partial writes) and read it back on the other end of a loopback connection.
    async fn round_trip(head: &[u8], body: Bytes) -> (Vec<u8>, u64) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let total = head.len() + body.len();
        let reader = tokio::spawn(async move {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let mut got = Vec::new();
            // Read slowly at first so that the sender meets a full socket buffer.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            while got.len() < total {
                let mut buf = vec![0u8; 8192];
                let n = c.read(&mut buf).await.unwrap();
                assert!(n > 0, "connection closed early");
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let (sock, _) = listener.accept().await.unwrap();
        let mut s = SendfileStream::new(sock);
        let (mut h, mut b) = (head, &body[..]);
        while !h.is_empty() || !b.is_empty() {
            let bufs = [IoSlice::new(h), IoSlice::new(b)];
            let n = std::future::poll_fn(|cx| Pin::new(&mut s).poll_write_vectored(cx, &bufs))
                .await
                .unwrap();
            let from_head = n.min(h.len());
            h = &h[from_head..];
            b = &b[n - from_head..];
        }
        s.flush().await.unwrap();
        (reader.await.unwrap(), s.sent_from_file())
    }

    #[tokio::test]
    async fn large_bodies_go_out_from_the_file_and_arrive_intact() {
        // 4 MB: larger than loopback socket buffers, so partial sends and resumption happen.
        let body: Vec<u8> = (0..4_000_000u32).map(|i| (i % 251) as u8).collect();
        let bytes = file_backed(body.clone());
        let head = b"HTTP/1.1 200 OK\r\ncontent-length: 4000000\r\n\r\n";
        let (got, from_file) = round_trip(head, bytes.clone()).await;
        assert_eq!(&got[..head.len()], head);
        assert!(got[head.len()..] == body[..], "body bytes differ");
        assert_eq!(
            from_file,
            body.len() as u64,
            "the whole body went by sendfile"
        );
        // A slice of a registered body (hyper resuming after a partial write) is found too.
        let (got, from_file) = round_trip(b"", bytes.slice(1000..200_000)).await;
        assert!(got == body[1000..200_000]);
        assert_eq!(from_file, 199_000);
    }

    #[tokio::test]
    async fn small_and_unregistered_bodies_are_written_normally() {
        let small = file_backed(vec![b'x'; 100]);
        let (got, from_file) = round_trip(b"head", small).await;
        assert_eq!(got, [b"head".as_slice(), &[b'x'; 100]].concat());
        assert_eq!(from_file, 0);
        let plain = Bytes::from(vec![b'y'; 100_000]);
        let (got, from_file) = round_trip(b"", plain).await;
        assert_eq!(got.len(), 100_000);
        assert_eq!(from_file, 0);
    }

    #[test]
    fn a_dropped_body_is_unregistered() {
        let b = file_backed(vec![7u8; 50_000]);
        let slices = [IoSlice::new(&b)];
        assert!(imp::find(&slices).is_some());
        let copy = b.clone();
        drop(b);
        // Still alive through the clone.
        assert!(imp::find(&[IoSlice::new(&copy)]).is_some());
        let addr = copy.as_ptr() as usize;
        drop(copy);
        assert!(
            !imp::registered(addr),
            "the registry still holds a freed body"
        );
    }
}
