//! Every tunable of the manager, with its documented default, and nowhere else. Loaded from one TOML
//! file (`$XDG_CONFIG_HOME/hyperagent/config.toml` unless `--config` says otherwise); every key is
//! optional, unknown keys are refused. `hyperagent config show` prints the effective configuration.
//!
//! This file holds the sections and their defaults, and loading; `check.rs` the checks beyond
//! TOML's types, section by section; `paths.rs` the paths once their defaults are applied.
mod check;
mod paths;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use paths::{default_config_file, default_runtime_dir, ResolvedPaths};

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where things live on disk.
    pub paths: Paths,
    /// Listeners and wire limits.
    pub server: Server,
    /// Agent sessions and liveness.
    pub agents: Agents,
    /// Task defaults, retries and timeouts.
    pub tasks: Tasks,
    /// Child agent processes.
    pub supervisor: Supervisor,
    /// Kernel confinement of agents and their tasks.
    pub sandbox: Sandbox,
    /// Asking the person for permissions.
    pub consent: Consent,
    /// The egress proxy: the only network path out of a sandbox.
    pub egress: Egress,
    /// The database.
    pub store: Store,
    /// The event feed.
    pub feed: Feed,
    /// Project templates offered to clients.
    pub templates: Templates,
    /// Opening a folder in the editor.
    pub editor: Editor,
    /// The web UI and its HTTP API (`serve --web`).
    pub web: Web,
    /// The headless manager as a user service (`hyperagent service`, the app's Settings).
    pub service: Service,
    /// Turning plain words into tasks (`hyperagent ask`, the prompt bar).
    pub router: Router,
    /// Running plans: the steps a request became (`hyperagent ask`, the prompt bar).
    pub planner: Planner,
    /// Noticing a running task that has stopped getting anywhere (`crates/core/src/drift.rs`).
    pub drift: Drift,
    /// Messages between agents (`crates/core/src/message.rs`).
    pub messages: Messages,
    /// Traces exported to an OpenTelemetry collector (`crates/core/src/trace.rs`).
    pub telemetry: Telemetry,
}

/// Traces of what HyperAgent did, exported over OTLP to a collector the person runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Telemetry {
    /// The collector's OTLP/gRPC address, e.g. `http://127.0.0.1:4317` ("": nothing is exported).
    pub otlp_endpoint: String,
    /// The `service.name` the traces carry.
    pub service_name: String,
    /// How long one export may take.
    #[serde(with = "humantime_serde")]
    pub export_timeout: Duration,
    /// After a failed export, the wait before the next try doubles from 1 s up to this.
    #[serde(with = "humantime_serde")]
    pub retry_backoff_max: Duration,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            otlp_endpoint: String::new(),
            service_name: "hyperagent".into(),
            export_timeout: Duration::from_secs(10),
            retry_backoff_max: Duration::from_secs(60),
        }
    }
}

/// Messages between agents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Messages {
    /// A delivered message not acknowledged within this is delivered again.
    #[serde(with = "humantime_serde")]
    pub ack_timeout: Duration,
    /// Deliveries before a message is dead-lettered.
    pub max_deliveries: u32,
    /// Largest body, in bytes.
    pub max_body_bytes: u32,
    /// Most messages one agent may have awaiting delivery or acknowledgement; past it, a send
    /// is refused until some are handled (a flooding agent cannot grow the manager's memory).
    pub max_active_per_sender: u32,
    /// Most messages one agent may send in a minute, handled or not: each is stored and
    /// audited, and the audit log is never pruned, so a send-and-acknowledge loop must not grow
    /// it (or the database) at the speed of the machine.
    pub max_per_minute_per_sender: u32,
    /// Most messages waiting on one agent's Work stream unread; past it, the rest wait in the
    /// manager (stored, delivered once the agent reads): an agent that stops reading its stream
    /// cannot grow the manager's memory.
    pub max_unread_per_agent: u32,
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            ack_timeout: Duration::from_secs(30),
            max_deliveries: 5,
            max_body_bytes: 64 * 1024,
            max_active_per_sender: 1000,
            max_per_minute_per_sender: 600,
            max_unread_per_agent: 100,
        }
    }
}

/// What the manager does when it finds a task drifting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDrift {
    /// Say so: an event on the feed (the task's page shows it) and an audit entry.
    Warn,
    /// Say so, and cancel the task.
    Cancel,
}

