//! The manager the app talks to: the one already running for this user (its discovery file names
//! a socket that answers, e.g. the headless service), else one embedded in the app, on a tokio
//! runtime of its own in a background thread. Either way the app is a client of the manager's
//! client API over its Unix socket, like the CLI: no business logic here.
use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use hyperagent_core::config::Config;
use hyperagent_proto::v1::client_service_client::ClientServiceClient;
use hyperagent_server::api::ApiError;
use hyperagent_server::process::bundled;
use hyperagent_server::server::Discovery;
use hyperagent_server::service::{ServiceState, ServiceStatus, UserService};
use tonic::transport::Channel;
use tonic::Code;

/// How the app reaches its manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The app started the manager inside itself; quitting the app stops it.
    Embedded,
    /// Another process runs the manager (the headless service); the app only connects.
    Connected,
}

/// The embedded manager's thread and how to stop it.
struct Embedded {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Embedded {
    /// Stops it and waits until it has flushed everything (blocking).
    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

/// Which manager the app talks to now.
#[derive(Clone)]
struct Current {
    mode: Mode,
    socket: PathBuf,
    client: ClientServiceClient<Channel>,
}

/// The connection to the manager. It can change while the app runs: starting the headless
/// service hands over from the embedded manager to the service's, stopping it hands back.
pub struct Backend {
    cfg: Config,
    current: RwLock<Current>,
    embedded: Mutex<Option<Embedded>>,
    /// One hand-over at a time.
    switching: tokio::sync::Mutex<()>,
    /// Bumped after each hand-over, for those that follow the manager (the tray).
    changes: tokio::sync::watch::Sender<u64>,
}

/// What the person can ask of the headless service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceAction {
    /// Where it is.
    Status,
    /// Write and enable the unit (it starts with the session from then on).
    Install,
    /// Start it; the app hands over to it.
    Start,
    /// Stop it; the app runs the manager itself again.
    Stop,
    /// Stop, disable and remove it.
    Uninstall,
}

/// The config file as the person wrote it: `HYPERAGENT_CONFIG`, else the user's config file
/// (defaults when there is none), and whether it was named explicitly.
fn file_config() -> Result<(Config, Option<PathBuf>), ApiError> {
    let explicit = std::env::var_os("HYPERAGENT_CONFIG").map(PathBuf::from);
    let cfg = Config::load_user(explicit.as_deref())?;
    Ok((cfg, explicit))
}

/// The configuration the app runs with: `HYPERAGENT_CONFIG`, else the user's config file. When it
/// names no agents or templates, the bundled ones are used (`<prefix>/share/hyperagent/{agents,
/// templates}` beside the binary, or the source tree's when run from a checkout), as `serve` gets
/// them from `scripts/run.sh`.
pub fn load_config() -> Result<Config, ApiError> {
    let (mut cfg, _) = file_config()?;
    if cfg.supervisor.agent_dirs.is_empty() {
        cfg.supervisor
            .agent_dirs
            .extend(bundled("agents", "agents"));
    }
    if cfg.templates.dirs.is_empty() {
        cfg.templates.dirs.extend(bundled("templates", "templates"));
    }
    Ok(cfg)
}

impl Backend {
    /// Connects to the running manager, or starts one inside the app.
    pub async fn start(cfg: Config) -> Result<Backend, ApiError> {
        let current = match connect_running(&cfg).await? {
            Some(c) => (c, None),
            None => {
                let (c, e) = embed(&cfg).await?;
                (c, Some(e))
            }
        };
        Ok(Backend {
            cfg,
            current: RwLock::new(current.0),
            embedded: Mutex::new(current.1),
            switching: tokio::sync::Mutex::new(()),
            changes: tokio::sync::watch::channel(0).0,
        })
    }

