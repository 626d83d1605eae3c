//! HyperAgent benchmarks. Starts the real (release) manager binary as a separate process, drives it
//! with simulated agents that speak the real agent protocol over the real Unix socket, and measures
//! each figure beside the bare transport measured in the same run (an empty tonic round trip on the
//! same server: the standard health check; a raw byte stream over a Unix socket). Prints Markdown.
//!
//! Bounded by count and time; talks only to the local socket.
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hyperagent_proto::v1 as pb;
use hyperagent_server::transport::connect_unix;
use pb::agent_service_client::AgentServiceClient;
use pb::client_service_client::ClientServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

struct ManagerProc {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl ManagerProc {
    fn start(bin: &Path) -> Result<ManagerProc> {
        ManagerProc::start_with(bin, None)
    }

    /// A manager that also runs the agents of `agents_dir` (`--agents-dir`). Without one, the
    /// bench's simulated agents connect on their own, which the manager refuses unless told to
    /// accept agents it did not start.
    fn start_with(bin: &Path, agents_dir: Option<&Path>) -> Result<ManagerProc> {
        let extra = match agents_dir {
            Some(_) => "",
            None => "[sandbox]\nallow_unsupervised_agents = true\n",
        };
        ManagerProc::start_configured(bin, agents_dir, extra)
    }

    /// The same, with extra config text.
    fn start_configured(bin: &Path, agents_dir: Option<&Path>, extra: &str) -> Result<ManagerProc> {
        let dir = tempfile::tempdir()?;
        let cfg = dir.path().join("config.toml");
        std::fs::write(
            &cfg,
            format!(
                "[paths]\ndata_dir = {:?}\nruntime_dir = {:?}\n{extra}",
                dir.path().join("data"),
                dir.path().join("run")
            ),
        )?;
        let mut args = vec![
            "--config".to_string(),
            cfg.display().to_string(),
            "serve".to_string(),
        ];
        match agents_dir {
            Some(d) => args.extend(["--agents-dir".to_string(), d.display().to_string()]),
            None => args.push("--no-agents".to_string()),
        }
        let mut child = Command::new(bin)
            .args(&args)
            .env("HYPERAGENT_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        if !line.contains("\"ready\":true") {
            bail!("manager did not become ready: {line:?}");
        }
        Ok(ManagerProc {
            child,
            socket: dir.path().join("run/manager.sock"),
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ManagerProc {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// (user+system CPU seconds, RSS bytes) of a process.
fn cpu_and_rss(pid: u32) -> Result<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state(0) ppid(1) ... utime(11) stime(12)
    let ticks: f64 = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let rss_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .context("VmRSS")?;
    Ok((ticks / hz, rss_kb * 1024))
}

async fn health(ch: Channel) -> Result<()> {
    HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await?;
    Ok(())
}

/// Sequential empty round trips: the bare tonic figure.
async fn bare_rtt(socket: &Path, n: usize) -> Result<Vec<Duration>> {
    let ch = connect_unix(socket).await?;
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        health(ch.clone()).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok(lat)
}

/// When each task's StartTask reached a simulated agent, and a signal for every arrival.
#[derive(Default)]
struct Arrivals {
    at: Mutex<HashMap<String, Instant>>,
    notify: tokio::sync::Notify,
}

impl Arrivals {
    async fn wait(&self, id: &str) -> Instant {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if let Some(t) = self.at.lock().unwrap().remove(id) {
                return t;
            }
            n.await;
        }
    }
}

type Waiters = Arc<Arrivals>;

/// What a simulated agent declares: one task type that takes any payload.
fn sim_registration(name: String, task_type: &str, max_concurrency: u32) -> pb::RegisterRequest {
    pb::RegisterRequest {
        name,
        version: "bench".into(),
        capabilities: vec![pb::TaskType {
            name: task_type.into(),
            payload_schema_json: "{}".into(),
            ..Default::default()
        }],
        max_concurrency,
        running_task_ids: vec![],
        cost: 1.0,
        pid: std::process::id(),
    }
}

/// Heartbeats for a simulated agent every second, as a real agent would, until the process ends.
fn keep_alive(mut a: AgentServiceClient<Channel>, session_token: String) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let hb = pb::HeartbeatRequest {
                session_token: session_token.clone(),
                load: 0.0,
                running_task_ids: vec![],
            };
            if a.heartbeat(hb).await.is_err() {
                return;
            }
        }
    });
}

