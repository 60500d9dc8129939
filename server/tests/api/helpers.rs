//! `spawn_app()`: the real server on a free loopback port, with the shared test keys, a
//! fresh data directory, and a patient fixture.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use zkmed_circuits::CircuitId;
use zkmed_core::field::{fr_to_dec, Fr};
use zkmed_prover::IdentitySecret;
use zkmed_records::{import_bundle, Opening};
use zkmed_server::config::{Scope, Settings, TokenSettings};
use zkmed_server::Application;
use zkmed_state::note::{genesis_nullifier, note_tag, state_note};
use zkmed_state::{AnchoredState, LocalState};

pub const PROVE_TOKEN: &str = "test-prove-token";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const BOTH_TOKEN: &str = "test-both-token";
pub const SALT_SEED: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
/// The test patient's identity secret (a distinctive number, so a leak is easy to spot).
pub const IDENTITY: &str = "987654321987654321987654321";
/// The test patient's nullifier key (distinctive too).
pub const NULLIFIER_KEY: &str = "123456789123456789123456789";
/// The test patient's note blinding `rho` (distinctive too).
pub const RHO: &str = "555555555666666666777777777";

pub fn keys_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        zkmed_prover::testing::test_keys(&[CircuitId::Exists, CircuitId::Scan64])
            .dir()
            .to_path_buf()
    })
    .clone()
}

/// A key directory with exists-v3 only (a copy of its pinned files and manifest entry):
/// a server that cannot run scans.
pub fn exists_only_keys() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = keys_dir();
        let dir = tempfile::tempdir().unwrap();
        let mut m = zkmed_core::manifest::Manifest::load(&src).unwrap();
        m.circuits.retain(|c| c.id == "exists-v3");
        for f in [&m.circuits[0].pk.file, &m.circuits[0].vk.file] {
            std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
        }
        m.save(dir.path()).unwrap();
        dir
    })
    .path()
    .to_path_buf()
}

pub fn bundle_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo/jonathan-hermiston.json")
}

pub fn bundle_json() -> &'static Value {
    static B: OnceLock<Value> = OnceLock::new();
    B.get_or_init(|| serde_json::from_slice(&std::fs::read(bundle_path()).unwrap()).unwrap())
}

pub fn identity() -> IdentitySecret {
    IdentitySecret::from_parts(
        zkmed_core::field::parse_fr(IDENTITY).unwrap(),
        zkmed_core::field::parse_fr(NULLIFIER_KEY).unwrap(),
    )
}

/// The chain and the issuer in memory: the test patient's identity minted and its genesis
/// state (the opening's record commitment) anchored; the patient's anchored state against
/// the current roots.
pub fn anchored() -> &'static (LocalState, AnchoredState) {
    static A: OnceLock<(LocalState, AnchoredState)> = OnceLock::new();
    A.get_or_init(|| {
        let mut local = LocalState::new();
        let idc = identity().commitment();
        let index = local.add_identity(idc).unwrap();
        let slot = local.add_issuer().unwrap();
        let rho = zkmed_core::field::parse_fr(RHO).unwrap();
        let note = state_note(commitment(), note_tag(rho));
        let notes = local
            .anchor(slot, &[note], &[genesis_nullifier(idc)])
            .unwrap();
        let state = local.witness(index, slot, notes[0], rho).unwrap();
        (local, state)
    })
}

/// The test patient's anchored-state file, as JSON.
pub fn state_json() -> Value {
    serde_json::to_value(&anchored().1).unwrap()
}

/// The roots the test patient's state is anchored under, as a verifier that trusts them
/// gives them (`trusted_roots`).
pub fn trusted_roots() -> Value {
    let s = &anchored().1;
    json!({"identity": [dec(&s.identity_root)], "state": [dec(&s.state_root)]})
}

/// Jonathan Hermiston's opening with salts from [`SALT_SEED`] (so bundle + seed requests
/// give the same commitment).
pub fn opening() -> Opening {
    let imported = import_bundle(&std::fs::read(bundle_path()).unwrap()).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(SALT_SEED, &mut seed).unwrap();
    Opening::create_from_seed(imported, identity().commitment(), &seed).unwrap()
}

pub fn opening_json() -> &'static Value {
    static O: OnceLock<Value> = OnceLock::new();
    O.get_or_init(|| serde_json::from_str(&opening().to_json().unwrap()).unwrap())
}

pub fn commitment() -> Fr {
    opening().commitment().unwrap()
}

/// The test verifier's scope.
pub const SCOPE: &str = "text:test-insurer";

