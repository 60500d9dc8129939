//! A frozen test vector in `tests/vectors/` (workspace root): a verifying key for
//! `exists-v3` from a fixed-seed setup, an attestation (format v2) made with it (JSON and
//! binary), the query it answers, the verifier's scope and request value, and the anchored
//! roots it was proven against. Also a v1 attestation, which must be refused with the reason.
//!
//! By default this test only LOADS the committed files, with full validation, and checks that
//! the attestation still verifies and that its two encodings agree — so any change to the
//! attestation formats, the query hash, the verifier or the key encoding that would break
//! already-issued attestations is caught.
//!
//! Regenerate (only when a format or circuit change is intended, and say so in the commit):
//!
//! ```text
//! ZKMED_REGENERATE_VECTORS=1 cargo test -p zkmed-prover --test frozen_vector
//! ```
//!
//! Regeneration is deterministic (fixed seeds for the setup, the patient and the proof), so
//! running it on an unchanged build rewrites identical files.

mod support;

use ark_bn254::Fr;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::path::PathBuf;
use zkmed_circuits::CircuitId;
use zkmed_core::attestation::Attestation;
use zkmed_core::field::{fr_to_dec, parse_fr};
use zkmed_core::manifest::sha256_hex;
use zkmed_core::query::Query;
use zkmed_prover::{prove, setup, IdentitySecret, KeyStore, ProveRequest};
use zkmed_records::{Code, Gender, ImportedPatient, Kind, Opening, PatientInfo, Record, Status};
use zkmed_verifier::{
    verify, verify_statement_unbound, CallerRoots, KeySet, RootPolicy, VerifierKey, VerifyError,
};

/// Seed of the vector's setup. The key is public test material: anyone can forge proofs for it.
const VECTOR_SETUP_SEED: u64 = 0x7a6b_6d65_6476_6563; // "zkmedvec"
const VECTOR_QUERY: &str = r#"{"version":1,"records":{"kind":"Procedure","quantifier":"exists","where":[{"code_in":["sct|70536003","sct|18027006"]},{"status_in":["completed"]}]},"age_at_least":{"years":18,"on":"2026-11-21"}}"#;
const VECTOR_REQUEST: &str = "271828182845904523536028747135266249775724709369995";
const VECTOR_SCOPE: u64 = 314159;

fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors"))
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| {
        panic!("tests/vectors/{name}: {e} (regenerate with ZKMED_REGENERATE_VECTORS=1)")
    })
}

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The vector's synthetic patient: a kidney transplant recipient born 1961-05-17.
fn vector_patient() -> ImportedPatient {
    let rec = |kind, system: &str, code: &str, date, value, unit: Option<&str>, status| Record {
        kind,
        codes: vec![Code::new(system, code)],
        value_codes: Vec::new(),
        display: None,
        date: Some(date),
        end: None,
        value,
        comparator: None,
        unit: unit.map(str::to_string),
        status,
        source: "Frozen Vector General Hospital".into(),
        fhir_id: None,
    };
    ImportedPatient {
        patient: PatientInfo {
            birth_date: day(1961, 5, 17),
            gender: Gender::Female,
        },
        patient_id: Some("frozen-vector".into()),
        records: vec![
            rec(
                Kind::Condition,
                "http://snomed.info/sct",
                "38341003",
                day(1999, 1, 4),
                None,
                None,
                Status::Active,
            ),
            rec(
                Kind::Procedure,
                "http://snomed.info/sct",
                "73761001",
                day(2010, 6, 1),
                None,
                None,
                Status::Completed,
            ),
            rec(
                Kind::Procedure,
                "http://snomed.info/sct",
                "70536003",
                day(2015, 3, 2),
                None,
                None,
                Status::Completed,
            ),
            rec(
                Kind::Observation,
                "http://loinc.org",
                "4548-4",
                day(2020, 2, 29),
                Some(5_900),
                Some("%"),
                Status::Completed,
            ),
        ],
        report: Default::default(),
    }
}