/// Opens a session's Work stream, its first message naming the session; returns the commands
/// and where the agent's later messages (beats) go.
async fn open_work(
    a: &mut AgentServiceClient<Channel>,
    session_token: &str,
) -> Result<(
    tonic::Streaming<pb::WorkItem>,
    tokio::sync::mpsc::UnboundedSender<pb::WorkRequest>,
)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tx.send(pb::WorkRequest {
        session_token: session_token.into(),
        beat: None,
    })?;
    let work = a
        .work(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok((work, tx))
}

/// A simulated agent: accepts every task, reports the instant StartTask arrived, finishes it.
async fn sim_agent(
    socket: PathBuf,
    name: String,
    task_type: &'static str,
    waiters: Waiters,
) -> Result<()> {
    let ch = connect_unix(&socket).await?;
    let mut a = AgentServiceClient::new(ch);
    let reg = a
        .register(sim_registration(name, task_type, 256))
        .await?
        .into_inner();
    keep_alive(a.clone(), reg.session_token.clone());
    let (mut work, _beats) = open_work(&mut a, &reg.session_token).await?;
    while let Some(item) = work.message().await? {
        let Some(pb::work_item::Item::Start(s)) = item.item else {
            continue;
        };
        waiters
            .at
            .lock()
            .unwrap()
            .insert(s.task_id.clone(), Instant::now());
        waiters.notify.notify_waiters();
        let mut a = a.clone();
        tokio::spawn(async move {
            let tok = s.capability_token.clone();
            a.answer_task(pb::AnswerTaskRequest {
                task_id: s.task_id.clone(),
                capability_token: tok.clone(),
                accepted: true,
                reason: String::new(),
            })
            .await?;
            a.finish_task(pb::FinishTaskRequest {
                task_id: s.task_id,
                capability_token: tok,
                result: Some(pb::TaskResult {
                    status: pb::ResultStatus::Succeeded as i32,
                    ..Default::default()
                }),
            })
            .await?;
            anyhow::Ok(())
        });
    }
    Ok(())
}

async fn wait_online(c: &mut ClientServiceClient<Channel>, n: usize) -> Result<()> {
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: Some(0),
            task_id: String::new(),
            exclude_logs: true,
        })
        .await?
        .into_inner();
    let mut online = std::collections::HashSet::new();
    while online.len() < n {
        let ev = feed.message().await?.context("feed ended")?;
        if let Some(pb::event::Body::AgentStatus(s)) = ev.body {
            if s.status == pb::AgentStatus::Online as i32 {
                online.insert(s.agent_id);
            }
        }
    }
    Ok(())
}

/// Waits until the agent named `id` is online (the agents folder holds several; the bench drives
/// one of them).
async fn wait_for_agent(c: &mut ClientServiceClient<Channel>, id: &str) -> Result<()> {
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: Some(0),
            task_id: String::new(),
            exclude_logs: true,
        })
        .await?
        .into_inner();
    loop {
        let ev = feed.message().await?.context("feed ended")?;
        if let Some(pb::event::Body::AgentStatus(s)) = ev.body {
            if s.status == pb::AgentStatus::Online as i32 && s.agent_id == id {
                return Ok(());
            }
        }
    }
}

struct DispatchFigures {
    submit: Vec<Duration>,
    dispatch: Vec<Duration>,
    throughput: f64,
}

