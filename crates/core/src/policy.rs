//! Permission rules and what they grant. Pure: no I/O, no clock.
//!
//! A rule allows or denies one permission (read or write beneath a path, connect to a host and
//! port) to one agent or to every agent. A task process is confined to its workspace plus what the
//! rules in force grant its agent ([`grants`]). **Deny wins**: Landlock cannot carve an exception
//! out of an allowed folder, so an allow rule whose path contains, or lies beneath, a denied path
//! grants nothing at all.
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::workspace::overlaps;

/// The longest description of code a `run` request may name (every command of a template's
/// `_tasks` is in it).
const MAX_RUN_TARGET: usize = 4096;

/// What a rule is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "target", rename_all = "snake_case")]
pub enum Permission {
    /// Read (and execute) beneath a path.
    Read(PathBuf),
    /// Read and write beneath a path.
    Write(PathBuf),
    /// Open connections to a host and port (through the egress proxy).
    Connect {
        /// Host name or address, lower-case.
        host: String,
        /// Port.
        port: u16,
    },
    /// Open a path in the editor (outside a workspace).
    Open(PathBuf),
    /// Receive a secret from the keychain, by name.
    Secret(String),
    /// A destructive action (overwrite or delete of what existed before the task), described.
    Destructive(String),
    /// Run code that did not come with the agent (a template's Jinja extensions or its
    /// `_tasks`), named exactly: it runs inside the task's confinement, and only once allowed.
    Run(String),
}

impl Permission {
    /// The kind as the API and CLI name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Permission::Read(_) => "read",
            Permission::Write(_) => "write",
            Permission::Connect { .. } => "connect",
            Permission::Open(_) => "open",
            Permission::Secret(_) => "secret",
            Permission::Destructive(_) => "destructive",
            Permission::Run(_) => "run",
        }
    }

    /// The target as the API and CLI show it.
    pub fn target(&self) -> String {
        match self {
            Permission::Read(p) | Permission::Write(p) | Permission::Open(p) => {
                p.display().to_string()
            }
            Permission::Connect { host, port } => format!("{host}:{port}"),
            Permission::Secret(s) | Permission::Destructive(s) | Permission::Run(s) => s.clone(),
        }
    }

    /// Having `self` includes having `asked` (a folder covers what is beneath it; write
    /// includes read).
    pub fn covers(&self, asked: &Permission) -> bool {
        use Permission::*;
        match (self, asked) {
            (Read(g), Read(a)) | (Write(g), Read(a) | Write(a)) | (Open(g), Open(a)) => {
                a.starts_with(g)
            }
            (Connect { .. }, Connect { .. })
            | (Secret(_), Secret(_))
            | (Destructive(_), Destructive(_))
            | (Run(_), Run(_)) => self == asked,
            _ => false,
        }
    }

    /// A deny of `self` refuses `asked`: like [`Permission::covers`], but a denied path also
    /// refuses any folder that holds it (deny wins).
    fn refuses(&self, asked: &Permission) -> bool {
        use Permission::*;
        match (self, asked) {
            (Read(d) | Write(d), Read(a) | Write(a)) | (Open(d), Open(a)) => overlaps(a, d),
            _ => self.covers(asked),
        }
    }
}

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Grant it.
    Allow,
    /// Refuse it (wins over any allow).
    Deny,
}

/// One persisted rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Its id.
    pub id: String,
    /// When it was made (µs).
    pub created_us: i64,
    /// The agent it applies to; `None`: every agent.
    pub agent: Option<String>,
    /// The permission.
    pub permission: Permission,
    /// Allow or deny.
    pub decision: Decision,
    /// Who made it (e.g. "cli", or the consent request it answered).
    pub origin: String,
    /// When it was revoked (µs); a revoked rule grants and denies nothing.
    pub revoked_us: Option<i64>,
}

impl Rule {
    /// In force, and about `agent`.
    fn applies_to(&self, agent: &str) -> bool {
        self.revoked_us.is_none() && self.agent.as_deref().is_none_or(|a| a == agent)
    }
}

