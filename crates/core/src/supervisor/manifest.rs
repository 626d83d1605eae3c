//! Agent manifests (`<agent_dir>/<name>/agent.toml`): read and checked, found in the agent
//! folders, and what follows from one: the program to run and what every process of the agent may
//! read (its code, its Python environment, the extras its manifest may name inside its folder).
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config;
use crate::error::{Error, Result};

/// When a stopped agent process is started again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// After every exit.
    Always,
    /// After an exit with a non-zero status or a signal.
    #[default]
    OnFailure,
    /// Never.
    Never,
}

/// `[restart]` of a manifest.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartSection {
    /// The policy.
    #[serde(default)]
    pub policy: Restart,
}

/// `[sandbox]` of a manifest: what the agent needs beyond the defaults.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSandbox {
    /// Extra read-only paths (relative ones are relative to the manifest's folder).
    #[serde(default)]
    pub read: Vec<PathBuf>,
}

/// `[limits]` of a manifest: what one of the agent's task processes may use, when the agent needs
/// less than the config gives every task (`sandbox.task_memory_bytes`, `sandbox.task_cpu_percent`).
/// They only tighten: a manifest never raises a limit the person configured. `nice` lowers the
/// priority of the agent's processes (0 to 19), so background work yields to the person's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestLimits {
    /// Memory of one task process and all it starts, in bytes (its cgroup); 0: the config's.
    #[serde(default)]
    pub memory_bytes: u64,
    /// CPU of one task process, in percent of one core (its cgroup); 0: the config's.
    #[serde(default)]
    pub cpu_percent: u32,
    /// Scheduling niceness of the agent's processes, 0 (normal) to 19 (lowest).
    #[serde(default)]
    pub nice: u8,
}

/// Highest niceness (lowest priority) Linux has.
const MAX_NICE: u8 = 19;

impl ManifestLimits {
    /// The config's per-task limits, tightened by these.
    pub fn tighten(&self, config: crate::cgroup::Limits) -> crate::cgroup::Limits {
        fn lower<T: Ord + Default + Copy>(configured: T, asked: T) -> T {
            match (configured == T::default(), asked == T::default()) {
                (_, true) => configured,
                (true, false) => asked,
                (false, false) => configured.min(asked),
            }
        }
        crate::cgroup::Limits {
            memory_bytes: lower(config.memory_bytes, self.memory_bytes),
            cpu_percent: lower(config.cpu_percent, self.cpu_percent),
            max_processes: config.max_processes,
        }
    }
}

/// An agent manifest (`agent.toml`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The agent's name (its id once registered).
    pub name: String,
    /// What it does.
    #[serde(default)]
    pub description: String,
    /// Program and arguments; a program with a `/` is relative to the manifest's folder.
    pub command: Vec<String>,
    /// Task types it declares (it registers their schemas itself).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Restart policy.
    #[serde(default)]
    pub restart: RestartSection,
    /// Extra environment.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Extra confinement settings.
    #[serde(default)]
    pub sandbox: ManifestSandbox,
    /// Secrets its tasks may ask for (each still needs the person's consent).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Tighter resource limits for its task processes, and its priority.
    #[serde(default)]
    pub limits: ManifestLimits,
    /// The folder it was read from (set by the loader).
    #[serde(skip)]
    pub dir: PathBuf,
}

