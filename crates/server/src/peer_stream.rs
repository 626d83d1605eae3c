//! An accepted Unix-socket connection with the peer the kernel reported when it was accepted
//! (see `hyperagent_core::peer`), handed to tonic as the connection's connect info.
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyperagent_core::peer::Peer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UnixStream;

/// An accepted Unix-socket connection with its peer, as tonic serves it: the peer reaches each
/// request's extensions as its connect info.
pub struct PeerStream {
    stream: UnixStream,
    peer: Option<Peer>,
    /// Its place among the connections confined peers may hold (`server.max_confined_connections`).
    _place: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl PeerStream {
    /// Decides who the peer is, now. One the kernel names no process for counts as confined
    /// (fail closed: only the TCP listener, behind its token, has connections with no peer).
    pub fn accept(stream: UnixStream) -> PeerStream {
        let peer = Peer::of(&stream).or(Some(Peer {
            pid: 0,
            parent: None,
            confined: true,
        }));
        PeerStream {
            stream,
            peer,
            _place: None,
        }
    }

    /// Whether the peer counts as confined (an agent's or a task's process, or one the kernel
    /// could not vouch for).
    pub fn confined(&self) -> bool {
        self.peer.is_none_or(|p| p.confined)
    }

    /// Keeps `place` for as long as the connection is open.
    pub fn hold(&mut self, place: tokio::sync::OwnedSemaphorePermit) {
        self._place = Some(place);
    }
}

impl tonic::transport::server::Connected for PeerStream {
    type ConnectInfo = Option<Peer>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.peer
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
