//! The system tray: the manager's status (up, agents online, tasks running), show/hide the window,
//! pause/resume scheduling, quit. The status follows the manager's feed.
use std::sync::Arc;

use hyperagent_proto::v1 as pb;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};

use crate::backend::Backend;

/// The tray's status line, e.g. "2 agents online · 1 task running".
pub fn status_text(s: &pb::ManagerStatus) -> String {
    let plural = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = format!(
        "{} online · {} running",
        plural(s.agents_online, "agent", "agents"),
        plural(s.tasks_running, "task", "tasks")
    );
    if s.tasks_awaiting_consent > 0 {
        text.push_str(&format!(" · {} waiting for you", s.tasks_awaiting_consent));
    }
    if s.paused {
        text.push_str(" · paused");
    }
    text
}

/// Shows the window if hidden, hides it if shown.
pub fn toggle_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        if w.is_visible().unwrap_or(false) {
            let _ = w.hide();
        } else {
            let _ = w.show();
            let _ = w.set_focus();
        }
    }
}

/// Stops the embedded manager (and with it every agent), then exits.
pub fn quit(app: &AppHandle) {
    let backend = app.state::<Arc<Backend>>().inner().clone();
    let app = app.clone();
    std::thread::spawn(move || {
        backend.stop();
        app.exit(0);
    });
}

/// Builds the tray and keeps its status current.
pub fn build(app: &tauri::App<Wry>, backend: Arc<Backend>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "HyperAgent: starting", false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show / hide window", true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause scheduling", true, None::<&str>)?;
    let quit_item = MenuItem::with_id(app, "quit", "Quit HyperAgent", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &show,
            &pause,
            &PredefinedMenuItem::separator(app)?,
            &quit_item,
        ],
    )?;
    let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let on_menu = {
        let backend = backend.clone();
        let paused = paused.clone();
        move |app: &AppHandle, event: tauri::menu::MenuEvent| match event.id.as_ref() {
            "show" => toggle_window(app),
            "quit" => quit(app),
            "pause" => {
                let mut client = backend.client();
                let want = !paused.load(std::sync::atomic::Ordering::Relaxed);
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = client
                        .set_paused(pb::SetPausedRequest { paused: want })
                        .await
                    {
                        tracing::error!(error = %e, "pausing from the tray failed");
                    }
                });
            }
            _ => {}
        }
    };
    let icon = app.default_window_icon().cloned();
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("HyperAgent")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu);
    if let Some(icon) = icon {
        tray = tray.icon(icon);
    }
    let tray = tray.build(app)?;

    // Refresh the status at start and after every change the feed reports (logs left out); when
    // the app hands over to another manager (the service), follow that one.
    tauri::async_runtime::spawn(follow(
        backend,
        Shown {
            status,
            pause,
            tray,
            paused,
        },
    ));
    Ok(())
}

/// What the tray shows of the manager.
struct Shown {
    status: MenuItem<Wry>,
    pause: MenuItem<Wry>,
    tray: tauri::tray::TrayIcon<Wry>,
    paused: Arc<std::sync::atomic::AtomicBool>,
}

impl Shown {
    fn update(&self, s: &pb::ManagerStatus) {
        self.paused
            .store(s.paused, std::sync::atomic::Ordering::Relaxed);
        let text = status_text(s);
        let _ = self.status.set_text(format!("HyperAgent: {text}"));
        let _ = self.pause.set_text(if s.paused {
            "Resume scheduling"
        } else {
            "Pause scheduling"
        });
        let _ = self.tray.set_tooltip(Some(format!("HyperAgent: {text}")));
    }
}

/// Follows the manager's status: again after each event, and the next manager after a hand-over,
/// until the app quits.
async fn follow(backend: Arc<Backend>, shown: Shown) {
    let mut changes = backend.changes();
    loop {
        let mut client = backend.client();
        let mut feed = match client
            .subscribe(pb::SubscribeRequest {
                after_seq: None,
                task_id: String::new(),
                exclude_logs: true,
            })
            .await
        {
            Ok(f) => Some(f.into_inner()),
            Err(e) => {
                tracing::error!(error = %e, "the tray cannot follow the manager");
                None
            }
        };
        loop {
            match client.get_status(pb::GetStatusRequest {}).await {
                Ok(s) => shown.update(&s.into_inner()),
                Err(e) => {
                    let _ = shown
                        .status
                        .set_text(format!("HyperAgent: manager unreachable ({})", e.message()));
                }
            }
            match feed.as_mut() {
                Some(f) => match f.message().await {
                    Ok(Some(_)) => {}
                    _ => break,
                },
                None => break,
            }
        }
        let _ = shown.status.set_text("HyperAgent: manager unreachable");
        // The next manager (after a hand-over); the app quitting drops the sender.
        if changes.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_line_counts_and_says_paused() {
        let s = pb::ManagerStatus {
            agents_online: 1,
            tasks_running: 2,
            tasks_awaiting_consent: 1,
            paused: true,
            ..Default::default()
        };
        assert_eq!(
            status_text(&s),
            "1 agent online · 2 tasks running · 1 waiting for you · paused"
        );
    }
}
