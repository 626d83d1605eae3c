//! The OpenAPI 3.1 document of the web API, made from the protos' descriptor set (the same one
//! gRPC reflection serves), so it cannot drift from the contract: one `POST /api/v1/<Method>` per
//! unary client method, the `events` SSE stream, and a JSON Schema per message and enum, with the
//! protos' comments as descriptions. Written here because no crate turns a prost descriptor set
//! into OpenAPI; it follows the proto3 JSON mapping that `pbjson` implements (64-bit integers as
//! strings, enums by name, `Timestamp` as RFC 3339, the proto's field names).
use std::collections::HashMap;
use std::sync::OnceLock;

use hyperagent_proto::v1 as pb;
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet, ServiceDescriptorProto};
use serde_json::{json, Map, Value};

use crate::api::METHODS;

/// The document (built once).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

/// Comments by descriptor location path.
type Comments = HashMap<Vec<i32>, String>;

fn build() -> Value {
    let set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET)
        .expect("the embedded descriptor set decodes");
    let mut schemas = Map::new();
    let mut paths = Map::new();
    for file in set.file.iter().filter(|f| f.package() == "hyperagent.v1") {
        let comments: Comments = file
            .source_code_info
            .iter()
            .flat_map(|s| &s.location)
            .filter_map(|l| {
                let c = l.leading_comments().trim();
                (!c.is_empty()).then(|| (l.path.clone(), c.to_string()))
            })
            .collect();
        for (i, m) in file.message_type.iter().enumerate() {
            message(&mut schemas, m, &comments, vec![4, i as i32]);
        }
        for (i, e) in file.enum_type.iter().enumerate() {
            let mut s = json!({
                "type": "string",
                "enum": e.value.iter().map(|v| v.name()).collect::<Vec<_>>(),
            });
            describe(&mut s, &comments, &[5, i as i32]);
            schemas.insert(e.name().to_string(), s);
        }
        for (si, svc) in file.service.iter().enumerate() {
            if svc.name() == "ClientService" {
                methods(&mut paths, svc, &comments, si);
            }
        }
    }
    schemas.insert("Error".into(), error_schema());
    paths.insert("/api/v1/events".into(), events_path());
    paths.insert("/api/v1/events/ws".into(), events_ws_path());
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "HyperAgent client API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The manager's client API (the gRPC ClientService of proto/hyperagent/v1/client.proto) over HTTP: each method's request and response as proto3 JSON with the proto's field names. Loopback only; every request needs the token (`Authorization: Bearer <token>` or the UI's cookie).",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "cookie": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "cookie": { "type": "apiKey", "in": "cookie", "name": super::COOKIE },
            },
        },
    })
}

fn reference(type_name: &str) -> Value {
    match type_name {
        ".google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
        t => {
            json!({ "$ref": format!("#/components/schemas/{}", t.rsplit('.').next().unwrap_or(t)) })
        }
    }
}

fn describe(schema: &mut Value, comments: &Comments, path: &[i32]) {
    if let Some(c) = comments.get(path) {
        schema["description"] = json!(c);
    }
}

fn message(
    schemas: &mut Map<String, Value>,
    m: &DescriptorProto,
    comments: &Comments,
    path: Vec<i32>,
) {
    let maps: HashMap<String, &DescriptorProto> = m
        .nested_type
        .iter()
        .filter(|n| n.options.as_ref().is_some_and(|o| o.map_entry()))
        .map(|n| (n.name().to_string(), n))
        .collect();
    let mut props = Map::new();
    for (fi, f) in m.field.iter().enumerate() {
        let entry = f.type_name().rsplit('.').next().unwrap_or_default();
        let mut s = if let Some(e) = maps.get(entry).filter(|_| f.r#type() == Type::Message) {
            let value = e.field.get(1).map(scalar).unwrap_or_else(|| json!({}));
            json!({ "type": "object", "additionalProperties": value })
        } else {
            let one = scalar(f);
            if f.label() == Label::Repeated {
                json!({ "type": "array", "items": one })
            } else {
                one
            }
        };
        let mut field_path = path.clone();
        field_path.extend([2, fi as i32]);
        describe(&mut s, comments, &field_path);
        props.insert(f.name().to_string(), s);
    }
    let mut s = json!({ "type": "object", "properties": props });
    describe(&mut s, comments, &path);
    schemas.insert(m.name().to_string(), s);
}

