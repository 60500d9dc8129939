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

/// Writes `bytes` to `path` atomically (a 0600 temporary file next to it, fsync'd, renamed).
pub fn write_private_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let write = || -> std::io::Result<()> {
        let mut f = o.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        error::IssuerError::io(path, e)
    })
}
