use thiserror::Error;

/// Errors of `zkmed-core`: parsing field elements, queries, attestations and manifests.
#[derive(Debug, Error)]
pub enum CoreError {
    #[error("invalid field element {value:?}: {reason}")]
    InvalidField { value: String, reason: String },
    #[error("poseidon: {0}")]
    Poseidon(String),
    #[error("invalid query: {0}")]
    Query(String),
    #[error("unknown named predicate {name:?} (known: {known})")]
    UnknownPredicate { name: String, known: String },
    #[error("invalid attestation: {0}")]
    Attestation(String),
    #[error("invalid key manifest: {0}")]
    Manifest(String),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;
