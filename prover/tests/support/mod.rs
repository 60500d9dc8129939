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
use zkmed_state::note::{genesis_nullifier, note_tag, state_note};
use zkmed_state::{AnchoredState, LocalState};
use zkmed_verifier::{KeySet, RootPolicy};

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

/// A patient: identity and opening drawn from a seeded RNG, and its genesis record state
/// anchored by issuer slot 0 of `world` (its own in-memory chain and issuer, unless
/// [`share_world`] put several patients in one).
pub struct Patient {
    pub name: String,
    pub identity: IdentitySecret,
    pub opening: Opening,
    /// The record commitment `R`.
    pub commitment: Fr,
    /// The state note's blinding.
    pub rho: Fr,
    pub world: LocalState,
    pub identity_index: u64,
    pub note_index: u64,
}

impl Patient {
    /// The patient's witness against `world`'s current roots.
    pub fn state(&self) -> AnchoredState {
        self.world
            .witness(self.identity_index, 0, self.note_index, self.rho)
            .expect("the patient's state is anchored and unspent")
    }

    /// Its state note `L = H(R, H(rho, 0))`.
    pub fn note(&self) -> Fr {
        state_note(self.commitment, note_tag(self.rho))
    }
}

pub fn patient_from(name: &str, imported: ImportedPatient, seed: u64) -> Patient {
    let mut r = rng(seed);
    let identity = IdentitySecret::random(&mut r);
    let opening = Opening::create(imported, identity.commitment(), &mut r).unwrap();
    let commitment = opening.commitment().unwrap();
    let rho = zkmed_records::opening::random_salt(&mut r);
    let mut p = Patient {
        name: name.to_string(),
        identity,
        opening,
        commitment,
        rho,
        world: LocalState::new(),
        identity_index: 0,
        note_index: 0,
    };
    share_world(&mut [&mut p]);
    p
}

/// Enrolls the patients in ONE world: their identities in one identity tree, their genesis
/// states in one batch of issuer slot 0. Returns the world (each patient holds a copy).
pub fn share_world(ps: &mut [&mut Patient]) -> LocalState {
    let mut world = LocalState::new();
    let slot = world.add_issuer().unwrap();
    assert_eq!(slot, 0);
    let mut notes = Vec::new();
    let mut genesis = Vec::new();
    for p in ps.iter_mut() {
        p.identity_index = world.add_identity(p.identity.commitment()).unwrap();
        notes.push(p.note());
        genesis.push(genesis_nullifier(p.identity.commitment()));
    }
    let idx = world.anchor(slot, &notes, &genesis).unwrap();
    for (p, i) in ps.iter_mut().zip(idx) {
        p.note_index = i;
    }
    for p in ps.iter_mut() {
        p.world = world.clone();
    }
    world
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

pub const SCOPE: u64 = 7;

/// The public challenge for a request value in the test scope: `H(SCOPE, request)`.
pub fn challenge_of(request: Fr) -> Fr {
    zkmed_state::note::challenge(Fr::from(SCOPE), request)
}

pub fn prove_query(
    keys: &KeyStore,
    p: &Patient,
    q: &Query,
    request: Fr,
    seed: u64,
) -> zkmed_prover::Result<Proven> {
    let state = p.state();
    let req = ProveRequest {
        opening: &p.opening,
        identity: &p.identity,
        state: &state,
        query: q,
        request,
        scope: Fr::from(SCOPE),
    };
    prove(keys, &req, &mut rng(seed))
}

/// Verifies `att` with the embeddable verifier against the patient's world (default window).
pub fn verify_for(
    set: &KeySet,
    p: &Patient,
    att: &Attestation,
    q: &Query,
    request: Fr,
) -> Result<(), zkmed_verifier::VerifyError> {
    zkmed_verifier::verify(
        set,
        att,
        q,
        &challenge_of(request),
        &RootPolicy::new(&p.world),
    )
}

pub fn query(json: &str) -> Query {
    Query::from_json(json.as_bytes()).unwrap_or_else(|e| panic!("{json}: {e}"))
}
