//! The catalogue kept current: inotify watches (through `notify`) on the template folders, or on
//! the nearest existing parent of one that does not exist yet; after a burst of changes has been
//! quiet for `templates.debounce`, a rescan (on a blocking thread) of only what it touched.
use std::collections::{BTreeSet, HashMap};
use std::path::{Component, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::{mpsc, watch};

use super::Catalogue;

/// What a burst of file events touched: templates by name, whole folders (one appeared or went,
/// or a parent of one changed), or everything (the kernel dropped events).
#[derive(Debug, Default, PartialEq)]
struct Touched {
    names: BTreeSet<String>,
    folders: BTreeSet<PathBuf>,
    all: bool,
}

impl Touched {
    /// What one event touches among `dirs`. Events elsewhere (a watched parent holds other
    /// things, such as the database) touch nothing, and are dropped as they arrive.
    fn of(dirs: &[PathBuf], ev: notify::Result<notify::Event>) -> Touched {
        let mut t = Touched::default();
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                tracing::warn!(error = %e, "template folder watch error; rescanning them all");
                t.all = true;
                return t;
            }
        };
        t.all = ev.need_rescan();
        // Reading files (our own scans too) is not a change.
        if matches!(ev.kind, EventKind::Access(k) if k != AccessKind::Close(AccessMode::Write)) {
            return t;
        }
        for p in &ev.paths {
            for d in dirs {
                match p.strip_prefix(d).map(|r| r.components().next()) {
                    Ok(Some(Component::Normal(n))) => {
                        t.names.extend(n.to_str().map(str::to_string));
                    }
                    Ok(_) => {
                        t.folders.insert(d.clone());
                    }
                    // An event on a parent: the folder may have appeared or gone.
                    Err(_) if d.starts_with(p) => {
                        t.folders.insert(d.clone());
                    }
                    Err(_) => {}
                }
            }
        }
        t
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.folders.is_empty() && !self.all
    }

    fn merge(&mut self, other: Touched) {
        self.names.extend(other.names);
        self.folders.extend(other.folders);
        self.all |= other.all;
    }
}

/// Watches the catalogue's folders and rescans what changes touch.
pub struct Watcher {
    catalogue: Arc<Catalogue>,
    watches: Watches,
    events: mpsc::UnboundedReceiver<Touched>,
}

/// The inotify watches in place, by path.
struct Watches {
    notify: notify::RecommendedWatcher,
    current: HashMap<PathBuf, RecursiveMode>,
}

impl Watches {
    /// Watches each folder recursively, or its nearest existing parent (not recursively) while
    /// it does not exist. Watches of `renew` are set up again (the folder may be a new one).
    fn reconcile(&mut self, dirs: &[PathBuf], renew: &BTreeSet<PathBuf>) {
        let mut want: HashMap<PathBuf, RecursiveMode> = HashMap::new();
        for d in dirs {
            if d.is_dir() {
                want.insert(d.clone(), RecursiveMode::Recursive);
            } else if let Some(parent) = d.ancestors().skip(1).find(|a| a.is_dir()) {
                want.entry(parent.to_path_buf())
                    .or_insert(RecursiveMode::NonRecursive);
            }
        }
        let stale: Vec<PathBuf> = self
            .current
            .iter()
            .filter(|(p, mode)| want.get(*p) != Some(mode) || renew.contains(*p))
            .map(|(p, _)| p.clone())
            .collect();
        for p in stale {
            // Fails when the folder is gone (the kernel dropped its watch): nothing to undo.
            let _ = self.notify.unwatch(&p);
            self.current.remove(&p);
        }
        for (p, mode) in want {
            if self.current.contains_key(&p) {
                continue;
            }
            match self.notify.watch(&p, mode) {
                Ok(()) => {
                    self.current.insert(p, mode);
                }
                Err(e) => tracing::warn!(
                    path = %p.display(),
                    error = %e,
                    "cannot watch a template folder; its changes show after a restart"
                ),
            }
        }
    }
}

impl Watcher {
    /// Starts watching (blocking: it walks the folders). Start it before the first scan, so no
    /// change made meanwhile is missed.
    pub fn start(catalogue: Arc<Catalogue>) -> notify::Result<Watcher> {
        let (tx, events) = mpsc::unbounded_channel();
        let dirs = catalogue.dirs().to_vec();
        let notify = notify::recommended_watcher(move |ev| {
            let t = Touched::of(&dirs, ev);
            if !t.is_empty() {
                let _ = tx.send(t);
            }
        })?;
        let mut watches = Watches {
            notify,
            current: HashMap::new(),
        };
        watches.reconcile(catalogue.dirs(), &BTreeSet::new());
        Ok(Watcher {
            catalogue,
            watches,
            events,
        })
    }