    fn current(&self) -> Current {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_current(&self, c: Current) {
        match self.current.write() {
            Ok(mut cur) => *cur = c,
            Err(poisoned) => *poisoned.into_inner() = c,
        }
        self.changes.send_modify(|n| *n += 1);
    }

    /// Embedded or connected, now.
    pub fn mode(&self) -> Mode {
        self.current().mode
    }

    /// The manager's socket, now.
    pub fn socket(&self) -> PathBuf {
        self.current().socket
    }

    /// A client of the manager's client API (cheap to clone).
    pub fn client(&self) -> ClientServiceClient<Channel> {
        self.current().client
    }

    /// Changes after each hand-over between the embedded manager and the service's.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Stops the embedded manager (its agents and tasks processes with it) and waits until it has
    /// flushed everything; a connected manager is left running.
    pub fn stop(&self) {
        if let Some(e) = self.take_embedded() {
            e.stop();
        }
    }

    fn take_embedded(&self) -> Option<Embedded> {
        self.embedded.lock().ok().and_then(|mut e| e.take())
    }

    async fn stop_embedded(&self) {
        if let Some(e) = self.take_embedded() {
            let _ = tokio::task::spawn_blocking(move || e.stop()).await;
        }
    }

    async fn embed_again(&self) -> Result<(), ApiError> {
        let (c, e) = embed(&self.cfg).await?;
        if let Ok(mut slot) = self.embedded.lock() {
            *slot = Some(e);
        }
        self.set_current(c);
        Ok(())
    }

    /// The headless service: where it is, and install/start/stop/uninstall. Starting it hands the
    /// app over from its embedded manager to the service's (the embedded one stops first: one
    /// manager per user); stopping the service the app is connected to starts the embedded one
    /// again. Tasks survive either way: both use the same database, and running tasks are resumed
    /// per `tasks.on_manager_restart`.
    pub async fn service(&self, action: ServiceAction) -> Result<ServiceStatus, ApiError> {
        let svc = UserService::new(&self.cfg.service)?;
        let _one = self.switching.lock().await;
        let (_, socket, discovery) = self.cfg.runtime_paths();
        match action {
            ServiceAction::Status => Ok(svc.status().await),
            ServiceAction::Install => {
                let (file_cfg, explicit) = file_config()?;
                Ok(svc.install_manager(&file_cfg, explicit.as_deref()).await?)
            }
            ServiceAction::Start => {
                let before = svc.status().await;
                if before.state == ServiceState::Running {
                    return Ok(before);
                }
                if self.mode() == Mode::Connected {
                    let pid = Discovery::read(&discovery).map(|d| d.pid).unwrap_or(0);
                    return Err(ApiError::new(
                        Code::FailedPrecondition,
                        format!(
                            "another manager (pid {pid}) already serves {}; the service cannot \
                             start beside it",
                            socket.display()
                        ),
                    ));
                }
                self.stop_embedded().await;
                let failed = match svc.start(&socket).await {
                    Ok(status) => match connect_running(&self.cfg).await {
                        Ok(Some(current)) => {
                            self.set_current(current);
                            return Ok(status);
                        }
                        Ok(None) => ApiError::new(
                            Code::Unavailable,
                            "the service started but does not answer",
                        ),
                        Err(e) => e,
                    },
                    Err(e) => e.into(),
                };
                // The app keeps working: back to its own manager.
                self.embed_again().await?;
                Err(failed)
            }
            ServiceAction::Stop | ServiceAction::Uninstall => {
                let before = svc.status().await;
                let ours = self.mode() == Mode::Connected
                    && before.pid.is_some()
                    && Discovery::read(&discovery).map(|d| d.pid).ok() == before.pid;
                let result = if action == ServiceAction::Stop {
                    svc.stop().await
                } else {
                    svc.uninstall().await
                };
                let status = result?;
                if ours {
                    self.embed_again().await?;
                }
                Ok(status)
            }
        }
    }
}

/// The manager the discovery file names, when it answers.
async fn connect_running(cfg: &Config) -> Result<Option<Current>, ApiError> {
    let paths = cfg.resolve()?;
    if let Ok(d) = Discovery::read(&paths.discovery) {
        if let Ok(ch) = hyperagent_server::transport::connect_unix(&d.socket).await {
            tracing::info!(socket = %d.socket.display(), pid = d.pid, "using the running manager");
            return Ok(Some(Current {
                mode: Mode::Connected,
                socket: d.socket,
                client: client(ch, cfg),
            }));
        }
    }
    Ok(None)
}

/// Starts a manager inside the app, on a runtime of its own in a background thread.
async fn embed(cfg: &Config) -> Result<(Current, Embedded), ApiError> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<PathBuf, ApiError>>();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let run_cfg = cfg.clone();
    let thread = std::thread::Builder::new()
        .name("hyperagent-manager".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("hyperagent-manager")
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(ApiError::new(
                        Code::Internal,
                        format!("cannot start the manager's runtime: {e}"),
                    )));
                    return;
                }
            };
            let ready_tx = Mutex::new(Some(ready_tx));
            let result = rt.block_on(hyperagent_server::server::run(
                run_cfg,
                async {
                    let _ = stop_rx.await;
                },
                |ready, _| {
                    if let Some(tx) = ready_tx.lock().ok().and_then(|mut t| t.take()) {
                        let _ = tx.send(Ok(ready.socket.clone()));
                    }
                },
            ));
            if let Err(e) = result {
                tracing::error!(error = %e, "the embedded manager stopped");
                if let Some(tx) = ready_tx.lock().ok().and_then(|mut t| t.take()) {
                    let _ = tx.send(Err(e.into()));
                }
            }
        })
        .map_err(|e| {
            ApiError::new(
                Code::Internal,
                format!("cannot start the manager's thread: {e}"),
            )
        })?;
    let socket = ready_rx.await.map_err(|_| {
        ApiError::new(
            Code::Unavailable,
            "the embedded manager stopped before it was ready",
        )
    })??;
    let ch = hyperagent_server::transport::connect_unix(&socket)
        .await
        .map_err(|e| {
            ApiError::new(
                Code::Unavailable,
                format!(
                    "connecting to the embedded manager at {}: {e}",
                    socket.display()
                ),
            )
        })?;
    tracing::info!(socket = %socket.display(), "embedded manager ready");
    Ok((
        Current {
            mode: Mode::Embedded,
            socket,
            client: client(ch, cfg),
        },
        Embedded { stop, thread },
    ))
}

fn client(ch: Channel, cfg: &Config) -> ClientServiceClient<Channel> {
    let max = cfg.server.max_message_bytes as usize;
    ClientServiceClient::new(ch)
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
}
