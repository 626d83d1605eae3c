//! The app's commands through Tauri's mock runtime (no display needed), against a real manager
//! the app embeds: a real SQLite file and a real Unix socket in a temp folder.
use std::sync::Arc;

use hyperagent_app::backend::{Backend, Mode};
use hyperagent_manager::config::Config;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::WebviewWindowBuilder;

fn config(dir: &std::path::Path) -> Config {
    let mut cfg = Config::default();
    cfg.paths.data_dir = Some(dir.join("data"));
    cfg.paths.runtime_dir = Some(dir.join("run"));
    cfg.supervisor.enabled = false;
    cfg
}

fn invoke(
    window: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    body: Value,
) -> Result<Value, Value> {
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
    let backend =
        Arc::new(tauri::async_runtime::block_on(Backend::start(config(dir.path()))).unwrap());
    assert_eq!(backend.mode, Mode::Embedded);
    let app = hyperagent_app::with_commands(mock_builder(), backend.clone())
        .build(mock_context(noop_assets()))
        .unwrap();
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

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
    assert_eq!(second.mode, Mode::Connected);
    assert_eq!(second.socket, backend.socket);

    // Quitting stops the embedded manager: its socket is gone.
    backend.stop();
    assert!(!backend.socket.exists());
}