/// What the rules grant one agent's task process beyond its workspace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Grants {
    /// Readable beneath these.
    pub read: Vec<PathBuf>,
    /// Writable beneath these.
    pub write: Vec<PathBuf>,
    /// Reachable through the egress proxy.
    pub connect: Vec<(String, u16)>,
}

impl Grants {
    /// Nothing granted.
    pub fn is_empty(&self) -> bool {
        self.read.is_empty() && self.write.is_empty() && self.connect.is_empty()
    }
}

/// Checks and normalises a permission given as kind and target text.
pub fn parse(kind: &str, target: &str) -> Result<Permission> {
    match kind {
        "read" => Ok(Permission::Read(clean_path(target)?)),
        "write" => Ok(Permission::Write(clean_path(target)?)),
        "connect" => {
            let (host, port) = target.rsplit_once(':').ok_or_else(|| {
                Error::InvalidInput(format!(
                    "connect target `{target}` must be HOST:PORT, e.g. pypi.org:443"
                ))
            })?;
            let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "connect target `{target}`: port `{port}` must be a number from 1 to 65535"
                ))
            })?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
            if !ok {
                return Err(Error::InvalidInput(format!(
                    "connect target `{target}`: host `{host}` must be a host name or an IP address"
                )));
            }
            Ok(Permission::Connect {
                host: host.to_ascii_lowercase(),
                port,
            })
        }
        "open" => Ok(Permission::Open(clean_path(target)?)),
        "secret" => {
            let ok = !target.is_empty()
                && target.len() <= 128
                && target
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !ok {
                return Err(Error::InvalidInput(format!(
                    "secret name `{target}` must be 1-128 letters, digits, `_`, `-` or `.`"
                )));
            }
            Ok(Permission::Secret(target.to_string()))
        }
        "destructive" => {
            if target.trim().is_empty() || target.len() > 1024 {
                return Err(Error::InvalidInput(
                    "a destructive action needs a description of 1-1024 characters".into(),
                ));
            }
            Ok(Permission::Destructive(target.to_string()))
        }
        "run" => {
            if target.trim().is_empty() || target.len() > MAX_RUN_TARGET {
                return Err(Error::InvalidInput(format!(
                    "a run request needs a description of what runs, 1-{MAX_RUN_TARGET} characters"
                )));
            }
            Ok(Permission::Run(target.to_string()))
        }
        other => Err(Error::InvalidInput(format!(
            "permission kind `{other}` is not known; use read, write, connect, open, secret, destructive or run"
        ))),
    }
}

/// An absolute path without `.`/`..` parts or a trailing slash. Symlinks are not followed here:
/// Landlock applies to the file a path names when the rule is made, whatever the path was.
fn clean_path(target: &str) -> Result<PathBuf> {
    // Linux's own bound on a path (PATH_MAX): a longer one names nothing a program can open.
    const MAX_PATH_BYTES: usize = 4096;
    if target.len() > MAX_PATH_BYTES {
        return Err(Error::InvalidInput(format!(
            "a path of {} bytes; at most {MAX_PATH_BYTES} (the system's longest path)",
            target.len()
        )));
    }
    let p = Path::new(target);
    if !p.is_absolute() {
        return Err(Error::InvalidInput(format!(
            "path `{target}` must be absolute (start with /)"
        )));
    }
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(s) => out.push(s),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(Error::InvalidInput(format!(
                    "path `{target}` must not contain `..`; give the folder it means"
                )))
            }
        }
    }
    if out == Path::new("/") {
        return Err(Error::InvalidInput(
            "a rule for the whole file system (`/`) is not allowed; name a folder".into(),
        ));
    }
    Ok(out)
}

