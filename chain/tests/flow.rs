//! The whole flow, the same code on both backends: a REAL node (anvil from npm, pinned in
//! `tools/solc`, on a free loopback port) over JSON-RPC, and the embedded revm chain
//! (persisted; reopened afterwards). Deploy, accredit a hospital, mint the soul-bound token,
//! anchor, prove, verify in Rust against the chain AND on chain through the generated
//! Solidity verifier with the same proof; correction, soul-binding, unaccredited and
//! suspended issuers, revocation, guardian recovery, batch anchoring. The gas of every
//! call is measured on both and pinned.

mod support;

use alloy::primitives::{Address, B256, U256};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::*;
use zkmed_chain::backend::{Backend, EmbeddedBackend, Registry, Request};
use zkmed_chain::embedded::EmbeddedChain;
use zkmed_chain::{Deployment, Freshness};
use zkmed_circuits::CircuitId;
use zkmed_core::Fr;
use zkmed_verifier::{KeySet, SourceError, VerifyError};

/// Gas of each call, in the order measured.
type Gas = Vec<(&'static str, u64)>;

/// The committed verifier contracts are generated from exactly the test keys.
/// `ZKMED_REGENERATE=1 cargo test -p zkmed-chain --test flow committed_verifiers` rewrites
/// them and recompiles the artifacts instead (after a circuit change), then rerun the tests.
#[test]
fn committed_verifiers_match_the_test_keys() {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists, CircuitId::Scan64]);
    let vkeys = KeySet::load_manifest_dir(keys.dir()).unwrap();
    assert_committed_verifier(&vkeys, "exists-v2", "ExistsV2Verifier");
    assert_committed_verifier(&vkeys, "scan64-v2", "Scan64V2Verifier");
    if regenerating() {
        // The test binaries embed the artifacts when they are built: rerun them.
        compile_artifacts();
    }
}

/// Every generated verifier has the same interface (the Rust side calls whichever is
/// registered through one binding); only the verifying key's constants differ.
#[test]
fn generated_verifiers_share_one_abi() {
    let abi = |name: &str| {
        let text = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../contracts/artifacts/{name}.json")),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["abi"].clone()
    };
    let (a, b) = (abi("ExistsV2Verifier"), abi("Scan64V2Verifier"));
    assert!(a.as_array().is_some_and(|f| f.len() > 10), "{a}");
    assert_eq!(a, b);
}

