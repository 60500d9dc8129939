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
use zkmed_state::note::{genesis_nullifier, note_tag, state_note};
use zkmed_state::{AnchoredState, LocalState};

pub struct Fixture {
    pub keys: KeyStore,
    pub opening: Opening,
    pub identity: IdentitySecret,
    /// The chain and the issuer, in memory: the patient's identity minted and its genesis
    /// state anchored (the verifier's root source).
    pub local: LocalState,
    /// The patient's proof of anchoring against `local`'s current roots.
    pub state: AnchoredState,
    pub rng: ChaCha20Rng,
}

/// Keys for exists-v3 and scan64-v3 (deterministic test keys) and the demo patient, its
/// state anchored in an in-memory model of the chain.
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
    let mut local = LocalState::new();
    let idc = identity.commitment();
    let index = local.add_identity(idc).expect("mint");
    let slot = local.add_issuer().expect("issuer");
    let rho = zkmed_records::opening::random_salt(&mut rng);
    let note = state_note(opening.commitment().expect("commitment"), note_tag(rho));
    let notes = local
        .anchor(slot, &[note], &[genesis_nullifier(idc)])
        .expect("anchor");
    let state = local.witness(index, slot, notes[0], rho).expect("witness");
    Fixture {
        keys,
        opening,
        identity,
        local,
        state,
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

/// The `i`-th verifier request value.
pub fn request(i: u64) -> Fr {
    Fr::from(1000 + i)
}

/// The benchmarks' scope.
pub fn scope() -> Fr {
    Fr::from(1u64)
}

/// The public challenge of [`request`]`(i)` in [`scope`].
pub fn challenge(i: u64) -> Fr {
    zkmed_state::note::challenge(scope(), request(i))
}
