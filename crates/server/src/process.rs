//! Process-wide settings and the folders shipped with HyperAgent. A binary's `main` applies the
//! settings (the CLI for `serve`, the desktop app), never the embedded manager.
use std::path::{Path, PathBuf};

/// Every agent holds a connection: lift the soft open-files limit to the hard one, as servers do.
/// Process-wide: a binary's `main` calls it (the CLI for `serve`, the desktop app), not [`run`].
pub fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain rlimit calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// glibc gives each thread that allocates its own arena (up to 8 per core); with many agents'
/// connections served from a few tokio threads, that mostly grows RSS. Two arenas serve the manager's
/// two-level workload (network threads + the SQLite worker) without lock contention that shows.
/// Process-wide, before any thread exists: `serve`'s `main` calls it (the desktop app leaves its
/// allocator to WebKit's needs).
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the servers start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// A folder shipped with HyperAgent: `<prefix>/share/hyperagent/<installed>` beside the running
/// binary, else (debug builds only) `<source>` in the source tree it was built from.
pub fn bundled(installed: &str, source: &str) -> Option<PathBuf> {
    let beside_binary = std::env::current_exe().ok().and_then(|e| {
        Some(
            e.parent()?
                .parent()?
                .join("share/hyperagent")
                .join(installed),
        )
    });
    // A debug build may run from its source tree; a release binary never looks at the build
    // machine's paths.
    let source_tree = cfg!(debug_assertions).then(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(source)
    });
    beside_binary
        .into_iter()
        .chain(source_tree)
        .find_map(|d| d.canonicalize().ok().filter(|d| d.is_dir()))
}
