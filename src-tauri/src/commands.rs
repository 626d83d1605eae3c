//! The Tauri commands: the manager's client API for the UI, with the same method names and JSON
//! as the web API (`call`), the event feed over a channel (`subscribe`), and what the app is
//! connected to (`app_info`). Errors reach the UI as `{code, message}`. No logic: each command
//! forwards to the manager.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use hyperagent_proto::v1 as pb;
use pb::client_service_client::ClientServiceClient;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tauri::ipc::Channel;
use tauri::State;

use crate::backend::{Backend, Mode, ServiceAction};

/// An error as the UI sees it (the web API's shape).
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ApiError {
    /// The gRPC status code in snake case (`invalid_argument`, `not_found`, ...).
    pub code: &'static str,
    /// What was wrong, for people.
    pub message: String,
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> ApiError {
        ApiError {
            code: hyperagent_manager::grpc::convert::code_name(s.code()),
            message: s.message().to_string(),
        }
    }
}

fn invalid(method: &str, e: serde_json::Error) -> ApiError {
    ApiError {
        code: "invalid_argument",
        message: format!("the request is not a valid {method}Request: {e}"),
    }
}

/// The app's unary methods, made from the one list of client methods.
macro_rules! app_methods {
    ($($name:literal $f:ident $req:ident;)*) => {
        /// Calls one unary method of the client API with its request as JSON.
        pub async fn dispatch(
            mut client: ClientServiceClient<tonic::transport::Channel>,
            method: &str,
            request: Value,
        ) -> Result<Value, ApiError> {
            match method {
                $($name => {
                    let req: pb::$req = serde_json::from_value(request).map_err(|e| invalid($name, e))?;
                    let resp = client.$f(req).await?;
                    serde_json::to_value(resp.into_inner()).map_err(|e| ApiError {
                        code: "internal",
                        message: e.to_string(),
                    })
                })*
                other => Err(ApiError {
                    code: "not_found",
                    message: format!("no method `{other}` in the client API"),
                }),
            }
        }
    };
}
hyperagent_proto::for_each_unary_client_method!(app_methods);

/// One unary method of the client API, e.g. `call("SubmitTask", {...})`.
#[tauri::command]
pub async fn call(
    backend: State<'_, Arc<Backend>>,
    method: String,
    request: Option<Value>,
) -> Result<Value, ApiError> {
    dispatch(
        backend.client(),
        &method,
        request.unwrap_or_else(|| json!({})),
    )
    .await
}

/// `Subscribe`'s request, as the web API's `events` query takes it.
#[derive(Debug, Default, Deserialize)]
pub struct SubscribeQuery {
    /// Resume after this event (`null`: only new events; 0: from the oldest); a number or, as
    /// 64-bit integers are in the proto3 JSON the UI speaks, a string of digits.
    pub after_seq: Option<Value>,
    /// Only this task's events.
    #[serde(default)]
    pub task_id: String,
    /// Leave out log lines.
    #[serde(default)]
    pub exclude_logs: bool,
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
    let after_seq = match &query.after_seq {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        Some(_) => None,
    };
    if query.after_seq.as_ref().is_some_and(|v| !v.is_null()) && after_seq.is_none() {
        return Err(ApiError {
            code: "invalid_argument",
            message: format!(
                "after_seq {} is not a sequence number (a whole number from 0)",
                query.after_seq.unwrap_or_default()
            ),
        });
    }
    let mut client = backend.client();
    let mut feed = client
        .subscribe(pb::SubscribeRequest {
            after_seq,
            task_id: query.task_id,
            exclude_logs: query.exclude_logs,
        })
        .await?
        .into_inner();
    let id = subs.next.fetch_add(1, Ordering::Relaxed);
    let task = tauri::async_runtime::spawn(async move {
        let end = loop {
            match feed.message().await {
                Ok(Some(ev)) => {
                    let ev = serde_json::to_value(ev).unwrap_or_default();
                    if on_event.send(json!({ "event": ev })).is_err() {
                        return; // the window is gone
                    }
                }
                Ok(None) => {
                    break ApiError {
                        code: "unavailable",
                        message: "the manager closed the feed".into(),
                    }
                }
                Err(s) => break ApiError::from(s),
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
pub async fn service(backend: State<'_, Arc<Backend>>, action: String) -> Result<Value, ApiError> {
    let action: ServiceAction =
        serde_json::from_value(Value::String(action.clone())).map_err(|_| ApiError {
            code: "invalid_argument",
            message: format!(
                "no service action `{action}`: one of status, install, start, stop, uninstall"
            ),
        })?;
    let status = backend.service(action).await.map_err(|message| ApiError {
        code: "failed_precondition",
        message,
    })?;
    Ok(json!({
        "service": status,
        "app": AppInfo {
            mode: backend.mode(),
            socket: backend.socket().display().to_string(),
        },
    }))
}
