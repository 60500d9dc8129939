//! Quaternary and binary Poseidon Merkle paths. Native twins: `zkmed-records::tree`,
//! `zkmed-state::tree`. Per level: one
//! 4-input Poseidon (297 constraints) plus 9 constraints to place the node among its
//! siblings (2 position bits, their product, 6 selections).

use super::{poseidon::poseidon_var, FrVar};
use crate::witness::{BinaryPathWitness, PathWitness};
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

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

/// One level of a binary path: whether the node is the right child, and its sibling.
pub struct BinaryLevelVar {
    pub right: Boolean<Fr>,
    pub sibling: FrVar,
}

/// Root reached from `leaf` along a binary path (leaf level first). Per level: one
/// 2-input Poseidon and one constraint to order the pair (`t = right·(sibling − cur)`,
/// `left = cur + t`, `right = sibling − t`).
pub fn binary_root_from_path(
    leaf: &FrVar,
    path: &[BinaryLevelVar],
) -> Result<FrVar, SynthesisError> {
    let mut cur = leaf.clone();
    for level in path {
        let t = FrVar::from(level.right.clone()) * (&level.sibling - &cur);
        let left = &cur + &t;
        let right = &level.sibling - &t;
        cur = poseidon_var(&[left, right])?;
    }
    Ok(cur)
}

/// Allocates a quaternary path of `depth` levels (positions as 2 bits, 3 siblings each).
pub fn alloc_path(
    cs: ConstraintSystemRef<Fr>,
    w: Option<&PathWitness>,
    depth: usize,
) -> Result<Vec<PathLevelVar>, SynthesisError> {
    let missing = || SynthesisError::AssignmentMissing;
    let mut levels = Vec::with_capacity(depth);
    for l in 0..depth {
        let pos = w.map(|p| p.positions.get(l).copied().unwrap_or(0));
        let b0 = Boolean::new_witness(cs.clone(), || pos.map(|x| x & 1 == 1).ok_or_else(missing))?;
        let b1 = Boolean::new_witness(cs.clone(), || pos.map(|x| x & 2 == 2).ok_or_else(missing))?;
        let sib = |i: usize| {
            FrVar::new_witness(cs.clone(), || {
                w.map(|p| p.siblings.get(l).map(|s| s[i]).unwrap_or_default())
                    .ok_or_else(missing)
            })
        };
        levels.push(PathLevelVar {
            pos: [b0, b1],
            siblings: [sib(0)?, sib(1)?, sib(2)?],
        });
    }
    Ok(levels)
}

/// Allocates a binary path of `depth` levels.
pub fn alloc_binary_path(
    cs: ConstraintSystemRef<Fr>,
    w: Option<&BinaryPathWitness>,
    depth: usize,
) -> Result<Vec<BinaryLevelVar>, SynthesisError> {
    let missing = || SynthesisError::AssignmentMissing;
    (0..depth)
        .map(|l| {
            Ok(BinaryLevelVar {
                right: Boolean::new_witness(cs.clone(), || {
                    w.map(|p| p.right.get(l).copied().unwrap_or(false))
                        .ok_or_else(missing)
                })?,
                sibling: FrVar::new_witness(cs.clone(), || {
                    w.map(|p| p.siblings.get(l).copied().unwrap_or_default())
                        .ok_or_else(missing)
                })?,
            })
        })
        .collect()
}
