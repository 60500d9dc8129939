//! Shared set-up for the benchmarks: deterministic test keys, the demo patient, proofs.
#![forbid(unsafe_code)]

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use zkmed_circuits::CircuitId;
use zkmed_core::field::Fr;
use zkmed_core::predicates;
use zkmed_core::query::Query;
use zkmed_prover::{IdentitySecret, KeyStore};
use zkmed_records::{import_bundle, Opening};

pub struct Fixture {
    pub keys: KeyStore,
    pub opening: Opening,
    pub identity: IdentitySecret,
    pub rng: ChaCha20Rng,
}

/// Keys for exists-v2 and scan64-v2 (deterministic test keys) and the demo patient.
pub fn fixture() -> Fixture {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists, CircuitId::Scan64]);
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let bundle = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/demo/jonathan-hermiston.json"
    ))
    .expect("demo bundle");
    let identity = IdentitySecret::random(&mut rng);
    let opening = Opening::create(
        import_bundle(&bundle).expect("import"),
        identity.commitment(),
        &mut rng,
    )
    .expect("opening");
    Fixture {
        keys,
        opening,
        identity,
        rng,
    }
}

pub fn predicate(name: &str) -> Query {
    predicates::get(name)
        .expect("predicate")
        .instantiate(
            &BTreeMap::new(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
        )
        .expect("instantiate")
}

pub fn challenge(i: u64) -> Fr {
    Fr::from(1000 + i)
}