fn scalar(f: &prost_types::FieldDescriptorProto) -> Value {
    match f.r#type() {
        Type::Double | Type::Float => json!({ "type": "number" }),
        Type::Int32 | Type::Uint32 | Type::Sint32 | Type::Fixed32 | Type::Sfixed32 => {
            json!({ "type": "integer" })
        }
        Type::Int64 | Type::Uint64 | Type::Sint64 | Type::Fixed64 | Type::Sfixed64 => {
            json!({ "type": "string", "format": "int64", "description": "A 64-bit integer, as a string" })
        }
        Type::Bool => json!({ "type": "boolean" }),
        Type::String => json!({ "type": "string" }),
        Type::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
        Type::Enum | Type::Message | Type::Group => reference(f.type_name()),
    }
}

/// A path for each unary method of the client API, its summary the method's proto comment.
fn methods(
    paths: &mut Map<String, Value>,
    svc: &ServiceDescriptorProto,
    comments: &Comments,
    si: usize,
) {
    for (mi, m) in svc.method.iter().enumerate() {
        if !METHODS.contains(&m.name()) {
            continue;
        }
        let summary = comments
            .get(&vec![6, si as i32, 2, mi as i32])
            .cloned()
            .unwrap_or_default();
        paths.insert(
            format!("/api/v1/{}", m.name()),
            json!({ "post": {
                "operationId": m.name(),
                "summary": summary,
                "requestBody": { "required": false, "content": { "application/json": {
                    "schema": reference(m.input_type()) } } },
                "responses": {
                    "200": { "description": "OK", "content": { "application/json": {
                        "schema": reference(m.output_type()) } } },
                    "default": { "description": "An error", "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/Error" } } } },
                },
            }}),
        );
    }
}

/// Every error's shape.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": { "type": "string", "description": "The gRPC status code in snake case, e.g. invalid_argument, not_found, failed_precondition, permission_denied, unauthenticated." },
            "message": { "type": "string", "description": "What was wrong, where, and what is allowed." },
        },
    })
}

/// `Subscribe` as Server-Sent Events.
fn events_path() -> Value {
    json!({ "get": {
        "operationId": "Subscribe",
        "summary": "The event feed as Server-Sent Events: each event's `id` is its `seq` and its `data` an Event as JSON. Reconnecting with `Last-Event-ID` (EventSource does) resumes after that event with no gap and no duplicate. An `error` event ends the stream.",
        "parameters": [
            { "name": "after_seq", "in": "query", "schema": { "type": "integer", "minimum": 0 },
              "description": "Resume after this event; absent: only new events; 0: from the oldest stored event." },
            { "name": "task_id", "in": "query", "schema": { "type": "string" },
              "description": "Only events about this task." },
            { "name": "exclude_logs", "in": "query", "schema": { "type": "boolean" },
              "description": "Leave out log lines." },
        ],
        "responses": { "200": { "description": "A stream of events", "content": {
            "text/event-stream": { "itemSchema": { "$ref": "#/components/schemas/Event" } } } } },
    }})
}

/// `Subscribe` over a WebSocket (the UI's feed).
fn events_ws_path() -> Value {
    let mut path = events_path();
    path["get"]["operationId"] = "SubscribeWebSocket".into();
    path["get"]["summary"] = "The event feed over a WebSocket (upgrade with the usual handshake): each event a text message, an Event as JSON; a failure is `{\"error\": {\"code\", \"message\"}}` before the close. Resume by opening again with `after_seq` set to the last `seq` seen. The handshake's `Origin`, when sent, must be this server's.".into();
    path["get"]["responses"] =
        json!({ "101": { "description": "Switching to the WebSocket protocol" } });
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unary_client_method_is_offered() {
        let set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let svc = set
            .file
            .iter()
            .flat_map(|f| &f.service)
            .find(|s| s.name() == "ClientService")
            .unwrap();
        for m in svc.method.iter().filter(|m| !m.server_streaming()) {
            assert!(
                METHODS.contains(&m.name()),
                "{} is missing from for_each_unary_client_method!",
                m.name()
            );
        }
    }

    #[test]
    fn every_method_and_message_is_described() {
        let doc = document();
        for m in METHODS {
            assert!(
                doc["paths"][format!("/api/v1/{m}")]["post"].is_object(),
                "{m}"
            );
        }
        let submit = &doc["components"]["schemas"]["SubmitTaskRequest"]["properties"];
        assert_eq!(submit["task_type"]["type"], "string");
        assert_eq!(submit["workspace"]["type"], "string");
        let said = submit["payload_json"]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            said.contains("checked against"),
            "the proto's comment: {said:?}"
        );
        let event = &doc["components"]["schemas"]["Event"]["properties"];
        assert_eq!(event["seq"]["format"], "int64");
        assert_eq!(event["time"]["format"], "date-time");
        let log = &doc["components"]["schemas"]["LogLine"]["properties"];
        assert_eq!(log["fields"]["type"], "object");
        assert_eq!(doc["components"]["schemas"]["TaskState"]["type"], "string");
    }
}