fn regenerate() {
    let tmp = tempfile::tempdir().unwrap();
    setup(
        tmp.path(),
        &[CircuitId::Exists],
        &mut ChaCha20Rng::seed_from_u64(VECTOR_SETUP_SEED),
        &mut |_| {},
    )
    .unwrap();
    let keys = KeyStore::open(tmp.path()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(VECTOR_SETUP_SEED + 1);
    let identity = IdentitySecret::random(&mut rng);
    let opening = Opening::create(vector_patient(), identity.commitment(), &mut rng).unwrap();
    let mut patient = support::Patient {
        name: "frozen-vector".into(),
        commitment: opening.commitment().unwrap(),
        identity,
        opening,
        rho: zkmed_records::opening::random_salt(&mut rng),
        world: zkmed_state::LocalState::new(),
        identity_index: 0,
        note_index: 0,
    };
    let world = support::share_world(&mut [&mut patient]);
    let query = Query::from_json(VECTOR_QUERY.as_bytes()).unwrap();
    let state = patient.state();
    let req = ProveRequest {
        opening: &patient.opening,
        identity: &patient.identity,
        state: &state,
        query: &query,
        request: parse_fr(VECTOR_REQUEST).unwrap(),
        scope: Fr::from(VECTOR_SCOPE),
    };
    let proven = prove(&keys, &req, &mut rng).unwrap();
    assert_eq!(proven.plan.circuit, CircuitId::Exists);
    assert!(proven.attestation.public.answer);
    let roots = serde_json::json!({
        "identity_root": fr_to_dec(&world.identity_root()),
        "state_root": fr_to_dec(&world.state_root()),
    });
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "exists-v3.vk",
            std::fs::read(tmp.path().join("exists-v3.vk")).unwrap(),
        ),
        (
            "attestation.json",
            format!("{}\n", proven.attestation.to_json()).into_bytes(),
        ),
        ("attestation.bin", proven.attestation.to_bytes().unwrap()),
        ("query.json", format!("{VECTOR_QUERY}\n").into_bytes()),
        (
            "request.json",
            format!(
                "{}\n",
                serde_json::json!({"scope": VECTOR_SCOPE.to_string(), "request": VECTOR_REQUEST})
            )
            .into_bytes(),
        ),
        (
            "roots.json",
            format!("{}\n", serde_json::to_string_pretty(&roots).unwrap()).into_bytes(),
        ),
    ];
    std::fs::create_dir_all(dir()).unwrap();
    for (name, bytes) in files {
        let path = dir().join(name);
        let changed = std::fs::read(&path).map(|old| old != bytes).unwrap_or(true);
        std::fs::write(&path, &bytes).unwrap();
        println!(
            "tests/vectors/{name}: {}",
            if changed {
                "WRITTEN (changed)"
            } else {
                "unchanged"
            }
        );
    }
}

struct Vector {
    keys: KeySet,
    key: VerifierKey,
    json: Attestation,
    bin: Attestation,
    bin_bytes: Vec<u8>,
    query: Query,
    challenge: Fr,
    roots: CallerRoots,
}

