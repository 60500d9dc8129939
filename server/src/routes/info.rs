//! Public, read-only routes: circuits, verifying keys, predicates.

use super::{error_json, ErrorBody};
use crate::state::AppState;
use actix_web::http::header::{ContentType, ETAG};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zkmed_circuits::CircuitId;
use zkmed_core::predicates;

/// One circuit this server can prove.
#[derive(Debug, Serialize, ToSchema)]
pub struct CircuitInfo {
    /// e.g. `exists-v3`.
    pub id: String,
    pub version: u32,
    pub constraints: usize,
    pub public_inputs: usize,
    /// Records of one kind it opens (0: one record by inclusion).
    pub capacity: usize,
    /// SHA-256 of the verifying key (what attestations name in `key_hash`).
    pub vk_sha256: String,
    pub pk_sha256: String,
    pub r1cs_sha256: String,
    /// Whether its proving key is loaded in memory.
    pub loaded: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CircuitsResponse {
    /// `true` for keys from a single-party setup: anyone holding its toxic waste can forge.
    pub insecure_setup: bool,
    pub circuits: Vec<CircuitInfo>,
}

/// The circuits, their sizes and key hashes.
#[utoipa::path(get, path = "/v1/circuits", tag = "keys",
    responses((status = 200, description = "Circuits", body = CircuitsResponse)))]
pub async fn circuits(state: web::Data<AppState>) -> HttpResponse {
    let m = state.keys.manifest();
    let loaded = state.keys.loaded();
    HttpResponse::Ok().json(CircuitsResponse {
        insecure_setup: m.insecure_setup,
        circuits: m
            .circuits
            .iter()
            .map(|c| CircuitInfo {
                id: c.id.clone(),
                version: c.version,
                constraints: c.constraints,
                public_inputs: c.public_inputs,
                capacity: c.capacity,
                vk_sha256: c.vk.sha256.clone(),
                pk_sha256: c.pk.sha256.clone(),
                r1cs_sha256: c.r1cs_sha256.clone(),
                loaded: CircuitId::parse(&c.id).is_some_and(|id| loaded.contains(&id)),
            })
            .collect(),
    })
}

/// Errors of `GET /v1/keys/{circuit}/vk`.
#[derive(Debug, thiserror::Error)]
pub enum KeyRouteError {
    #[error(transparent)]
    UnknownCircuit(zkmed_verifier::VerifyError),
    #[error("unknown format {0:?}: use `binary` or `json`")]
    BadFormat(String),
}

impl ResponseError for KeyRouteError {
    fn status_code(&self) -> StatusCode {
        match self {
            KeyRouteError::UnknownCircuit(_) => StatusCode::NOT_FOUND,
            KeyRouteError::BadFormat(_) => StatusCode::BAD_REQUEST,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let code = match self {
            KeyRouteError::UnknownCircuit(_) => "not_found",
            KeyRouteError::BadFormat(_) => "bad_request",
        };
        error_json(self.status_code(), code, self.to_string())
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct VkQuery {
    /// `binary` (default: the canonical compressed arkworks encoding, as in the key
    /// directory) or `json` (`{circuit, sha256, vk}` with `vk` in hex).
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VkJson {
    pub circuit: String,
    pub sha256: String,
    /// Hex of the canonical compressed verifying key.
    pub vk: String,
}

/// A circuit's verifying key, byte-for-byte the file whose SHA-256 the manifest pins.
#[utoipa::path(get, path = "/v1/keys/{circuit}/vk", tag = "keys",
    params(("circuit" = String, Path, description = "Circuit id, e.g. exists-v3"), VkQuery),
    responses(
        (status = 200, description = "The verifying key (binary, or JSON with ?format=json)", body = VkJson),
        (status = 400, description = "Unknown format", body = ErrorBody),
        (status = 404, description = "Unknown circuit", body = ErrorBody),
    ))]
pub async fn verifying_key(
    path: web::Path<String>,
    query: web::Query<VkQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, KeyRouteError> {
    let circuit = path.into_inner();
    let key = state
        .vkeys
        .require(&circuit)
        .map_err(KeyRouteError::UnknownCircuit)?;
    let etag = format!("\"{}\"", key.key_hash());
    match query.format.as_deref() {
        None | Some("binary") => Ok(HttpResponse::Ok()
            .content_type(ContentType::octet_stream())
            .insert_header((ETAG, etag))
            .insert_header(("x-zkmed-key-sha256", key.key_hash().to_string()))
            .body(key.to_bytes())),
        Some("json") => Ok(HttpResponse::Ok().insert_header((ETAG, etag)).json(VkJson {
            circuit,
            sha256: key.key_hash().to_string(),
            vk: hex::encode(key.to_bytes()),
        })),
        Some(other) => Err(KeyRouteError::BadFormat(other.into())),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PredicateInfo {
    pub name: String,
    pub description: String,
    /// Parameter names it takes.
    pub params: Vec<String>,
}

/// The named predicates (usable as `predicate` in proving and verification requests).
#[utoipa::path(get, path = "/v1/predicates", tag = "keys",
    responses((status = 200, description = "Named predicates", body = [PredicateInfo])))]
pub async fn predicates_list() -> HttpResponse {
    let list: Vec<PredicateInfo> = predicates::names()
        .into_iter()
        .filter_map(|n| {
            predicates::get(n).ok().map(|p| PredicateInfo {
                name: n.to_string(),
                description: p.description.clone(),
                params: p.params.keys().cloned().collect(),
            })
        })
        .collect();
    HttpResponse::Ok().json(list)
}
