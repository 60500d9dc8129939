//! Crash safety with a real process: `zkmed-issuer` (the same code as `zkmed issuer serve`)
//! is killed with SIGKILL at each named point between accepting an update and anchoring
//! it, and under load; after a restart every accepted update is anchored exactly once on
//! the embedded chain (the default anchor) and every root on chain is one the database holds.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zkmed_core::field::Fr;
use zkmed_issuer::store::{BatchStatus, IssuerStore};
use zkmed_issuer::SqliteStore;

const BIN: &str = env!("CARGO_BIN_EXE_zkmed-issuer");
/// The issuer's id on the embedded chain: its account.
fn issuer_id() -> String {
    zkmed_issuer::chain::EMBEDDED_ISSUER.to_string()
}

struct Proc {
    child: Child,
    url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `zkmed-issuer ...`, or `$ZKMED_BIN issuer serve ...` when `ZKMED_BIN` names a built
/// `zkmed` binary (the same code behind another entry point).
fn command() -> Command {
    match std::env::var_os("ZKMED_BIN") {
        Some(zkmed) => {
            let mut c = Command::new(zkmed);
            c.args(["issuer", "serve"]);
            c
        }
        None => Command::new(BIN),
    }
}

fn spawn(dir: &Path, pause: Option<&str>, batch_size: usize, batch_seconds: &str) -> Proc {
    let mut cmd = command();
    cmd.args(["--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0"])
        .args(["--batch-size", &batch_size.to_string()])
        .args(["--batch-seconds", batch_seconds])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    match pause {
        Some(p) => cmd.env(zkmed_issuer::cli::PAUSE_ENV, p),
        None => cmd.env_remove(zkmed_issuer::cli::PAUSE_ENV),
    };
    let mut child = cmd.spawn().expect("start zkmed-issuer");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    Proc { child, url }
}

fn sigkill(mut p: Proc) {
    p.child.kill().unwrap(); // SIGKILL on unix
    p.child.wait().unwrap();
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn post(url: &str, body: &[u8], sig: &str) -> Option<u16> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
        .post(format!("{url}/v1/updates"))
        .header(zkmed_issuer::SIGNATURE_HEADER, sig)
        .body(body.to_vec())
        .send()
        .ok()
        .map(|r| r.status().as_u16())
}

/// The batches on the embedded chain (read after the issuer process is gone: the chain
/// file is locked while it runs).
fn chain_batches(dir: &Path) -> Vec<zkmed_chain::StateBatch> {
    let chain_dir = dir.join("chain");
    let c = zkmed_chain::embedded::EmbeddedChain::open(
        &chain_dir.join(zkmed_chain::embedded::EmbeddedChain::FILE),
    )
    .unwrap();
    let backend = zkmed_chain::backend::EmbeddedBackend::new(
        std::sync::Arc::new(std::sync::Mutex::new(c)),
        zkmed_issuer::chain::EMBEDDED_ISSUER,
    );
    let deployment = zkmed_chain::Deployment::load(&chain_dir.join("deployment.json")).unwrap();
    zkmed_chain::backend::Registry::attach(backend, deployment)
        .state_batches()
        .unwrap()
}

/// Every root on chain is an anchored batch in the database; each nullifier in `must` is
/// on chain exactly once; no nullifier is on it twice.
fn check(dir: &Path, must: &[Fr]) {
    let on_chain = chain_batches(dir);
    let mut store = SqliteStore::open(&dir.join("issuer.sqlite")).unwrap();
    let batches = store.batches().unwrap();
    let mut seen: HashMap<Fr, usize> = HashMap::new();
    for b in &on_chain {
        let held = batches.iter().find(|s| s.note_root == b.note_root);
        let held = held.unwrap_or_else(|| panic!("a chain batch has a root the DB lacks"));
        assert_eq!(held.status, BatchStatus::Anchored);
        assert_eq!(held.new_spent_root, b.new_spent_root);
        assert_eq!(held.nullifiers, b.nullifiers);
        for n in &b.nullifiers {
            *seen.entry(*n).or_default() += 1;
        }
    }
    assert!(seen.values().all(|&c| c == 1), "a nullifier anchored twice");
    for n in must {
        assert_eq!(seen.get(n), Some(&1), "an accepted update was not anchored");
    }
}

/// The database says every nullifier in `must` is anchored and no batch is open.
fn all_anchored(dir: &Path, must: &[Fr]) -> bool {
    let Ok(mut store) = SqliteStore::open(&dir.join("issuer.sqlite")) else {
        return false;
    };
    let Ok(batches) = store.batches() else {
        return false;
    };
    if batches
        .iter()
        .any(|b| matches!(b.status, BatchStatus::Prepared | BatchStatus::Sent))
    {
        return false;
    }
    let anchored: Vec<Fr> = batches
        .iter()
        .filter(|b| b.status == BatchStatus::Anchored)
        .flat_map(|b| b.nullifiers.clone())
        .collect();
    must.iter().all(|n| anchored.contains(n))
}

fn anchored_batches(dir: &Path) -> usize {
    SqliteStore::open(&dir.join("issuer.sqlite"))
        .and_then(|mut s| s.batches())
        .map(|b| {
            b.iter()
                .filter(|b| b.status == BatchStatus::Anchored)
                .count()
        })
        .unwrap_or(0)
}

fn patients(dir: &Path, n: usize) -> Vec<Patient> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n).map(|_| Patient::new(&[dir])).collect()
}