/// Drift detection's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Drift {
    /// A running task that logs and reports nothing for this long is drifting ("0s": never).
    #[serde(with = "humantime_serde")]
    pub silent_after: Duration,
    /// A task logging the same line this many times in a row is drifting (0: never).
    pub repeat_lines: u32,
    /// `warn` or `cancel`.
    pub on_drift: OnDrift,
    /// Most times work may be handed from task to task along one chain; a hand-off past it is
    /// refused (a hand-off back to a task type already in the chain is drift before that).
    pub max_handoffs: u32,
    /// A task that used this many language-model tokens while nothing in its folder changed is
    /// drifting: burning its budget without doing anything (0: never).
    pub burn_tokens: u64,
    /// Most entries of a task's folder read to tell whether it changed (a bigger folder is
    /// judged by its first ones).
    pub burn_scan_entries: u32,
    /// A task's folder is looked at (for burning) at most once in this long, however many
    /// tokens its reports claim.
    #[serde(with = "humantime_serde")]
    pub burn_look_interval: Duration,
    /// Most drifts said of one task (events and audit entries); a task drifting in a loop says
    /// no more past it (the first already had `on_drift` act).
    pub max_flags_per_task: u32,
}

impl Default for Drift {
    fn default() -> Self {
        Drift {
            silent_after: Duration::from_secs(600),
            repeat_lines: 50,
            on_drift: OnDrift::Warn,
            max_handoffs: 8,
            burn_tokens: 50_000,
            burn_scan_entries: 100_000,
            burn_look_interval: Duration::from_secs(10),
            max_flags_per_task: 10,
        }
    }
}

/// The planner's settings (see `crates/core/src/plan.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Planner {
    /// Wall time a plan may take once accepted, in seconds, when the request names none.
    pub budget_secs: u32,
    /// The most a request may ask for.
    pub max_budget_secs: u32,
    /// A step's agent is the capable one with the highest reputation x this - price x
    /// `price_weight` - load x `load_weight`.
    pub reputation_weight: f64,
    /// See `reputation_weight`.
    pub price_weight: f64,
    /// See `reputation_weight`.
    pub load_weight: f64,
    /// Attempts a step gets, each on the next candidate agent when there is one.
    pub max_attempts: u32,
    /// Plans in one page of `ListPlans` at most.
    pub list_page_size: u32,
    /// A proposed plan nobody accepted or rejected within this long is dropped (rejected, as
    /// expired), so forgotten previews do not pile up.
    #[serde(with = "humantime_serde")]
    pub proposal_ttl: Duration,
    /// What a plan's language-model calls (its routing, its summary) may cost, in the currency
    /// of `router.model`'s prices, when the request names no budget; 0: no limit. Once spent, no
    /// further model call is made for the plan (its summary stays the stitched one).
    pub money_budget: f64,
}

impl Default for Planner {
    fn default() -> Self {
        Planner {
            budget_secs: 3600,
            max_budget_secs: 86400,
            reputation_weight: 0.7,
            price_weight: 0.3,
            load_weight: 0.2,
            max_attempts: 3,
            list_page_size: 50,
            proposal_ttl: Duration::from_secs(24 * 3600),
            money_budget: 0.0,
        }
    }
}

/// The offline intent router's settings (see `crates/core/src/router`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Router {
    /// A step is routed only when its best intent scores at least this (0 to 1); below it the
    /// request is refused, saying what can be done instead.
    pub min_score: f32,
    /// A later part of a composite request ("..., and review it") becomes a step of its own only
    /// when its best intent scores at least this; otherwise it belongs to the step before.
    pub split_min_score: f32,
    /// A one-step request whose second-best intent scores at least this share of the best is
    /// answered with a question (which of the two?) instead of a guess.
    pub clarify_ratio: f32,
    /// A one-step request is specific when one of its words is used by at most this many
    /// intents; otherwise ("check my project") it is answered with a question, or refused when
    /// most of its words are no intent's (see `min_known_share`).
    pub specific_within: usize,
    /// A short one-step request is specific only when one of its words is one intent's more
    /// than any other's: at least this share (0 to 1) of the phrasings using it are that
    /// intent's. Otherwise ("docs for crm", "fix shop") it is answered with a question.
    pub dominant_share: f32,
    /// A request of only shared words is refused when less than this share (0 to 1) of its
    /// words are any intent's words at all ("book a table for two").
    pub min_known_share: f32,
    /// How alike (character trigrams, 0 to 1) a misspelt word must be to a known one to count as
    /// it.
    pub fuzzy_likeness: f32,
    /// Longest request read, in bytes.
    pub max_request_bytes: usize,
    /// Most folders of the workspace root the router knows by name (the projects a request may
    /// name bare).
    pub max_folders: usize,
    /// A language model asked first, when one is configured; the offline router answers when it
    /// is not, or when the model is absent, slow or wrong.
    pub model: RouterModel,
}

