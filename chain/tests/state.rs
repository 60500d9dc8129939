//! Issue 15 on chain: PoseidonT3 in Solidity, the identity tree in `ZkmedIdentity`, the
//! `StateRegistry` (issuers tree, spent root, global root, windows, suspension), what an
//! anchoring transaction reveals, replaying the spent set from the chain, and the gas per
//! patient update. Every test runs on anvil (JSON-RPC) and on the embedded revm chain.

mod support;

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolCall;
use ark_ff::{BigInteger, One, PrimeField, UniformRand, Zero};
use rand::{Rng, SeedableRng};
use support::*;
use zkmed_chain::backend::{Backend, Registry};
use zkmed_chain::bench::{self, calldata_floor_gas, MAX_TX_CALLDATA};
use zkmed_chain::bindings::{PoseidonT3, ZkmedIdentity};
use zkmed_chain::client::fr_to_u256;
use zkmed_core::Fr;
use zkmed_state::note::{genesis_nullifier, global_root, identity_commitment, note_tag};
use zkmed_state::{IndexedTree, MerkleTree, IDENTITY_SHAPE, ISSUERS_SHAPE, NOTE_SHAPE};

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn word(x: &Fr) -> [u8; 32] {
    fr_to_u256(x).to_be_bytes::<32>()
}

