//! `POST /v1/attestations`: prove now, answer with the attestation.

use super::{auth_response, busy_response, error_json, input_response, ErrorBody};
use crate::auth::AuthError;
use crate::config::Scope;
use crate::input::{read_body, InputError, ProveBody, ProveInput};
use crate::pool::QueueFull;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use rand::rngs::OsRng;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use utoipa::ToSchema;
use zkmed_core::field::fr_to_dec;
use zkmed_prover::{KeyStore, ProveError, ProveRequest};

/// A proof the service issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttestationResponse {
    /// The attestation (JSON form); give it to the verifier with nothing else.
    #[schema(value_type = Object)]
    pub attestation: serde_json::Value,
    /// The proven answer (also `attestation.public.answer`).
    pub answer: bool,
    pub circuit: String,
    /// The public challenge `H(scope, request)` the verifier expects.
    pub challenge: String,
    /// The scoped nullifier `H(nk, scope)` (the same for every attestation of this identity
    /// in this scope; different across scopes).
    pub nullifier: String,
    /// The identity root and the global state root the proof is against.
    pub identity_root: String,
    pub state_root: String,
    /// Milliseconds spent proving (queueing excluded).
    pub prove_ms: u64,
}

/// Errors of `POST /v1/attestations`.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Busy(#[from] QueueFull),
    #[error(
        "the proof did not finish within {0} s (queueing included); retry later or use /v1/jobs"
    )]
    Timeout(u64),
    #[error(transparent)]
    Prove(#[from] ProveError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Status code of a prover error: the request's fault (400/422), the server's keys (503),
/// or a bug (500).
pub(crate) fn prove_status(e: &ProveError) -> (StatusCode, &'static str) {
    match e {
        ProveError::Core(_)
        | ProveError::Records(_)
        | ProveError::IdentityMismatch
        | ProveError::State(_) => (StatusCode::BAD_REQUEST, "bad_request"),
        ProveError::CapacityExceeded { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "capacity_exceeded")
        }
        ProveError::Indeterminate { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "indeterminate"),
        ProveError::MissingKey(_) => (StatusCode::SERVICE_UNAVAILABLE, "circuit_unavailable"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl ResponseError for AttestationError {
    fn status_code(&self) -> StatusCode {
        match self {
            AttestationError::Auth(e) => super::auth_status(e),
            AttestationError::Input(e) => super::input_status(e),
            AttestationError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            AttestationError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            AttestationError::Prove(e) => prove_status(e).0,
            AttestationError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AttestationError::Auth(e) => auth_response(e),
            AttestationError::Input(e) => input_response(e),
            AttestationError::Busy(e) => busy_response(e),
            AttestationError::Timeout(_) => {
                error_json(self.status_code(), "timeout", self.to_string())
            }
            AttestationError::Prove(e) => {
                let (status, code) = prove_status(e);
                error_json(status, code, e.to_string())
            }
            AttestationError::Internal(_) => {
                error_json(self.status_code(), "internal", self.to_string())
            }
        }
    }
}

/// Proves a parsed request on the current (prover) thread; records the prove-time metric.
pub(crate) fn prove_input(
    keys: &KeyStore,
    metrics: &crate::metrics::Metrics,
    input: ProveInput,
) -> Result<AttestationResponse, ProveError> {
    let t = Instant::now();
    let result = zkmed_prover::prove(
        keys,
        &ProveRequest {
            opening: &input.opening,
            identity: &input.identity,
            state: &input.state,
            query: &input.query,
            request: input.request,
            scope: input.scope,
        },
        &mut OsRng,
    );
    drop(input); // zeroizes the opening, the identity secret and the state's rho
    let elapsed = t.elapsed();
    match result {
        Ok(p) => {
            let circuit = p.attestation.circuit.clone();
            metrics
                .prove_seconds
                .with_label_values(&[&circuit])
                .observe(elapsed.as_secs_f64());
            metrics.proofs.with_label_values(&[&circuit, "ok"]).inc();
            let attestation =
                serde_json::to_value(&p.attestation).expect("an attestation serializes");
            Ok(AttestationResponse {
                attestation,
                answer: p.attestation.public.answer,
                circuit,
                challenge: fr_to_dec(&p.attestation.public.challenge),
                nullifier: fr_to_dec(&p.attestation.public.nullifier),
                identity_root: fr_to_dec(&p.attestation.public.identity_root),
                state_root: fr_to_dec(&p.attestation.public.state_root),
                prove_ms: elapsed.as_millis() as u64,
            })
        }
        Err(e) => {
            metrics.proofs.with_label_values(&["-", "error"]).inc();
            Err(e)
        }
    }
}

/// Authenticates, reads the body (within the body timeout), admits (or 429) and parses
/// the body off the executor.
pub(crate) async fn admit_and_parse(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(crate::auth::Caller, crate::pool::Slot, ProveInput), AttestationError> {
    let caller = state.auth.check(req, Scope::Prove)?;
    // A full queue is answered before the body is read; the slot itself is taken only once
    // the body is in, so clients that send slowly (or never finish) hold no prover slot.
    state.pool.check_room()?;
    let body = read_body(
        req,
        payload,
        state.settings.limits.prove_body_bytes,
        state.settings.body_timeout(),
    )
    .await?;
    let slot = state.pool.try_reserve()?;
    let input = web::block(move || ProveInput::parse(&body))
        .await
        .map_err(|e| AttestationError::Internal(e.to_string()))??;
    Ok((caller, slot, input))
}

/// Prove a fact about the patient's anchored records, now.
#[utoipa::path(
    post,
    path = "/v1/attestations",
    tag = "prove",
    request_body(content = ProveBody, description = "records (opening, or bundle + salt seed), identity (secret, nullifier key), anchored state, question, request, scope"),
    responses(
        (status = 200, description = "The attestation", body = AttestationResponse),
        (status = 400, description = "Malformed request (the message names the field)", body = ErrorBody),
        (status = 401, description = "Missing or unknown bearer token", body = ErrorBody),
        (status = 403, description = "The token may not prove", body = ErrorBody),
        (status = 405, description = "Not POST (`Allow: POST`)", body = ErrorBody),
        (status = 408, description = "The body did not arrive within server.body_timeout_s", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 422, description = "Too many records of the kind for the largest circuit, or the records do not decide the answer (`indeterminate`)", body = ErrorBody),
        (status = 429, description = "Prover queue full; see Retry-After", body = ErrorBody),
        (status = 503, description = "Timed out, or the circuit's keys are not installed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AttestationError> {
    let (caller, slot, input) = admit_and_parse(&req, payload, &state).await?;
    tracing::info!(caller = %caller.name, "proving request admitted");
    let cancel = Arc::new(AtomicBool::new(false));
    let keys = state.keys.clone();
    let metrics = state.metrics.clone();
    let rx = state.pool.spawn(slot, cancel.clone(), move || {
        prove_input(&keys, &metrics, input)
    });
    let timeout = state.settings.prove_timeout();
    match tokio::time::timeout(timeout, rx).await {
        Err(_) | Ok(Ok(None)) => {
            cancel.store(true, Ordering::SeqCst);
            state.metrics.rejected.with_label_values(&["timeout"]).inc();
            Err(AttestationError::Timeout(timeout.as_secs()))
        }
        Ok(Err(_)) => Err(AttestationError::Internal(
            "the proving task failed unexpectedly".into(),
        )),
        Ok(Ok(Some(r))) => Ok(HttpResponse::Ok().json(r?)),
    }
}