async fn dispatch_bench(
    bin: &Path,
    agents: usize,
    n_latency: usize,
    n_throughput: usize,
) -> Result<DispatchFigures> {
    let m = ManagerProc::start(bin)?;
    let waiters: Waiters = Arc::default();
    for i in 0..agents {
        tokio::spawn(sim_agent(
            m.socket.clone(),
            format!("sim-{i}"),
            "bench.noop",
            waiters.clone(),
        ));
    }
    let mut c = ClientServiceClient::new(connect_unix(&m.socket).await?);
    wait_online(&mut c, agents).await?;
    let req = || pb::SubmitTaskRequest {
        task_type: "bench.noop".into(),
        payload_json: "{}".into(),
        ..Default::default()
    };
    // Latency: one task at a time; submit call and submit-to-StartTask-at-the-agent.
    let (mut submit, mut dispatch) = (Vec::new(), Vec::new());
    for i in 0..n_latency + 200 {
        let t0 = Instant::now();
        let resp = c.submit_task(req()).await?.into_inner();
        let t1 = Instant::now();
        let id = resp.task.context("task")?.id;
        let got = waiters.wait(&id).await;
        if i >= 200 {
            // past the warm-up
            submit.push(t1 - t0);
            dispatch.push(got.saturating_duration_since(t0));
        }
    }
    submit.sort();
    dispatch.sort();
    waiters.at.lock().unwrap().clear();
    // Throughput: many in flight, counted as completions on the feed.
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: None,
            task_id: String::new(),
            exclude_logs: true,
        })
        .await?
        .into_inner();
    let start = Instant::now();
    let submitter = {
        let mut c = c.clone();
        tokio::spawn(async move {
            let mut inflight = tokio::task::JoinSet::new();
            for _ in 0..n_throughput {
                if inflight.len() >= 64 {
                    inflight.join_next().await;
                }
                let mut c = c.clone();
                let r = req();
                inflight.spawn(async move { c.submit_task(r).await.map(|_| ()) });
            }
            while inflight.join_next().await.is_some() {}
            let _ = &mut c;
        })
    };
    let mut done = 0;
    while done < n_throughput {
        let ev = feed.message().await?.context("feed ended")?;
        if let Some(pb::event::Body::TaskState(s)) = ev.body {
            if s.to == pb::TaskState::Completed as i32 {
                done += 1;
            }
        }
    }
    let throughput = n_throughput as f64 / start.elapsed().as_secs_f64();
    submitter.await?;
    Ok(DispatchFigures {
        submit,
        dispatch,
        throughput,
    })
}

/// Log batches a simulated agent keeps in flight.
const PIPELINE: usize = 4;

/// Log lines/s agent -> manager -> SQLite -> subscriber, counting every line.
async fn log_bench(bin: &Path, lines: u64, batch: u64, pipeline: usize) -> Result<(f64, u64)> {
    let m = ManagerProc::start(bin)?;
    let ch = connect_unix(&m.socket).await?;
    let mut a = AgentServiceClient::new(ch.clone());
    let mut c = ClientServiceClient::new(ch);
    let reg = a
        .register(sim_registration("sim-logs".into(), "bench.logs", 1))
        .await?
        .into_inner();
    keep_alive(a.clone(), reg.session_token.clone());
    let (mut work, _beats) = open_work(&mut a, &reg.session_token).await?;
    let task = c
        .submit_task(pb::SubmitTaskRequest {
            task_type: "bench.logs".into(),
            payload_json: "{}".into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .task
        .context("task")?;
    let start = loop {
        if let Some(pb::work_item::Item::Start(s)) = work.message().await?.context("work")?.item {
            break s;
        }
    };
    let token = start.capability_token.clone();
    a.answer_task(pb::AnswerTaskRequest {
        task_id: task.id.clone(),
        capability_token: token.clone(),
        accepted: true,
        reason: String::new(),
    })
    .await?;
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: Some(0),
            task_id: task.id.clone(),
            exclude_logs: false,
        })
        .await?
        .into_inner();
    let t0 = Instant::now();
    let producer = {
        let a = a.clone();
        let id = task.id.clone();
        tokio::spawn(async move {
            let mut seq = 0;
            let msg = "x".repeat(60);
            // Up to PIPELINE batches in flight; the manager keeps them in order.
            let mut inflight = tokio::task::JoinSet::new();
            while seq < lines {
                if inflight.len() >= pipeline {
                    inflight.join_next().await.context("push")???;
                }
                let n = batch.min(lines - seq);
                let batch: Vec<pb::LogLine> = (seq + 1..=seq + n)
                    .map(|s| pb::LogLine {
                        seq: s,
                        time: None,
                        attempt: 0,
                        attempt_seq: 0,
                        level: pb::LogLevel::Info as i32,
                        message: format!("line {s} {msg}"),
                        fields: Default::default(),
                    })
                    .collect();
                let mut a = a.clone();
                let req = pb::PushLogsRequest {
                    task_id: id.clone(),
                    capability_token: token.clone(),
                    lines: batch,
                    columns: None,
                };
                inflight.spawn(async move { a.push_logs(req).await.map(|_| ()) });
                seq += n;
            }
            while let Some(r) = inflight.join_next().await {
                r??;
            }
            anyhow::Ok(())
        })
    };
    let mut expect = 1;
    let mut producer = producer;
    let mut produced = false;
    while expect <= lines {
        let ev = tokio::select! {
            ev = feed.message() => ev?.context("feed ended")?,
            r = &mut producer, if !produced => {
                r??;
                produced = true;
                continue;
            }
        };
        if let Some(pb::event::Body::TaskLog(l)) = ev.body {
            let s = l.line.context("line")?.seq;
            if s != expect {
                bail!("log line {expect} expected, got {s}: lines were lost or reordered");
            }
            expect += 1;
        }
    }
    let rate = lines as f64 / t0.elapsed().as_secs_f64();
    if !produced {
        producer.await??;
    }
    Ok((rate, expect - 1))
}

