use thiserror::Error;
use zkmed_core::encoding::Kind;

/// Errors of `zkmed-prover`.
#[derive(Debug, Error)]
pub enum ProveError {
    #[error(transparent)]
    Core(#[from] zkmed_core::CoreError),
    #[error(transparent)]
    Records(#[from] zkmed_records::RecordsError),
    #[error("the patient has {records} {kind:?} records but the largest scan circuit holds {capacity}; this query cannot be proven without a larger circuit (no answer is given rather than a wrong one)")]
    CapacityExceeded {
        kind: Kind,
        records: usize,
        capacity: usize,
    },
    #[error("indeterminate: the records do not decide the answer ({reason}); no answer is given rather than a guess")]
    Indeterminate { reason: String },
    #[error("no key for circuit {0} in the key directory; run `zkmed setup`")]
    MissingKey(String),
    #[error("key file {path}: {reason}")]
    BadKey { path: String, reason: String },
    #[error("the identity secret does not match the opening's identity commitment")]
    IdentityMismatch,
    /// The anchored-state witness does not hold for this identity and opening (stale
    /// paths, another record state, a spent state).
    #[error("anchored state: {0}")]
    State(String),
    #[error("constraint synthesis failed: {0}")]
    Synthesis(String),
    #[error("internal error: the proof for {0} did not verify against its own key")]
    SelfCheck(String),
    #[error("identity file {path}: {reason}")]
    Identity { path: String, reason: String },
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = ProveError> = std::result::Result<T, E>;
