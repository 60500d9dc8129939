//! # zkmed-chain
//!
//! zkmed's contracts on any EVM chain: bindings generated from the committed artifacts
//! (`contracts/artifacts`, compiled by the pinned solc-js; `cargo build` never needs node),
//! one [`Registry`](backend::Registry) for every operation over a node's JSON-RPC or the
//! embedded revm chain, and the chain-backed commitment source for the verifier.
//!
#![doc = include_str!("../../docs/chain.md")]
#![forbid(unsafe_code)]

pub mod backend;
pub mod bench;
pub mod bindings;
pub mod client;
pub mod embedded;
pub mod error;
pub mod poseidon_sol;
pub mod source;
pub mod state;
pub mod testing;

pub use backend::{RpcBackend, RpcOptions};
pub use client::{parse_address, submitter_challenge, Deployment};
pub use error::ChainError;
pub use source::ChainRoots;
pub use state::{GlobalRootTimes, StateBatch};
