//! What the service refuses at the HTTP level — another method than a route's (405 +
//! `Allow`), cross-origin calls unless configured (CORS), clients that never finish their
//! request (408, connection closed, no prover slot held), a chain node that does not answer
//! (not ready) — and what it writes is private (directories 0700, job files 0600).

use crate::helpers::*;
use reqwest::Method;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zkmed_server::config::ChainSettings;

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        ("GET", "/v1/attestations", "POST"),
        ("PUT", "/v1/attestations", "POST"),
        ("GET", "/v1/jobs", "POST"),
        (
            "DELETE",
            "/v1/jobs/00000000-0000-4000-8000-000000000000",
            "GET",
        ),
        ("GET", "/v1/verify", "POST"),
        ("POST", "/v1/circuits", "GET"),
        ("POST", "/v1/keys/exists-v3/vk", "GET"),
        ("POST", "/v1/predicates", "GET"),
        ("POST", "/v1/openapi.json", "GET"),
        ("POST", "/healthz", "GET"),
        ("DELETE", "/readyz", "GET"),
        ("POST", "/metrics", "GET"),
    ] {
        let r = app
            .client
            .request(method.parse().unwrap(), app.url(path))
            .send()
            .await
            .unwrap();
        let got = r
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(got.as_deref(), Some(allow), "{method} {path}");
        let v = expect(r, 405).await;
        assert_eq!(v["error"], "method_not_allowed", "{method} {path}: {v}");
    }
    // An unknown path is still 404.
    expect_error(app.get("/v2/nothing").await, 404, "no route").await;
    app.stop().await;
}

fn preflight(app: &TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.client
        .request(Method::OPTIONS, app.url("/v1/verify"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_lowercase())
}

#[tokio::test]
async fn cors_is_off_by_default_and_opens_to_configured_origins() {
    let page = "https://insurer.example";
    // Off: no CORS headers, so a browser never hands the answer to another origin's page.
    let app = spawn_app().await;
    let r = preflight(&app, page).send().await.unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert_eq!(r.status(), 405, "a preflight is just an OPTIONS request");
    let r = app
        .client
        .post(app.url("/v1/verify"))
        .header("origin", page)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    app.stop().await;

    let app = spawn_app_with(Options {
        cors: vec![page.into()],
        ..Default::default()
    })
    .await;
    let r = preflight(&app, page).send().await.unwrap();
    assert!(r.status().is_success(), "preflight: {}", r.status());
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(page)
    );
    let methods = header(&r, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("post"), "{methods}");
    let headers = header(&r, "access-control-allow-headers").unwrap_or_default();
    assert!(
        headers.contains("authorization") && headers.contains("content-type"),
        "{headers}"
    );
    // The call itself carries the header (here a 400: an empty request).
    let r = app
        .client
        .post(app.url("/v1/verify"))
        .header("origin", page)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(page)
    );
    assert_eq!(r.status(), 400);
    // Another origin is not allowed.
    let r = preflight(&app, "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    assert!(!r.status().is_success(), "{}", r.status());
    app.stop().await;
}

/// A request head and the start of a body that never ends.
const HALF_BODY: &[u8] = b"POST /v1/attestations HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{\"opening\": {";
/// The start of a request head that never ends.
const HALF_HEAD: &[u8] = b"POST /v1/attestations HTTP/1.1\r\nhost: localhost\r\ncontent-";

async fn open(port: u16, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

/// Twice the pool's capacity of clients send half a request and hold on; a real request
/// still gets its proof (before, each half-sent body held a prover slot until the client
/// gave up: the real request got 429).
#[tokio::test]
async fn half_sent_requests_do_not_starve_the_prover_pool() {
    let app = spawn_app_with(Options {
        workers: 1,
        queue: 1,
        header_timeout_s: 60,
        body_timeout_s: 60,
        ..Default::default()
    })
    .await;
    app.wait_ready().await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(open(app.port, HALF_BODY).await);
        held.push(open(app.port, HALF_HEAD).await);
    }
    // Let the server read every head it was sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = expect(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:starve"),
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(v["answer"], true);
    drop(held);
    app.stop().await;
}

