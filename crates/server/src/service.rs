//! The headless manager as a systemd user service: install (the unit file from
//! `installers/systemd/hyperagent.service`, filled in for this machine), detect, start, stop,
//! uninstall. `hyperagent service` and the desktop app's Settings both use this; neither talks to
//! systemd any other way. Everything goes through `systemctl --user` (no D-Bus client library: the
//! command is what a person would type, its errors are the ones they know, and it keeps the
//! dependency tree small).
use std::path::{Path, PathBuf};

use serde::Serialize;

use hyperagent_core::config;
use hyperagent_core::error::{Error, Result};

/// The unit file as shipped; `render_unit` fills in this machine's paths.
pub const UNIT_TEMPLATE: &str = include_str!("../../../installers/systemd/hyperagent.service");

/// Where the service is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// No systemd user manager answers (no systemd, or no user session): nothing can be installed.
    Unavailable,
    /// No unit file for it.
    NotInstalled,
    /// Installed, not running.
    Stopped,
    /// Starting, or stopping.
    Changing,
    /// Running.
    Running,
    /// It stopped with an error (see `journalctl --user -u <unit>`).
    Failed,
}

/// What `status` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    /// The state.
    pub state: ServiceState,
    /// The unit's name.
    pub unit: String,
    /// The unit file, when installed.
    pub unit_file: Option<PathBuf>,
    /// Starts with the person's session (`systemctl --user enable`).
    pub enabled: bool,
    /// The manager's pid, when running.
    pub pid: Option<u32>,
    /// In words, for a person: what the state means or why it is unavailable.
    pub detail: String,
}

/// `systemctl --user` for one unit.
#[derive(Clone, Debug)]
pub struct UserService {
    cfg: config::Service,
    unit_dir: PathBuf,
}

impl UserService {
    /// For the configured unit; its file lives in `$XDG_CONFIG_HOME/systemd/user` (where systemd
    /// looks for a person's own units).
    pub fn new(cfg: &config::Service) -> Result<UserService> {
        if cfg.unit.contains('/') || !cfg.unit.ends_with(".service") {
            return Err(Error::InvalidInput(format!(
                "service.unit `{}` must be a unit file name ending in .service, without a folder",
                cfg.unit
            )));
        }
        if cfg.systemctl.is_empty() {
            return Err(Error::InvalidInput(
                "service.systemctl is empty: it is the service manager's command, e.g. [\"systemctl\"]"
                    .into(),
            ));
        }
        let unit_dir = match &cfg.unit_dir {
            Some(d) => Ok(d.clone()),
            None => dirs::config_dir()
                .map(|d| d.join("systemd/user"))
                .ok_or_else(|| {
                    Error::FailedPrecondition(
                    "neither XDG_CONFIG_HOME nor HOME is set: no folder for the service's unit file"
                        .into(),
                    )
                }),
        }?;
        Ok(UserService {
            cfg: cfg.clone(),
            unit_dir,
        })
    }

    /// The unit file `install` writes.
    pub fn unit_file(&self) -> PathBuf {
        self.unit_dir.join(&self.cfg.unit)
    }

    /// Asks systemd where the service is.
    pub async fn status(&self) -> ServiceStatus {
        let props = match self
            .systemctl(&[
                "show",
                &self.cfg.unit,
                "--property=LoadState,ActiveState,UnitFileState,MainPID,FragmentPath",
            ])
            .await
        {
            Ok(out) => out,
            Err(e) => return self.unavailable(e.to_string()),
        };
        let get = |key: &str| {
            props
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .to_string()
        };
        let (load, active) = (get("LoadState"), get("ActiveState"));
        let enabled = get("UnitFileState") == "enabled";
        let pid = get("MainPID").parse::<u32>().ok().filter(|p| *p != 0);
        let fragment = Some(get("FragmentPath"))
            .filter(|f| !f.is_empty())
            .map(PathBuf::from);
        let (state, detail) = match (load.as_str(), active.as_str()) {
            ("not-found", _) | ("", _) => (
                ServiceState::NotInstalled,
                format!(
                    "not installed: `hyperagent service install` writes {}",
                    self.unit_file().display()
                ),
            ),
            (_, "active") | (_, "reloading") => {
                (ServiceState::Running, "running in the background".into())
            }
            (_, "activating") | (_, "deactivating") => {
                (ServiceState::Changing, format!("{active}…"))
            }
            (_, "failed") => (
                ServiceState::Failed,
                format!(
                    "stopped with an error; see `journalctl --user -u {}`",
                    self.cfg.unit
                ),
            ),
            (loaded, _) if loaded != "loaded" => (
                ServiceState::Failed,
                format!("systemd cannot load the unit file ({loaded})"),
            ),
            _ => (ServiceState::Stopped, "installed, not running".into()),
        };
        ServiceStatus {
            state,
            unit: self.cfg.unit.clone(),
            unit_file: fragment,
            enabled,
            pid,
            detail,
        }
    }

