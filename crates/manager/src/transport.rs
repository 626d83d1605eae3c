//! Client-side connection to the manager's Unix socket (used by the CLI, tests and benchmarks).
use std::path::Path;

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
