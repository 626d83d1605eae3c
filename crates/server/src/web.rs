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
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio_stream::{Stream, StreamExt};
use tonic::Code;

use crate::api::{Api, ApiError, Body, Feed, SubscribeQuery, Target};
use crate::grpc::Services;

/// The cookie that carries the token for the UI.
const COOKIE: &str = "hyperagent_token";

/// What the web server needs.
#[derive(Clone)]
struct Web {
    api: Api,
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
        api: Api::new(
            Target::Local(services),
            "the methods and their requests are in /api/v1/openapi.json",
        ),
        token,
        hosts,
    };
    let api = Router::new()
        .route("/api/v1/openapi.json", get(openapi_document))
        .route("/api/v1/events", get(events))
        .route("/api/v1/events/ws", get(events_ws))
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
            Code::PermissionDenied,
            format!("this HyperAgent server answers only as {}", web.hosts[0]),
        )
        .into_response();
    }
    let path = req.uri().path().to_string();
    if !path.starts_with("/api/") {
        if let Some(given) = query_token(req.uri().query()) {
            if !same(&given, &web.token) {
                return ApiError::new(
                    Code::Unauthenticated,
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
            Code::Unauthenticated,
            "wrong token: open the URL `hyperagent serve --web` printed, or send `Authorization: Bearer <token>` (the token is in the discovery file)",
        )
        .into_response(),
        None => ApiError::new(
            Code::Unauthenticated,
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

/// An error as the API returns it, with the HTTP status that matches its gRPC code.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The usual mapping of gRPC codes to HTTP (as Google's APIs and grpc-gateway do it).
        let status = match self.grpc {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, axum::Json(&self)).into_response()
    }
}

async fn openapi_document() -> impl IntoResponse {
    axum::Json(openapi::document())
}

async fn unary(
    State(web): State<Web>,
    Path(method): Path<String>,
    body: Bytes,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    use tracing::Instrument;
    // One span per call, named by its method, so a request can be followed through the logs.
    let span = tracing::info_span!("web", method = %method);
    web.api
        .call(&method, Body::Text(&body))
        .instrument(span)
        .await
        .map(axum::Json)
}

/// The event feed as Server-Sent Events: `id` is the event's `seq`, `data` the Event as JSON. A
/// `Last-Event-ID` header (an `EventSource` reconnecting) resumes after that event.
async fn events(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<SubscribeQuery>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let feed = web.api.subscribe(q.request(last)?).await?;
    // An error is sent as an `error` event; the feed ends after one.
    let stream = feed.map(|item| {
        Ok(match item {
            Ok(ev) => {
                let data = serde_json::to_string(&ev).unwrap_or_default();
                SseEvent::default().id(ev.seq.to_string()).data(data)
            }
            Err(e) => {
                let data = serde_json::json!({ "code": e.code, "message": e.message });
                SseEvent::default().event("error").data(data.to_string())
            }
        })
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The event feed over a WebSocket, for browsers: the query of [`events`]; each event is a text
/// message (the Event as JSON), a failure `{"error": {"code", "message"}}` before the close. A
/// browser opens at most six HTTP/1.1 connections to one host, shared by all its tabs, so an SSE
/// stream per tab stalls the seventh tab, and every API call behind it; WebSockets are not
/// counted there. Only pages of this server may open one: the `Origin` must name it (the
/// cookie alone would let a page elsewhere read the feed).
async fn events_ws(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(q): Query<SubscribeQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default();
    let ours = web.hosts.iter().any(|h| origin == format!("http://{h}"));
    if !origin.is_empty() && !ours {
        return Err(ApiError::new(
            Code::PermissionDenied,
            format!(
                "the event feed is open only to pages of this server ({}), not {origin}",
                web.hosts[0]
            ),
        ));
    }
    let feed = web.api.subscribe(q.request(None)?).await?;
    Ok(upgrade.on_upgrade(move |socket| forward(socket, feed)))
}

/// Sends the feed's events down `socket` until either ends.
async fn forward(mut socket: WebSocket, mut feed: Feed) {
    loop {
        tokio::select! {
            item = feed.next() => {
                let text = match item {
                    Some(Ok(ev)) => serde_json::to_string(&ev).unwrap_or_default(),
                    Some(Err(e)) => {
                        let error = serde_json::json!({ "error": { "code": e.code, "message": e.message } });
                        let _ = socket.send(Message::Text(error.to_string().into())).await;
                        break;
                    }
                    None => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            // The page went away (or sent something: a feed takes nothing).
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
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
        let status = |s: tonic::Status| ApiError::from(s).into_response().status();
        assert_eq!(
            status(tonic::Status::invalid_argument("bad")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(tonic::Status::not_found("no")),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            status(tonic::Status::resource_exhausted("disk")),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
