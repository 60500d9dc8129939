//! Gadgets: circomlib Poseidon, bit decomposition / range checks, comparisons, quaternary
//! Merkle paths. Each has a native twin in `zkmed-core` and a test that they agree.

pub mod bits;
pub mod compare;
pub mod merkle;
pub mod poseidon;

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;

/// An R1CS variable over the BN254 scalar field.
pub type FrVar = FpVar<Fr>;
