use crate::indexed::{indexed_leaf, IndexedTree, SPENT_SHAPE};
use crate::tree::{hash_children, MerkleTree, Shape};
use crate::{StateError, IDENTITY_SHAPE, ISSUERS_SHAPE, NOTE_SHAPE};
use ark_ff::{UniformRand, Zero};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::str::FromStr;
use zkmed_core::field::Fr;

/// The root of a tree from all its leaves, level by level (the definition, no sparsity).
fn naive_root(shape: Shape, leaves: &[Fr]) -> Fr {
    let mut level: Vec<Fr> = leaves.to_vec();
    level.resize(shape.capacity() as usize, Fr::zero());
    for _ in 0..shape.depth {
        level = level.chunks(shape.arity).map(hash_children).collect();
    }
    level[0]
}

#[test]
fn sparse_trees_agree_with_the_definition_and_their_paths() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for shape in [Shape::new(2, 5), Shape::new(4, 3)] {
        let mut t = MerkleTree::new(shape).unwrap();
        let mut leaves = vec![Fr::zero(); shape.capacity() as usize];
        assert_eq!(t.root(), naive_root(shape, &leaves));
        for step in 0..40u64 {
            // Appends, replacements anywhere, and emptying.
            let i = (step * 7 + 3) % shape.capacity();
            let v = if step % 5 == 4 {
                Fr::zero()
            } else {
                Fr::rand(&mut rng)
            };
            t.set(i, v).unwrap();
            leaves[i as usize] = v;
            assert_eq!(
                t.root(),
                naive_root(shape, &leaves),
                "{shape:?} step {step}"
            );
            for j in [0, i, shape.capacity() - 1] {
                let p = t.path(j).unwrap();
                assert_eq!(p.root_of(leaves[j as usize]).unwrap(), t.root());
                // Another leaf at the same path gives another root.
                assert_ne!(
                    p.root_of(leaves[j as usize] + Fr::from(1u64)).unwrap(),
                    t.root()
                );
            }
        }
        assert!(matches!(
            t.set(shape.capacity(), Fr::from(1u64)),
            Err(StateError::Full { .. })
        ));
    }
}

#[test]
fn empty_roots_are_circomlib_zero_hashes() {
    // circomlib / Semaphore: Z_1 = Poseidon(0, 0).
    let z1 = Fr::from_str(
        "14744269619966411208579211824598458697587494354926760081771325075741142829156",
    )
    .unwrap();
    assert_eq!(Shape::new(2, 1).zero_hashes()[1], z1);
    assert_eq!(MerkleTree::new(Shape::new(2, 1)).unwrap().root(), z1);
    let id = MerkleTree::new(IDENTITY_SHAPE).unwrap();
    assert_eq!(id.root(), IDENTITY_SHAPE.zero_hashes()[20]);
    assert_eq!(NOTE_SHAPE.capacity(), 1 << 20);
    assert_eq!(ISSUERS_SHAPE.capacity(), 1024);
    assert_eq!(SPENT_SHAPE.capacity(), 1 << 24);
}

#[test]
fn malformed_paths_are_errors() {
    let t = MerkleTree::new(Shape::new(4, 3)).unwrap();
    let mut p = t.path(5).unwrap();
    p.siblings.pop();
    assert!(matches!(
        p.root_of(Fr::zero()),
        Err(StateError::MalformedPath(_))
    ));
    let mut p = t.path(5).unwrap();
    p.siblings[1].push(Fr::zero());
    assert!(matches!(
        p.root_of(Fr::zero()),
        Err(StateError::MalformedPath(_))
    ));
    assert!(MerkleTree::new(Shape::new(3, 3)).is_err());
}

#[test]
fn indexed_tree_proves_absence_and_refuses_spent_values() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut s = IndexedTree::new();
    let mut spent = Vec::new();
    let absent: Vec<Fr> = (0..20).map(|_| Fr::rand(&mut rng)).collect();
    for round in 0..30 {
        let x = if round == 3 {
            Fr::from(1u64) // the smallest possible value
        } else if round == 4 {
            -Fr::from(1u64) // the largest, r - 1
        } else {
            Fr::rand(&mut rng)
        };
        let root_before = s.root();
        let proof = s.non_membership(&x).unwrap();
        proof.verify(&x, &root_before).unwrap();
        s.insert(x).unwrap();
        spent.push(x);
        assert_ne!(s.root(), root_before);
        // The old proof does not hold against the new root (the low leaf changed).
        assert!(proof.verify(&x, &s.root()).is_err());
        assert_eq!(s.insert(x), Err(StateError::Spent));
        assert_eq!(s.non_membership(&x).unwrap_err(), StateError::Spent);
        for a in &absent {
            s.non_membership(a).unwrap().verify(a, &s.root()).unwrap();
        }
        // A spent value cannot borrow an absent value's low leaf.
        for y in &spent {
            for a in absent.iter().take(3) {
                assert!(s.non_membership(a).unwrap().verify(y, &s.root()).is_err());
            }
        }
    }
    assert_eq!(s.len(), 30);
    assert_eq!(s.insert(Fr::zero()), Err(StateError::ZeroNullifier));
    // Sorted linked list: following `next` from the sentinel visits every value, increasing.
    let leaves = s.leaves();
    let mut count = 0;
    let mut cur = leaves[0];
    while !cur.1.is_zero() {
        let next = leaves.iter().find(|l| l.0 == cur.1).unwrap();
        count += 1;
        cur = *next;
    }
    assert_eq!(count, 30);
    // The tree is exactly the leaves' hashes.
    let hashed: Vec<Fr> = leaves.iter().map(|(v, n)| indexed_leaf(*v, *n)).collect();
    let mut t = MerkleTree::new(SPENT_SHAPE).unwrap();
    for (i, l) in hashed.iter().enumerate() {
        t.set(i as u64, *l).unwrap();
    }
    assert_eq!(t.root(), s.root());
}
