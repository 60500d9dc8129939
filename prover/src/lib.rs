//! # zkmed-prover
//!
//! Turns a patient's opening (records + salts), identity secret and a query into an
//! [`Attestation`](zkmed_core::attestation::Attestation): picks the circuit, fills the witness,
//! proves with Groth16 over BN254 and checks its own proof.
#![forbid(unsafe_code)]

pub mod error;
pub mod identity;
pub mod keys;
pub mod prove;
#[doc(hidden)]
pub mod testing;

pub use error::{ProveError, Result};
pub use identity::IdentitySecret;
pub use keys::{setup, KeyStore, SetupEvent};
pub use prove::{plan, prove, Plan, ProveRequest, Proven};
