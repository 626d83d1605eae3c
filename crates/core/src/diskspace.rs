//! Free space on the disk holding the data directory, read at most once per
//! `store.free_space_check_interval`. Below `store.min_free_bytes` the manager refuses new tasks
//! and drops log lines (saying so in each task's log), so that state changes and audit entries,
//! which are small, always have room: a full disk must not make a write fail (see
//! `store::Writer::failed`).
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// The data directory's disk, watched.
pub struct DiskSpace {
    dir: PathBuf,
    min_free: u64,
    interval: Duration,
    /// When it was last read, and the bytes free then.
    last: Mutex<Option<(Instant, u64)>>,
}

impl DiskSpace {
    /// Watches the disk holding `dir`.
    pub fn new(dir: PathBuf, min_free: u64, interval: Duration) -> DiskSpace {
        DiskSpace {
            dir,
            min_free,
            interval,
            last: Mutex::new(None),
        }
    }

    /// The bytes free when that is under the reserve; `None` when there is room (or the disk
    /// cannot be read: then the database's own errors decide).
    pub fn low(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let free = match *last {
            Some((at, free)) if now.duration_since(at) < self.interval => free,
            _ => self.read(&mut last),
        };
        (free < self.min_free).then_some(free)
    }

    /// The bytes free above the reserve now (read afresh: for a large write about to start, a
    /// snapshot); 0 when the disk is low. Unreadable: `u64::MAX`, the database's errors decide.
    pub fn room(&self) -> u64 {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        self.read(&mut last).saturating_sub(self.min_free)
    }

    /// Reads the bytes free now (`u64::MAX` when the disk cannot be read) into `last`.
    fn read(&self, last: &mut Option<(Instant, u64)>) -> u64 {
        let free = rustix::fs::statvfs(&self.dir)
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize))
            .unwrap_or(u64::MAX);
        *last = Some((Instant::now(), free));
        free
    }

    /// Takes `free` as the last reading (until `store.free_space_check_interval` passes): the
    /// tests' way to fill the disk.
    #[cfg(test)]
    pub fn pretend_free(&self, free: u64) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), free));
    }

    /// The refusal of new work while the disk has `free` bytes.
    pub fn refusal(&self, free: u64) -> Error {
        Error::DiskLow {
            data_dir: self.dir.display().to_string(),
            free,
            min: self.min_free,
        }
    }

    /// The reserve.
    pub fn min_free(&self) -> u64 {
        self.min_free
    }
}
