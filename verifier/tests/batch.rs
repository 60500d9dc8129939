//! Batch verification against real Groth16 proofs of the toy circuit.

mod common;

use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::time::Instant;
use zkmed_core::attestation::Attestation;
use zkmed_core::query::Query;
use zkmed_core::Fr;
use zkmed_verifier::{verify, verify_batch, BatchItem, VerifyError};

fn items<'a>(atts: &'a [Attestation], q: &'a Query) -> Vec<BatchItem<'a>> {
    atts.iter()
        .enumerate()
        .map(|(i, a)| BatchItem {
            attestation: a,
            expected_query: q,
            expected_challenge: challenge(i as u64),
        })
        .collect()
}

fn batch_rng() -> ChaCha20Rng {
    ChaCha20Rng::from_entropy()
}

#[test]
fn batch_of_64_valid_passes() {
    let f = fixture();
    let atts = attestations(64, false);
    let q = query();
    verify_batch(&f.keys, &items(&atts, &q), &f.policy(), &mut batch_rng()).unwrap();
    // Mixed circuits are grouped per verifying key.
    let mixed = attestations(16, true);
    assert_eq!(mixed[1].circuit, OTHER_CIRCUIT);
    verify_batch(&f.keys, &items(&mixed, &q), &f.policy(), &mut batch_rng()).unwrap();
    // A batch of one and an empty batch.
    verify_batch(
        &f.keys,
        &items(&atts[..1], &q),
        &f.policy(),
        &mut batch_rng(),
    )
    .unwrap();
    verify_batch(&f.keys, &[], &f.policy(), &mut batch_rng()).unwrap();
}

#[test]
fn batch_with_two_bad_proofs_names_exactly_those() {
    let f = fixture();
    let mut atts = attestations(64, true);
    // Item 5: the answer was flipped after proving. Item 40: a valid proof of another item.
    atts[5].public.answer = !atts[5].public.answer;
    atts[40].proof = atts[41].proof.clone();
    let q = query();
    let e = verify_batch(&f.keys, &items(&atts, &q), &f.policy(), &mut batch_rng()).unwrap_err();
    assert_eq!(e.indices(), vec![5, 40], "{e}");
    for (i, err) in &e.failures {
        assert!(
            matches!(err, VerifyError::InvalidProof { .. }),
            "item {i}: {err:?}"
        );
    }
    let msg = e.to_string();
    assert!(
        msg.starts_with("2 attestation(s) of the batch failed verification"),
        "{msg}"
    );
    assert!(
        msg.contains("item 5: invalid proof") && msg.contains("item 40: invalid proof"),
        "{msg}"
    );
    // Each flagged item also fails alone, and its neighbours verify alone.
    for i in [4usize, 5, 6, 39, 40, 41] {
        let alone = verify(&f.keys, &atts[i], &q, &challenge(i as u64), &f.policy());
        assert_eq!(alone.is_err(), i == 5 || i == 40, "item {i}: {alone:?}");
    }
}

#[test]
fn batch_reports_cheap_and_pairing_failures_together() {
    let f = fixture();
    let mut atts = attestations(20, false);
    let q = query();
    atts[17].public.nullifier += Fr::from(1u64); // only the pairing check sees this
    atts[9].circuit = "unknown-v9".into();
    let mut its = items(&atts, &q);
    its[3].expected_challenge = challenge(99); // the verifier expected another challenge
    let other = other_query();
    its[12].expected_query = &other; // and asked another question
    let mut bad_proof = atts[0].clone();
    bad_proof.proof = "00".repeat(128);
    its[0].attestation = &bad_proof;

    let e = verify_batch(&f.keys, &its, &f.policy(), &mut batch_rng()).unwrap_err();
    assert_eq!(e.indices(), vec![0, 3, 9, 12, 17], "{e}");
    let kinds: Vec<&str> = e
        .failures
        .iter()
        .map(|(_, err)| match err {
            VerifyError::MalformedProof(_) => "malformed",
            VerifyError::ChallengeMismatch { .. } => "challenge",
            VerifyError::UnknownCircuit { .. } => "circuit",
            VerifyError::QueryMismatch { .. } => "query",
            VerifyError::InvalidProof { .. } => "invalid",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["malformed", "challenge", "circuit", "query", "invalid"]
    );

    // Only cheap failures: the rest still passes the pairing check, nothing else is listed.
    atts[17].public.nullifier -= Fr::from(1u64);
    let its = {
        let mut v = items(&atts, &q);
        v[3].expected_challenge = challenge(99);
        v
    };
    let e = verify_batch(&f.keys, &its, &f.policy(), &mut batch_rng()).unwrap_err();
    assert_eq!(e.indices(), vec![3, 9]);
}

/// Prints batch throughput (no timing assertion). Run with `cargo test --release -p
/// zkmed-verifier --test batch timing -- --nocapture`.
#[test]
fn timing_batch_of_64() {
    let f = fixture();
    let atts = attestations(64, false);
    let q = query();
    let its = items(&atts, &q);
    let mut rng = batch_rng();
    verify_batch(&f.keys, &its, &f.policy(), &mut rng).unwrap(); // warm up
    let mut t: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            verify_batch(&f.keys, &its, &f.policy(), &mut rng).unwrap();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    let (med, min) = (t[t.len() / 2], t[0]);
    println!(
        "TIMING batch of 64: median {:.3} ms per attestation ({med:.1} ms per batch), min {:.3} ms ({min:.1} ms)",
        med / 64.0,
        min / 64.0
    );
}
