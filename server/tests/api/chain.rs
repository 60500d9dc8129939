//! `POST /v1/verify` reading the roots from chain: a real node (anvil), the contracts
//! deployed, the test patient's identity minted and its genesis state anchored by one
//! issuer batch; the window (default 1 h, per request `window_s` / `current_only`).

use crate::helpers::*;
use serde_json::json;
use zkmed_chain::backend::{Registry, RpcBackend};
use zkmed_server::config::ChainSettings;
use zkmed_server::genesis::{anchor_genesis, GenesisPatient};

#[tokio::test]
async fn verify_reads_the_roots_from_chain() {
    let node = zkmed_chain::testing::anvil();
    let url = node.endpoint();
    let key = |i| zkmed_chain::testing::key(&node, i);
    let mut gov = Registry::deploy(RpcBackend::connect(&url, &key(0)).unwrap()).unwrap();
    let d = gov.deployment;
    let mut hospital = Registry::attach(RpcBackend::connect(&url, &key(1)).unwrap(), d);
    gov.accredit(hospital.backend_account(), "St. Example")
        .unwrap();
    let idc = identity().commitment();
    let token = hospital.mint(node.addresses()[2], &idc, &[], 0).unwrap();
    let rho = zkmed_core::field::parse_fr(RHO).unwrap();
    let batch = anchor_genesis(
        &mut hospital,
        &[GenesisPatient {
            token,
            identity_commitment: idc,
            record_commitment: commitment(),
            rho,
        }],
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let state = serde_json::to_value(&batch.states[0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    std::fs::write(&deployment, serde_json::to_vec(&d).unwrap()).unwrap();

    let app = spawn_app_with(Options {
        chain: Some(ChainSettings {
            probe_interval_s: 1,
            ..ChainSettings::new(url.clone(), deployment.clone())
        }),
        ..Options::default()
    })
    .await;
    let mut prove = prove_body("has-organ-transplant", "text:chain");
    prove["state"] = state;
    let att =
        expect(app.post("/v1/attestations", &prove, None).await, 200).await["attestation"].clone();
    let body = |request: &str| json!({"attestation": att, "predicate": "has-organ-transplant", "request": request, "scope": SCOPE});
    let v = expect(app.post("/v1/verify", &body("text:chain"), None).await, 200).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["checks"], "bound");
    assert_eq!(v["root_source"], "chain");
    assert_eq!(v["window_s"], 3600, "the default window is one hour: {v}");
    let r = &v["report"];
    assert_eq!(
        r["root_source"],
        format!("chain at {}", zkmed_server::roots::node_label(&url)),
        "{r}"
    );
    assert_eq!(r["roots"]["identity"]["status"], "current", "{r}");
    assert_eq!(r["roots"]["state"]["status"], "current", "{r}");
    assert_eq!(
        r["roots"]["state"]["root"],
        dec(&batch.states[0].state_root),
        "{r}"
    );
    // The node answers: ready.
    app.wait_ready().await;
    // Still bound to the question and the challenge.
    let v = expect(app.post("/v1/verify", &body("text:other"), None).await, 200).await;
    assert_eq!(v["valid"], false, "{v}");

    // Another identity minted: the attestation's identity root is superseded. Within the
    // window it is accepted and reported as superseded; "current roots only" refuses it.
    hospital
        .mint(
            node.addresses()[3],
            &zkmed_core::field::Fr::from(4242u64),
            &[],
            0,
        )
        .unwrap();
    let v = expect(app.post("/v1/verify", &body("text:chain"), None).await, 200).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(
        v["report"]["roots"]["identity"]["status"], "superseded",
        "{v}"
    );
    assert!(
        v["report"]["roots"]["identity"]["superseded_s_ago"].is_u64(),
        "{v}"
    );
    for strict in [json!({"current_only": true}), json!({"window_s": 0})] {
        let mut b = body("text:chain");
        b.as_object_mut()
            .unwrap()
            .extend(strict.as_object().unwrap().clone());
        let v = expect(app.post("/v1/verify", &b, None).await, 200).await;
        assert_eq!(v["valid"], false, "{strict}: {v}");
        assert_eq!(v["window_s"], 0, "{v}");
        assert!(
            v["reason"].as_str().unwrap().contains("identity root"),
            "{v}"
        );
    }
    let mut contradictory = body("text:chain");
    contradictory["current_only"] = json!(true);
    contradictory["window_s"] = json!(60);
    expect_error(
        app.post("/v1/verify", &contradictory, None).await,
        400,
        "contradict",
    )
    .await;
    // The caller may still vouch for roots itself.
    let mut with = body("text:chain");
    with["trusted_roots"] = json!({"identity": [dec(&batch.states[0].identity_root)], "state": [dec(&batch.states[0].state_root)]});
    let v = expect(app.post("/v1/verify", &with, None).await, 200).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["root_source"], "caller");

    // The issuer is suspended: every state root from before is refused, whatever the
    // window.
    gov.suspend(hospital.backend_account(), "audit").unwrap();
    let v = expect(app.post("/v1/verify", &body("text:chain"), None).await, 200).await;
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("state root"), "{v}");

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

    // Without [chain], trusted roots are required; a bad deployment file fails at start.
    let plain = spawn_app().await;
    expect_error(
        plain.post("/v1/verify", &body("text:chain"), None).await,
        400,
        "trusted_roots",
    )
    .await;
    plain.stop().await;
    std::fs::write(&deployment, b"{}").unwrap();
    let o = Options {
        chain: Some(ChainSettings::new(url, deployment.clone())),
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