fn flow<N: Net>(net: &N, fx: &Fixture) -> (Deployment, Gas) {
    let mut gas: Gas = vec![];
    let mut gov = Registry::deploy(net.account(0)).unwrap();
    let d = gov.deployment;
    let at = |i: usize| Registry::attach(net.account(i), d);
    let (mut hospital, mut insurer, mut patient, mut stranger) = (at(1), at(2), at(3), at(4));
    let (mut guardian1, mut guardian2) = (at(5), at(6));
    let new_address = at(7).backend_account();
    let (verifier, g) = gov
        .install_verifier(
            "exists-v2",
            &zkmed_chain::bindings::ExistsV2Verifier::BYTECODE,
        )
        .unwrap();
    assert_ne!(verifier, Address::ZERO);
    gas.push(("deploy ExistsV2Verifier + registerCircuit", g));
    assert_eq!(gov.verifier_of("exists-v2").unwrap(), verifier);
    contains(gov.verifier_of("scan64-v2"), "UnknownCircuit");
    // A verifier that takes its snapshots from someone else is not registered.
    {
        use alloy::sol_types::SolCall;
        use zkmed_chain::bindings::{AttestationVerifier, GeneratedVerifier};
        let init = with_controller(&GeneratedVerifier::BYTECODE, stranger.backend_account());
        let foreign = gov
            .backend
            .send("deploy verifier", None, init)
            .unwrap()
            .created
            .unwrap();
        let c = AttestationVerifier::registerCircuitCall {
            circuit: alloy::primitives::keccak256(b"exists-v2-foreign"),
            verifier: foreign,
        };
        contains(
            gov.backend
                .send("registerCircuit", Some(d.verifier), c.abi_encode().into()),
            "WrongController",
        );
    }

    // Only accredited issuers mint and anchor; governance accredits.
    let e = stranger
        .mint(patient.backend_account(), &fx.id.commitment(), &[], 0)
        .unwrap_err();
    contains(e, "NotAccreditedIssuer");
    gas.push((
        "accredit",
        gov.accredit(hospital.backend_account(), "St. Example")
            .unwrap(),
    ));
    let e = stranger
        .accredit(stranger.backend_account(), "self")
        .unwrap_err();
    contains(e, "OwnableUnauthorizedAccount");
    let (g1, g2) = (guardian1.backend_account(), guardian2.backend_account());
    let token = hospital
        .mint(patient.backend_account(), &fx.id.commitment(), &[g1, g2], 2)
        .unwrap();
    gas.push(("mint (2 guardians)", hospital.last_gas));
    assert_eq!(gov.owner_of(token).unwrap(), patient.backend_account());
    let rc = fx.opening.commitment().unwrap();
    gas.push(("anchor", hospital.anchor(token, &rc, false).unwrap()));
    let e = stranger.anchor(token, &rc, false).unwrap_err();
    contains(e, "NotAccreditedIssuer");

    // Prove, then verify the same proof in Rust against the chain and on chain.
    let (query, att) = prove_transplant(fx);
    let qh = query.hash().unwrap();
    let (challenge, scope) = challenge_and_scope();
    let current = net.source(d, Freshness::Current, Duration::ZERO);
    let hour = net.source(d, Freshness::Within(3600), Duration::ZERO);
    let cached = net.source(d, Freshness::Current, Duration::from_secs(600));
    zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*current)
        .expect("verifies in Rust against the chain");
    zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*cached).unwrap();
    assert!(insurer.check(token, &att, &qh, &challenge, 0).unwrap());
    gas.push((
        "check, as a transaction (registries + pairing)",
        insurer
            .check_as_transaction(token, &att, &qh, &challenge, 0)
            .unwrap(),
    ));
    // A one-time claim: the challenge commits to the insurer's account and a nonce, so
    // only the insurer can consume it (`attacks.rs` replays it from another account).
    let nonce = U256::from(1);
    let claim_challenge = insurer.submitter_challenge(nonce).unwrap();
    let (_, claim) = prove_in_scope(&fx.keys, fx, "has-organ-transplant", claim_challenge, scope);
    contains(
        insurer.consume_with_nonce(token, &att, &qh, nonce, &scope, 0),
        "ChallengeMismatch",
    );
    assert!(!insurer.consumed(&scope, token).unwrap());
    gas.push((
        "consume (check + spend the token's claim in the scope)",
        insurer
            .consume_with_nonce(token, &claim, &qh, nonce, &scope, 0)
            .unwrap(),
    ));
    assert!(insurer.consumed(&scope, token).unwrap());
    contains(
        insurer.consume_with_nonce(token, &claim, &qh, nonce, &scope, 0),
        "AlreadyConsumed",
    );
    contains(
        insurer.consume_with_nonce(token, &claim, &qh, nonce, &(scope + Fr::from(1u64)), 0),
        "ScopeMismatch",
    );

    // Prepared checks: the token's and the request's part of vk_x precomputed on chain,
    // one scalar multiplication per check.
    let request = Request {
        circuit: "exists-v2".into(),
        query_hash: qh,
        challenge,
        scope,
    };
    contains(
        insurer.check_prepared(token, &att, &request, 3600),
        "UnknownRequest",
    );
    gas.push((
        "registerRequest",
        insurer.register_request(&request).unwrap(),
    ));
    contains(
        insurer.check_prepared(token, &att, &request, 3600),
        "NotPrepared",
    );
    // Only the AttestationVerifier, after its registry checks, stores snapshots.
    {
        use alloy::sol_types::SolCall;
        let forged = zkmed_chain::bindings::GeneratedVerifier::storeSnapshotCall {
            tokenId: token,
            recordCommitment: U256::from(1),
            identityCommitment: U256::from(2),
        };
        contains(
            stranger
                .backend
                .send("storeSnapshot", Some(verifier), forged.abi_encode().into()),
            "NotController",
        );
    }
    gas.push(("prepare", stranger.prepare(token, "exists-v2").unwrap()));
    assert!(insurer.check_prepared(token, &att, &request, 3600).unwrap());
    let g = insurer
        .check_prepared_as_transaction(token, &att, &request, 3600)
        .unwrap();
    gas.push(("checkPrepared, as a transaction (one attestation)", g));
    let mut flipped = att.clone();
    flipped.public.answer = false;
    contains(
        insurer.check_prepared(token, &flipped, &request, 3600),
        "InvalidProof",
    );
    let mut other_nullifier = att.clone();
    other_nullifier.public.nullifier += Fr::from(1u64);
    contains(
        insurer.check_prepared(token, &other_nullifier, &request, 3600),
        "InvalidProof",
    );
    // A request for another challenge: registered, but the proof is not for it.
    let other_request = Request {
        challenge: challenge + Fr::from(1u64),
        ..request.clone()
    };
    insurer.register_request(&other_request).unwrap();
    contains(
        insurer.check_prepared(token, &att, &other_request, 3600),
        "InvalidProof",
    );
    // The claim `consume` spent is spent for the prepared path too; a proof in a new
    // scope is consumed once.
    let claim_request = Request {
        challenge: claim_challenge,
        ..request.clone()
    };
    insurer.register_request(&claim_request).unwrap();
    contains(
        insurer.consume_prepared_with_nonce(token, &claim, &claim_request, nonce, 3600),
        "AlreadyConsumed",
    );
    // A request whose challenge is not the insurer's for the nonce is refused before it
    // is sent (and the contract would revert with RequestMismatch).
    contains(
        insurer.consume_prepared_with_nonce(token, &att, &request, nonce, 3600),
        "bound to its submitter",
    );
    let nonce2 = U256::from(2);
    let challenge2 = insurer.submitter_challenge(nonce2).unwrap();
    let (_, att2) = prove_in_scope(
        &fx.keys,
        fx,
        "has-organ-transplant",
        challenge2,
        scope + Fr::from(100u64),
    );
    let request2 = Request {
        scope: scope + Fr::from(100u64),
        challenge: challenge2,
        ..request.clone()
    };
    insurer.register_request(&request2).unwrap();
    gas.push((
        "consumePrepared (checkPrepared + spend the token's claim)",
        insurer
            .consume_prepared_with_nonce(token, &att2, &request2, nonce2, 3600)
            .unwrap(),
    ));
    contains(
        insurer.consume_prepared_with_nonce(token, &att2, &request2, nonce2, 3600),
        "AlreadyConsumed",
    );
    // The snapshot is only as good as the caller's window: two seconds later, a window of
    // 0 refuses it (a transaction, so it runs in a new block).
    std::thread::sleep(Duration::from_millis(2100));
    contains(
        insurer.check_prepared_as_transaction(token, &att, &request, 0),
        "SnapshotTooOld",
    );

    // Wrong challenge, wrong question, a tampered proof, a flipped answer: rejected on
    // chain with the reason (aliased inputs: `generated_verifier_rejects_...` below).
    contains(
        insurer.check(token, &att, &qh, &Fr::from(778u64), 0),
        "ChallengeMismatch",
    );
    contains(
        insurer.check(token, &att, &(qh + Fr::from(1u64)), &challenge, 0),
        "QueryMismatch",
    );
    let mut bad = att.clone();
    let mut bytes = hex::decode(&bad.proof).unwrap();
    bytes[3] ^= 1;
    bad.proof = hex::encode(bytes);
    assert!(insurer.check(token, &bad, &qh, &challenge, 0).is_err());
    let mut flipped = att.clone();
    flipped.public.answer = false;
    contains(
        insurer.check(token, &flipped, &qh, &challenge, 0),
        "InvalidProof",
    );

    // A correction: under "current" the old root is refused, on chain and in Rust; it
    // was current within the last hour.
    gas.push((
        "anchor (correction)",
        hospital.anchor(token, &Fr::from(999u64), true).unwrap(),
    ));
    contains(
        insurer.check(token, &att, &qh, &challenge, 0),
        "RootNotCurrent",
    );
    let e = zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*current).unwrap_err();
    assert!(
        matches!(e, VerifyError::Commitment(SourceError::NotCurrent { .. })),
        "{e}"
    );
    // Preparing the new root replaces the snapshot: the old root's proof is refused.
    stranger.prepare(token, "exists-v2").unwrap();
    contains(
        insurer.check_prepared(token, &att, &request, 3600),
        "InvalidProof",
    );
    // The cache keeps an accepted pair for its max_age: that is its documented rule.
    zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*cached).unwrap();
    assert!(insurer.check(token, &att, &qh, &challenge, 3600).unwrap());
    zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*hour).unwrap();

    // Soul-bound: no transfer, no approval.
    contains(patient.transfer(token, new_address), "Soulbound");

    // A suspended issuer's roots are refused, on chain and in Rust.
    gas.push((
        "suspend",
        gov.suspend(hospital.backend_account(), "audit").unwrap(),
    ));
    contains(
        insurer.check(token, &att, &qh, &challenge, 3600),
        "IssuerNotAccredited",
    );
    let e = zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*hour).unwrap_err();
    assert!(e.to_string().contains("not accredited"), "{e}");
    contains(hospital.anchor(token, &rc, false), "NotAccreditedIssuer");
    contains(stranger.prepare(token, "exists-v2"), "IssuerNotAccredited");
    gov.accredit(hospital.backend_account(), "St. Example (reinstated)")
        .unwrap();
    assert!(insurer.check(token, &att, &qh, &challenge, 3600).unwrap());

    // Recovery by 2 of 2 guardians: new owner, new identity; the old one is refused.
    let new_id = Fr::from(5151u64);
    contains(
        stranger.propose_recovery(token, new_address, &new_id),
        "NotGuardian",
    );
    gas.push((
        "proposeRecovery (guardian 1 of 2)",
        guardian1
            .propose_recovery(token, new_address, &new_id)
            .unwrap(),
    ));
    assert_eq!(gov.owner_of(token).unwrap(), patient.backend_account());
    gas.push((
        "approveRecovery (guardian 2 of 2: re-binds)",
        guardian2
            .approve_recovery(token, new_address, &new_id)
            .unwrap(),
    ));
    assert_eq!(gov.owner_of(token).unwrap(), new_address);
    assert_eq!(gov.token_of_commitment(&new_id).unwrap(), Some(token));
    assert_eq!(gov.token_of_commitment(&fx.id.commitment()).unwrap(), None);
    contains(
        insurer.check(token, &att, &qh, &challenge, 3600),
        "IdentityMismatch",
    );
    let e = zkmed_verifier::verify(&fx.vkeys, &att, &query, &challenge, &*hour).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::Commitment(SourceError::UnknownIdentity { .. })
        ),
        "{e}"
    );

    // Revocation: the token is no longer active anywhere.
    let other = hospital
        .mint(stranger.backend_account(), &Fr::from(8080u64), &[], 0)
        .unwrap();
    hospital.anchor(other, &Fr::from(1u64), false).unwrap();
    gas.push(("revoke", hospital.revoke(other).unwrap()));
    contains(stranger.prepare(other, "exists-v2"), "InactiveIdentity");
    contains(stranger.prepare(other, "scan64-v2"), "UnknownCircuit");
    assert_eq!(hospital.identity_commitment(other).unwrap(), None);
    contains(
        hospital.anchor(other, &Fr::from(2u64), false),
        "InactiveIdentity",
    );
    let e = current
        .check_commitment(&Fr::from(8080u64), &Fr::from(1u64))
        .unwrap_err();
    assert!(matches!(e, SourceError::Policy(_)), "{e}");

    // Batch anchoring: gas per patient at 1, 10 and 100 patients in one transaction.
    let mut tokens = vec![];
    for i in 0..100u64 {
        let p = Address::from_word(B256::from(U256::from(1000 + i)));
        tokens.push(hospital.mint(p, &Fr::from(10_000 + i), &[], 0).unwrap());
    }
    for (n, label) in [
        (1usize, "anchorBatch, 1 patient (per patient)"),
        (10, "anchorBatch, 10 patients (per patient)"),
        (100, "anchorBatch, 100 patients (per patient)"),
    ] {
        let items: Vec<_> = tokens[..n]
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, Fr::from(50_000 + (n * 1000 + i) as u64)))
            .collect();
        let g = hospital.anchor_batch(&items, false).unwrap();
        gas.push((label, g / n as u64));
        for (t, r) in [&items[0], &items[n - 1]] {
            assert_eq!(gov.current_root(*t).unwrap(), Some(*r));
        }
    }
    (d, gas)
}

