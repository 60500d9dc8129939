//! Sparse quaternary Poseidon Merkle trees of depth [`TREE_DEPTH`], one per record kind.
//!
//! Leaves are filled from index 0; every slot past the last leaf is 0 ("empty"). An
//! internal node is `H(c0, c1, c2, c3)` and the root of an all-empty subtree of height `h`
//! is `Z_h` ([`zero_hashes`]): `Z_0 = 0, Z_{h+1} = H(Z_h, Z_h, Z_h, Z_h)`.
//!
//! Only the non-empty prefix of each level is computed and stored: a tree of `n` leaves
//! costs about `n/3` Poseidon calls and `4n/3` stored elements, never `4^10`.
//!
//! Because an empty slot *is* the value 0, a tree `[x]` and a tree `[x, 0]` have the same
//! root. This is harmless: a real leaf is `H(meta, value, code, unit, aux)`, which is never
//! 0 (that would be a Poseidon preimage of 0), so a slot holding a record and an empty slot
//! cannot be confused. [`KindTree::from_leaves`] nevertheless accepts zero leaves.

use crate::error::{RecordsError, Result};
use ark_ff::Zero;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use zkmed_core::encoding::{TREE_ARITY, TREE_DEPTH};
use zkmed_core::field::{serde_fr_vec, Fr};
use zkmed_core::poseidon::poseidon;

/// Number of leaf slots of one tree: `4^TREE_DEPTH` (2^20).
pub const TREE_CAPACITY: usize = TREE_ARITY.pow(TREE_DEPTH as u32);

const _: () = assert!(
    TREE_ARITY == 4,
    "the path layout below assumes a quaternary tree"
);

#[inline]
fn h4(c: &[Fr; 4]) -> Fr {
    poseidon(c).expect("Poseidon supports 4 inputs")
}

/// `[Z_0, ..., Z_TREE_DEPTH]`: roots of empty subtrees of each height (`Z_0 = 0`).
/// Computed once per process.
pub fn zero_hashes() -> &'static [Fr; TREE_DEPTH + 1] {
    static Z: OnceLock<[Fr; TREE_DEPTH + 1]> = OnceLock::new();
    Z.get_or_init(|| {
        let mut z = [Fr::zero(); TREE_DEPTH + 1];
        for h in 0..TREE_DEPTH {
            z[h + 1] = h4(&[z[h]; 4]);
        }
        z
    })
}

/// A per-kind record tree: sparse, quaternary, depth [`TREE_DEPTH`].
#[derive(Clone, PartialEq, Eq)]
pub struct KindTree {
    /// `levels[h]` holds the non-empty prefix of level `h` (0 = leaves); every node past
    /// the end is `Z_h`. `levels[TREE_DEPTH]` is `[root]`, or empty for an empty tree.
    levels: Vec<Vec<Fr>>,
}

impl std::fmt::Debug for KindTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindTree")
            .field("leaves", &self.len())
            .field("root", &self.root())
            .finish()
    }
}

impl KindTree {
    /// Builds the tree whose slots `0..leaves.len()` hold `leaves` (all others empty).
    /// Fails if there are more than [`TREE_CAPACITY`] leaves.
    pub fn from_leaves(leaves: Vec<Fr>) -> Result<KindTree> {
        if leaves.len() > TREE_CAPACITY {
            return Err(RecordsError::Tree(format!(
                "{} leaves do not fit a tree of depth {TREE_DEPTH} (capacity {TREE_CAPACITY})",
                leaves.len()
            )));
        }
        let z = zero_hashes();
        let mut levels = Vec::with_capacity(TREE_DEPTH + 1);
        levels.push(leaves);
        for h in 0..TREE_DEPTH {
            let below = &levels[h];
            let up: Vec<Fr> = below
                .chunks(TREE_ARITY)
                .map(|c| {
                    let mut kids = [z[h]; 4];
                    kids[..c.len()].copy_from_slice(c);
                    h4(&kids)
                })
                .collect();
            levels.push(up);
        }
        Ok(KindTree { levels })
    }

    /// The empty tree (root `Z_TREE_DEPTH`).
    pub fn empty() -> KindTree {
        KindTree {
            levels: vec![Vec::new(); TREE_DEPTH + 1],
        }
    }

    /// Number of filled leaf slots.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// True if no leaf was given.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The filled leaves, in slot order.
    pub fn leaves(&self) -> &[Fr] {
        &self.levels[0]
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.levels[TREE_DEPTH]
            .first()
            .copied()
            .unwrap_or(zero_hashes()[TREE_DEPTH])
    }

    fn node(&self, h: usize, i: usize) -> Fr {
        self.levels[h].get(i).copied().unwrap_or(zero_hashes()[h])
    }