    /// Installs the service that runs this installation's `hyperagent serve` with `cfg` (read from
    /// `config_file` when one was named: the service reads it again at each start) and the
    /// caller's `PATH` (agents find their interpreters on it): the one install sequence of the
    /// CLI and the desktop app. Does not start it.
    pub async fn install_manager(
        &self,
        cfg: &config::Config,
        config_file: Option<&Path>,
    ) -> Result<ServiceStatus> {
        let exe = manager_binary()?;
        let args = serve_args(cfg, config_file);
        let path = std::env::var("PATH").ok();
        self.install(&render_unit(&exe, &args, path.as_deref()))
            .await
    }

    /// Writes the unit file (replacing an earlier one), makes systemd read it and enables it, so
    /// the manager starts with the person's session. Does not start it.
    pub async fn install(&self, unit_text: &str) -> Result<ServiceStatus> {
        std::fs::create_dir_all(&self.unit_dir)
            .map_err(|e| Error::io(format!("creating {}", self.unit_dir.display()), e))?;
        let path = self.unit_file();
        let tmp = path.with_extension("service.tmp");
        std::fs::write(&tmp, unit_text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        self.systemctl(&["daemon-reload"]).await?;
        self.systemctl(&["enable", &self.cfg.unit]).await?;
        Ok(self.status().await)
    }

    /// Stops and disables the service and removes the unit file `install` wrote.
    pub async fn uninstall(&self) -> Result<ServiceStatus> {
        let path = self.unit_file();
        if !path.exists() {
            return Err(Error::FailedPrecondition(format!(
                "the service is not installed by this user: {} does not exist",
                path.display()
            )));
        }
        self.systemctl(&["disable", "--now", &self.cfg.unit])
            .await?;
        std::fs::remove_file(&path)
            .map_err(|e| Error::io(format!("removing {}", path.display()), e))?;
        self.systemctl(&["daemon-reload"]).await?;
        Ok(self.status().await)
    }

    /// Starts the service and waits until its manager answers on `socket`.
    pub async fn start(&self, socket: &Path) -> Result<ServiceStatus> {
        let before = self.status().await;
        match before.state {
            ServiceState::Unavailable | ServiceState::NotInstalled => {
                return Err(Error::FailedPrecondition(before.detail))
            }
            _ => {}
        }
        self.systemctl(&["start", &self.cfg.unit]).await?;
        let deadline = tokio::time::Instant::now() + self.cfg.ready_timeout;
        loop {
            if crate::transport::connect_unix(socket).await.is_ok() {
                return Ok(self.status().await);
            }
            let now = self.status().await;
            if matches!(now.state, ServiceState::Failed | ServiceState::Stopped) {
                return Err(Error::FailedPrecondition(format!(
                    "the service stopped while starting: {}",
                    now.detail
                )));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::FailedPrecondition(format!(
                    "the service started but its manager did not answer on {} within {} \
                     (service.ready_timeout); see `journalctl --user -u {}`",
                    socket.display(),
                    humantime::format_duration(self.cfg.ready_timeout),
                    self.cfg.unit
                )));
            }
            tokio::time::sleep(self.cfg.ready_poll).await;
        }
    }

    /// Stops the service; returns once systemd says it has stopped (its manager flushed everything
    /// and its agents are gone).
    pub async fn stop(&self) -> Result<ServiceStatus> {
        self.systemctl(&["stop", &self.cfg.unit]).await?;
        Ok(self.status().await)
    }

    fn unavailable(&self, why: String) -> ServiceStatus {
        ServiceStatus {
            state: ServiceState::Unavailable,
            unit: self.cfg.unit.clone(),
            unit_file: None,
            enabled: false,
            pid: None,
            detail: why,
        }
    }