/// Gas pinned per call (embedded revm; anvil must agree within 1%). A change to the
/// contracts that moves one of these by more than 2% must update the pin and the README.
const PINNED: &[(&str, u64)] = &[
    ("deploy ExistsV2Verifier + registerCircuit", 1_144_042),
    ("accredit", 146_094),
    ("mint (2 guardians)", 638_243),
    ("anchor", 105_920),
    ("check, as a transaction (registries + pairing)", 286_771),
    (
        "consume (check + spend the token's claim in the scope)",
        312_700,
    ),
    ("registerRequest", 68_750),
    ("prepare", 96_001),
    ("checkPrepared, as a transaction (one attestation)", 225_832),
    (
        "consumePrepared (checkPrepared + spend the token's claim)",
        259_010,
    ),
    ("anchor (correction)", 88_484),
    ("suspend", 54_752),
    ("proposeRecovery (guardian 1 of 2)", 119_498),
    ("approveRecovery (guardian 2 of 2: re-binds)", 832_683),
    ("revoke", 713_946),
    ("anchorBatch, 1 patient (per patient)", 106_743),
    ("anchorBatch, 10 patients (per patient)", 77_424),
    ("anchorBatch, 100 patients (per patient)", 74_679),
];

/// The bare generated `verifyProof` as a transaction (embedded revm).
const BARE_VERIFY_PROOF_GAS: u64 = 251_313;

