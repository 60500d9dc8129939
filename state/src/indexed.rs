//! The spent-state set: an indexed Merkle tree (docs/state.md, "Spent-state set").
//!
//! Slot `i` holds `(value_i, next_i)` and its leaf is `H(value_i, next_i)`; an empty slot is
//! `0`. The occupied slots form a list sorted by value: `next_i` is the next larger value in
//! the set, or `0` for the largest. Slot 0 holds `(0, 0)` from the start, so every `x > 0`
//! has a *low leaf* `(v, nv)` with `v < x` and (`nv = 0` or `x < nv`) exactly when `x` is not
//! in the set. Values are compared as integers in `[0, r)`.

use crate::error::{Result, StateError};
use crate::tree::{hash_children, MerklePath, MerkleTree, Shape};
use ark_ff::{BigInteger, PrimeField, Zero};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zkmed_core::field::{serde_fr, Fr};

/// 4-ary, depth 12: 2^24 spent states.
pub const SPENT_SHAPE: Shape = Shape::new(4, 12);

type Key = [u8; 32];

fn key(x: &Fr) -> Key {
    let be = x.into_bigint().to_bytes_be();
    let mut k = [0u8; 32];
    k[32 - be.len()..].copy_from_slice(&be);
    k
}

/// `H(value, next_value)`.
pub fn indexed_leaf(value: Fr, next_value: Fr) -> Fr {
    hash_children(&[value, next_value])
}

/// Proof that `value` is not in the set: the low leaf and its path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonMembership {
    #[serde(with = "serde_fr")]
    pub low_value: Fr,
    #[serde(with = "serde_fr")]
    pub low_next: Fr,
    pub path: MerklePath,
}

impl NonMembership {
    /// Checks the proof for `x` against `root` (natively, as the circuit does).
    pub fn verify(&self, x: &Fr, root: &Fr) -> Result<()> {
        let (kx, kv, kn) = (key(x), key(&self.low_value), key(&self.low_next));
        let in_gap = kv < kx && (self.low_next.is_zero() || kx < kn);
        if !in_gap {
            return Err(StateError::Spent);
        }
        if self.path.shape != SPENT_SHAPE
            || self
                .path
                .root_of(indexed_leaf(self.low_value, self.low_next))?
                != *root
        {
            return Err(StateError::MalformedPath(
                "the low leaf is not in the spent set under this root".into(),
            ));
        }
        Ok(())
    }
}

/// The spent-state set.
#[derive(Clone, Debug)]
pub struct IndexedTree {
    tree: MerkleTree,
    /// `(value, next_value)` per occupied slot, in slot order.
    leaves: Vec<(Fr, Fr)>,
    /// value → slot.
    by_value: BTreeMap<Key, u64>,
}

impl Default for IndexedTree {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexedTree {
    /// The set holding only the sentinel `(0, 0)` at slot 0.
    pub fn new() -> IndexedTree {
        let mut tree = MerkleTree::new(SPENT_SHAPE).expect("valid shape");
        tree.set(0, indexed_leaf(Fr::zero(), Fr::zero()))
            .expect("slot 0");
        let mut by_value = BTreeMap::new();
        by_value.insert(key(&Fr::zero()), 0);
        IndexedTree {
            tree,
            leaves: vec![(Fr::zero(), Fr::zero())],
            by_value,
        }
    }

    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Number of spent values (the sentinel excluded).
    pub fn len(&self) -> usize {
        self.leaves.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, x: &Fr) -> bool {
        !x.is_zero() && self.by_value.contains_key(&key(x))
    }

    /// The slot of the low leaf of `x` (the largest value below `x`).
    fn low_slot(&self, x: &Fr) -> u64 {
        *self
            .by_value
            .range(..key(x))
            .next_back()
            .expect("the sentinel 0 is below every x > 0")
            .1
    }

    /// Inserts `x` (non-zero, not yet present): two leaf writes.
    pub fn insert(&mut self, x: Fr) -> Result<()> {
        if x.is_zero() {
            return Err(StateError::ZeroNullifier);
        }
        if self.contains(&x) {
            return Err(StateError::Spent);
        }
        let slot = self.leaves.len() as u64;
        if slot >= SPENT_SHAPE.capacity() {
            return Err(StateError::Full {
                index: slot,
                capacity: SPENT_SHAPE.capacity(),
            });
        }
        let low = self.low_slot(&x);
        let (lv, ln) = self.leaves[low as usize];
        self.leaves[low as usize] = (lv, x);
        self.tree.set(low, indexed_leaf(lv, x))?;
        self.leaves.push((x, ln));
        self.tree.set(slot, indexed_leaf(x, ln))?;
        self.by_value.insert(key(&x), slot);
        Ok(())
    }

    /// Proof that `x` is not spent, against the current root.
    pub fn non_membership(&self, x: &Fr) -> Result<NonMembership> {
        if x.is_zero() {
            return Err(StateError::ZeroNullifier);
        }
        if self.contains(x) {
            return Err(StateError::Spent);
        }
        let low = self.low_slot(x);
        let (low_value, low_next) = self.leaves[low as usize];
        Ok(NonMembership {
            low_value,
            low_next,
            path: self.tree.path(low)?,
        })
    }

    /// The occupied slots `(value, next_value)`, slot order.
    pub fn leaves(&self) -> &[(Fr, Fr)] {
        &self.leaves
    }
}
