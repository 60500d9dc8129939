//! `POST /v1/verify`: stateless verification for thin clients.

use super::{auth_response, error_json, input_response, ErrorBody};
use crate::auth::AuthError;
use crate::config::Scope;
use crate::input::{read_body, InputError, VerifyBody, VerifyInput};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use zkmed_core::field::fr_to_dec;
use zkmed_verifier::{InMemoryCommitments, SourceError, VerifyError};

/// Errors of `POST /v1/verify`. A well-formed attestation that fails a check is not an
/// error: it is answered `200` with `valid: false` and the reason.
#[derive(Debug, thiserror::Error)]
pub enum VerifyRouteError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Input(#[from] InputError),
    /// The chain could not be read: the attestation was not checked (not "invalid").
    #[error("the record commitment could not be checked on chain: {0}")]
    ChainUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ResponseError for VerifyRouteError {
    fn status_code(&self) -> StatusCode {
        match self {
            VerifyRouteError::Auth(e) => super::auth_status(e),
            VerifyRouteError::Input(e) => super::input_status(e),
            VerifyRouteError::ChainUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            VerifyRouteError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        match self {
            VerifyRouteError::Auth(e) => auth_response(e),
            VerifyRouteError::Input(e) => input_response(e),
            VerifyRouteError::ChainUnavailable(_) => {
                error_json(self.status_code(), "chain_unavailable", self.to_string())
            }
            VerifyRouteError::Internal(_) => {
                error_json(self.status_code(), "internal", self.to_string())
            }
        }
    }
}

/// The verdict.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyResponse {
    /// Whether every requested check passed.
    pub valid: bool,
    /// `bound`: question, challenge and record commitment were checked too (what a relying
    /// party needs). `proof_only`: only that the proof is valid for its own public inputs —
    /// it does NOT say the attestation answers your question or is about current records.
    pub checks: String,
    /// For a bound check: where the record commitment came from, `caller` (the request's
    /// `record_commitment`) or `chain` (the registries, under the server's freshness rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment_source: Option<String>,
    /// The proven answer; present only when `valid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<bool>,
    pub circuit: String,
    pub nullifier: String,
    pub identity_commitment: String,
    pub record_commitment: String,
    /// When not valid: which check failed and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Verify an attestation.
#[utoipa::path(
    post,
    path = "/v1/verify",
    tag = "verify",
    request_body(content = VerifyBody, description = "attestation; plus question, challenge and record commitment for a bound check"),
    responses(
        (status = 200, description = "Verdict (valid or not, with the reason)", body = VerifyResponse),
        (status = 400, description = "Malformed request or attestation", body = ErrorBody),
        (status = 401, description = "Missing or unknown bearer token", body = ErrorBody),
        (status = 403, description = "The token may not verify", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 503, description = "The chain could not be read (nothing was decided)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn verify(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, VerifyRouteError> {
    state.auth.check(&req, Scope::Verify)?;
    let body = read_body(&req, payload, state.settings.limits.verify_body_bytes).await?;
    let st = state.clone();
    let out = web::block(move || -> Result<VerifyResponse, VerifyRouteError> {
        let input = VerifyInput::parse(&body)?;
        let att = &input.attestation;
        let bound = input.binding.is_some();
        let mut commitment_source = None;
        let result = match &input.binding {
            Some((query, challenge, Some(commitment))) => {
                commitment_source = Some("caller");
                let mut source = InMemoryCommitments::new();
                source.anchor(att.public.identity_commitment, *commitment);
                zkmed_verifier::verify(&st.vkeys, att, query, challenge, &source)
            }
            Some((query, challenge, None)) => {
                let Some(chain) = &st.chain else {
                    return Err(InputError::Field {
                        field: "record_commitment",
                        reason: "required: this server reads no chain ([chain] is not configured)"
                            .into(),
                    }
                    .into());
                };
                commitment_source = Some("chain");
                zkmed_verifier::verify(&st.vkeys, att, query, challenge, &**chain)
            }
            None => st
                .vkeys
                .require(&att.circuit)
                .and_then(|k| zkmed_verifier::verify_statement_unbound(k, att)),
        };
        if let Err(VerifyError::Commitment(SourceError::Unavailable(m))) = &result {
            return Err(VerifyRouteError::ChainUnavailable(m.clone()));
        }
        if let Err(VerifyError::MalformedProof(m)) = &result {
            return Err(InputError::Field {
                field: "attestation",
                reason: format!("malformed proof: {m}"),
            }
            .into());
        }
        Ok(VerifyResponse {
            valid: result.is_ok(),
            checks: if bound { "bound" } else { "proof_only" }.into(),
            commitment_source: commitment_source.map(String::from),
            answer: result.is_ok().then_some(att.public.answer),
            circuit: att.circuit.clone(),
            nullifier: fr_to_dec(&att.public.nullifier),
            identity_commitment: fr_to_dec(&att.public.identity_commitment),
            record_commitment: fr_to_dec(&att.public.record_commitment),
            reason: result.err().map(|e| e.to_string()),
        })
    })
    .await
    .map_err(|e| VerifyRouteError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(out))
}