#[test]
fn full_flow_on_anvil_and_on_the_embedded_chain() {
    let fx = fixture();
    let (_, on_anvil) = flow(&OnAnvil::start(), &fx);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chain.json");
    let chain = Arc::new(Mutex::new(EmbeddedChain::open(&file).unwrap()));
    let (d, embedded) = flow(&Embedded(chain.clone()), &fx);
    drop(chain);
    // A restart keeps the state.
    let reopened = Embedded(Arc::new(Mutex::new(EmbeddedChain::open(&file).unwrap())));
    let mut r = Registry::attach(reopened.account(0), d);
    assert_eq!(
        r.current_root(U256::from(1)).unwrap(),
        Some(Fr::from(999u64))
    );
    assert_eq!(
        r.token_of_commitment(&Fr::from(5151u64)).unwrap(),
        Some(U256::from(1))
    );
    assert!(r.is_accredited(Address::repeat_byte(0x11)).unwrap());

    println!("| call | gas (anvil) | gas (embedded revm) |\n|---|---|---|");
    for ((call, a), (_, e)) in on_anvil.iter().zip(&embedded) {
        println!("| {call} | {a} | {e} |");
    }
    for ((call, a), (_, e)) in on_anvil.iter().zip(&embedded) {
        let diff = a.abs_diff(*e) as f64 / *e as f64;
        assert!(diff < 0.01, "{call}: anvil {a} vs embedded {e}");
    }
    assert_eq!(
        PINNED.len(),
        embedded.len(),
        "every measured call is pinned"
    );
    // The target: one attestation verified on chain for at most 230,000 gas, on both.
    for gas in [&on_anvil, &embedded] {
        let (_, g) = gas
            .iter()
            .find(|(c, _)| *c == "checkPrepared, as a transaction (one attestation)")
            .unwrap();
        assert!(*g <= 230_000, "one on-chain verification costs {g} gas");
    }
    for (call, pinned) in PINNED {
        let (_, e) = embedded.iter().find(|(c, _)| c == call).unwrap();
        let diff = e.abs_diff(*pinned) as f64 / *pinned as f64;
        assert!(diff < 0.02, "{call}: {e} gas, pinned {pinned}");
    }
}

