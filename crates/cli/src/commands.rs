//! One function per command; each calls the manager (or runs it, for `serve`) and prints the result.
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use hyperagent_core::config::Config;
use hyperagent_proto::v1 as pb;
use pb::client_service_client::ClientServiceClient;
use tonic::transport::Channel;

use crate::client::{connect, socket_path, Failure};
use crate::output::{self, state_name};
use crate::term;
use crate::{
    AuditCommand, Cli, Command, ConfigCommand, ConsentCommand, GrantScope, NewArgs, PolicyCommand,
    QuestionCommand, RuleArgs, SecretCommand, ServiceCommand, SubmitArgs, TemplatesCommand,
    UpdateArgs,
};

type Client = ClientServiceClient<Channel>;

fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Runs the command; returns the exit code.
pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let cfg = Config::load_user(cli.config.as_deref())?;
    if let Some(done) = without_manager(&cli, &cfg).await {
        return done;
    }
    let socket = socket_path(cli.socket.as_deref(), &cfg)?;
    let mut c = connect(
        &socket,
        cfg.server.max_message_bytes as usize,
        cfg.server.client_timeout,
    )
    .await?;
    let json = cli.json;
    match cli.command {
        Command::Config {
            command: ConfigCommand::WorkspaceRoot { path, reset },
        } => workspace_root(&mut c, path, reset, json).await,
        Command::Serve { .. }
        | Command::Config { .. }
        | Command::Service { .. }
        | Command::Ui { .. } => {
            unreachable!("handled above")
        }
        Command::Status => {
            let s = c.get_status(pb::GetStatusRequest {}).await?.into_inner();
            print_status(&s, json);
            if !json {
                match crate::client::discovery(&cfg).and_then(|d| d.web) {
                    Some(w) => {
                        println!("  web UI:  {} (`hyperagent ui` opens it signed in)", w.url)
                    }
                    None => println!("  web UI:  not served (`hyperagent serve --web` serves it)"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pause | Command::Resume => {
            let paused = matches!(cli.command, Command::Pause);
            let s = c
                .set_paused(pb::SetPausedRequest { paused })
                .await?
                .into_inner();
            print_status(&s, json);
            Ok(ExitCode::SUCCESS)
        }
        Command::Agents => agents(&mut c, json).await,
        Command::Types => types(&mut c, json).await,
        Command::Templates { command } => templates(&mut c, command, json).await,
        Command::Submit(args) => {
            let wait = args.wait;
            submit(&mut c, submit_request(args)?, wait, json).await
        }
        Command::New(args) => {
            let (wait, open) = (!args.no_wait, args.open);
            new_project(&mut c, new_request(args)?, wait, open, json).await
        }
        Command::Update(args) => {
            let wait = !args.no_wait;
            new_project(&mut c, update_request(args)?, wait, false, json).await
        }
        Command::Open {
            target,
            file,
            line,
            column,
        } => {
            let at = pb::OpenPathRequest {
                file: file.unwrap_or_default(),
                line: line.unwrap_or(0),
                column: column.unwrap_or(0),
                ..Default::default()
            };
            open_in_editor(&mut c, target, at, json).await
        }
        Command::Tasks {
            state,
            task_type,
            limit,
        } => tasks(&mut c, state, task_type, limit, json).await,
        Command::Task { id } => show_task(&mut c, id, json).await,
        Command::Messages {
            state,
            agent,
            limit,
        } => messages(&mut c, state, agent, limit, json).await,
        Command::Route { text } => route(&mut c, text.join(" "), json).await,
        Command::Ask(args) => crate::plans::ask(&mut c, args, json).await,
        Command::Chat(args) => crate::chat::chat(&mut c, args).await,
        Command::Plans { command } => crate::plans::plans(&mut c, command, json).await,
        Command::Logs { id, follow } => logs(&mut c, id, follow, json).await,
        Command::Cancel { id, reason } => cancel(&mut c, id, reason, json).await,
        Command::Events {
            after,
            task,
            no_logs,
        } => events(&mut c, after, task, no_logs, json).await,
        Command::Audit { command } => audit(&mut c, command, json).await,
        Command::Policy { command } => policy(&mut c, command, json).await,
        Command::Consent { command } => consent(&mut c, command, json).await,
        Command::Question { command } => question(&mut c, command, json).await,
        Command::Rollback { action, list } => rollback(&mut c, action, list, json).await,
        Command::Secret { command } => secret(&mut c, command, json).await,
    }
}

/// The commands that need no running manager: `serve`, `config show`, `service`.
async fn without_manager(cli: &Cli, cfg: &Config) -> Option<Result<ExitCode, Failure>> {
    match &cli.command {
        Command::Serve {
            agents_dir,
            no_agents,
            templates_dir,
            web,
            web_address,
        } => {
            let mut cfg = cfg.clone();
            cfg.templates.dirs.extend(templates_dir.iter().cloned());
            cfg.web.enabled |= *web;
            if let Some(a) = web_address {
                cfg.web.address = *a;
            }
            if let Err(e) = cfg.check() {
                return Some(Err(Failure::new(5, e)));
            }
            Some(serve(cfg, cli.socket.clone(), agents_dir.clone(), *no_agents).await)
        }
        Command::Config {
            command: ConfigCommand::Show,
        } => Some(cfg.effective_toml().map_err(Failure::from).map(|t| {
            print!("{t}");
            ExitCode::SUCCESS
        })),
        Command::Service { command } => Some(service(command, cli, cfg).await),
        Command::Ui { print } => Some(web_ui(cfg, *print, cli.json)),
        _ => None,
    }
}

/// `hyperagent ui [--print]`: the web UI's address from the running manager's discovery file,
/// with its token (opening it once signs the browser in), opened or printed.
fn web_ui(cfg: &Config, print: bool, json: bool) -> Result<ExitCode, Failure> {
    let Some(d) = crate::client::discovery(cfg) else {
        return Err(Failure::new(
            3,
            "no manager is running (start it with `hyperagent serve --web`, or the desktop app)",
        ));
    };
    let Some(web) = d.web else {
        return Err(Failure::new(
            3,
            format!(
                "the manager (pid {}) serves no web UI; start it with `hyperagent serve --web`",
                d.pid
            ),
        ));
    };
    let url = format!("{}?token={}", web.url, web.token);
    if json {
        print_json(&serde_json::json!({"url": web.url, "signed_in_url": url}));
    } else if print {
        println!("{url}");
    } else {
        open::that_detached(&url).map_err(|e| {
            Failure::new(
                1,
                format!("no browser could be opened ({e}); open this address yourself: {url}"),
            )
        })?;
        println!("opened {} in your browser", web.url);
    }
    Ok(ExitCode::SUCCESS)
}

/// `hyperagent config workspace-root [PATH | --reset]`.
async fn workspace_root(
    c: &mut Client,
    path: Option<std::path::PathBuf>,
    reset: bool,
    json: bool,
) -> Result<ExitCode, Failure> {
    let s = if path.is_none() && !reset {
        c.get_status(pb::GetStatusRequest {}).await?.into_inner()
    } else {
        let path = match path {
            Some(p) => std::path::absolute(&p)
                .map_err(|e| Failure::new(2, format!("{}: {e}", p.display())))?
                .display()
                .to_string(),
            None => String::new(),
        };
        c.set_workspace_root(pb::SetWorkspaceRootRequest { path })
            .await?
            .into_inner()
    };
    if json {
        print_json(&serde_json::json!({
            "workspace_root": s.workspace_root,
            "source": s.workspace_root_source,
        }));
    } else {
        println!("{} (from {})", s.workspace_root, s.workspace_root_source);
    }
    Ok(ExitCode::SUCCESS)
}

/// `hyperagent submit`'s request.
fn submit_request(a: SubmitArgs) -> Result<pb::SubmitTaskRequest, Failure> {
    let payload = match (a.payload, a.payload_file) {
        (Some(p), _) => p,
        (None, Some(f)) => read_payload(&f)?,
        (None, None) => "{}".to_string(),
    };
    Ok(pb::SubmitTaskRequest {
        task_type: a.task_type,
        payload_json: payload,
        idempotency_key: a.idempotency_key.unwrap_or_default(),
        pin_agent: a.agent.unwrap_or_default(),
        timeout_secs: a.timeout.unwrap_or(0),
        max_attempts: a.max_attempts.unwrap_or(0),
        workspace: a.workspace.unwrap_or_default(),
    })
}

/// `hyperagent new`'s request: a `bootstrap.project` task.
fn new_request(a: NewArgs) -> Result<pb::SubmitTaskRequest, Failure> {
    let payload = serde_json::json!({
        "template": a.template,
        "answers": answers(&a.set)?,
        "dry_run": a.dry_run,
        "overwrite": a.overwrite,
        "checks": !a.no_checks,
        "git": !a.no_git,
    });
    Ok(pb::SubmitTaskRequest {
        task_type: "bootstrap.project".into(),
        payload_json: payload.to_string(),
        workspace: a.folder,
        ..Default::default()
    })
}

fn update_request(a: UpdateArgs) -> Result<pb::SubmitTaskRequest, Failure> {
    let mut payload = serde_json::json!({
        "data": answers(&a.set)?,
        "conflict": a.conflict,
        "preview": a.preview,
    });
    if let Some(r) = a.vcs_ref {
        payload["vcs_ref"] = r.into();
    }
    // A path that exists here is the project; otherwise a folder of the workspace root.
    let workspace = if std::path::Path::new(&a.project).exists() {
        absolute(&a.project)?
    } else {
        a.project
    };
    Ok(pb::SubmitTaskRequest {
        task_type: "project.update".into(),
        payload_json: payload.to_string(),
        workspace,
        ..Default::default()
    })
}

/// `hyperagent task ID`.
async fn show_task(c: &mut Client, id: String, json: bool) -> Result<ExitCode, Failure> {
    let t = c
        .get_task(pb::GetTaskRequest { task_id: id })
        .await?
        .into_inner();
    if json {
        print_json(&output::task_json(&t));
    } else {
        print!("{}", output::task_text(&t));
    }
    Ok(ExitCode::SUCCESS)
}

/// `hyperagent cancel ID`.
async fn cancel(
    c: &mut Client,
    id: String,
    reason: String,
    json: bool,
) -> Result<ExitCode, Failure> {
    let t = c
        .cancel_task(pb::CancelTaskRequest {
            task_id: id,
            reason,
        })
        .await?
        .into_inner();
    if json {
        print_json(&output::task_json(&t));
    } else {
        println!(
            "task {} {}: {}",
            t.id,
            state_name(t.state),
            term::line(&t.status_reason)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn secret(c: &mut Client, cmd: SecretCommand, json: bool) -> Result<ExitCode, Failure> {
    match cmd {
        SecretCommand::Set { name } => {
            let value = read_secret_value(&name)?;
            c.set_secret(pb::SetSecretRequest {
                name: name.clone(),
                value,
            })
            .await?;
            if json {
                print_json(&serde_json::json!({ "name": name, "stored": true }));
            } else {
                println!("secret `{name}` stored in the keychain");
            }
        }
        SecretCommand::Delete { name } => {
            c.delete_secret(pb::DeleteSecretRequest { name: name.clone() })
                .await?;
            if json {
                print_json(&serde_json::json!({ "name": name, "deleted": true }));
            } else {
                println!("secret `{name}` deleted");
            }
        }
        SecretCommand::List => {
            let r = c
                .list_secrets(pb::ListSecretsRequest {})
                .await?
                .into_inner();
            let list = r.secrets;
            if json {
                print_json(&serde_json::Value::Array(
                    list.iter()
                        .map(|s| serde_json::json!({"name": s.name, "updated_at": output::time(s.updated_at.as_ref())}))
                        .collect(),
                ));
            } else {
                let store = match r.store.as_str() {
                    "secret-service" => "the desktop keychain (Secret Service)".to_string(),
                    "keyutils" => "the kernel key store (forgets them on reboot)".to_string(),
                    other => other.to_string(),
                };
                println!("secrets are kept in {store}");
                if list.is_empty() {
                    println!("no secrets stored");
                }
                for s in &list {
                    println!("{:<32} set {}", s.name, output::time(s.updated_at.as_ref()));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A secret's value from stdin: on a terminal, asked for with echo off; otherwise the whole of
/// stdin without its final newline.
fn read_secret_value(name: &str) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    let value = if stdin.is_terminal() {
        eprint!("value of {name} (not shown): ");
        let _echo = EchoOff::new();
        let mut line = String::new();
        stdin
            .read_line(&mut line)
            .map_err(|e| Failure::new(2, format!("reading the value: {e}")))?;
        eprintln!();
        line
    } else {
        let mut all = String::new();
        stdin
            .lock()
            .read_to_string(&mut all)
            .map_err(|e| Failure::new(2, format!("reading the value from stdin: {e}")))?;
        all
    };
    let value = value.strip_suffix('\n').unwrap_or(&value);
    let value = value.strip_suffix('\r').unwrap_or(value).to_string();
    if value.is_empty() {
        return Err(Failure::new(2, format!(
            "no value given for secret `{name}`; type it, or pipe it: printf %s VALUE | hyperagent secret set {name}"
        )));
    }
    Ok(value)
}

/// Turns terminal echo off until dropped. By hand with termios: two libc calls, no crate needed.
struct EchoOff(Option<libc::termios>);

impl EchoOff {
    fn new() -> EchoOff {
        // SAFETY: termios calls on stdin with a zeroed struct the kernel fills in.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return EchoOff(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            EchoOff(Some(saved))
        }
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

async fn rollback(
    c: &mut Client,
    action: Option<String>,
    list: bool,
    json: bool,
) -> Result<ExitCode, Failure> {
    let shown = match (list, action) {
        (false, Some(id)) => vec![c
            .rollback_action(pb::RollbackActionRequest { id })
            .await?
            .into_inner()],
        _ => {
            c.list_actions(pb::ListActionsRequest {})
                .await?
                .into_inner()
                .actions
        }
    };
    if json {
        let v: Vec<_> = shown.iter().map(output::action_json).collect();
        print_json(&if list {
            serde_json::Value::Array(v)
        } else {
            v[0].clone()
        });
    } else if shown.is_empty() {
        println!("no destructive actions recorded");
    } else {
        for a in &shown {
            println!("{}", output::action_text(a));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn question(c: &mut Client, cmd: QuestionCommand, json: bool) -> Result<ExitCode, Failure> {
    let done = match cmd {
        QuestionCommand::List => {
            let list = c
                .list_questions(pb::ListQuestionsRequest {})
                .await?
                .into_inner()
                .questions;
            if json {
                print_json(&serde_json::Value::Array(
                    list.iter().map(output::question_json).collect(),
                ));
            } else if list.is_empty() {
                println!("no questions are waiting");
            } else {
                for x in &list {
                    println!("{}", output::question_text(x));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        QuestionCommand::Answer { id, answer } => c
            .answer_question(pb::AnswerQuestionRequest { id, answer })
            .await?
            .into_inner(),
    };
    if json {
        print_json(&output::question_json(&done));
    } else {
        println!("{}", output::question_text(&done));
    }
    Ok(ExitCode::SUCCESS)
}

async fn consent(c: &mut Client, cmd: ConsentCommand, json: bool) -> Result<ExitCode, Failure> {
    let answer = |id: String, a: pb::ConsentAnswer| pb::AnswerConsentRequest {
        id,
        answer: a as i32,
    };
    let done = match cmd {
        ConsentCommand::List => {
            let list = c
                .list_consents(pb::ListConsentsRequest {})
                .await?
                .into_inner()
                .consents;
            if json {
                print_json(&serde_json::Value::Array(
                    list.iter().map(output::consent_json).collect(),
                ));
            } else if list.is_empty() {
                println!("no permission requests are waiting");
            } else {
                for x in &list {
                    println!("{}", output::consent_text(x));
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        ConsentCommand::Grant { id, scope } => {
            let a = match scope {
                GrantScope::Once => pb::ConsentAnswer::Once,
                GrantScope::Task => pb::ConsentAnswer::Task,
                GrantScope::Agent => pb::ConsentAnswer::Agent,
                GrantScope::Always => pb::ConsentAnswer::Always,
            };
            c.answer_consent(answer(id, a)).await?.into_inner()
        }
        ConsentCommand::Deny { id } => c
            .answer_consent(answer(id, pb::ConsentAnswer::Deny))
            .await?
            .into_inner(),
    };
    if json {
        print_json(&output::consent_json(&done));
    } else {
        println!("{}", output::consent_text(&done));
    }
    Ok(ExitCode::SUCCESS)
}

async fn policy(c: &mut Client, cmd: PolicyCommand, json: bool) -> Result<ExitCode, Failure> {
    let show = |r: &pb::PolicyRule| {
        if json {
            print_json(&output::rule_json(r));
        } else {
            println!("{}", output::rule_text(r));
        }
    };
    match cmd {
        PolicyCommand::List { all } => {
            let rules = c
                .list_policy_rules(pb::ListPolicyRulesRequest {
                    include_revoked: all,
                })
                .await?
                .into_inner()
                .rules;
            if json {
                print_json(&serde_json::Value::Array(
                    rules.iter().map(output::rule_json).collect(),
                ));
            } else if rules.is_empty() {
                println!("no permission rules: agents reach only their task's workspace");
            } else {
                for r in &rules {
                    println!("{}", output::rule_text(r));
                }
            }
        }
        PolicyCommand::Allow(a) => show(&add_rule(c, a, pb::PolicyDecision::Allow).await?),
        PolicyCommand::Deny(a) => show(&add_rule(c, a, pb::PolicyDecision::Deny).await?),
        PolicyCommand::Revoke { id } => show(
            &c.revoke_policy_rule(pb::RevokePolicyRuleRequest { id })
                .await?
                .into_inner(),
        ),
    }
    Ok(ExitCode::SUCCESS)
}

async fn add_rule(
    c: &mut Client,
    a: RuleArgs,
    decision: pb::PolicyDecision,
) -> Result<pb::PolicyRule, Failure> {
    let p = a.permission;
    let (kind, target) = match (p.read, p.write, p.connect, p.open) {
        (Some(p), ..) => ("read", p),
        (_, Some(p), ..) => ("write", p),
        (_, _, Some(t), _) => ("connect", t),
        (.., Some(p)) => ("open", absolute(&p)?),
        _ => unreachable!("clap requires one of --read, --write, --connect, --open"),
    };
    Ok(c.add_policy_rule(pb::AddPolicyRuleRequest {
        agent: a.agent.unwrap_or_default(),
        kind: kind.into(),
        target,
        decision: decision as i32,
    })
    .await?
    .into_inner())
}

fn read_payload(f: &PathBuf) -> Result<String, Failure> {
    let mut s = String::new();
    if f.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::new(1, format!("reading the payload from stdin: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(f)
        .map_err(|e| Failure::new(5, format!("reading payload file {}: {e}", f.display())))
}

async fn serve(
    mut cfg: Config,
    socket: Option<PathBuf>,
    agents_dir: Vec<PathBuf>,
    no_agents: bool,
) -> Result<ExitCode, Failure> {
    if socket.is_some() {
        cfg.server.socket = socket;
    }
    cfg.supervisor.agent_dirs.extend(agents_dir);
    if no_agents {
        cfg.supervisor.enabled = false;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HYPERAGENT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // The handlers are installed now, before the manager says it is ready: a SIGTERM that comes
    // right after "ready" must stop it cleanly, not kill it (a future installs nothing until it
    // is first polled).
    use tokio::signal::unix::{signal, SignalKind};
    let watch = |kind: SignalKind, name: &str| {
        signal(kind)
            .map_err(|e| tracing::error!(error = %e, "cannot watch {name}"))
            .ok()
    };
    let (mut term, mut int) = (
        watch(SignalKind::terminate(), "SIGTERM"),
        watch(SignalKind::interrupt(), "SIGINT"),
    );
    let shutdown = async move {
        tokio::select! {
            _ = received(&mut term) => {},
            _ = received(&mut int) => {},
        }
    };
    hyperagent_server::server::run(cfg, shutdown, |ready, _| {
        let tcp = ready.tcp.map(|a| format!(", tcp {a} (bearer token in the discovery file)")).unwrap_or_default();
        tracing::info!("hyperagent manager ready on {}{tcp}", ready.socket.display());
        if let Some(url) = &ready.web_url {
            eprintln!("\n    HyperAgent web UI: {url}\n");
        }
        // One machine-readable line on stdout, for scripts and tests that start the manager.
        println!(
            "{}",
            serde_json::json!({"ready": true, "socket": ready.socket, "discovery": ready.discovery, "pid": std::process::id(), "web_url": ready.web_url})
        );
        let _ = std::io::stdout().flush();
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The next signal of a watched kind; never, when it could not be watched.
async fn received(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

async fn agents(c: &mut Client, json: bool) -> Result<ExitCode, Failure> {
    let list = c
        .list_agents(pb::ListAgentsRequest {})
        .await?
        .into_inner()
        .agents;
    if json {
        print_json(&serde_json::Value::Array(
            list.iter().map(output::agent_json).collect(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("no agents have registered yet");
    }
    for a in &list {
        let online = a.status == pb::AgentStatus::Online as i32;
        println!(
            "{:<20} {:<8} {:<10} load {:>3.0}% tasks {}/{} ok {} failed {} restarts {}  {}",
            term::line(&a.id),
            if online { "online" } else { "offline" },
            if a.confined { "confined" } else { "UNCONFINED" },
            a.load * 100.0,
            a.running_task_ids.len(),
            a.max_concurrency,
            a.tasks_succeeded,
            a.tasks_failed,
            a.restarts,
            term::line(
                &a.capabilities
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        );
        if !online && !a.status_reason.is_empty() {
            println!("{:<20} ({})", "", term::line(&a.status_reason));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Example requests `hyperagent types` shows under each type (`--json` gives them all).
const EXAMPLES_SHOWN: usize = 2;

/// `hyperagent types`: the task types the agents offer, with example requests.
async fn types(c: &mut Client, json: bool) -> Result<ExitCode, Failure> {
    let list = c
        .list_task_types(pb::ListTaskTypesRequest {})
        .await?
        .into_inner()
        .task_types;
    if json {
        let v: Vec<serde_json::Value> = list
            .iter()
            .map(|t| {
                let tt = t.task_type.clone().unwrap_or_default();
                serde_json::json!({
                    "name": tt.name,
                    "description": tt.description,
                    "payload_schema": serde_json::from_str::<serde_json::Value>(&tt.payload_schema_json).unwrap_or_default(),
                    "examples": tt.examples,
                    "agent_ids": t.agent_ids,
                    "available": t.available,
                })
            })
            .collect();
        print_json(&serde_json::Value::Array(v));
        return Ok(ExitCode::SUCCESS);
    }
    for t in &list {
        let tt = t.task_type.clone().unwrap_or_default();
        println!(
            "{:<24} {:<12} {}  (agents: {})",
            term::line(&tt.name),
            if t.available {
                "available"
            } else {
                "unavailable"
            },
            term::line(&tt.description),
            term::line(&t.agent_ids.join(", "))
        );
        for e in tt.examples.iter().take(EXAMPLES_SHOWN) {
            println!("{:<24} e.g. \"{}\"", "", term::line(e));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn templates(
    c: &mut Client,
    cmd: Option<TemplatesCommand>,
    json: bool,
) -> Result<ExitCode, Failure> {
    let list = c
        .list_templates(pb::ListTemplatesRequest {})
        .await?
        .into_inner()
        .templates;
    if let Some(TemplatesCommand::Show { name }) = cmd {
        let t = list.iter().find(|t| t.name == name).ok_or_else(|| {
            Failure::new(
                4,
                format!("no template named `{name}`; `hyperagent templates` lists them"),
            )
        })?;
        if json {
            print_json(&output::template_json(t));
            return Ok(ExitCode::SUCCESS);
        }
        if !t.answers_schema_json.is_empty() {
            println!("{}", output::pretty_json(&t.answers_schema_json));
        }
        if t.status != pb::TemplateStatus::Ok as i32 {
            eprintln!(
                "template `{}` is broken:\n{}",
                term::line(&t.name),
                term::text(&t.error)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    if json {
        print_json(&serde_json::Value::Array(
            list.iter().map(output::template_json).collect(),
        ));
    } else if list.is_empty() {
        println!(
            "no templates found; put them in <data_dir>/templates/<name>/ (with a copier.yml), or pass serve --templates-dir"
        );
    } else {
        print!("{}", output::templates_text(&list));
    }
    Ok(ExitCode::SUCCESS)
}

async fn submit(
    c: &mut Client,
    req: pb::SubmitTaskRequest,
    wait: bool,
    json: bool,
) -> Result<ExitCode, Failure> {
    let resp = c.submit_task(req).await?.into_inner();
    let task = resp.task.unwrap_or_default();
    if !wait {
        if json {
            let mut v = output::task_json(&task);
            v["created"] = serde_json::json!(resp.created);
            print_json(&v);
        } else if resp.created {
            println!("{}", task.id);
        } else {
            println!("{} (already submitted with this idempotency key)", task.id);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let end = wait_for(c, &task.id, json).await?;
    if json {
        print_json(&output::task_json(&end));
    } else {
        print!("{}", output::task_text(&end));
    }
    Ok(if end.state == pb::TaskState::Completed as i32 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(6)
    })
}

fn print_status(s: &pb::ManagerStatus, json: bool) {
    if json {
        print_json(&serde_json::to_value(s).unwrap_or_default());
        return;
    }
    println!(
        "manager {} (pid {}): {}\n  agents:  {} online of {}\n  tasks:   {} running, {} queued, {} awaiting consent\n  workspaces: {} (from {})",
        s.version,
        s.pid,
        if s.paused { "PAUSED (no new work is handed out; `hyperagent resume`)" } else { "dispatching" },
        s.agents_online,
        s.agents_known,
        s.tasks_running,
        s.tasks_queued,
        s.tasks_awaiting_consent,
        s.workspace_root,
        s.workspace_root_source
    );
}

fn print_service(s: &hyperagent_server::service::ServiceStatus) {
    let mut line = format!("{}: {}", s.unit, s.detail);
    if let Some(pid) = s.pid {
        line.push_str(&format!(" (pid {pid})"));
    }
    if s.enabled {
        line.push_str(", starts with your session");
    }
    println!("{line}");
    if let Some(f) = &s.unit_file {
        println!("  unit file: {}", f.display());
    }
}

/// `--set KEY=VALUE` answers as a JSON object of strings (the agent reads each as its question's
/// type, as copier's `--data` does).
fn answers(set: &[String]) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    let mut out = serde_json::Map::new();
    for s in set {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            Failure::new(
                2,
                format!("--set {s}: give KEY=VALUE, e.g. --set project_name=shop"),
            )
        })?;
        let k = k.trim();
        if k.is_empty() {
            return Err(Failure::new(
                2,
                format!("--set {s}: the KEY before `=` is empty"),
            ));
        }
        if out.insert(k.to_string(), v.into()).is_some() {
            return Err(Failure::new(2, format!("--set {k}: answered twice")));
        }
    }
    Ok(out)
}

/// A path made absolute against the current folder (not resolved: the manager decides).
fn absolute(p: &str) -> Result<String, Failure> {
    std::path::absolute(p)
        .map(|a| a.display().to_string())
        .map_err(|e| Failure::new(2, format!("{p}: {e}")))
}

/// Submits a `bootstrap.project` task; unless told not to, waits and prints the project.
async fn new_project(
    c: &mut Client,
    req: pb::SubmitTaskRequest,
    wait: bool,
    open: bool,
    json: bool,
) -> Result<ExitCode, Failure> {
    let task = c
        .submit_task(req)
        .await?
        .into_inner()
        .task
        .unwrap_or_default();
    if !wait {
        println!("{}", task.id);
        return Ok(ExitCode::SUCCESS);
    }
    let end = wait_for(c, &task.id, json).await?;
    let output: serde_json::Value = end
        .result
        .as_ref()
        .and_then(|r| serde_json::from_str(&r.output_json).ok())
        .unwrap_or_default();
    if end.state != pb::TaskState::Completed as i32 {
        if json {
            print_json(&output::task_json(&end));
        } else {
            print!("{}", output::task_text(&end));
        }
        return Ok(ExitCode::from(6));
    }
    if json {
        print_json(&output);
    } else {
        print!("{}", output::project_text(&output));
    }
    if open && output["dry_run"] != true {
        return open_in_editor(c, task.id, pb::OpenPathRequest::default(), json).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks the manager to open a task's folder, or a path, in the editor.
/// Prints what the router makes of `text`.
async fn route(c: &mut Client, text: String, json: bool) -> Result<ExitCode, Failure> {
    let r = c.route(pb::RouteRequest { text }).await?.into_inner();
    if json {
        print_json(&output::route_json(&r));
    } else {
        print!("{}", output::route_text(&r));
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `target` (a task id or a path) in the editor; `at` carries the file, line and column to
/// show, if any.
async fn open_in_editor(
    c: &mut Client,
    target: String,
    at: pb::OpenPathRequest,
    json: bool,
) -> Result<ExitCode, Failure> {
    // A task id when it looks like one and no such path exists here.
    let is_task = uuid_like(&target) && !std::path::Path::new(&target).exists();
    let req = if is_task {
        pb::OpenPathRequest {
            task_id: target,
            ..at
        }
    } else {
        pb::OpenPathRequest {
            path: absolute(&target)?,
            ..at
        }
    };
    let r = c.open_path(req).await?.into_inner();
    if json {
        print_json(
            &serde_json::json!({ "path": r.path, "opener": r.opener, "warnings": r.warnings }),
        );
    } else {
        println!(
            "opened {} with {}",
            term::line(&r.path),
            term::line(&r.opener)
        );
        for w in &r.warnings {
            eprintln!("warning: {}", term::line(w));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// 8-4-4-4-12 hex digits, as task ids are.
fn uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_terminal_state(v: i32) -> bool {
    use pb::TaskState as S;
    [S::Completed, S::Failed, S::Canceled, S::DeadLettered]
        .iter()
        .any(|s| *s as i32 == v)
}

/// Follows a task's events until it ends, drawing progress on a terminal; returns the final task.
async fn wait_for(c: &mut Client, id: &str, quiet: bool) -> Result<pb::Task, Failure> {
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: Some(0),
            task_id: id.to_string(),
            exclude_logs: true,
        })
        .await?
        .into_inner();
    let tty = std::io::stderr().is_terminal() && !quiet;
    let (mut state, mut pct, mut step) = (String::from("queued"), 0.0f64, String::new());
    while let Some(ev) = feed.message().await? {
        match ev.body {
            Some(pb::event::Body::TaskState(t)) => {
                state = state_name(t.to);
                if is_terminal_state(t.to) {
                    break;
                }
            }
            Some(pb::event::Body::TaskProgress(p)) => {
                let pr = p.progress.unwrap_or_default();
                pct = pr.fraction;
                step = pr.step;
            }
            _ => {}
        }
        if tty {
            let bar = if pct >= 0.0 {
                format!("{:>3.0}%", pct * 100.0)
            } else {
                " ...".into()
            };
            eprint!("\r\x1b[2K{id} {state:<16} {bar} {}", term::line(&step));
        }
    }
    if tty {
        eprintln!();
    }
    Ok(c.get_task(pb::GetTaskRequest {
        task_id: id.to_string(),
    })
    .await?
    .into_inner())
}

async fn tasks(
    c: &mut Client,
    state: Vec<String>,
    task_type: Option<String>,
    limit: u32,
    json: bool,
) -> Result<ExitCode, Failure> {
    let mut states = Vec::new();
    for s in state {
        let st = hyperagent_core::model::TaskState::parse(&s).ok_or_else(|| {
            let all: Vec<&str> = hyperagent_core::model::TaskState::ALL
                .iter()
                .map(|s| s.as_str())
                .collect();
            Failure::new(
                5,
                format!(
                    "--state {s}: not a task state; use one of {}",
                    all.join(", ")
                ),
            )
        })?;
        states.push(hyperagent_server::convert::state(st) as i32);
    }
    let list = c
        .list_tasks(pb::ListTasksRequest {
            states,
            task_type: task_type.unwrap_or_default(),
            limit,
            page_token: String::new(),
        })
        .await?
        .into_inner()
        .tasks;
    if json {
        print_json(&serde_json::Value::Array(
            list.iter().map(output::task_json).collect(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    for t in &list {
        println!(
            "{}  {:<16} {:<16} {:<12} {}",
            t.id,
            t.task_type,
            state_name(t.state),
            t.agent_id,
            t.status_reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn messages(
    c: &mut Client,
    state: Option<String>,
    agent: Option<String>,
    limit: u32,
    json: bool,
) -> Result<ExitCode, Failure> {
    let list = c
        .list_messages(pb::ListMessagesRequest {
            state: state.unwrap_or_default(),
            agent: agent.unwrap_or_default(),
            limit,
            page_token: String::new(),
        })
        .await?
        .into_inner()
        .messages;
    if json {
        print_json(&serde_json::Value::Array(
            list.iter().map(output::message_json).collect(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    for m in &list {
        println!("{}", output::message_text(m));
    }
    Ok(ExitCode::SUCCESS)
}

async fn logs(c: &mut Client, id: String, follow: bool, json: bool) -> Result<ExitCode, Failure> {
    // Text output puts a heading before each retry's lines (each attempt numbers its own).
    let mut attempt = 0;
    let mut print = |l: &pb::LogLine| {
        if json {
            println!("{}", output::log_json(&id, l));
            return;
        }
        if l.attempt != attempt && (l.seq > 1 || l.attempt > 1) {
            println!("{}", output::attempt_heading(l.attempt));
        }
        attempt = l.attempt;
        println!("{}", output::log_text(l));
    };
    if !follow {
        let mut after = 0;
        loop {
            let page = c
                .get_logs(pb::GetLogsRequest {
                    task_id: id.clone(),
                    after_seq: after,
                    limit: 0,
                })
                .await?
                .into_inner();
            for l in &page.lines {
                print(l);
                after = l.seq;
            }
            if page.complete || page.lines.is_empty() {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    // Follow: the task's events from the start, printing log lines until it ends.
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: Some(0),
            task_id: id.clone(),
            exclude_logs: false,
        })
        .await?
        .into_inner();
    let mut last = 0;
    while let Some(ev) = feed.message().await? {
        match ev.body {
            Some(pb::event::Body::TaskLog(l)) => {
                if let Some(line) = l.line.filter(|x| x.seq > last) {
                    last = line.seq;
                    print(&line);
                }
            }
            Some(pb::event::Body::TaskState(t)) if is_terminal_state(t.to) => break,
            _ => {}
        }
    }
    let _ = std::io::stdout().flush();
    Ok(ExitCode::SUCCESS)
}

async fn events(
    c: &mut Client,
    after: Option<u64>,
    task: Option<String>,
    no_logs: bool,
    json: bool,
) -> Result<ExitCode, Failure> {
    let mut feed = c
        .subscribe(pb::SubscribeRequest {
            after_seq: after,
            task_id: task.unwrap_or_default(),
            exclude_logs: no_logs,
        })
        .await?
        .into_inner();
    let mut out = std::io::stdout().lock();
    while let Some(ev) = feed.message().await? {
        let line = if json {
            output::event_json(&ev).to_string()
        } else {
            output::event_text(&ev)
        };
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            break; // stdout closed (e.g. piped into head)
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn audit(c: &mut Client, cmd: AuditCommand, json: bool) -> Result<ExitCode, Failure> {
    let (mut query, as_jsonl) = match cmd {
        AuditCommand::Verify => {
            let r = c
                .verify_audit(pb::VerifyAuditRequest {})
                .await?
                .into_inner();
            if json {
                print_json(&serde_json::json!({
                    "intact": r.intact, "entries_checked": r.entries_checked, "problems": r.problems,
                }));
            } else if r.intact {
                println!(
                    "audit log intact: {} entries, every hash checks out",
                    r.entries_checked
                );
            } else {
                println!("audit log ALTERED ({} entries checked):", r.entries_checked);
                for p in &r.problems {
                    println!("  {p}");
                }
            }
            return Ok(if r.intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(8)
            });
        }
        AuditCommand::List {
            task,
            actor,
            action,
            newest_first,
        } => (
            pb::ListAuditRequest {
                task_id: task.unwrap_or_default(),
                actor: actor.unwrap_or_default(),
                action: action.unwrap_or_default(),
                newest_first,
                ..Default::default()
            },
            json,
        ),
        AuditCommand::Export { .. } => (pb::ListAuditRequest::default(), true),
    };
    let mut out = std::io::stdout().lock();
    loop {
        let page = c.list_audit(query.clone()).await?.into_inner().entries;
        let Some(last) = page.last() else { break };
        if query.newest_first {
            query.before_id = last.id;
        } else {
            query.after_id = last.id;
        }
        for e in &page {
            let line = if as_jsonl {
                output::audit_json(e).to_string()
            } else {
                output::audit_text(e)
            };
            if writeln!(out, "{line}").is_err() {
                return Ok(ExitCode::SUCCESS); // stdout closed
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hyperagent service ...`: the user service, through the manager core's `service`.
async fn service(command: &ServiceCommand, cli: &Cli, cfg: &Config) -> Result<ExitCode, Failure> {
    use hyperagent_server::service::UserService;
    let svc = UserService::new(&cfg.service)?;
    let (_, socket, _) = cfg.runtime_paths();
    let socket = cli.socket.clone().unwrap_or(socket);
    let status = match command {
        ServiceCommand::Status => svc.status().await,
        ServiceCommand::Install { no_start } => {
            let status = svc.install_manager(cfg, cli.config.as_deref()).await?;
            if *no_start {
                status
            } else {
                svc.start(&socket).await?
            }
        }
        ServiceCommand::Start => svc.start(&socket).await?,
        ServiceCommand::Stop => svc.stop().await?,
        ServiceCommand::Uninstall => svc.uninstall().await?,
    };
    if cli.json {
        print_json(&serde_json::to_value(&status).unwrap_or_default());
    } else {
        print_service(&status);
    }
    Ok(ExitCode::SUCCESS)
}
