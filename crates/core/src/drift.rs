//! Drift: a running task that has stopped getting anywhere, seen from what the manager already
//! receives — a task silent for longer than `drift.silent_after` (no log line, no progress), or
//! one logging the same line `drift.repeat_lines` times in a row (a loop retrying one failing
//! thing). Pure bookkeeping per task; the manager turns a [`Drift`] into an event, an audit entry
//! and, per `drift.on_drift`, a cancel.
use std::time::Duration;

/// What kind of drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing logged or reported for too long.
    Silent,
    /// The same line over and over.
    Repeating,
    /// Work handed off back to a task type it already went through (A -> B -> A).
    HandoffLoop,
    /// More language-model tokens spent than `tasks.max_model_tokens` allows.
    OverBudget,
    /// `drift.burn_tokens` language-model tokens used while nothing in its folder changed.
    Burning,
}

impl Kind {
    /// Its name on the feed and in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Silent => "silent",
            Kind::Repeating => "repeating",
            Kind::HandoffLoop => "handoff_loop",
            Kind::OverBudget => "over_budget",
            Kind::Burning => "burning",
        }
    }
}

/// A task found drifting, with what shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    /// Which kind.
    pub kind: Kind,
    /// What was seen, in words a person reads ("nothing logged or reported for 5m").
    pub evidence: String,
}

/// Most characters of a repeated line quoted as evidence.
const QUOTED_CHARS: usize = 200;

/// One task's watch: when it last did anything, and the line it keeps repeating if any.
#[derive(Clone, Debug, Default)]
pub struct Watch {
    /// None: never started (a task read back after a restart).
    last_activity_us: Option<i64>,
    last_line: Option<String>,
    repeats: u32,
    silent_flagged: bool,
    repeat_flagged: bool,
    /// Its folder when last looked at, the tokens it had used then, and when it last changed.
    print: Option<FolderPrint>,
    looked_at_tokens: u64,
    /// When its folder was last looked at (µs).
    looked_at_us: Option<i64>,
    changed_at_tokens: u64,
    /// Drifts said so far.
    said: u32,
}

/// What a folder holds, enough to tell whether anything in it changed: how many entries, their
/// bytes, and the latest modification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FolderPrint {
    entries: u64,
    bytes: u64,
    newest_ns: i128,
}

/// The print of `dir` from at most `max_entries` entries (links not followed); `None` when it
/// cannot be read.
pub fn folder_print(dir: &std::path::Path, max_entries: usize) -> Option<FolderPrint> {
    let mut print = FolderPrint {
        entries: 0,
        bytes: 0,
        newest_ns: 0,
    };
    let mut todo = vec![dir.to_path_buf()];
    std::fs::symlink_metadata(dir).ok()?;
    while let Some(d) = todo.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in read.flatten() {
            if print.entries as usize >= max_entries {
                return Some(print);
            }
            let Ok(m) = e.metadata() else { continue };
            print.entries += 1;
            print.bytes += m.len();
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |t| t.as_nanos() as i128);
            print.newest_ns = print.newest_ns.max(modified);
            if m.is_dir() {
                todo.push(e.path());
            }
        }
    }
    Some(print)
}

impl Watch {
    /// A watch that starts counting silence at `now_us`.
    pub fn new(now_us: i64) -> Watch {
        Watch {
            last_activity_us: Some(now_us),
            ..Watch::default()
        }
    }

    /// The task did something (progress, an answer, a state it may stay in without drifting):
    /// its silence starts again, and may be flagged again.
    pub fn activity(&mut self, now_us: i64) {
        self.last_activity_us = Some(now_us);
        self.silent_flagged = false;
    }

    /// Whether a drift found may be said: at most `max` in all, so a task drifting in a loop
    /// (two lines over and over) cannot fill the feed and the audit log, which is never pruned.
    pub fn may_say(&mut self, d: Option<Drift>, max: u32) -> Option<Drift> {
        let d = d?;
        if self.said >= max {
            return None;
        }
        self.said += 1;
        Some(d)
    }

    /// A log line: activity, and drift once the same line came `repeat_lines` times in a row
    /// (0: never). Flagged once per run of the same line.
    pub fn line(&mut self, message: &str, now_us: i64, repeat_lines: u32) -> Option<Drift> {
        self.activity(now_us);
        if self.last_line.as_deref() == Some(message) {
            self.repeats = self.repeats.saturating_add(1);
        } else {
            self.last_line = Some(message.to_string());
            self.repeats = 1;
            self.repeat_flagged = false;
        }
        if repeat_lines == 0 || self.repeat_flagged || self.repeats < repeat_lines {
            return None;
        }
        self.repeat_flagged = true;
        let quoted: String = message.chars().take(QUOTED_CHARS).collect();
        let more = if quoted.len() < message.len() {
            "…"
        } else {
            ""
        };
        Some(Drift {
            kind: Kind::Repeating,
            evidence: format!(
                "the same log line {} times in a row: \"{quoted}{more}\"",
                self.repeats
            ),
        })
    }

