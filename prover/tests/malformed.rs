//! Malformed inputs on the prover side give clear errors, never panics: queries, openings,
//! identities that do not match, tampered or missing keys.

mod support;

use ark_bn254::Fr;
use std::path::Path;
use support::*;
use zkmed_circuits::CircuitId;
use zkmed_core::query::Query;
use zkmed_core::CoreError;
use zkmed_prover::{IdentitySecret, KeyStore, ProveError};
use zkmed_records::{Opening, RecordsError};

const AGE: &str = r#"{"version":1,"age_at_least":{"years":18,"on":"2026-11-21"}}"#;

#[test]
fn malformed_query_json_is_a_clear_error() {
    for (json, needle) in [
        ("", "malformed query JSON"),
        ("{", "malformed query JSON"),
        ("[]", "malformed query JSON"),
        ("null", "malformed query JSON"),
        ("\u{feff}{}", "malformed query JSON"),
        (
            r#"{"records":{"kind":"Condition","quantifier":"exists"}}"#,
            "missing field `version`",
        ),
        (
            r#"{"version":"1","age_at_least":{"years":18,"on":"2026-11-21"}}"#,
            "invalid type",
        ),
        (
            r#"{"version":-1,"age_at_least":{"years":18,"on":"2026-11-21"}}"#,
            "invalid value",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition"}}"#,
            "missing field `quantifier`",
        ),
        (
            r#"{"version":1,"records":{"kind":"condition","quantifier":"exists"}}"#,
            "unknown variant",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"forall"}}"#,
            "unknown variant",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":{"count_at_least":-1}}}"#,
            "invalid value",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":{"count_at_least":65536}}}"#,
            "exceeds",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"code_is":["sct|1"]}]}}"#,
            "unknown variant",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"code_in":"sct|1"}]}}"#,
            "invalid type",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"code_in":[]}]}}"#,
            "1 to 32 codes",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"code_in":["sct|"]}]}}"#,
            "where[0]",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"status_in":[]}]}}"#,
            "at least one status",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"status_in":["final"]}]}}"#,
            "unknown status",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"date_after":"2020/01/01"}]}}"#,
            "YYYY-MM-DD",
        ),
        (
            r#"{"version":1,"records":{"kind":"Condition","quantifier":"exists","where":[{"date_after":"0000-01-01"}]}}"#,
            "where[0]",
        ),
        (
            r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":"abc"}}]}}"#,
            "not a decimal",
        ),
        (
            r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":true}}]}}"#,
            "expected a decimal",
        ),
        (
            r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":"1e3"}}]}}"#,
            "not a decimal",
        ),
        (
            r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":"99999999999"}}]}}"#,
            "range",
        ),
        (
            r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_between":{"min":"2","max":"1"}}]}}"#,
            "min > max",
        ),
        (
            r#"{"version":1,"records":{"kind":"Observation","quantifier":"exists","where":[{"value_lt":{"value":"1","units":"%"}}]}}"#,
            "unknown field",
        ),
        (
            r#"{"version":1,"age_at_least":{"years":18,"on":"2026-11-21T10:00:00"}}"#,
            "RFC 3339",
        ),
        (
            r#"{"version":1,"age_at_least":{"years":"18","on":"2026-11-21"}}"#,
            "invalid type",
        ),
        (
            r#"{"version":1,"age_at_least":{"years":4000000000,"on":"2026-11-21"}}"#,
            "out of range",
        ),
        (
            r#"{"version":1,"age_at_least":{"years":18,"on":"2026-11-21"},"records":null,"extra":true}"#,
            "unknown field",
        ),
        (r#"{"version":1}"#, "empty query"),
    ] {
        let e = Query::from_json(json.as_bytes()).unwrap_err();
        assert!(matches!(e, CoreError::Query(_)), "{json}: {e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains(needle),
            "{json}: message {msg:?} lacks {needle:?}"
        );
    }
    // Non-UTF-8 and every truncation of a valid query: an error, never a panic.
    assert!(Query::from_json(&[0xff, 0xfe, b'{']).is_err());
    let valid = br#"{"version":1,"records":{"kind":"Observation","quantifier":{"count_at_most":2},"where":[{"code_in":["loinc|4548-4"]},{"value_between":{"min":"-1.5","max":6.5,"unit":"%"}},{"date_before":"2020-01-01"},{"status_in":["completed"]}]},"age_at_least":{"years":18,"on":"2026-11-21"}}"#;
    Query::from_json(valid).unwrap();
    for cut in 0..valid.len() {
        assert!(
            Query::from_json(&valid[..cut]).is_err(),
            "truncated at {cut}"
        );
    }
}