/// What the rules in force say of `asked` for `agent`, with the rule that decided: a deny
/// that refuses it wins; else an allow (or one of the task's own grants, `task_grants`) that
/// covers it; else `None`: the person must be asked.
pub fn decide<'a>(
    rules: &'a [Rule],
    task_grants: &[Permission],
    agent: &str,
    asked: &Permission,
) -> Option<(Decision, Option<&'a Rule>)> {
    let live = || rules.iter().filter(|r| r.applies_to(agent));
    if let Some(r) = live().find(|r| r.decision == Decision::Deny && r.permission.refuses(asked)) {
        return Some((Decision::Deny, Some(r)));
    }
    if let Some(r) = live().find(|r| r.decision == Decision::Allow && r.permission.covers(asked)) {
        return Some((Decision::Allow, Some(r)));
    }
    task_grants
        .iter()
        .any(|g| g.covers(asked))
        .then_some((Decision::Allow, None))
}

/// What the rules in force, plus the task's own grants, give `agent`'s task process; deny wins.
pub fn grants(rules: &[Rule], task_grants: &[Permission], agent: &str) -> Grants {
    let task_rules: Vec<Rule> = task_grants
        .iter()
        .map(|p| Rule {
            id: String::new(),
            created_us: 0,
            agent: None,
            permission: p.clone(),
            decision: Decision::Allow,
            origin: "task".into(),
            revoked_us: None,
        })
        .collect();
    let live: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.applies_to(agent))
        .chain(&task_rules)
        .collect();
    let denied_paths: Vec<&Path> = live
        .iter()
        .filter(|r| r.decision == Decision::Deny)
        .filter_map(|r| match &r.permission {
            Permission::Read(p) | Permission::Write(p) => Some(p.as_path()),
            _ => None,
        })
        .collect();
    let denied_hosts: Vec<(&str, u16)> = live
        .iter()
        .filter(|r| r.decision == Decision::Deny)
        .filter_map(|r| match &r.permission {
            Permission::Connect { host, port } => Some((host.as_str(), *port)),
            _ => None,
        })
        .collect();
    let mut g = Grants::default();
    for r in live.iter().filter(|r| r.decision == Decision::Allow) {
        match &r.permission {
            Permission::Read(p) | Permission::Write(p)
                if denied_paths.iter().any(|d| overlaps(p, d)) => {}
            Permission::Read(p) => g.read.push(p.clone()),
            Permission::Write(p) => g.write.push(p.clone()),
            Permission::Connect { host, port } => {
                if !denied_hosts.contains(&(host.as_str(), *port)) {
                    g.connect.push((host.clone(), *port));
                }
            }
            Permission::Open(_)
            | Permission::Secret(_)
            | Permission::Destructive(_)
            | Permission::Run(_) => {}
        }
    }
    for v in [&mut g.read, &mut g.write] {
        v.sort();
        v.dedup();
    }
    g.connect.sort();
    g.connect.dedup();
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(agent: Option<&str>, kind: &str, target: &str, decision: Decision) -> Rule {
        Rule {
            id: target.into(),
            created_us: 0,
            agent: agent.map(str::to_string),
            permission: parse(kind, target).unwrap(),
            decision,
            origin: "test".into(),
            revoked_us: None,
        }
    }

    #[test]
    fn paths_must_be_absolute_and_plain() {
        assert!(parse("read", "relative/x").is_err());
        let e = parse("write", "/home/a/../b").unwrap_err().to_string();
        assert!(e.contains("`..`"), "{e}");
        assert!(parse("read", "/").is_err());
        assert_eq!(
            parse("read", "/home/a/./b/").unwrap(),
            Permission::Read("/home/a/b".into())
        );
        assert!(parse("delete", "/x")
            .unwrap_err()
            .to_string()
            .contains("read, write, connect"));
    }

    #[test]
    fn connect_targets_are_host_and_port() {
        assert_eq!(
            parse("connect", "PyPI.org:443").unwrap(),
            Permission::Connect {
                host: "pypi.org".into(),
                port: 443
            }
        );
        assert!(parse("connect", "pypi.org").is_err());
        assert!(parse("connect", "pypi.org:0").is_err());
        assert!(parse("connect", "pypi.org:99999").is_err());
        assert!(parse("connect", "a b:80").is_err());
        assert!(parse("connect", "[::1]:8080").is_ok());
    }

    #[test]
    fn a_run_grant_covers_exactly_the_code_it_names_and_reaches_nothing() {
        let code = "the t template's Jinja extension ext.py:Shout (code sha256 0123456789abcdef)";
        let run = parse("run", code).unwrap();
        assert_eq!(run.kind(), "run");
        assert!(run.covers(&parse("run", code).unwrap()));
        // Changed code is other code; a path or a host is not code at all.
        assert!(!run.covers(&parse("run", &code.replace("0123", "9999")).unwrap()));
        assert!(!run.covers(&parse("read", "/tmp").unwrap()));
        let rules = vec![rule(None, "run", code, Decision::Allow)];
        let g = grants(&rules, &[], "bootstrapper");
        assert!(g.read.is_empty() && g.write.is_empty() && g.connect.is_empty());
        assert!(parse("run", " ").is_err());
        let long = "x".repeat(MAX_RUN_TARGET + 1);
        assert!(parse("run", &long)
            .unwrap_err()
            .to_string()
            .contains("1-4096"));
    }

    #[test]
    fn rules_apply_to_their_agent_or_to_all() {
        let rules = vec![
            rule(Some("a"), "read", "/data/a", Decision::Allow),
            rule(None, "write", "/data/shared", Decision::Allow),
            rule(Some("b"), "read", "/data/b", Decision::Allow),
        ];
        let g = grants(&rules, &[], "a");
        assert_eq!(g.read, vec![PathBuf::from("/data/a")]);
        assert_eq!(g.write, vec![PathBuf::from("/data/shared")]);
    }

    #[test]
    fn deny_wins_over_allow_on_any_overlap() {
        let rules = vec![
            rule(None, "read", "/home/u", Decision::Allow),
            rule(None, "read", "/home/u/.ssh", Decision::Deny),
            rule(None, "write", "/srv/out", Decision::Allow),
            rule(Some("a"), "connect", "pypi.org:443", Decision::Allow),
            rule(None, "connect", "pypi.org:443", Decision::Deny),
            rule(None, "connect", "github.com:443", Decision::Allow),
        ];
        let g = grants(&rules, &[], "a");
        assert!(
            g.read.is_empty(),
            "an allowed folder holding a denied one grants nothing"
        );
        assert_eq!(g.write, vec![PathBuf::from("/srv/out")]);
        assert_eq!(g.connect, vec![("github.com".to_string(), 443)]);
    }

    #[test]
    fn revoked_rules_do_nothing() {
        let mut r = rule(None, "read", "/x", Decision::Allow);
        r.revoked_us = Some(1);
        assert!(grants(&[r], &[], "a").is_empty());
    }

    #[test]
    fn decisions_deny_first_then_allow_then_ask() {
        let rules = vec![
            rule(None, "read", "/home/u", Decision::Allow),
            rule(Some("a"), "read", "/home/u/.ssh", Decision::Deny),
            rule(None, "connect", "pypi.org:443", Decision::Allow),
        ];
        let ask = |k: &str, t: &str| parse(k, t).unwrap();
        let d = |asked: &Permission, agent: &str| decide(&rules, &[], agent, asked).map(|x| x.0);
        assert_eq!(d(&ask("read", "/home/u/notes"), "a"), Some(Decision::Allow));
        assert_eq!(
            d(&ask("read", "/home/u/.ssh/id"), "a"),
            Some(Decision::Deny)
        );
        assert_eq!(
            d(&ask("read", "/home/u/.ssh/id"), "b"),
            Some(Decision::Allow)
        );
        assert_eq!(
            d(&ask("write", "/home/u/notes"), "a"),
            None,
            "read does not cover write"
        );
        assert_eq!(
            d(&ask("connect", "pypi.org:443"), "a"),
            Some(Decision::Allow)
        );
        assert_eq!(d(&ask("connect", "pypi.org:80"), "a"), None);
        let task = [ask("write", "/srv")];
        assert_eq!(
            decide(&rules, &task, "a", &ask("read", "/srv/x")).map(|x| x.0),
            Some(Decision::Allow)
        );
        assert_eq!(d(&ask("secret", "GITHUB_TOKEN"), "a"), None);
    }
}