/// The optional language model the router asks first (an OpenAI-compatible chat-completions
/// endpoint). The manager does not call it itself: it runs a `task_type` task (the `llm` agent's),
/// confined like any other, whose connection goes through the egress proxy (a rule, or the
/// person's consent) and whose key comes from the keychain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterModel {
    /// The endpoint's base URL (`http://127.0.0.1:8080/v1`, `https://api.openai.com/v1`); ""
    /// turns the model off.
    pub endpoint: String,
    /// The model's name, as the endpoint knows it.
    pub name: String,
    /// The keychain secret holding the endpoint's API key ("" sends none); the agent must declare
    /// it.
    pub key_secret: String,
    /// The agent the model tasks go to, and only it (the request and the plans' results are
    /// handed to no other agent that claims the task types).
    pub agent: String,
    /// The task type that asks the model to route a request; it is never routed to itself.
    pub task_type: String,
    /// The task type that asks the model to write an ended plan's summary (the stitched one
    /// stays when it cannot); never routed to either.
    pub summary_task_type: String,
    /// How long the model may take before the offline router answers instead.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Most steps a plan from the model may have.
    pub max_steps: u32,
    /// In a conversation, how many of its last requests (with what became of each) the model is
    /// given with the new one (0 to 16).
    pub context_turns: u32,
    /// What a million prompt tokens cost at the endpoint, in the person's currency (0: free, a
    /// local model); with `completion_price`, what a plan's model calls cost against its money
    /// budget (`planner.money_budget`).
    pub prompt_price: f64,
    /// What a million tokens the model writes cost (see `prompt_price`).
    pub completion_price: f64,
}

impl Default for RouterModel {
    fn default() -> Self {
        RouterModel {
            endpoint: String::new(),
            name: String::new(),
            key_secret: String::new(),
            agent: "llm".into(),
            task_type: "llm.route".into(),
            summary_task_type: "llm.summarize".into(),
            timeout: Duration::from_secs(30),
            max_steps: 8,
            context_turns: 6,
            prompt_price: 0.0,
            completion_price: 0.0,
        }
    }
}

impl Default for Router {
    fn default() -> Self {
        Router {
            min_score: 0.2,
            split_min_score: 0.35,
            specific_within: 2,
            dominant_share: 0.6,
            min_known_share: 0.5,
            clarify_ratio: 0.9,
            fuzzy_likeness: 0.6,
            max_request_bytes: 4096,
            max_folders: 5000,
            model: RouterModel::default(),
        }
    }
}

/// Where things live. Unset paths take XDG defaults (see [`Config::resolve`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    /// Database and workspaces. Default: `$XDG_DATA_HOME/hyperagent` (`~/.local/share/hyperagent`).
    pub data_dir: Option<PathBuf>,
    /// Socket, lock and discovery file. Default: `$XDG_RUNTIME_DIR/hyperagent`, or
    /// `/tmp/hyperagent-<uid>` when XDG_RUNTIME_DIR is unset.
    pub runtime_dir: Option<PathBuf>,
    /// Root of task workspaces. Default: `<data_dir>/workspaces`.
    pub workspace_root: Option<PathBuf>,
}

/// Listeners and wire limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// The Unix socket (mode 0600). Default: `<runtime_dir>/manager.sock`.
    pub socket: Option<PathBuf>,
    /// Optional TCP listener, e.g. "127.0.0.1:7077". Every call on it needs `authorization: Bearer <token>`.
    pub tcp: Option<SocketAddr>,
    /// Allow a TCP address that is not loopback (off by default: the API is for this machine).
    pub tcp_allow_remote: bool,
    /// The TCP bearer token; a random one per start when unset (written to the 0600 discovery file).
    pub tcp_token: Option<String>,
    /// Largest gRPC message accepted or sent, in bytes.
    pub max_message_bytes: u32,
    /// How long a client (the CLI) waits for the manager to answer a call (or a ping on a
    /// followed stream) before saying it is not answering.
    #[serde(with = "humantime_serde")]
    pub client_timeout: Duration,
    /// Most connections confined processes (agents, tasks) may hold open to the manager's socket
    /// at once; past it a new one from them is closed at once. The person's own clients (the CLI,
    /// the app) are not counted, so a flood from a sandbox leaves the manager reachable and with
    /// file descriptors to spare.
    pub max_confined_connections: u32,
    /// After a failed accept (no file descriptor left), the socket is not accepted on for this
    /// long, so the manager does not spin retrying it.
    #[serde(with = "humantime_serde")]
    pub accept_error_pause: Duration,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            socket: None,
            tcp: None,
            tcp_allow_remote: false,
            tcp_token: None,
            max_message_bytes: 4 * 1024 * 1024,
            client_timeout: Duration::from_secs(30),
            max_confined_connections: 256,
            accept_error_pause: Duration::from_millis(100),
        }
    }
}

