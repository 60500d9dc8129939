//! The formulas of docs/state.md, natively. Each has an in-circuit twin in
//! `zkmed-circuits` and a test that they agree.

use crate::tree::hash_children;
use zkmed_core::field::Fr;
use zkmed_core::poseidon::poseidon;

fn h(x: &[Fr]) -> Fr {
    poseidon(x).expect("1..=12 inputs are supported")
}

/// `idc = H(s, nk)`: the identity commitment, a leaf of the identity tree.
pub fn identity_commitment(secret: Fr, nullifier_key: Fr) -> Fr {
    h(&[secret, nullifier_key])
}

/// `nullifier = H(nk, scope)`: the scoped nullifier an attestation publishes. It depends on
/// the nullifier key only, which recovery keeps, so a claim stays spent across recovery.
pub fn scoped_nullifier(nullifier_key: Fr, scope: Fr) -> Fr {
    h(&[nullifier_key, scope])
}

/// `challenge = H(scope, request)`: the public challenge, binding the verifier's request
/// value and the claim scope.
pub fn challenge(scope: Fr, request: Fr) -> Fr {
    h(&[scope, request])
}

/// `t = H(rho, 0)`: what a state note commits to in place of `rho`.
pub fn note_tag(rho: Fr) -> Fr {
    h(&[rho, Fr::from(0u64)])
}

/// `L = H(R, t)`: the state note, a leaf of an issuer's note tree.
pub fn state_note(record_commitment: Fr, tag: Fr) -> Fr {
    h(&[record_commitment, tag])
}

/// `sn = H(rho, 1)`: published when the state is replaced.
pub fn state_nullifier(rho: Fr) -> Fr {
    h(&[rho, Fr::from(1u64)])
}

/// `gn = H(idc, 2)`: spent with an identity's first (genesis) state, so there is one.
pub fn genesis_nullifier(identity_commitment: Fr) -> Fr {
    h(&[identity_commitment, Fr::from(2u64)])
}

/// `G = H(issuers_root, spent_root)`.
pub fn global_root(issuers_root: Fr, spent_root: Fr) -> Fr {
    hash_children(&[issuers_root, spent_root])
}
