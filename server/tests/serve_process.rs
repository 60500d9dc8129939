//! `zkmed serve` as a real process: configured by file + environment, JSON logs that never
//! contain secrets or records, a bounded load test (no crash, no unexpected 5xx, bounded
//! memory), and graceful shutdown on SIGTERM that finishes admitted jobs.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zkmed_circuits::CircuitId;
use zkmed_records::{import_bundle, Opening};

const TOKEN: &str = "process-test-token";
const IDENTITY: &str = "55555444443333322222111110000099999";
const NULLIFIER_KEY: &str = "77777888889999911111222223333344444";
const RHO: &str = "12121212121212121212343434343434";
const SALT_SEED: &str = "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

struct Server {
    child: Child,
    port: u16,
    logs: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
    data_dir: PathBuf,
}

fn keys() -> PathBuf {
    zkmed_prover::testing::test_keys(&[CircuitId::Exists, CircuitId::Scan64])
        .dir()
        .to_path_buf()
}

fn start(workers: usize, queue: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let config = dir.path().join("zkmed.toml");
    std::fs::write(
        &config,
        format!(
            r#"
keys = {keys:?}
data_dir = {data:?}
instance = "proc-test"
[server]
host = "127.0.0.1"
port = 0
[prover]
workers = {workers}
queue = {queue}
preload = ["exists-v3"]
[log]
format = "json"
level = "info"
[[auth.tokens]]
name = "tester"
sha256 = "{hash}"
scopes = ["prove", "verify"]
"#,
            keys = keys(),
            data = data_dir,
            hash = zkmed_server::auth::token_hash(TOKEN),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkmed"))
        .args(["serve", "--config"])
        .arg(&config)
        // The environment overrides the file.
        .env("ZKMED_SERVER__SHUTDOWN_TIMEOUT_S", "90")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zkmed serve");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["message"] == "zkmed serve listening" {
                    let _ = tx.send(v["port"].as_u64().unwrap_or(0) as u16);
                }
            }
            sink.lock().unwrap().push(line);
        }
    });
    let port = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("server did not start: {:?}", logs.lock().unwrap()));
    let s = Server {
        child,
        port,
        logs,
        _dir: dir,
        data_dir,
    };
    let t = Instant::now();
    loop {
        let (status, body) = get(&s, "/readyz");
        if status == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "never ready: {status} {body}\n{:?}",
            s.logs.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

fn get(s: &Server, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("http://127.0.0.1:{}{path}", s.port))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn post(c: &reqwest::blocking::Client, port: u16, path: &str, body: &Value) -> (u16, Value) {
    let r = c
        .post(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

/// The patient's opening, and its anchored state (identity minted and genesis state
/// anchored in an in-memory model of the chain) with the roots a verifier trusts.
fn patient() -> (Value, Value, Value) {
    use zkmed_core::field::{fr_to_dec, parse_fr};
    use zkmed_state::note::{genesis_nullifier, note_tag, state_note};
    let bundle =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo/jonathan-hermiston.json");
    let imported = import_bundle(&std::fs::read(bundle).unwrap()).unwrap();
    let id = zkmed_prover::IdentitySecret::from_parts(
        parse_fr(IDENTITY).unwrap(),
        parse_fr(NULLIFIER_KEY).unwrap(),
    );
    let mut seed = [0u8; 32];
    hex::decode_to_slice(SALT_SEED, &mut seed).unwrap();
    let o = Opening::create_from_seed(imported, id.commitment(), &seed).unwrap();
    let mut local = zkmed_state::LocalState::new();
    let index = local.add_identity(id.commitment()).unwrap();
    let slot = local.add_issuer().unwrap();
    let rho = parse_fr(RHO).unwrap();
    let note = state_note(o.commitment().unwrap(), note_tag(rho));
    let notes = local
        .anchor(slot, &[note], &[genesis_nullifier(id.commitment())])
        .unwrap();
    let state = local.witness(index, slot, notes[0], rho).unwrap();
    let roots = json!({"identity": [fr_to_dec(&state.identity_root)], "state": [fr_to_dec(&state.state_root)]});
    (
        serde_json::from_str(&o.to_json().unwrap()).unwrap(),
        serde_json::to_value(&state).unwrap(),
        roots,
    )
}

fn prove_body(patient: &(Value, Value, Value), request: &str) -> Value {
    json!({
        "opening": patient.0,
        "identity_secret": IDENTITY,
        "nullifier_key": NULLIFIER_KEY,
        "state": patient.1,
        "predicate": "has-organ-transplant",
        "request": request,
    })
}

/// Peak resident memory of a process, from /proc (Linux).
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn sigterm(s: &mut Server) -> std::process::ExitStatus {
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    let t = Instant::now();
    loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            return st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// N clients hammer the server for a bounded time; it never crashes, answers every request
/// with 200, or with the designed 429 back-pressure, keeps its memory bounded, and logs
/// no secret and no record content. Then SIGTERM: admitted jobs finish, exit code 0.
#[test]
fn load_logs_and_graceful_shutdown() {
    let mut s = start(2, 2);
    let opening = Arc::new(patient());
    let port = s.port;

    // Some bad requests too, carrying secrets in the wrong places.
    let c = client();
    let mut bad = prove_body(&opening, "text:bad");
    bad["identity_secret"] = json!(5555544444333332222u64);
    assert_eq!(post(&c, port, "/v1/attestations", &bad).0, 400);
    let mut bad = prove_body(&opening, "text:bad");
    bad["opening"]["records"][0]["salt"] = json!("not a number");
    assert_eq!(post(&c, port, "/v1/attestations", &bad).0, 400);
    let mut bad = prove_body(&opening, "text:bad");
    bad["state"]["rho"] = json!("4444433333222221111x");
    assert_eq!(post(&c, port, "/v1/attestations", &bad).0, 400);

    let clients = 6;
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            let (stop, counts, opening) = (stop.clone(), counts.clone(), opening.clone());
            std::thread::spawn(move || {
                let c = client();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let (status, v) = post(
                        &c,
                        port,
                        "/v1/attestations",
                        &prove_body(&opening, &format!("text:{i}-{n}")),
                    );
                    if status == 200 {
                        // Every 200 is a real answer the service can check.
                        let (vs, vv) = post(
                            &c,
                            port,
                            "/v1/verify",
                            &json!({
                                "attestation": v["attestation"],
                                "predicate": "has-organ-transplant",
                                "request": format!("text:{i}-{n}"),
                                "trusted_roots": opening.2,
                            }),
                        );
                        assert_eq!((vs, &vv["valid"]), (200, &json!(true)), "{vv}");
                    }
                    if status == 429 {
                        // A polite client backs off (a short pause, not the full Retry-After,
                        // to keep the queue under pressure).
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    *counts.lock().unwrap().entry(status).or_default() += 1;
                    n += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(8));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("client thread");
    }
    let counts = counts.lock().unwrap().clone();
    eprintln!("load test status counts: {counts:?}");
    assert!(counts.get(&200).copied().unwrap_or(0) >= 4, "{counts:?}");
    assert!(
        counts.keys().all(|s| *s == 200 || *s == 429),
        "unexpected statuses: {counts:?}"
    );
    assert_eq!(get(&s, "/healthz").0, 200, "alive after the load");
    let rss = peak_rss_mib(s.child.id()).unwrap_or(0.0);
    eprintln!("server peak RSS {rss:.0} MiB");
    assert!(rss < 2048.0, "server peak RSS {rss:.0} MiB");

    // Graceful shutdown with a job admitted: it finishes before the process exits.
    let (st, v) = post(&c, port, "/v1/jobs", &prove_body(&opening, "text:last"));
    assert_eq!(st, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let status = sigterm(&mut s);
    assert!(status.success(), "exit status {status:?}");
    let job: Value = serde_json::from_slice(
        &std::fs::read(s.data_dir.join("jobs").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(job["status"], "done", "{job}");

    let logs = s.logs.lock().unwrap().join("\n");
    assert!(logs.contains("all admitted work finished"), "{logs}");
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    for secret in [
        IDENTITY,
        &IDENTITY[..12],
        SALT_SEED,
        NULLIFIER_KEY,
        RHO,
        "4444433333",
        TOKEN,
        "Hermiston",
        "not a number",
    ] {
        let leak = logs.lines().find(|l| l.contains(secret));
        assert!(leak.is_none(), "logs contain {secret:?}: {leak:?}");
    }
    let salt = opening.0["records"][0]["salt"].as_str().unwrap();
    assert!(!logs.contains(salt), "logs contain a salt");
    // Requests are logged (route and status), bad ones included.
    assert!(
        logs.lines().any(|l| l.contains(r#""message":"request""#)
            && l.contains(r#""status":400"#)
            && l.contains(r#""http.route":"/v1/attestations""#)),
        "no access log line for the 400s"
    );
}

/// Misconfiguration is a clear error at start, never a panic.
#[test]
fn bad_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let run = |toml: &str, env: &[(&str, &str)]| {
        let f = dir.path().join("c.toml");
        std::fs::write(&f, toml).unwrap();
        let mut c = Command::new(env!("CARGO_BIN_EXE_zkmed"));
        c.args(["serve", "--config"]).arg(&f);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert!(!o.status.success());
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!e.contains("panicked"), "{e}");
        e
    };
    let keys = keys();
    let k = format!("keys = {keys:?}\n");
    assert!(run(&format!("{k}[server]\nhost = \"0.0.0.0\"\n"), &[]).contains("loopback"));
    assert!(run(&format!("{k}[prover]\nworkerz = 3\n"), &[]).contains("workerz"));
    assert!(run(
        &format!("{k}[[auth.tokens]]\nname = \"x\"\nsha256 = \"abc\"\nscopes = [\"prove\"]\n"),
        &[]
    )
    .contains("64 hex"));
    assert!(run(&k, &[("ZKMED_SERVER__PORT", "notaport")]).contains("port"));
    assert!(run("keys = \"/nonexistent/keys\"\n", &[]).contains("/nonexistent/keys"));
    let e = run(
        &format!("{k}[tls]\ncert = \"/nonexistent/cert.pem\"\nkey = \"/nonexistent/key.pem\"\n"),
        &[],
    );
    assert!(e.contains("/nonexistent/cert.pem"), "{e}");
}
