//! Connecting to the manager over its Unix socket, and turning gRPC errors into exit codes.
use std::path::{Path, PathBuf};

use hyperagent_core::config::Config;
use hyperagent_proto::v1::client_service_client::ClientServiceClient;
use hyperagent_server::server::Discovery;
use tonic::transport::Channel;
use tonic::Code;

/// A failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code (see `--help`).
    pub code: u8,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with an exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

/// The manager holds its socket but does not answer (stopped, hung, or overloaded).
pub fn not_answering(deadline: std::time::Duration) -> Failure {
    Failure::new(
        3,
        format!(
            "the manager is not answering (nothing within {}, server.client_timeout): is it \
             stopped (kill -STOP), hung or overloaded? `hyperagent service status` or its log \
             may say more",
            humantime::format_duration(deadline)
        ),
    )
}

impl From<tonic::Status> for Failure {
    fn from(s: tonic::Status) -> Failure {
        // A call's deadline (the channel's timeout), or a keepalive ping nobody answered.
        let timed_out = s.code() == Code::DeadlineExceeded
            || (s.code() == Code::Cancelled && s.message().contains("Timeout expired"))
            || s.message().contains("keep-alive timed out")
            || s.message().contains("keepalive");
        if timed_out {
            return Failure::new(
                3,
                format!(
                    "the manager is not answering ({}): is it stopped (kill -STOP), hung or \
                     overloaded? (server.client_timeout)",
                    s.message()
                ),
            );
        }
        let code = match s.code() {
            Code::NotFound => 4,
            Code::InvalidArgument
            | Code::AlreadyExists
            | Code::FailedPrecondition
            | Code::OutOfRange => 5,
            Code::ResourceExhausted => 5,
            Code::Unavailable => 3,
            _ => 1,
        };
        Failure::new(code, s.message().to_string())
    }
}

impl From<hyperagent_core::Error> for Failure {
    fn from(e: hyperagent_core::Error) -> Failure {
        use hyperagent_core::Error as E;
        let code = match &e {
            E::AlreadyRunning { .. } | E::DataDirInUse { .. } => 7,
            E::StoreFailed(_) => 9,
            E::Config { .. } | E::Manifest { .. } | E::InvalidInput(_) => 5,
            _ => 1,
        };
        Failure::new(code, e.to_string())
    }
}

/// The running manager's discovery file, when there is one in a folder of this user's that no one
/// else can write.
pub fn discovery(cfg: &Config) -> Option<Discovery> {
    let (_, _, path) = cfg.runtime_paths();
    hyperagent_core::private::check_private(path.parent()?).ok()?;
    Discovery::read(&path).ok()
}

/// The socket to use: `--socket`, else the discovery file's, else the configured one.
/// The discovery file (and the configured socket) are trusted only in a folder of this user's
/// that no one else can write.
pub fn socket_path(explicit: Option<&Path>, cfg: &Config) -> Result<PathBuf, Failure> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let (_, socket, discovery) = cfg.runtime_paths();
    for dir in [discovery.parent(), socket.parent()].into_iter().flatten() {
        match hyperagent_core::private::check_private(dir) {
            Ok(()) => {}
            // Nothing there yet: no manager runs; connecting says so.
            Err(hyperagent_core::error::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Failure::new(5, e.to_string())),
        }
    }
    Ok(Discovery::read(&discovery)
        .map(|d| d.socket)
        .unwrap_or(socket))
}

/// A client of the manager's client API over the Unix socket at `path`.
pub async fn connect(
    path: &Path,
    max_message_bytes: usize,
    deadline: std::time::Duration,
) -> Result<ClientServiceClient<Channel>, Failure> {
    use hyperagent_server::transport::{connect_unix_within, ConnectError};
    let channel = connect_unix_within(path, deadline)
        .await
        .map_err(|e| match e {
            ConnectError::Failed(e) => {
                let cause = std::error::Error::source(&e).map(|s| s.to_string()).unwrap_or_else(|| e.to_string());
                Failure::new(
                    3,
                    format!(
                        "cannot reach the manager at {}: {cause}. Is it running? Start it with `hyperagent serve`, or pass --socket",
                        path.display()
                    ),
                )
            }
            ConnectError::NotAnswering => not_answering(deadline),
        })?;
    Ok(ClientServiceClient::new(channel)
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes))
}