    /// The authentication path of slot `index` (any slot below [`TREE_CAPACITY`], filled or
    /// empty: the path of an empty slot proves it holds 0).
    pub fn path(&self, index: usize) -> Result<MerklePath> {
        if index >= TREE_CAPACITY {
            return Err(RecordsError::Tree(format!(
                "leaf index {index} out of range (capacity {TREE_CAPACITY})"
            )));
        }
        let mut siblings = Vec::with_capacity(TREE_DEPTH);
        let mut positions = Vec::with_capacity(TREE_DEPTH);
        let mut i = index;
        for h in 0..TREE_DEPTH {
            let pos = i % TREE_ARITY;
            let base = i - pos;
            let mut sib = [Fr::zero(); 3];
            for (slot, c) in sib.iter_mut().zip((0..TREE_ARITY).filter(|&c| c != pos)) {
                *slot = self.node(h, base + c);
            }
            siblings.push(sib);
            positions.push(pos as u8);
            i /= TREE_ARITY;
        }
        Ok(MerklePath {
            siblings,
            positions,
        })
    }
}

/// A Merkle authentication path, from the leaf level up: at each level the three
/// siblings in child order (skipping the node's own position) and the node's position
/// `0..4` among its parent's children. Always exactly [`TREE_DEPTH`] levels with positions
/// below 4: [`MerklePath::new`] and deserialization enforce it, so [`MerklePath::root_from`]
/// cannot fail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPath", into = "RawPath")]
pub struct MerklePath {
    siblings: Vec<[Fr; 3]>,
    positions: Vec<u8>,
}

impl MerklePath {
    /// Builds a path, checking that both vectors have [`TREE_DEPTH`] entries and that every
    /// position is below 4.
    pub fn new(siblings: Vec<[Fr; 3]>, positions: Vec<u8>) -> Result<MerklePath> {
        if siblings.len() != TREE_DEPTH || positions.len() != TREE_DEPTH {
            return Err(RecordsError::Tree(format!(
                "a path needs {TREE_DEPTH} levels; got {} sibling triples and {} positions",
                siblings.len(),
                positions.len()
            )));
        }
        if let Some((h, p)) = positions
            .iter()
            .enumerate()
            .find(|(_, &p)| p as usize >= TREE_ARITY)
        {
            return Err(RecordsError::Tree(format!(
                "position {p} at level {h} is not in 0..4"
            )));
        }
        Ok(MerklePath {
            siblings,
            positions,
        })
    }

    /// Sibling triples per level, leaf level first.
    pub fn siblings(&self) -> &[[Fr; 3]] {
        &self.siblings
    }

    /// Positions (0..4) per level, leaf level first.
    pub fn positions(&self) -> &[u8] {
        &self.positions
    }

    /// The leaf slot index this path is for: `Σ positions[h] · 4^h`.
    pub fn index(&self) -> usize {
        self.positions
            .iter()
            .rev()
            .fold(0, |acc, &p| acc * TREE_ARITY + p as usize)
    }

    /// The root obtained by hashing `leaf` up along the path.
    pub fn root_from(&self, leaf: Fr) -> Fr {
        let mut cur = leaf;
        for (sib, &pos) in self.siblings.iter().zip(&self.positions) {
            let pos = pos as usize;
            let mut kids = [Fr::zero(); 4];
            let mut s = sib.iter();
            for (c, k) in kids.iter_mut().enumerate() {
                *k = if c == pos {
                    cur
                } else {
                    *s.next().expect("3 siblings")
                };
            }
            cur = h4(&kids);
        }
        cur
    }

    /// True if `leaf` hashes up to `root` along this path.
    pub fn verify(&self, leaf: Fr, root: Fr) -> bool {
        self.root_from(leaf) == root
    }
}

