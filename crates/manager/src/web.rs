//! The web API and UI (`hyperagent serve --web`): the client API over HTTP + Server-Sent Events on
//! a loopback port, guarded by a token, and the built UI as static files, so HyperAgent works from
//! a browser on a machine without a display.
//!
//! It is the gRPC client API, not a second one: `POST /api/v1/<Method>` takes the method's request
//! message as JSON (the proto3 JSON mapping with the proto's field names) and calls the very same
//! [`ClientService`] implementation the Unix socket serves; `GET /api/v1/events` is `Subscribe` as
//! an SSE stream whose event ids are the feed's `seq` (a browser's `EventSource` resumes after a
//! reconnect with `Last-Event-ID`: no gap, no duplicate). `GET /api/v1/openapi.json` describes it
//! all ([`openapi`]). Errors are `{"code": "invalid_argument", "message": "..."}` with the HTTP
//! status that matches the gRPC code.
//!
//! Access: every request must name this server by its loopback address in `Host` (a page on
//! another site cannot reach it by DNS rebinding), and every API request must carry the token
//! (`Authorization: Bearer`, or the cookie the UI gets by opening the printed URL once, which is
//! `SameSite=Strict` and `HttpOnly`). The token is made at start and written to the discovery
//! file. Sandboxed task processes cannot reach the port at all (their network namespace has no
//! route to the host's loopback).
pub mod openapi;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hyperagent_proto::v1 as pb;
use pb::client_service_server::ClientService;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_stream::{Stream, StreamExt};
use tonic::Code;

use crate::grpc::Services;

/// The cookie that carries the token for the UI.
const COOKIE: &str = "hyperagent_token";

/// What the web server needs.
#[derive(Clone)]
struct Web {
    services: Services,
    token: String,
    /// Host header values that name this server.
    hosts: Vec<String>,
}

/// The routes: the API, the OpenAPI document, and the UI from `ui_dir` (a built `ui/dist`).
pub fn router(
    services: Services,
    token: String,
    addr: SocketAddr,
    ui_dir: Option<PathBuf>,
) -> Router {
    let port = addr.port();
    let hosts = vec![
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        addr.to_string(),
    ];
    let web = Web {
        services,
        token,
        hosts,
    };
    let api = Router::new()
        .route("/api/v1/openapi.json", get(openapi_document))
        .route("/api/v1/events", get(events))
        .route("/api/v1/{method}", post(unary))
        .route_layer(middleware::from_fn_with_state(web.clone(), require_token));
    let ui = match ui_dir {
        Some(dir) if dir.join("index.html").is_file() => Router::new().fallback_service(
            tower_http::services::ServeDir::new(&dir)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html"))),
        ),
        _ => Router::new().fallback(no_ui),
    };
    api.merge(ui)
        .layer(middleware::from_fn_with_state(web.clone(), login_and_host))
        .with_state(web)
}

/// The page served when the UI is not built.
async fn no_ui() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>HyperAgent</title><p>The HyperAgent web UI is not built here \
         (<code>npm --prefix ui run build</code>, or point <code>web.ui_dir</code> at it). \
         The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.",
    )
}

/// Refuses requests whose `Host` does not name this server; turns `?token=` on a page request into
/// the cookie and a redirect to the same page without it (so it leaves the address bar).
async fn login_and_host(State(web): State<Web>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !web.hosts.iter().any(|h| h == host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            format!("this HyperAgent server answers only as {}", web.hosts[0]),
        )
        .into_response();
    }
    let path = req.uri().path().to_string();
    if !path.starts_with("/api/") {
        if let Some(given) = query_token(req.uri().query()) {
            if !same(&given, &web.token) {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "wrong token: open the URL `hyperagent serve --web` printed",
                )
                .into_response();
            }
            let mut resp = Redirect::to(&path).into_response();
            let cookie = format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", web.token);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
    }
    next.run(req).await
}

/// API requests need the token.
async fn require_token(State(web): State<Web>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let given = bearer
        .or_else(|| cookie(headers))
        .or_else(|| query_token(req.uri().query()));
    match given {
        Some(t) if same(&t, &web.token) => next.run(req).await,
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "wrong token: open the URL `hyperagent serve --web` printed, or send `Authorization: Bearer <token>` (the token is in the discovery file)",
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "this API needs the token: open the URL `hyperagent serve --web` printed, or send `Authorization: Bearer <token>` (the token is in the discovery file)",
        )
        .into_response(),
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_string)
        })
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_string)
}

