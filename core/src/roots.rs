//! Where a verifier learns whether the roots an attestation names are anchored and how
//! recent they are (docs/state.md, "Verifying with a window"). The chain-backed source lives
//! in `zkmed-chain`; `zkmed-state`'s in-memory model implements it for tests and demos.

use crate::field::Fr;

/// What a source knows about a root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootStatus {
    /// The current root.
    Current,
    /// A past root, superseded `ago_s` seconds ago.
    Superseded { ago_s: u64 },
    /// A past root that no window may accept (e.g. a state root recorded before an issuer's
    /// suspension): the reason.
    Refused(String),
    /// Never a root.
    Unknown,
}

/// Why a source could not answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("root source unavailable: {0}")]
pub struct RootSourceError(pub String);

/// The identity-tree and global-state roots, with their history.
pub trait RootSource: Send + Sync {
    fn identity_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError>;
    fn state_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError>;
    /// Where the roots come from, for reports (no I/O).
    fn describe(&self) -> String;
}
