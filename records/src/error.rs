//! The one error type of this crate.

use thiserror::Error;

/// Errors of `zkmed-records`: importing a FHIR bundle, encoding records, building trees and
/// reading or writing an opening file. Every message says what is wrong and, where it
/// applies, where (bundle entry index, resource type and id, field name, file path).
#[derive(Debug, Error)]
pub enum RecordsError {
    /// The input is not syntactically valid JSON.
    #[error("bundle is not valid JSON: {0}")]
    Json(String),
    /// The JSON is well formed but is not a FHIR Bundle (wrong top-level shape or
    /// `resourceType`, `entry` not an array, ...).
    #[error("not a FHIR Bundle: {0}")]
    NotABundle(String),
    /// A bundle entry or one of the fields this crate reads is malformed.
    #[error("{location}: {message}")]
    Fhir {
        /// Where: e.g. `entry 12 (Condition/abc)`, with the field name if any.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The bundle does not hold exactly one usable Patient.
    #[error("patient: {0}")]
    Patient(String),
    /// A record cannot be encoded (a date or value outside the encodable range, ...).
    #[error("record encoding: {0}")]
    Encoding(String),
    /// A Merkle tree operation failed (too many leaves, index out of range, bad path).
    #[error("merkle tree: {0}")]
    Tree(String),
    /// An opening file is malformed, of an unsupported version, or inconsistent.
    #[error("opening: {0}")]
    Opening(String),
    /// Reading or writing a file failed.
    #[error("I/O on {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An error of `zkmed-core` (field parsing, Poseidon, date or value encoding).
    #[error(transparent)]
    Core(#[from] zkmed_core::CoreError),
}

/// `Result` with [`RecordsError`].
pub type Result<T, E = RecordsError> = std::result::Result<T, E>;
