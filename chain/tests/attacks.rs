//! The holes found in review (issue 14, section 4) and the v3 model's own, each attacked
//! on a real node (anvil over JSON-RPC) and on the embedded revm chain. Every test performs
//! the attack and asserts that the contracts refuse it.

mod support;

use alloy::primitives::{keccak256, Address, U256};
use alloy::sol_types::SolCall;
use support::*;
use zkmed_chain::backend::{Backend, Registry, Request};
use zkmed_chain::bindings::AttestationVerifier;
use zkmed_chain::client::{circuit_id, fr_to_u256};
use zkmed_core::Fr;

/// The cast: governance 0, hospital 1 (accredited; mints), insurer 2 (a verifier), patient
/// 3, stranger 4, guardians 5..7, the patient's new address 8, issuer B 9 (accredited, never
/// authorised by the patient).
struct Suite<B: Backend> {
    gov: Registry<B>,
    hospital: Registry<B>,
    insurer: Registry<B>,
    patient: Registry<B>,
    stranger: Registry<B>,
    guardians: Vec<Registry<B>>,
    new_owner: Address,
    issuer_b: Registry<B>,
}

impl<B: Backend> Suite<B> {
    fn guardian_addresses(&self) -> Vec<Address> {
        self.guardians.iter().map(|g| g.backend_account()).collect()
    }
}

fn suite<N: Net>(net: &N) -> Suite<N::B> {
    let gov = Registry::deploy(net.account(0)).unwrap();
    let d = gov.deployment;
    let at = |i: usize| Registry::attach(net.account(i), d);
    let mut s = Suite {
        hospital: at(1),
        insurer: at(2),
        patient: at(3),
        stranger: at(4),
        guardians: vec![at(5), at(6), at(7)],
        new_owner: at(8).backend_account(),
        issuer_b: at(9),
        gov,
    };
    let (h, b) = (s.hospital.backend_account(), s.issuer_b.backend_account());
    s.gov.accredit(h, "St. Example").unwrap();
    s.gov.accredit(b, "Other Lab").unwrap();
    s
}

// --------------------------------------------------------------------------------------
// Guardian recovery re-checks at execution; a commitment belongs to one token, ever.

fn recovery_rechecks_at_execution<N: Net>(net: &N) {
    let mut s = suite(net);
    let gs = s.guardian_addresses();
    let (idc, x) = (Fr::from(1001u64), Fr::from(2002u64));
    let p = s.patient.backend_account();
    let token = s.hospital.mint(p, &idc, &gs, 2).unwrap();
    // A recovery to commitment X is proposed; meanwhile X is minted for another patient.
    s.guardians[0]
        .propose_recovery(token, s.new_owner, &x)
        .unwrap();
    let other = s
        .hospital
        .mint(Address::repeat_byte(0xe1), &x, &[], 0)
        .unwrap();
    // The approval that would execute the recovery re-checks: X is taken.
    contains(
        s.guardians[1].approve_recovery(token, s.new_owner, &x),
        "BadCommitment",
    );
    assert_eq!(s.gov.token_of_commitment(&x).unwrap(), Some(other));
    assert_eq!(s.gov.identity_commitment(other).unwrap(), Some(x));
    assert_eq!(s.gov.identity_commitment(token).unwrap(), Some(idc));
    assert_eq!(s.gov.owner_of(token).unwrap(), p);

    // The new owner is given a token meanwhile: refused at execution too.
    let (owner2, y) = (Address::repeat_byte(0xe2), Fr::from(3003u64));
    s.guardians[0].propose_recovery(token, owner2, &y).unwrap();
    s.hospital.mint(owner2, &Fr::from(3004u64), &[], 0).unwrap();
    contains(
        s.guardians[1].approve_recovery(token, owner2, &y),
        "AlreadyHasIdentity",
    );

    // A commitment retired by recovery is never minted again (two tokens never hold, or
    // held, the same commitment).
    let z = Fr::from(4004u64);
    s.guardians[0]
        .propose_recovery(token, s.new_owner, &z)
        .unwrap();
    s.guardians[1]
        .approve_recovery(token, s.new_owner, &z)
        .unwrap();
    assert_eq!(s.gov.owner_of(token).unwrap(), s.new_owner);
    assert_eq!(s.gov.token_of_commitment(&idc).unwrap(), None);
    contains(
        s.hospital.mint(Address::repeat_byte(0xe3), &idc, &[], 0),
        "BadCommitment",
    );
    let (owner4, w) = (Address::repeat_byte(0xe4), Fr::from(5005u64));
    s.guardians[0].propose_recovery(token, owner4, &w).unwrap();
    // A token revoked meanwhile is not recovered.
    s.hospital.revoke(token).unwrap();
    contains(
        s.guardians[1].approve_recovery(token, owner4, &w),
        "TokenRevoked",
    );
    assert_eq!(s.gov.owner_of(token).unwrap(), s.new_owner);
}