/// Agent sessions and liveness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Agents {
    /// How often agents heartbeat.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// An agent silent this long goes offline and its tasks are re-queued.
    #[serde(with = "humantime_serde")]
    pub heartbeat_timeout: Duration,
    /// An agent that neither accepts nor rejects a task this long loses it to another agent.
    #[serde(with = "humantime_serde")]
    pub answer_timeout: Duration,
    /// Longest log line kept, in bytes; longer lines are cut and marked `truncated`.
    pub max_log_line_bytes: u32,
    /// Most log lines in one PushLogs call.
    pub max_log_batch_lines: u32,
    /// Most bytes of a task's own records stored: log lines (messages and fields), progress and
    /// model-call reports. Past it one log line says so and the rest are dropped, reports update
    /// the task without adding to its history, and the task goes on.
    pub max_log_bytes_per_task: u64,
    /// Longest progress step, result summary or error an agent may report, in bytes (cut and
    /// marked beyond).
    pub max_text_bytes: u32,
    /// Most example requests an agent may declare for one task type (each at most
    /// `max_text_bytes`).
    pub max_examples_per_type: u32,
    /// Longest payload schema an agent may declare for one task type, in bytes (its description
    /// is at most `max_text_bytes`).
    pub max_schema_bytes: u32,
    /// Most bytes of a task's result an agent may report: its output and its artifacts. Past it
    /// the output is replaced by a note saying so, and the artifacts that do not fit are left
    /// out (the task still ends as the agent said).
    pub max_result_bytes: u32,
    /// A log batch that arrives before the batch preceding it waits this long for it.
    #[serde(with = "humantime_serde")]
    pub log_order_wait: Duration,
}

impl Default for Agents {
    fn default() -> Self {
        Agents {
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(5),
            answer_timeout: Duration::from_secs(10),
            max_log_line_bytes: 16 * 1024,
            max_log_batch_lines: 10_000,
            max_log_bytes_per_task: 256 * 1024 * 1024,
            max_text_bytes: 16 * 1024,
            max_examples_per_type: 64,
            max_schema_bytes: 256 * 1024,
            max_result_bytes: 1024 * 1024,
            log_order_wait: Duration::from_secs(5),
        }
    }
}

/// What happens to tasks that were running when the manager stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartPolicy {
    /// Queue them again (counts as an attempt; dead-lettered when none are left).
    Requeue,
    /// Fail them with the reason.
    Fail,
}

/// Task defaults, retries and timeouts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tasks {
    /// Time allowed for one attempt when the submitter gives none.
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// Attempts allowed when the submitter gives none.
    pub default_max_attempts: u32,
    /// Largest attempts a submitter may ask for.
    pub max_attempts_limit: u32,
    /// First retry waits this long; each further retry twice as long.
    #[serde(with = "humantime_serde")]
    pub retry_backoff_base: Duration,
    /// Longest wait between retries.
    #[serde(with = "humantime_serde")]
    pub retry_backoff_max: Duration,
    /// After a cancel, time the agent has to stop before the task is marked canceled regardless
    /// (and a supervised agent's process is killed and restarted).
    #[serde(with = "humantime_serde")]
    pub cancel_grace: Duration,
    /// Tasks running when the manager stopped: `requeue` or `fail`.
    pub on_manager_restart: RestartPolicy,
    /// Largest payload accepted, in bytes.
    pub max_payload_bytes: u32,
    /// Default and largest page of ListTasks.
    pub list_page_size: u32,
    /// Default and largest page of GetLogs.
    pub log_page_size: u32,
    /// How often timeouts, backoffs and liveness are checked.
    #[serde(with = "humantime_serde")]
    pub tick_interval: Duration,
    /// Most language-model tokens one task may spend, as its agent reports its calls; past it
    /// the task is cancelled, saying so (0: no limit).
    pub max_model_tokens: u64,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            default_timeout: Duration::from_secs(3600),
            default_max_attempts: 3,
            max_attempts_limit: 20,
            retry_backoff_base: Duration::from_millis(500),
            retry_backoff_max: Duration::from_secs(60),
            cancel_grace: Duration::from_secs(5),
            on_manager_restart: RestartPolicy::Requeue,
            max_payload_bytes: 1024 * 1024,
            list_page_size: 200,
            log_page_size: 5_000,
            tick_interval: Duration::from_millis(100),
            max_model_tokens: 0,
        }
    }
}

