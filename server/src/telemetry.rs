//! Structured logs with `tracing`: human-readable text or one JSON object per line.
//! Request bodies are never logged; the request logger records method, route, status and
//! latency only.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are ignored). `RUST_LOG` overrides
/// the configured level.
pub fn init(log: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(log.level.clone()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing_actix_web::{root_span, RootSpanBuilder};

/// The request span: method, route, client, status and latency — and, unlike
/// `tracing-actix-web`'s default, never an error's message. Messages about a bad request
/// can quote the request (a FHIR resource, a field), and requests carry medical data and
/// secrets; the client gets the message, the log gets the status.
pub struct RedactingRootSpan;

impl RootSpanBuilder for RedactingRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        root_span!(request)
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(r) => r.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        span.record("http.status_code", status.as_u16());
        if status.is_server_error() {
            span.record("otel.status_code", "ERROR");
            tracing::error!(parent: &span, status = status.as_u16(), "request failed");
        } else {
            span.record("otel.status_code", "OK");
        }
    }
}
