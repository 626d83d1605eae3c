//! The client API as JSON, for the web API ([`crate::web`]) and the desktop shell alike: one error
//! shape, one method table and dispatch, one way to read a subscription's query.
//!
//! A call names a unary method of `ClientService` (`"SubmitTask"`) and gives its request message
//! in the proto3 JSON mapping with the proto's field names; the answer is the response message the
//! same way. Calls go to a [`Target`]: the services of the manager in this process (the web API)
//! or a manager over its socket (the desktop app, which may be connected to the headless service).
//! Errors are `{"code": "invalid_argument", "message": "..."}`, the code being the gRPC status
//! code's name in snake case.
use std::pin::Pin;

use hyperagent_proto::v1 as pb;
use pb::client_service_client::ClientServiceClient;
use pb::client_service_server::ClientService;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Channel;
use tonic::Code;

use crate::convert::code_name;
use crate::grpc::Services;

/// An error as a client of the JSON API sees it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ApiError {
    /// The gRPC status code's name in snake case (`invalid_argument`, `not_found`, ...).
    pub code: &'static str,
    /// What was wrong, for people.
    pub message: String,
    /// The gRPC code itself (what an HTTP status is chosen from).
    #[serde(skip)]
    pub grpc: Code,
}

impl ApiError {
    /// An error with this gRPC code.
    pub fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code_name(code),
            message: message.into(),
            grpc: code,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> ApiError {
        ApiError::new(s.code(), s.message())
    }
}

impl From<hyperagent_core::Error> for ApiError {
    fn from(e: hyperagent_core::Error) -> ApiError {
        ApiError::from(crate::convert::status(e))
    }
}

/// Where calls go.
#[derive(Clone)]
pub enum Target {
    /// The client services of the manager in this process.
    Local(Services),
    /// A manager over its socket.
    Remote(ClientServiceClient<Channel>),
}

/// The client API as JSON over a [`Target`].
#[derive(Clone)]
pub struct Api {
    target: Target,
    /// Where the caller finds the methods and their requests, added to the errors that say a
    /// method or a request was wrong (empty: nothing to add).
    help: &'static str,
}

/// A request message as JSON.
#[derive(Debug)]
pub enum Body<'a> {
    /// A JSON value (`null`: the empty request).
    Json(Value),
    /// JSON text as received (blank: the empty request).
    Text(&'a [u8]),
}

/// A subscription's feed: each event, or the error that ends it.
pub type Feed = Pin<Box<dyn Stream<Item = Result<pb::Event, ApiError>> + Send>>;

fn to_json<T: Serialize>(resp: T) -> Result<Value, ApiError> {
    serde_json::to_value(resp).map_err(|e| ApiError::new(Code::Internal, e.to_string()))
}

/// The unary methods and their dispatch, made from the one list of client methods.
macro_rules! api_methods {
    ($($name:literal $f:ident $req:ident;)*) => {
        /// The unary methods of the client API: every client method but `Subscribe`.
        pub const METHODS: &[&str] = &[$($name),*];

        impl Api {
            /// Calls one unary method with its request as JSON.
            pub async fn call(&self, method: &str, request: Body<'_>) -> Result<Value, ApiError> {
                match method {
                    $($name => {
                        let req: pb::$req = self.request($name, request)?;
                        match &self.target {
                            Target::Local(svc) => {
                                to_json(ClientService::$f(svc, tonic::Request::new(req)).await?.into_inner())
                            }
                            Target::Remote(client) => {
                                to_json(client.clone().$f(req).await?.into_inner())
                            }
                        }
                    })*
                    other => Err(ApiError::new(
                        Code::NotFound,
                        format!("no method `{other}` in the client API{}", self.help(";")),
                    )),
                }
            }
        }
    };
}
hyperagent_proto::for_each_unary_client_method!(api_methods);

impl Api {
    /// Calls to `target`; `help` says where the methods are described (e.g. the OpenAPI document).
    pub fn new(target: Target, help: &'static str) -> Api {
        Api { target, help }
    }

