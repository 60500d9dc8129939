//! The identity and anchored-state relation (`circuits/src/state.rs`) against its native
//! twin (`zkmed-state`): binary paths, the full-field order of the spent set, and the whole
//! relation with honest witnesses and with each attack the relation must stop — a spent
//! (superseded) state, a state under another identity, a stale or foreign root, another
//! scope, a low leaf that does not bracket the nullifier.

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField, UniformRand, Zero};
use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
use rand::{rngs::StdRng, SeedableRng};
use zkmed_circuits::common::PublicVars;
use zkmed_circuits::gadgets::compare::{is_less, limbs};
use zkmed_circuits::gadgets::merkle::{alloc_binary_path, binary_root_from_path};
use zkmed_circuits::gadgets::FrVar;
use zkmed_circuits::state::{anchored, identity};
use zkmed_circuits::witness::{BinaryPathWitness, PathWitness, StateWitness};
use zkmed_core::attestation::PublicInputs;
use zkmed_state::note::{
    challenge, genesis_nullifier, identity_commitment, note_tag, scoped_nullifier, state_note,
    state_nullifier,
};
use zkmed_state::{AnchoredState, LocalState, MerklePath, MerkleTree, Shape};

fn binary(p: &MerklePath) -> BinaryPathWitness {
    BinaryPathWitness::from_path(p)
}

#[test]
fn binary_path_gadget_matches_native_paths() {
    let mut rng = StdRng::seed_from_u64(1);
    let shape = Shape::new(2, 6);
    let mut t = MerkleTree::new(shape).unwrap();
    for i in [0u64, 1, 2, 5, 17, 63] {
        t.set(i, Fr::rand(&mut rng)).unwrap();
    }
    for i in [0u64, 1, 5, 17, 40, 63] {
        let p = t.path(i).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaf = FrVar::new_witness(cs.clone(), || Ok(t.leaf(i))).unwrap();
        let path = alloc_binary_path(cs.clone(), Some(&binary(&p)), 6).unwrap();
        let root = binary_root_from_path(&leaf, &path).unwrap();
        assert_eq!(root.value().unwrap(), t.root(), "index {i}");
        assert!(cs.is_satisfied().unwrap());
        // Flipping one direction bit changes the root.
        let mut w = binary(&p);
        w.right[2] = !w.right[2];
        let cs = ConstraintSystem::<Fr>::new_ref();
        let leaf = FrVar::new_witness(cs.clone(), || Ok(t.leaf(i))).unwrap();
        let path = alloc_binary_path(cs.clone(), Some(&w), 6).unwrap();
        let root = binary_root_from_path(&leaf, &path).unwrap();
        // The node at level 2 on the path; a flip is invisible only if it equals its sibling.
        let mut node = t.leaf(i);
        for l in 0..2 {
            let s = p.siblings[l][0];
            node = zkmed_state::tree::hash_children(&if p.position(l) == 1 {
                [s, node]
            } else {
                [node, s]
            });
        }
        assert_eq!(
            root.value().unwrap() != t.root(),
            node != p.siblings[2][0],
            "index {i}"
        );
    }
}

fn lt(cs: &ConstraintSystemRef<Fr>, a: Fr, b: Fr) -> bool {
    let av = FrVar::new_witness(cs.clone(), || Ok(a)).unwrap();
    let bv = FrVar::new_witness(cs.clone(), || Ok(b)).unwrap();
    is_less(&limbs(&av).unwrap(), &limbs(&bv).unwrap())
        .unwrap()
        .value()
        .unwrap()
}

#[test]
fn field_order_gadget_matches_integer_order() {
    let mut rng = StdRng::seed_from_u64(2);
    let two127 = Fr::from(2u64).pow([127u64]);
    let edge = [
        Fr::zero(),
        Fr::from(1u64),
        two127 - Fr::from(1u64),
        two127,
        two127 + Fr::from(1u64),
        -Fr::from(1u64),
        -Fr::from(2u64),
    ];
    let mut xs: Vec<Fr> = edge.to_vec();
    xs.extend((0..8).map(|_| Fr::rand(&mut rng)));
    let int = |x: &Fr| x.into_bigint().to_bytes_be();
    for a in &xs {
        for b in &xs {
            let cs = ConstraintSystem::<Fr>::new_ref();
            assert_eq!(lt(&cs, *a, *b), int(a) < int(b), "{a} < {b}");
            assert!(cs.is_satisfied().unwrap());
        }
    }
}

/// A world with two patients and one later batch that supersedes patient 1's genesis state.
struct World {
    world: LocalState,
    s: Fr,
    nk: Fr,
    r: Fr,
    rho: Fr,
    identity_index: u64,
    note_index: u64,
}

fn world() -> World {
    let mut rng = StdRng::seed_from_u64(3);
    let mut world = LocalState::new();
    let slot = world.add_issuer().unwrap();
    let (s, nk) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let idc = identity_commitment(s, nk);
    let other = identity_commitment(Fr::rand(&mut rng), Fr::rand(&mut rng));
    let identity_index = world.add_identity(idc).unwrap();
    world.add_identity(other).unwrap();
    let (r, rho) = (Fr::rand(&mut rng), Fr::rand(&mut rng));
    let note = state_note(r, note_tag(rho));
    let idx = world
        .anchor(
            slot,
            &[Fr::rand(&mut rng), note],
            &[genesis_nullifier(idc), genesis_nullifier(other)],
        )
        .unwrap();
    World {
        world,
        s,
        nk,
        r,
        rho,
        identity_index,
        note_index: idx[1],
    }
}

