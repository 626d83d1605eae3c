//! The HyperAgent desktop app: a thin Tauri v2 shell. It runs the manager core on a background
//! runtime inside the app, unless a manager already runs for this user (then it connects to that
//! one); maps Tauri commands and events onto the manager's client API (`commands`); owns the
//! window (closing it hides it to the tray) and the tray (`tray`). One instance per user. No
//! business logic: the UI in `ui/` is the same as in a browser.
pub mod backend;
pub mod commands;
pub mod tray;
pub mod webview;

use std::process::ExitCode;
use std::sync::Arc;

use tauri::{Manager, WindowEvent};

use backend::Backend;

/// Adds the manager connection and the commands to a builder (the app's, or in tests the mock
/// runtime's).
pub fn with_commands<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    backend: Arc<Backend>,
) -> tauri::Builder<R> {
    builder
        .manage(backend)
        .manage(commands::Subscriptions::default())
        .invoke_handler(tauri::generate_handler![
            commands::call,
            commands::subscribe,
            commands::unsubscribe,
            commands::app_info,
            commands::service
        ])
}

/// Runs the app until the person quits it.
pub fn run() -> ExitCode {
    // Before any other thread exists (see the manager's `secrets`).
    hyperagent_core::secrets::join_session_keyring();
    hyperagent_core::secrets::choose_store();
    // The embedded manager serves every agent's connection.
    hyperagent_server::process::raise_fd_limit();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HYPERAGENT_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cfg = match backend::load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hyperagent-app: {}", e.message);
            return ExitCode::from(5);
        }
    };
    let gpu = cfg.web.app_gpu_compositing;
    let backend = match tauri::async_runtime::block_on(Backend::start(cfg)) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!(
                "hyperagent-app: cannot reach or start the manager: {}",
                e.message
            );
            return ExitCode::from(3);
        }
    };
    let tray_backend = backend.clone();
    let stop_backend = backend.clone();
    let app = with_commands(tauri::Builder::default(), backend)
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.show();
                let _ = w.set_focus();
            }
        }))
        .setup(move |app| {
            webview::lighten(app, gpu);
            tray::build(app, tray_backend)?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window hides it; the app lives on in the tray (Quit is there).
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => {
            app.run(move |_, event| {
                if let tauri::RunEvent::Exit = event {
                    stop_backend.stop();
                }
            });
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hyperagent-app: {e}");
            stop_backend.stop();
            ExitCode::from(1)
        }
    }
}
