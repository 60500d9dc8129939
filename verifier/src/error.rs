//! The one error type of the verifier. Every variant says which check failed and why.

use crate::source::RootError;
use zkmed_core::{CoreError, Fr};

/// Why an attestation (or a verifying key) was rejected.
///
/// The variants are ordered like the checks in [`crate::verify()`]: an attestation that fails
/// several checks reports the first one.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A `zkmed-core` error: malformed attestation/query, key manifest problem, I/O, ...
    #[error(transparent)]
    Core(#[from] CoreError),

    #[error("unsupported attestation version {got} (this verifier accepts version {expected})")]
    UnsupportedVersion { got: u32, expected: u32 },

    #[error("unknown circuit {circuit:?}: no verifying key is loaded for it (loaded: {known})")]
    UnknownCircuit { circuit: String, known: String },

    #[error(
        "verifying-key hash mismatch for circuit {circuit:?}: the attestation was made for key \
         {attested}, but the loaded key has SHA-256 {loaded}"
    )]
    KeyHashMismatch {
        circuit: String,
        attested: String,
        loaded: String,
    },

    #[error(
        "query mismatch: the attestation answers a query with hash {attested}, but the query \
         the verifier asked hashes to {expected}"
    )]
    QueryMismatch { attested: Fr, expected: Fr },

    #[error(
        "challenge mismatch: the attestation is bound to challenge {attested}, but the verifier \
         expected {expected} (stale or replayed attestation?)"
    )]
    ChallengeMismatch { attested: Fr, expected: Fr },

    // The cause is in the message, so it is not also a `source()`: error chains never
    // repeat a message ("X: X").
    #[error("root rejected: {0}")]
    Root(RootError),

    #[error("malformed proof: {0}")]
    MalformedProof(String),

    #[error(
        "invalid proof: the Groth16 pairing check failed for circuit {circuit:?} with the \
         attested public inputs"
    )]
    InvalidProof { circuit: String },

    #[error("invalid verifying key {id:?}: {reason}")]
    InvalidKey { id: String, reason: String },

    #[error("circuit id {0:?} appears more than once in the key manifest")]
    DuplicateKey(String),
}

impl From<RootError> for VerifyError {
    fn from(e: RootError) -> Self {
        VerifyError::Root(e)
    }
}
