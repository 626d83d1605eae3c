//! Output capture: what an agent or task process writes on stdout and stderr, relayed line by
//! line to the manager, each line bounded (a process writing without newlines cannot make the
//! manager hold more than the bound).
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::HostRef;

/// Relays a child's stdout and stderr line by line to the feed: as the agent's output, or, for a
/// task process, as its task's output (redacted). The handles end when the pipes close.
pub(super) fn capture(
    manager: &HostRef,
    agent: &str,
    task: Option<&str>,
    child: &mut Child,
    max: usize,
) -> Vec<JoinHandle<()>> {
    let mut out = Vec::new();
    if let Some(s) = child.stdout.take() {
        out.push(tokio::spawn(pump(
            manager.clone(),
            agent.to_string(),
            "stdout",
            task.map(str::to_string),
            s,
            max,
        )));
    }
    if let Some(s) = child.stderr.take() {
        out.push(tokio::spawn(pump(
            manager.clone(),
            agent.to_string(),
            "stderr",
            task.map(str::to_string),
            s,
            max,
        )));
    }
    out
}

/// Lines of one pipe submitted to the database and not yet stored before the pump waits: a
/// bound on the manager's memory (at most this many lines of `max` bytes per pipe), not a
/// tunable; the writer stores many lines in one commit, so the pump rarely waits.
const UNSTORED_LINES: usize = 256;

/// Relays one pipe's lines until it closes: a task's to its task's output (redacted there, then
/// cut to `max`), an agent's cut to `max` to the agent's output.
async fn pump(
    manager: HostRef,
    agent: String,
    stream: &'static str,
    task: Option<String>,
    src: impl AsyncRead + Unpin,
    max: usize,
) {
    let mut reader = BufReader::new(src);
    let mut buf = Vec::new();
    // A task's line is kept to twice the limit before it is redacted and cut to the limit, so a
    // secret cut by the bound (and shorter than the limit) lies past the final cut.
    let bound = if task.is_some() {
        max.saturating_mul(2)
    } else {
        max
    };
    // Lines on their way to the database: past `UNSTORED_LINES`, the pump waits for the oldest
    // to be stored before reading on, so a process writing faster than the database stores waits
    // on its pipe instead of growing the manager's memory.
    let mut unstored = std::collections::VecDeque::new();
    loop {
        buf.clear();
        match read_bounded_line(&mut reader, &mut buf, bound).await {
            Ok(false) | Err(_) => return,
            Ok(true) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                let pending = match &task {
                    // Redacted before it is cut, so no part of a secret survives the cut.
                    Some(t) => manager.task_output(
                        &agent,
                        t,
                        stream,
                        String::from_utf8_lossy(&buf).into_owned(),
                        max,
                    ),
                    None => {
                        buf.truncate(max);
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        manager.agent_output(&agent, stream, line)
                    }
                };
                unstored.push_back(pending);
                if unstored.len() > UNSTORED_LINES {
                    if let Some(oldest) = unstored.pop_front() {
                        // A failed write stops the manager; the pump only needs the pace.
                        let _ = oldest.wait().await;
                    }
                }
            }
        }
    }
}

/// Reads one line into `buf`, keeping at most `bound` bytes of it and skipping the rest up to the
/// newline, so a process writing without newlines cannot make the manager hold more than `bound`
/// (tokio's `read_until` has no bound). False at end of input.
async fn read_bounded_line(
    reader: &mut (impl AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
    bound: usize,
) -> std::io::Result<bool> {
    let mut any = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(any);
        }
        any = true;
        let (line, used, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (&chunk[..=i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        let room = bound.saturating_sub(buf.len());
        buf.extend_from_slice(&line[..line.len().min(room)]);
        reader.consume(used);
        if done {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_line_longer_than_the_bound_is_cut_and_the_next_line_read_whole() {
        // 1 MiB without a newline, then a short line; read through a small buffer.
        let mut input = vec![b'x'; 1 << 20];
        input.extend_from_slice(b"\nnext\n");
        let mut reader = BufReader::with_capacity(4096, &input[..]);
        let mut buf = Vec::new();
        assert!(read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(buf, vec![b'x'; 100]);
        assert!(buf.capacity() < 8192, "held {} bytes", buf.capacity());
        buf.clear();
        assert!(read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(buf, b"next\n");
        buf.clear();
        assert!(!read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
    }

    #[tokio::test]
    async fn a_last_line_without_a_newline_is_kept() {
        let mut reader = BufReader::new(&b"tail"[..]);
        let mut buf = Vec::new();
        assert!(read_bounded_line(&mut reader, &mut buf, 100).await.unwrap());
        assert_eq!(buf, b"tail");
    }
}