impl Manifest {
    /// Reads and checks one manifest.
    pub fn load(path: &Path) -> Result<Manifest> {
        let err = |message: String| Error::Manifest {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut m: Manifest =
            toml::from_str(&text).map_err(|e| err(e.to_string().trim_end().to_string()))?;
        if m.command.is_empty() || m.command[0].is_empty() {
            return Err(err(
                "`command` must name a program, e.g. command = [\"python3\", \"-m\", \"my_agent\"]"
                    .into(),
            ));
        }
        if m.name.is_empty() {
            return Err(err("`name` must not be empty".into()));
        }
        if m.limits.nice > MAX_NICE {
            return Err(err(format!(
                "[limits] nice = {}: it must be 0 (normal priority) to {MAX_NICE} (lowest)",
                m.limits.nice
            )));
        }
        m.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for extra in &m.sandbox.read {
            check_manifest_read(&m.dir, extra).map_err(|why| {
                err(format!(
                    "[sandbox] read: `{}` {why}; a manifest may only name paths inside its agent's \
                     folder (relative, without `..`). To let agent `{}` read it, add a rule you \
                     can see and revoke: hyperagent policy allow --read {} --agent {}",
                    extra.display(),
                    m.name,
                    extra.display(),
                    m.name
                ))
            })?;
        }
        Ok(m)
    }

    /// Every manifest under `dirs` (`<dir>/*/agent.toml`), sorted by name, with the errors of those
    /// that could not be read.
    pub fn discover(dirs: &[PathBuf]) -> (Vec<Manifest>, Vec<Error>) {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        for d in dirs {
            let entries = match std::fs::read_dir(d) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(Error::io(
                        format!("reading agent folder {}", d.display()),
                        e,
                    ));
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("agent.toml"))
                .filter(|p| p.is_file())
                .collect();
            paths.sort();
            for p in paths {
                match Manifest::load(&p) {
                    Ok(m) => found.push(m),
                    Err(e) => errors.push(e),
                }
            }
        }
        found.sort_by(|a: &Manifest, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        (found, errors)
    }
}

/// Why a manifest's extra read path is not one it may grant itself: it must stay inside the
/// agent's folder, also once its links are followed (an agent's author writes the manifest; only
/// the person grants more).
fn check_manifest_read(dir: &Path, extra: &Path) -> std::result::Result<(), &'static str> {
    use std::path::Component;
    if extra.is_absolute() {
        return Err("is absolute");
    }
    if extra
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("climbs out with `..`");
    }
    match (dir.canonicalize(), dir.join(extra).canonicalize()) {
        (Ok(d), Ok(p)) if !p.starts_with(&d) => Err("is a link leading outside the agent's folder"),
        _ => Ok(()),
    }
}

/// The agent's program: a path with a `/` is relative to the manifest's folder, else it is
/// looked up in PATH.
pub(super) fn program(m: &Manifest) -> PathBuf {
    if m.command[0].contains('/') {
        m.dir.join(&m.command[0])
    } else {
        PathBuf::from(&m.command[0])
    }
}

/// What every process of an agent may read: the system paths, its code and the folder of agents
/// (for code they share, the SDK), its Python environment with the folders its `.pth` files name
/// (packages installed in development mode), and its manifest's extras. Worked out once per
/// agent: it reads files, and task processes start often.
pub(super) fn agent_read_paths(m: &Manifest, sandbox: &config::Sandbox) -> Vec<PathBuf> {
    let mut read = sandbox.read_paths.clone();
    read.push(m.dir.clone());
    read.extend(m.dir.parent().map(Path::to_path_buf));
    if let Some(venv) = virtualenv_of(&program(m)) {
        read.extend(venv_read_paths(m, venv));
    }
    // Checked at load: inside the agent's folder.
    read.extend(m.sandbox.read.iter().map(|p| m.dir.join(p)));
    read.extend(trust_store_paths(|k| std::env::var_os(k)));
    read
}

/// What of a Python environment an agent may read: the environment and the folders its `.pth`
/// files name. One an agent names itself (beneath the folder of agents, `./.venv/bin/python`, or
/// by path on its own script's `#!` line) is its author's
/// words, like a manifest: the environment and its `.pth` folders must be beneath the folder of
/// agents, links resolved; else they are left out (and said), as a manifest's own reads would
/// be refused. One the person set up (the Python on PATH, an installer's) is taken as it is.
fn venv_read_paths(m: &Manifest, venv: PathBuf) -> Vec<PathBuf> {
    let Some(agents) = m.dir.parent() else {
        return vec![venv];
    };
    // A `#!` line naming its interpreter by path is the author's choice; `#!/usr/bin/env
    // python3` is the person's Python on PATH.
    let prog = program(m);
    let named = prog.starts_with(&m.dir) && interpreter_of(&prog).is_some_and(|i| i.is_absolute());
    let authored = named || venv.starts_with(agents);
    if !authored {
        let mut read = pth_paths(&venv);
        read.push(venv);
        return read;
    }
    let real_agents = agents
        .canonicalize()
        .unwrap_or_else(|_| agents.to_path_buf());
    let beneath = |p: &Path| p.canonicalize().is_ok_and(|p| p.starts_with(&real_agents));
    if !beneath(&venv) {
        tracing::warn!(agent = %m.name, venv = %venv.display(),
            "the agent's own Python environment is outside the folder of agents: not readable");
        return Vec::new();
    }
    let mut read: Vec<PathBuf> = Vec::new();
    for p in pth_paths(&venv) {
        if beneath(&p) {
            read.push(p);
        } else {
            tracing::warn!(agent = %m.name, path = %p.display(),
                "a .pth file of the agent's own Python environment names a folder outside the folder of agents: not readable");
        }
    }
    read.push(venv);
    read
}

