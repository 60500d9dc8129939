//! The holes found in review (issue 14, section 4), each attacked on a real node (anvil over
//! JSON-RPC) and on the embedded revm chain. Every test performs the attack and asserts
//! that the contracts refuse it.

mod support;

use alloy::primitives::{keccak256, Address, Bytes, U256};
use alloy::sol_types::SolCall;
use support::*;
use zkmed_chain::backend::{Backend, Registry, Request};
use zkmed_chain::bindings::AttestationVerifier;
use zkmed_chain::client::{fr_to_u256, to_contract_attestation};
use zkmed_core::Fr;
use zkmed_prover::IdentitySecret;

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
// One-time claims stay one-time across recovery.

fn claims_survive_recovery<N: Net>(net: &N, fx: &Fixture) {
    let mut s = suite(net);
    let gs = s.guardian_addresses();
    s.gov
        .install_verifier(
            "exists-v2",
            &zkmed_chain::bindings::ExistsV2Verifier::BYTECODE,
        )
        .unwrap();
    let p = s.patient.backend_account();
    let token = s.hospital.mint(p, &fx.id.commitment(), &gs, 2).unwrap();
    s.hospital
        .anchor(token, &fx.opening.commitment().unwrap(), false)
        .unwrap();
    let (_, scope) = challenge_and_scope();
    let nonce = U256::from(7);
    let challenge = s.insurer.submitter_challenge(nonce).unwrap();
    let (query, att) = prove_in_scope(&fx.keys, fx, "has-organ-transplant", challenge, scope);
    let qh = query.hash().unwrap();
    s.insurer
        .consume_with_nonce(token, &att, &qh, nonce, &scope, 0)
        .unwrap();
    // The patient recovers to a new identity secret (so new nullifiers); the hospital
    // anchors the records committed to the new identity.
    let id2 = IdentitySecret::from_fr(Fr::from(9999u64));
    let opening2 = opening_for(&id2, 8);
    s.guardians[0]
        .propose_recovery(token, s.new_owner, &id2.commitment())
        .unwrap();
    s.guardians[1]
        .approve_recovery(token, s.new_owner, &id2.commitment())
        .unwrap();
    s.hospital
        .anchor(token, &opening2.commitment().unwrap(), true)
        .unwrap();
    let (_, att2) = prove_with(
        &fx.keys,
        &opening2,
        &id2,
        "has-organ-transplant",
        challenge,
        scope,
    );
    assert_ne!(att2.public.nullifier, att.public.nullifier);
    assert!(s.insurer.check(token, &att2, &qh, &challenge, 0).unwrap());
    // The same claim in the same scope, with the fresh nullifier: still spent, whichever
    // way it is checked.
    contains(
        s.insurer
            .consume_with_nonce(token, &att2, &qh, nonce, &scope, 0),
        "AlreadyConsumed",
    );
    s.stranger.prepare(token, "exists-v2").unwrap();
    let request = Request {
        circuit: "exists-v2".into(),
        query_hash: qh,
        challenge,
        scope,
    };
    s.insurer.register_request(&request).unwrap();
    assert!(s
        .insurer
        .check_prepared(token, &att2, &request, 3600)
        .unwrap());
    contains(
        s.insurer
            .consume_prepared_with_nonce(token, &att2, &request, nonce, 3600),
        "AlreadyConsumed",
    );
    // Another scope is another claim.
    let other = scope + Fr::from(1u64);
    let (_, att3) = prove_with(
        &fx.keys,
        &opening2,
        &id2,
        "has-organ-transplant",
        challenge,
        other,
    );
    s.insurer
        .consume_with_nonce(token, &att3, &qh, nonce, &other, 0)
        .unwrap();
}

#[test]
fn attack_recovery_gives_a_fresh_nullifier_for_a_spent_scope() {
    let fx = fixture();
    claims_survive_recovery(&OnAnvil::start(), &fx);
    claims_survive_recovery(&Embedded::in_memory(), &fx);
}

// --------------------------------------------------------------------------------------
// An issuer anchors only for patients who authorised it.