fn load() -> Vector {
    // Regenerate (once per run, before any test reads the files) when asked to.
    static REGENERATED: std::sync::Once = std::sync::Once::new();
    REGENERATED.call_once(|| {
        if std::env::var("ZKMED_REGENERATE_VECTORS").as_deref() == Ok("1") {
            regenerate();
        }
    });
    let vk = read("exists-v3.vk");
    // Full validation: on the curve, in the subgroup, canonical, 6 public inputs.
    let key = VerifierKey::from_bytes("exists-v3", &vk).unwrap();
    assert_eq!(key.to_bytes(), vk, "canonical encoding");
    let mut keys = KeySet::new();
    keys.insert(key.clone());
    let json = Attestation::from_json(&read("attestation.json")).unwrap();
    let bin_bytes = read("attestation.bin");
    let bin = Attestation::from_bytes(&bin_bytes).unwrap();
    let query = Query::from_json(&read("query.json")).unwrap();
    let request: serde_json::Value = serde_json::from_slice(&read("request.json")).unwrap();
    let scope = parse_fr(request["scope"].as_str().unwrap()).unwrap();
    let challenge = zkmed_state::note::challenge(
        scope,
        parse_fr(request["request"].as_str().unwrap()).unwrap(),
    );
    let anchor: serde_json::Value = serde_json::from_slice(&read("roots.json")).unwrap();
    let f = |k: &str| parse_fr(anchor[k].as_str().unwrap()).unwrap();
    let roots = CallerRoots {
        identity_roots: vec![f("identity_root")],
        state_roots: vec![f("state_root")],
    };
    Vector {
        keys,
        key,
        json,
        bin,
        bin_bytes,
        query,
        challenge,
        roots,
    }
}

#[test]
fn frozen_vector_still_verifies() {
    let v = load();
    // The files are what the constants here say (a regenerated vector changes them together).
    assert_eq!(v.query, Query::from_json(VECTOR_QUERY.as_bytes()).unwrap());
    assert_eq!(
        v.challenge,
        zkmed_state::note::challenge(Fr::from(VECTOR_SCOPE), parse_fr(VECTOR_REQUEST).unwrap())
    );
    // JSON and binary are the same attestation, and the binary form is canonical.
    assert_eq!(v.json, v.bin);
    assert_eq!(v.json.to_bytes().unwrap(), v.bin_bytes);
    assert_eq!(
        Attestation::from_json(v.bin.to_json().as_bytes()).unwrap(),
        v.json
    );
    assert_eq!(v.json.circuit, "exists-v3");
    assert_eq!(v.json.key_hash, sha256_hex(&read("exists-v3.vk")));
    assert_eq!(v.json.key_hash, v.key.key_hash());
    assert!(v.json.public.answer, "the vector proves a yes");
    assert_eq!(v.json.version, 2);
    // It verifies, from either encoding.
    for att in [&v.json, &v.bin] {
        verify(
            &v.keys,
            att,
            &v.query,
            &v.challenge,
            &RootPolicy::current_only(&v.roots),
        )
        .unwrap();
        verify_statement_unbound(&v.key, att).unwrap();
    }
    // And it still binds: another challenge, another answer, another query are rejected.
    assert!(matches!(
        verify(
            &v.keys,
            &v.json,
            &v.query,
            &(v.challenge + Fr::from(1u64)),
            &RootPolicy::current_only(&v.roots)
        ),
        Err(VerifyError::ChallengeMismatch { .. })
    ));
    let mut flipped = v.json.clone();
    flipped.public.answer = false;
    assert!(matches!(
        verify(
            &v.keys,
            &flipped,
            &v.query,
            &v.challenge,
            &RootPolicy::current_only(&v.roots)
        ),
        Err(VerifyError::InvalidProof { .. })
    ));
    let other = Query::from_json(VECTOR_QUERY.replace("70536003", "32413006").as_bytes()).unwrap();
    assert!(matches!(
        verify(
            &v.keys,
            &v.json,
            &other,
            &v.challenge,
            &RootPolicy::current_only(&v.roots)
        ),
        Err(VerifyError::QueryMismatch { .. })
    ));
}

/// A v1 attestation (the format that carried the patient's commitments) is refused, saying
/// why, by the format and therefore by every verifier.
#[test]
fn a_v1_attestation_is_refused_with_the_reason() {
    let e = Attestation::from_json(&read("attestation-v1.json")).unwrap_err();
    assert!(e.to_string().contains("v1 is no longer accepted"), "{e}");
}

/// The vector's query hash is a function of the query text only: recomputing it from
/// `query.json` gives the attested value (guards the query encoding and Poseidon).
#[test]
fn frozen_vector_query_hash_is_stable() {
    let v = load();
    assert_eq!(v.query.hash().unwrap(), v.json.public.query_hash);
}
