//! Lingering close (STD1-WIRE-32): a connection the server is done with is
//! not dropped while its peer may still be sending.
//!
//! Linux answers data that arrives for a closed socket, or that is still
//! unread when the socket is closed, with a reset, and a reset discards
//! whatever the server had written that was not yet on the wire: a close
//! frame (say, 1009 for a message refused part-way through, whose rest is
//! still coming) and the replies before it. So every accepted TCP stream
//! is wrapped in [`LingeringStream`]: when it is dropped (the WebSocket's
//! task ended, or the HTTP connection was closed), a task takes the socket
//! over, ends the server's direction (FIN, after everything written), and
//! reads and discards what the peer still sends until its end of stream,
//! for at most [`LINGER_TIME`] and [`LINGER_BYTES`], before closing it.
//!
//! This sits below the WebSocket layer because that layer cannot drain: a
//! refused oversized frame ends the stream for good (`tokio-tungstenite`
//! yields nothing after an error), and its decoder is then stuck inside
//! the refused frame.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How long a closed connection is drained at most.
pub const LINGER_TIME: Duration = Duration::from_secs(2);

/// How many bytes a closed connection is drained of at most.
pub const LINGER_BYTES: usize = 4 * 1024 * 1024;

/// A TCP listener whose connections linger when dropped.
pub struct LingeringListener {
    inner: TcpListener,
}

impl LingeringListener {
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl axum::serve::Listener for LingeringListener {
    type Io = LingeringStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's accept, which retries after errors.
        let (stream, address) = axum::serve::Listener::accept(&mut self.inner).await;
        (LingeringStream::new(stream), address)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// An accepted TCP stream that is drained, not just closed, when dropped.
pub struct LingeringStream {
    /// Taken only when the stream is dropped.
    stream: Option<TcpStream>,
}

impl LingeringStream {
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream: Some(stream),
        }
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        match &self.stream {
            Some(stream) => stream.set_nodelay(nodelay),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    fn poll_with<T>(
        &mut self,
        poll: impl FnOnce(Pin<&mut TcpStream>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match &mut self.stream {
            Some(stream) => poll(Pin::new(stream)),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl Drop for LingeringStream {
    fn drop(&mut self) {
        // Outside a runtime (never, in the server) the socket just closes.
        if let Some(stream) = self.stream.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(linger(stream));
        }
    }
}

/// Ends the server's direction of `stream`, then reads and discards until
/// the peer's end of stream, an error, or the time or byte bound.
async fn linger(mut stream: TcpStream) {
    // FIN: the peer learns that nothing more is coming, and closes its side.
    let _ = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await;
    let deadline = tokio::time::Instant::now() + LINGER_TIME;
    let mut discard = [0_u8; 4096];
    let mut left = LINGER_BYTES;
    while left > 0 {
        if !matches!(
            tokio::time::timeout_at(deadline, stream.readable()).await,
            Ok(Ok(()))
        ) {
            return;
        }
        match stream.try_read(&mut discard) {
            Ok(0) => return,
            Ok(n) => left = left.saturating_sub(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

impl AsyncRead for LingeringStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().poll_with(|s| s.poll_read(cx, buf))
    }
}

impl AsyncWrite for LingeringStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_with(|s| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_with(|s| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(AsyncWrite::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_with(|s| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_with(|s| s.poll_shutdown(cx))
    }
}