fn genesis(p: &mut Patient) -> (Vec<u8>, String, Fr) {
    let req = p.request(&issuer_id(), false);
    let (body, sig) = p.sign(&req);
    (body, sig, zkmed_state::note::genesis_nullifier(p.idc))
}

#[test]
fn kill_at_each_point_loses_nothing_and_anchors_once() {
    for point in [
        "after_accept",
        "after_prepare",
        "after_sent_mark",
        "after_send",
        "after_anchor",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir: PathBuf = tmp.path().join("issuer");
        let mut ps = patients(&dir, 3);
        let reqs: Vec<_> = ps.iter_mut().map(genesis).collect();
        let proc = spawn(&dir, Some(point), 3, "3600");
        let url = proc.url.clone();
        let bodies = reqs.clone();
        // Submit from a thread: at after_accept the third answer never comes.
        let submitter = std::thread::spawn(move || {
            bodies
                .iter()
                .map(|(b, s, _)| post(&url, b, s))
                .collect::<Vec<_>>()
        });
        let marker = dir.join(format!("paused.{point}"));
        wait_for(point, Duration::from_secs(30), || marker.exists());
        sigkill(proc);
        let answers = submitter.join().unwrap();
        if point == "after_accept" {
            // The first update was durably accepted; its answer never came.
            assert_eq!(answers[0], None);
        } else {
            assert_eq!(answers, vec![Some(202); 3], "{point}");
        }
        std::fs::remove_file(&marker).unwrap();

        // Restart: the open batch (or the queue) is finished, nothing twice.
        let proc = spawn(&dir, None, 3, "0.1");
        for (i, (b, s, _)) in reqs.iter().enumerate() {
            if answers[i] != Some(202) {
                let st = post(&proc.url, b, s);
                // Accepted before the kill (409: its nullifier is queued) or only now.
                let want = if i == 0 { Some(409) } else { Some(202) };
                assert_eq!(st, want, "{point}: request {i}");
            }
        }
        let must: Vec<Fr> = reqs.iter().map(|r| r.2).collect();
        wait_for("anchoring after restart", Duration::from_secs(30), || {
            all_anchored(&dir, &must)
        });
        // The restarted issuer serves paths against the anchored root, and replays fail.
        let (st, v) = Server::get_url(&proc.url, "/v1/info");
        assert_eq!(st, 200);
        assert_eq!(v["note_count"], 3, "{point}: {v}");
        assert_eq!(
            post(&proc.url, &reqs[0].0, &reqs[0].1),
            Some(409),
            "{point}"
        );
        sigkill(proc);
        check(&dir, &must);
    }
}

#[test]
fn kill_under_load_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("issuer");
    let mut ps = patients(&dir, 40);
    let reqs: Vec<_> = ps.iter_mut().map(genesis).collect();
    let proc = spawn(&dir, None, 4, "0.02");
    let url = proc.url.clone();
    let load = reqs.clone();
    let submitter = std::thread::spawn(move || {
        load.iter()
            .map(|(b, s, n)| (post(&url, b, s), *n))
            .collect::<Vec<_>>()
    });
    // Kill while updates are being accepted and batches anchored.
    wait_for("some anchoring", Duration::from_secs(30), || {
        anchored_batches(&dir) >= 2
    });
    sigkill(proc);
    let answers = submitter.join().unwrap();
    let accepted: Vec<Fr> = answers
        .iter()
        .filter(|(st, _)| *st == Some(202))
        .map(|(_, n)| *n)
        .collect();
    assert!(
        accepted.len() >= 2 && accepted.len() < 40,
        "{}",
        accepted.len()
    );

    let proc = spawn(&dir, None, 4, "0.05");
    wait_for("anchoring after restart", Duration::from_secs(30), || {
        all_anchored(&dir, &accepted)
    });
    // The rest, submitted again: each is accepted now or was accepted before the kill.
    let mut all = accepted.clone();
    for (b, s, n) in &reqs {
        if !accepted.contains(n) {
            let st = post(&proc.url, b, s);
            assert!(matches!(st, Some(202) | Some(409)), "{st:?}");
            all.push(*n);
        }
    }
    wait_for("anchoring everything", Duration::from_secs(30), || {
        all_anchored(&dir, &all)
    });
    sigkill(proc);
    check(&dir, &all);
}