#[test]
fn query_version_2_is_refused_by_parser_and_prover() {
    let e = Query::from_json(AGE.replace("\"version\":1", "\"version\":2").as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.contains("unsupported query version 2"), "{e}");
    // A version-2 query built in code reaches the prover: refused before any proving.
    let keys = keys(&[CircuitId::Exists]);
    let p = patient("Brett_Gottlieb", 1);
    let mut q = query(AGE);
    q.version = 2;
    match prove_query(&keys, &p, &q, Fr::from(1u64), 1) {
        Err(ProveError::Core(CoreError::Query(m))) => {
            assert!(m.contains("unsupported query version 2"), "{m}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a version-2 query was proven"),
    }
}

#[test]
fn opening_files_with_a_bad_version_or_content_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = patient("Brett_Gottlieb", 2);
    let good = tmp.path().join("opening.json");
    p.opening.save(&good).unwrap();
    assert_eq!(Opening::load(&good).unwrap(), p.opening);
    let text = std::fs::read_to_string(&good).unwrap();
    assert!(text.contains("\"version\": 2"));
    let salt = zkmed_core::field::fr_to_dec(&p.opening.patient_salt);
    let alias = (num_bigint::BigUint::parse_bytes(salt.as_bytes(), 10).unwrap()
        + num_bigint::BigUint::parse_bytes(zkmed_core::field::MODULUS_DEC.as_bytes(), 10).unwrap())
    .to_string();
    for (i, (content, needle)) in [
        (
            text.replacen("\"version\": 2", "\"version\": 3", 1),
            "unsupported opening version 3",
        ),
        (
            text.replacen("\"version\": 2", "\"version\": \"2\"", 1),
            "unsupported opening version",
        ),
        (
            text.replacen("\"version\": 2,", "", 1),
            "no `version` field",
        ),
        (text[..text.len() / 2].to_string(), "malformed opening JSON"),
        ("[]".to_string(), "malformed opening"),
        (text.replacen(&salt, &alias, 1), "canonical"),
        (
            text.replacen("\"identity_commitment\"", "\"identity\"", 1),
            "malformed opening",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let path = tmp.path().join(format!("bad-{i}.json"));
        std::fs::write(&path, &content).unwrap();
        let e = Opening::load(&path).unwrap_err();
        assert!(matches!(e, RecordsError::Opening(_)), "case {i}: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(needle), "case {i}: {msg:?} lacks {needle:?}");
        assert!(
            msg.contains(&path.display().to_string()),
            "case {i}: names the file: {msg}"
        );
    }
    let missing = tmp.path().join("nope.json");
    let e = Opening::load(&missing).unwrap_err();
    assert!(
        matches!(e, RecordsError::Io { .. }) && e.to_string().contains("nope.json"),
        "{e}"
    );
}

#[test]
fn an_identity_that_does_not_match_the_opening_is_refused() {
    let keys = keys(&[CircuitId::Exists]);
    let brett = patient("Brett_Gottlieb", 3);
    let val = patient("Val_Mertz", 4);
    let q = query(AGE);
    let state = brett.state();
    let req = zkmed_prover::ProveRequest {
        opening: &brett.opening,
        identity: &val.identity,
        state: &state,
        query: &q,
        request: Fr::from(1u64),
        scope: Fr::from(2u64),
    };
    let e = zkmed_prover::prove(&keys, &req, &mut rng(1))
        .err()
        .expect("refused");
    assert!(matches!(e, ProveError::IdentityMismatch), "{e}");
    assert!(e.to_string().contains("does not match"), "{e}");
    // The right identity proves.
    assert!(
        prove_query(&keys, &brett, &q, Fr::from(1u64), 1)
            .unwrap()
            .attestation
            .public
            .answer
    );

    // Identity files: wrong version, inconsistent commitment, garbage, missing.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("id.json");
    brett.identity.save(&path).unwrap();
    assert_eq!(
        IdentitySecret::load(&path).unwrap().commitment(),
        brett.identity.commitment()
    );
    let e = brett.identity.save(&path).unwrap_err().to_string();
    assert!(e.contains("refusing to overwrite"), "{e}");
    let text = std::fs::read_to_string(&path).unwrap();
    let commitment = zkmed_core::field::fr_to_dec(&brett.identity.commitment());
    for (i, (content, needle)) in [
        (
            text.replacen("\"version\": 2", "\"version\": 3", 1),
            "unsupported version 3",
        ),
        (
            text.replacen("\"version\": 2", "\"version\": 1", 1),
            "version 1 (commitment H(secret), no nullifier key) is no longer",
        ),
        (
            text.replacen(
                &commitment,
                &zkmed_core::field::fr_to_dec(&val.identity.commitment()),
                1,
            ),
            "does not match the secret",
        ),
        ("not json".to_string(), "malformed identity file"),
    ]
    .into_iter()
    .enumerate()
    {
        let bad = tmp.path().join(format!("bad-{i}.json"));
        std::fs::write(&bad, content).unwrap();
        let e = IdentitySecret::load(&bad).unwrap_err();
        assert!(matches!(e, ProveError::Identity { .. }), "{e:?}");
        assert!(
            e.to_string().contains(needle) && e.to_string().contains("bad-"),
            "case {i}: {e}"
        );
    }
    assert!(IdentitySecret::load(&tmp.path().join("missing.json")).is_err());
}

/// A copy of the exists-v3 keys of the shared test key directory.
fn copy_exists_keys(to: &Path) {
    let src = keys(&[CircuitId::Exists]);
    let entry = src.manifest().get("exists-v3").unwrap().clone();
    for f in [&entry.pk.file, &entry.vk.file] {
        std::fs::copy(src.dir().join(f), to.join(f)).unwrap();
    }
    let mut m = zkmed_core::manifest::Manifest::new();
    m.upsert(entry);
    m.save(to).unwrap();
}

fn expect_key_error(dir: &Path, needles: &[&str]) {
    let ks = KeyStore::open(dir).unwrap();
    let e = ks.get(CircuitId::Exists).err().expect("refused");
    let msg = e.to_string();
    for n in needles {
        assert!(msg.contains(n), "{msg:?} lacks {n:?}");
    }
    // Proving with it is refused the same way.
    let p = patient("Brett_Gottlieb", 5);
    let e = prove_query(&ks, &p, &query(AGE), Fr::from(1u64), 1)
        .err()
        .expect("refused");
    assert!(e.to_string().contains(needles[0]), "{e}");
}

#[test]
fn tampered_or_inconsistent_key_files_are_refused_with_the_file_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    copy_exists_keys(d);
    // The copy works.
    let ks = KeyStore::open(d).unwrap();
    assert_eq!(ks.available(), vec![CircuitId::Exists]);
    let p = patient("Brett_Gottlieb", 6);
    assert!(prove_query(&ks, &p, &query(AGE), Fr::from(1u64), 1).is_ok());
    drop(ks);

    // One byte of the proving key flipped.
    let pk = d.join("exists-v3.pk");
    let original = std::fs::read(&pk).unwrap();
    let mut bytes = original.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&pk, &bytes).unwrap();
    expect_key_error(
        d,
        &["exists-v3.pk", "SHA-256", "does not match the manifest"],
    );
    // Truncated.
    std::fs::write(&pk, &original[..original.len() - 1]).unwrap();
    expect_key_error(d, &["exists-v3.pk", "does not match the manifest"]);
    // Missing.
    std::fs::remove_file(&pk).unwrap();
    expect_key_error(d, &["exists-v3.pk"]);
    std::fs::write(&pk, &original).unwrap();

    // The verifying key tampered.
    let vk = d.join("exists-v3.vk");
    let vk_original = std::fs::read(&vk).unwrap();
    let mut v = vk_original.clone();
    v[10] ^= 1;
    std::fs::write(&vk, &v).unwrap();
    expect_key_error(d, &["exists-v3.vk", "does not match the manifest"]);
    std::fs::write(&vk, &vk_original).unwrap();

    // A manifest made for another circuit shape or version.
    let m0 = zkmed_core::manifest::Manifest::load(d).unwrap();
    let mut m = m0.clone();
    m.circuits[0].constraints += 1;
    m.save(d).unwrap();
    expect_key_error(d, &["exists-v3.pk", "constraints"]);
    let mut m = m0.clone();
    m.circuits[0].version = 2;
    m.save(d).unwrap();
    expect_key_error(d, &["exists-v3.pk", "circuit version 2"]);
    // A manifest that points outside the directory.
    let mut m = m0.clone();
    m.circuits[0].pk.file = "../exists-v3.pk".into();
    m.save(d).unwrap();
    let e = KeyStore::open(d).err().expect("refused").to_string();
    assert!(e.contains("plain file name"), "{e}");
    m0.save(d).unwrap();
    assert!(KeyStore::open(d).unwrap().get(CircuitId::Exists).is_ok());
}