fn anchoring_needs_the_patients_authorisation<N: Net>(net: &N) {
    let mut s = suite(net);
    let p = s.patient.backend_account();
    let token = s.hospital.mint(p, &Fr::from(1001u64), &[], 0).unwrap();
    // The minting issuer is authorised by default.
    s.hospital.anchor(token, &Fr::from(11u64), false).unwrap();
    // Issuer B, accredited but never authorised by this patient, replaces the root.
    contains(
        s.issuer_b.anchor(token, &Fr::from(666u64), true),
        "NotAuthorisedByPatient",
    );
    contains(
        s.issuer_b.anchor_batch(&[(token, Fr::from(667u64))], true),
        "NotAuthorisedByPatient",
    );
    assert_eq!(s.gov.current_root(token).unwrap(), Some(Fr::from(11u64)));
    // Only the patient (the token's owner) authorises.
    let b = s.issuer_b.backend_account();
    contains(
        s.issuer_b.set_issuer_authorised(token, b, true),
        "NotAllowed",
    );
    contains(
        s.hospital.set_issuer_authorised(token, b, true),
        "NotAllowed",
    );
    assert!(!s.gov.is_authorised(token, b).unwrap());
    // Authorised by the patient, B anchors (one root, or in a batch)...
    s.patient.set_issuer_authorised(token, b, true).unwrap();
    assert!(s.gov.is_authorised(token, b).unwrap());
    s.issuer_b.anchor(token, &Fr::from(12u64), true).unwrap();
    s.issuer_b
        .anchor_batch(&[(token, Fr::from(13u64))], true)
        .unwrap();
    assert_eq!(s.gov.current_root(token).unwrap(), Some(Fr::from(13u64)));
    // ...until the patient withdraws it.
    s.patient.set_issuer_authorised(token, b, false).unwrap();
    contains(
        s.issuer_b.anchor(token, &Fr::from(14u64), true),
        "NotAuthorisedByPatient",
    );
    // The minting issuer's default authorisation is withdrawn the same way, and given back.
    let h = s.hospital.backend_account();
    assert!(s.gov.is_authorised(token, h).unwrap());
    s.patient.set_issuer_authorised(token, h, false).unwrap();
    contains(
        s.hospital.anchor(token, &Fr::from(15u64), true),
        "NotAuthorisedByPatient",
    );
    s.patient.set_issuer_authorised(token, h, true).unwrap();
    s.hospital.anchor(token, &Fr::from(16u64), true).unwrap();
    assert_eq!(s.gov.current_root(token).unwrap(), Some(Fr::from(16u64)));
    // Authorisation is not accreditation: a suspended issuer still cannot anchor.
    s.gov.suspend(h, "audit").unwrap();
    contains(
        s.hospital.anchor(token, &Fr::from(17u64), true),
        "NotAccreditedIssuer",
    );
}

#[test]
fn attack_an_unauthorised_issuer_replaces_a_patients_root() {
    anchoring_needs_the_patients_authorisation(&OnAnvil::start());
    anchoring_needs_the_patients_authorisation(&Embedded::in_memory());
}

// --------------------------------------------------------------------------------------
// A suspended issuer can neither anchor nor revoke.

