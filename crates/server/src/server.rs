//! Brings the manager up and down: the single-instance lock, the database, the Unix socket (and the
//! optional token-guarded TCP listener), health and reflection, the discovery file, the supervisor.
use std::future::Future;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyperagent_proto::v1 as pb;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, UnixListener};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::InterceptorLayer;
use tonic::transport::Server;
use tonic::{Request, Status};

use crate::grpc::Services;
use hyperagent_core::config::{Config, ResolvedPaths};
use hyperagent_core::error::{Error, Result};
use hyperagent_core::manager::Manager;
use hyperagent_core::private::{check_private, kept_secret, private_dir, write_private};
use hyperagent_core::store::Store;
use hyperagent_core::supervisor::{Manifest, Supervisor};
use hyperagent_core::token::random_secret;

use crate::process::bundled;

/// What the discovery file says: where the manager is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    /// The Unix socket.
    pub socket: PathBuf,
    /// The manager's pid.
    pub pid: u32,
    /// Its version.
    pub version: String,
    /// When it started (µs since the epoch).
    pub started_us: i64,
    /// The TCP listener, when enabled.
    pub tcp: Option<TcpInfo>,
    /// The web UI and API, when enabled (`serve --web`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<WebInfo>,
}

/// The web UI's address and token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WebInfo {
    /// Its base URL, e.g. http://127.0.0.1:8765/.
    pub url: String,
    /// Send `authorization: Bearer <token>`, or open `<url>?token=<token>` once in a browser.
    pub token: String,
}

/// The TCP listener and its bearer token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpInfo {
    /// Address, e.g. 127.0.0.1:7077.
    pub address: String,
    /// Send `authorization: Bearer <token>`.
    pub token: String,
}

impl Discovery {
    /// Reads a discovery file.
    pub fn read(path: &Path) -> Result<Discovery> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::InvalidInput(format!("{} is not a discovery file: {e}", path.display()))
        })
    }
}

/// The manager's single-instance locks, on its socket path and on its data directory: held for
/// the process's lifetime.
pub struct InstanceLock {
    _file: std::fs::File,
    _data: Option<std::fs::File>,
}

