//! Crash safety with a real process: `zkmed-issuer` (the same code as `zkmed issuer serve`)
//! is killed with SIGKILL at each named point between accepting an update and anchoring
//! it, and under load; after a restart every accepted update is anchored exactly once and
//! every root on the ledger is one the database holds.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zkmed_core::field::Fr;
use zkmed_issuer::store::{BatchStatus, IssuerStore};
use zkmed_issuer::{FileLedger, SqliteStore};

const BIN: &str = env!("CARGO_BIN_EXE_zkmed-issuer");
const ISSUER: &str = "crash-issuer";

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

fn spawn(dir: &Path, pause: Option<&str>, batch_size: usize, batch_seconds: &str) -> Proc {
    let mut cmd = Command::new(BIN);
    cmd.args(["--data-dir"])
        .arg(dir)
        .args(["--listen", "127.0.0.1:0", "--issuer-id", ISSUER])
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

/// Every ledger root is in the database as an anchored batch; each nullifier in `must`
/// is on the ledger exactly once; no nullifier is on it twice.
fn check(dir: &Path, must: &[Fr]) {
    let ledger = FileLedger::open(&dir.join("ledger.jsonl")).unwrap();
    let mut store = SqliteStore::open(&dir.join("issuer.sqlite")).unwrap();
    let batches = store.batches().unwrap();
    let mut seen: HashMap<Fr, usize> = HashMap::new();
    for b in ledger.batches() {
        assert_eq!(b.issuer, ISSUER);
        let held = batches.iter().find(|s| s.note_root == b.note_root);
        let held = held.unwrap_or_else(|| panic!("ledger batch {} has a root the DB lacks", b.seq));
        assert_eq!(held.status, BatchStatus::Anchored);
        assert_eq!(held.new_spent_root, b.new_spent_root);
        for n in &b.nullifiers {
            *seen.entry(*n).or_default() += 1;
        }
    }
    assert!(seen.values().all(|&c| c == 1), "a nullifier anchored twice");
    for n in must {
        assert_eq!(seen.get(n), Some(&1), "an accepted update was not anchored");
    }
}

fn all_anchored(dir: &Path, must: &[Fr]) -> bool {
    let Ok(l) = FileLedger::open(&dir.join("ledger.jsonl")) else {
        return false;
    };
    let on: Vec<Fr> = l
        .batches()
        .iter()
        .flat_map(|b| b.nullifiers.clone())
        .collect();
    if !must.iter().all(|n| on.contains(n)) {
        return false;
    }
    // ...and the issuer has seen its batches on the ledger (marked them anchored).
    let Ok(mut store) = SqliteStore::open(&dir.join("issuer.sqlite")) else {
        return false;
    };
    let Ok(held) = store.batches() else {
        return false;
    };
    l.batches().iter().all(|b| {
        held.iter()
            .any(|h| h.note_root == b.note_root && h.status == BatchStatus::Anchored)
    })
}

fn patients(dir: &Path, n: usize) -> Vec<Patient> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n).map(|_| Patient::new(&[dir])).collect()
}

fn genesis(p: &mut Patient) -> (Vec<u8>, String, Fr) {
    let req = p.request(ISSUER, false);
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
        check(&dir, &must);
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
        FileLedger::open(&dir.join("ledger.jsonl"))
            .map(|l| l.batches().len() >= 2)
            .unwrap_or(false)
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
    check(&dir, &all);
    sigkill(proc);
}
