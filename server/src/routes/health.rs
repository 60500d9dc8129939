//! Liveness, readiness and metrics.

use crate::state::AppState;
use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `loading`, `failed` or `stopping`.
    pub status: String,
    /// When not ready: what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        detail: None,
    })
}

/// Readiness: the proving keys (and their R1CS matrices) are loaded and checked, and a
/// configured chain node answered its last probe.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses(
        (status = 200, description = "Ready to prove", body = Health),
        (status = 503, description = "Keys still loading or failed to load, or the configured chain node does not answer", body = Health),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let r = state.readiness();
    match r {
        crate::state::Readiness::Ready => HttpResponse::Ok().json(Health {
            status: "ok".into(),
            detail: None,
        }),
        crate::state::Readiness::Loading(what) => HttpResponse::ServiceUnavailable().json(Health {
            status: "loading".into(),
            detail: Some(what),
        }),
        crate::state::Readiness::Failed(why) => HttpResponse::ServiceUnavailable().json(Health {
            status: "failed".into(),
            detail: Some(why),
        }),
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "Metrics", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType(
            "text/plain; version=0.0.4; charset=utf-8"
                .parse()
                .expect("valid mime"),
        ))
        .body(state.metrics.render())
}
