//! Witness types the prover fills in. They hold secrets (the identity secret, salts); the
//! secrets are overwritten when the witness is dropped and never printed by `Debug`.

use ark_bn254::Fr;
use zkmed_core::poseidon::zeroize_fr;
use zkmed_core::query::CompiledQuery;

/// Witness shared by all circuits.
pub struct CommonWitness {
    /// The identity, the request and the anchored state (docs/state.md).
    pub state: StateWitness,
    pub birth_date: u32,
    pub gender: u8,
    pub patient_salt: Fr,
    /// Roots of the six kind trees, in `Kind::index()` order.
    pub roots: [Fr; 6],
    pub query: CompiledQuery,
}

impl Drop for CommonWitness {
    fn drop(&mut self) {
        zeroize_fr(&mut self.patient_salt);
    }
}

impl std::fmt::Debug for CommonWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonWitness")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// The identity and where its state is anchored (docs/state.md, "The attestation circuit").
#[derive(Clone)]
pub struct StateWitness {
    /// Identity secret `s` (replaced by recovery).
    pub identity_secret: Fr,
    /// Nullifier key `nk` (kept across recovery).
    pub nullifier_key: Fr,
    /// The claim scope; `challenge = H(scope, request)`.
    pub scope: Fr,
    /// The verifier's request value.
    pub request: Fr,
    /// Path of `idc = H(s, nk)` in the identity tree (binary, depth 20).
    pub identity_path: BinaryPathWitness,
    /// The state note's blinding: `L = H(R, H(rho, 0))`, state nullifier `H(rho, 1)`.
    pub rho: Fr,
    /// Path of the note in its issuer's note tree (4-ary, depth 10).
    pub note_path: PathWitness,
    /// Path of the issuer's note root in the issuers tree (binary, depth 10).
    pub issuers_path: BinaryPathWitness,
    /// Root of the spent-state set.
    pub spent_root: Fr,
    /// The low leaf `(value, next)` of the state nullifier in the spent set.
    pub low_value: Fr,
    pub low_next: Fr,
    /// Path of the low leaf (4-ary, depth 12).
    pub spent_path: PathWitness,
}

impl Drop for StateWitness {
    fn drop(&mut self) {
        zeroize_fr(&mut self.identity_secret);
        zeroize_fr(&mut self.nullifier_key);
        zeroize_fr(&mut self.rho);
    }
}

impl std::fmt::Debug for StateWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateWitness(<redacted>)")
    }
}

/// A binary Merkle path, leaf level first: `right[l]` = the node is the right child.
#[derive(Clone, Debug, Default)]
pub struct BinaryPathWitness {
    pub siblings: Vec<Fr>,
    pub right: Vec<bool>,
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

impl PathWitness {
    /// The witness of a native 4-ary path (`zkmed_state::MerklePath`).
    pub fn from_path(p: &zkmed_state::MerklePath) -> PathWitness {
        PathWitness {
            siblings: p.siblings.iter().map(|s| [s[0], s[1], s[2]]).collect(),
            positions: (0..p.shape.depth).map(|l| p.position(l) as u8).collect(),
        }
    }
}

impl BinaryPathWitness {
    /// The witness of a native binary path (`zkmed_state::MerklePath`).
    pub fn from_path(p: &zkmed_state::MerklePath) -> BinaryPathWitness {
        BinaryPathWitness {
            siblings: p.siblings.iter().map(|s| s[0]).collect(),
            right: (0..p.shape.depth).map(|l| p.position(l) == 1).collect(),
        }
    }
}

impl StateWitness {
    /// The witness for identity `(secret, nullifier_key)` anchored as `st` says, answering
    /// the request `request` in `scope`.
    pub fn new(
        secret: Fr,
        nullifier_key: Fr,
        st: &zkmed_state::AnchoredState,
        scope: Fr,
        request: Fr,
    ) -> StateWitness {
        StateWitness {
            identity_secret: secret,
            nullifier_key,
            scope,
            request,
            identity_path: BinaryPathWitness::from_path(&st.identity_path),
            rho: st.rho,
            note_path: PathWitness::from_path(&st.note_path),
            issuers_path: BinaryPathWitness::from_path(&st.issuers_path),
            spent_root: st.spent_root,
            low_value: st.non_membership.low_value,
            low_next: st.non_membership.low_next,
            spent_path: PathWitness::from_path(&st.non_membership.path),
        }
    }
}
