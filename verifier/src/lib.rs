//! # zkmed-verifier
//!
//! The embeddable verifier for zkmed attestations: an insurer, employer or hospital links
//! this crate into its own system to check that an [`Attestation`] really answers the
//! question *it* asked, about the latest anchored record state of *some* enrolled patient,
//! with a valid Groth16 proof (BN254). An attestation names no patient (docs/state.md).
//!
//! It depends only on `zkmed-core` and arkworks' verifier side — never on the circuits,
//! the prover or the record parser — and contains no unsafe code.
//!
//! ## What a successful [`verify()`] means
//!
//! `verify(keys, att, query, challenge, roots)` returns `Ok(())` only if, in this order:
//!
//! 1. the attestation format version is supported (v2; v1 is refused with the reason);
//! 2. a verifying key is loaded for `att.circuit`, and its SHA-256 equals `att.key_hash`;
//! 3. `att.public.query_hash` equals the hash the verifier recomputes from the query **it**
//!    asked (`expected_query.hash()`), never a hash taken from the attestation;
//! 4. `att.public.challenge` equals the verifier's own challenge `H(scope, request)`
//!    (replay protection, and the scope of the nullifier);
//! 5. the [`RootPolicy`] accepts the identity root and the global state root: each is
//!    current, or was superseded within the window (default one hour; `CurrentOnly` for
//!    "as of now");
//! 6. the proof bytes decode, with full curve and subgroup validation, as exactly one
//!    canonical compressed Groth16 proof;
//! 7. the Groth16 pairing check passes for the six public inputs.
//!
//! **After `Ok(())`, `att.public.answer` is the proven answer** to `expected_query` over the
//! latest record state of an identity anchored under those roots. An `Err` means the
//! attestation proves nothing; it never means "answer = false". The `nullifier` is proven
//! too but not interpreted here: callers that use it (one-time claims) keep their own set.
//!
//! ```no_run
//! use zkmed_verifier::{verify, KeySet, RootPolicy, RootSource};
//! # fn demo(att: zkmed_core::attestation::Attestation, query: zkmed_core::query::Query,
//! #         challenge: zkmed_core::Fr, chain: &dyn RootSource) -> Result<(), zkmed_verifier::VerifyError> {
//! let keys = KeySet::load_manifest_dir(std::path::Path::new("keys"))?;
//! verify(&keys, &att, &query, &challenge, &RootPolicy::new(chain))?;
//! let proven_answer: bool = att.public.answer; // meaningful only after Ok
//! # let _ = proven_answer; Ok(()) }
//! ```
//!
//! [`verify_batch`] checks many attestations with one randomized pairing product, and
//! [`export_snarkjs`] writes a proof in snarkjs's JSON formats for independent checking.
#![forbid(unsafe_code)]

pub mod batch;
pub mod error;
pub mod keys;
pub mod snarkjs;
pub mod solidity;
pub mod source;
pub mod verify;

pub use batch::{verify_batch, BatchError, BatchItem};
pub use error::VerifyError;
pub use keys::{KeySet, VerifierKey};
pub use snarkjs::{export_snarkjs, SnarkjsFiles};
pub use solidity::{evm_calldata, export_solidity};
pub use source::{
    AcceptedRoots, CallerRoots, RootError, RootPolicy, RootSource, RootSourceError, RootStatus,
    UsedRoot, Which, Window, DEFAULT_WINDOW_S,
};
pub use verify::{
    decode_proof, verify, verify_proof_only_with_report, verify_statement_unbound,
    verify_with_query_hash, verify_with_report, Check, Outcome, SourceInfo, VerifyReport,
};

pub use zkmed_core::attestation::Attestation;