/// Log lines/s from a real Python agent on the SDK (the echo agent's `echo.spam`, started by the
/// manager's supervisor) to a subscriber, counting every line.
async fn sdk_log_bench(bin: &Path, agents_dir: &Path, lines: u64) -> Result<(f64, u64)> {
    let echo = only_agent(agents_dir, "echo")?;
    let m = ManagerProc::start_with(bin, Some(echo.path()))?;
    let mut c = ClientServiceClient::new(connect_unix(&m.socket).await?);
    wait_for_agent(&mut c, "echo").await?;
    let task = c
        .submit_task(pb::SubmitTaskRequest {
            task_type: "echo.spam".into(),
            payload_json: format!("{{\"lines\": {lines}, \"size\": 60}}"),
            ..Default::default()
        })
        .await?
        .into_inner()
        .task
        .context("task")?;
    let t0 = Instant::now();
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: Some(0),
            task_id: task.id,
            exclude_logs: false,
        })
        .await?
        .into_inner();
    let mut got = 0;
    // The rate is timed from the moment the task runs (its process accepted it): a confined
    // task's fresh process spends its first few hundred milliseconds starting Python and
    // importing, which is no part of the log path (the simulated agent beside it has none).
    let mut running: Option<Instant> = None;
    while let Some(ev) = feed.message().await? {
        match ev.body {
            Some(pb::event::Body::TaskLog(l)) => {
                let s = l.line.context("line")?.seq;
                if s != got + 1 {
                    bail!("SDK log line {} expected, got {s}", got + 1);
                }
                got = s;
            }
            Some(pb::event::Body::TaskState(s)) if s.to == pb::TaskState::Running as i32 => {
                running = Some(Instant::now());
            }
            Some(pb::event::Body::TaskState(s)) if s.to == pb::TaskState::Completed as i32 => break,
            Some(pb::event::Body::TaskState(s)) if s.to == pb::TaskState::Failed as i32 => {
                bail!("echo.spam failed: {}", s.reason)
            }
            _ => {}
        }
    }
    let whole = t0.elapsed();
    let ran = running.map_or(whole, |r| r.elapsed());
    eprintln!(
        "echo.spam: submit -> completed {:.0} ms, of which running {:.0} ms",
        whole.as_secs_f64() * 1e3,
        ran.as_secs_f64() * 1e3
    );
    Ok((lines as f64 / ran.as_secs_f64(), got))
}

/// An agents folder holding only `name` of `agents_dir` (a link to it): the agent measured runs
/// alone, not beside the others starting up (the embeddings and language model agents load
/// their models for seconds on the same two cores).
fn only_agent(agents_dir: &Path, name: &str) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let target = agents_dir.join(name).canonicalize()?;
    std::os::unix::fs::symlink(&target, dir.path().join(name))?;
    Ok(dir)
}

/// How the echo agent runs its tasks in [`sandbox_bench`].
#[derive(Clone, Copy)]
enum Confined {
    /// In its own process (`sandbox.enabled = false`).
    No,
    /// Each in a confined task process started for it (`sandbox.warm_pool_size = 0`).
    Fresh,
    /// Each in a warm confined task process (`sandbox.warm_pool_size = 1`), tasks arriving
    /// `gap` apart (the pace of a person, giving the pool time to fill again; zero: back to
    /// back).
    Warm { gap: Duration },
}

