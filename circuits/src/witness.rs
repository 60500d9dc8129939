//! Witness types the prover fills in. They hold secrets (the identity secret, salts); the
//! secrets are overwritten when the witness is dropped and never printed by `Debug`.

use ark_bn254::Fr;
use zkmed_core::poseidon::zeroize_fr;
use zkmed_core::query::CompiledQuery;

/// Witness shared by all circuits.
pub struct CommonWitness {
    pub identity_secret: Fr,
    pub birth_date: u32,
    pub gender: u8,
    pub patient_salt: Fr,
    /// Roots of the six kind trees, in `Kind::index()` order.
    pub roots: [Fr; 6],
    pub query: CompiledQuery,
}

impl Drop for CommonWitness {
    fn drop(&mut self) {
        zeroize_fr(&mut self.identity_secret);
        zeroize_fr(&mut self.patient_salt);
    }
}

impl std::fmt::Debug for CommonWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonWitness")
            .field("identity_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// One encoded record (see docs/encoding.md). `aux = H(salt, end, source)` hides the salt.
#[derive(Clone, Default)]
pub struct RecordWitness {
    pub meta: u64,
    pub value_lo: u64,
    pub value_hi: u64,
    pub unit: Fr,
    pub aux: Fr,
    pub codes: [Fr; zkmed_core::encoding::CODE_SLOTS],
    pub value_codes: [Fr; zkmed_core::encoding::VALUE_CODE_SLOTS],
}

impl std::fmt::Debug for RecordWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordWitness(<redacted>)")
    }
}

/// A quaternary Merkle path, leaf level first: the node's position (0..4) and its three
/// siblings in child order.
#[derive(Clone, Debug, Default)]
pub struct PathWitness {
    pub siblings: Vec<[Fr; 3]>,
    pub positions: Vec<u8>,
}
