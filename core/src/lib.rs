//! # zkmed-core
//!
//! Shared, witness-free building blocks of zkmed: strict BN254 field parsing, the
//! circomlib-compatible Poseidon hash, the record encoding constants, the versioned query
//! language and its hash, and the attestation / key-manifest formats. The embeddable
//! verifier depends on this crate only (plus arkworks' Groth16 verifier).
#![forbid(unsafe_code)]

pub mod attestation;
pub mod codes;
pub mod encoding;
pub mod error;
pub mod field;
pub mod files;
pub mod manifest;
pub mod poseidon;
pub mod predicates;
pub mod query;
pub mod roots;

pub use error::{CoreError, Result};
pub use field::Fr;