/// The cost of confinement with the real echo agent: supervisor start to agent online, and
/// submit to completed for `n` sequential `echo.echo` tasks. Returns (start, task p50, task
/// p99).
async fn sandbox_bench(
    bin: &Path,
    agents_dir: &Path,
    how: Confined,
    n: usize,
) -> Result<(Duration, Duration, Duration)> {
    let (enabled, pool, gap) = match how {
        Confined::No => (false, 0, Duration::ZERO),
        Confined::Fresh => (true, 0, Duration::ZERO),
        Confined::Warm { gap } => (true, 1, gap),
    };
    let extra = format!("[sandbox]\nenabled = {enabled}\nwarm_pool_size = {pool}\n");
    let echo = only_agent(agents_dir, "echo")?;
    let t0 = Instant::now();
    let m = ManagerProc::start_configured(bin, Some(echo.path()), &extra)?;
    let mut c = ClientServiceClient::new(connect_unix(&m.socket).await?);
    wait_for_agent(&mut c, "echo").await?;
    let start = t0.elapsed();
    let mut times = Vec::with_capacity(n);
    // The agent's first task starts its pool; it is not counted.
    for i in 0..=n {
        tokio::time::sleep(gap).await;
        let t = Instant::now();
        let task = c
            .submit_task(pb::SubmitTaskRequest {
                task_type: "echo.echo".into(),
                payload_json: "{\"message\": \"bench\"}".into(),
                ..Default::default()
            })
            .await?
            .into_inner()
            .task
            .context("task")?;
        let mut feed = c
            .subscribe(pb::SubscribeRequest {
                after_seq: Some(0),
                task_id: task.id.clone(),
                exclude_logs: true,
            })
            .await?
            .into_inner();
        while let Some(ev) = feed.message().await? {
            if let Some(pb::event::Body::TaskState(s)) = ev.body {
                if s.to == pb::TaskState::Completed as i32 {
                    break;
                }
                if s.to == pb::TaskState::Failed as i32
                    || s.to == pb::TaskState::DeadLettered as i32
                {
                    bail!("echo.echo ended {}: {}", s.to, s.reason);
                }
            }
        }
        if i > 0 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    Ok((start, pct(&times, 0.5), pct(&times, 0.99)))
}

/// The same bytes as the log benchmark, written over a raw Unix socket with a 64 KiB buffer.
fn raw_stream_bench(lines: u64) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raw.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path)?;
    let reader = std::thread::spawn(move || -> Result<u64> {
        let (s, _) = listener.accept()?;
        let mut r = BufReader::with_capacity(64 * 1024, s);
        let mut buf = [0u8; 64 * 1024];
        let mut count = 0;
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(count);
            }
            count += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
    });
    let t0 = Instant::now();
    let mut w = std::io::BufWriter::with_capacity(
        64 * 1024,
        std::os::unix::net::UnixStream::connect(&path)?,
    );
    let msg = "x".repeat(60);
    for s in 1..=lines {
        writeln!(w, "line {s} {msg}")?;
    }
    drop(w);
    let got = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    if got != lines {
        bail!("raw stream lost lines");
    }
    Ok(lines as f64 / t0.elapsed().as_secs_f64())
}

/// What each of [`many_clients`]' clients does once a second.
#[derive(Clone, Copy, PartialEq)]
enum Liveness {
    /// A simulated agent beating on its Work stream.
    Beats,
    /// A simulated agent calling Heartbeat.
    Calls,
    /// A bare health check (no agent).
    Health,
}