fn suspended_issuer_is_powerless<N: Net>(net: &N) {
    let mut s = suite(net);
    let p = s.patient.backend_account();
    let idc = Fr::from(1001u64);
    let token = s.hospital.mint(p, &idc, &[], 0).unwrap();
    s.hospital.anchor(token, &Fr::from(11u64), false).unwrap();
    let h = s.hospital.backend_account();
    s.gov.suspend(h, "audit").unwrap();
    contains(
        s.hospital.anchor(token, &Fr::from(12u64), true),
        "NotAccreditedIssuer",
    );
    contains(
        s.hospital.anchor_batch(&[(token, Fr::from(13u64))], true),
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

// --------------------------------------------------------------------------------------
// checkPrepared answers only the request its caller registered.

/// A token minted, anchored and prepared for `exists-v2`, and a real proof for it.
fn prepared_token<B: Backend>(
    s: &mut Suite<B>,
    fx: &Fixture,
    challenge: Fr,
    scope: Fr,
) -> (
    U256,
    zkmed_core::query::Query,
    zkmed_core::attestation::Attestation,
) {
    s.gov
        .install_verifier(
            "exists-v2",
            &zkmed_chain::bindings::ExistsV2Verifier::BYTECODE,
        )
        .unwrap();
    let p = s.patient.backend_account();
    let token = s.hospital.mint(p, &fx.id.commitment(), &[], 0).unwrap();
    s.hospital
        .anchor(token, &fx.opening.commitment().unwrap(), false)
        .unwrap();
    s.stranger.prepare(token, "exists-v2").unwrap();
    let (query, att) = prove_in_scope(&fx.keys, fx, "has-organ-transplant", challenge, scope);
    (token, query, att)
}

fn prepared_requests_are_their_registrants<N: Net>(net: &N, fx: &Fixture) {
    let mut s = suite(net);
    let (challenge, scope) = challenge_and_scope();
    let (token, query, att) = prepared_token(&mut s, fx, challenge, scope);
    let request = Request {
        circuit: "exists-v2".into(),
        query_hash: query.hash().unwrap(),
        challenge,
        scope,
    };
    s.insurer.register_request(&request).unwrap();
    assert!(s
        .insurer
        .check_prepared(token, &att, &request, 3600)
        .unwrap());
    // Someone else's request answers nobody else.
    contains(
        s.stranger.check_prepared(token, &att, &request, 3600),
        "UnknownRequest",
    );
    contains(
        s.stranger
            .check_prepared_as_transaction(token, &att, &request, 3600),
        "UnknownRequest",
    );
    // Registering it for itself works.
    s.stranger.register_request(&request).unwrap();
    assert!(s
        .stranger
        .check_prepared(token, &att, &request, 3600)
        .unwrap());
}

#[test]
fn attack_check_prepared_answers_someone_elses_request() {
    let fx = fixture();
    prepared_requests_are_their_registrants(&OnAnvil::start(), &fx);
    prepared_requests_are_their_registrants(&Embedded::in_memory(), &fx);
}

// --------------------------------------------------------------------------------------
// A consume is bound to its submitter: a front-runner cannot burn the patient's claim.

fn consume_is_bound_to_its_submitter<N: Net>(net: &N, fx: &Fixture) {
    let mut s = suite(net);
    let (_, scope) = challenge_and_scope();
    // The insurer's challenge commits to its account and a nonce it chose.
    let nonce = U256::from(42);
    let challenge = s.insurer.submitter_challenge(nonce).unwrap();
    let (token, query, att) = prepared_token(&mut s, fx, challenge, scope);
    let qh = query.hash().unwrap();
    let d = s.gov.deployment;
    // The insurer's pending consume, as a front-runner sees it in the mempool.
    let calldata: Bytes = AttestationVerifier::consumeCall {
        tokenId: token,
        a: to_contract_attestation(&att).unwrap(),
        expectedQueryHash: fr_to_u256(&qh),
        nonce,
        expectedScope: fr_to_u256(&scope),
        window: 0,
    }
    .abi_encode()
    .into();
    contains(
        s.stranger
            .backend
            .send("consume (replayed)", Some(d.verifier), calldata.clone()),
        "ChallengeMismatch",
    );
    assert!(!s.insurer.consumed(&scope, token).unwrap());
    // The same through the prepared path: the replayed consumePrepared names a request
    // the front-runner did not register, with a challenge that is not its own.
    let request = Request {
        circuit: "exists-v2".into(),
        query_hash: qh,
        challenge,
        scope,
    };
    s.insurer.register_request(&request).unwrap();
    s.stranger.register_request(&request).unwrap();
    let prepared = AttestationVerifier::consumePreparedCall {
        tokenId: token,
        circuit: zkmed_chain::client::circuit_id("exists-v2"),
        a: prepared_attestation(&mut s.insurer, token, &att, &request).into(),
        queryHash: fr_to_u256(&qh),
        nonce,
        scope: fr_to_u256(&scope),
        window: 3600,
    }
    .abi_encode();
    contains(
        s.stranger.backend.send(
            "consumePrepared (replayed)",
            Some(d.verifier),
            prepared.clone().into(),
        ),
        "RequestMismatch",
    );
    // The patient's claim is still there for the insurer.
    s.insurer
        .backend
        .send("consume", Some(d.verifier), calldata)
        .unwrap();
    assert!(s.insurer.consumed(&scope, token).unwrap());
    contains(
        s.insurer
            .backend
            .send("consumePrepared", Some(d.verifier), prepared.into()),
        "AlreadyConsumed",
    );
}

/// `att` as the contracts take it for a prepared check of `request` by `r`'s account.
fn prepared_attestation<B: Backend>(
    r: &mut Registry<B>,
    token: U256,
    att: &zkmed_core::attestation::Attestation,
    request: &Request,
) -> zkmed_chain::bindings::PreparedAttestation {
    use zkmed_chain::bindings::{AttestationVerifier as AV, GeneratedVerifier as GV};
    let d = r.deployment;
    let verifier = r.verifier_of("exists-v2").unwrap();
    let read = |r: &mut Registry<B>, to: Address, data: Vec<u8>| {
        r.backend.call("read", to, data.into()).unwrap()
    };
    let token_term = AV::tokenTermCall::abi_decode_returns(&read(
        r,
        d.verifier,
        AV::tokenTermCall {
            tokenId: token,
            circuit: zkmed_chain::client::circuit_id("exists-v2"),
        }
        .abi_encode(),
    ))
    .unwrap();
    let request_term = GV::requestTermCall::abi_decode_returns(&read(
        r,
        verifier,
        GV::requestTermCall {
            queryHash: fr_to_u256(&request.query_hash),
            challenge: fr_to_u256(&request.challenge),
            scope: fr_to_u256(&request.scope),
        }
        .abi_encode(),
    ))
    .unwrap();
    let full = to_contract_attestation(att).unwrap();
    zkmed_chain::bindings::PreparedAttestation {
        request: request.id(),
        tokenTerm: token_term,
        requestTerm: request_term,
        nullifier: full.nullifier,
        answer: full.answer,
        proof: full.proof,
    }
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

#[test]
fn attack_a_front_runner_burns_a_patients_claim() {
    let fx = fixture();
    consume_is_bound_to_its_submitter(&OnAnvil::start(), &fx);
    consume_is_bound_to_its_submitter(&Embedded::in_memory(), &fx);
}

// --------------------------------------------------------------------------------------
// No public function skips the checks its name promises.

#[test]
fn attack_verify_proof_with_an_unchecked_term() {
    use zkmed_chain::bindings::ExistsV2Verifier;
    use zkmed_chain::embedded::EmbeddedChain;
    let fx = fixture();
    let (_, att) = prove_transplant(&fx);
    let mut chain = EmbeddedChain::in_memory();
    let from = Address::repeat_byte(0x42);
    let v = chain
        .transact(
            "deploy",
            from,
            None,
            with_controller(&ExistsV2Verifier::BYTECODE, from),
        )
        .unwrap()
        .created
        .unwrap();
    let (proof, input) = zkmed_verifier::evm_calldata(&att).unwrap();
    let proof: [U256; 8] = proof.map(|s| s.parse().unwrap());
    let input: [U256; 7] = input.map(|s| s.parse().unwrap());
    // The term of every input but the nullifier, answer YES included...
    let mut known = input;
    known[5] = U256::ZERO;
    let c = ExistsV2Verifier::inputTermCall {
        input: known,
        withConstant: true,
    };
    let term = ExistsV2Verifier::inputTermCall::abi_decode_returns(
        &chain.call("inputTerm", v, c.abi_encode().into()).unwrap(),
    )
    .unwrap();
    // ...passed as the "term" of a statement whose answer is NO.
    let mut forged = [U256::ZERO; 7];
    forged[5] = input[5];
    let mut data =
        keccak256("verifyProofWithTermUnchecked(uint256[8],uint256[2],uint256[7])")[..4].to_vec();
    for w in proof.iter().chain(&term).chain(&forged) {
        data.extend_from_slice(&w.to_be_bytes::<32>());
    }
    let r = chain.call("verifyProofWithTermUnchecked", v, data.into());
    assert!(
        r.is_err(),
        "the verifier answered {:?} for a statement it never checked",
        r.map(|b| U256::from_be_slice(&b))
    );
    // No such function in any generated verifier's ABI.
    for name in ["ExistsV2Verifier", "Scan64V2Verifier"] {
        let text = std::fs::read_to_string(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../contracts/artifacts/{name}.json")),
        )
        .unwrap();
        assert!(!text.contains("Unchecked"), "{name} still exposes it");
    }
}