#[test]
fn a_missing_key_dir_or_key_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let nowhere = tmp.path().join("no-such-keys");
    let e = KeyStore::open(&nowhere).err().expect("refused").to_string();
    assert!(
        e.contains("manifest.json") && e.contains("no-such-keys"),
        "{e}"
    );
    // An empty directory.
    let e = KeyStore::open(tmp.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("manifest.json"), "{e}");
    // A malformed manifest.
    std::fs::write(
        tmp.path().join("manifest.json"),
        "{\"format\":\"zkmed-keys/0\",\"insecure_setup\":true,\"circuits\":[]}",
    )
    .unwrap();
    let e = KeyStore::open(tmp.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("format"), "{e}");
    std::fs::write(tmp.path().join("manifest.json"), "{").unwrap();
    assert!(KeyStore::open(tmp.path()).is_err());
    // A key directory without the key the query needs.
    let d = tempfile::tempdir().unwrap();
    copy_exists_keys(d.path());
    let ks = KeyStore::open(d.path()).unwrap();
    assert!(
        matches!(ks.get(CircuitId::Scan64), Err(ProveError::MissingKey(id)) if id == "scan64-v3")
    );
}

/// A query that needs a scan circuit, with a key directory that has no scan keys, should say
/// which key is missing (run `zkmed setup`) — not claim that the patient has too many records.
#[test]
fn a_scan_query_without_scan_keys_names_the_missing_key() {
    let d = tempfile::tempdir().unwrap();
    copy_exists_keys(d.path());
    let ks = KeyStore::open(d.path()).unwrap();
    let p = patient("Brett_Gottlieb", 7);
    let none = query(
        r#"{"version":1,"records":{"kind":"Procedure","quantifier":"none","where":[{"code_in":["sct|88039007"]}]}}"#,
    );
    let n = p
        .opening
        .records_of(zkmed_core::encoding::Kind::Procedure)
        .len();
    assert!(n <= 64, "fits scan64-v3");
    match prove_query(&ks, &p, &none, Fr::from(1u64), 1) {
        Err(ProveError::MissingKey(id)) => assert_eq!(id, "scan64-v3"),
        Err(e) => panic!("expected MissingKey(\"scan64-v3\") for {n} records, got: {e}"),
        Ok(_) => panic!("proven without a scan key"),
    }
}
