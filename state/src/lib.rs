//! # zkmed-state
//!
//! zkmed's anchored state, natively: the on-chain identity tree, the issuers' off-chain note
//! trees, the spent-state indexed tree, the issuers tree and the global state root, and the
//! note and nullifier formulas. The issuer (`zkmed-issuer`) keeps these structures; the
//! prover takes its paths from them; the circuits (`zkmed-circuits`) check the same relations.
//!
#![doc = include_str!("../../docs/state.md")]
#![forbid(unsafe_code)]

pub mod anchored;
pub mod error;
pub mod indexed;
pub mod local;
pub mod note;
pub mod tree;

pub use anchored::AnchoredState;
pub use error::{Result, StateError};
pub use indexed::{IndexedTree, NonMembership, SPENT_SHAPE};
pub use local::LocalState;
pub use tree::{MerklePath, MerkleTree, Shape};

/// The identity tree: binary, depth 20 (on chain, `ZkmedIdentity`).
pub const IDENTITY_SHAPE: Shape = Shape::new(2, 20);
/// An issuer's note tree: 4-ary, depth 10 (2^20 notes).
pub const NOTE_SHAPE: Shape = Shape::new(4, 10);
/// The issuers tree: binary, depth 10 (1,024 issuer slots; on chain, `StateRegistry`).
pub const ISSUERS_SHAPE: Shape = Shape::new(2, 10);

#[cfg(test)]
mod tests;
