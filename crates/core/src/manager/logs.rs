//! Task log lines (numbered per attempt and per task, dropped with a note when the disk is low) and the feed.
use super::*;

impl Manager {
    /// Stores a batch of a task's log lines; returns the highest seq stored.
    #[tracing::instrument(level = "debug", skip_all, fields(task = %task_id, lines = lines.len()))]
    pub async fn push_logs(&self, task_id: &str, token: &str, lines: Vec<LogLine>) -> Result<u64> {
        let max_lines = self.inner.cfg.agents.max_log_batch_lines as usize;
        if lines.len() > max_lines {
            return Err(Error::InvalidInput(format!(
                "{} log lines in one batch; at most {max_lines} (agents.max_log_batch_lines) are allowed",
                lines.len()
            )));
        }
        // An agent may send a task's batches without waiting for each acknowledgement; keep them
        // in order by holding a batch that arrived before its predecessor until that one is in.
        if let Some(first) = lines.first().map(|l| l.seq) {
            self.wait_for_log_seq(task_id, token, first.saturating_sub(1))
                .await?;
        }
        let mut intake = Intake {
            task_id,
            attempt: 0,
            now: self.now_us(),
            disk_low: self.inner.disk.low(),
            min_free: self.inner.disk.min_free(),
            max_bytes: self.inner.cfg.agents.max_log_line_bytes as usize,
            task_cap: self.inner.cfg.agents.max_log_bytes_per_task,
        };
        // A failed write stores nothing more in this process (the manager stops), so the cursor
        // moved here need not be put back.
        let repeat_lines = self.inner.cfg.drift.repeat_lines;
        let max_flags = self.inner.cfg.drift.max_flags_per_task;
        let (stored, cancel) = self
            .commit(|st| {
                let (claims, a) = self.authorized(st, task_id, token)?;
                intake.attempt = claims.attempt;
                // Lines are numbered by the agent within the attempt (a retry's process starts from
                // 1 again) and by the manager within the task, across attempts.
                let mut last = LogCursor {
                    attempt: claims.attempt,
                    attempt_seq: a.log.accepted(claims.attempt),
                    ..a.log
                };
                let mut writes = Vec::with_capacity(lines.len());
                let mut drifts = Vec::new();
                for line in lines {
                    // A resent line (already stored) is no new repetition.
                    // A line not kept (past the task's cap, the disk nearly full) is no
                    // evidence either: nothing of it would be stored.
                    let kept = a.log_dropped == 0 && intake.disk_low.is_none();
                    if line.seq > last.attempt_seq && kept {
                        let d = a.watch.line(&line.message, intake.now, repeat_lines);
                        drifts.extend(a.watch.may_say(d, max_flags));
                    }
                    intake.take(a, &mut last, line, &mut writes)?;
                }
                a.log = last;
                a.log_moved.notify_waiters();
                let mut cancel = None;
                for d in &drifts {
                    cancel = cancel.or(self.drifted(task_id, d, intake.now, &mut writes));
                }
                Ok((writes, (last.attempt_seq, cancel)))
            })
            .await?;
        if let Some(why) = cancel {
            self.cancel_drifting(vec![(task_id.to_string(), why)]);
        }
        Ok(stored)
    }

    /// Waits (at most `agents.log_order_wait`) until a task's accepted log lines reach `seq`.
    pub(super) async fn wait_for_log_seq(
        &self,
        task_id: &str,
        token: &str,
        seq: u64,
    ) -> Result<()> {
        let give_up = tokio::time::Instant::now() + self.inner.cfg.agents.log_order_wait;
        loop {
            let moved = {
                let st = self.state();
                // In order already (the usual case), or not a task we know: push_logs itself
                // authorizes and decides. Only a rightful caller may be held waiting.
                match st.tasks.get(task_id) {
                    Some(a) if a.log.accepted(a.task.attempts.len() as u32) < seq => {
                        self.authorize(&st, task_id, token)?;
                        a.log_moved.clone()
                    }
                    _ => return Ok(()),
                }
            };
            let notified = moved.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Checked again now that a wake-up cannot be missed.
            if self
                .state()
                .tasks
                .get(task_id)
                .is_none_or(|a| a.log.accepted(a.task.attempts.len() as u32) >= seq)
            {
                return Ok(());
            }
            if tokio::time::timeout_at(give_up, notified).await.is_err() {
                // The earlier lines never came: store these anyway; the gap is the agent's loss.
                return Ok(());
            }
        }
    }

