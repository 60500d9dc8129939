//! Every route against the real server: happy paths, and interop with the embeddable
//! verifier in both directions.

use crate::helpers::*;
use serde_json::json;
use sha2::{Digest, Sha256};
use zkmed_core::attestation::Attestation;
use zkmed_core::field::Fr;
use zkmed_core::predicates;
use zkmed_prover::{KeyStore, ProveRequest};
use zkmed_verifier::{KeySet, RootPolicy, VerifyError};

fn field(text: &str) -> Fr {
    zkmed_server::input::parse_field("request", text).unwrap()
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
    let exists = circuits.iter().find(|c| c["id"] == "exists-v3").unwrap();
    let manifest = zkmed_core::manifest::Manifest::load(&keys_dir()).unwrap();
    let entry = manifest.get("exists-v3").unwrap();
    assert_eq!(exists["constraints"], entry.constraints);
    assert!(entry.constraints > 1000);
    assert_eq!(exists["public_inputs"], 6);
    assert_eq!(exists["loaded"], true, "preloaded before ready");
    assert_eq!(exists["vk_sha256"], entry.vk.sha256.as_str());

    // The verifying key, byte for byte the pinned file.
    let r = app.get("/v1/keys/exists-v3/vk").await;
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
    zkmed_verifier::VerifierKey::from_bytes("exists-v3", &bytes).unwrap();
    let j = expect(app.get("/v1/keys/exists-v3/vk?format=json").await, 200).await;
    assert_eq!(j["vk"], hex::encode(&bytes));
    expect_error(app.get("/v1/keys/nope-v9/vk").await, 404, "nope-v9").await;
    expect_error(
        app.get("/v1/keys/exists-v3/vk?format=xml").await,
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
/// question, the challenge and the anchored roots); a bundle + salt seed request proves
/// about the same anchored state as the opening; the response names no patient.
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
    assert_eq!(v["circuit"], "exists-v3");
    assert_eq!(v["challenge"], dec(&challenge_of("text:nonce-1")));
    assert_eq!(v["state_root"], dec(&anchored().1.state_root));
    assert!(v.get("record_commitment").is_none(), "{v}");
    let text = v.to_string();
    for private in [dec(&commitment()), dec(&identity().commitment())] {
        assert!(
            !text.contains(&private),
            "the response names the patient: {v}"
        );
    }
    let att = Attestation::from_json(v["attestation"].to_string().as_bytes()).unwrap();
    let keys = KeySet::load_manifest_dir(&keys_dir()).unwrap();
    let chain = RootPolicy::new(&anchored().0);
    zkmed_verifier::verify(
        &keys,
        &att,
        &query("has-organ-transplant"),
        &challenge_of("text:nonce-1"),
        &chain,
    )
    .expect("service proof verifies in the library");
    assert!(matches!(
        zkmed_verifier::verify(
            &keys,
            &att,
            &query("has-organ-transplant"),
            &challenge_of("text:nonce-2"),
            &chain,
        ),
        Err(VerifyError::ChallengeMismatch { .. })
    ));

    // From the bundle + salt seed: same commitment, a NO answer via the scan circuit.
    let body = json!({
        "bundle": bundle_json(),
        "salt_seed": SALT_SEED,
        "identity_secret": IDENTITY,
        "nullifier_key": NULLIFIER_KEY,
        "state": state_json(),
        "predicate": "no-chronic-conditions",
        "request": "text:nonce-3",
        "scope": SCOPE,
    });
    let v = expect(app.post("/v1/attestations", &body, None).await, 200).await;
    assert_eq!(v["state_root"], dec(&anchored().1.state_root));
    assert_eq!(v["answer"], false);
    assert_eq!(v["circuit"], "scan64-v3");
    let att = Attestation::from_json(v["attestation"].to_string().as_bytes()).unwrap();
    zkmed_verifier::verify(
        &keys,
        &att,
        &query("no-chronic-conditions"),
        &challenge_of("text:nonce-3"),
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
        m.contains(r#"zkmed_prove_duration_seconds_count{circuit="exists-v3"} 1"#),
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
            state: &anchored().1,
            query: &q,
            request: field("text:lib"),
            scope: zkmed_server::input::parse_field("scope", SCOPE).unwrap(),
        },
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let att: serde_json::Value = serde_json::from_str(&proven.attestation.to_json()).unwrap();
    let bound = |att: &serde_json::Value, request: &str, roots: serde_json::Value| {
        json!({
            "attestation": att,
            "predicate": "has-organ-transplant",
            "request": request,
            "scope": SCOPE,
            "trusted_roots": roots,
        })
    };

    let v = expect(
        app.post(
            "/v1/verify",
            &bound(&att, "text:lib", trusted_roots()),
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
    assert_eq!(v["root_source"], "caller", "{v}");
    // The report says which checks ran and which roots were used.
    let r = &v["report"];
    for check in ["key", "question", "challenge", "roots", "proof"] {
        assert_eq!(r["checks"][check], "passed", "{check}: {r}");
    }
    assert_eq!(r["verified"], true);
    assert_eq!(r["root_source"], "roots given by the caller", "{r}");
    let s = &anchored().1;
    assert_eq!(r["roots"]["identity"]["root"], dec(&s.identity_root), "{r}");
    assert_eq!(r["roots"]["state"]["root"], dec(&s.state_root), "{r}");
    assert_eq!(r["roots"]["state"]["status"], "current", "{r}");

    // The binary form, hex-encoded, is accepted too.
    let bin = hex::encode(proven.attestation.to_bytes().unwrap());
    let v = expect(
        app.post("/v1/verify", &json!({ "attestation": bin }), None)
            .await,
        200,
    )
    .await;
    // A proof checked against no question, challenge or roots is never "verified":
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
    assert_eq!(v["report"]["checks"]["roots"], "not_run", "{v}");
    assert!(v["report"]["root_source"].is_null(), "{v}");

    // Wrong request, wrong scope, roots nobody anchored, wrong question: valid=false with
    // the reason.
    let v = expect(
        app.post(
            "/v1/verify",
            &bound(&att, "text:other", trusted_roots()),
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
    let mut other_scope = bound(&att, "text:lib", trusted_roots());
    other_scope["scope"] = json!("text:another-verifier");
    let v = expect(app.post("/v1/verify", &other_scope, None).await, 200).await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("challenge"), "{v}");
    let unknown = json!({"identity": [dec(&anchored().1.identity_root)], "state": ["12345"]});
    let v = expect(
        app.post("/v1/verify", &bound(&att, "text:lib", unknown), None)
            .await,
        200,
    )
    .await;
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("state root"), "{v}");
    assert_eq!(v["report"]["checks"]["roots"], "failed", "{v}");
    assert_eq!(v["report"]["checks"]["proof"], "not_run", "{v}");
    // A window applies to the chain's roots, not to roots the caller vouches for.
    let mut windowed = bound(&att, "text:lib", trusted_roots());
    windowed["window_s"] = json!(60);
    expect_error(
        app.post("/v1/verify", &windowed, None).await,
        400,
        "trusted_roots",
    )
    .await;
    // Without trusted roots, a server with no [chain] says what is missing.
    let mut no_roots = bound(&att, "text:lib", trusted_roots());
    no_roots.as_object_mut().unwrap().remove("trusted_roots");
    expect_error(
        app.post("/v1/verify", &no_roots, None).await,
        400,
        "trusted_roots",
    )
    .await;
    let mut other_q = bound(&att, "text:lib", trusted_roots());
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
    aliased["public"]["nullifier"] = json!(p_plus);
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
            &json!({ "attestation": att, "request": "text:lib" }),
            None,
        )
        .await,
        400,
        "a bound check needs `predicate`/`query` and `request`",
    )
    .await;
    app.stop().await;
}