    fn help(&self, sep: &str) -> String {
        if self.help.is_empty() {
            String::new()
        } else {
            format!("{sep} {}", self.help)
        }
    }

    fn request<T: serde::de::DeserializeOwned + Default>(
        &self,
        method: &str,
        request: Body<'_>,
    ) -> Result<T, ApiError> {
        let parsed = match request {
            Body::Json(Value::Null) => return Ok(T::default()),
            Body::Text(t) if t.iter().all(u8::is_ascii_whitespace) => return Ok(T::default()),
            Body::Json(v) => serde_json::from_value(v),
            Body::Text(t) => serde_json::from_slice(t),
        };
        parsed.map_err(|e| {
            ApiError::new(
                Code::InvalidArgument,
                format!(
                    "the request is not a valid {method}Request: {e}{}",
                    self.help(";")
                ),
            )
        })
    }

    /// Subscribes to the event feed.
    pub async fn subscribe(&self, req: pb::SubscribeRequest) -> Result<Feed, ApiError> {
        Ok(match &self.target {
            Target::Local(svc) => Box::pin(
                ClientService::subscribe(svc, tonic::Request::new(req))
                    .await?
                    .into_inner()
                    .map(|item| item.map_err(ApiError::from)),
            ),
            Target::Remote(client) => Box::pin(
                client
                    .clone()
                    .subscribe(req)
                    .await?
                    .into_inner()
                    .map(|item| item.map_err(ApiError::from)),
            ),
        })
    }
}

/// `Subscribe`'s request as the web API's `events` query and the desktop shell's `subscribe` take
/// it.
#[derive(Debug, Default, Deserialize)]
pub struct SubscribeQuery {
    /// Resume after this event (absent or `null`: only new events; 0: from the oldest): a number
    /// or, as 64-bit integers are in proto3 JSON (and everything is in a query string), a string
    /// of digits.
    #[serde(default)]
    pub after_seq: Option<Value>,
    /// Only this task's events.
    #[serde(default)]
    pub task_id: String,
    /// Leave out log lines.
    #[serde(default)]
    pub exclude_logs: bool,
}

impl SubscribeQuery {
    /// The request; `resume_after` (an `EventSource`'s `Last-Event-ID`) wins over `after_seq`.
    pub fn request(self, resume_after: Option<u64>) -> Result<pb::SubscribeRequest, ApiError> {
        let after_seq = match &self.after_seq {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse::<u64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| {
                    ApiError::new(
                        Code::InvalidArgument,
                        format!("after_seq {v} is not a sequence number (a whole number from 0)"),
                    )
                })?,
            ),
        };
        Ok(pb::SubscribeRequest {
            after_seq: resume_after.or(after_seq),
            task_id: self.task_id,
            exclude_logs: self.exclude_logs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_code_name_and_serialize_without_the_grpc_code() {
        let e = ApiError::from(tonic::Status::not_found("no task t1"));
        assert_eq!((e.code, e.grpc), ("not_found", Code::NotFound));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "not_found", "message": "no task t1"})
        );
    }

    #[test]
    fn after_seq_is_a_number_or_a_string_of_digits_and_nothing_else() {
        let q = |v: Value| SubscribeQuery {
            after_seq: Some(v),
            ..SubscribeQuery::default()
        };
        assert_eq!(q(7.into()).request(None).unwrap().after_seq, Some(7));
        assert_eq!(q("8".into()).request(None).unwrap().after_seq, Some(8));
        assert_eq!(q(Value::Null).request(None).unwrap().after_seq, None);
        assert_eq!(q(7.into()).request(Some(9)).unwrap().after_seq, Some(9));
        for bad in [
            Value::from(-1),
            Value::from("x"),
            Value::from(1.5),
            Value::Bool(true),
        ] {
            let e = q(bad.clone()).request(None).unwrap_err();
            assert_eq!(e.code, "invalid_argument", "{bad}");
            assert!(e.message.contains("not a sequence number"), "{}", e.message);
        }
    }
}