    /// Runs `systemctl --user ARGS`; its stdout, or an error with its stderr.
    async fn systemctl(&self, args: &[&str]) -> Result<String> {
        let program = &self.cfg.systemctl[0];
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(&self.cfg.systemctl[1..])
            .arg("--user")
            .args(args)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let shown = format!("{} --user {}", self.cfg.systemctl.join(" "), args.join(" "));
        let out = tokio::time::timeout(self.cfg.command_timeout, cmd.output())
            .await
            .map_err(|_| {
                Error::FailedPrecondition(format!(
                    "`{shown}` did not finish within {} (service.command_timeout)",
                    humantime::format_duration(self.cfg.command_timeout)
                ))
            })?
            .map_err(|e| {
                Error::FailedPrecondition(format!(
                    "cannot run `{program}` (service.systemctl): {e}; the service needs systemd"
                ))
            })?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(Error::FailedPrecondition(format!(
                "`{shown}` failed: {}",
                err.trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// What the service runs: `serve --web`, with `--config` when a config file was named
/// explicitly, and the bundled agents and templates when the config names none (as the desktop app
/// and `scripts/run.sh` use them).
pub fn serve_args(cfg: &config::Config, config_file: Option<&Path>) -> Vec<String> {
    let mut args = vec!["serve".to_string(), "--web".to_string()];
    if let Some(f) = config_file {
        let f = std::path::absolute(f).unwrap_or_else(|_| f.to_path_buf());
        args.extend(["--config".to_string(), f.display().to_string()]);
    }
    if cfg.supervisor.agent_dirs.is_empty() {
        if let Some(d) = crate::process::bundled("agents", "agents") {
            args.extend(["--agents-dir".to_string(), d.display().to_string()]);
        }
    }
    if cfg.templates.dirs.is_empty() {
        if let Some(d) = crate::process::bundled("templates", "templates") {
            args.extend(["--templates-dir".to_string(), d.display().to_string()]);
        }
    }
    args
}

/// The `hyperagent` binary the service runs: this program when it is that binary, else the one
/// beside it (the desktop app is installed next to it), else the one on PATH.
pub fn manager_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::io("finding this program", e))?;
    if exe.file_name().is_some_and(|n| n == "hyperagent") {
        return Ok(exe);
    }
    let beside = exe.with_file_name("hyperagent");
    if beside.is_file() {
        return Ok(beside);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("hyperagent"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::FailedPrecondition(format!(
                "the service runs the `hyperagent` binary, but it is neither beside {} nor on PATH",
                exe.display()
            ))
        })
}

/// The unit file for this machine: `UNIT_TEMPLATE` with `ExecStart` running `exe` with `args`,
/// and `PATH` as given (the service then finds what the installing shell found: python3, uv).
pub fn render_unit(exe: &Path, args: &[String], path_env: Option<&str>) -> String {
    let exec = std::iter::once(exe.display().to_string())
        .chain(args.iter().cloned())
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = String::with_capacity(UNIT_TEMPLATE.len() + exec.len());
    for line in UNIT_TEMPLATE.lines() {
        if line.starts_with("ExecStart=") {
            out.push_str(&format!("ExecStart={exec}\n"));
            if let Some(p) = path_env {
                out.push_str(&format!("Environment={}\n", quote(&format!("PATH={p}"))));
            }
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One word of a unit file's command line or assignment: quoted, with `\`, `"`, `%` (specifiers)
/// and `$` (variable expansion) escaped, so a path with spaces or these characters stays one word.
fn quote(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendered_unit_runs_the_given_binary_with_its_words_kept_whole() {
        let unit = render_unit(
            Path::new("/opt/my apps/hyperagent"),
            &[
                "serve".into(),
                "--web".into(),
                "--agents-dir".into(),
                "/x/100%$HOME".into(),
            ],
            Some("/venv/bin:/usr/bin"),
        );
        assert!(
            unit.contains(
                "ExecStart=\"/opt/my apps/hyperagent\" \"serve\" \"--web\" \"--agents-dir\" \"/x/100%%$$HOME\"\n"
            ),
            "{unit}"
        );
        assert!(
            unit.contains("Environment=\"PATH=/venv/bin:/usr/bin\"\n"),
            "{unit}"
        );
        assert_eq!(unit.matches("ExecStart=").count(), 1);
        assert!(unit.contains("[Install]\nWantedBy=default.target"));
    }

    #[test]
    fn a_unit_name_with_a_folder_is_refused() {
        let cfg = config::Service {
            unit: "../evil.service".into(),
            ..Default::default()
        };
        let e = UserService::new(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("must be a unit file name ending in .service"),
            "{e}"
        );
    }
}