    /// A line a task process wrote to stdout or stderr, with its task's secrets redacted.
    pub fn task_output(
        &self,
        agent_id: &str,
        task_id: &str,
        stream: &str,
        mut line: String,
        max_bytes: usize,
    ) -> crate::store::Pending {
        if let Some(a) = self.state().tasks.get(task_id) {
            redact_in(&mut line, &a.secrets);
        }
        truncate(&mut line, max_bytes);
        self.agent_output(agent_id, stream, format!("task {task_id}: {line}"))
    }

    /// A page of a task's stored log lines and whether it is the last.
    pub async fn get_logs(
        &self,
        task_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<LogLine>, bool)> {
        let task = self.get_task(task_id).await?;
        let max = self.inner.cfg.tasks.log_page_size;
        let limit = if limit == 0 { max } else { limit.min(max) };
        let mut lines = self.inner.store.task_logs(task_id, after, limit).await?;
        let complete = task.state.is_terminal() && (lines.len() as u32) < limit;
        // A page fits one message (lines of up to `agents.max_log_line_bytes` with their
        // fields): past half the largest, the rest are the next page's.
        let cut = self.page_cut(lines.iter().map(LogLine::wire_bytes));
        let complete = complete && cut == lines.len();
        lines.truncate(cut);
        Ok((lines, complete))
    }

    /// Subscribes to the event feed (see [`Feed::subscribe`]). Checks that a filtered task exists.
    pub async fn subscribe(
        &self,
        after: Option<u64>,
        filter: EventFilter,
    ) -> Result<mpsc::Receiver<Result<Arc<crate::model::Event>>>> {
        if let Some(t) = &filter.task_id {
            self.get_task(t).await?;
        }
        Ok(self.inner.feed.subscribe(after, filter))
    }
}

/// How far a task's log lines have got: the task-wide number the manager gives each line, and
/// the attempt that sent the last one with that line's own number (each attempt numbers from 1).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogCursor {
    /// The last line's number within the task.
    pub task_seq: u64,
    /// The attempt that sent it.
    pub attempt: u32,
    /// Its number within that attempt.
    pub attempt_seq: u64,
}

impl LogCursor {
    /// The highest line number of `attempt` accepted so far (0 when none).
    pub(super) fn accepted(&self, attempt: u32) -> u64 {
        if self.attempt == attempt {
            self.attempt_seq
        } else {
            0
        }
    }
}

/// Log lines of one attempt dropped while the disk was nearly full.
#[derive(Clone, Copy, Debug)]
pub(super) struct DiskDrop {
    attempt: u32,
    /// The first and last dropped line's number within the attempt.
    first: u64,
    last: u64,
    count: u64,
}

impl DiskDrop {
    /// The line that says how many went, numbered as the last one dropped.
    pub(super) fn summary(&self, task_seq: u64, time_us: i64) -> LogLine {
        LogLine {
            seq: task_seq,
            attempt: self.attempt,
            attempt_seq: self.last,
            time_us,
            level: LogLevel::Warn,
            message: format!(
                "{} log lines of this attempt ({} to {}) were dropped while the disk was nearly \
                 full (store.min_free_bytes)",
                self.count, self.first, self.last
            ),
            fields: Default::default(),
        }
    }
}

pub(super) fn task_log(task_id: &str, line: LogLine) -> Write {
    Write::Event {
        time_us: line.time_us,
        body: EventBody::TaskLog {
            task_id: task_id.to_string(),
            line,
        },
    }
}

/// Makes `line` a warning written by the manager in its place (it keeps its numbers and time).
fn become_note(line: &mut LogLine, message: String) {
    line.level = LogLevel::Warn;
    line.message = message;
    line.fields.clear();
}

/// How one batch of an attempt's log lines is taken in.
struct Intake<'a> {
    task_id: &'a str,
    attempt: u32,
    now: i64,
    /// The free bytes, when under the reserve.
    disk_low: Option<u64>,
    min_free: u64,
    max_bytes: usize,
    task_cap: u64,
}

