//! `hyperagent`: the headless manager (`serve`) and the command-line client. `main` only parses
//! arguments and starts the chosen command.
mod chat;
mod client;
mod commands;
mod output;
mod plans;
mod results;
mod term;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure not covered below (e.g. the database or a file could not be used)
  2  wrong command-line usage
  3  the manager cannot be reached (not running, or wrong --socket)
  4  no such task or agent
  5  the request was refused (invalid payload, unknown task type, bad config, task already ended, ...)
  6  --wait: the task ended but did not complete (failed, canceled, dead-lettered)
  7  serve: another manager already serves this socket or uses this data directory
  8  audit verify: the audit log was altered
  9  serve: a database write failed (e.g. the disk is full); nothing unsaved was acknowledged, and
     the next start reads the database back
 10  ask: the request was answered with a question (say it again more precisely)";

/// HyperAgent: a local manager that runs a team of agents for you.
#[derive(Parser, Debug)]
#[command(name = "hyperagent", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The manager's Unix socket (default: from the discovery file, else the configured socket).
    #[arg(long, global = true, env = "HYPERAGENT_SOCKET")]
    socket: Option<PathBuf>,
    /// Config file (default: $XDG_CONFIG_HOME/hyperagent/config.toml).
    #[arg(long, global = true, env = "HYPERAGENT_CONFIG")]
    config: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the manager in the foreground until SIGINT/SIGTERM.
    Serve {
        /// Start the agents whose manifests are in this folder (`<dir>/<name>/agent.toml`); repeatable.
        #[arg(long = "agents-dir")]
        agents_dir: Vec<PathBuf>,
        /// Start no agents, even those configured.
        #[arg(long)]
        no_agents: bool,
        /// Offer the project templates in this folder (`<dir>/<name>/copier.yml`), after those
        /// configured; repeatable.
        #[arg(long = "templates-dir")]
        templates_dir: Vec<PathBuf>,
        /// Also serve the web UI and its HTTP API on loopback; prints the URL to open (it carries
        /// the access token).
        #[arg(long)]
        web: bool,
        /// The web UI's address (default: web.address, 127.0.0.1:8765; port 0 takes a free one).
        #[arg(long, requires = "web")]
        web_address: Option<std::net::SocketAddr>,
    },
    /// The manager at a glance: dispatching or paused, agents online, tasks by state, the web UI.
    Status,
    /// Open the web UI in your browser, signed in (`--print`: only print its address, with the
    /// token, for another browser or machine).
    Ui {
        /// Print the address instead of opening it.
        #[arg(long)]
        print: bool,
    },
    /// Stop handing out new work (running tasks go on) until `resume`.
    Pause,
    /// Hand out work again after `pause`.
    Resume,
    /// List agents with status, load and capabilities.
    Agents,
    /// List task types with their payload schemas.
    Types,
    /// List project templates: name, status, folder, and why a broken one is broken.
    Templates {
        #[command(subcommand)]
        command: Option<TemplatesCommand>,
    },
    /// Submit a task.
    Submit(SubmitArgs),
    /// Make a project from a template (by the bootstrapper agent): check the answers, render,
    /// git commit, then install it, run its tests and start it once. Waits, showing progress.
    New(NewArgs),
    /// Update a project made from a template to a newer version of it, as `copier update` does:
    /// your changes are kept, merged into the new version; conflicts are left as markers (or
    /// `.rej` files) and listed. Asks before writing; `hyperagent rollback` undoes it. Nothing is
    /// committed: review with `git diff`, then commit.
    Update(UpdateArgs),
    /// Open a task's folder, or a path, in the editor (VS Code's `code` when on the manager's
    /// PATH, else the system opener). Paths outside the workspace root need an `open` rule.
    Open {
        /// A task id, or a path (relative to the current folder).
        target: String,
        /// Also show this file, relative to the folder (e.g. a finding's `src/app.py`).
        #[arg(long)]
        file: Option<String>,
        /// At this line of --file (1-based).
        #[arg(long, requires = "file")]
        line: Option<u32>,
        /// At this column of --file (1-based).
        #[arg(long, requires = "line")]
        column: Option<u32>,
    },
    /// What the router makes of a request in plain words: the steps it would run (task types,
    /// payloads, folders, order), the question it would ask, or why it would refuse. Runs nothing.
    Route {
        /// The request, e.g. "run the tests in shop on python 3.12".
        text: Vec<String>,
    },
    /// Do what a request in plain words asks: shows the plan it becomes (steps, the agent each
    /// would run on and why, the folder each touches, what will ask you first), asks whether to
    /// run it, then shows each step as it goes and one summary at the end. Exit code 6 when a
    /// step failed, 10 when the request was answered with a question, 5 when refused.
    Ask(AskArgs),
    /// Talk to the manager: one request per line, each knowing what came before it ("make a
    /// fastapi project called shop", then "run its tests"), shown as a plan, run once you say
    /// yes (at once with --mode auto) and followed to its summary. Saved as it goes: /sessions,
    /// /load, /save, /export, /mode, /budget (/help lists them); --resume goes on with one.
    Chat(ChatArgs),
    /// Plans made by `ask` (or the app's prompt bar): list, show, accept, reject, cancel, watch.
    Plans {
        #[command(subcommand)]
        command: Option<PlansCommand>,
    },
    /// Messages between agents, newest first: where each is, and why a dead letter was given up.
    Messages {
        /// Only those in this state: pending, delivered, acked or dead_lettered.
        #[arg(long)]
        state: Option<String>,
        /// Only those this agent sent or is sent.
        #[arg(long)]
        agent: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// List tasks, newest first.
    Tasks {
        /// Only tasks in this state (queued, running, completed, failed, ...); repeatable.
        #[arg(long)]
        state: Vec<String>,
        /// Only this task type.
        #[arg(long = "type")]
        task_type: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one task with its attempts and result.
    Task {
        /// Task id.
        id: String,
    },
    /// Print a task's log lines.
    Logs {
        /// Task id.
        id: String,
        /// Keep printing new lines until the task ends.
        #[arg(long, short)]
        follow: bool,
    },
    /// Cancel a task.
    Cancel {
        /// Task id.
        id: String,
        /// Why (recorded with the task).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Print the event feed.
    Events {
        /// Start after this sequence number (0 = from the oldest); default: only new events.
        #[arg(long)]
        after: Option<u64>,
        /// Only events about this task.
        #[arg(long)]
        task: Option<String>,
        /// Leave out log lines.
        #[arg(long)]
        no_logs: bool,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Restore the files a destructive action changed, exactly as they were before it.
    Rollback {
        /// The action id (tasks name it in their log; `--list` shows them all).
        #[arg(required_unless_present = "list")]
        action: Option<String>,
        /// List the destructive actions that can be rolled back, newest first.
        #[arg(long)]
        list: bool,
    },
    /// Secrets in the OS keychain, for agents that declare them (with your consent).
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Permission requests waiting for your answer.
    Consent {
        #[command(subcommand)]
        command: ConsentCommand,
    },
    /// Questions tasks asked you, waiting for your answer.
    Question {
        #[command(subcommand)]
        command: QuestionCommand,
    },
    /// Permission rules: what agents may touch beyond their task's workspace (deny wins).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The headless manager as a systemd user service: it starts with your session, serves the
    /// web UI, and the desktop app connects to it.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ServiceCommand {
    /// Where the service is: not installed, stopped, running (with its pid), failed.
    Status,
    /// Write the unit file (running this binary with `serve --web`, the config named with
    /// --config, and the bundled agents and templates when the config names none), enable it and
    /// start it.
    Install {
        /// Write and enable it only.
        #[arg(long)]
        no_start: bool,
    },
    /// Start it and wait until its manager answers.
    Start,
    /// Stop it (its agents and tasks stop with it; running tasks are resumed per
    /// tasks.on_manager_restart when it starts again).
    Stop,
    /// Stop and disable it and remove the unit file.
    Uninstall,
}

#[derive(Subcommand, Debug)]
enum TemplatesCommand {
    /// Print a template's answers schema (JSON Schema; `x-order` is the order of its questions).
    Show {
        /// The template's name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// List entries, oldest first.
    List {
        /// Only this task's entries.
        #[arg(long)]
        task: Option<String>,
        /// Only this actor's entries: `client`, `manager`, or an agent id.
        #[arg(long)]
        actor: Option<String>,
        /// Only entries whose action starts with this, e.g. `consent.` or `task.completed`.
        #[arg(long)]
        action: Option<String>,
        /// Newest first.
        #[arg(long)]
        newest_first: bool,
    },
    /// Check the hash chain; name every entry that was edited, deleted or moved (exit 8 if any).
    Verify,
    /// Print every entry as one JSON object per line.
    Export {
        /// JSON Lines (the only format; the flag makes scripts say what they expect).
        #[arg(long)]
        jsonl: bool,
    },
}

#[derive(Subcommand, Debug)]
enum SecretCommand {
    /// Store a secret; the value is read from stdin (typed without echo on a terminal), never
    /// from the command line.
    Set {
        /// Its name, e.g. GITHUB_TOKEN.
        name: String,
    },
    /// List the names of the stored secrets (values are never shown).
    List,
    /// Delete a secret.
    Delete {
        /// Its name.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum ConsentCommand {
    /// List the pending requests.
    List,
    /// Grant a request.
    Grant {
        /// Request id (from `consent list`).
        id: String,
        /// How far the yes reaches: this request only, the rest of its task, its agent from now
        /// on, or every agent from now on (the last two are rules `policy revoke` undoes).
        #[arg(long, value_enum, default_value_t = GrantScope::Once)]
        scope: GrantScope,
    },
    /// Deny a request.
    Deny {
        /// Request id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum QuestionCommand {
    /// List the pending questions.
    List,
    /// Answer a question: one of its choices when it offers any, else any text.
    Answer {
        /// Question id (from `question list`).
        id: String,
        /// The answer.
        answer: String,
    },
}

/// How far a grant reaches.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum GrantScope {
    /// This request only.
    Once,
    /// The rest of its task.
    Task,
    /// Its agent, from now on.
    Agent,
    /// Every agent, from now on.
    Always,
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// List the rules in force (and revoked ones with --all).
    List {
        /// Include revoked rules.
        #[arg(long)]
        all: bool,
    },
    /// Allow a permission (to every agent unless --agent is given).
    Allow(RuleArgs),
    /// Deny a permission; a deny wins over every allow it overlaps.
    Deny(RuleArgs),
    /// Revoke a rule by id.
    Revoke {
        /// Rule id (from `policy list`).
        id: String,
    },
}

/// A rule: one permission, for one agent or all.
#[derive(clap::Args, Debug)]
pub struct RuleArgs {
    #[command(flatten)]
    permission: Permission,
    /// Only for this agent.
    #[arg(long)]
    agent: Option<String>,
}

/// Exactly one of --read, --write, --connect, --open.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Permission {
    /// Read access beneath this absolute path.
    #[arg(long)]
    read: Option<String>,
    /// Read and write access beneath this absolute path.
    #[arg(long)]
    write: Option<String>,
    /// Connections to HOST:PORT through the egress proxy.
    #[arg(long)]
    connect: Option<String>,
    /// Opening this path (or beneath it) in the editor, outside the workspace root; relative
    /// paths are taken from the current folder.
    #[arg(long)]
    open: Option<String>,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Print the effective configuration (defaults, file and paths resolved).
    Show,
    /// Where new tasks' workspaces go: print it, or choose a folder (kept across restarts; made
    /// if missing; tasks already made keep theirs).
    WorkspaceRoot {
        /// The folder (relative paths are taken from the current folder).
        path: Option<PathBuf>,
        /// Go back to the config file's `paths.workspace_root`, or the default.
        #[arg(long, conflicts_with = "path")]
        reset: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Like any Unix tool: when the reader of a client command's output goes (`hyperagent tasks |
    // head -1`), stop quietly on SIGPIPE instead of panicking on the failed write. Never for
    // `serve`: a client that hangs up must cost the manager a failed write, not its life.
    if !matches!(cli.command, Command::Serve { .. }) {
        // SAFETY: restoring a signal's default disposition before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if matches!(cli.command, Command::Serve { .. }) {
        // Before the runtime's threads exist, so they all share it.
        hyperagent_core::secrets::join_session_keyring();
        hyperagent_core::secrets::choose_store();
        hyperagent_server::process::raise_fd_limit();
        hyperagent_server::process::limit_malloc_arenas();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hyperagent: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hyperagent: {}", term::text(&e.message));
            ExitCode::from(e.code)
        }
    }
}

/// `hyperagent submit`'s arguments.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Task type, e.g. echo.sleep.
    pub task_type: String,
    /// Payload as JSON (default {}).
    #[arg(long, conflicts_with = "payload_file")]
    pub payload: Option<String>,
    /// Read the payload from a file ("-" for stdin).
    #[arg(long)]
    pub payload_file: Option<PathBuf>,
    /// Submitting again with the same key returns the first task instead of a new one.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Run only on this agent.
    #[arg(long)]
    pub agent: Option<String>,
    /// Seconds one attempt may take (default: configured).
    #[arg(long)]
    pub timeout: Option<u32>,
    /// Attempts before giving up (default: configured).
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// The folder it works in, inside the workspace root (relative to it, e.g. `shop`, or
    /// absolute); default: a new folder named after the task.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Wait until the task ends, showing progress.
    #[arg(long)]
    pub wait: bool,
}

/// `hyperagent ask`'s arguments.
#[derive(Args, Debug)]
pub struct AskArgs {
    /// The request, e.g. "make a fastapi project called shop, run its tests and open it".
    #[arg(required = true)]
    pub text: Vec<String>,
    /// Run the plan without asking.
    #[arg(long, short)]
    pub yes: bool,
    /// Seconds the whole plan may take (default: planner.budget_secs).
    #[arg(long)]
    pub budget: Option<u32>,
    /// What the plan's language-model calls may cost, at router.model's prices (default:
    /// planner.money_budget; 0 there: no limit).
    #[arg(long)]
    pub money_budget: Option<f64>,
    /// Change a step before it runs: N:remove, N:folder=DIR or N:payload=JSON; repeatable.
    #[arg(long)]
    pub edit: Vec<EditArgs>,
}

/// `hyperagent chat`'s options.
#[derive(Args, Debug)]
pub struct ChatArgs {
    /// Go on with this saved conversation (`/sessions` lists them).
    #[arg(long)]
    pub resume: Option<String>,
    /// `preview` (show each plan and ask; the default) or `auto` (run plans that can run as
    /// they stand at once).
    #[arg(long)]
    pub mode: Option<String>,
    /// What to call a new conversation (default: the start of its first request).
    #[arg(long)]
    pub title: Option<String>,
    /// Most the new conversation's language-model calls may cost in all (0: no limit).
    #[arg(long)]
    pub money_budget: Option<f64>,
    /// Most language-model tokens the new conversation's tasks may use in all (0: no limit).
    #[arg(long)]
    pub token_budget: Option<u64>,
}

/// One `--edit` (checked when the plan is accepted).
#[derive(Clone, Debug)]
pub struct EditArgs(pub String);

impl std::str::FromStr for EditArgs {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(EditArgs(s.to_string()))
    }
}

#[derive(Subcommand, Debug)]
pub enum PlansCommand {
    /// Plans, newest first (the default).
    List {
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One plan: its steps, their agents and states, and its summary once ended.
    Show {
        /// Plan id.
        id: String,
    },
    /// Run a proposed plan, with changes, and follow it.
    Accept {
        /// Plan id.
        id: String,
        /// N:remove, N:folder=DIR or N:payload=JSON; repeatable.
        #[arg(long)]
        edit: Vec<EditArgs>,
    },
    /// Drop a proposed plan.
    Reject {
        /// Plan id.
        id: String,
        /// Why (recorded).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Cancel a running plan: its running steps are cancelled, the rest never start.
    Cancel {
        /// Plan id.
        id: String,
        /// Why (recorded).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Follow a plan until it ends.
    Watch {
        /// Plan id.
        id: String,
    },
}

/// `hyperagent update`'s arguments.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// The project: a folder of the workspace root (e.g. `shop`) or a path to one.
    pub project: String,
    /// The template version to update to (default: its latest release tag; `:current:` keeps
    /// the recorded version, to change answers only).
    #[arg(long)]
    pub vcs_ref: Option<String>,
    /// A new answer, KEY=VALUE; repeatable (the recorded answers stand for the others).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// How a conflict is left: `inline` markers in the file, or a `.rej` file beside it.
    #[arg(long, value_parser = ["inline", "rej"], default_value = "inline")]
    pub conflict: String,
    /// Show the changes and the conflicts as a diff; write nothing.
    #[arg(long)]
    pub preview: bool,
    /// Print the task id and return at once instead of waiting.
    #[arg(long)]
    pub no_wait: bool,
}

/// `hyperagent new`'s arguments.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The template: its name (`hyperagent templates`), an absolute path to a copier
    /// template, or an https git URL (asks before connecting).
    pub template: String,
    /// The folder to make it in, inside the workspace root (e.g. `shop`).
    pub folder: String,
    /// An answer to one of the template's questions, KEY=VALUE; repeatable
    /// (`hyperagent templates show NAME` lists them; unanswered ones take their defaults).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Show the files it would write and their diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow a folder that is not empty (you are asked first; it can be rolled back).
    #[arg(long)]
    pub overwrite: bool,
    /// Skip installing, testing and starting the new project.
    #[arg(long)]
    pub no_checks: bool,
    /// Skip `git init` and the first commit.
    #[arg(long)]
    pub no_git: bool,
    /// Open the project in the editor once it is made.
    #[arg(long)]
    pub open: bool,
    /// Print the task id and return at once instead of waiting.
    #[arg(long, conflicts_with = "open")]
    pub no_wait: bool,
}