#[test]
fn attack_recovery_takes_over_a_commitment_registered_meanwhile() {
    recovery_rechecks_at_execution(&OnAnvil::start());
    recovery_rechecks_at_execution(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// One-time claims stay one-time across recovery; a front-runner cannot burn a claim.

const PREDICATE: &str = "has-organ-transplant";

/// The claim is the scoped nullifier `H(nk, scope)`: recovery gives a fresh secret and
/// keeps `nk`, so the recovered identity's claim in a spent scope is the spent one. A copy
/// of the insurer's pending consume (plain or prepared) sent from another account reverts
/// instead of spending the patient's claim.
fn claims_survive_recovery_and_front_runners<N: Net>(net: &N, fx: &Fixture) {
    let g = [net.account(6).account(), net.account(7).account()];
    let mut w = World::new(net, 1);
    let d = w.d;
    w.gov
        .install_verifier(
            "exists-v3",
            &zkmed_chain::bindings::ExistsV3Verifier::BYTECODE,
        )
        .unwrap();
    let (mut insurer, mut thief) = (
        Registry::attach(net.account(3), d),
        Registry::attach(net.account(4), d),
    );
    let mut p = w.patient_with_guardians(1, &g);
    w.genesis(&mut [&mut p]);
    let qh = query(PREDICATE).hash().unwrap();
    let scope = Fr::from(31u64);
    let nonce = U256::from(9);
    let req = Request {
        circuit: "exists-v3".into(),
        query_hash: qh,
        scope,
        request: insurer.submitter_challenge(nonce).unwrap(),
    };
    let st = w.anchored(&p);
    let att = prove(&fx.keys, &p, &st, PREDICATE, req.request, scope);
    // The front-runner copies the pending transaction: its own challenge differs.
    contains(
        thief.consume_with_nonce(&att, &qh, nonce, &scope, 3600),
        "ChallengeMismatch",
    );
    // ... and the prepared path: the request id names the insurer's request value.
    insurer.register_request(&req).unwrap();
    thief.register_request(&req).unwrap();
    insurer
        .prepare_roots(
            "exists-v3",
            &att.public.identity_root,
            &att.public.state_root,
        )
        .unwrap();
    let prepared = {
        // What the insurer would send, sent by the thief.
        let full = zkmed_chain::client::to_contract_attestation(&att).unwrap();
        let v = insurer.verifier_of("exists-v3").unwrap();
        let read =
            |r: &mut Registry<N::B>, c: Vec<u8>| r.backend.call("term", v, c.into()).unwrap();
        let rt = zkmed_chain::bindings::GeneratedVerifier::rootsTermCall {
            identityRoot: full.identityRoot,
            stateRoot: full.stateRoot,
        };
        let qt = zkmed_chain::bindings::GeneratedVerifier::requestTermCall {
            queryHash: fr_to_u256(&qh),
            scope: fr_to_u256(&scope),
            request: fr_to_u256(&req.request),
        };
        zkmed_chain::bindings::IGroth16Verifier::PreparedAttestation {
            request: req.id(),
            requestTerm:
                zkmed_chain::bindings::GeneratedVerifier::requestTermCall::abi_decode_returns(
                    &read(&mut insurer, qt.abi_encode()),
                )
                .unwrap(),
            rootsTerm: zkmed_chain::bindings::GeneratedVerifier::rootsTermCall::abi_decode_returns(
                &read(&mut insurer, rt.abi_encode()),
            )
            .unwrap(),
            identityRoot: full.identityRoot,
            stateRoot: full.stateRoot,
            nullifier: full.nullifier,
            answer: full.answer,
            proof: full.proof,
        }
    };
    let copy = AttestationVerifier::consumePreparedCall {
        circuit: circuit_id("exists-v3"),
        a: prepared,
        queryHash: fr_to_u256(&qh),
        nonce,
        scope: fr_to_u256(&scope),
        window: 3600,
    };
    contains(
        thief.backend.send(
            "consumePrepared",
            Some(d.verifier),
            copy.abi_encode().into(),
        ),
        "RequestMismatch",
    );
    assert!(!insurer.consumed(&scope, &att.public.nullifier).unwrap());
    insurer
        .consume_prepared_with_nonce(&att, &req, nonce, 3600)
        .unwrap();
    assert!(insurer.consumed(&scope, &att.public.nullifier).unwrap());

    // Recovery: a fresh secret, the same nullifier key; the records re-anchored for the new
    // identity. The recovered identity's claim in the same scope is already spent.
    let new_id = p.id.recovered(&mut rand::rngs::OsRng);
    let owner = Address::repeat_byte(0xb1);
    Registry::attach(net.account(6), d)
        .propose_recovery(p.token, owner, &new_id.commitment())
        .unwrap();
    Registry::attach(net.account(7), d)
        .approve_recovery(p.token, owner, &new_id.commitment())
        .unwrap();
    let old_rho = p.rho;
    p.id = new_id;
    p.opening = opening_for(&p.id, 1);
    p.rho = Fr::from(9_001u64);
    w.anchor(
        0,
        &mut [&mut p],
        &[zkmed_state::note::state_nullifier(old_rho)],
    );
    let nonce2 = U256::from(10);
    let st = w.anchored(&p);
    let again = prove(
        &fx.keys,
        &p,
        &st,
        PREDICATE,
        insurer.submitter_challenge(nonce2).unwrap(),
        scope,
    );
    assert_eq!(again.public.nullifier, att.public.nullifier);
    contains(
        insurer.consume_with_nonce(&again, &qh, nonce2, &scope, 0),
        "AlreadyConsumed",
    );
    // Another scope is a fresh claim.
    let other = Fr::from(32u64);
    let fresh = prove(
        &fx.keys,
        &p,
        &st,
        PREDICATE,
        insurer.submitter_challenge(nonce2).unwrap(),
        other,
    );
    insurer
        .consume_with_nonce(&fresh, &qh, nonce2, &other, 0)
        .unwrap();
}

#[test]
fn attack_recovery_gives_a_fresh_claim_or_a_front_runner_burns_it() {
    let fx = fixture();
    claims_survive_recovery_and_front_runners(&OnAnvil::start(), &fx);
    claims_survive_recovery_and_front_runners(&Embedded::in_memory(), &fx);
}

// --------------------------------------------------------------------------------------
// A suspended issuer can neither anchor nor revoke.

fn suspended_issuer_is_powerless<N: Net>(net: &N) {
    let mut s = suite(net);
    let p = s.patient.backend_account();
    let idc = Fr::from(1001u64);
    let token = s.hospital.mint(p, &idc, &[], 0).unwrap();
    let mut spent = zkmed_state::IndexedTree::new();
    let prev = spent.root();
    spent.insert(Fr::from(11u64)).unwrap();
    s.hospital
        .anchor_state_batch(
            &Fr::from(21u64),
            1,
            &prev,
            &spent.root(),
            &[Fr::from(11u64)],
        )
        .unwrap();
    let h = s.hospital.backend_account();
    s.gov.suspend(h, "audit").unwrap();
    let prev = spent.root();
    spent.insert(Fr::from(12u64)).unwrap();
    contains(
        s.hospital.anchor_state_batch(
            &Fr::from(22u64),
            2,
            &prev,
            &spent.root(),
            &[Fr::from(12u64)],
        ),
        "NotAccreditedIssuer",
    );
    contains(s.hospital.revoke(token), "NotAccreditedIssuer");
    assert_eq!(s.gov.identity_commitment(token).unwrap(), Some(idc));
    // Governance still can; a reinstated issuer can again.
    s.gov.accredit(h, "St. Example (reinstated)").unwrap();
    let other = s
        .hospital
        .mint(Address::repeat_byte(0xe1), &Fr::from(7u64), &[], 0)
        .unwrap();
    s.hospital.revoke(other).unwrap();
    s.gov.revoke(token).unwrap();
    assert_eq!(s.gov.identity_commitment(token).unwrap(), None);
}

#[test]
fn attack_a_suspended_issuer_anchors_or_revokes() {
    suspended_issuer_is_powerless(&OnAnvil::start());
    suspended_issuer_is_powerless(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// One guardian cannot block a recovery.

fn guardians_cannot_block<N: Net>(net: &N) {
    let mut s = suite(net);
    let gs = s.guardian_addresses();
    let p = s.patient.backend_account();
    let token = s.hospital.mint(p, &Fr::from(1001u64), &gs, 2).unwrap();
    let a = Fr::from(2002u64);
    s.guardians[0]
        .propose_recovery(token, s.new_owner, &a)
        .unwrap();
    // A rival proposal by the third guardian does not reset or replace the first.
    s.guardians[2]
        .propose_recovery(token, Address::repeat_byte(0xb0), &Fr::from(6666u64))
        .unwrap();
    s.guardians[1]
        .approve_recovery(token, s.new_owner, &a)
        .unwrap();
    assert_eq!(s.gov.owner_of(token).unwrap(), s.new_owner);
    assert_eq!(s.gov.identity_commitment(token).unwrap(), Some(a));
    // The rival proposal died with the recovery (a new epoch).
    contains(
        s.guardians[0].approve_recovery(token, Address::repeat_byte(0xb0), &Fr::from(6666u64)),
        "NoSuchRecovery",
    );

    // A stale proposal expires: seven days later it cannot be approved.
    let p2 = Address::repeat_byte(0xe2);
    let token2 = s.hospital.mint(p2, &Fr::from(3003u64), &gs, 2).unwrap();
    let (owner2, b) = (Address::repeat_byte(0xe3), Fr::from(4004u64));
    s.guardians[0].propose_recovery(token2, owner2, &b).unwrap();
    net.advance_time(7 * 24 * 3600 + 1);
    contains(
        s.guardians[1].approve_recovery(token2, owner2, &b),
        "RecoveryExpired",
    );
    assert_eq!(s.gov.owner_of(token2).unwrap(), p2);
    // Proposed again, it starts over (the old approval does not count) and then executes.
    s.guardians[1].propose_recovery(token2, owner2, &b).unwrap();
    assert_eq!(s.gov.owner_of(token2).unwrap(), p2);
    s.guardians[2].approve_recovery(token2, owner2, &b).unwrap();
    assert_eq!(s.gov.owner_of(token2).unwrap(), owner2);

    // The owner (who still holds the key) cancels every open proposal; nobody else can.
    let token3 = s.hospital.mint(p, &Fr::from(5005u64), &gs, 2).unwrap();
    let (owner3, c) = (Address::repeat_byte(0xe5), Fr::from(6006u64));
    s.guardians[0].propose_recovery(token3, owner3, &c).unwrap();
    contains(s.stranger.cancel_recovery(token3), "NotAllowed");
    contains(s.guardians[1].cancel_recovery(token3), "NotAllowed");
    s.patient.cancel_recovery(token3).unwrap();
    contains(
        s.guardians[1].approve_recovery(token3, owner3, &c),
        "NoSuchRecovery",
    );
    assert_eq!(s.gov.owner_of(token3).unwrap(), p);
    // A new proposal after the cancellation is a new one.
    s.guardians[1].propose_recovery(token3, owner3, &c).unwrap();
    s.guardians[2].approve_recovery(token3, owner3, &c).unwrap();
    assert_eq!(s.gov.owner_of(token3).unwrap(), owner3);
    // No guardian approves twice.
    let token4 = s
        .hospital
        .mint(Address::repeat_byte(0xe6), &Fr::from(7007u64), &gs, 2)
        .unwrap();
    let (owner4, e) = (Address::repeat_byte(0xe7), Fr::from(8008u64));
    s.guardians[0].propose_recovery(token4, owner4, &e).unwrap();
    contains(
        s.guardians[0].approve_recovery(token4, owner4, &e),
        "AlreadyApproved",
    );
    contains(
        s.guardians[0].propose_recovery(token4, owner4, &e),
        "AlreadyApproved",
    );
}

#[test]
fn attack_one_guardian_blocks_a_recovery() {
    guardians_cannot_block(&OnAnvil::start());
    guardians_cannot_block(&Embedded::in_memory());
}

/// The contract's `submitterChallenge` and `zkmed_chain::submitter_challenge` agree, on
/// both chains (chain ids 31337 and 1337), for several accounts and nonces.
fn submitter_challenges_agree<N: Net>(net: &N) {
    let mut s = suite(net);
    let d = s.gov.deployment;
    let chain_id = s.gov.backend.chain_id().unwrap();
    for (who, nonce) in [
        (s.insurer.backend_account(), U256::ZERO),
        (s.insurer.backend_account(), U256::from(42)),
        (s.stranger.backend_account(), U256::from(42)),
        (s.stranger.backend_account(), U256::MAX),
    ] {
        let on_chain = AttestationVerifier::submitterChallengeCall::abi_decode_returns(
            &s.gov
                .backend
                .call(
                    "submitterChallenge",
                    d.verifier,
                    AttestationVerifier::submitterChallengeCall {
                        submitter: who,
                        nonce,
                    }
                    .abi_encode()
                    .into(),
                )
                .unwrap(),
        )
        .unwrap();
        let rust = zkmed_chain::submitter_challenge(chain_id, d.verifier, who, nonce);
        assert_eq!(on_chain, fr_to_u256(&rust), "{} {who} {nonce}", net.name());
    }
    assert_eq!(
        s.insurer.submitter_challenge(U256::from(42)).unwrap(),
        zkmed_chain::submitter_challenge(
            chain_id,
            d.verifier,
            s.insurer.backend_account(),
            U256::from(42)
        )
    );
}

#[test]
fn submitter_challenge_agrees_with_the_contract() {
    submitter_challenges_agree(&OnAnvil::start());
    submitter_challenges_agree(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// No public function skips the checks its name promises.

#[test]
fn attack_verify_proof_with_an_unchecked_term() {
    // No such function in any generated verifier's ABI, and no function that stores a term
    // a caller chose (terms are computed by the contract, from canonical inputs).
    for name in ["ExistsV3Verifier", "Scan64V3Verifier"] {
        let text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../contracts/artifacts/{name}.json")),
        )
        .unwrap();
        assert!(!text.contains("Unchecked"), "{name} still exposes it");
        assert!(
            !text.contains("storeSnapshot"),
            "{name}: per-token snapshots are gone"
        );
    }
    let _ = keccak256(b"");
}