/// Token comparison in constant time (a loop over the bytes: no crate needed for it).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// An error as the API returns it.
#[derive(Debug, Serialize)]
struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(&self)).into_response()
    }
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> ApiError {
        let status = match s.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::FailedPrecondition => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(
            status,
            crate::grpc::convert::code_name(s.code()),
            s.message(),
        )
    }
}

async fn openapi_document() -> impl IntoResponse {
    axum::Json(openapi::document())
}

fn parse<T: DeserializeOwned + Default>(method: &str, body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            format!("the body is not a valid {method}Request: {e} (see /api/v1/openapi.json)"),
        )
    })
}

/// The web API's unary methods and their dispatch, made from the one list of client methods.
macro_rules! web_methods {
    ($($name:literal $f:ident $req:ident;)*) => {
        /// The unary methods the web API offers: every client method but `Subscribe` (that is
        /// `events`).
        pub const METHODS: &[&str] = &[$($name),*];

        async fn dispatch(
            svc: &Services,
            method: &str,
            body: &Bytes,
        ) -> Result<axum::Json<serde_json::Value>, ApiError> {
            match method {
                $($name => {
                    let req: pb::$req = parse($name, body)?;
                    let resp = ClientService::$f(svc, tonic::Request::new(req)).await?;
                    Ok(axum::Json(serde_json::to_value(resp.into_inner()).map_err(|e| {
                        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                    })?))
                })*
                other => Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!("no method `{other}`; the methods are listed in /api/v1/openapi.json"),
                )),
            }
        }
    };
}
hyperagent_proto::for_each_unary_client_method!(web_methods);

async fn unary(
    State(web): State<Web>,
    Path(method): Path<String>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    use tracing::Instrument;
    // One span per call, named by its method, so a request can be followed through the logs.
    let span = tracing::info_span!("web", method = %method);
    dispatch(&web.services, &method, &body)
        .instrument(span)
        .await
}

/// `Subscribe`'s request as query parameters.
#[derive(Debug, Default, Deserialize)]
struct EventsQuery {
    after_seq: Option<u64>,
    #[serde(default)]
    task_id: String,
    #[serde(default)]
    exclude_logs: bool,
}

/// The event feed as Server-Sent Events: `id` is the event's `seq`, `data` the Event as JSON. A
/// `Last-Event-ID` header (an `EventSource` reconnecting) resumes after that event.
async fn events(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let req = pb::SubscribeRequest {
        after_seq: last.or(q.after_seq),
        task_id: q.task_id,
        exclude_logs: q.exclude_logs,
    };
    let feed = ClientService::subscribe(&web.services, tonic::Request::new(req))
        .await?
        .into_inner();
    // An error is sent as an `error` event; the feed ends after one.
    let stream = feed.map(|item| {
        Ok(match item {
            Ok(ev) => {
                let data = serde_json::to_string(&ev).unwrap_or_default();
                SseEvent::default().id(ev.seq.to_string()).data(data)
            }
            Err(s) => {
                let e = ApiError::from(s);
                let data = serde_json::json!({ "code": e.code, "message": e.message });
                SseEvent::default().event("error").data(data.to_string())
            }
        })
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }

    #[test]
    fn the_token_is_found_in_a_cookie_or_the_query() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hyperagent_token=xyz; b=2"),
        );
        assert_eq!(cookie(&h).as_deref(), Some("xyz"));
        assert_eq!(
            query_token(Some("after_seq=3&token=t0k")).as_deref(),
            Some("t0k")
        );
        assert_eq!(query_token(Some("after_seq=3")), None);
    }

    #[test]
    fn grpc_codes_map_to_http_statuses() {
        let e = ApiError::from(tonic::Status::invalid_argument("bad"));
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "invalid_argument")
        );
        let e = ApiError::from(tonic::Status::not_found("no"));
        assert_eq!(e.status, StatusCode::NOT_FOUND);
    }
}