/// The trust store the person's environment names (`SSL_CERT_FILE`, `SSL_CERT_DIR`; the latter
/// may list several folders, `:`-separated, as OpenSSL reads it), passed to agents with it:
/// readable, or it would be named and refused. Relative or empty entries mean nothing here.
fn trust_store_paths(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<PathBuf> {
    let file = var("SSL_CERT_FILE").map(PathBuf::from);
    let dirs = var("SSL_CERT_DIR")
        .map(|v| std::env::split_paths(&v).collect::<Vec<_>>())
        .unwrap_or_default();
    file.into_iter()
        .chain(dirs)
        .filter(|p| p.is_absolute())
        .collect()
}

/// `<venv>` when `program` (looked up in PATH when it has no `/`), or the interpreter its `#!`
/// line names, lives in `<venv>/bin` of a Python virtual environment, whose packages the agent
/// must be able to read.
fn virtualenv_of(program: &Path) -> Option<PathBuf> {
    let found = which(program)?;
    let venv = |p: &Path| {
        let root = p.parent()?.parent()?;
        root.join("pyvenv.cfg")
            .is_file()
            .then(|| root.to_path_buf())
    };
    venv(&found).or_else(|| venv(&which(&interpreter_of(&found)?)?))
}

/// The folders that a virtual environment's `.pth` files add to Python's path (where packages
/// installed in development mode live). Lines that run code (`import ...`) are not paths.
fn pth_paths(venv: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(libs) = std::fs::read_dir(venv.join("lib")) else {
        return out;
    };
    for lib in libs.flatten() {
        let Ok(files) = std::fs::read_dir(lib.path().join("site-packages")) else {
            continue;
        };
        for f in files.flatten() {
            if f.path().extension().is_none_or(|e| e != "pth") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(f.path()) else {
                continue;
            };
            out.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with('/'))
                    .map(PathBuf::from),
            );
        }
    }
    out
}

/// `program` itself when it has a `/`, else the first match in PATH.
pub(crate) fn which(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| executable(p))
    })
}

