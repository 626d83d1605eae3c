//! The trace exporter: with `[telemetry] otlp_endpoint` set, it follows the manager's event feed
//! and, as each plan (and each task outside a plan) ends, sends its trace
//! ([`hyperagent_core::trace`]) to the person's OpenTelemetry collector over OTLP/gRPC. A collector
//! that is away is tried again with a growing wait (`telemetry.retry_backoff_max`); the place in
//! the feed it finished with is stored, so after a restart it goes on from there and nothing that
//! ended is left out (a trace sent twice is the same trace: its ids come from the records).
//! Telemetry is the person's own connection, configured by them: it does not go through the
//! agents' egress proxy and asks no consent, and it carries nothing the person's task list does
//! not show them already.
use std::collections::HashSet;
use std::time::Duration;

use hyperagent_core::config::Telemetry;
use hyperagent_core::manager::Manager;
use hyperagent_core::model::{Event, EventBody};
use hyperagent_core::store::EventFilter;
use hyperagent_core::trace::{Kind, Span, Status, Value};
use hyperagent_proto::opentelemetry::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use hyperagent_proto::opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
use hyperagent_proto::opentelemetry::proto::common::v1::{
    any_value, AnyValue, InstrumentationScope, KeyValue,
};
use hyperagent_proto::opentelemetry::proto::resource::v1::Resource;
use hyperagent_proto::opentelemetry::proto::trace::v1::{
    span::SpanKind, status::StatusCode, ResourceSpans, ScopeSpans, Span as OtlpSpan,
    Status as OtlpStatus,
};
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

/// The first wait after a failed export.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// Exports traces until `stopped` turns true. Returns at once when no endpoint is configured.
pub async fn export(manager: Manager, cfg: Telemetry, mut stopped: watch::Receiver<bool>) {
    let endpoint = cfg.otlp_endpoint.trim().to_string();
    if endpoint.is_empty() {
        return;
    }
    let channel = match Endpoint::from_shared(endpoint.clone()) {
        Ok(e) => e.timeout(cfg.export_timeout).connect_lazy(),
        Err(e) => {
            tracing::error!(endpoint, error = %e, "telemetry.otlp_endpoint is not an address: no traces are exported");
            return;
        }
    };
    let mut client = TraceServiceClient::new(channel);
    // From where it got to; the first time, from now (history before telemetry was turned on is
    // not sent).
    let after = match manager.exported_seq().await {
        Ok(0) => None,
        Ok(seq) => Some(seq),
        Err(e) => {
            tracing::error!(error = %e, "reading where the trace export got to failed; starting from now");
            None
        }
    };
    let filter = EventFilter {
        task_id: None,
        exclude_logs: true,
    };
    let mut feed = manager.feed().subscribe(after, filter);
    // A plan's end may be said again (its summary written later): sent once per run.
    let mut sent_plans: HashSet<String> = HashSet::new();
    tracing::info!(endpoint, "exporting traces over OTLP");
    loop {
        let ev = tokio::select! {
            ev = feed.recv() => ev,
            _ = stopped.changed() => return,
        };
        let ev = match ev {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                tracing::error!(error = %e, "the event feed failed: trace export stops");
                return;
            }
            None => return,
        };
        let Some(spans) = trace_of(&manager, &ev, &mut sent_plans).await else {
            continue;
        };
        let request = request(&cfg.service_name, &spans);
        if !send(&mut client, request, &cfg, &mut stopped).await {
            return; // stopping
        }
        if let Err(e) = manager.set_exported_seq(ev.seq).await {
            tracing::warn!(error = %e, "recording where the trace export got to failed");
        }
    }
}

/// The trace an event ends, if it ends one.
async fn trace_of(
    manager: &Manager,
    ev: &Event,
    sent_plans: &mut HashSet<String>,
) -> Option<Vec<Span>> {
    let traced = match &ev.body {
        EventBody::TaskState { task_id, to, .. } if to.is_terminal() => manager
            .task_trace(task_id)
            .await
            .map(|t| t.unwrap_or_default()),
        EventBody::PlanChanged { plan } if plan.state.is_terminal() => {
            if !sent_plans.insert(plan.id.clone()) {
                return None;
            }
            manager.plan_trace(&plan.id).await
        }
        _ => return None,
    };
    match traced {
        Ok(spans) if !spans.is_empty() => Some(spans),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(seq = ev.seq, error = %e, "reading a trace failed; it is not exported");
            None
        }
    }
}

/// Sends one request, again after a growing wait while the collector cannot take it; false when
/// asked to stop meanwhile. A request the collector refuses as malformed is dropped (sending it
/// again would not help).
async fn send(
    client: &mut TraceServiceClient<Channel>,
    request: ExportTraceServiceRequest,
    cfg: &Telemetry,
    stopped: &mut watch::Receiver<bool>,
) -> bool {
    let mut wait = FIRST_BACKOFF;
    loop {
        match client.export(request.clone()).await {
            Ok(r) => {
                if let Some(p) = r.into_inner().partial_success {
                    if p.rejected_spans > 0 {
                        tracing::warn!(rejected = p.rejected_spans, message = %p.error_message, "the collector refused some spans");
                    }
                }
                return true;
            }
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                tracing::error!(error = %s, "the collector refused a trace; it is dropped");
                return true;
            }
            Err(s) => {
                tracing::warn!(error = %s, retry_in = ?wait, "exporting a trace failed; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped.changed() => return false,
                }
                wait = (wait * 2).min(cfg.retry_backoff_max);
            }
        }
    }
}

/// The OTLP request carrying `spans`, as this service's.
fn request(service_name: &str, spans: &[Span]) -> ExportTraceServiceRequest {
    let resource = Resource {
        attributes: vec![
            key_value("service.name", &Value::Str(service_name.to_string())),
            key_value(
                "service.version",
                &Value::Str(env!("CARGO_PKG_VERSION").to_string()),
            ),
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "hyperagent".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans: spans.iter().map(span).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn span(s: &Span) -> OtlpSpan {
    let nanos = |us: i64| (us.max(0) as u64).saturating_mul(1000);
    let (code, message) = match &s.status {
        Status::Unset => (StatusCode::Unset, String::new()),
        Status::Ok => (StatusCode::Ok, String::new()),
        Status::Error(m) => (StatusCode::Error, m.clone()),
    };
    OtlpSpan {
        trace_id: s.trace_id.to_vec(),
        span_id: s.span_id.to_vec(),
        parent_span_id: s.parent.map(|p| p.to_vec()).unwrap_or_default(),
        name: s.name.clone(),
        kind: match s.kind {
            Kind::Internal => SpanKind::Internal,
            Kind::Client => SpanKind::Client,
        } as i32,
        start_time_unix_nano: nanos(s.start_us),
        end_time_unix_nano: nanos(s.end_us),
        attributes: s.attributes.iter().map(|(k, v)| key_value(k, v)).collect(),
        status: Some(OtlpStatus {
            message,
            code: code as i32,
        }),
        ..Default::default()
    }
}

fn key_value(key: &str, v: &Value) -> KeyValue {
    let value = match v {
        Value::Str(s) => any_value::Value::StringValue(s.clone()),
        Value::Int(i) => any_value::Value::IntValue(*i),
        Value::Float(f) => any_value::Value::DoubleValue(*f),
    };
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
    }
}
