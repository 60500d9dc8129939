//! The OpenAPI document, generated from the route annotations and schema derives, and the
//! route that serves it. The routes never import this module: it imports them.

use crate::routes::{attestations, health, info, jobs, verify};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zkmed prover service",
        description = "Zero-knowledge attestations over FHIR medical records (Groth16/BN254). \
Proving requests carry secrets (identity secret, records): send them only over TLS to a \
server you trust, with a bearer token.",
    ),
    paths(
        attestations::create,
        jobs::submit,
        jobs::status,
        verify::verify,
        info::circuits,
        info::verifying_key,
        info::predicates_list,
        health::healthz,
        health::readyz,
        health::metrics,
        openapi,
    ),
    components(schemas(
        crate::input::ProveBody,
        crate::input::VerifyBody,
        crate::input::TrustedRoots,
        crate::routes::ErrorBody,
        attestations::AttestationResponse,
        jobs::JobAccepted,
        crate::jobs::Job,
        crate::jobs::JobStatus,
        verify::VerifyResponse,
        info::CircuitsResponse,
        info::CircuitInfo,
        info::VkJson,
        info::PredicateInfo,
        health::Health,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "prove", description = "Issue attestations"),
        (name = "verify", description = "Check attestations"),
        (name = "keys", description = "Circuits, keys and predicates"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(ApiDoc::openapi())
}
