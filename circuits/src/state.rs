//! The identity and anchored-state part of every circuit (docs/state.md, "The attestation
//! circuit"). Native twins: `zkmed_state::{note, tree, indexed}`.
//!
//! **Relation.** With public `identity_root`, `state_root`, `challenge`, `nullifier` and the
//! record commitment `R` computed by the caller, the prover knows `s, nk, scope, request, rho`,
//! paths and a low leaf such that
//! * `idc = H(s, nk)` is a leaf of the identity tree under `identity_root` (binary, depth 20);
//! * `challenge = H(scope, request)` and `nullifier = H(nk, scope)`;
//! * `L = H(R, H(rho, 0))` is a leaf of a note tree (4-ary, depth 10) whose root is a leaf of
//!   the issuers tree (binary, depth 10) with root `I`, and `state_root = H(I, spent_root)`;
//! * `sn = H(rho, 1)` is not in the spent set under `spent_root`: a leaf `H(v, nv)` on a
//!   4-ary depth-12 path to `spent_root` with `v < sn` and (`nv = 0` or `sn < nv`).

use crate::common::PublicVars;
use crate::gadgets::{
    compare::{is_less, limbs},
    merkle::{alloc_binary_path, alloc_path, binary_root_from_path, root_from_path},
    poseidon::poseidon_var,
    FrVar,
};
use crate::witness::StateWitness;
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use zkmed_state::{IDENTITY_SHAPE, ISSUERS_SHAPE, NOTE_SHAPE, SPENT_SHAPE};

type R<T> = Result<T, SynthesisError>;

fn wit(cs: &ConstraintSystemRef<Fr>, v: Option<Fr>) -> R<FrVar> {
    FrVar::new_witness(cs.clone(), || v.ok_or(SynthesisError::AssignmentMissing))
}

/// Identity membership, the challenge and the scoped nullifier. Returns `idc`.
pub fn identity(
    cs: ConstraintSystemRef<Fr>,
    public: &PublicVars,
    w: Option<&StateWitness>,
) -> R<FrVar> {
    let s = wit(&cs, w.map(|w| w.identity_secret))?;
    let nk = wit(&cs, w.map(|w| w.nullifier_key))?;
    let scope = wit(&cs, w.map(|w| w.scope))?;
    let request = wit(&cs, w.map(|w| w.request))?;
    let idc = poseidon_var(&[s, nk.clone()])?;
    let path = alloc_binary_path(
        cs.clone(),
        w.map(|w| &w.identity_path),
        IDENTITY_SHAPE.depth,
    )?;
    binary_root_from_path(&idc, &path)?.enforce_equal(&public.identity_root)?;
    poseidon_var(&[scope.clone(), request])?.enforce_equal(&public.challenge)?;
    poseidon_var(&[nk, scope])?.enforce_equal(&public.nullifier)?;
    Ok(idc)
}

/// The state note of `record_commitment` is anchored under `state_root` and not spent.
pub fn anchored(
    cs: ConstraintSystemRef<Fr>,
    public: &PublicVars,
    w: Option<&StateWitness>,
    record_commitment: &FrVar,
) -> R<()> {
    let rho = wit(&cs, w.map(|w| w.rho))?;
    let tag = poseidon_var(&[rho.clone(), FrVar::zero()])?;
    let note = poseidon_var(&[record_commitment.clone(), tag])?;
    let note_path = alloc_path(cs.clone(), w.map(|w| &w.note_path), NOTE_SHAPE.depth)?;
    let note_root = root_from_path(&note, &note_path)?;
    let issuers_path =
        alloc_binary_path(cs.clone(), w.map(|w| &w.issuers_path), ISSUERS_SHAPE.depth)?;
    let issuers_root = binary_root_from_path(&note_root, &issuers_path)?;
    let spent_root = wit(&cs, w.map(|w| w.spent_root))?;
    poseidon_var(&[issuers_root, spent_root.clone()])?.enforce_equal(&public.state_root)?;

    // Not spent: the low leaf brackets sn.
    let sn = poseidon_var(&[rho, FrVar::one()])?;
    let low_value = wit(&cs, w.map(|w| w.low_value))?;
    let low_next = wit(&cs, w.map(|w| w.low_next))?;
    let low_leaf = poseidon_var(&[low_value.clone(), low_next.clone()])?;
    let spent_path = alloc_path(cs.clone(), w.map(|w| &w.spent_path), SPENT_SHAPE.depth)?;
    root_from_path(&low_leaf, &spent_path)?.enforce_equal(&spent_root)?;
    let (sn_l, v_l, nv_l) = (limbs(&sn)?, limbs(&low_value)?, limbs(&low_next)?);
    is_less(&v_l, &sn_l)?.enforce_equal(&Boolean::TRUE)?;
    let open_ended = low_next.is_eq(&FrVar::zero())?;
    (open_ended | is_less(&sn_l, &nv_l)?).enforce_equal(&Boolean::TRUE)?;
    Ok(())
}
