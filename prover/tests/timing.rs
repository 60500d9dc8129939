//! A quick warm measurement of proving and verifying on the v3 circuits (keys loaded, R1CS
//! cached, one warm-up proof), for machines where the criterion benches (release profile)
//! are too slow to build. NOT a check: it asserts nothing about time and is ignored by
//! default. Run: `cargo test -p zkmed-prover --test timing -- --ignored --nocapture`.
//! The test profile is opt-level 3 for every crate but keeps debug assertions, so these
//! figures are an upper bound of the release ones; `cargo bench -p zkmed-benches` is the
//! reference.

mod support;

use ark_bn254::Fr;
use std::collections::BTreeMap;
use std::time::Instant;
use support::*;
use zkmed_circuits::CircuitId;
use zkmed_core::predicates;
use zkmed_verifier::RootPolicy;

#[test]
#[ignore = "a measurement, not a test: run with --ignored --nocapture"]
fn warm_prove_and_verify_times() {
    let keys = keys(&[CircuitId::Exists, CircuitId::Scan64]);
    let set = keyset(&keys);
    let p = patient("Alejandro_Riojas", 5);
    for (name, want) in [
        ("age-at-least", CircuitId::Exists),
        ("no-chronic-conditions", CircuitId::Scan64),
    ] {
        let q = predicates::get(name)
            .unwrap()
            .instantiate(&BTreeMap::new(), today())
            .unwrap();
        let first = prove_query(&keys, &p, &q, Fr::from(1u64), 1).unwrap();
        assert_eq!(first.plan.circuit, want);
        let mut prove_ms = Vec::new();
        let mut verify_us = Vec::new();
        for i in 0..5u64 {
            let t = Instant::now();
            let proven = prove_query(&keys, &p, &q, Fr::from(i + 2), i).unwrap();
            prove_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            zkmed_verifier::verify(
                &set,
                &proven.attestation,
                &q,
                &challenge_of(Fr::from(i + 2)),
                &RootPolicy::new(&p.world),
            )
            .unwrap();
            verify_us.push(t.elapsed().as_secs_f64() * 1e6);
        }
        prove_ms.sort_by(f64::total_cmp);
        verify_us.sort_by(f64::total_cmp);
        println!(
            "{} ({name}): prove median {:.0} ms (min {:.0}), verify median {:.2} ms",
            want.as_str(),
            prove_ms[2],
            prove_ms[0],
            verify_us[2] / 1e3
        );
    }
}
