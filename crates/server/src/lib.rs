//! The HyperAgent manager's adapters around its core (`hyperagent-core`): the gRPC services
//! ([`grpc`], thin handlers over [`hyperagent_core::Manager`]) and the conversions between wire and
//! domain types clients need ([`convert`]); the HTTP/SSE web API and its OpenAPI document
//! ([`web`]); the listeners, discovery file and instance lock ([`server`]); the client side of the
//! Unix-socket transport ([`transport`]); the user service ([`service`]); process-wide settings and
//! the bundled folders ([`process`]); the trace exporter to an OpenTelemetry collector
//! ([`telemetry`]). Only this crate and the proto crate touch generated types.
#![deny(missing_docs)]

pub mod api;
pub mod grpc;
pub mod peer_stream;
pub mod process;
pub mod server;
pub mod service;
pub mod telemetry;
pub mod transport;
pub mod web;

pub use grpc::convert;