/// Child agent processes started from manifests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Supervisor {
    /// Start the agents found in `agent_dirs`.
    pub enabled: bool,
    /// Folders holding one sub-folder per agent with an `agent.toml` manifest.
    pub agent_dirs: Vec<PathBuf>,
    /// First restart of a crashed agent waits this long; each further one twice as long.
    #[serde(with = "humantime_serde")]
    pub restart_backoff_base: Duration,
    /// Longest wait before a restart.
    #[serde(with = "humantime_serde")]
    pub restart_backoff_max: Duration,
    /// An agent that ran this long without crashing starts over at the base backoff.
    #[serde(with = "humantime_serde")]
    pub stable_after: Duration,
    /// On stop, time between SIGTERM and SIGKILL.
    #[serde(with = "humantime_serde")]
    pub stop_grace: Duration,
    /// Longest captured stdout/stderr line, in bytes.
    pub max_output_line_bytes: u32,
}

impl Default for Supervisor {
    fn default() -> Self {
        Supervisor {
            enabled: true,
            agent_dirs: Vec::new(),
            restart_backoff_base: Duration::from_millis(500),
            restart_backoff_max: Duration::from_secs(30),
            stable_after: Duration::from_secs(60),
            stop_grace: Duration::from_secs(5),
            max_output_line_bytes: 16 * 1024,
        }
    }
}

/// The egress proxy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Egress {
    /// Resolving and connecting to a granted host gives up after this long.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// A connection that has not sent its whole request head within this is closed.
    #[serde(with = "humantime_serde")]
    pub head_timeout: Duration,
    /// Most connections open through the proxy at once, from all tasks; past it a new one is
    /// closed at once.
    pub max_connections: u32,
}

impl Default for Egress {
    fn default() -> Self {
        Egress {
            connect_timeout: Duration::from_secs(10),
            head_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// Asking the person for permissions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Consent {
    /// A request nobody answers within this is denied.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Most requests one task may have waiting at once.
    pub max_pending_per_task: u32,
    /// Most requests one agent's tasks may have waiting at once, together: one agent running
    /// many tasks cannot take every place of `max_pending` (and bury the person's prompts).
    pub max_pending_per_agent: u32,
    /// Most requests waiting at once, all tasks together.
    pub max_pending: u32,
    /// Most permission checks (its own requests, and each connection through the egress proxy),
    /// decided by a rule or not, and questions one task may make in all: past it the task's
    /// asking is refused, so a task asking in a loop cannot fill the audit log (and the disk).
    pub max_requests_per_task: u32,
}

impl Default for Consent {
    fn default() -> Self {
        Consent {
            timeout: Duration::from_secs(300),
            max_pending_per_task: 8,
            max_pending_per_agent: 32,
            max_pending: 256,
            max_requests_per_task: 10_000,
        }
    }
}

/// What happens when this machine cannot confine agents (no Landlock ABI 6, no user namespaces).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenUnconfinable {
    /// Start no agent; say why.
    Refuse,
    /// Start them unconfined, with a loud warning at every start.
    RunUnconfined,
}

/// Kernel confinement of the processes the manager starts (see `sandbox.rs` and SECURITY.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sandbox {
    /// Confine agents and their tasks. Off, every agent runs unconfined, with its tasks on its own
    /// process, and a warning at every start (for debugging an agent; never for real work).
    pub enabled: bool,
    /// When the kernel cannot confine: refuse to start agents, or run them unconfined.
    pub when_unavailable: WhenUnconfinable,
    /// Accept agents that connect on their own (not started by this manager from a manifest).
    /// They cannot be confined, so they are refused unless this is set (e.g. while developing one).
    pub allow_unsupervised_agents: bool,
    /// Read-only for every confined process: system libraries, interpreters, certificates, and the
    /// few files of `/etc` programs need. Missing paths are skipped. Nothing else of the machine
    /// is readable: not the home folder, not the manager's data.
    pub read_paths: Vec<PathBuf>,
    /// Read-write device files every confined process gets.
    pub device_paths: Vec<PathBuf>,
    /// Largest file a task may write (the kernel's RLIMIT_FSIZE), in bytes.
    pub max_file_bytes: u64,
    /// Size of each confined process's private `/tmp` (a tmpfs, held in memory), in bytes. Its
    /// `TMPDIR` is a folder on disk beside it; `/tmp` is for programs that name it.
    pub tmp_bytes: u64,
    /// Most memory a task process and everything it starts may use together, in bytes (its
    /// cgroup's limit; over it the kernel kills, and the task fails saying so). 0: no limit.
    pub task_memory_bytes: u64,
    /// Most CPU a task may use, in percent of one core (its cgroup's quota). 0: no limit.
    pub task_cpu_percent: u32,
    /// Most processes and threads a task may have at once (its cgroup's `pids.max`). 0: no limit.
    pub task_max_processes: u32,
    /// Most bytes a task's workspace may hold while it runs (0: no limit); a task over it is
    /// stopped and fails.
    pub workspace_quota_bytes: u64,
    /// How often a running task's workspace is measured against the quota.
    #[serde(with = "humantime_serde")]
    pub quota_check_interval: Duration,
    /// First TCP port a confined process may bind and connect to on its own loopback (its network
    /// namespace has nothing else), e.g. for a project's dev server.
    pub local_port_first: u16,
    /// How many ports, from `local_port_first`.
    pub local_port_count: u16,
    /// The port of the egress relay inside each task's sandbox (`https_proxy` points there).
    pub proxy_port: u16,
    /// Warm task processes kept ready per confined agent (started, imports done, confined
    /// exactly as a task of theirs will be, waiting for one): a task then starts without a fresh
    /// interpreter. Kept only while the agent is in use: the first task of an agent starts them,
    /// and they go after `warm_pool_idle`. 0: every task gets a process started for it.
    pub warm_pool_size: u32,
    /// How long a warm task process waits for a task before it is stopped (the pool fills again
    /// with the agent's next task).
    #[serde(with = "humantime_serde")]
    pub warm_pool_idle: Duration,
}