/// The interpreter of a script's `#!` line (`#!/usr/bin/env python3` gives `python3`).
fn interpreter_of(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?.lines().next()?;
    let mut words = line.strip_prefix("#!")?.split_whitespace();
    let first = words.next()?;
    let interp = if first.ends_with("/env") {
        words.find(|w| !w.starts_with('-'))?
    } else {
        first
    };
    Some(PathBuf::from(interp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_with_read(dir: &Path, read: &str) -> Result<Manifest> {
        let path = dir.join("agent.toml");
        std::fs::write(
            &path,
            format!("name = \"greedy\"\ncommand = [\"./a.py\"]\n[sandbox]\nread = [{read:?}]\n"),
        )
        .unwrap();
        Manifest::load(&path)
    }

    #[test]
    fn the_trust_store_the_person_names_is_readable_and_nothing_else_is_added() {
        let env = |file: Option<&str>, dir: Option<&str>| {
            let (file, dir) = (file.map(String::from), dir.map(String::from));
            trust_store_paths(move |k| match k {
                "SSL_CERT_FILE" => file.clone().map(Into::into),
                "SSL_CERT_DIR" => dir.clone().map(Into::into),
                _ => None,
            })
        };
        assert!(env(None, None).is_empty());
        assert_eq!(
            env(
                Some("/corp/ca.pem"),
                Some("/corp/certs:relative::/etc/more")
            ),
            [
                PathBuf::from("/corp/ca.pem"),
                PathBuf::from("/corp/certs"),
                PathBuf::from("/etc/more")
            ]
        );
        assert!(env(Some("ca.pem"), Some("")).is_empty());
    }

    #[test]
    fn an_environment_an_agent_ships_cannot_make_it_read_outside_the_folder_of_agents() {
        let agents = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let sdk = agents.path().join("sdk");
        std::fs::create_dir(&sdk).unwrap();
        // A real environment elsewhere (the person's), and the agent's own.
        let make_venv = |root: &Path, pth: &str| {
            let site = root.join("lib/python3.11/site-packages");
            std::fs::create_dir_all(&site).unwrap();
            std::fs::create_dir_all(root.join("bin")).unwrap();
            std::fs::write(root.join("bin/python"), "").unwrap();
            std::fs::write(root.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
            std::fs::write(site.join("x.pth"), pth).unwrap();
        };
        let dir = agents.path().join("greedy");
        make_venv(
            &dir.join(".venv"),
            &format!("/etc\n{}\nimport os\n", sdk.display()),
        );
        let m = manifest_with_command(&dir, "./.venv/bin/python");
        let read = agent_read_paths(&m, &config::Sandbox::default());
        assert!(read.contains(&sdk), "{read:?}");
        assert!(read.contains(&dir.join(".venv")));
        assert!(!read.contains(&PathBuf::from("/etc")), "{read:?}");
        // Its environment a link to one elsewhere: none of it.
        let linked = agents.path().join("linked");
        std::fs::create_dir(&linked).unwrap();
        make_venv(
            &outside.path().join("venv"),
            &format!("{}\n", outside.path().display()),
        );
        std::os::unix::fs::symlink(outside.path().join("venv"), linked.join(".venv")).unwrap();
        let m = manifest_with_command(&linked, "./.venv/bin/python");
        let read = agent_read_paths(&m, &config::Sandbox::default());
        assert!(
            !read
                .iter()
                .any(|p| p.starts_with(outside.path()) || p.ends_with(".venv")),
            "{read:?}"
        );
        // Its own script naming an environment elsewhere on its `#!` line: none of that either.
        let script = agents.path().join("shebang");
        std::fs::create_dir(&script).unwrap();
        let python = outside.path().join("venv/bin/python");
        std::fs::write(script.join("run"), format!("#!{}\n", python.display())).unwrap();
        let m = manifest_with_command(&script, "./run");
        let read = agent_read_paths(&m, &config::Sandbox::default());
        assert!(
            !read.iter().any(|p| p.starts_with(outside.path())),
            "{read:?}"
        );
    }

    fn manifest_with_command(dir: &Path, command: &str) -> Manifest {
        let path = dir.join("agent.toml");
        std::fs::write(
            &path,
            format!("name = \"greedy\"\ncommand = [{command:?}]\n"),
        )
        .unwrap();
        Manifest::load(&path).unwrap()
    }

    #[test]
    fn a_manifest_cannot_grant_itself_reads_outside_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("models")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("etc-link")).unwrap();
        assert!(manifest_with_read(dir.path(), "models").is_ok());
        for (read, why) in [
            ("/root/.ssh", "is absolute"),
            ("../other", "climbs out with `..`"),
            ("etc-link", "is a link leading outside"),
        ] {
            let e = manifest_with_read(dir.path(), read)
                .unwrap_err()
                .to_string();
            assert!(e.contains(why), "{read}: {e}");
            assert!(e.contains("policy allow --read"), "{e}");
            assert!(e.contains("agent.toml"), "names the file: {e}");
        }
    }

    #[test]
    fn a_manifests_limits_only_tighten_the_configs_and_nice_stays_in_linux_range() {
        use crate::cgroup::Limits;
        let config = Limits {
            memory_bytes: 256,
            cpu_percent: 100,
            max_processes: 96,
        };
        let asked = |memory_bytes, cpu_percent| ManifestLimits {
            memory_bytes,
            cpu_percent,
            nice: 0,
        };
        assert_eq!(
            asked(64, 50).tighten(config),
            Limits {
                memory_bytes: 64,
                cpu_percent: 50,
                ..config
            }
        );
        assert_eq!(asked(1024, 400).tighten(config), config, "never loosened");
        assert_eq!(asked(0, 0).tighten(config), config);
        let unlimited = Limits {
            memory_bytes: 0,
            cpu_percent: 0,
            max_processes: 0,
        };
        assert_eq!(asked(64, 0).tighten(unlimited).memory_bytes, 64);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.toml");
        std::fs::write(
            &path,
            "name = \"n\"\ncommand = [\"x\"]\n[limits]\nnice = 25\n",
        )
        .unwrap();
        let e = Manifest::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("nice = 25") && e.contains("0 (normal priority) to 19"),
            "{e}"
        );
        std::fs::write(
            &path,
            "name = \"n\"\ncommand = [\"x\"]\n[limits]\nnice = 19\nmemory_bytes = 1\n",
        )
        .unwrap();
        assert_eq!(Manifest::load(&path).unwrap().limits.nice, 19);
    }
}
