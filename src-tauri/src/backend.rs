//! The manager the app talks to: the one already running for this user (its discovery file names
//! a socket that answers, e.g. the headless service), else one embedded in the app, on a tokio
//! runtime of its own in a background thread. Either way the app is a client of the manager's
//! client API over its Unix socket, like the CLI: no business logic here.
use std::path::PathBuf;
use std::sync::Mutex;

use hyperagent_manager::config::{default_config_file, Config};
use hyperagent_manager::server::{bundled, Discovery};
use hyperagent_proto::v1::client_service_client::ClientServiceClient;
use tonic::transport::Channel;

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

/// The connection to the manager.
pub struct Backend {
    /// Embedded or connected.
    pub mode: Mode,
    /// The manager's socket.
    pub socket: PathBuf,
    client: ClientServiceClient<Channel>,
    embedded: Mutex<Option<Embedded>>,
}

/// The configuration the app runs with: `HYPERAGENT_CONFIG`, else the user's config file. When it
/// names no agents or templates, the bundled ones are used (`<prefix>/share/hyperagent/{agents,
/// templates}` beside the binary, or the source tree's when run from a checkout), as `serve` gets
/// them from `scripts/run.sh`.
pub fn load_config() -> Result<Config, String> {
    let explicit = std::env::var_os("HYPERAGENT_CONFIG").map(PathBuf::from);
    let cfg = match (&explicit, default_config_file()) {
        (Some(p), _) => Config::load(p, true),
        (None, Some(p)) => Config::load(&p, false),
        (None, None) => Ok(Config::default()),
    };
    let mut cfg = cfg.map_err(|e| e.to_string())?;
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
    pub async fn start(cfg: Config) -> Result<Backend, String> {
        let paths = cfg.resolve().map_err(|e| e.to_string())?;
        if let Ok(d) = Discovery::read(&paths.discovery) {
            if let Ok(ch) = hyperagent_manager::transport::connect_unix(&d.socket).await {
                tracing::info!(socket = %d.socket.display(), pid = d.pid, "using the running manager");
                return Ok(Backend {
                    mode: Mode::Connected,
                    socket: d.socket,
                    client: client(ch, &cfg),
                    embedded: Mutex::new(None),
                });
            }
        }
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<PathBuf, String>>();
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
                        let _ =
                            ready_tx.send(Err(format!("cannot start the manager's runtime: {e}")));
                        return;
                    }
                };
                let ready_tx = Mutex::new(Some(ready_tx));
                let result = rt.block_on(hyperagent_manager::server::run(
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
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            })
            .map_err(|e| format!("cannot start the manager's thread: {e}"))?;
        let socket = ready_rx
            .await
            .map_err(|_| "the embedded manager stopped before it was ready".to_string())??;
        let ch = hyperagent_manager::transport::connect_unix(&socket)
            .await
            .map_err(|e| {
                format!(
                    "connecting to the embedded manager at {}: {e}",
                    socket.display()
                )
            })?;
        tracing::info!(socket = %socket.display(), "embedded manager ready");
        Ok(Backend {
            mode: Mode::Embedded,
            socket,
            client: client(ch, &cfg),
            embedded: Mutex::new(Some(Embedded { stop, thread })),
        })
    }

    /// A client of the manager's client API (cheap to clone).
    pub fn client(&self) -> ClientServiceClient<Channel> {
        self.client.clone()
    }

    /// Stops the embedded manager (its agents and tasks processes with it) and waits until it has
    /// flushed everything; a connected manager is left running.
    pub fn stop(&self) {
        let embedded = self.embedded.lock().ok().and_then(|mut e| e.take());
        if let Some(e) = embedded {
            let _ = e.stop.send(());
            let _ = e.thread.join();
        }
    }
}

fn client(ch: Channel, cfg: &Config) -> ClientServiceClient<Channel> {
    let max = cfg.server.max_message_bytes as usize;
    ClientServiceClient::new(ch)
        .max_decoding_message_size(max)
        .max_encoding_message_size(max)
}
