//! Every route against the real server: happy paths, and interop with the embeddable
//! verifier in both directions.

use crate::helpers::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use zkmed_core::attestation::Attestation;
use zkmed_core::field::Fr;
use zkmed_core::predicates;
use zkmed_prover::{KeyStore, ProveRequest};
use zkmed_verifier::{InMemoryCommitments, KeySet, VerifyError};

fn challenge_fr(text: &str) -> Fr {
    zkmed_server::input::parse_field("challenge", text).unwrap()
}

fn query(name: &str) -> zkmed_core::query::Query {
    predicates::get(name)
        .unwrap()
        .instantiate(&Default::default(), chrono::Utc::now().date_naive())
        .unwrap()
}

#[tokio::test]
async fn health_ready_circuits_keys_predicates_openapi() {
    let app = spawn_app().await;
    assert_eq!(expect(app.get("/healthz").await, 200).await["status"], "ok");
    app.wait_ready().await;
    assert_eq!(expect(app.get("/readyz").await, 200).await["status"], "ok");

    let c = expect(app.get("/v1/circuits").await, 200).await;
    assert_eq!(c["insecure_setup"], true);
    let circuits = c["circuits"].as_array().unwrap();
    let exists = circuits.iter().find(|c| c["id"] == "exists-v2").unwrap();
    let manifest = zkmed_core::manifest::Manifest::load(&keys_dir()).unwrap();
    let entry = manifest.get("exists-v2").unwrap();
    assert_eq!(exists["constraints"], entry.constraints);
    assert!(entry.constraints > 1000);
    assert_eq!(exists["public_inputs"], 7);
    assert_eq!(exists["loaded"], true, "preloaded before ready");
    assert_eq!(exists["vk_sha256"], entry.vk.sha256.as_str());

    // The verifying key, byte for byte the pinned file.
    let r = app.get("/v1/keys/exists-v2/vk").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-zkmed-key-sha256"].to_str().unwrap(),
        entry.vk.sha256
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(hex::encode(Sha256::digest(&bytes)), entry.vk.sha256);
    assert_eq!(
        bytes.as_ref(),
        std::fs::read(keys_dir().join(&entry.vk.file)).unwrap()
    );
    zkmed_verifier::VerifierKey::from_bytes("exists-v2", &bytes).unwrap();
    let j = expect(app.get("/v1/keys/exists-v2/vk?format=json").await, 200).await;
    assert_eq!(j["vk"], hex::encode(&bytes));
    expect_error(app.get("/v1/keys/nope-v9/vk").await, 404, "nope-v9").await;
    expect_error(
        app.get("/v1/keys/exists-v2/vk?format=xml").await,
        400,
        "xml",
    )
    .await;

    let p = expect(app.get("/v1/predicates").await, 200).await;
    assert!(p
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "has-organ-transplant"));

    let doc = expect(app.get("/v1/openapi.json").await, 200).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/attestations",
        "/v1/jobs",
        "/v1/jobs/{id}",
        "/v1/verify",
        "/v1/circuits",
        "/v1/keys/{circuit}/vk",
        "/v1/predicates",
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/openapi.json",
    ] {
        assert!(doc["paths"][path].is_object(), "openapi lacks {path}");
    }
    assert!(doc["components"]["schemas"]["ProveBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    expect_error(app.get("/v2/nothing").await, 404, "/v2/nothing").await;
    app.stop().await;
}

/// A proof issued by the service verifies with the embeddable verifier (bound to the
/// question, the challenge and the commitment); a bundle + salt seed request proves
/// about the same commitment as the opening.
#[tokio::test]
async fn service_proof_verifies_with_the_library() {
    let app = spawn_app().await;
    app.wait_ready().await;
    let v = expect(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:nonce-1"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(v["answer"], true);
    assert_eq!(v["circuit"], "exists-v2");
    assert_eq!(v["record_commitment"], dec(&commitment()));
    let att = Attestation::from_json(v["attestation"].to_string().as_bytes()).unwrap();
    let keys = KeySet::load_manifest_dir(&keys_dir()).unwrap();
    let mut chain = InMemoryCommitments::new();
    chain.anchor(identity().commitment(), commitment());
    zkmed_verifier::verify(
        &keys,
        &att,
        &query("has-organ-transplant"),
        &challenge_fr("text:nonce-1"),
        &chain,
    )
    .expect("service proof verifies in the library");
    assert!(matches!(
        zkmed_verifier::verify(
            &keys,
            &att,
            &query("has-organ-transplant"),
            &challenge_fr("text:nonce-2"),
            &chain,
        ),
        Err(VerifyError::ChallengeMismatch { .. })
    ));

    // From the bundle + salt seed: same commitment, a NO answer via the scan circuit.
    let body = json!({
        "bundle": bundle_json(),
        "salt_seed": SALT_SEED,
        "identity_secret": IDENTITY,
        "predicate": "no-chronic-conditions",
        "challenge": "text:nonce-3",
    });
    let v = expect(app.post("/v1/attestations", &body, None).await, 200).await;
    assert_eq!(v["record_commitment"], dec(&commitment()));
    assert_eq!(v["answer"], false);
    assert_eq!(v["circuit"], "scan64-v2");
    let att = Attestation::from_json(v["attestation"].to_string().as_bytes()).unwrap();
    zkmed_verifier::verify(
        &keys,
        &att,
        &query("no-chronic-conditions"),
        &challenge_fr("text:nonce-3"),
        &chain,
    )
    .expect("NO answer verifies");

    let m = app.metrics().await;
    assert!(
        m.contains(
            r#"zkmed_http_requests_total{method="POST",route="/v1/attestations",status="200"} 2"#
        ),
        "{m}"
    );
    assert!(
        m.contains(r#"zkmed_prove_duration_seconds_count{circuit="exists-v2"} 1"#),
        "{m}"
    );
    assert!(m.contains("zkmed_queue_depth 0"), "{m}");
    assert!(m.contains("zkmed_proofs_in_flight 0"), "{m}");
    app.stop().await;
}

/// A proof made with the library verifies at `POST /v1/verify`; every way of getting it
/// wrong is reported as `valid: false` with the failed check, and garbage as 400.
#[tokio::test]
async fn library_proof_verifies_at_the_service() {
    let app = spawn_app().await;
    let ks = KeyStore::open(&keys_dir()).unwrap();
    let opening = opening();
    let id = identity();
    let q = query("has-organ-transplant");
    let proven = zkmed_prover::prove(
        &ks,
        &ProveRequest {
            opening: &opening,
            identity: &id,
            query: &q,
            challenge: challenge_fr("text:lib"),
            scope: Fr::from(7u64),
        },
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let att: serde_json::Value = serde_json::from_str(&proven.attestation.to_json()).unwrap();
    let bound = |att: &serde_json::Value, challenge: &str, commitment: String| {
        json!({
            "attestation": att,
            "predicate": "has-organ-transplant",
            "challenge": challenge,
            "record_commitment": commitment,
        })
    };

    let v = expect(
        app.post(
            "/v1/verify",
            &bound(&att, "text:lib", dec(&commitment())),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["checks"], "bound");
    assert_eq!(v["answer"], true);
    // The report says which checks ran and where the commitment came from.
    let r = &v["report"];
    for check in ["key", "question", "challenge", "commitment", "proof"] {
        assert_eq!(r["checks"][check], "passed", "{check}: {r}");
    }
    assert_eq!(r["verified"], true);
    assert_eq!(r["commitment_source"]["origin"], "caller", "{r}");
    assert_eq!(r["commitment_source"]["root"], dec(&commitment()), "{r}");
    assert_eq!(r["freshness"]["rule"], "callers_choice", "{r}");

    // The binary form, hex-encoded, is accepted too.
    let bin = hex::encode(proven.attestation.to_bytes().unwrap());
    let v = expect(
        app.post("/v1/verify", &json!({ "attestation": bin }), None)
            .await,
        200,
    )
    .await;
    // A proof checked against no question, challenge or commitment is never "verified":
    // the report says the proof passed and that nothing bound it.
    assert_eq!(v["checks"], "proof_only");
    assert_eq!(v["verified"], false, "{v}");
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["answer"].is_null(), "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("not verified"),
        "{v}"
    );
    assert_eq!(v["report"]["checks"]["proof"], "passed", "{v}");
    assert_eq!(v["report"]["checks"]["commitment"], "not_run", "{v}");
    assert!(v["report"]["commitment_source"].is_null(), "{v}");

    // Wrong challenge, wrong commitment, wrong question: valid=false with the reason.
    let v = expect(
        app.post(
            "/v1/verify",
            &bound(&att, "text:other", dec(&commitment())),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(v["valid"], false);
    assert!(
        v["answer"].is_null(),
        "no answer without a valid proof: {v}"
    );
    assert!(v["reason"].as_str().unwrap().contains("challenge"), "{v}");
    let v = expect(
        app.post("/v1/verify", &bound(&att, "text:lib", "12345".into()), None)
            .await,
        200,
    )
    .await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("commitment"), "{v}");
    assert_eq!(v["report"]["checks"]["commitment"], "failed", "{v}");
    assert_eq!(v["report"]["checks"]["proof"], "not_run", "{v}");
    let mut other_q = bound(&att, "text:lib", dec(&commitment()));
    other_q["predicate"] = json!("no-chronic-conditions");
    let v = expect(app.post("/v1/verify", &other_q, None).await, 200).await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("query"), "{v}");

    // A changed public input (the answer flipped) fails the pairing check.
    let mut flipped = att.clone();
    flipped["public"]["answer"] = json!(false);
    let v = expect(
        app.post("/v1/verify", &json!({ "attestation": flipped }), None)
            .await,
        200,
    )
    .await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("pairing"), "{v}");

    // A tampered proof: a valid encoding of other points is rejected by the pairing, a
    // corrupted encoding is a malformed request.
    let proof = att["proof"].as_str().unwrap().to_string();
    let mut tampered = att.clone();
    let mut bytes = hex::decode(&proof).unwrap();
    bytes[5] ^= 1;
    tampered["proof"] = json!(hex::encode(&bytes));
    let r = app
        .post("/v1/verify", &json!({ "attestation": tampered }), None)
        .await;
    let status = r.status().as_u16();
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        (status == 200 && v["valid"] == false)
            || (status == 400 && v["message"].as_str().unwrap().contains("proof")),
        "tampered proof accepted? {status} {v}"
    );

    // Field-aliased public input (x + p) is malformed.
    let p_plus = (num_bigint::BigUint::parse_bytes(
        b"21888242871839275222246405745257275088548364400416034343698204186575808495617",
        10,
    )
    .unwrap()
        + num_bigint::BigUint::from(7u32))
    .to_string();
    let mut aliased = att.clone();
    aliased["public"]["scope"] = json!(p_plus);
    expect_error(
        app.post("/v1/verify", &json!({ "attestation": aliased }), None)
            .await,
        400,
        "attestation",
    )
    .await;

    // Half a binding is refused rather than silently downgraded to proof-only.
    expect_error(
        app.post(
            "/v1/verify",
            &json!({ "attestation": att, "challenge": "text:lib" }),
            None,
        )
        .await,
        400,
        "a bound check needs `predicate`/`query` and `challenge`",
    )
    .await;
    app.stop().await;
}