impl Sandbox {
    /// The cgroup limits of a task process; `None` when all are off.
    pub fn task_limits(&self) -> Option<crate::cgroup::Limits> {
        let l = crate::cgroup::Limits {
            memory_bytes: self.task_memory_bytes,
            cpu_percent: self.task_cpu_percent,
            max_processes: self.task_max_processes,
        };
        (l != crate::cgroup::Limits::default()).then_some(l)
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        let paths = |v: &[&str]| v.iter().map(PathBuf::from).collect();
        Sandbox {
            enabled: true,
            when_unavailable: WhenUnconfinable::Refuse,
            allow_unsupervised_agents: false,
            read_paths: paths(&[
                "/usr",
                "/bin",
                "/sbin",
                "/lib",
                "/lib32",
                "/lib64",
                "/etc/alternatives",
                "/etc/ca-certificates",
                "/etc/ssl",
                "/etc/gitconfig",
                "/etc/group",
                "/etc/host.conf",
                "/etc/hosts",
                "/etc/ld.so.cache",
                "/etc/ld.so.conf",
                "/etc/ld.so.conf.d",
                "/etc/localtime",
                "/etc/mime.types",
                "/etc/nsswitch.conf",
                "/etc/os-release",
                "/etc/passwd",
                "/etc/python3",
                "/etc/python3.11",
                "/etc/resolv.conf",
                "/proc",
                "/sys/devices/system/cpu",
                "/dev/random",
                "/dev/urandom",
            ]),
            device_paths: paths(&["/dev/null", "/dev/zero", "/dev/full"]),
            max_file_bytes: 1024 * 1024 * 1024,
            tmp_bytes: 256 * 1024 * 1024,
            task_memory_bytes: 4 * 1024 * 1024 * 1024,
            task_cpu_percent: 100,
            task_max_processes: 1024,
            workspace_quota_bytes: 10 * 1024 * 1024 * 1024,
            quota_check_interval: Duration::from_secs(2),
            local_port_first: 8000,
            local_port_count: 100,
            proxy_port: 3128,
            warm_pool_size: 1,
            warm_pool_idle: Duration::from_secs(600),
        }
    }
}