/// The generated verifier alone, called with raw words (what a caller that bypasses
/// `AttestationVerifier` sends): the honest proof verifies; every public input shifted by
/// `r` (the same value mod `r`), an answer other than 0 or 1, non-canonical or off-curve
/// proof coordinates, and each input changed by one are all refused.
#[test]
fn generated_verifier_rejects_aliased_inputs_and_malformed_proofs() {
    use ark_ff::{BigInteger, PrimeField};
    use zkmed_chain::bindings::ExistsV2Verifier;
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
    // The bare verifier's gas as a transaction (base and calldata included), pinned to 2%.
    {
        use alloy::sol_types::SolCall;
        let c = ExistsV2Verifier::verifyProofCall { proof, input };
        let g = chain
            .transact("verifyProof", from, Some(v), c.abi_encode().into())
            .unwrap()
            .gas_used;
        println!("bare verifyProof as a transaction: {g} gas");
        let pinned = BARE_VERIFY_PROOF_GAS;
        assert!(
            g.abs_diff(pinned) as f64 / (pinned as f64) < 0.02,
            "{g} gas, pinned {pinned}"
        );
    }
    let mut verify = |proof: [U256; 8], input: [U256; 7]| -> bool {
        use alloy::sol_types::SolCall;
        let c = ExistsV2Verifier::verifyProofCall { proof, input };
        let out = chain
            .call("verifyProof", v, c.abi_encode().into())
            .expect("verifyProof returns false, never reverts");
        ExistsV2Verifier::verifyProofCall::abi_decode_returns(&out).unwrap()
    };
    assert!(verify(proof, input), "the honest proof verifies");

    let r = U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
    let q: U256 = "21888242871839275222246405745257275088696311157297823662689037894645226208583"
        .parse()
        .unwrap();
    for i in 0..7 {
        let mut aliased = input;
        aliased[i] += r;
        assert!(!verify(proof, aliased), "input {i} + r must be refused");
        let mut off = input;
        off[i] = if off[i] == U256::ZERO {
            U256::from(1)
        } else {
            off[i] - U256::from(1)
        };
        assert!(!verify(proof, off), "input {i} changed must be refused");
    }
    let mut two = input;
    two[6] = U256::from(2);
    assert!(!verify(proof, two), "an answer of 2 is refused");
    for i in 0..8 {
        let mut shifted = proof;
        shifted[i] += q;
        assert!(
            !verify(shifted, input),
            "proof word {i} + q must be refused"
        );
        let mut bumped = proof;
        bumped[i] += U256::from(1);
        assert!(
            !verify(bumped, input),
            "proof word {i} + 1 (off the curve) refused"
        );
    }
    // A.y replaced by q - A.y is -A: a valid point, but not the proof.
    let mut neg = proof;
    neg[1] = q - neg[1];
    assert!(!verify(neg, input), "-A is refused");

    // `inputTerm` refuses a non-canonical input (what the prepared checks store is made
    // from canonical inputs only). The term path itself is checked through
    // `checkPrepared` below: no public function verifies with a caller's term unchecked.
    use alloy::sol_types::SolCall;
    let mut first5 = input;
    first5[5] = U256::ZERO;
    first5[6] = U256::ZERO;
    let term_call = |chain: &mut EmbeddedChain, input: [U256; 7]| {
        let c = ExistsV2Verifier::inputTermCall {
            input,
            withConstant: true,
        };
        chain
            .call("inputTerm", v, c.abi_encode().into())
            .map(|out| ExistsV2Verifier::inputTermCall::abi_decode_returns(&out).unwrap())
    };
    term_call(&mut chain, first5).unwrap();
    let mut aliased5 = first5;
    aliased5[2] += r;
    assert!(
        term_call(&mut chain, aliased5).is_err(),
        "inputTerm refuses a non-canonical input"
    );

    // The prepared check on the bare verifier (its deployer is its controller here):
    // snapshot and request stored, the honest proof passes; an aliased nullifier, a flipped
    // answer, a term that is not the stored one (another root's, an off-curve one) and
    // aliased snapshot inputs are refused with the reason.
    let mut b = EmbeddedBackend::new(Arc::new(Mutex::new(chain)), from);
    let send = |b: &mut EmbeddedBackend, name: &str, data: Vec<u8>| {
        b.send(name, Some(v), data.into()).map(|o| o.gas_used)
    };
    let token = U256::from(1);
    let store = |rc: U256| ExistsV2Verifier::storeSnapshotCall {
        tokenId: token,
        recordCommitment: rc,
        identityCommitment: input[1],
    };
    contains(
        send(&mut b, "storeSnapshot", store(input[0] + r).abi_encode()),
        "NonCanonicalInput",
    );
    send(&mut b, "storeSnapshot", store(input[0]).abi_encode()).unwrap();
    let (qh, ch, sc) = (input[2], input[3], input[4]);
    let register = |qh: U256| ExistsV2Verifier::registerRequestCall {
        queryHash: qh,
        challenge: ch,
        scope: sc,
    };
    contains(
        send(&mut b, "registerRequest", register(qh + r).abi_encode()),
        "NonCanonicalInput",
    );
    send(&mut b, "registerRequest", register(qh).abi_encode()).unwrap();
    let read = |b: &mut EmbeddedBackend, name: &str, data: Vec<u8>| b.call(name, v, data.into());
    let token_term_of = |b: &mut EmbeddedBackend, rc: U256| {
        let c = ExistsV2Verifier::tokenTermCall {
            recordCommitment: rc,
            identityCommitment: input[1],
        };
        ExistsV2Verifier::tokenTermCall::abi_decode_returns(
            &read(b, "tokenTerm", c.abi_encode()).unwrap(),
        )
        .unwrap()
    };
    let token_term = token_term_of(&mut b, input[0]);
    let request_term = ExistsV2Verifier::requestTermCall::abi_decode_returns(
        &read(
            &mut b,
            "requestTerm",
            ExistsV2Verifier::requestTermCall {
                queryHash: qh,
                challenge: ch,
                scope: sc,
            }
            .abi_encode(),
        )
        .unwrap(),
    )
    .unwrap();
    let id = Request {
        circuit: "exists-v2".into(),
        query_hash: zkmed_chain::client::u256_to_fr(qh).unwrap(),
        challenge: zkmed_chain::client::u256_to_fr(ch).unwrap(),
        scope: zkmed_chain::client::u256_to_fr(sc).unwrap(),
    }
    .id();
    let prepared =
        |token_term: [U256; 2], nullifier: U256| zkmed_chain::bindings::PreparedAttestation {
            request: id,
            tokenTerm: token_term,
            requestTerm: request_term,
            nullifier,
            answer: true,
            proof,
        };
    let check = |b: &mut EmbeddedBackend, a| {
        let c = ExistsV2Verifier::checkPreparedCall {
            tokenId: token,
            a,
            window: 3600,
        };
        read(b, "checkPrepared", c.abi_encode())
            .map(|out| ExistsV2Verifier::checkPreparedCall::abi_decode_returns(&out).unwrap())
    };
    assert!(check(&mut b, prepared(token_term, input[5])).unwrap());
    contains(
        check(&mut b, prepared(token_term, input[5] + r)),
        "InvalidProof",
    );
    // The term of another root (the record commitment of a stale or forged chart) is not
    // the snapshot's.
    let other_root = token_term_of(&mut b, input[0] + U256::from(1));
    contains(check(&mut b, prepared(other_root, input[5])), "NotPrepared");
    contains(
        check(&mut b, prepared(request_term, input[5])),
        "NotPrepared",
    );
    let mut off_curve = token_term;
    off_curve[1] += U256::from(1);
    contains(check(&mut b, prepared(off_curve, input[5])), "NotPrepared");
    let mut flipped = prepared(token_term, input[5]);
    flipped.answer = false;
    contains(check(&mut b, flipped), "InvalidProof");
    let mut off_request = prepared(token_term, input[5]);
    off_request.requestTerm[1] += U256::from(1);
    contains(check(&mut b, off_request), "UnknownRequest");
    // Requests are per registrant: another caller's check does not see this one.
    let mut other = b.as_account(Address::repeat_byte(0x43));
    contains(
        check(&mut other, prepared(token_term, input[5])),
        "UnknownRequest",
    );
    // checkPreparedFor is the controller's alone.
    let c = ExistsV2Verifier::checkPreparedForCall {
        registrant: from,
        tokenId: token,
        a: prepared(token_term, input[5]),
        window: 3600,
    };
    contains(
        other.call("checkPreparedFor", v, c.abi_encode().into()),
        "NotController",
    );
    assert!(ExistsV2Verifier::checkPreparedForCall::abi_decode_returns(
        &b.call("checkPreparedFor", v, c.abi_encode().into())
            .unwrap()
    )
    .unwrap());
}