impl InstanceLock {
    /// Takes the lock next to `socket` and the one in `data_dir`, or says which manager holds
    /// one: two managers must not share a socket, nor a database (a shell without
    /// `XDG_RUNTIME_DIR` while the service runs would otherwise start a second manager that runs
    /// the same tasks again).
    pub fn acquire_both(socket: &Path, discovery: &Path, data_dir: &Path) -> Result<InstanceLock> {
        let mut lock = InstanceLock::acquire(socket, discovery)?;
        let path = data_dir.join("manager.lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(format!("opening lock file {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {
                use std::io::{Seek, Write};
                // Who holds it, for the next one's error message.
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ = write!(file, "{}", std::process::id());
                lock._data = Some(file);
                Ok(lock)
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::DataDirInUse {
                pid: std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0),
                data_dir: data_dir.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }

    /// Takes the lock next to `socket`, or says which manager holds it.
    pub fn acquire(socket: &Path, discovery: &Path) -> Result<InstanceLock> {
        let path = PathBuf::from(format!("{}.lock", socket.display()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(format!("opening lock file {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock {
                _file: file,
                _data: None,
            }),
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = Discovery::read(discovery)
                    .ok()
                    .filter(|d| d.socket == socket)
                    .map(|d| d.pid)
                    .unwrap_or(0);
                Err(Error::AlreadyRunning {
                    pid,
                    socket: socket.display().to_string(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }
}

/// What `run` reports once it is serving.
#[derive(Clone, Debug)]
pub struct Ready {
    /// The socket.
    pub socket: PathBuf,
    /// The TCP address, if any.
    pub tcp: Option<std::net::SocketAddr>,
    /// The web UI, if served: its URL with the token (what a person opens).
    pub web_url: Option<String>,
    /// The discovery file.
    pub discovery: PathBuf,
}

/// Runs the manager until `shutdown` resolves, then stops agents, flushes the database and removes
/// the socket and discovery file. `on_ready` is called once everything is listening. Ends with
/// `Error::StoreFailed` when a database write failed (what memory holds may then include a change
/// that was not stored: only a restart reads the truth back).
pub async fn run(
    cfg: Config,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Ready, &Manager),
) -> Result<()> {
    let paths = private_folders(&cfg)?;
    let _lock = InstanceLock::acquire_both(&paths.socket, &paths.discovery, &paths.data_dir)?;
    let store = Store::open(
        &paths.database,
        cfg.store.busy_timeout,
        cfg.store.wal_size_limit_bytes,
    )
    .await?;
    let manager = Manager::start(cfg.clone(), paths.clone(), store.clone()).await?;
    let listeners = Listeners::bind(&cfg, &paths).await?;
    let result = serve(&cfg, &paths, &manager, listeners, shutdown, on_ready).await;
    manager.shutdown().await;
    store.close().await;
    // Only remove what is still ours.
    if Discovery::read(&paths.discovery).is_ok_and(|d| d.pid == std::process::id()) {
        let _ = std::fs::remove_file(&paths.discovery);
    }
    let _ = std::fs::remove_file(&paths.socket);
    let _ = std::fs::remove_file(&paths.egress_socket);
    result
}

/// Makes the manager's folders (only the user's) and checks the ones its socket lives in.
fn private_folders(cfg: &Config) -> Result<ResolvedPaths> {
    let paths: ResolvedPaths = cfg.resolve()?;
    private_dir(&paths.runtime_dir)?;
    check_private(&paths.runtime_dir)?;
    if let Some(parent) = paths.socket.parent() {
        private_dir(parent)?;
        check_private(parent)?;
    }
    private_dir(&paths.data_dir)?;
    private_dir(&paths.workspace_root)?;
    // Made now so it is watched itself: while missing, its parent (the data dir) would be, and
    // that wakes the watcher at every database write.
    private_dir(&paths.templates)?;
    Ok(paths)
}

/// What the manager serves on, bound before anything is served.
pub struct Listeners {
    /// The client and agent API (0600 in a 0700 folder).
    uds: UnixListener,
    /// The egress proxy's socket.
    egress: UnixListener,
    /// The optional TCP listener with its bearer token.
    tcp: Option<(TcpListener, String)>,
    /// The web UI's listener, its address and token.
    web: Option<(TcpListener, std::net::SocketAddr, String)>,
}

impl Listeners {
    /// Binds what `cfg` asks for.
    pub async fn bind(cfg: &Config, paths: &ResolvedPaths) -> Result<Listeners> {
        let uds = bind_private(&paths.socket)?;
        let egress = bind_private(&paths.egress_socket)?;
        let tcp = match cfg.server.tcp {
            Some(addr) => {
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|e| Error::io(format!("binding TCP {addr}"), e))?;
                let token = match &cfg.server.tcp_token {
                    Some(t) if !t.is_empty() => t.clone(),
                    _ => random_secret()?,
                };
                Some((l, token))
            }
            None => None,
        };
        let web = if cfg.web.enabled {
            let l = TcpListener::bind(cfg.web.address).await.map_err(|e| {
                Error::io(
                    format!("binding the web UI's address {}", cfg.web.address),
                    e,
                )
            })?;
            let addr = l
                .local_addr()
                .map_err(|e| Error::io("reading the web UI's address", e))?;
            // Kept across restarts: a tab open on the UI stays signed in when the manager comes
            // back (its cookie holds this token).
            Some((l, addr, kept_secret(&paths.web_token)?))
        } else {
            None
        };
        Ok(Listeners {
            uds,
            egress,
            tcp,
            web,
        })
    }

    /// What the discovery file will say of them.
    fn discovery(&self, paths: &ResolvedPaths) -> Discovery {
        Discovery {
            socket: paths.socket.clone(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_us: hyperagent_core::model::now_us(),
            tcp: self.tcp.as_ref().map(|(l, t)| TcpInfo {
                address: l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                token: t.clone(),
            }),
            web: self.web.as_ref().map(|(_, addr, token)| WebInfo {
                url: format!("http://{addr}/"),
                token: token.clone(),
            }),
        }
    }
}

/// Serves on `listeners` until `shutdown` resolves or a database write fails, then stops the
/// supervisor and the servers (the caller shuts the manager and the store down).
async fn serve(
    cfg: &Config,
    paths: &ResolvedPaths,
    manager: &Manager,
    listeners: Listeners,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Ready, &Manager),
) -> Result<()> {
    let discovery = listeners.discovery(paths);
    let discovery_json =
        serde_json::to_vec_pretty(&discovery).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let tcp_addr = listeners
        .tcp
        .as_ref()
        .and_then(|(l, _)| l.local_addr().ok());
    let servers = Servers::spawn(cfg, manager, listeners).await?;
    write_private(&paths.discovery, &discovery_json)?;
    let supervisor = start_supervisor(cfg, paths, manager);
    on_ready(
        &Ready {
            socket: paths.socket.clone(),
            tcp: tcp_addr,
            web_url: discovery
                .web
                .as_ref()
                .map(|w| format!("{}?token={}", w.url, w.token)),
            discovery: paths.discovery.clone(),
        },
        manager,
    );
    let mut failed = manager.store_failed();
    let store_error = tokio::select! {
        _ = shutdown => None,
        f = failed.wait_for(Option::is_some) => f.ok().and_then(|f| f.clone()),
    };
    match &store_error {
        Some(why) => tracing::error!(error = %why, "a database write failed: stopping"),
        None => tracing::info!("shutting down"),
    }
    manager.begin_stop();
    if let Some(s) = supervisor {
        s.stop().await;
    }
    // Open feeds and Work streams would keep their connections, and so the servers, alive.
    manager.feed().close();
    manager.end_work_streams();
    servers.stop().await;
    match store_error {
        Some(why) => Err(Error::StoreFailed(why)),
        None => Ok(()),
    }
}

/// Starts the agents of the manifests in `supervisor.agent_dirs` (when supervising is on).
fn start_supervisor(cfg: &Config, paths: &ResolvedPaths, manager: &Manager) -> Option<Supervisor> {
    if !cfg.supervisor.enabled || cfg.supervisor.agent_dirs.is_empty() {
        return None;
    }
    let (manifests, errors) = Manifest::discover(&cfg.supervisor.agent_dirs);
    for e in errors {
        tracing::error!(error = %e, "agent manifest skipped");
    }
    Some(Supervisor::start(
        std::sync::Arc::new(manager.clone()),
        manifests,
        paths.socket.clone(),
    ))
}

type Served<E> = tokio::task::JoinHandle<std::result::Result<(), E>>;

/// The running servers and how to stop them.
struct Servers {
    stop: tokio::sync::watch::Sender<bool>,
    uds: Served<tonic::transport::Error>,
    tcp: Option<Served<tonic::transport::Error>>,
    web: Option<Served<std::io::Error>>,
    egress: tokio::task::JoinHandle<()>,
    telemetry: tokio::task::JoinHandle<()>,
}

/// Accepts on the manager's socket, for tonic (its own loop retries a failed accept at once, and
/// holds no count): connections from confined peers are held to `max_confined` at once (more
/// are closed at once, so a sandbox's flood of idle connections cannot take the manager's file
/// descriptors, nor the person's way in); after a failed accept the socket rests for `pause`.
/// Ends when the server stops taking connections.
async fn accept_unix(
    listener: UnixListener,
    accepted: tokio::sync::mpsc::Sender<std::io::Result<crate::peer_stream::PeerStream>>,
    max_confined: u32,
    pause: Duration,
) {
    let places = Arc::new(tokio::sync::Semaphore::new(max_confined as usize));
    loop {
        let conn = tokio::select! {
            a = listener.accept() => a,
            _ = accepted.closed() => return,
        };
        match conn {
            Ok((stream, _)) => {
                let mut conn = crate::peer_stream::PeerStream::accept(stream);
                if conn.confined() {
                    match places.clone().try_acquire_owned() {
                        Ok(place) => conn.hold(place),
                        Err(_) => {
                            tracing::debug!("confined peers hold as many connections as allowed (server.max_confined_connections); one closed");
                            continue;
                        }
                    }
                }
                if accepted.send(Ok(conn)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, pause = ?pause, "accepting on the manager's socket failed");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

impl Servers {
    /// Serves the gRPC API on the socket (and TCP, token-guarded), the web API and the egress
    /// proxy, each until [`Servers::stop`].
    async fn spawn(cfg: &Config, manager: &Manager, l: Listeners) -> Result<Servers> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = || {
            let mut rx = stopped.clone();
            async move {
                let _ = rx.changed().await;
            }
        };
        let services = Services::new(manager.clone());
        let max = cfg.server.max_message_bytes as usize;
        let egress = tokio::spawn(hyperagent_core::egress::serve(
            manager.clone(),
            l.egress,
            stopped.clone(),
            cfg.server.accept_error_pause,
        ));
        let telemetry = tokio::spawn(crate::telemetry::export(
            manager.clone(),
            cfg.telemetry.clone(),
            stopped.clone(),
        ));
        let router = routes(Server::builder(), &services, max).await?;
        let (accepted, incoming) = tokio::sync::mpsc::channel(1);
        tokio::spawn(accept_unix(
            l.uds,
            accepted,
            cfg.server.max_confined_connections,
            cfg.server.accept_error_pause,
        ));
        let uds = tokio::spawn(router.serve_with_incoming_shutdown(
            tokio_stream::wrappers::ReceiverStream::new(incoming),
            until_stopped(),
        ));
        let tcp = match l.tcp {
            Some((listener, token)) => {
                let builder = Server::builder().layer(InterceptorLayer::new(bearer_guard(token)));
                let router = routes(builder, &services, max).await?;
                Some(tokio::spawn(router.serve_with_incoming_shutdown(
                    TcpListenerStream::new(listener),
                    until_stopped(),
                )))
            }
            None => None,
        };
        let web = l.web.map(|(listener, addr, token)| {
            let app = crate::web::router(services.clone(), token, addr, ui_dir(cfg));
            let until = until_stopped();
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(until)
                    .await
            })
        });
        Ok(Servers {
            stop,
            uds,
            tcp,
            web,
            egress,
            telemetry,
        })
    }

    /// Stops them all and waits until they have.
    async fn stop(self) {
        let _ = self.stop.send(true);
        if let Ok(Err(e)) = self.uds.await {
            tracing::error!(error = %e, "unix socket server failed");
        }
        if let Some(t) = self.tcp {
            if let Ok(Err(e)) = t.await {
                tracing::error!(error = %e, "tcp server failed");
            }
        }
        if let Some(w) = self.web {
            if let Ok(Err(e)) = w.await {
                tracing::error!(error = %e, "web server failed");
            }
        }
        let _ = self.egress.await;
        let _ = self.telemetry.await;
    }
}

/// The TCP listener's check: `authorization: Bearer <token>` on every call.
/// Whether two secrets are equal, in time that does not depend on where they differ (only on
/// their lengths). Written out: one loop, not worth a crate.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer_guard(
    token: String,
) -> impl Fn(Request<()>) -> std::result::Result<Request<()>, Status> + Clone {
    let expected = format!("Bearer {token}");
    move |req: Request<()>| match req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        Some(v) if same_secret(v.as_bytes(), expected.as_bytes()) => Ok(req),
        Some(_) => Err(Status::unauthenticated(
            "wrong bearer token for the TCP listener",
        )),
        None => Err(Status::unauthenticated(
            "the TCP listener needs `authorization: Bearer <token>` (the token is in the \
             discovery file)",
        )),
    }
}

/// The built web UI: `web.ui_dir`, else the bundled one.
fn ui_dir(cfg: &Config) -> Option<PathBuf> {
    cfg.web
        .ui_dir
        .clone()
        .or_else(|| bundled("ui", "ui/dist").filter(|d| d.join("index.html").is_file()))
}

/// Binds a Unix socket (a file left from an earlier run is stale: we hold the lock) and makes it
/// 0600. The parent folder is 0700 already, so there is no window in which others could connect.
fn bind_private(path: &std::path::Path) -> Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Error::io(
                format!("removing stale socket {}", path.display()),
                e,
            ))
        }
    }
    let l = UnixListener::bind(path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("chmod {}", path.display()), e))?;
    Ok(l)
}