    /// Whether the task's folder should be looked at now that it has used `total_tokens`: the
    /// first time, and each `burn_tokens` after the last look (0: never), but not again within
    /// `every` of the last look (a walk of the folder is work: reports claiming many tokens in a
    /// row must not make the manager walk it for each).
    pub fn burn_due(
        &self,
        total_tokens: u64,
        burn_tokens: u64,
        now_us: i64,
        every: Duration,
    ) -> bool {
        let rested = self.looked_at_us.is_none_or(|t| {
            now_us.saturating_sub(t) >= i64::try_from(every.as_micros()).unwrap_or(i64::MAX)
        });
        burn_tokens > 0
            && rested
            && (self.print.is_none()
                || total_tokens.saturating_sub(self.looked_at_tokens) >= burn_tokens)
    }

    /// The task's folder looked at (`print`) with `total_tokens` used: drift when nothing in it
    /// changed while it used `burn_tokens` or more. Flagged once per `burn_tokens` burnt.
    pub fn burned(
        &mut self,
        total_tokens: u64,
        print: Option<FolderPrint>,
        burn_tokens: u64,
        now_us: i64,
        every: Duration,
    ) -> Option<Drift> {
        if !self.burn_due(total_tokens, burn_tokens, now_us, every) {
            return None; // another report looked meanwhile
        }
        let print = print?;
        self.looked_at_tokens = total_tokens;
        self.looked_at_us = Some(now_us);
        if self.print != Some(print) {
            self.print = Some(print);
            self.changed_at_tokens = total_tokens;
            return None;
        }
        Some(Drift {
            kind: Kind::Burning,
            evidence: format!(
                "{} model tokens used while nothing in its folder changed (drift.burn_tokens is \
                 {burn_tokens})",
                total_tokens - self.changed_at_tokens
            ),
        })
    }

    /// Drift once nothing was logged or reported for `after` (zero: never). Flagged once per
    /// silence.
    pub fn silent(&mut self, now_us: i64, after: Duration) -> Option<Drift> {
        let Some(last) = self.last_activity_us else {
            // Never started (a task read back after a restart): its silence starts now.
            self.last_activity_us = Some(now_us);
            return None;
        };
        let quiet = Duration::from_micros(now_us.saturating_sub(last).max(0) as u64);
        if after.is_zero() || self.silent_flagged || quiet < after {
            return None;
        }
        self.silent_flagged = true;
        let whole = Duration::from_secs(quiet.as_secs());
        Some(Drift {
            kind: Kind::Silent,
            evidence: format!(
                "nothing logged or reported for {} (drift.silent_after is {})",
                humantime::format_duration(whole),
                humantime::format_duration(after)
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn silence_is_flagged_once_and_again_only_after_new_activity() {
        let after = Duration::from_secs(60);
        let mut w = Watch::new(0);
        assert_eq!(w.silent(59 * S, after), None);
        let d = w.silent(61 * S, after).expect("silent past the limit");
        assert_eq!(d.kind, Kind::Silent);
        assert!(d.evidence.contains("1m 1s"), "{}", d.evidence);
        assert_eq!(w.silent(200 * S, after), None, "flagged once");
        w.activity(200 * S);
        assert_eq!(w.silent(250 * S, after), None);
        assert!(
            w.silent(261 * S, after).is_some(),
            "a new silence is flagged again"
        );
        assert_eq!(
            Watch::new(0).silent(1_000 * S, Duration::ZERO),
            None,
            "zero: off"
        );
    }

    #[test]
    fn a_watch_never_started_counts_silence_from_its_first_look() {
        let after = Duration::from_secs(60);
        let mut w = Watch::default();
        assert_eq!(w.silent(1_000 * S, after), None);
        assert_eq!(w.silent(1_059 * S, after), None);
        assert!(w.silent(1_061 * S, after).is_some());
    }

    #[test]
    fn a_log_line_is_activity() {
        let after = Duration::from_secs(10);
        let mut w = Watch::new(0);
        w.line("working", 9 * S, 0);
        assert_eq!(w.silent(15 * S, after), None);
    }

    #[test]
    fn the_same_line_repeated_is_flagged_once_per_run() {
        let mut w = Watch::new(0);
        for i in 1..5 {
            assert_eq!(w.line("retrying: connection refused", i, 5), None);
        }
        let d = w
            .line("retrying: connection refused", 5, 5)
            .expect("fifth in a row");
        assert_eq!(d.kind, Kind::Repeating);
        assert!(d.evidence.contains("5 times in a row"), "{}", d.evidence);
        assert!(d.evidence.contains("connection refused"));
        assert_eq!(
            w.line("retrying: connection refused", 6, 5),
            None,
            "once per run"
        );
        // Another line ends the run; the same loop starting again is a new run.
        assert_eq!(w.line("something else", 7, 5), None);
        for i in 0..4 {
            assert_eq!(w.line("retrying: connection refused", 8 + i, 5), None);
        }
        assert!(w.line("retrying: connection refused", 12, 5).is_some());
    }

    #[test]
    fn lines_that_differ_are_not_a_loop_and_zero_turns_it_off() {
        let mut w = Watch::new(0);
        for i in 0..100 {
            assert_eq!(w.line(&format!("line {i}"), i, 3), None);
        }
        let mut off = Watch::new(0);
        for i in 0..100 {
            assert_eq!(off.line("same", i, 0), None);
        }
    }

    #[test]
    fn a_long_repeated_line_is_quoted_in_part() {
        let long = "x".repeat(1000);
        let mut w = Watch::new(0);
        w.line(&long, 1, 2);
        let d = w.line(&long, 2, 2).unwrap();
        assert!(d.evidence.len() < 300, "{}", d.evidence.len());
        assert!(d.evidence.ends_with("…\""));
    }
}
