//! Shared helpers of the prover's integration tests: fixtures, keys, openings, verification.
#![allow(dead_code)]

pub mod circuits;
pub mod reference;

use ark_bn254::Fr;
use chrono::NaiveDate;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::PathBuf;
use zkmed_circuits::CircuitId;
use zkmed_core::attestation::Attestation;
use zkmed_core::query::Query;
use zkmed_prover::{prove, IdentitySecret, KeyStore, ProveRequest, Proven};
use zkmed_records::{import_bundle, ImportedPatient, Opening};
use zkmed_verifier::{InMemoryCommitments, KeySet};

/// The fixed "today" of the test suite.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/synthea"
    ))
}

/// `(short name, path)` of every Synthea fixture, sorted by name. The short name is the
/// file name up to the UUID (`Jonathan_Hermiston`).
pub fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().to_string();
            let short = stem
                .rsplit_once('_')
                .map(|(a, _)| a.to_string())
                .unwrap_or(stem);
            (short, p)
        })
        .collect();
    out.sort();
    out
}

pub fn import(name: &str) -> ImportedPatient {
    let (_, path) = fixtures()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no fixture {name}"));
    import_bundle(&std::fs::read(path).unwrap()).unwrap()
}

/// A patient: identity and opening drawn from a seeded RNG.
pub struct Patient {
    pub name: String,
    pub identity: IdentitySecret,
    pub opening: Opening,
    pub commitment: Fr,
}

pub fn patient_from(name: &str, imported: ImportedPatient, seed: u64) -> Patient {
    let mut r = rng(seed);
    let identity = IdentitySecret::random(&mut r);
    let opening = Opening::create(imported, identity.commitment(), &mut r).unwrap();
    let commitment = opening.commitment().unwrap();
    Patient {
        name: name.to_string(),
        identity,
        opening,
        commitment,
    }
}

pub fn patient(name: &str, seed: u64) -> Patient {
    patient_from(name, import(name), seed)
}

/// The shared deterministic test keys.
pub fn keys(circuits: &[CircuitId]) -> KeyStore {
    zkmed_prover::testing::test_keys(circuits)
}

/// The embeddable verifier's key set for a key directory (all verifying keys of the manifest).
pub fn keyset(ks: &KeyStore) -> KeySet {
    KeySet::load_manifest_dir(ks.dir()).expect("verifier loads the test keys")
}

pub fn commitments_of(patients: &[&Patient]) -> InMemoryCommitments {
    let mut c = InMemoryCommitments::new();
    for p in patients {
        c.anchor(p.identity.commitment(), p.commitment);
    }
    c
}

pub const SCOPE: u64 = 7;

pub fn prove_query(
    keys: &KeyStore,
    p: &Patient,
    q: &Query,
    challenge: Fr,
    seed: u64,
) -> zkmed_prover::Result<Proven> {
    let req = ProveRequest {
        opening: &p.opening,
        identity: &p.identity,
        query: q,
        challenge,
        scope: Fr::from(SCOPE),
    };
    prove(keys, &req, &mut rng(seed))
}

/// Verifies `att` with the embeddable verifier against the patient's anchored commitment.
pub fn verify_for(
    set: &KeySet,
    p: &Patient,
    att: &Attestation,
    q: &Query,
    challenge: Fr,
) -> Result<(), zkmed_verifier::VerifyError> {
    zkmed_verifier::verify(set, att, q, &challenge, &commitments_of(&[p]))
}

pub fn query(json: &str) -> Query {
    Query::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}