#[derive(Serialize, Deserialize)]
struct RawPath {
    siblings: Vec<Triple>,
    positions: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Triple(#[serde(with = "serde_fr_vec")] Vec<Fr>);

impl TryFrom<RawPath> for MerklePath {
    type Error = RecordsError;
    fn try_from(r: RawPath) -> Result<MerklePath> {
        let siblings = r
            .siblings
            .into_iter()
            .map(|t| {
                <[Fr; 3]>::try_from(t.0).map_err(|v| {
                    RecordsError::Tree(format!(
                        "a sibling entry needs 3 field elements, got {}",
                        v.len()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        MerklePath::new(siblings, r.positions)
    }
}

impl From<MerklePath> for RawPath {
    fn from(p: MerklePath) -> RawPath {
        RawPath {
            siblings: p.siblings.into_iter().map(|t| Triple(t.to_vec())).collect(),
            positions: p.positions,
        }
    }
}

/// The right edge of a [`KindTree`]: its leaf count and, for each level from the leaves up,
/// the filled left siblings of the node on the path of the next free slot (`count / 4^h % 4`
/// of them at level `h`). It is everything needed to compute the tree's root and to append
/// leaves without the leaves themselves: an issuer extends a patient's kind tree from it
/// without seeing the patient's records (docs/state.md, "Transition at issuer B", step 2).
///
/// A frontier describes a tree with a free slot (`count < TREE_CAPACITY`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawFrontier", into = "RawFrontier")]
pub struct Frontier {
    count: u64,
    levels: Vec<Vec<Fr>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrontier {
    count: u64,
    levels: Vec<Triple>,
}

impl TryFrom<RawFrontier> for Frontier {
    type Error = RecordsError;
    fn try_from(r: RawFrontier) -> Result<Frontier> {
        Frontier::new(r.count, r.levels.into_iter().map(|t| t.0).collect())
    }
}

impl From<Frontier> for RawFrontier {
    fn from(f: Frontier) -> RawFrontier {
        RawFrontier {
            count: f.count,
            levels: f.levels.into_iter().map(Triple).collect(),
        }
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Frontier {
        Frontier {
            count: 0,
            levels: vec![Vec::new(); TREE_DEPTH],
        }
    }

    /// Builds a frontier, checking its shape: [`TREE_DEPTH`] levels, level `h` holding
    /// `count / 4^h % 4` nodes, and `count` below [`TREE_CAPACITY`].
    pub fn new(count: u64, levels: Vec<Vec<Fr>>) -> Result<Frontier> {
        if count >= TREE_CAPACITY as u64 {
            return Err(RecordsError::Tree(format!(
                "a frontier needs a free slot: count {count} is not below {TREE_CAPACITY}"
            )));
        }
        if levels.len() != TREE_DEPTH {
            return Err(RecordsError::Tree(format!(
                "a frontier needs {TREE_DEPTH} levels, got {}",
                levels.len()
            )));
        }
        for (h, l) in levels.iter().enumerate() {
            let want = Self::width(count, h);
            if l.len() != want {
                return Err(RecordsError::Tree(format!(
                    "frontier level {h} of a tree of {count} leaves holds {want} nodes, got {}",
                    l.len()
                )));
            }
        }
        Ok(Frontier { count, levels })
    }

    fn width(count: u64, level: usize) -> usize {
        ((count / (TREE_ARITY as u64).pow(level as u32)) % TREE_ARITY as u64) as usize
    }

    /// Number of leaves of the tree it describes (the next free slot).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The left siblings per level, leaf level first.
    pub fn levels(&self) -> &[Vec<Fr>] {
        &self.levels
    }

    /// The root of the tree it describes.
    pub fn root(&self) -> Fr {
        let z = zero_hashes();
        let mut cur = Fr::zero(); // the free slot
        for (h, left) in self.levels.iter().enumerate() {
            let mut kids = [z[h]; 4];
            kids[..left.len()].copy_from_slice(left);
            kids[left.len()] = cur;
            cur = h4(&kids);
        }
        cur
    }

    /// Appends `leaf` at slot [`Frontier::count`] and returns that slot. Fails when the slot
    /// taken was the tree's last (the frontier of a full tree does not exist).
    pub fn append(&mut self, leaf: Fr) -> Result<u64> {
        let slot = self.count;
        if slot + 1 >= TREE_CAPACITY as u64 {
            return Err(RecordsError::Tree(format!(
                "the tree is full: slot {slot} is the last of {TREE_CAPACITY} and a frontier needs a free slot"
            )));
        }
        let mut cur = leaf;
        for left in self.levels.iter_mut() {
            if left.len() + 1 < TREE_ARITY {
                left.push(cur);
                break;
            }
            let kids = [left[0], left[1], left[2], cur];
            left.clear();
            cur = h4(&kids);
        }
        self.count += 1;
        Ok(slot)
    }
}

impl KindTree {
    /// The tree's right-edge [`Frontier`] (fails for a full tree).
    pub fn frontier(&self) -> Result<Frontier> {
        let count = self.len() as u64;
        let levels = (0..TREE_DEPTH)
            .map(|h| {
                let w = Frontier::width(count, h);
                let i = (count as usize) / TREE_ARITY.pow(h as u32);
                (i - w..i).map(|j| self.node(h, j)).collect()
            })
            .collect();
        Frontier::new(count, levels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Fr> {
        (0..n as u64).map(|i| Fr::from(i * 7 + 1)).collect()
    }

    #[test]
    fn empty_tree_root_is_z_depth() {
        let z = zero_hashes();
        assert_eq!(z[0], Fr::zero());
        assert_eq!(z[1], poseidon(&[Fr::zero(); 4]).unwrap());
        assert_eq!(KindTree::from_leaves(vec![]).unwrap().root(), z[TREE_DEPTH]);
        assert_eq!(KindTree::empty().root(), z[TREE_DEPTH]);
        assert!(KindTree::empty()
            .path(5)
            .unwrap()
            .verify(Fr::zero(), z[TREE_DEPTH]));
    }

    #[test]
    fn small_tree_by_hand() {
        let z = zero_hashes();
        let l = leaves(5);
        let t = KindTree::from_leaves(l.clone()).unwrap();
        let a = h4(&[l[0], l[1], l[2], l[3]]);
        let b = h4(&[l[4], z[0], z[0], z[0]]);
        let mut cur = h4(&[a, b, z[1], z[1]]);
        for zh in &z[2..TREE_DEPTH] {
            cur = h4(&[cur, *zh, *zh, *zh]);
        }
        assert_eq!(t.root(), cur);
        let p = t.path(4).unwrap();
        assert_eq!(p.positions()[..2], [0, 1]);
        assert_eq!(p.siblings()[1], [a, z[1], z[1]]);
        assert_eq!(p.index(), 4);
    }

    #[test]
    fn paths_verify_and_reject_wrong_leaves() {
        let t = KindTree::from_leaves(leaves(70)).unwrap();
        for i in [0, 1, 3, 4, 15, 16, 63, 64, 69, 70, 1000, TREE_CAPACITY - 1] {
            let p = t.path(i).unwrap();
            assert_eq!(p.index(), i);
            let leaf = t.leaves().get(i).copied().unwrap_or(Fr::zero());
            assert_eq!(p.root_from(leaf), t.root(), "slot {i}");
            assert!(!p.verify(leaf + Fr::from(1u64), t.root()));
        }
        assert!(t.path(TREE_CAPACITY).is_err());
    }

    #[test]
    fn path_validation_and_serde() {
        let t = KindTree::from_leaves(leaves(9)).unwrap();
        let p = t.path(8).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        let back: MerklePath = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        let bad = json.replacen("\"positions\":[0", "\"positions\":[4", 1);
        assert!(serde_json::from_str::<MerklePath>(&bad)
            .unwrap_err()
            .to_string()
            .contains("not in 0..4"));
        assert!(MerklePath::new(vec![], vec![]).is_err());
        assert!(MerklePath::new(p.siblings().to_vec(), vec![0; TREE_DEPTH - 1]).is_err());
    }

    #[test]
    fn too_many_leaves() {
        let e = KindTree::from_leaves(vec![Fr::zero(); TREE_CAPACITY + 1]).unwrap_err();
        assert!(e.to_string().contains("do not fit"));
    }

    #[test]
    fn frontier_root_and_append_match_rebuilding() {
        let all = leaves(300);
        let mut counts: Vec<usize> = (0..=70).collect();
        counts.extend([255, 256, 257, 299]);
        for &n in &counts {
            let tree = KindTree::from_leaves(all[..n].to_vec()).unwrap();
            let mut f = tree.frontier().unwrap();
            assert_eq!(f.count(), n as u64);
            assert_eq!(f.root(), tree.root(), "root at {n}");
            for m in n..(n + 21).min(all.len()) {
                assert_eq!(f.append(all[m]).unwrap(), m as u64);
                let rebuilt = KindTree::from_leaves(all[..=m].to_vec()).unwrap();
                assert_eq!(f.root(), rebuilt.root(), "{n} then appends up to {m}");
                assert_eq!(f, rebuilt.frontier().unwrap(), "frontier at {}", m + 1);
            }
        }
        let mut f = Frontier::empty();
        for (i, l) in all.iter().enumerate() {
            f.append(*l).unwrap();
            if i % 37 == 0 {
                let t = KindTree::from_leaves(all[..=i].to_vec()).unwrap();
                assert_eq!(f.root(), t.root());
            }
        }
        assert_eq!(f.root(), KindTree::from_leaves(all).unwrap().root());
        assert_eq!(Frontier::empty().root(), KindTree::empty().root());
    }

    #[test]
    fn frontier_shape_is_checked_and_serde_round_trips() {
        let t = KindTree::from_leaves(leaves(22)).unwrap();
        let f = t.frontier().unwrap();
        let json = serde_json::to_string(&f).unwrap();
        let back: Frontier = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        // A count that does not fit the levels (a patient hiding records) is refused.
        assert!(Frontier::new(21, f.levels().to_vec()).is_err());
        assert!(Frontier::new(22, f.levels()[1..].to_vec()).is_err());
        assert!(Frontier::new(TREE_CAPACITY as u64, vec![vec![]; TREE_DEPTH]).is_err());
        let bad = json.replacen("\"count\":22", "\"count\":23", 1);
        assert!(serde_json::from_str::<Frontier>(&bad).is_err());
        // A frontier with a wrong sibling gives another root.
        let mut levels = f.levels().to_vec();
        levels[0][0] += Fr::from(1u64);
        assert_ne!(Frontier::new(22, levels).unwrap().root(), t.root());
    }
}