impl Intake<'_> {
    /// Numbers `line`, and stores it (redacted and cut to size) unless it was stored before, the
    /// task's log is over its cap, or the disk is nearly full.
    fn take(
        &self,
        a: &mut Active,
        last: &mut LogCursor,
        mut line: LogLine,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        if line.seq <= last.attempt_seq {
            if line.seq == 0 {
                return Err(Error::InvalidInput("log line seq must start at 1".into()));
            }
            return Ok(()); // already stored: a resent batch
        }
        last.attempt_seq = line.seq;
        line.attempt = self.attempt;
        line.attempt_seq = line.seq;
        if a.log_dropped > 0 {
            a.log_dropped += 1;
            return Ok(());
        }
        // None yet, or one the manager has not reached: the line is from now (a line dated in
        // the future would outlive every sweep by age).
        if line.time_us <= 0 || line.time_us > self.now {
            line.time_us = self.now;
        }
        if self.dropped_for_disk(a, last, &mut line, writes) {
            return Ok(());
        }
        redact_in(&mut line.message, &a.secrets);
        truncate(&mut line.message, self.max_bytes);
        for v in line.fields.values_mut() {
            redact_in(v, &a.secrets);
            truncate(v, self.max_bytes);
        }
        bound_fields(&mut line, self.max_bytes, 4 * self.max_bytes);
        let size = line.message.len()
            + line
                .fields
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        a.log_bytes += size as u64;
        if a.log_bytes > self.task_cap {
            // One line in its place says what happened; the rest are counted, not kept.
            a.log_dropped = 1;
            become_note(
                &mut line,
                format!(
                    "log limit reached: this task's lines past {} bytes \
                     (agents.max_log_bytes_per_task) are dropped; the task goes on",
                    self.task_cap
                ),
            );
        }
        last.task_seq += 1;
        line.seq = last.task_seq;
        writes.push(task_log(self.task_id, line));
        Ok(())
    }

    /// A nearly full disk: the first line dropped says so (it becomes the note), the rest are
    /// counted, and when there is room again one more line says how many went. True when `line`
    /// is dropped.
    fn dropped_for_disk(
        &self,
        a: &mut Active,
        last: &mut LogCursor,
        line: &mut LogLine,
        writes: &mut Vec<Write>,
    ) -> bool {
        let dropping = self.disk_low.is_some();
        if let Some(d) = a
            .disk_drop
            .take_if(|d| !dropping || d.attempt != self.attempt)
        {
            if d.count > 1 {
                last.task_seq += 1;
                writes.push(task_log(
                    self.task_id,
                    d.summary(last.task_seq, line.time_us),
                ));
            }
        }
        let Some(free) = self.disk_low else {
            return false;
        };
        if let Some(d) = &mut a.disk_drop {
            d.count += 1;
            d.last = line.attempt_seq;
            return true;
        }
        a.disk_drop = Some(DiskDrop {
            attempt: self.attempt,
            first: line.attempt_seq,
            last: line.attempt_seq,
            count: 1,
        });
        become_note(
            line,
            format!(
                "the disk holding the data directory has {free} bytes free, less than the {} \
                 (store.min_free_bytes) kept for HyperAgent's records: this task's log lines are \
                 dropped until there is room; the task goes on",
                self.min_free
            ),
        );
        false
    }
}

impl Active {
    /// Whether one more of the task's own reports (a progress or model-call event, `bytes` long)
    /// is stored: not once its records reached `cap` bytes (`agents.max_log_bytes_per_task`) or
    /// while the disk is nearly full. What it reports still counts (the task row carries the
    /// latest progress and the totals); only the history stops growing, so a task reporting in
    /// a loop cannot fill the disk.
    pub(super) fn keeps_report(&mut self, bytes: usize, cap: u64, disk_low: bool) -> bool {
        if disk_low || self.log_bytes.saturating_add(bytes as u64) > cap {
            return false;
        }
        self.log_bytes += bytes as u64;
        true
    }
}

/// The bytes an event's body takes in the store (its JSON), as `Store::task_record_bytes` counts.
pub(super) fn stored_len(body: &EventBody) -> usize {
    serde_json::to_vec(body).map_or(0, |v| v.len())
}

/// A line's fields within `all` bytes together (the caller gives four lines' worth; each value
/// is already cut to one), each key cut to `each` like the values: past it the rest are left out
/// and one field, `fields_left_out`, says how many. A line stays within one message however many
/// fields an agent gives it.
fn bound_fields(line: &mut LogLine, each: usize, all: usize) {
    let mut used = 0usize;
    let mut kept = std::collections::BTreeMap::new();
    let mut left_out = 0usize;
    for (mut k, v) in std::mem::take(&mut line.fields) {
        truncate(&mut k, each);
        let size = k.len() + v.len();
        if used + size > all {
            left_out += 1;
            continue;
        }
        used += size;
        kept.insert(k, v);
    }
    if left_out > 0 {
        kept.insert("fields_left_out".into(), left_out.to_string());
    }
    line.fields = kept;
}
