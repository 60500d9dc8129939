//! Structured logs with `tracing`: human-readable text or one JSON object per line.
//! Request bodies are never logged; the request logger records method, route, status and
//! latency only.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

/// Log targets that are always off, whatever `RUST_LOG` says. arkworks instruments its
/// constraint-system code with `tracing` spans (targets `gr1cs`/`r1cs`) whose fields are
/// the `Debug` form of circuit variables — which prints the whole constraint system,
/// witness included: the identity secret, salts and records. Enabled, they would put
/// secrets in the logs (and make key loading take minutes).
pub const SILENCED_TARGETS: &[&str] = &[
    "gr1cs",
    "r1cs",
    "ark_relations",
    "ark_r1cs_std",
    "ark_groth16",
    "ark_crypto_primitives",
    "ark_snark",
    "ark_poly",
    "ark_ec",
    "ark_ff",
    "zkmed_circuits",
    // tracing-actix-web's own error events quote the error message, which can quote the
    // request; `RedactingRootSpan` logs the status instead.
    "tracing_actix_web",
];

/// The configured level (or `RUST_LOG`), with [`SILENCED_TARGETS`] forced off.
pub fn filter(level: &str) -> EnvFilter {
    let base = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| level.to_string());
    let silenced: Vec<String> = SILENCED_TARGETS
        .iter()
        .map(|t| format!("{t}=off"))
        .collect();
    EnvFilter::new(format!("{base},{}", silenced.join(",")))
}

/// Installs the global subscriber (once; later calls are ignored). `RUST_LOG` overrides
/// the configured level, except for [`SILENCED_TARGETS`].
pub fn init(log: &LogSettings) {
    let filter = filter(&log.level);
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
        } else {
            span.record("otel.status_code", "OK");
        }
        if status == actix_web::http::StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(parent: &span, status = status.as_u16(), "request failed");
        } else {
            tracing::info!(parent: &span, status = status.as_u16(), "request");
        }
    }
}