fn witness(w: &World, st: &AnchoredState, scope: Fr, request: Fr) -> StateWitness {
    StateWitness::new(w.s, w.nk, st, scope, request)
}

fn public(st: &AnchoredState, w: &World, scope: Fr, request: Fr) -> PublicInputs {
    PublicInputs {
        identity_root: st.identity_root,
        state_root: st.state_root,
        query_hash: Fr::zero(),
        challenge: challenge(scope, request),
        nullifier: scoped_nullifier(w.nk, scope),
        answer: true,
    }
}

/// Synthesizes the state relation alone; true if satisfied.
fn holds(p: &PublicInputs, sw: &StateWitness, r: Fr) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    let pv = PublicVars::alloc(cs.clone(), Some(p)).unwrap();
    let idc = identity(cs.clone(), &pv, Some(sw)).unwrap();
    assert_eq!(
        idc.value().unwrap(),
        identity_commitment(sw.identity_secret, sw.nullifier_key)
    );
    let rv = FrVar::new_witness(cs.clone(), || Ok(r)).unwrap();
    anchored(cs.clone(), &pv, Some(sw), &rv).unwrap();
    cs.is_satisfied().unwrap()
}

#[test]
fn the_state_relation_holds_for_an_honest_witness_and_matches_the_native_check() {
    let w = world();
    let st = w
        .world
        .witness(w.identity_index, 0, w.note_index, w.rho)
        .unwrap();
    st.check(identity_commitment(w.s, w.nk), w.r).unwrap();
    let (scope, request) = (Fr::from(7u64), Fr::from(99u64));
    assert!(holds(
        &public(&st, &w, scope, request),
        &witness(&w, &st, scope, request),
        w.r
    ));
}

#[test]
fn attacks_on_the_state_relation_fail() {
    let mut w = world();
    let st = w
        .world
        .witness(w.identity_index, 0, w.note_index, w.rho)
        .unwrap();
    let (scope, request) = (Fr::from(7u64), Fr::from(99u64));
    let p = public(&st, &w, scope, request);
    let sw = witness(&w, &st, scope, request);

    // Another record commitment under the same note blinding: not the anchored note.
    assert!(!holds(&p, &sw, w.r + Fr::from(1u64)));
    // Another scope than the challenge's: the nullifier or the challenge breaks.
    let mut bad = p.clone();
    bad.nullifier = scoped_nullifier(w.nk, Fr::from(8u64));
    assert!(!holds(&bad, &sw, w.r));
    let mut bad_w = witness(&w, &st, Fr::from(8u64), request);
    bad_w.scope = Fr::from(8u64);
    assert!(!holds(&p, &bad_w, w.r));
    // Another identity's secret (same nullifier key): not a leaf of the identity tree.
    let mut other = witness(&w, &st, scope, request);
    other.identity_secret += Fr::from(1u64);
    assert!(!holds(&p, &other, w.r));
    // A root the world never had.
    let mut bad = p.clone();
    bad.state_root += Fr::from(1u64);
    assert!(!holds(&bad, &sw, w.r));
    let mut bad = p.clone();
    bad.identity_root += Fr::from(1u64);
    assert!(!holds(&bad, &sw, w.r));

    // The omission attack: the state is superseded (its nullifier spent by a later batch,
    // e.g. an issuer appending a diagnosis). Against the NEW roots no witness exists:
    // the honest low leaf is gone, and every remaining leaf fails to bracket sn.
    let sn = state_nullifier(w.rho);
    w.world.advance(60);
    w.world.anchor(0, &[Fr::from(5u64)], &[sn]).unwrap();
    assert!(w
        .world
        .witness(w.identity_index, 0, w.note_index, w.rho)
        .is_err());
    let spent = w.world.spent();
    let leaves = spent.leaves().to_vec();
    let current = w
        .world
        .witness(w.identity_index, 0, w.note_index, Fr::from(123u64))
        .unwrap();
    for (slot, (v, nv)) in leaves.iter().enumerate() {
        // Fabricate the witness from every leaf of the spent set, with a correct path.
        let mut forged = witness(&w, &current, scope, request);
        forged.rho = w.rho;
        forged.low_value = *v;
        forged.low_next = *nv;
        let mut t = MerkleTree::new(zkmed_state::SPENT_SHAPE).unwrap();
        for (i, (a, b)) in leaves.iter().enumerate() {
            t.set(i as u64, zkmed_state::indexed::indexed_leaf(*a, *b))
                .unwrap();
        }
        forged.spent_path = PathWitness::from_path(&t.path(slot as u64).unwrap());
        let p_new = public(&current, &w, scope, request);
        assert!(
            !holds(&p_new, &forged, w.r),
            "low leaf {slot} must not bracket a spent sn"
        );
    }
    // Against the OLD roots the proof still exists: that is the window, which verifiers
    // bound (docs/state.md); "current roots only" refuses those roots.
    assert!(holds(&p, &sw, w.r));
}
