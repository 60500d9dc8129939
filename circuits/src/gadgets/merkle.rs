//! Quaternary Poseidon Merkle paths. Native twin: `zkmed-records::tree`. Per level: one
//! 4-input Poseidon (297 constraints) plus 9 constraints to place the node among its
//! siblings (2 position bits, their product, 6 selections).

use super::{poseidon::poseidon_var, FrVar};
use ark_bn254::Fr;
use ark_r1cs_std::{boolean::Boolean, fields::FieldVar};
use ark_relations::gr1cs::SynthesisError;

/// One level of a path: the node's position (2 bits, little-endian) and its 3 siblings in
/// child order (skipping the node's own slot).
pub struct PathLevelVar {
    pub pos: [Boolean<Fr>; 2],
    pub siblings: [FrVar; 3],
}

/// Children of the parent node when `cur` sits at `pos` among `s`:
/// pos 0: [cur, s0, s1, s2]; 1: [s0, cur, s1, s2]; 2: [s0, s1, cur, s2]; 3: [s0, s1, s2, cur].
pub fn place(cur: &FrVar, level: &PathLevelVar) -> Result<[FrVar; 4], SynthesisError> {
    let [b0, b1] = &level.pos;
    let [s0, s1, s2] = &level.siblings;
    let b01 = FrVar::from(b0.clone() & b1.clone()); // 1 constraint
    let (f0, f1) = (FrVar::from(b0.clone()), FrVar::from(b1.clone()));
    let e0 = FrVar::one() - &f0 - &f1 + &b01;
    let e1 = &f0 - &b01;
    let e2 = &f1 - &b01;
    let e3 = b01;
    let c0 = s0 + e0.clone() * (cur - s0);
    let c1 = s1 + e0 * (s0 - s1) + e1 * (cur - s1);
    let c2 = s1 + e2 * (cur - s1) + e3.clone() * (s2 - s1);
    let c3 = s2 + e3 * (cur - s2);
    Ok([c0, c1, c2, c3])
}

/// Root reached from `leaf` along `path` (leaf level first).
pub fn root_from_path(leaf: &FrVar, path: &[PathLevelVar]) -> Result<FrVar, SynthesisError> {
    let mut cur = leaf.clone();
    for level in path {
        let children = place(&cur, level)?;
        cur = poseidon_var(&children)?;
    }
    Ok(cur)
}