/// The committed `scan64-v2` verifier is exactly the generator's output for its (test) key,
/// and it verifies a real `scan64-v2` proof on chain (a "no": the fixture patient has a
/// chronic condition); the flipped answer is refused, and so is the proof presented to the
/// `exists-v2` verifier.
#[test]
fn scan64_verifier_matches_its_key_and_verifies_a_real_proof() {
    use alloy::sol_types::SolCall;
    use zkmed_chain::bindings::{ExistsV2Verifier, Scan64V2Verifier};
    let fx = fixture();
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Scan64]);
    let (_, att) = prove_named(&keys, &fx, "no-chronic-conditions");
    assert_eq!(att.circuit, "scan64-v2");
    assert!(
        !att.public.answer,
        "the fixture patient has a chronic condition"
    );

    let mut chain = EmbeddedChain::in_memory();
    let from = Address::repeat_byte(0x42);
    let mut deploy = |code: &alloy::primitives::Bytes| {
        chain
            .transact("deploy", from, None, with_controller(code, from))
            .unwrap()
            .created
            .unwrap()
    };
    let (scan, exists) = (
        deploy(&Scan64V2Verifier::BYTECODE),
        deploy(&ExistsV2Verifier::BYTECODE),
    );
    let (proof, input) = zkmed_verifier::evm_calldata(&att).unwrap();
    let proof: [U256; 8] = proof.map(|s| s.parse().unwrap());
    let input: [U256; 7] = input.map(|s| s.parse().unwrap());
    let mut verify = |at: Address, input: [U256; 7]| -> bool {
        let c = Scan64V2Verifier::verifyProofCall { proof, input };
        let out = chain
            .call("verifyProof", at, c.abi_encode().into())
            .unwrap();
        Scan64V2Verifier::verifyProofCall::abi_decode_returns(&out).unwrap()
    };
    assert!(verify(scan, input), "the honest scan64-v2 proof verifies");
    let mut flipped = input;
    flipped[6] = U256::from(1);
    assert!(!verify(scan, flipped), "the flipped answer is refused");
    assert!(
        !verify(exists, input),
        "another circuit's verifier refuses it"
    );
}
