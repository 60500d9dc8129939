//! `POST /v1/verify` reading the record commitment from chain: a real node (anvil), the
//! registries deployed, the test patient's identity minted and commitment anchored.

use crate::helpers::*;
use serde_json::json;
use zkmed_chain::backend::{Registry, RpcBackend};
use zkmed_core::field::Fr;
use zkmed_server::config::ChainSettings;

#[tokio::test]
async fn verify_reads_the_commitment_from_chain() {
    let node = zkmed_chain::testing::anvil();
    let url = node.endpoint();
    let key = |i| zkmed_chain::testing::key(&node, i);
    let mut gov = Registry::deploy(RpcBackend::connect(&url, &key(0)).unwrap()).unwrap();
    let d = gov.deployment;
    let mut hospital = Registry::attach(RpcBackend::connect(&url, &key(1)).unwrap(), d);
    gov.accredit(hospital.backend_account(), "St. Example")
        .unwrap();
    let token = hospital
        .mint(node.addresses()[2], &identity().commitment(), &[], 0)
        .unwrap();
    hospital.anchor(token, &commitment(), false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    std::fs::write(&deployment, serde_json::to_vec(&d).unwrap()).unwrap();

    let app = spawn_app_with(Options {
        chain: Some(ChainSettings {
            cache_s: 0,
            probe_interval_s: 1,
            ..ChainSettings::new(url.clone(), deployment.clone())
        }),
        ..Options::default()
    })
    .await;
    let att = expect(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:chain"),
            None,
        )
        .await,
        200,
    )
    .await["attestation"]
        .clone();
    let body = |challenge: &str| json!({"attestation": att, "predicate": "has-organ-transplant", "challenge": challenge});
    let v = expect(app.post("/v1/verify", &body("text:chain"), None).await, 200).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["checks"], "bound");
    assert_eq!(v["commitment_source"], "chain");
    let r = &v["report"];
    assert_eq!(r["commitment_source"]["origin"], "chain", "{r}");
    assert_eq!(
        r["commitment_source"]["chain"],
        zkmed_server::commitments::node_label(&url),
        "{r}"
    );
    assert_eq!(r["commitment_source"]["root"], dec(&commitment()), "{r}");
    assert_eq!(r["freshness"]["rule"], "current_only", "{r}");
    // The node answers: ready.
    app.wait_ready().await;
    // Still bound to the question and the challenge.
    let v = expect(app.post("/v1/verify", &body("text:other"), None).await, 200).await;
    assert_eq!(v["valid"], false, "{v}");

    // A correction: the attestation's root is no longer current.
    hospital.anchor(token, &Fr::from(999u64), true).unwrap();
    let v = expect(app.post("/v1/verify", &body("text:chain"), None).await, 200).await;
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("current"), "{v}");
    // The caller may still give the commitment itself.
    let mut with = body("text:chain");
    with["record_commitment"] = json!(dec(&commitment()));
    let v = expect(app.post("/v1/verify", &with, None).await, 200).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["commitment_source"], "caller");

    // The node goes away: 503 (nothing was decided), never "invalid"; and the service
    // says it is not ready (the probe runs every second here).
    drop(node);
    expect_error(
        app.post("/v1/verify", &body("text:chain"), None).await,
        503,
        "could not be checked on chain",
    )
    .await;
    let t = std::time::Instant::now();
    loop {
        let r = app.get("/readyz").await;
        if r.status() == 503 {
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(v["detail"].as_str().unwrap().contains("chain"), "{v}");
            break;
        }
        assert!(t.elapsed().as_secs() < 10, "still ready with the node gone");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;

    // Without [chain], the commitment is required; a bad deployment file fails at start.
    let plain = spawn_app().await;
    expect_error(
        plain.post("/v1/verify", &body("text:chain"), None).await,
        400,
        "record_commitment",
    )
    .await;
    plain.stop().await;
    std::fs::write(&deployment, b"{}").unwrap();
    let o = Options {
        chain: Some(ChainSettings {
            cache_s: 0,
            ..ChainSettings::new(url, deployment.clone())
        }),
        ..Options::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let e = zkmed_server::Application::build(settings(&o, tmp.path()))
        .err()
        .expect("a bad deployment file is a start-up error")
        .to_string();
    assert!(
        e.contains("[chain]") && e.contains("not a deployment"),
        "{e}"
    );
}