    /// Follows changes until `shutdown`: after each burst of changes has been quiet for
    /// `debounce`, rescans (on a blocking thread) and calls `changed` with the names whose
    /// entries changed, if any.
    pub async fn run<F, Fut>(
        self,
        debounce: Duration,
        mut shutdown: watch::Receiver<bool>,
        changed: F,
    ) where
        F: Fn(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let Watcher {
            catalogue,
            mut watches,
            mut events,
        } = self;
        loop {
            let mut touched = tokio::select! {
                t = events.recv() => match t {
                    Some(t) => t,
                    None => return,
                },
                _ = shutdown.changed() => return,
            };
            loop {
                tokio::select! {
                    t = events.recv() => match t {
                        Some(t) => touched.merge(t),
                        None => return,
                    },
                    _ = tokio::time::sleep(debounce) => break,
                    _ = shutdown.changed() => return,
                }
            }
            let cat = catalogue.clone();
            let done = tokio::task::spawn_blocking(move || {
                let names = apply(&cat, &mut watches, touched);
                (watches, names)
            })
            .await;
            let Ok((w, names)) = done else {
                tracing::error!("a template rescan failed; template changes show after a restart");
                return;
            };
            watches = w;
            if !names.is_empty() {
                changed(names).await;
            }
        }
    }
}

/// Renews the watches of the folders touched, and rescans what was touched.
fn apply(cat: &Catalogue, w: &mut Watches, mut t: Touched) -> Vec<String> {
    w.reconcile(cat.dirs(), &t.folders);
    if t.all {
        return cat.rescan_all();
    }
    for d in &t.folders {
        t.names.extend(cat.names_from(d));
    }
    cat.rescan(t.names)
}

#[cfg(test)]
mod tests {
    use super::super::tests::write;
    use super::super::TemplateStatus;
    use super::*;

    #[test]
    fn events_map_onto_template_names_and_folders() {
        use notify::event::{CreateKind, ModifyKind};
        let dirs = [PathBuf::from("/d/templates"), PathBuf::from("/x/t")];
        let ev = |kind, p: &str| Ok(notify::Event::new(kind).add_path(p.into()));
        let modify = EventKind::Modify(ModifyKind::Any);
        let t = Touched::of(&dirs, ev(modify, "/d/templates/web/template/a.jinja"));
        assert_eq!(t.names, BTreeSet::from(["web".to_string()]));
        assert!(t.folders.is_empty());
        // The folder itself, or a parent on the way to it: the whole folder.
        let t = Touched::of(&dirs, ev(EventKind::Create(CreateKind::Folder), "/x"));
        assert_eq!(t.folders, BTreeSet::from([PathBuf::from("/x/t")]));
        let t = Touched::of(&dirs, ev(modify, "/d/templates"));
        assert_eq!(t.folders, BTreeSet::from([PathBuf::from("/d/templates")]));
        // Elsewhere in a watched parent (the database beside the templates), or a read: nothing.
        assert!(Touched::of(&dirs, ev(modify, "/d/hyperagent.db-wal")).is_empty());
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        assert!(Touched::of(&dirs, ev(open, "/d/templates/web/copier.yml")).is_empty());
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(!Touched::of(&dirs, ev(written, "/d/templates/web/copier.yml")).is_empty());
    }

    #[tokio::test]
    async fn the_watcher_rescans_what_changes_and_folders_that_appear() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("later").join("templates");
        let cat = Arc::new(Catalogue::new(vec![dir.clone()]));
        let watcher = Watcher::start(cat.clone()).unwrap();
        assert!(cat.rescan_all().is_empty());
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (_stop, shutdown) = watch::channel(false);
        tokio::spawn(
            watcher.run(Duration::from_millis(20), shutdown, move |names| {
                let _ = tx.send(names);
                std::future::ready(())
            }),
        );
        // The folder does not exist yet: its parent's parent is watched until it does.
        let staging = tmp.path().join("staging");
        write(&staging, "web/copier.yml", "x: 1\n");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::rename(staging.join("web"), dir.join("web")).unwrap();
        // Waits on the watcher's reports; the deadline only turns a hang into a failure.
        let waited = tokio::time::timeout(Duration::from_secs(60), async {
            let mut seen = Vec::new();
            while !seen.contains(&"web".to_string()) {
                seen.extend(rx.recv().await.unwrap());
            }
            write(&dir, "web/a.txt.jinja", "{% if");
            while cat.list()[0].status != TemplateStatus::Broken {
                rx.recv().await.unwrap();
            }
        })
        .await;
        assert!(waited.is_ok(), "the watcher reported nothing");
        assert!(cat.list()[0].error.starts_with("a.txt.jinja:1:"));
    }
}
