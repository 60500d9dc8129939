//! The crate's one error type.

use zkmed_core::encoding::Kind;

/// Everything that can go wrong in the issuer. Refusals of a patient's request are their own
/// variants (the HTTP layer maps each to a status code); nothing on an input path panics.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("the request is addressed to issuer {0:?}, not to this issuer")]
    WrongIssuer(String),
    #[error("the old state is spent: its nullifier is in the spent-state set or already queued")]
    Spent,
    #[error("unknown note root: the old note's root is not an anchored root of any issuer")]
    UnknownRoot,
    #[error("the old note is not in the note tree under the root its path names")]
    NotInTree,
    #[error("the {} frontier does not extend the old state: {reason}", kind.fhir_name())]
    BadFrontier { kind: Kind, reason: String },
    #[error("this issuer appends records of these kinds; send their frontiers: {}", kinds.iter().map(|k| k.fhir_name()).collect::<Vec<_>>().join(", "))]
    FrontierRequired { kinds: Vec<Kind> },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("records: {0}")]
    Records(#[from] zkmed_records::RecordsError),
    #[error("state: {0}")]
    State(#[from] zkmed_state::StateError),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("anchoring: {0}")]
    Anchor(String),
    #[error("the chain's spent root is {chain}, the batch was built on {batch}")]
    StaleSpentRoot { chain: String, batch: String },
    #[error("identities: {0}")]
    Identities(String),
    #[error("inconsistent state: {0}")]
    Corrupt(String),
    #[error("configuration: {0}")]
    Config(String),
}

pub type Result<T> = std::result::Result<T, IssuerError>;

impl IssuerError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> IssuerError {
        IssuerError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
