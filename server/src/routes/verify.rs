//! `POST /v1/verify`: stateless verification for thin clients.

use super::{auth_response, error_json, input_response, ErrorBody};
use crate::auth::AuthError;
use crate::config::Scope;
use crate::input::{read_body, InputError, Roots, VerifyBody, VerifyInput};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use zkmed_core::field::fr_to_dec;
use zkmed_verifier::{RootError, RootPolicy, VerifyError, Window};

/// Why a proof-only check is never `verified`.
const NOT_BOUND: &str = "not verified: the proof is valid for its own public inputs, but it was not checked against a question, a challenge or anchored roots (send `predicate`/`query`, `request` and `scope`, and `trusted_roots` or configure [chain])";

/// Errors of `POST /v1/verify`. A well-formed attestation that fails a check is not an
/// error: it is answered `200` with `valid: false` and the reason.
#[derive(Debug, thiserror::Error)]
pub enum VerifyRouteError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Input(#[from] InputError),
    /// The chain could not be read: the attestation was not checked (not "invalid").
    #[error("the roots could not be checked on chain: {0}")]
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
    /// Same as `verified` (kept for older clients).
    pub valid: bool,
    /// Every check ran and passed: key, question, challenge, roots (against the caller's
    /// roots or the chain, within the window) and the proof. Never `true` for a proof-only
    /// check.
    pub verified: bool,
    /// `bound`: question, challenge and roots were checked (what a relying party needs).
    /// `proof_only`: only that the proof is valid for its own public inputs — never
    /// `verified`; see `report.checks.proof`.
    pub checks: String,
    /// Where the roots were checked: `caller` (the request's `trusted_roots`) or `chain`.
    /// Absent for `proof_only`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_source: Option<String>,
    /// The window the roots were checked with, in seconds (0 = current roots only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_s: Option<u64>,
    /// The proven answer; present only when `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<bool>,
    pub circuit: String,
    /// The scoped nullifier (for one-time claims in the verifier's scope).
    pub nullifier: String,
    pub identity_root: String,
    pub state_root: String,
    /// When not verified: which check failed and why (or that none bound the proof).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which checks ran and how each went: `{verified, checks: {key, question, challenge,
    /// roots, proof}` (each `passed`, `failed` or `not_run`), `root_source`, `window_s`,
    /// `roots: {identity, state}: {root, status: current|superseded, superseded_s_ago?}`,
    /// `failure}`.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// Verify an attestation.
#[utoipa::path(
    post,
    path = "/v1/verify",
    tag = "verify",
    request_body(content = VerifyBody, description = "attestation; plus question, request and scope (and trusted roots, or the server's chain with a window) for a bound check"),
    responses(
        (status = 200, description = "Verdict (verified or not, with the reason and the report of the checks)", body = VerifyResponse),
        (status = 400, description = "Malformed request or attestation", body = ErrorBody),
        (status = 401, description = "Missing or unknown bearer token", body = ErrorBody),
        (status = 403, description = "The token may not verify", body = ErrorBody),
        (status = 405, description = "Not POST (`Allow: POST`)", body = ErrorBody),
        (status = 408, description = "The body did not arrive within server.body_timeout_s", body = ErrorBody),
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
    let body = read_body(
        &req,
        payload,
        state.settings.limits.verify_body_bytes,
        state.settings.body_timeout(),
    )
    .await?;
    let st = state.clone();
    let out = web::block(move || -> Result<VerifyResponse, VerifyRouteError> {
        let input = VerifyInput::parse(&body)?;
        let att = &input.attestation;
        let bound = input.binding.is_some();
        let (result, report) = match &input.binding {
            Some(b) => match &b.roots {
                Roots::Caller(roots) => zkmed_verifier::verify_with_report(
                    &st.vkeys,
                    att,
                    &b.query,
                    &b.challenge,
                    &RootPolicy::new(roots),
                ),
                Roots::Chain(window) => {
                    let Some(chain) = &st.chain else {
                        return Err(InputError::Field {
                            field: "trusted_roots",
                            reason:
                                "required: this server reads no chain ([chain] is not configured)"
                                    .into(),
                        }
                        .into());
                    };
                    let configured = st
                        .settings
                        .chain
                        .as_ref()
                        .map(|c| Window::from_seconds(c.window_s))
                        .unwrap_or_default();
                    let policy = RootPolicy::with_window(&**chain, window.unwrap_or(configured));
                    zkmed_verifier::verify_with_report(
                        &st.vkeys,
                        att,
                        &b.query,
                        &b.challenge,
                        &policy,
                    )
                }
            },
            None => zkmed_verifier::verify_proof_only_with_report(&st.vkeys, att),
        };
        if let Err(VerifyError::Root(RootError::Unavailable(m))) = &result {
            return Err(VerifyRouteError::ChainUnavailable(m.to_string()));
        }
        if let Err(VerifyError::MalformedProof(m)) = &result {
            return Err(InputError::Field {
                field: "attestation",
                reason: format!("malformed proof: {m}"),
            }
            .into());
        }
        let verified = report.verified();
        let reason = match &result {
            Err(e) => Some(e.to_string()),
            Ok(()) if !verified => Some(NOT_BOUND.to_string()),
            Ok(()) => None,
        };
        let root_source = input.binding.as_ref().map(|b| {
            match b.roots {
                Roots::Caller(_) => "caller",
                Roots::Chain(_) => "chain",
            }
            .to_string()
        });
        Ok(VerifyResponse {
            valid: verified,
            verified,
            checks: if bound { "bound" } else { "proof_only" }.into(),
            root_source,
            window_s: report.source.as_ref().map(|s| s.window.seconds()),
            answer: verified.then_some(att.public.answer),
            circuit: att.circuit.clone(),
            nullifier: fr_to_dec(&att.public.nullifier),
            identity_root: fr_to_dec(&att.public.identity_root),
            state_root: fr_to_dec(&att.public.state_root),
            reason,
            report: report.to_json(),
        })
    })
    .await
    .map_err(|e| VerifyRouteError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(out))
}
