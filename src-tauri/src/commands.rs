//! The Tauri commands: the manager's client API for the UI, with the same method names and JSON
//! as the web API (`call`), the event feed over a channel (`subscribe`), and what the app is
//! connected to (`app_info`). Errors reach the UI as `{code, message}`. No logic: each command
//! forwards to the manager.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use hyperagent_server::api::{Api, ApiError, Body, SubscribeQuery, Target};
use serde::Serialize;
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::State;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::backend::{Backend, Mode, ServiceAction};

/// The client API over the app's current connection to its manager.
fn api(backend: &Backend) -> Api {
    Api::new(Target::Remote(backend.client()), "")
}

/// One unary method of the client API, e.g. `call("SubmitTask", {...})`.
#[tauri::command]
#[tracing::instrument(skip(backend, request))]
pub async fn call(
    backend: State<'_, Arc<Backend>>,
    method: String,
    request: Option<Value>,
) -> Result<Value, ApiError> {
    api(&backend)
        .call(&method, Body::Json(request.unwrap_or(Value::Null)))
        .await
}

/// The live feed subscriptions of the window, by id.
#[derive(Default)]
pub struct Subscriptions {
    next: AtomicU32,
    live: Mutex<HashMap<u32, tauri::async_runtime::JoinHandle<()>>>,
}

/// Streams the event feed to `on_event`: `{"event": Event}` for each, then `{"end": {code,
/// message}}` when the stream ends (the UI resubscribes after its last `seq`). Returns the id
/// `unsubscribe` takes.
#[tauri::command]
pub async fn subscribe(
    backend: State<'_, Arc<Backend>>,
    subs: State<'_, Subscriptions>,
    query: SubscribeQuery,
    on_event: Channel<Value>,
) -> Result<u32, ApiError> {
    let mut feed = api(&backend).subscribe(query.request(None)?).await?;
    let id = subs.next.fetch_add(1, Ordering::Relaxed);
    let task = tauri::async_runtime::spawn(async move {
        let end = loop {
            match feed.next().await {
                Some(Ok(ev)) => {
                    let ev = serde_json::to_value(ev).unwrap_or_default();
                    if on_event.send(json!({ "event": ev })).is_err() {
                        return; // the window is gone
                    }
                }
                None => break ApiError::new(Code::Unavailable, "the manager closed the feed"),
                Some(Err(e)) => break e,
            }
        };
        let _ = on_event.send(json!({ "end": end }));
    });
    if let Ok(mut live) = subs.live.lock() {
        live.retain(|_, t| !t.inner().is_finished());
        live.insert(id, task);
    }
    Ok(id)
}

/// Stops a subscription.
#[tauri::command]
pub fn unsubscribe(subs: State<'_, Subscriptions>, id: u32) {
    if let Some(t) = subs.live.lock().ok().and_then(|mut l| l.remove(&id)) {
        t.abort();
    }
}

/// What the app is connected to.
#[derive(Debug, Serialize)]
pub struct AppInfo {
    /// `embedded` (the app runs the manager) or `connected` (to a running one).
    pub mode: Mode,
    /// The manager's socket.
    pub socket: String,
}

/// What the app is connected to.
#[tauri::command]
pub fn app_info(backend: State<'_, Arc<Backend>>) -> AppInfo {
    AppInfo {
        mode: backend.mode(),
        socket: backend.socket().display().to_string(),
    }
}

/// The headless manager service: `status`, `install`, `start` (the app hands over to it), `stop`
/// (the app runs the manager itself again), `uninstall`. Returns where the service is then, with
/// what the app is connected to.
#[tauri::command]
#[tracing::instrument(skip(backend))]
pub async fn service(backend: State<'_, Arc<Backend>>, action: String) -> Result<Value, ApiError> {
    let action: ServiceAction =
        serde_json::from_value(Value::String(action.clone())).map_err(|_| {
            ApiError::new(
                Code::InvalidArgument,
                format!(
                    "no service action `{action}`: one of status, install, start, stop, uninstall"
                ),
            )
        })?;
    let status = backend.service(action).await?;
    Ok(json!({
        "service": status,
        "app": AppInfo {
            mode: backend.mode(),
            socket: backend.socket().display().to_string(),
        },
    }))
}