fn occurs(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// --------------------------------------------------------------------------------------
// PoseidonT3

#[test]
fn poseidon_contract_is_the_generated_one() {
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(zkmed_chain::poseidon_sol::POSEIDON_T3_PATH);
    let generated = zkmed_chain::poseidon_sol::poseidon_t3_solidity();
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    if regenerating() {
        if generated != committed {
            std::fs::write(&file, &generated).unwrap();
            compile_artifacts();
            eprintln!("regenerated {}", file.display());
        }
        return;
    }
    assert_eq!(
        generated, committed,
        "contracts/src/PoseidonT3.sol is not the generator's output: regenerate with \
         `ZKMED_REGENERATE=1 cargo test -p zkmed-chain --test state poseidon_contract`"
    );
}

fn poseidon_on_chain_equals_native<N: Net>(net: &N) {
    let mut gov = Registry::deploy(net.account(0)).unwrap();
    let p = gov.deployment.poseidon;
    let mut r = rng(1);
    let mut gas = Vec::new();
    for i in 0..24 {
        let (a, b) = match i {
            0 => (Fr::zero(), Fr::zero()),
            1 => (-Fr::one(), -Fr::one()),
            _ => (Fr::rand(&mut r), Fr::rand(&mut r)),
        };
        let call = PoseidonT3::hashCall {
            a: fr_to_u256(&a),
            b: fr_to_u256(&b),
        };
        let out = gov
            .backend
            .call("hash", p, call.abi_encode().into())
            .unwrap();
        let h = PoseidonT3::hashCall::abi_decode_returns(&out).unwrap();
        assert_eq!(
            h,
            fr_to_u256(&zkmed_core::poseidon::poseidon(&[a, b]).unwrap()),
            "{}: H({a}, {b})",
            net.name()
        );
        if i < 4 {
            let data = call.abi_encode();
            let tx = gov
                .backend
                .send("hash", Some(p), data.clone().into())
                .unwrap();
            let zeros = data.iter().filter(|b| **b == 0).count() as u64;
            let intrinsic = 21_000 + 4 * zeros + 16 * (data.len() as u64 - zeros);
            gas.push((tx.gas_used, tx.gas_used - intrinsic));
        }
    }
    // Non-canonical inputs (>= r) are refused.
    let r_mod = U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
    for (a, b) in [
        (r_mod, U256::ZERO),
        (U256::ZERO, r_mod),
        (U256::MAX, U256::from(1u8)),
    ] {
        let e = gov
            .backend
            .call("hash", p, PoseidonT3::hashCall { a, b }.abi_encode().into())
            .unwrap_err();
        contains(e, "NonCanonicalInput");
    }
    eprintln!(
        "{}: PoseidonT3.hash as a transaction: {:?} (receipt gas, gas after the 21,000 base and calldata)",
        net.name(),
        gas
    );
    for (_, exec) in &gas {
        assert!(*exec < 16_000, "{}: {exec} gas per hash", net.name());
    }
}

#[test]
fn poseidon_t3_on_chain_equals_the_native_hash() {
    poseidon_on_chain_equals_native(&OnAnvil::start());
    poseidon_on_chain_equals_native(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// The identity tree

struct Ids<B: Backend> {
    gov: Registry<B>,
    hospital: Registry<B>,
    guardian: Registry<B>,
}

fn ids<N: Net>(net: &N) -> Ids<N::B> {
    let mut gov = Registry::deploy(net.account(0)).unwrap();
    let d = gov.deployment;
    let hospital = Registry::attach(net.account(1), d);
    gov.accredit(hospital.backend_account(), "St. Example")
        .unwrap();
    Ids {
        gov,
        hospital,
        guardian: Registry::attach(net.account(5), d),
    }
}

fn fresh_address(r: &mut impl Rng) -> Address {
    Address::from(r.gen::<[u8; 20]>())
}

/// Random mints, recoveries (leaf replaced) and revocations (leaf emptied), each checked
/// against `zkmed_state::MerkleTree`: the root after every step, the tree rebuilt from the
/// events at the end. Mints after updates check the cached filled subtrees.
fn identity_tree_random_sequence<N: Net>(net: &N) {
    let mut s = ids(net);
    let g = s.guardian.backend_account();
    let mut local = MerkleTree::new(IDENTITY_SHAPE).unwrap();
    assert_eq!(s.gov.identity_root().unwrap(), local.root());
    let mut r = rng(2);
    let mut active: Vec<(U256, u64)> = Vec::new();
    let mut minted = 0u64;
    for step in 0..36 {
        let op = if active.is_empty() || step < 5 {
            0
        } else {
            r.gen_range(0..4)
        };
        match op {
            0 | 1 => {
                let idc = Fr::rand(&mut r);
                let token = s
                    .hospital
                    .mint(fresh_address(&mut r), &idc, &[g], 1)
                    .unwrap();
                assert_eq!(token, U256::from(minted + 1));
                assert_eq!(s.gov.identity_index(token).unwrap(), minted);
                local.set(minted, idc).unwrap();
                active.push((token, minted));
                minted += 1;
            }
            2 => {
                let k = r.gen_range(0..active.len());
                let (token, index) = active[k];
                let idc = Fr::rand(&mut r);
                // Threshold 1: the proposal executes the recovery at once.
                s.guardian
                    .propose_recovery(token, fresh_address(&mut r), &idc)
                    .unwrap();
                assert_eq!(s.gov.identity_commitment(token).unwrap(), Some(idc));
                local.set(index, idc).unwrap();
            }
            _ => {
                let k = r.gen_range(0..active.len());
                let (token, index) = active.swap_remove(k);
                s.hospital.revoke(token).unwrap();
                local.set(index, Fr::zero()).unwrap();
            }
        }
        assert_eq!(
            s.gov.identity_root().unwrap(),
            local.root(),
            "{}: step {step} (op {op})",
            net.name()
        );
    }
    let rebuilt = s.gov.identity_tree().unwrap();
    assert_eq!(rebuilt.root(), local.root());
    for (token, index) in &active {
        assert_eq!(
            s.gov.identity_path(*token).unwrap(),
            local.path(*index).unwrap()
        );
    }
}

#[test]
fn identity_tree_follows_mints_recoveries_and_revocations() {
    identity_tree_random_sequence(&OnAnvil::start());
    identity_tree_random_sequence(&Embedded::in_memory());
}

/// Attacks on a leaf update: siblings that do not open the current root (another token's
/// path, a stale path from before a mint, made-up values) are refused.
fn identity_updates_need_the_current_path<N: Net>(net: &N) {
    let mut s = ids(net);
    let g = s.guardian.backend_account();
    let (a, b) = (Fr::from(11u64), Fr::from(22u64));
    let ta = s
        .hospital
        .mint(Address::repeat_byte(0xa1), &a, &[g], 1)
        .unwrap();
    let tb = s
        .hospital
        .mint(Address::repeat_byte(0xa2), &b, &[g], 1)
        .unwrap();
    let tree = s.gov.identity_tree().unwrap();
    let sib = |t: &MerkleTree, i: u64| -> [U256; 20] {
        let p = t.path(i).unwrap();
        std::array::from_fn(|l| fr_to_u256(&p.siblings[l][0]))
    };
    let identity = s.gov.deployment.identity;
    let revoke = |h: &mut Registry<N::B>, token: U256, siblings: [U256; 20]| {
        h.backend.send(
            "revoke",
            Some(identity),
            ZkmedIdentity::revokeCall {
                tokenId: token,
                siblings,
            }
            .abi_encode()
            .into(),
        )
    };
    // Token A with token B's path; made-up siblings.
    contains(
        revoke(&mut s.hospital, ta, sib(&tree, 1)).unwrap_err(),
        "StaleIdentityPath",
    );
    contains(
        revoke(&mut s.hospital, ta, [U256::from(5u8); 20]).unwrap_err(),
        "StaleIdentityPath",
    );
    // A path from before a later mint is stale.
    let before = sib(&tree, 0);
    s.hospital
        .mint(Address::repeat_byte(0xa3), &Fr::from(33u64), &[], 0)
        .unwrap();
    contains(
        revoke(&mut s.hospital, ta, before).unwrap_err(),
        "StaleIdentityPath",
    );
    // A recovery's executing approval with a wrong path is refused too.
    let e = s
        .guardian
        .backend
        .send(
            "proposeRecovery",
            Some(identity),
            ZkmedIdentity::proposeRecoveryCall {
                tokenId: tb,
                newOwner: Address::repeat_byte(0xb1),
                newCommitment: U256::from(44u8),
                siblings: before,
            }
            .abi_encode()
            .into(),
        )
        .unwrap_err();
    contains(e, "StaleIdentityPath");
    // With the current path, both work; a second revocation is refused.
    s.hospital.revoke(ta).unwrap();
    contains(s.hospital.revoke(ta), "TokenRevoked");
    s.guardian
        .propose_recovery(tb, Address::repeat_byte(0xb1), &Fr::from(44u64))
        .unwrap();
    // A commitment >= r is refused at mint.
    let e = s
        .hospital
        .backend
        .send(
            "mint",
            Some(identity),
            ZkmedIdentity::mintCall {
                patient: Address::repeat_byte(0xa4),
                commitment: U256::from_be_slice(&Fr::MODULUS.to_bytes_be()) + U256::from(11u8),
                guardians: vec![],
                threshold: 0,
            }
            .abi_encode()
            .into(),
        )
        .unwrap_err();
    contains(e, "BadCommitment");
}

#[test]
fn attack_identity_leaf_updates_with_a_wrong_path() {
    identity_updates_need_the_current_path(&OnAnvil::start());
    identity_updates_need_the_current_path(&Embedded::in_memory());
}

fn identity_root_window<N: Net>(net: &N) {
    let mut s = ids(net);
    let r0 = s.gov.identity_root().unwrap();
    assert!(s.gov.is_identity_root_accepted(&r0, 0).unwrap());
    s.hospital
        .mint(Address::repeat_byte(0xc1), &Fr::from(5u64), &[], 0)
        .unwrap();
    let r1 = s.gov.identity_root().unwrap();
    assert_ne!(r0, r1);
    // Superseded just now: refused in current-only mode, accepted within a window.
    assert!(!s.gov.is_identity_root_accepted(&r0, 0).unwrap());
    assert!(s.gov.is_identity_root_accepted(&r0, 3600).unwrap());
    assert!(s.gov.is_identity_root_accepted(&r1, 0).unwrap());
    // Never a root.
    assert!(!s
        .gov
        .is_identity_root_accepted(&Fr::from(77u64), 3600)
        .unwrap());
    net.advance_time(3601);
    assert!(!s.gov.is_identity_root_accepted(&r0, 3600).unwrap());
    assert!(s.gov.is_identity_root_accepted(&r0, 7200).unwrap());
    assert!(s.gov.is_identity_root_accepted(&r1, 0).unwrap());
    // Revocation supersedes the root too: the old identity stays provable within the
    // window only.
    let t = s.gov.token_of_commitment(&Fr::from(5u64)).unwrap().unwrap();
    s.hospital.revoke(t).unwrap();
    assert!(!s.gov.is_identity_root_accepted(&r1, 0).unwrap());
    assert!(s.gov.is_identity_root_accepted(&r1, 60).unwrap());
    net.advance_time(61);
    assert!(!s.gov.is_identity_root_accepted(&r1, 60).unwrap());
}

#[test]
fn identity_root_window_and_current_only() {
    identity_root_window(&OnAnvil::start());
    identity_root_window(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// StateRegistry

struct States<B: Backend> {
    gov: Registry<B>,
    a: Registry<B>,
    b: Registry<B>,
    stranger: Registry<B>,
    spent: IndexedTree,
    issuers: MerkleTree,
    next: u64,
}

fn states<N: Net>(net: &N) -> States<N::B> {
    let mut gov = Registry::deploy(net.account(0)).unwrap();
    let d = gov.deployment;
    let a = Registry::attach(net.account(1), d);
    let b = Registry::attach(net.account(2), d);
    gov.accredit(a.backend_account(), "Issuer A").unwrap();
    gov.accredit(b.backend_account(), "Issuer B").unwrap();
    assert_eq!(gov.issuer_slot(a.backend_account()).unwrap(), Some(0));
    assert_eq!(gov.issuer_slot(b.backend_account()).unwrap(), Some(1));
    let spent = IndexedTree::new();
    assert_eq!(gov.spent_root().unwrap(), spent.root());
    let issuers = MerkleTree::new(ISSUERS_SHAPE).unwrap();
    assert_eq!(gov.issuers_root().unwrap(), issuers.root());
    assert_eq!(
        gov.global_root().unwrap(),
        global_root(issuers.root(), spent.root())
    );
    States {
        gov,
        a,
        b,
        stranger: Registry::attach(net.account(3), d),
        spent,
        issuers,
        next: 0,
    }
}

impl<B: Backend> States<B> {
    /// `who` (0 = A, 1 = B) anchors `n` fresh nullifiers; the local trees follow.
    fn anchor(&mut self, who: u32, n: usize) -> (zkmed_chain::bench::PlannedBatch, u64) {
        let plan = bench::plan_from(&mut self.spent, self.next, n).unwrap();
        self.next += n as u64;
        assert_eq!(plan.len(), 1);
        let b = plan.into_iter().next().unwrap();
        let r = if who == 0 { &mut self.a } else { &mut self.b };
        let gas = r
            .anchor_state_batch(
                &b.note_root,
                b.note_count,
                &b.prev_spent_root,
                &b.new_spent_root,
                &b.nullifiers,
            )
            .unwrap();
        self.issuers.set(who as u64, b.note_root).unwrap();
        self.check();
        (b, gas)
    }

    fn check(&mut self) {
        assert_eq!(self.gov.spent_root().unwrap(), self.spent.root());
        assert_eq!(self.gov.issuers_root().unwrap(), self.issuers.root());
        assert_eq!(
            self.gov.global_root().unwrap(),
            global_root(self.issuers.root(), self.spent.root())
        );
    }
}

fn windows_stale_roots_and_accreditation<N: Net>(net: &N) {
    let mut s = states(net);
    let g0 = s.gov.global_root().unwrap();
    let (b1, _) = s.anchor(0, 3);
    let g1 = s.gov.global_root().unwrap();
    assert!(!s.gov.is_state_root_accepted(&g0, 0).unwrap());
    assert!(s.gov.is_state_root_accepted(&g0, 3600).unwrap());
    assert!(s.gov.is_state_root_accepted(&g1, 0).unwrap());
    assert!(!s.gov.is_state_root_accepted(&Fr::from(9u64), 3600).unwrap());
    // A stale spent root (B builds on the root before A's batch) is refused.
    let x = vec![bench::bench_nullifier(1_000_000)];
    contains(
        s.b.anchor_state_batch(&Fr::from(5u64), 1, &b1.prev_spent_root, &Fr::from(6u64), &x),
        "StaleSpentRoot",
    );
    // A non-accredited account is refused.
    let cur = s.spent.root();
    contains(
        s.stranger
            .anchor_state_batch(&Fr::from(5u64), 1, &cur, &Fr::from(6u64), &x),
        "NotAccreditedIssuer",
    );
    // Non-canonical or zero nullifiers, a non-canonical root, ragged nullifier bytes.
    let state = s.gov.deployment.state;
    let r_mod = U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
    let call = |nullifiers: Vec<u8>, note_root: U256| {
        zkmed_chain::bindings::StateRegistry::anchorBatchCall {
            noteRoot: note_root.into(),
            noteCount: 1,
            prevSpentRoot: fr_to_u256(&cur).into(),
            newSpentRoot: U256::from(6u8).into(),
            nullifiers: Bytes::from(nullifiers),
        }
        .abi_encode()
    };
    let mut two = word(&Fr::from(3u64)).to_vec();
    two.extend_from_slice(&r_mod.to_be_bytes::<32>());
    for (data, why) in [
        (call(two, U256::from(5u8)), "BadNullifiers"),
        (call(vec![0u8; 32], U256::from(5u8)), "BadNullifiers"),
        (call(vec![1u8; 33], U256::from(5u8)), "BadNullifiers"),
        (call(word(&Fr::from(3u64)).to_vec(), r_mod), "NonCanonical"),
    ] {
        contains(
            s.a.backend.send("anchorBatch", Some(state), data.into()),
            why,
        );
    }
    // Windows: g1 superseded by B's batch.
    s.anchor(1, 2);
    let g2 = s.gov.global_root().unwrap();
    assert!(!s.gov.is_state_root_accepted(&g1, 0).unwrap());
    assert!(s.gov.is_state_root_accepted(&g1, 3600).unwrap());
    net.advance_time(3601);
    assert!(!s.gov.is_state_root_accepted(&g1, 3600).unwrap());
    assert!(s.gov.is_state_root_accepted(&g2, 0).unwrap());
    assert!(s.gov.is_state_root_accepted(&g2, 3600).unwrap());
}

#[test]
fn state_roots_windows_stale_spent_root_and_non_accredited() {
    windows_stale_roots_and_accreditation(&OnAnvil::start());
    windows_stale_roots_and_accreditation(&Embedded::in_memory());
}

fn suspension_and_reinstatement<N: Net>(net: &N) {
    let mut s = states(net);
    let (ba, _) = s.anchor(0, 2);
    let g1 = s.gov.global_root().unwrap();
    s.anchor(1, 2);
    let g2 = s.gov.global_root().unwrap();
    assert!(s.gov.is_state_root_accepted(&g1, 3600).unwrap());
    // Suspending A empties its leaf in the same transaction; every older global root is
    // refused at once, whatever the window.
    let a = s.a.backend_account();
    s.gov.suspend(a, "audit").unwrap();
    s.issuers.set(0, Fr::zero()).unwrap();
    s.check();
    assert_eq!(s.gov.issuer_leaf(0).unwrap(), Fr::zero());
    let g3 = s.gov.global_root().unwrap();
    assert!(s.gov.is_state_root_accepted(&g3, 0).unwrap());
    for old in [g1, g2] {
        assert!(!s.gov.is_state_root_accepted(&old, 3600).unwrap());
    }
    // A suspended issuer cannot anchor.
    let cur = s.spent.root();
    contains(
        s.a.anchor_state_batch(&Fr::from(5u64), 1, &cur, &Fr::from(6u64), &[Fr::from(8u64)]),
        "NotAccreditedIssuer",
    );
    // B goes on; g3 (after the suspension) stays acceptable within the window.
    s.anchor(1, 1);
    assert!(s.gov.is_state_root_accepted(&g3, 3600).unwrap());
    // Reinstatement restores A's latest root.
    s.gov.accredit(a, "Issuer A").unwrap();
    s.issuers.set(0, ba.note_root).unwrap();
    s.check();
    assert_eq!(s.gov.issuer_leaf(0).unwrap(), ba.note_root);
    assert_eq!(s.gov.issuer_slot(a).unwrap(), Some(0));
    assert!(!s.gov.is_state_root_accepted(&g2, 3600).unwrap());
    s.anchor(0, 1);
}

/// The issuer registry's hooks accept only the issuer registry; the wiring is governance's,
/// once.
fn hooks_only_from_the_issuer_registry<N: Net>(net: &N) {
    use zkmed_chain::bindings::{IssuerRegistry, StateRegistry};
    let mut s = states(net);
    s.anchor(0, 1);
    let (state, issuers) = (s.gov.deployment.state, s.gov.deployment.issuers);
    let a = s.a.backend_account();
    let me = s.stranger.backend_account();
    // A stranger zeroes issuer A's leaf, or gives itself a slot.
    let suspend = StateRegistry::issuerSuspendedCall { issuer: a }.abi_encode();
    contains(
        s.stranger
            .backend
            .send("issuerSuspended", Some(state), suspend.into()),
        "NotIssuerRegistry",
    );
    let accredit = StateRegistry::issuerAccreditedCall { issuer: me }.abi_encode();
    contains(
        s.stranger
            .backend
            .send("issuerAccredited", Some(state), accredit.into()),
        "NotIssuerRegistry",
    );
    assert_eq!(s.gov.issuer_slot(me).unwrap(), None);
    s.check();
    // Nobody re-wires the issuer registry to another state registry, governance included.
    let rewire = IssuerRegistry::setStateRegistryCall { registry: me }.abi_encode();
    contains(
        s.stranger
            .backend
            .send("setStateRegistry", Some(issuers), rewire.clone().into()),
        "OwnableUnauthorizedAccount",
    );
    contains(
        s.gov
            .backend
            .send("setStateRegistry", Some(issuers), rewire.into()),
        "AlreadyWired",
    );
}

#[test]
fn attack_state_hooks_called_by_a_stranger() {
    hooks_only_from_the_issuer_registry(&OnAnvil::start());
    hooks_only_from_the_issuer_registry(&Embedded::in_memory());
}

#[test]
fn suspension_zeroes_the_issuers_leaf_and_refuses_older_roots() {
    suspension_and_reinstatement(&OnAnvil::start());
    suspension_and_reinstatement(&Embedded::in_memory());
}

/// Patients with identities and tokens; an issuer anchors their genesis states (the notes in
/// its off-chain tree, shuffled; the genesis nullifiers in the calldata). Nothing in the
/// transaction's calldata or logs is a patient's identity commitment, token id or owner
/// address.
fn anchoring_names_no_patient<N: Net>(net: &N) {
    let mut s = states(net);
    let hospital = &mut s.a;
    let mut r = rng(3);
    // Some tokens first, so that the patients' token ids are not small counts that any ABI
    // encoding holds (a length, an offset).
    for i in 0..6u8 {
        hospital
            .mint(
                Address::repeat_byte(0xd0 + i),
                &Fr::from(100 + i as u64),
                &[],
                0,
            )
            .unwrap();
    }
    let mut patients = Vec::new();
    for _ in 0..3 {
        let (secret, nk) = (Fr::rand(&mut r), Fr::rand(&mut r));
        let idc = identity_commitment(secret, nk);
        let owner = fresh_address(&mut r);
        let token = hospital.mint(owner, &idc, &[], 0).unwrap();
        patients.push((idc, owner, token));
    }
    let mut notes = MerkleTree::new(NOTE_SHAPE).unwrap();
    let mut leaves: Vec<Fr> = patients
        .iter()
        .map(|(idc, _, _)| {
            let record = zkmed_core::poseidon::poseidon(&[*idc, Fr::from(1u64)]).unwrap();
            zkmed_state::note::state_note(record, note_tag(Fr::rand(&mut r)))
        })
        .collect();
    for i in (1..leaves.len()).rev() {
        leaves.swap(i, r.gen_range(0..=i));
    }
    for (i, l) in leaves.iter().enumerate() {
        notes.set(i as u64, *l).unwrap();
    }
    let prev = s.spent.root();
    let nullifiers: Vec<Fr> = patients
        .iter()
        .map(|(idc, _, _)| genesis_nullifier(*idc))
        .collect();
    for n in &nullifiers {
        s.spent.insert(*n).unwrap();
    }
    s.a.anchor_state_batch(&notes.root(), 3, &prev, &s.spent.root(), &nullifiers)
        .unwrap();
    let batches = s.gov.state_batches().unwrap();
    let batch = batches.last().unwrap();
    assert_eq!(batch.nullifiers, nullifiers);
    let input = s.gov.backend.transaction_input(batch.tx_hash).unwrap();
    let mut public = input.to_vec();
    for l in s.gov.backend.logs(
        s.gov.deployment.state,
        <zkmed_chain::bindings::StateRegistry::Batch as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
    ).unwrap() {
        if l.tx_hash == batch.tx_hash {
            for t in &l.topics {
                public.extend_from_slice(t.as_slice());
            }
            public.extend_from_slice(&l.data);
        }
    }
    for (idc, owner, token) in &patients {
        assert!(
            !occurs(&public, &word(idc)),
            "{}: an identity commitment",
            net.name()
        );
        assert!(
            !occurs(&public, &token.to_be_bytes::<32>()),
            "{}: a token id",
            net.name()
        );
        assert!(
            !occurs(&public, owner.as_slice()),
            "{}: an owner address",
            net.name()
        );
    }
    // The nullifiers are there (that is the point: anyone replays the spent set).
    for n in &nullifiers {
        assert!(occurs(&public, &word(n)));
    }
}

#[test]
fn an_anchoring_transaction_names_no_patient() {
    anchoring_names_no_patient(&OnAnvil::start());
    anchoring_names_no_patient(&Embedded::in_memory());
}

fn spent_set_replays<N: Net>(net: &N) {
    let mut s = states(net);
    let mut expected = Vec::new();
    for (who, n) in [(0, 5), (1, 1), (0, 17), (1, 3)] {
        let (b, _) = s.anchor(who, n);
        expected.push((who, b, s.gov.global_root().unwrap()));
    }
    let batches = s.gov.state_batches().unwrap();
    assert_eq!(batches.len(), expected.len());
    let mut replay = IndexedTree::new();
    let mut last_block = 0;
    for (got, (who, planned, g)) in batches.iter().zip(&expected) {
        assert_eq!(got.prev_spent_root, replay.root());
        for x in &got.nullifiers {
            replay.insert(*x).unwrap();
        }
        assert_eq!(got.new_spent_root, replay.root(), "{}", net.name());
        assert_eq!(got.slot, *who);
        assert_eq!(got.note_root, planned.note_root);
        assert_eq!(got.note_count, planned.note_count);
        assert_eq!(got.nullifiers, planned.nullifiers);
        assert_eq!(got.global_root, *g);
        assert!(got.block > last_block);
        last_block = got.block;
    }
    assert_eq!(replay.root(), s.gov.spent_root().unwrap());
}

#[test]
fn the_spent_set_replays_from_the_anchored_batches() {
    spent_set_replays(&OnAnvil::start());
    spent_set_replays(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// Gas per patient update

fn check_report(r: &bench::AnchoringReport) {
    for (i, (gas, floor)) in r
        .gas_per_tx
        .iter()
        .zip(&r.calldata_floor_gas_per_tx)
        .enumerate()
    {
        // EIP-7623 (Prague) is in force: a calldata-heavy transaction pays exactly its
        // floor (pre-Prague it would pay 21,000 + 4/16 per byte + execution, far less).
        assert_eq!(gas, floor, "{}: tx {i} pays the EIP-7623 floor", r.chain);
        assert!(r.calldata_bytes_per_tx[i] <= MAX_TX_CALLDATA);
    }
}

#[test]
fn gas_per_update_at_a_batch_of_1000() {
    let node = OnAnvil::start();
    let info: serde_json::Value = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            use alloy::providers::{Provider, ProviderBuilder};
            let p = ProviderBuilder::new().connect_http(node.0.endpoint().parse().unwrap());
            p.raw_request::<_, serde_json::Value>("anvil_nodeInfo".into(), ())
                .await
                .unwrap()
        })
    };
    eprintln!("anvil hardfork: {}", info["hardFork"]);
    let on_anvil =
        bench::anchoring_on(node.account(0), node.account(1), 1000, "anvil 1.7.1").unwrap();
    let embedded = bench::anchoring(1000).unwrap();
    for r in [&on_anvil, &embedded] {
        eprintln!("{}", serde_json::to_string(r).unwrap());
        eprintln!(
            "{}: {} updates, {} tx, {} gas, {:.1} gas per update",
            r.chain, r.batch, r.txs, r.total_gas, r.gas_per_update
        );
        check_report(r);
        assert_eq!(r.txs, 1);
        assert!(
            r.gas_per_update <= 2000.0,
            "{}: {}",
            r.chain,
            r.gas_per_update
        );
    }
    assert_eq!(on_anvil.total_gas, embedded.total_gas);
    // Small batches: below the floor, the per-batch execution shows.
    for n in [1, 10, 100] {
        let r = bench::anchoring(n).unwrap();
        eprintln!(
            "embedded: batch of {n}: {} gas ({:.0} per update; EIP-7623 floor {})",
            r.total_gas, r.gas_per_update, r.calldata_floor_gas_per_tx[0]
        );
    }
}

#[test]
fn ten_thousand_updates_fit_one_block() {
    // The embedded chain: one block per transaction; the sum is what one block would hold.
    let embedded = bench::anchoring(10_000).unwrap();
    eprintln!("{}", serde_json::to_string(&embedded).unwrap());
    check_report(&embedded);
    assert!(embedded.txs >= 3);
    assert!(embedded.total_gas <= 30_000_000, "{}", embedded.total_gas);

    // anvil: every transaction in ONE block (automine off, then evm_mine).
    use alloy::network::EthereumWallet;
    use alloy::providers::{Provider, ProviderBuilder};
    let node = OnAnvil::start();
    let mut gov = Registry::deploy(node.account(0)).unwrap();
    let issuer = node.account(1).account();
    gov.accredit(issuer, "bench issuer").unwrap();
    let state = gov.deployment.state;
    let planned = bench::plan(10_000).unwrap();
    let signer: alloy::signers::local::PrivateKeySigner =
        zkmed_chain::testing::key(&node.0, 1).parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (blocks, gas) = rt.block_on(async {
        let p = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(node.0.endpoint().parse().unwrap());
        p.raw_request::<_, serde_json::Value>("evm_setAutomine".into(), [false])
            .await
            .unwrap();
        let nonce = p.get_transaction_count(issuer).await.unwrap();
        let mut hashes = Vec::new();
        for (i, b) in planned.iter().enumerate() {
            let tx = alloy::rpc::types::TransactionRequest::default()
                .from(issuer)
                .to(state)
                .input(Bytes::from(b.calldata()).into())
                .nonce(nonce + i as u64)
                .gas_limit(8_000_000);
            hashes.push(*p.send_transaction(tx).await.unwrap().tx_hash());
        }
        p.raw_request::<_, serde_json::Value>("evm_mine".into(), ())
            .await
            .unwrap();
        let mut blocks = Vec::new();
        let mut gas = Vec::new();
        for h in hashes {
            let r = p.get_transaction_receipt(h).await.unwrap().unwrap();
            assert!(r.status());
            blocks.push(r.block_number.unwrap());
            gas.push(r.gas_used);
        }
        (blocks, gas)
    });
    let total: u64 = gas.iter().sum();
    eprintln!(
        "anvil: 10,000 updates in {} transactions, blocks {blocks:?}, gas {gas:?}, total {total}",
        planned.len()
    );
    assert!(
        blocks.iter().all(|b| *b == blocks[0]),
        "one block: {blocks:?}"
    );
    assert!(total <= 30_000_000, "{total}");
    assert_eq!(gas, embedded.gas_per_tx);
    for b in &planned {
        assert!(b.calldata().len() <= MAX_TX_CALLDATA);
        assert_eq!(
            calldata_floor_gas(&b.calldata()),
            gas[planned.iter().position(|x| x == b).unwrap()]
        );
    }
    assert_eq!(
        gov.spent_root().unwrap(),
        planned.last().unwrap().new_spent_root
    );
}
