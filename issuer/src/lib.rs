//! # zkmed-issuer
//!
//! An issuer (`zkmed issuer serve`): it verifies patients' state transitions natively,
//! appends its own records to their kind trees through the trees' frontiers, queues
//! `(L_new, sn_old)`, anchors batches (notes shuffled, the spent set in insertion order),
//! and serves note paths and spent-set non-membership proofs. Its state lives in an
//! [`IssuerStore`] (SQLite by default); its batches go to an [`Anchor`].
//! See docs/issuer.md and docs/state.md.
#![forbid(unsafe_code)]

pub mod anchor;
pub mod api;
pub mod auth;
pub mod chain;
pub mod cli;
pub mod codec;
pub mod error;
pub mod http;
pub mod issuer;
pub mod store;

pub use anchor::{Anchor, BatchAnchor, ChainBatch, FileLedger, LedgerAnchor};
pub use auth::{sign_request, FileIdentities, Identities, OperatorToken, SIGNATURE_HEADER};
pub use chain::{open_embedded, ChainAnchor};
pub use error::{IssuerError, Result};
pub use http::{AnchorChoice, Application, Config, Parts};
pub use issuer::{Issuer, IssuerOptions};
pub use store::{IssuerStore, SqliteStore};

/// Writes `bytes` to `path` atomically, 0600 ([`zkmed_core::files::write_private_atomic`]).
pub fn write_private_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    zkmed_core::files::write_private_atomic(path, bytes)
        .map_err(|e| error::IssuerError::io(path, e))
}
