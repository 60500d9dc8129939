//! What the service refuses, and how: 401/403, 400 naming the problem, 413, 429, 503, 404.

use crate::helpers::*;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn bearer_tokens_401_and_403() {
    let app = spawn_app_with(Options {
        tokens: true,
        ..Default::default()
    })
    .await;
    let body = prove_body("has-organ-transplant", "text:auth");
    // No token, a malformed header, an unknown token: 401 with a Bearer challenge.
    let r = app.post("/v1/attestations", &body, None).await;
    assert_eq!(
        r.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"zkmed\""
    );
    expect_error(r, 401, "missing bearer token").await;
    let r = app
        .client
        .post(app.url("/v1/attestations"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_error(r, 401, "malformed").await;
    expect_error(
        app.post("/v1/attestations", &body, Some("not-a-real-token"))
            .await,
        401,
        "unknown",
    )
    .await;
    expect_error(
        app.post("/v1/jobs", &body, Some("not-a-real-token")).await,
        401,
        "unknown",
    )
    .await;
    // A verify-only token may not prove; a prove-only token may not verify.
    expect_error(
        app.post("/v1/attestations", &body, Some(VERIFY_TOKEN))
            .await,
        403,
        "insurer",
    )
    .await;
    expect_error(
        app.post("/v1/verify", &json!({"attestation": {}}), Some(PROVE_TOKEN))
            .await,
        403,
        "app",
    )
    .await;
    // Public routes stay public.
    assert_eq!(app.get("/v1/circuits").await.status(), 200);
    assert_eq!(app.get("/healthz").await.status(), 200);
    // The right token works, and the job it creates is visible to it only.
    app.wait_ready().await;
    let v = expect(
        app.post("/v1/attestations", &body, Some(PROVE_TOKEN)).await,
        200,
    )
    .await;
    assert_eq!(v["answer"], true);
    let v = expect(
        app.post(
            "/v1/verify",
            &json!({"attestation": v["attestation"]}),
            Some(VERIFY_TOKEN),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(v["report"]["checks"]["proof"], "passed", "{v}");
    assert_eq!(v["verified"], false, "a proof alone is never verified: {v}");
    let job = expect(app.post("/v1/jobs", &body, Some(PROVE_TOKEN)).await, 202).await;
    let loc = job["location"].as_str().unwrap();
    let get = |token: &'static str| app.client.get(app.url(loc)).bearer_auth(token).send();
    assert_eq!(get(PROVE_TOKEN).await.unwrap().status(), 200);
    expect_error(get(BOTH_TOKEN).await.unwrap(), 404, "not yours").await;
    expect_error(get(VERIFY_TOKEN).await.unwrap(), 403, "prove").await;
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_400_with_the_problem_named() {
    let app = spawn_app().await;
    let post = |body: serde_json::Value| app.post_owned("/v1/attestations", body);
    let base = prove_body("has-organ-transplant", "text:bad");
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };

    expect_error(
        app.post_raw("/v1/attestations", b"{not json".to_vec())
            .await,
        400,
        "JSON",
    )
    .await;
    expect_error(
        app.post_raw("/v1/attestations", b"".to_vec()).await,
        400,
        "JSON",
    )
    .await;
    expect_error(
        post(with("extra", json!(1))).await,
        400,
        "unknown field `extra`",
    )
    .await;
    expect_error(
        post(without("identity_secret")).await,
        400,
        "identity_secret",
    )
    .await;
    expect_error(post(without("nullifier_key")).await, 400, "nullifier_key").await;
    expect_error(post(without("request")).await, 400, "request").await;
    expect_error(post(with("request", json!("0xzz"))).await, 400, "`request`").await;
    // The anchored state: missing, malformed (its secret never echoed), or not anchoring
    // this patient's records (another rho): clear errors, never an unsatisfiable proof.
    expect_error(post(without("state")).await, 400, "state").await;
    let mut st = state_json();
    st["rho"] = json!("31337313373133731337x");
    let msg = expect_error(post(with("state", st)).await, 400, "`state`").await;
    assert!(!msg.contains("31337"), "the state's rho was echoed: {msg}");
    let mut st = state_json();
    st["rho"] = json!("42");
    expect_error(
        post(with("state", st)).await,
        400,
        "not under this global state root",
    )
    .await;
    // p itself is not a canonical field element.
    expect_error(
        post(with(
            "request",
            json!("21888242871839275222246405745257275088548364400416034343698204186575808495617"),
        ))
        .await,
        400,
        "canonical",
    )
    .await;
    expect_error(
        post(with("predicate", json!("no-such-predicate"))).await,
        400,
        "no-such-predicate",
    )
    .await;
    expect_error(post(without("predicate")).await, 400, "predicate").await;
    let mut both = base.clone();
    both["query"] = json!({"version": 1});
    expect_error(post(both).await, 400, "not both").await;
    let mut inline = without("predicate");
    inline["query"] = json!({"version": 1, "records": {"kind": "Spaceship", "quantifier": "exists", "where": []}});
    expect_error(post(inline).await, 400, "`query`").await;
    let mut inline = without("predicate");
    inline["query"] = json!({"version": 99});
    expect_error(post(inline).await, 400, "`query`").await;

    // Records: no records, both, a broken opening, a broken bundle, a bundle without seed.
    expect_error(post(without("opening")).await, 400, "missing the records").await;
    let mut b = base.clone();
    b["bundle"] = bundle_json().clone();
    expect_error(post(b).await, 400, "not both").await;
    let mut o = opening_json().clone();
    o["version"] = json!(7);
    expect_error(post(with("opening", o)).await, 400, "opening").await;
    let mut b = without("opening");
    b["bundle"] = json!({"resourceType": "Patient"});
    b["salt_seed"] = json!(SALT_SEED);
    expect_error(post(b).await, 400, "`bundle`").await;
    let mut b = without("opening");
    b["bundle"] = bundle_json().clone();
    expect_error(post(b).await, 400, "salt_seed").await;
    let mut b = without("opening");
    b["bundle"] = bundle_json().clone();
    b["salt_seed"] = json!("abc");
    expect_error(post(b).await, 400, "64 hex digits").await;

    // The identity secret: wrong one, malformed one (and never echoed back).
    expect_error(
        post(with("identity_secret", json!("12345"))).await,
        400,
        "does not match",
    )
    .await;
    let secret_ish = "31337313373133731337313373133731337x";
    let msg = expect_error(
        post(with("identity_secret", json!(secret_ish))).await,
        400,
        "identity_secret",
    )
    .await;
    assert!(!msg.contains("31337"), "the secret was echoed: {msg}");
    let msg = expect_error(
        post(with("identity_secret", json!(3133731337313373133u64))).await,
        400,
        "invalid type",
    )
    .await;
    assert!(!msg.contains("31337"), "the secret was echoed: {msg}");

    // Verify: garbage attestations.
    let v = |body: serde_json::Value| app.post_owned("/v1/verify", body);
    expect_error(v(json!({})).await, 400, "attestation").await;
    expect_error(
        v(json!({"attestation": {"version": 1}})).await,
        400,
        "attestation",
    )
    .await;
    expect_error(v(json!({"attestation": "zz"})).await, 400, "not hex").await;
    expect_error(v(json!({"attestation": "00"})).await, 400, "attestation").await;

    // Jobs: unknown id, not an id.
    expect_error(
        app.get("/v1/jobs/00000000-0000-4000-8000-000000000000")
            .await,
        404,
        "no job",
    )
    .await;
    expect_error(app.get("/v1/jobs/not-a-uuid").await, 404, "no job").await;
    let m = app.metrics().await;
    assert!(
        m.contains(r#"route="/v1/attestations",status="400""#),
        "{m}"
    );
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(Options {
        prove_limit: 64 * 1024,
        ..Default::default()
    })
    .await;
    // An opening is far over 64 KiB.
    expect_error(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:x"),
            None,
        )
        .await,
        413,
        "limit",
    )
    .await;
    // Same without Content-Length (chunked): caught while streaming.
    let big = serde_json::to_vec(&prove_body("has-organ-transplant", "text:x")).unwrap();
    let stream = futures_util::stream::iter(
        big.chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let r = app
        .client
        .post(app.url("/v1/attestations"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    expect_error(r, 413, "limit").await;
    // Verify has its own, smaller limit.
    let huge = json!({"attestation": {"pad": "x".repeat(100_000)}});
    expect_error(app.post("/v1/verify", &huge, None).await, 413, "limit").await;
    app.stop().await;
}

/// One worker, no queue: while a proof runs, the next request gets 429 + Retry-After.
#[tokio::test]
async fn queue_full_is_429_with_retry_after() {
    let app = spawn_app_with(Options {
        workers: 1,
        queue: 0,
        ..Default::default()
    })
    .await;
    app.wait_ready().await;
    let slow = prove_body("no-chronic-conditions", "text:slow"); // scan64: about a second
    let first = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/v1/attestations");
        async move { client.post(url).json(&slow).send().await.unwrap() }
    });
    // Wait until the first proof holds the only slot.
    let t = Instant::now();
    while !app.metrics().await.contains("zkmed_proofs_in_flight 1") {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "first proof never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let r = app
        .post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:2"),
            None,
        )
        .await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    expect_error(r, 429, "queue is full").await;
    // Jobs are admitted by the same bound.
    expect_error(
        app.post(
            "/v1/jobs",
            &prove_body("has-organ-transplant", "text:3"),
            None,
        )
        .await,
        429,
        "queue is full",
    )
    .await;
    let first = expect(first.await.unwrap(), 200).await;
    assert_eq!(first["answer"], false);
    assert!(app
        .metrics()
        .await
        .contains(r#"zkmed_rejected_total{reason="queue_full"} 2"#));
    // The slot is free again.
    expect(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:4"),
            None,
        )
        .await,
        200,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn deadline_and_missing_circuit_are_503() {
    let app = spawn_app_with(Options {
        timeout_s: 0,
        ..Default::default()
    })
    .await;
    expect_error(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:t"),
            None,
        )
        .await,
        503,
        "did not finish within 0 s",
    )
    .await;
    assert!(app
        .metrics()
        .await
        .contains(r#"zkmed_rejected_total{reason="timeout"} 1"#));
    app.stop().await;

    // A scan over the patient's 207 observations needs scan512-v3, whose keys this server
    // does not have: 503 naming the circuit, never a wrong answer.
    let app = spawn_app_with(Options {
        keys: Some(exists_only_keys()),
        ..Default::default()
    })
    .await;
    let body = json!({
        "opening": opening_json(),
        "identity_secret": IDENTITY,
        "nullifier_key": NULLIFIER_KEY,
        "state": state_json(),
        "query": {"version": 1, "records": {"kind": "Observation", "quantifier": "none", "where": [{"code_in": ["loinc|0000-0"]}]}},
        "request": "text:cap",
    });
    expect_error(
        app.post("/v1/attestations", &body, None).await,
        503,
        "scan512-v3",
    )
    .await;
    app.stop().await;
}