/// The database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Store {
    /// Log lines, and acknowledged or dead-lettered messages between agents, older than this are
    /// deleted (task states, results and audit entries are kept).
    #[serde(with = "humantime_serde")]
    pub log_retention: Duration,
    /// How often old log lines are swept.
    #[serde(with = "humantime_serde")]
    pub retention_sweep_interval: Duration,
    /// Most rows written in one transaction.
    pub write_batch_rows: u32,
    /// How long a statement waits for a locked database.
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
    /// How long a commit waits, in all, while another connection holds the database's write
    /// lock (a retention step, a checkpoint, a person's `sqlite3` shell), trying again after
    /// each `busy_timeout`; past it the manager stops (nothing acknowledged is lost).
    #[serde(with = "humantime_serde")]
    pub write_lock_patience: Duration,
    /// How often committed pages are copied from the write-ahead log into the database (in the
    /// background, so commits never wait for it).
    #[serde(with = "humantime_serde")]
    pub checkpoint_interval: Duration,
    /// The write-ahead log is cut back to this size whenever a checkpoint empties it, so the space
    /// a burst of writes took is given back while the manager runs.
    pub wal_size_limit_bytes: u64,
    /// Bytes kept free on the disk holding the data directory: below this, new tasks and messages
    /// between agents are refused and log lines, progress and model-call reports dropped (each
    /// task's log says so), so that state changes and audit entries always have room.
    pub min_free_bytes: u64,
    /// How often the free space is read (at most).
    #[serde(with = "humantime_serde")]
    pub free_space_check_interval: Duration,
    /// The database's size bound: past it, the retention sweep deletes the log lines of the
    /// oldest ended tasks (leaving a line in each task's log that says so), then the oldest
    /// settled messages, until it is under.
    pub max_database_bytes: u64,
    /// Ended tasks older than this are deleted with their events (audit entries are kept).
    #[serde(with = "humantime_serde")]
    pub task_retention: Duration,
    /// Refusals of one kind (`token.refused`, `net.refused`, `client.refused`, `agent.refused`)
    /// audited one by one in a minute; past it they are counted, and one entry
    /// (`audit.suppressed`) says how many there were. The audit log is never pruned, and some of
    /// them need no credential to cause.
    pub audit_refusals_per_minute: u32,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            log_retention: Duration::from_secs(30 * 24 * 3600),
            retention_sweep_interval: Duration::from_secs(3600),
            write_batch_rows: 20_000,
            busy_timeout: Duration::from_secs(5),
            write_lock_patience: Duration::from_secs(120),
            checkpoint_interval: Duration::from_secs(1),
            wal_size_limit_bytes: 64 * 1024 * 1024,
            min_free_bytes: 64 * 1024 * 1024,
            free_space_check_interval: Duration::from_millis(500),
            max_database_bytes: 4 * 1024 * 1024 * 1024,
            task_retention: Duration::from_secs(180 * 24 * 3600),
            audit_refusals_per_minute: 600,
        }
    }
}

/// The event feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Feed {
    /// Live events buffered for subscribers; one that falls further behind catches up from the database.
    pub live_buffer: u32,
    /// Events read from the database per page when a subscriber catches up.
    pub replay_page: u32,
    /// Events queued per subscriber stream.
    pub subscriber_buffer: u32,
}

impl Default for Feed {
    fn default() -> Self {
        Feed {
            live_buffer: 65_536,
            replay_page: 5_000,
            subscriber_buffer: 4_096,
        }
    }
}

/// Project templates (copier's format) offered to clients; see `catalogue/`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Templates {
    /// Folders holding one sub-folder per template (`<dir>/<name>/copier.yml`), searched after
    /// `<data_dir>/templates` (always searched first); `serve --templates-dir` adds more. When two
    /// folders hold a template of the same name, the first one's is offered. Agents' task
    /// processes may read these folders (the bootstrapper renders from them): name folders of
    /// templates only.
    pub dirs: Vec<PathBuf>,
    /// After a change in a template folder, rescan once nothing more changed for this long (an
    /// editor's save or a `git checkout` is many changes).
    #[serde(with = "humantime_serde")]
    pub debounce: Duration,
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            dirs: Vec::new(),
            debounce: Duration::from_millis(200),
        }
    }
}

/// The web UI and its HTTP + SSE API, for a browser on this machine (`serve --web`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Web {
    /// Serve it (`serve --web` turns it on).
    pub enabled: bool,
    /// Loopback address and port (port 0: any free one; the URL printed and the discovery file
    /// say which).
    pub address: SocketAddr,
    /// The built UI (`ui/dist`). Default: `ui/dist` beside the binary's `../share/hyperagent`, or
    /// the source tree's when run from it.
    pub ui_dir: Option<PathBuf>,
    /// The desktop app's window composites the UI on the GPU (WebKit's default). Off (the
    /// default), WebKit draws it in software: its web process then holds ~100 MiB less, and a
    /// page of text and tables draws no slower (BENCHMARKS.md, "The desktop app and the UI").
    pub app_gpu_compositing: bool,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            enabled: false,
            address: SocketAddr::from(([127, 0, 0, 1], 8765)),
            ui_dir: None,
            app_gpu_compositing: false,
        }
    }
}

/// The headless manager installed as a systemd user service (`hyperagent service install`); the
/// desktop app detects it, and starts or stops it, through the same code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Service {
    /// The service manager's command, given `--user` and then the verb (`["systemctl"]`).
    pub systemctl: Vec<String>,
    /// The unit's name.
    pub unit: String,
    /// Where `install` writes the unit. Default: `$XDG_CONFIG_HOME/systemd/user`, where the
    /// systemd user manager reads a person's own units.
    pub unit_dir: Option<PathBuf>,
    /// How long one `systemctl` call may take.
    #[serde(with = "humantime_serde")]
    pub command_timeout: Duration,
    /// After starting the service, how long its manager may take to answer on its socket.
    #[serde(with = "humantime_serde")]
    pub ready_timeout: Duration,
    /// How often the socket is tried meanwhile.
    #[serde(with = "humantime_serde")]
    pub ready_poll: Duration,
}

