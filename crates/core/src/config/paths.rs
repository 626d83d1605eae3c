//! Where things are once the defaults of unset paths are applied: the data and runtime
//! folders, the socket, discovery file, database, audit head and template folders, and where a
//! client looks for the manager.
use std::path::{Path, PathBuf};

use super::Config;
use crate::error::{Error, Result};

/// Paths after defaults were applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPaths {
    /// Database and workspaces.
    pub data_dir: PathBuf,
    /// Socket, lock, discovery file.
    pub runtime_dir: PathBuf,
    /// Root of task workspaces.
    pub workspace_root: PathBuf,
    /// The Unix socket.
    pub socket: PathBuf,
    /// The discovery file.
    pub discovery: PathBuf,
    /// The egress proxy's socket.
    pub egress_socket: PathBuf,
    /// The database file.
    pub database: PathBuf,
    /// The audit chain's head (last entry id and hash), kept outside the database.
    pub audit_head: PathBuf,
    /// The web UI's access token, kept across restarts so open tabs stay signed in.
    pub web_token: PathBuf,
    /// The person's own template folder, `<data_dir>/templates` (absolute).
    pub templates: PathBuf,
    /// The template folders, in search order: `templates`, then `templates.dirs` (made absolute
    /// against the current directory, duplicates dropped).
    pub template_dirs: Vec<PathBuf>,
}

/// `$XDG_RUNTIME_DIR/hyperagent`, or `/tmp/hyperagent-<uid>` when unset: where the socket and
/// discovery file live by default. Clients look here too.
pub fn default_runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("hyperagent"),
        // SAFETY: getuid cannot fail.
        None => PathBuf::from(format!("/tmp/hyperagent-{}", unsafe { libc::getuid() })),
    }
}

/// The default config file: `$XDG_CONFIG_HOME/hyperagent/config.toml`.
pub fn default_config_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("hyperagent").join("config.toml"))
}

impl Config {
    /// Applies the defaults of unset paths.
    pub fn resolve(&self) -> Result<ResolvedPaths> {
        let data_dir = match &self.paths.data_dir {
            Some(d) => d.clone(),
            None => dirs::data_dir()
                .ok_or_else(|| Error::Config {
                    path: "paths.data_dir".into(),
                    message: "no XDG data directory (HOME unset?); set paths.data_dir".into(),
                })?
                .join("hyperagent"),
        };
        let (runtime_dir, socket, discovery) = self.runtime_paths();
        let workspace_root = self
            .paths
            .workspace_root
            .clone()
            .unwrap_or_else(|| data_dir.join("workspaces"));
        let absolute = |d: &Path| {
            std::path::absolute(d).map_err(|e| Error::Config {
                path: "templates.dirs".into(),
                message: format!("{}: {e}", d.display()),
            })
        };
        let templates = absolute(&data_dir.join("templates"))?;
        let mut template_dirs = vec![templates.clone()];
        for d in &self.templates.dirs {
            let d = absolute(d)?;
            if !template_dirs.contains(&d) {
                template_dirs.push(d);
            }
        }
        Ok(ResolvedPaths {
            templates,
            template_dirs,
            egress_socket: runtime_dir.join("egress.sock"),
            discovery,
            database: data_dir.join("hyperagent.db"),
            audit_head: data_dir.join("audit-head"),
            web_token: data_dir.join("web-token"),
            data_dir,
            runtime_dir,
            workspace_root,
            socket,
        })
    }

    /// The runtime dir, the socket and the discovery file: what a client needs to find the
    /// manager. Unlike [`Config::resolve`], this needs no data directory, so it cannot fail.
    pub fn runtime_paths(&self) -> (PathBuf, PathBuf, PathBuf) {
        let runtime_dir = self
            .paths
            .runtime_dir
            .clone()
            .unwrap_or_else(default_runtime_dir);
        let socket = self
            .server
            .socket
            .clone()
            .unwrap_or_else(|| runtime_dir.join("manager.sock"));
        let discovery = runtime_dir.join("manager.json");
        (runtime_dir, socket, discovery)
    }
}
