//! Sparse Poseidon Merkle trees of arity 2 or 4 (docs/state.md, "The three trees").
//!
//! A node is `H(children)` (circomlib Poseidon with `arity` inputs); an empty leaf is `0` and
//! an all-empty subtree of height `h` is `Z_h`, `Z_0 = 0`, `Z_{h+1} = H(Z_h, …, Z_h)`. Only the
//! prefix of each level up to the last non-empty node is stored, so a tree of `n` leaves
//! holds about `n · arity / (arity − 1)` elements whatever its depth.

use crate::error::{Result, StateError};
use ark_ff::Zero;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use zkmed_core::field::{serde_fr, serde_fr_vec, Fr};
use zkmed_core::poseidon::poseidon;

/// Shape of a tree: arity (2 or 4) and depth (levels above the leaves).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub arity: usize,
    pub depth: usize,
}

impl Shape {
    pub const fn new(arity: usize, depth: usize) -> Shape {
        Shape { arity, depth }
    }

    /// Number of leaf slots, `arity^depth`.
    pub fn capacity(self) -> u64 {
        (self.arity as u64).pow(self.depth as u32)
    }

    /// `[Z_0, …, Z_depth]` for this arity.
    pub fn zero_hashes(self) -> Vec<Fr> {
        let all = zeros(self.arity);
        all[..=self.depth].to_vec()
    }
}

const MAX_DEPTH: usize = 32;

fn zeros(arity: usize) -> &'static [Fr; MAX_DEPTH + 1] {
    static Z2: OnceLock<[Fr; MAX_DEPTH + 1]> = OnceLock::new();
    static Z4: OnceLock<[Fr; MAX_DEPTH + 1]> = OnceLock::new();
    let cell = match arity {
        2 => &Z2,
        4 => &Z4,
        _ => unreachable!("Shape is checked at construction"),
    };
    cell.get_or_init(|| {
        let mut z = [Fr::zero(); MAX_DEPTH + 1];
        for h in 0..MAX_DEPTH {
            z[h + 1] = hash_children(&vec![z[h]; arity]);
        }
        z
    })
}

/// `H(children)`: one tree node.
pub fn hash_children(children: &[Fr]) -> Fr {
    poseidon(children).expect("2 and 4 inputs are supported")
}

/// A Merkle path: for each level from the leaves up, the `arity − 1` siblings in order (the
/// node's own position skipped) and the node's position among its siblings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerklePath {
    pub shape: Shape,
    /// Leaf index.
    pub index: u64,
    /// `siblings[level]` has `arity − 1` elements.
    #[serde(with = "serde_levels")]
    pub siblings: Vec<Vec<Fr>>,
}

mod serde_levels {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Level(#[serde(with = "serde_fr_vec")] Vec<Fr>);

    pub fn serialize<S: Serializer>(v: &[Vec<Fr>], s: S) -> std::result::Result<S::Ok, S::Error> {
        let levels: Vec<Level> = v.iter().map(|l| Level(l.clone())).collect();
        levels.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<Vec<Fr>>, D::Error> {
        let levels: Vec<Level> = Vec::deserialize(d)?;
        Ok(levels.into_iter().map(|l| l.0).collect())
    }
}

impl MerklePath {
    /// Position of the path's node among its siblings at `level`.
    pub fn position(&self, level: usize) -> usize {
        ((self.index / (self.shape.arity as u64).pow(level as u32)) % self.shape.arity as u64)
            as usize
    }

    /// The root this path gives for `leaf`. Fails on a malformed path.
    pub fn root_of(&self, leaf: Fr) -> Result<Fr> {
        let Shape { arity, depth } = self.shape;
        if self.siblings.len() != depth
            || self.siblings.iter().any(|s| s.len() != arity - 1)
            || self.index >= self.shape.capacity()
        {
            return Err(StateError::MalformedPath(format!(
                "a path of a {arity}-ary depth-{depth} tree needs {depth} levels of {} siblings and an index below {}",
                arity - 1,
                self.shape.capacity()
            )));
        }
        let mut node = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            let pos = self.position(level);
            let mut children = Vec::with_capacity(arity);
            children.extend_from_slice(&sib[..pos]);
            children.push(node);
            children.extend_from_slice(&sib[pos..]);
            node = hash_children(&children);
        }
        Ok(node)
    }
}

/// A sparse Merkle tree whose leaves can be set anywhere (appended, replaced or emptied).
#[derive(Clone, PartialEq, Eq)]
pub struct MerkleTree {
    shape: Shape,
    /// `levels[h]`: stored prefix of level `h`; past its end every node is `Z_h`.
    levels: Vec<Vec<Fr>>,
}

impl std::fmt::Debug for MerkleTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree")
            .field("shape", &self.shape)
            .field("stored_leaves", &self.levels[0].len())
            .finish()
    }
}

impl MerkleTree {
    /// An empty tree. Arity must be 2 or 4 and depth at most 32.
    pub fn new(shape: Shape) -> Result<MerkleTree> {
        if !(shape.arity == 2 || shape.arity == 4) || shape.depth == 0 || shape.depth > MAX_DEPTH {
            return Err(StateError::BadShape(shape.arity, shape.depth));
        }
        Ok(MerkleTree {
            shape,
            levels: vec![Vec::new(); shape.depth + 1],
        })
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    fn node(&self, level: usize, i: u64) -> Fr {
        self.levels[level]
            .get(i as usize)
            .copied()
            .unwrap_or(zeros(self.shape.arity)[level])
    }

    /// The root (`Z_depth` for an empty tree).
    pub fn root(&self) -> Fr {
        self.node(self.shape.depth, 0)
    }

    /// The leaf at `index` (`0` if empty).
    pub fn leaf(&self, index: u64) -> Fr {
        self.node(0, index)
    }

    /// One past the last stored leaf slot (not a count of non-empty leaves).
    pub fn stored_len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// Sets the leaf at `index` and rehashes its path (`depth` hashes).
    pub fn set(&mut self, index: u64, leaf: Fr) -> Result<()> {
        if index >= self.shape.capacity() {
            return Err(StateError::Full {
                index,
                capacity: self.shape.capacity(),
            });
        }
        let a = self.shape.arity as u64;
        let mut i = index;
        let mut value = leaf;
        for level in 0..=self.shape.depth {
            let z = zeros(self.shape.arity)[level];
            let v = &mut self.levels[level];
            if v.len() <= i as usize {
                v.resize(i as usize + 1, z);
            }
            v[i as usize] = value;
            if level == self.shape.depth {
                break;
            }
            let first = i - i % a;
            let children: Vec<Fr> = (first..first + a).map(|j| self.node(level, j)).collect();
            value = hash_children(&children);
            i /= a;
        }
        Ok(())
    }

    /// The path of the leaf at `index`.
    pub fn path(&self, index: u64) -> Result<MerklePath> {
        if index >= self.shape.capacity() {
            return Err(StateError::Full {
                index,
                capacity: self.shape.capacity(),
            });
        }
        let a = self.shape.arity as u64;
        let mut siblings = Vec::with_capacity(self.shape.depth);
        let mut i = index;
        for level in 0..self.shape.depth {
            let first = i - i % a;
            siblings.push(
                (first..first + a)
                    .filter(|&j| j != i)
                    .map(|j| self.node(level, j))
                    .collect(),
            );
            i /= a;
        }
        Ok(MerklePath {
            shape: self.shape,
            index,
            siblings,
        })
    }
}

/// A root with its serde form, for JSON files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root(#[serde(with = "serde_fr")] pub Fr);