/// A client that sends half a head or half a body is answered 408 and its connection is
/// closed within the configured timeouts (1 s here).
#[tokio::test]
async fn half_sent_requests_are_dropped_within_the_timeouts() {
    let app = spawn_app_with(Options {
        header_timeout_s: 1,
        body_timeout_s: 1,
        ..Default::default()
    })
    .await;
    let t = Instant::now();
    let clients = [
        ("half a body", open(app.port, HALF_BODY).await),
        ("half a head", open(app.port, HALF_HEAD).await),
    ];
    for (what, mut s) in clients {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(6), s.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok(),
            "{what}: the connection is still open after 6 s"
        );
        let elapsed = t.elapsed();
        let text = String::from_utf8_lossy(&buf);
        assert!(
            elapsed < Duration::from_millis(3500),
            "{what}: closed only after {elapsed:?}"
        );
        assert!(text.starts_with("HTTP/1.1 408"), "{what}: {text}");
    }
    app.stop().await;
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn job_files_and_the_data_directory_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let app = spawn_app_with(Options {
        data_dir: Some(data.clone()),
        ..Default::default()
    })
    .await;
    app.wait_ready().await;
    let job = expect(
        app.post(
            "/v1/jobs",
            &prove_body("has-organ-transplant", "text:private"),
            None,
        )
        .await,
        202,
    )
    .await;
    let loc = job["location"].as_str().unwrap().to_string();
    let t = Instant::now();
    while expect(app.get(&loc).await, 200).await["status"] != "done" {
        assert!(t.elapsed() < Duration::from_secs(60), "job never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let file = data
        .join("jobs")
        .join(format!("{}.json", job["id"].as_str().unwrap()));
    assert_eq!(mode(&data), 0o700, "data_dir");
    assert_eq!(mode(&data.join("jobs")), 0o700, "jobs dir");
    assert_eq!(mode(&file), 0o600, "job file");
    app.stop().await;
}

fn deployment_file(dir: &Path, verifier: &str) -> std::path::PathBuf {
    let f = dir.join("deployment.json");
    std::fs::write(
        &f,
        serde_json::json!({
            "issuers": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            "identity": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
            "records": "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
            "verifier": verifier,
            "state": "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
            "poseidon": "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
        })
        .to_string(),
    )
    .unwrap();
    f
}

/// With `[chain]` pointing at a port nobody listens on: `/readyz` is 503 and says why, and
/// a verification that needs the chain is a quick 503 (the RPC timeouts hold).
#[tokio::test]
async fn not_ready_while_the_chain_node_is_unreachable() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let deployment = deployment_file(dir.path(), "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9");
    let app = spawn_app_with(Options {
        chain: Some(ChainSettings {
            connect_timeout_s: 1,
            request_timeout_s: 1,
            read_retries: 1,
            probe_interval_s: 1,
            ..ChainSettings::new(format!("http://127.0.0.1:{closed}"), deployment)
        }),
        ..Default::default()
    })
    .await;
    let t = Instant::now();
    loop {
        let r = app.get("/readyz").await;
        assert_eq!(r.status(), 503, "ready with the node unreachable");
        let v: serde_json::Value = r.json().await.unwrap();
        if v["detail"]
            .as_str()
            .unwrap_or("")
            .contains("does not answer")
        {
            assert_eq!(v["status"], "failed", "{v}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no chain verdict: {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let att = expect(
        app.post(
            "/v1/attestations",
            &prove_body("has-organ-transplant", "text:dead"),
            None,
        )
        .await,
        200,
    )
    .await["attestation"]
        .clone();
    let t = Instant::now();
    expect_error(
        app.post(
            "/v1/verify",
            &serde_json::json!({"attestation": att, "predicate": "has-organ-transplant", "request": "text:dead", "scope": SCOPE}),
            None,
        )
        .await,
        503,
        "could not be checked on chain",
    )
    .await;
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    app.stop().await;
}

/// Addresses the service reads (the deployment file) pass their EIP-55 checksum when
/// written in mixed case: a mistyped one is a start-up error, never used.
#[tokio::test]
async fn a_mixed_case_address_must_pass_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let build = |verifier: &str| {
        let o = Options {
            chain: Some(ChainSettings::new(
                "http://127.0.0.1:9",
                deployment_file(dir.path(), verifier),
            )),
            ..Default::default()
        };
        zkmed_server::Application::build(settings(&o, data.path()))
    };
    // The EIP-55 spelling is accepted; one flipped letter case is refused.
    let app = build("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9").expect("a valid checksum");
    let handle = app.handle();
    let done = tokio::spawn(app.run_until_stopped());
    handle.stop(false).await;
    done.await.unwrap().unwrap();
    let e = build("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0FC9")
        .err()
        .expect("a bad checksum is refused")
        .to_string();
    assert!(e.contains("checksum"), "{e}");
}
