//! Client-side connection to the manager's Unix socket (used by the CLI, tests and benchmarks).
use std::path::Path;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

/// A gRPC channel over the Unix socket at `path`. tonic dials TCP URIs only, so the URI here is a
/// placeholder that must parse, and the connector opens the socket.
pub async fn connect_unix(path: &Path) -> Result<Channel, tonic::transport::Error> {
    let p = path.to_path_buf();
    Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let p = p.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(p).await?)) }
        }))
        .await
}

/// [`connect_unix`] with a deadline on connecting and on every call's answer, and HTTP/2
/// keepalive pings on the same interval, so a client never waits forever on a manager that is
/// stopped (`kill -STOP`) or a socket nobody answers: a call, or a followed stream, then fails.
pub async fn connect_unix_within(path: &Path, deadline: Duration) -> Result<Channel, ConnectError> {
    let p = path.to_path_buf();
    let endpoint = Endpoint::from_static("http://localhost")
        .connect_timeout(deadline)
        .timeout(deadline)
        .http2_keep_alive_interval(deadline)
        .keep_alive_timeout(deadline)
        .keep_alive_while_idle(true);
    let connecting = endpoint.connect_with_connector(tower::service_fn(move |_: Uri| {
        let p = p.clone();
        async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(p).await?)) }
    }));
    match tokio::time::timeout(deadline, connecting).await {
        Ok(Ok(ch)) => Ok(ch),
        Ok(Err(e)) => Err(ConnectError::Failed(e)),
        Err(_) => Err(ConnectError::NotAnswering),
    }
}

/// Why [`connect_unix_within`] gave up.
#[derive(Debug)]
pub enum ConnectError {
    /// Connecting failed (no socket, refused).
    Failed(tonic::transport::Error),
    /// Something holds the socket but did not answer within the deadline.
    NotAnswering,
}
