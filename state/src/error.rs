use thiserror::Error;

/// Errors of the native state structures.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum StateError {
    #[error("a tree must be 2- or 4-ary with depth 1..=32, not {0}-ary depth {1}")]
    BadShape(usize, usize),
    #[error("leaf index {index} is outside the tree (capacity {capacity})")]
    Full { index: u64, capacity: u64 },
    #[error("malformed path: {0}")]
    MalformedPath(String),
    #[error("the state is spent: its nullifier is in the spent-state set")]
    Spent,
    #[error("a nullifier of 0 is not a nullifier")]
    ZeroNullifier,
    #[error("not anchored: {0}")]
    NotAnchored(String),
    #[error("{0}")]
    Refused(String),
    #[error("Poseidon: {0}")]
    Hash(String),
}

pub type Result<T> = std::result::Result<T, StateError>;