/// A proving request for a named predicate, with the verifier's `request` value.
pub fn prove_body(predicate: &str, request: &str) -> Value {
    json!({
        "opening": opening_json(),
        "identity_secret": IDENTITY,
        "nullifier_key": NULLIFIER_KEY,
        "state": state_json(),
        "predicate": predicate,
        "request": request,
        "scope": SCOPE,
    })
}

/// The public challenge `H(scope, request)` of `request` in [`SCOPE`].
pub fn challenge_of(request: &str) -> Fr {
    let f = |what: &str, s: &str| zkmed_server::input::parse_field(what, s).unwrap();
    zkmed_state::note::challenge(f("scope", SCOPE), f("request", request))
}

pub struct Options {
    pub tokens: bool,
    pub workers: usize,
    pub queue: usize,
    pub timeout_s: u64,
    pub prove_limit: usize,
    pub data_dir: Option<PathBuf>,
    pub instance: String,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub keys: Option<PathBuf>,
    pub chain: Option<zkmed_server::config::ChainSettings>,
    pub cors: Vec<String>,
    pub header_timeout_s: u64,
    pub body_timeout_s: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tokens: false,
            workers: 2,
            queue: 16,
            timeout_s: 120,
            prove_limit: 8 << 20,
            data_dir: None,
            instance: "test".into(),
            tls: None,
            keys: None,
            chain: None,
            cors: vec![],
            header_timeout_s: 5,
            body_timeout_s: 15,
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub handle: actix_web::dev::ServerHandle,
    pub done: tokio::task::JoinHandle<std::io::Result<()>>,
    _tmp: Option<tempfile::TempDir>,
}

pub fn settings(o: &Options, data_dir: &Path) -> Settings {
    let mut s = Settings::load_with_env(None, false).unwrap();
    s.keys = o.keys.clone().unwrap_or_else(keys_dir);
    s.data_dir = data_dir.to_path_buf();
    s.instance = o.instance.clone();
    s.server.port = 0;
    s.server.http_workers = 2;
    s.server.shutdown_timeout_s = 60;
    s.prover.workers = o.workers;
    s.prover.queue = o.queue;
    s.prover.timeout_s = o.timeout_s;
    s.prover.preload = Some(vec!["exists-v3".into()]);
    s.limits.prove_body_bytes = o.prove_limit;
    if o.tokens {
        let t = |name: &str, token: &str, scopes: Vec<Scope>| TokenSettings {
            name: name.into(),
            sha256: zkmed_server::auth::token_hash(token),
            scopes,
        };
        s.auth.tokens = vec![
            t("app", PROVE_TOKEN, vec![Scope::Prove]),
            t("insurer", VERIFY_TOKEN, vec![Scope::Verify]),
            t("ops", BOTH_TOKEN, vec![Scope::Prove, Scope::Verify]),
        ];
    }
    s.chain = o.chain.clone();
    s.server.cors.allowed_origins = o.cors.clone();
    s.server.header_timeout_s = o.header_timeout_s;
    s.server.body_timeout_s = o.body_timeout_s;
    if let Some((cert, key)) = &o.tls {
        s.tls = Some(zkmed_server::config::TlsSettings {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(o: Options) -> TestApp {
    let (tmp, data_dir) = match &o.data_dir {
        Some(d) => (None, d.clone()),
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let tls = o.tls.is_some();
    let app = Application::build(settings(&o, &data_dir)).expect("build app");
    let port = app.port();
    let handle = app.handle();
    let done = tokio::spawn(app.run_until_stopped());
    let scheme = if tls { "https" } else { "http" };
    TestApp {
        base: format!("{scheme}://localhost:{port}"),
        port,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap(),
        handle,
        done,
        _tmp: tmp,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> reqwest::Response {
        let mut r = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    pub async fn post_owned(&self, path: &str, body: Value) -> reqwest::Response {
        self.post(path, &body, None).await
    }

    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Polls `/readyz` until 200 (keys loaded) or panics after a minute.
    pub async fn wait_ready(&self) {
        let t = Instant::now();
        loop {
            if self.get("/readyz").await.status() == 200 {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(120), "never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Stops gracefully and waits for admitted work to finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.done.await.unwrap().unwrap();
    }
}

/// Asserts the status and returns the JSON body.
pub async fn expect(r: reqwest::Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error status whose message mentions `needle`.
pub async fn expect_error(r: reqwest::Response, status: u16, needle: &str) -> String {
    let v = expect(r, status).await;
    let msg = v["message"].as_str().unwrap_or_default().to_string();
    assert!(
        msg.contains(needle),
        "error message should mention {needle:?}: {v}"
    );
    assert!(v["error"].is_string(), "error code missing: {v}");
    msg
}

pub fn dec(x: &Fr) -> String {
    fr_to_dec(x)
}
