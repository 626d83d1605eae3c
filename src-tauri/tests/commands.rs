//! The app's commands through Tauri's mock runtime (no display needed), against a real manager
//! the app embeds: a real SQLite file and a real Unix socket in a temp folder.
use std::sync::Arc;

use hyperagent_app::backend::{Backend, Mode};
use hyperagent_core::config::Config;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{WebviewWindow, WebviewWindowBuilder};

fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.paths.data_dir = Some(dir.join("data"));
    cfg.paths.runtime_dir = Some(dir.join("run"));
    cfg.supervisor.enabled = false;
    cfg
}

/// The app's commands on Tauri's mock runtime, reaching the manager `cfg` names (embedded, or the
/// running one), with the main window the UI would call them from.
fn mock_app(
    cfg: Config,
) -> (
    Arc<Backend>,
    tauri::App<MockRuntime>,
    WebviewWindow<MockRuntime>,
) {
    let backend = Arc::new(tauri::async_runtime::block_on(Backend::start(cfg)).unwrap());
    let app = hyperagent_app::with_commands(mock_builder(), backend.clone())
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (backend, app, window)
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(body),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn the_commands_reach_the_embedded_manager_and_errors_keep_their_code() {
    let dir = tempfile::tempdir().unwrap();
    let (backend, _app, window) = mock_app(config(dir.path()));
    assert_eq!(backend.mode(), Mode::Embedded);

    let status = invoke(&window, "call", json!({ "method": "GetStatus" })).unwrap();
    assert_eq!(
        status["pid"],
        json!(std::process::id()),
        "the manager runs inside the app"
    );
    assert_eq!(status["paused"], json!(false));

    let paused = invoke(
        &window,
        "call",
        json!({ "method": "SetPaused", "request": { "paused": true } }),
    )
    .unwrap();
    assert_eq!(paused["paused"], json!(true));

    let err = invoke(
        &window,
        "call",
        json!({ "method": "SubmitTask", "request": { "task_type": "nope.nope" } }),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_argument");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("unknown task type `nope.nope`"),
        "{err}"
    );

    let err = invoke(&window, "call", json!({ "method": "DropEverything" })).unwrap_err();
    assert_eq!(err["code"], "not_found");

    let info = invoke(&window, "app_info", json!({})).unwrap();
    assert_eq!(info["mode"], "embedded");

    // A second app finds the running manager instead of starting another.
    let second = tauri::async_runtime::block_on(Backend::start(config(dir.path()))).unwrap();
    assert_eq!(second.mode(), Mode::Connected);
    assert_eq!(second.socket(), backend.socket());

    // Quitting stops the embedded manager: its socket is gone.
    backend.stop();
    assert!(!backend.socket().exists());
}

/// The `hyperagent` binary the service runs (built beside this test by `cargo build --workspace`).
fn manager_binary() -> std::path::PathBuf {
    let bin = std::env::var_os("HYPERAGENT_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("hyperagent")
        });
    assert!(
        bin.is_file(),
        "{} is missing: `cargo build --workspace` first",
        bin.display()
    );
    bin
}

/// No systemd user manager can run on the test machine (PID 1 is not systemd), so `systemctl` is
/// the stand-in at the process boundary (`tests/e2e/standins/systemctl`): it runs the unit's
/// ExecStart as systemd would. The manager it starts is the real binary.
#[test]
fn starting_the_service_hands_the_app_over_and_stopping_it_hands_back() {
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let units = dir.path().join("units");
    let mut cfg = config(dir.path());
    cfg.service.systemctl = vec![
        repo.join("tests/e2e/standins/systemctl")
            .display()
            .to_string(),
        "--unit-dir".into(),
        units.display().to_string(),
        "--state-dir".into(),
        dir.path().join("systemd-state").display().to_string(),
    ];
    cfg.service.unit_dir = Some(units.clone());
    // The service's manager: the same data and runtime folders, from its own config file.
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        format!(
            "[paths]\ndata_dir = \"{}\"\nruntime_dir = \"{}\"\n[supervisor]\nenabled = false\n",
            dir.path().join("data").display(),
            dir.path().join("run").display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(&units).unwrap();
    std::fs::write(
        units.join("hyperagent.service"),
        hyperagent_server::service::render_unit(
            &manager_binary(),
            &[
                "--config".into(),
                file.display().to_string(),
                "serve".into(),
            ],
            None,
        ),
    )
    .unwrap();

    let (backend, _app, window) = mock_app(cfg);
    let call = |method: &str, request: Value| {
        invoke(
            &window,
            "call",
            json!({ "method": method, "request": request }),
        )
        .unwrap()
    };
    let service = |action: &str| invoke(&window, "service", json!({ "action": action }));

    let s = service("status").unwrap();
    assert_eq!(s["service"]["state"], "stopped", "{s}");
    assert_eq!(s["app"]["mode"], "embedded");
    call("SetPaused", json!({ "paused": true }));
    let audited = call("VerifyAudit", json!({}))["entries_checked"].clone();

    // Start: the embedded manager stops, the service's answers on the same socket.
    let s = service("start").unwrap();
    assert_eq!(s["service"]["state"], "running", "{s}");
    assert_eq!(s["app"]["mode"], "connected");
    let pid = s["service"]["pid"].as_u64().unwrap();
    let status = call("GetStatus", json!({}));
    assert_eq!(
        status["pid"].as_u64(),
        Some(pid),
        "the app talks to the service's manager"
    );
    assert_ne!(pid, u64::from(std::process::id()));
    // The same database: the audit chain goes on from what the embedded manager wrote.
    let verify = call("VerifyAudit", json!({}));
    assert_eq!(verify["intact"], json!(true));
    assert!(
        verify["entries_checked"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= audited.as_str().unwrap().parse::<u64>().unwrap(),
        "{verify} vs {audited}"
    );

    // Stop: the service's manager exits, the app runs its own again.
    let s = service("stop").unwrap();
    assert_eq!(s["service"]["state"], "stopped", "{s}");
    assert_eq!(s["app"]["mode"], "embedded");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        }
    );
    let status = call("GetStatus", json!({}));
    assert_eq!(status["pid"], json!(std::process::id()));

    let err = service("reboot").unwrap_err();
    assert_eq!(err["code"], "invalid_argument");
    assert!(err["message"]
        .as_str()
        .unwrap()
        .contains("one of status, install, start, stop, uninstall"));

    backend.stop();
    assert!(!backend.socket().exists());
}