/// Refuses client calls made from inside a sandbox (a process in another user namespace than the
/// manager's): through the client API an agent could answer its own consent requests, add rules
/// or read other tasks. Audited. Calls without Unix peer credentials (TCP, which needs its bearer
/// token and cannot be reached from a sandbox) pass.
fn client_guard(manager: Manager) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |req: Request<()>| match crate::grpc::peer(&req) {
        Some(hyperagent_core::peer::Peer {
            pid,
            confined: true,
            ..
        }) => {
            manager.audit(
                &format!("pid:{pid}"),
                "client.refused",
                None,
                serde_json::json!({
                    "reason": "a client call from inside a sandbox",
                    "pid": pid,
                }),
            );
            Err(Status::permission_denied(
                "the client API cannot be used from inside an agent's sandbox",
            ))
        }
        _ => Ok(req),
    }
}

async fn routes<L>(
    builder: Server<L>,
    services: &Services,
    max: usize,
) -> Result<tonic::transport::server::Router<L>>
where
    L: Clone,
{
    // One span per call, named by its method (`/hyperagent.v1.ClientService/SubmitTask`), so a
    // request can be followed through the logs. The path carries no secret (tokens travel in
    // metadata and messages).
    let mut builder =
        builder.trace_fn(|req| tracing::info_span!("grpc", method = %req.uri().path()));
    use pb::agent_service_server::AgentServiceServer;
    use pb::client_service_server::ClientServiceServer;
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<AgentServiceServer<Services>>()
        .await;
    health_reporter
        .set_serving::<ClientServiceServer<Services>>()
        .await;
    let reflection_err =
        |e: tonic_reflection::server::Error| Error::InvalidInput(format!("reflection: {e}"));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection_err)?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection_err)?;
    Ok(builder
        .add_service(health)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(
            AgentServiceServer::new(services.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(tonic::service::interceptor::InterceptedService::new(
            ClientServiceServer::new(services.clone())
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
            client_guard(services.manager().clone()),
        )))
}
