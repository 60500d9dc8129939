//! `POST /v1/jobs` and `GET /v1/jobs/{id}`: proving without holding a connection open.

use super::attestations::{admit_and_parse, prove_input, prove_status, AttestationError};
use super::{auth_response, error_json, ErrorBody};
use crate::auth::AuthError;
use crate::config::Scope;
use crate::input::ProveBody;
use crate::jobs::{Job, JobStatus, JobStoreError};
use crate::state::AppState;
use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Errors of the job routes.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Admit(#[from] AttestationError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("no job {0} (unknown, expired, or not yours)")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] JobStoreError),
}

impl ResponseError for JobError {
    fn status_code(&self) -> StatusCode {
        match self {
            JobError::Admit(e) => e.status_code(),
            JobError::Auth(e) => super::auth_status(e),
            JobError::NotFound(_) => StatusCode::NOT_FOUND,
            JobError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            JobError::Admit(e) => e.error_response(),
            JobError::Auth(e) => auth_response(e),
            JobError::NotFound(_) => error_json(self.status_code(), "not_found", self.to_string()),
            JobError::Store(_) => error_json(self.status_code(), "internal", self.to_string()),
        }
    }
}

/// A job was accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobAccepted {
    pub id: Uuid,
    pub status: JobStatus,
    /// Where to poll: `/v1/jobs/{id}`.
    pub location: String,
}

/// Queue a proof; poll `GET /v1/jobs/{id}` for the result.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "prove",
    request_body(content = ProveBody, description = "same body as POST /v1/attestations"),
    responses(
        (status = 202, description = "Accepted; poll the location", body = JobAccepted),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "Missing or unknown bearer token", body = ErrorBody),
        (status = 403, description = "The token may not prove", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 429, description = "Prover queue full; see Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JobError> {
    let (caller, slot, input) = admit_and_parse(&req, payload, &state).await?;
    let jobs = state.jobs.clone();
    let owner = caller.name.clone();
    let job = web::block(move || jobs.create(&owner))
        .await
        .map_err(|e| AttestationError::Internal(e.to_string()))??;
    let id = job.id;
    tracing::info!(caller = %caller.name, job = %id, "job queued");
    let (keys, metrics, jobs) = (
        state.keys.clone(),
        state.metrics.clone(),
        state.jobs.clone(),
    );
    // Jobs have no deadline and are never cancelled: they run to the end (or to a restart,
    // which reports them as interrupted). Nobody waits for the result here (the job file
    // records it), so the pool's completion receiver is dropped on purpose.
    drop(
        state
            .pool
            .spawn(slot, Arc::new(AtomicBool::new(false)), move || {
                if let Err(e) = jobs.update(id, |j| j.status = JobStatus::Running) {
                    tracing::error!(job = %id, error = %e, "cannot record job start");
                }
                let outcome = prove_input(&keys, &metrics, input);
                let saved = jobs.update(id, |j| match outcome {
                    Ok(r) => {
                        j.status = JobStatus::Done;
                        j.answer = Some(r.answer);
                        j.circuit = Some(r.circuit);
                        j.prove_ms = Some(r.prove_ms);
                        j.attestation = Some(r.attestation);
                    }
                    Err(e) => {
                        j.status = JobStatus::Failed;
                        j.error = Some(format!("{} ({})", e, prove_status(&e).1));
                    }
                });
                if let Err(e) = saved {
                    tracing::error!(job = %id, error = %e, "cannot record job result");
                }
            }),
    );
    let location = format!("/v1/jobs/{id}");
    Ok(HttpResponse::Accepted()
        .insert_header((LOCATION, location.clone()))
        .json(JobAccepted {
            id,
            status: JobStatus::Queued,
            location,
        }))
}

/// A job's status and, when done, its attestation.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "prove",
    params(("id" = String, Path, description = "Job id from POST /v1/jobs")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 401, description = "Missing or unknown bearer token", body = ErrorBody),
        (status = 404, description = "Unknown, expired, or another caller's job", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, JobError> {
    let caller = state.auth.check(&req, Scope::Prove)?;
    let raw = path.into_inner();
    let id = Uuid::parse_str(&raw).map_err(|_| JobError::NotFound(raw.clone()))?;
    let jobs = state.jobs.clone();
    let job: Option<Job> = web::block(move || jobs.get(id))
        .await
        .map_err(|e| JobError::Admit(AttestationError::Internal(e.to_string())))??;
    match job {
        Some(j) if !state.auth.enabled() || j.owner == caller.name => {
            Ok(HttpResponse::Ok().json(j))
        }
        _ => Err(JobError::NotFound(raw)),
    }
}