/// Manager CPU (% of one core) and RSS with `n` clients doing something once a second.
async fn many_clients(bin: &Path, n: usize, window: Duration, how: Liveness) -> Result<(f64, u64)> {
    let agents = how != Liveness::Health;
    let m = ManagerProc::start(bin)?;
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let socket = m.socket.clone();
        let stop = stop.clone();
        set.spawn(async move {
            let ch = connect_unix(&socket).await?;
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            if agents {
                let mut a = AgentServiceClient::new(ch);
                let reg = a
                    .register(sim_registration(format!("sim-{i}"), "bench.noop", 1))
                    .await?
                    .into_inner();
                let (mut work, beats) = open_work(&mut a, &reg.session_token).await?;
                let mut seq = 0;
                loop {
                    tokio::select! {
                        _ = tick.tick() => if how == Liveness::Calls {
                            a.heartbeat(pb::HeartbeatRequest { session_token: reg.session_token.clone(), load: 0.0, running_task_ids: vec![] }).await?;
                        } else {
                            seq += 1;
                            beats.send(pb::WorkRequest { session_token: String::new(), beat: Some(pb::Beat { seq, load: 0.0, running_task_ids: vec![] }) })?;
                        },
                        item = work.message() => if item?.is_none() {
                            bail!("the manager ended sim-{i}'s work stream");
                        },
                        _ = stop.notified() => return anyhow::Ok(()),
                    }
                }
            } else {
                loop {
                    tokio::select! {
                        _ = tick.tick() => health(ch.clone()).await?,
                        _ = stop.notified() => return anyhow::Ok(()),
                    }
                }
            }
        });
    }
    if agents {
        let mut c = ClientServiceClient::new(connect_unix(&m.socket).await?);
        wait_online(&mut c, n).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // let every client settle into its 1 s rhythm
    let (cpu0, _) = cpu_and_rss(m.pid())?;
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let (cpu1, rss) = cpu_and_rss(m.pid())?;
    let used = (cpu1 - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
    stop.notify_waiters();
    set.abort_all();
    Ok((used, rss))
}

async fn cold_start(bin: &Path) -> Result<Duration> {
    let t0 = Instant::now();
    let m = ManagerProc::start(bin)?;
    health(connect_unix(&m.socket).await?).await?;
    Ok(t0.elapsed())
}

#[tokio::main]
async fn main() -> Result<()> {
    let bin = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: hyperagent-bench PATH/TO/hyperagent")?,
    );
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    // 1,000 agents need more than the usual 1,024 open files, here and in the manager (which
    // inherits it).
    hyperagent_server::process::raise_fd_limit();
    let scale = |n: usize| if quick { n / 10 } else { n };
    // BENCH_ONLY=logs|dispatch|agents|start|sdk|sandbox runs one section (for profiling), or
    // several, comma-separated.
    let only = std::env::var("BENCH_ONLY").ok();
    let run = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|x| x == name))
    };
    println!("| figure | HyperAgent | bare transport (same run) | ratio |");
    println!("|---|---|---|---|");

    // Idle RSS and cold start first, on fresh managers.
    if run("start") {
        let mut starts = Vec::new();
        for _ in 0..5 {
            starts.push(cold_start(&bin).await?);
        }
        starts.sort();
        let idle = {
            let m = ManagerProc::start(&bin)?;
            health(connect_unix(&m.socket).await?).await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            cpu_and_rss(m.pid())?.1
        };
        println!("| manager idle RSS | {:.1} MB | – | – |", idle as f64 / 1e6);
        println!(
            "| cold start to healthy (median of 5) | {:.0} ms | – | – |",
            starts[2].as_secs_f64() * 1e3
        );
    }

    if run("dispatch") {
        let rtt = {
            let m = ManagerProc::start(&bin)?;
            bare_rtt(&m.socket, scale(5_000)).await?
        };
        for agents in [1usize, 8] {
            let f = dispatch_bench(&bin, agents, scale(2_000), scale(5_000)).await?;
            for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
                let (s, d, b) = (pct(&f.submit, p), pct(&f.dispatch, p), pct(&rtt, p));
                println!(
                "| {agents} agent(s): submit call {name} | {:.0} µs | {:.0} µs (empty call) | {:.2}x |",
                us(s),
                us(b),
                us(s) / us(b)
            );
                println!(
                "| {agents} agent(s): submit -> StartTask at agent {name} | {:.0} µs | {:.0} µs (empty call) | {:.2}x |",
                us(d),
                us(b),
                us(d) / us(b)
            );
            }
            let bare_rate = rtt.len() as f64 / rtt.iter().map(|d| d.as_secs_f64()).sum::<f64>();
            println!(
            "| {agents} agent(s): no-op tasks completed/s (64 in flight) | {:.0} | {:.0} empty calls/s (sequential) | {:.2}x |",
            f.throughput,
            bare_rate,
            f.throughput / bare_rate
        );
        }
    }
    if run("logs") {
        let lines = scale(1_000_000) as u64;
        let (rate, got) = log_bench(&bin, lines, 5_000, PIPELINE).await?;
        let raw = raw_stream_bench(lines)?;
        println!(
        "| log lines/s agent -> manager -> SQLite -> subscriber ({got} of {lines} arrived, in order) | {:.0} | {:.0} (raw Unix socket stream) | {:.2}x |",
        rate,
        raw,
        rate / raw
    );
    }
    // BENCH_AGENTS_DIR (e.g. agents/, with the venv's python3 on PATH): the same path from a real
    // Python agent, beside the simulated agent's figure from the same run.
    if let (true, Some(dir)) = (run("sdk"), std::env::var_os("BENCH_AGENTS_DIR")) {
        let lines = scale(200_000) as u64;
        let (sim, _) = log_bench(&bin, lines, 1_000, 1).await?;
        let (rate, got) = sdk_log_bench(&bin, Path::new(&dir), lines).await?;
        println!(
            "| log lines/s from a Python agent on the SDK ({got} of {lines} arrived, in order) | {rate:.0} | {sim:.0} (simulated Rust agent, same batches of 1,000, one in flight) | {:.2}x |",
            rate / sim
        );
    }
    if let (true, Some(dir)) = (run("sandbox"), std::env::var_os("BENCH_AGENTS_DIR")) {
        let n = scale(100).max(10);
        let dir = Path::new(&dir);
        let gap = Duration::from_millis(500);
        let (cs, c50, c99) = sandbox_bench(&bin, dir, Confined::Fresh, n).await?;
        let (_, w50, w99) = sandbox_bench(&bin, dir, Confined::Warm { gap }, n).await?;
        let (_, b50, b99) = sandbox_bench(
            &bin,
            dir,
            Confined::Warm {
                gap: Duration::ZERO,
            },
            n,
        )
        .await?;
        let (us_, u50, u99) = sandbox_bench(&bin, dir, Confined::No, n).await?;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| echo agent: manager start to agent online | {:.0} ms confined | {:.0} ms unconfined | {:.2}x |",
            ms(cs), ms(us_), ms(cs) / ms(us_)
        );
        for (name, c, w, b, u) in [("p50", c50, w50, b50, u50), ("p99", c99, w99, b99, u99)] {
            println!(
                "| echo.echo submit -> completed {name} ({n} tasks, {gap:?} apart) | {:.1} ms (warm confined task process) | {:.1} ms (unconfined, in the agent process) | {:.2}x |",
                ms(w), ms(u), ms(w) / ms(u)
            );
            println!(
                "| echo.echo submit -> completed {name} ({n} in a row) | {:.1} ms (warm pool of 1, back to back) | {:.1} ms (fresh confined task process) | {:.2}x |",
                ms(b), ms(c), ms(b) / ms(c)
            );
        }
    }
    if run("agents") {
        let n = scale(1_000);
        let window = Duration::from_secs(if quick { 3 } else { 10 });
        let (cpu, rss) = many_clients(&bin, n, window, Liveness::Beats).await?;
        let (ccpu, _) = many_clients(&bin, n, window, Liveness::Calls).await?;
        let (bcpu, brss) = many_clients(&bin, n, window, Liveness::Health).await?;
        println!(
        "| {n} agents beating on their Work stream every second: manager CPU | {cpu:.2}% of one core | {bcpu:.2}% ({n} clients, one empty call a second) | {:.2}x |",
        cpu / bcpu.max(0.01)
    );
        println!(
        "| {n} agents calling Heartbeat every second: manager CPU | {ccpu:.2}% of one core | {bcpu:.2}% ({n} clients, one empty call a second) | {:.2}x |",
        ccpu / bcpu.max(0.01)
    );
        println!(
            "| {n} agents heartbeating every second: manager RSS | {:.1} MB | {:.1} MB | {:.2}x |",
            rss as f64 / 1e6,
            brss as f64 / 1e6,
            rss as f64 / brss as f64
        );
    }
    Ok(())
}