impl Default for Service {
    fn default() -> Self {
        Service {
            systemctl: vec!["systemctl".into()],
            unit: "hyperagent.service".into(),
            unit_dir: None,
            command_timeout: Duration::from_secs(30),
            ready_timeout: Duration::from_secs(30),
            ready_poll: Duration::from_millis(100),
        }
    }
}

/// Opening a folder in the editor (`hyperagent open`, the app's "Open in VS Code").
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Editor {
    /// The editor's command, given the folder as its last argument, when it is on the manager's
    /// PATH (e.g. `["code"]`, `["codium"]`, `["code", "--new-window"]`); else the system's
    /// opener (`xdg-open`) opens the folder.
    pub command: Vec<String>,
    /// How long the editor's command may take to hand the folder over (VS Code's `code`
    /// returns once the window has it) before opening counts as failed.
    #[serde(with = "humantime_serde")]
    pub launch_timeout: Duration,
    /// The arguments after the folder that show a file at a line (a finding's `file:line`):
    /// `{file}` (absolute), `{line}` and `{column}` are filled in. VS Code's:
    /// `["--goto", "{file}:{line}:{column}"]`; empty = the folder only.
    pub goto: Vec<String>,
}

impl Default for Editor {
    fn default() -> Self {
        Editor {
            command: vec!["code".into()],
            launch_timeout: Duration::from_secs(30),
            goto: vec!["--goto".into(), "{file}:{line}:{column}".into()],
        }
    }
}

impl Config {
    /// The configuration a program runs with: the file named explicitly (it must exist), else the
    /// user's default config file when there is one, else all defaults.
    pub fn load_user(explicit: Option<&Path>) -> Result<Config> {
        match (explicit, default_config_file()) {
            (Some(p), _) => Config::load(p, true),
            (None, Some(p)) => Config::load(&p, false),
            (None, None) => Ok(Config::default()),
        }
    }

    /// Reads and checks a config file. A missing file at the default location means all defaults; a
    /// missing file named explicitly is an error.
    pub fn load(path: &Path, explicit: bool) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Config::default())
            }
            Err(e) => {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and checks TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| Error::Config {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        cfg.check().map_err(|message| Error::Config {
            path: origin.to_string(),
            message,
        })?;
        Ok(cfg)
    }

    /// The configuration with every path resolved, as TOML: what `config show` prints.
    pub fn effective_toml(&self) -> Result<String> {
        let p = self.resolve()?;
        let mut shown = self.clone();
        shown.paths.data_dir = Some(p.data_dir);
        shown.paths.runtime_dir = Some(p.runtime_dir);
        shown.paths.workspace_root = Some(p.workspace_root);
        shown.server.socket = Some(p.socket);
        shown.templates.dirs = p.template_dirs[1..].to_vec();
        if shown.server.tcp_token.is_some() {
            shown.server.tcp_token = Some("(set; not shown)".into());
        }
        toml::to_string_pretty(&shown).map_err(|e| Error::Config {
            path: "(effective)".into(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_all_defaults() {
        assert_eq!(Config::parse("", "x").unwrap(), Config::default());
    }

    #[test]
    fn durations_are_human_readable() {
        let c = Config::parse(
            "[agents]\nheartbeat_interval = \"250ms\"\nheartbeat_timeout = \"2s\"\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.agents.heartbeat_interval, Duration::from_millis(250));
        assert_eq!(c.agents.heartbeat_timeout, Duration::from_secs(2));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name_and_place() {
        let err = Config::parse("[agents]\nheartbeat_intervall = \"1s\"\n", "cfg.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("config cfg.toml: "), "{err}");
        assert!(err.contains("heartbeat_intervall"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(
            err.contains("heartbeat_interval"),
            "names the allowed keys: {err}"
        );
    }

    #[test]
    fn the_effective_config_parses_back_to_itself() {
        let mut c = Config::default();
        c.paths.data_dir = Some("/d".into());
        c.paths.runtime_dir = Some("/r".into());
        let shown = c.effective_toml().unwrap();
        let back = Config::parse(&shown, "shown").unwrap();
        assert_eq!(
            back.paths.workspace_root,
            Some(PathBuf::from("/d/workspaces"))
        );
        assert_eq!(back.server.socket, Some(PathBuf::from("/r/manager.sock")));
        assert_eq!(back.agents, c.agents);
        assert_eq!(back.tasks, c.tasks);
    }

    #[test]
    fn the_documented_example_is_exactly_the_defaults() {
        let doc = include_str!("../../../../docs/config.example.toml");
        let parsed = Config::parse(doc, "docs/config.example.toml").unwrap();
        assert_eq!(
            parsed,
            Config::default(),
            "docs/config.example.toml drifted from the defaults"
        );
    }
}
