//! The `zkmed` binary end to end, and its errors on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use zkmed_circuits::CircuitId;

mod support_cli;
use support_cli::{err, json, ok, zkmed};

/// One `zkmed demo` run shared by the tests of this binary: two patients minted and
/// anchored by one issuer batch on the embedded chain, four attestations (two verifiers).
struct Demo {
    _tmp: tempfile::TempDir,
    keys: PathBuf,
    dir: PathBuf,
    out: serde_json::Value,
}

impl Demo {
    fn path(&self, rel: &str) -> String {
        self.dir.join(rel).to_string_lossy().into_owned()
    }
    fn chain(&self) -> String {
        self.path("chain")
    }
    fn patients(&self) -> Vec<String> {
        self.out["patients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect()
    }
    /// (name, scope, request, predicate) of each verifier.
    fn verifiers(&self) -> Vec<(String, String, String, String)> {
        self.out["verifiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let f = |k: &str| v[k].as_str().unwrap().to_string();
                (f("verifier"), f("scope"), f("request"), f("predicate"))
            })
            .collect()
    }
    fn attestation(&self, patient: &str, verifier: usize) -> String {
        let (name, _, _, pred) = &self.verifiers()[verifier];
        self.path(&format!("attestations/{patient}.{name}.{pred}.json"))
    }
    /// `zkmed verify` of `patient`'s attestation for `verifier`, with `extra` arguments.
    fn verify(&self, patient: &str, verifier: usize, extra: &[&str]) -> Output {
        let (_, scope, request, pred) = &self.verifiers()[verifier];
        let att = self.attestation(patient, verifier);
        let mut a = vec![
            "verify",
            "--attestation",
            &att,
            "--predicate",
            pred,
            "--request",
            request,
            "--scope",
            scope,
        ];
        a.extend_from_slice(extra);
        zkmed(&self.keys, &a)
    }
}

fn demo() -> &'static Demo {
    static D: OnceLock<Demo> = OnceLock::new();
    D.get_or_init(|| {
        let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists, CircuitId::Scan64])
            .dir()
            .to_path_buf();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        let out = json(&ok(&zkmed(
            &keys,
            &["--json", "demo", "--workdir", dir.to_str().unwrap()],
        )));
        Demo {
            _tmp: tmp,
            keys,
            dir,
            out,
        }
    })
}

/// A copy of a directory (the demo's chain, for tests that change it).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[cfg(unix)]
fn mode(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The field elements of an attestation's public inputs (the one-bit answer aside).
fn public_values(path: &str) -> Vec<String> {
    let a = json(&std::fs::read_to_string(path).unwrap());
    let p = &a["public"];
    [
        "identity_root",
        "state_root",
        "query_hash",
        "challenge",
        "nullifier",
    ]
    .iter()
    .map(|k| {
        p[*k]
            .as_str()
            .unwrap_or_else(|| panic!("{k}: {p}"))
            .to_string()
    })
    .collect()
}

/// The demo: each patient's private files (0600, in 0700 directories), one attestation per
/// patient and verifier, gas per patient update; no attestation holds either patient's
/// identity commitment or record commitment; a patient's two attestations (two verifiers,
/// two scopes) share no public value that the other patient's attestations do not share
/// too; each verifies against the chain's roots.
#[test]
fn demo_anchors_two_patients_in_one_batch_and_its_attestations_are_unlinkable() {
    let d = demo();
    let out = &d.out;
    assert_eq!(out["batch"]["updates"], 2, "{out}");
    let gas = out["batch"]["gas_per_update"].as_f64().unwrap();
    assert!(
        gas > 0.0 && gas * 2.0 <= out["batch"]["gas"].as_f64().unwrap() + 1.0,
        "{out}"
    );
    let patients = d.patients();
    assert_eq!(patients.len(), 2);
    assert_ne!(patients[0], patients[1]);
    #[cfg(unix)]
    {
        assert_eq!(mode(&d.path("")), 0o700);
        for p in &patients {
            assert_eq!(mode(&d.path(p)), 0o700, "{p}");
            for f in ["identity.json", "opening.json", "state.json"] {
                assert_eq!(mode(&d.path(&format!("{p}/{f}"))), 0o600, "{p}/{f}");
            }
        }
    }
    // What identifies each patient: its identity commitment and record commitment.
    let mut private = Vec::new();
    for p in &patients {
        let id = json(&ok(&zkmed(
            &d.keys,
            &[
                "--json",
                "identity",
                "show",
                "--identity",
                &d.path(&format!("{p}/identity.json")),
            ],
        )));
        let idc = id["identity_commitment"].as_str().unwrap().to_string();
        let opening = zkmed_records::Opening::load(d.path(&format!("{p}/opening.json"))).unwrap();
        assert_eq!(
            zkmed_core::field::fr_to_dec(&opening.identity_commitment),
            idc
        );
        let rc = opening.commitment().unwrap();
        for x in [zkmed_core::field::parse_fr(&idc).unwrap(), rc] {
            let be = zkmed_core::field::fr_to_be_bytes(&x);
            private.push(zkmed_core::field::fr_to_dec(&x));
            private.push(hex::encode(be));
        }
    }
    let names: Vec<String> = std::fs::read_dir(d.path("attestations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        5,
        "4 attestations and verifiers.json: {names:?}"
    );
    for p in &patients {
        for v in 0..2 {
            let path = d.attestation(p, v);
            let text = std::fs::read_to_string(&path).unwrap().to_lowercase();
            for x in &private {
                assert!(
                    !text.contains(x.as_str()),
                    "{path} holds a patient's commitment {x}"
                );
            }
        }
    }
    // Unlinkability across verifiers.
    for (me, other) in [(0, 1), (1, 0)] {
        let a = public_values(&d.attestation(&patients[me], 0));
        let b = public_values(&d.attestation(&patients[me], 1));
        let oa = public_values(&d.attestation(&patients[other], 0));
        let ob = public_values(&d.attestation(&patients[other], 1));
        for x in a.iter().filter(|x| b.contains(x)) {
            assert!(
                oa.contains(x) && ob.contains(x),
                "{}'s attestations for both verifiers share {x}, which {}'s do not",
                patients[me],
                patients[other]
            );
        }
        // The nullifier is per identity and scope.
        assert_ne!(a[4], b[4]);
        assert_ne!(a[4], oa[4]);
    }
    // Each attestation verifies against the demo chain's roots (current).
    for p in &patients {
        for v in 0..2 {
            let r = json(&ok(&d.verify(p, v, &["--json", "--chain-dir", &d.chain()])));
            assert_eq!(r["verified"], true, "{r}");
            assert_eq!(r["window_s"], 3600, "{r}");
            assert_eq!(r["roots"]["state"]["status"], "current", "{r}");
            assert_eq!(
                r["roots"]["identity"]["root"], out["roots"]["identity"],
                "{r}"
            );
        }
    }
    let rows = out["results"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().any(|r| r["answer"] == true), "{out}");
}

/// `zkmed bench anchoring`: N updates on the embedded chain, the gas per update with the
/// calldata (data availability) included.
#[test]
fn bench_anchoring_reports_gas_per_update() {
    let k = Path::new("keys");
    let r = json(&ok(&zkmed(
        k,
        &["--json", "bench", "anchoring", "--batch", "20"],
    )));
    assert_eq!(r["batch"], 20, "{r}");
    assert_eq!(r["txs"], 1, "{r}");
    let per = r["gas_per_update"].as_f64().unwrap();
    let total = r["total_gas"].as_f64().unwrap();
    assert!((per * 20.0 - total).abs() < 1.0, "{r}");
    // At least each update's 32-byte nullifier in calldata (EIP-7623 floor: 4 × 10 gas
    // per non-zero byte).
    assert!(per > 32.0 * 10.0, "{r}");
    assert!(
        r["calldata_bytes_per_tx"][0].as_u64().unwrap() >= 20 * 32,
        "{r}"
    );
    let text = ok(&zkmed(k, &["bench", "anchoring", "--batch", "2"]));
    assert!(text.contains("gas per patient update"), "{text}");
    let e = err(&zkmed(k, &["bench", "anchoring", "--batch", "0"]));
    assert!(e.contains("--batch"), "{e}");
}

#[test]
fn commit_prove_verify_export_and_errors() {
    let d = demo();
    let k = d.keys.as_path();
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    let bundle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/demo/jonathan-hermiston.json"
    );

    let id = json(&ok(&zkmed(
        k,
        &["--json", "identity", "new", "--out", &p("id.json")],
    )));
    assert!(id["identity_commitment"].as_str().unwrap().len() > 10);
    #[cfg(unix)]
    assert_eq!(mode(&p("id.json")), 0o600);
    let file = json(&std::fs::read_to_string(p("id.json")).unwrap());
    assert_eq!(
        file["version"], 2,
        "identity file v2: secret and nullifier key"
    );
    assert!(file["nullifier_key"].as_str().unwrap().len() > 10);
    // never overwrites an identity
    assert!(err(&zkmed(k, &["identity", "new", "--out", &p("id.json")])).contains("already exists"));

    let c = json(&ok(&zkmed(
        k,
        &[
            "--json",
            "commit",
            "--bundle",
            bundle,
            "--identity",
            &p("id.json"),
            "--out",
            &p("opening.json"),
        ],
    )));
    let commitment = c["record_commitment"].as_str().unwrap().to_string();
    assert_eq!(c["identity_commitment"], id["identity_commitment"]);

    // --salt-seed: the same bundle and seed give the same commitment (so bundle + seed can
    // stand in for the opening, as the service accepts); another seed, another commitment;
    // a bad seed is a clear error.
    let seeded = |seed: &str, out: &str| {
        zkmed(
            k,
            &[
                "--json",
                "commit",
                "--bundle",
                bundle,
                "--identity",
                &p("id.json"),
                "--out",
                &p(out),
                "--salt-seed",
                seed,
            ],
        )
    };
    let s1 = json(&ok(&seeded(&"ab".repeat(32), "s1.json")));
    let s2 = json(&ok(&seeded(&"ab".repeat(32), "s2.json")));
    let s3 = json(&ok(&seeded(&"cd".repeat(32), "s3.json")));
    assert_eq!(s1["record_commitment"], s2["record_commitment"]);
    assert_ne!(s1["record_commitment"], s3["record_commitment"]);
    assert_ne!(s1["record_commitment"].as_str().unwrap(), commitment);
    assert!(err(&seeded("abc", "s4.json")).contains("--salt-seed must be 64 hex digits"));

    // Prove as the demo's first patient (its identity, opening and anchored state).
    let patient = &d.patients()[0];
    let (idf, opf, stf) = (
        d.path(&format!("{patient}/identity.json")),
        d.path(&format!("{patient}/opening.json")),
        d.path(&format!("{patient}/state.json")),
    );
    let prove = |extra: &[&str]| {
        let mut a = vec![
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--request",
            "text:nonce-1",
            "--scope",
            "text:insurer-x",
        ];
        a.extend_from_slice(extra);
        zkmed(k, &a)
    };
    let pr = json(&ok(&prove(&[
        "--json",
        "--identity",
        &idf,
        "--opening",
        &opf,
        "--state",
        &stf,
        "--out",
        &p("att.json"),
        "--binary",
    ])));
    assert_eq!(pr["answer"], true);
    assert_eq!(pr["circuit"], "exists-v3");
    assert_eq!(pr["state_root"], d.out["roots"]["state"]);

    let chain_dir = d.chain();
    let verify = |att: &str, pred: &str, request: &str, scope: &str| {
        zkmed(
            k,
            &[
                "--json",
                "verify",
                "--attestation",
                att,
                "--predicate",
                pred,
                "--request",
                request,
                "--scope",
                scope,
                "--chain-dir",
                &chain_dir,
            ],
        )
    };
    let v = json(&ok(&verify(
        &p("att.json"),
        "has-organ-transplant",
        "text:nonce-1",
        "text:insurer-x",
    )));
    assert_eq!(v["valid"], true);
    assert_eq!(v["answer"], true);
    // the binary form verifies too
    ok(&verify(
        &p("att.bin"),
        "has-organ-transplant",
        "text:nonce-1",
        "text:insurer-x",
    ));

    // wrong request, wrong scope, wrong question, roots another chain never anchored:
    // rejected with the reason
    let e = err(&verify(
        &p("att.json"),
        "has-organ-transplant",
        "text:nonce-2",
        "text:insurer-x",
    ));
    assert!(e.contains("REJECTED") && e.contains("challenge"), "{e}");
    let e = err(&verify(
        &p("att.json"),
        "has-organ-transplant",
        "text:nonce-1",
        "text:insurer-y",
    ));
    assert!(e.contains("REJECTED") && e.contains("challenge"), "{e}");
    let e = err(&verify(
        &p("att.json"),
        "no-chronic-conditions",
        "text:nonce-1",
        "text:insurer-x",
    ));
    assert!(e.contains("REJECTED") && e.contains("query"), "{e}");
    let other = p("other-chain");
    ok(&zkmed(k, &["chain", "--data-dir", &other, "deploy"]));
    let e = err(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att.json"),
            "--predicate",
            "has-organ-transplant",
            "--request",
            "text:nonce-1",
            "--scope",
            "text:insurer-x",
            "--chain-dir",
            &other,
        ],
    ));
    assert!(e.contains("REJECTED") && e.contains("unknown"), "{e}");

    // The anchored state must anchor THIS opening and identity: clear errors otherwise.
    let e = err(&prove(&[
        "--identity",
        &p("id.json"),
        "--opening",
        &opf,
        "--state",
        &stf,
    ]));
    assert!(e.contains("identity"), "{e}");
    let e = err(&prove(&[
        "--identity",
        &p("id.json"),
        "--opening",
        &p("opening.json"),
        "--state",
        &stf,
    ]));
    assert!(
        e.contains("not under this global state root") || e.contains("not in the identity tree"),
        "{e}"
    );
    std::fs::write(
        p("bad-state.json"),
        b"{\"version\": 1, \"rho\": \"31337x\"}",
    )
    .unwrap();
    let e = err(&prove(&[
        "--identity",
        &idf,
        "--opening",
        &opf,
        "--state",
        &p("bad-state.json"),
    ]));
    assert!(
        e.contains("not an anchored-state file") && !e.contains("31337"),
        "{e}"
    );
    let e = err(&prove(&[
        "--identity",
        &idf,
        "--opening",
        &opf,
        "--state",
        &p("missing.json"),
    ]));
    assert!(e.contains("missing.json"), "{e}");

    // snarkjs export writes the three files
    ok(&zkmed(
        k,
        &[
            "export",
            "snarkjs",
            "--attestation",
            &p("att.json"),
            "--out",
            &p("sj"),
        ],
    ));
    for f in ["proof.json", "public.json", "verification_key.json"] {
        json(&std::fs::read_to_string(tmp.path().join("sj").join(f)).unwrap());
    }

    // malformed inputs: clear errors, no panics
    std::fs::write(
        p("bad.json"),
        b"{\"resourceType\": \"Bundle\", \"entry\": 5}",
    )
    .unwrap();
    let e = err(&zkmed(
        k,
        &[
            "commit",
            "--bundle",
            &p("bad.json"),
            "--identity",
            &p("id.json"),
            "--out",
            &p("o2.json"),
        ],
    ));
    assert!(e.contains("bad.json"), "{e}");
    std::fs::write(
        p("q.json"),
        b"{\"version\": 1, \"records\": {\"kind\": \"Condition\", \"quantifier\": \"sometimes\"}}",
    )
    .unwrap();
    let e = err(&zkmed(k, &["query-hash", "--query", &p("q.json")]));
    assert!(e.contains("q.json") && e.contains("sometimes"), "{e}");
    std::fs::write(p("att-v1.json"), b"{\"version\": 1}").unwrap();
    let e = err(&verify(&p("att-v1.json"), "has-organ-transplant", "1", "1"));
    assert!(e.contains("v1 is no longer accepted"), "{e}");
    std::fs::write(p("att-bad.json"), b"{\"version\": 2, \"circuit\": 5}").unwrap();
    let e = err(&verify(
        &p("att-bad.json"),
        "has-organ-transplant",
        "1",
        "1",
    ));
    assert!(
        e.contains("att-bad.json") && e.contains("attestation"),
        "{e}"
    );
    let e = err(&verify(
        &p("att.json"),
        "has-organ-transplant",
        "21888242871839275222246405745257275088548364400416034343698204186575808495617",
        "text:insurer-x",
    ));
    assert!(e.contains("modulus"), "{e}");
    let e = err(&zkmed(
        tmp.path(),
        &[
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--request",
            "1",
            "--opening",
            &opf,
            "--identity",
            &idf,
            "--state",
            &stf,
        ],
    ));
    assert!(e.contains("zkmed setup"), "{e}");
    let e = err(&zkmed(k, &["poseidon"]));
    assert!(e.contains("0 inputs"), "{e}");
    let e = err(&zkmed(k, &["predicates", "no-such-thing"]));
    assert!(e.contains("unknown named predicate"), "{e}");
}

#[test]
fn poseidon_matches_circomlib() {
    let o = zkmed(Path::new("keys"), &["poseidon", "1", "2"]);
    assert!(ok(&o).contains("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"));
}

/// `zkmed chain` on the embedded chain (a copy of the demo's) and on a real node
/// (`--rpc`); `zkmed verify` against the chain's roots within a window: a root superseded
/// moments ago is accepted by default and refused with `--current-only` / `--window 0`; an
/// issuer's suspension refuses every older state root.
#[test]
fn chain_commands_and_verification_windows() {
    let d = demo();
    let k = d.keys.as_path();
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    let dir = p("chain");
    copy_dir(Path::new(&d.chain()), Path::new(&dir));
    let chain = |extra: &[&str]| {
        let mut args = vec!["--json", "chain", "--data-dir", &dir];
        args.extend_from_slice(extra);
        zkmed(k, &args)
    };
    // The demo's accounts: governance 0x00..01 (`zkmed chain`'s default), the hospital 0x00..02.
    let (hospital, stranger, g1, g2, new_owner) = (
        "0x0000000000000000000000000000000000000002",
        "0x00000000000000000000000000000000000000aa",
        "0x00000000000000000000000000000000000000c1",
        "0x00000000000000000000000000000000000000c2",
        "0x00000000000000000000000000000000000000dd",
    );
    let patient = &d.patients()[0];
    let verify = |extra: &[&str]| {
        let mut a = vec!["--chain-dir", dir.as_str()];
        a.extend_from_slice(extra);
        d.verify(patient, 0, &a)
    };
    // Nothing deployed: a clear error.
    let e = err(&zkmed(k, &["chain", "--data-dir", &p("empty"), "status"]));
    assert!(e.contains("run `zkmed chain deploy` first"), "{e}");
    let s = json(&ok(&chain(&["status"])));
    assert_eq!(s["roots"]["identity"], d.out["roots"]["identity"], "{s}");
    assert_eq!(s["roots"]["state"], d.out["roots"]["state"], "{s}");
    ok(&verify(&["--current-only"]));

    // Only accredited issuers mint; only governance accredits.
    let mint = |who: &str, patient: &str, idc: &str, guardians: &[&str]| {
        let mut a = vec![
            "--as",
            who,
            "mint",
            "--patient",
            patient,
            "--identity-commitment",
            idc,
        ];
        for g in guardians {
            a.extend_from_slice(&["--guardian", g]);
        }
        if !guardians.is_empty() {
            a.extend_from_slice(&["--threshold", "2"]);
        }
        chain(&a)
    };
    assert!(err(&mint(stranger, stranger, "777", &[])).contains("NotAccreditedIssuer"));
    let e = err(&chain(&[
        "--as", stranger, "accredit", "--issuer", stranger, "--name", "x",
    ]));
    assert!(e.contains("OwnableUnauthorizedAccount"), "{e}");

    // A new identity: the attestation's identity root is superseded. The default window
    // (1 h) accepts it and says so; current-only refuses it.
    let t = json(&ok(&mint(hospital, stranger, "777", &[g1, g2])));
    let token = t["token"].as_str().unwrap().to_string();
    let v = json(&ok(&verify(&["--json"])));
    assert_eq!(v["roots"]["identity"]["status"], "superseded", "{v}");
    assert_eq!(v["roots"]["state"]["status"], "current", "{v}");
    let text = ok(&verify(&[]));
    assert!(
        text.contains("(superseded") && text.contains("last 3600 s"),
        "{text}"
    );
    for strict in [&["--current-only"][..], &["--window", "0"]] {
        let e = err(&verify(strict));
        assert!(
            e.contains("REJECTED") && e.contains("identity root"),
            "{strict:?}: {e}"
        );
    }
    let e = err(&verify(&["--current-only", "--window", "60"]));
    assert!(
        e.contains("--current-only") || e.contains("--window"),
        "{e}"
    );

    // On chain (the committed verifier holds the test keys the demo proved with): the
    // check reads the same roots within the window, then the pairing; the prepared check
    // uses a registered request and the prepared roots.
    let (_, scope, request, pred) = d.verifiers()[0].clone();
    let att = d.attestation(patient, 0);
    let artifact = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/artifacts/ExistsV3Verifier.json"
    );
    ok(&chain(&[
        "install-verifier",
        "--circuit",
        "exists-v3",
        "--artifact",
        artifact,
    ]));
    let check = |who: &str, extra: &[&str]| {
        let mut a = vec![
            "--as",
            who,
            "check",
            "--attestation",
            &att,
            "--predicate",
            &pred,
            "--scope",
            &scope,
        ];
        a.extend_from_slice(extra);
        chain(&a)
    };
    let c = json(&ok(&check(stranger, &["--request", &request])));
    assert_eq!(
        (c["valid"].clone(), c["answer"].clone()),
        (true.into(), true.into()),
        "{c}"
    );
    assert_eq!(c["window_s"], 3600, "{c}");
    let e = err(&check(stranger, &["--request", &request, "--window", "0"]));
    assert!(e.contains("IdentityRootNotAccepted"), "{e}");
    let e = err(&check(stranger, &["--request", "text:another"]));
    assert!(e.contains("ChallengeMismatch"), "{e}");
    ok(&chain(&[
        "--as",
        g1,
        "register-request",
        "--predicate",
        &pred,
        "--request",
        &request,
        "--scope",
        &scope,
    ]));
    ok(&chain(&["--as", g1, "prepare", "--attestation", &att]));
    let c = json(&ok(&check(g1, &["--request", &request, "--prepared"])));
    assert_eq!(
        (c["answer"].clone(), c["prepared"].clone()),
        (true.into(), true.into()),
        "{c}"
    );

    // Guardian recovery re-binds a token; revocation empties its leaf.
    let rec = |who: &str, step: &str| {
        chain(&[
            "--as",
            who,
            "recover",
            step,
            "--token",
            &token,
            "--new-owner",
            new_owner,
            "--new-identity-commitment",
            "5151",
        ])
    };
    assert!(err(&rec(hospital, "propose")).contains("NotGuardian"));
    ok(&rec(g1, "propose"));
    ok(&rec(g2, "approve"));
    let s = json(&ok(&chain(&["status", "--token", &token])));
    assert_eq!(
        s["token"]["owner"].as_str().unwrap().to_lowercase(),
        new_owner
    );
    assert_eq!(s["token"]["identity_commitment"], "5151");
    let s = json(&ok(&chain(&["status", "--identity-commitment", "5151"])));
    assert_eq!(s["token"]["id"], token.as_str(), "{s}");
    ok(&chain(&["--as", hospital, "revoke", "--token", &token]));
    let s = json(&ok(&chain(&["status", "--token", &token])));
    assert!(s["token"]["identity_commitment"].is_null(), "{s}");

    // Suspension: the hospital's state roots are refused, whatever the window.
    ok(&verify(&[]));
    ok(&chain(&["suspend", "--issuer", hospital]));
    let e = err(&verify(&["--window", "86400"]));
    assert!(e.contains("REJECTED") && e.contains("state root"), "{e}");

    // The same commands on a real node over JSON-RPC; `zkmed verify --rpc-url` reads its
    // roots (which never anchored the demo's state).
    let node = zkmed_chain::testing::anvil();
    let url = node.endpoint();
    let rpc = |i: usize, extra: &[&str]| {
        let key = zkmed_chain::testing::key(&node, i);
        let mut a = vec![
            "--json",
            "chain",
            "--data-dir",
            &dir,
            "--rpc",
            &url,
            "--key",
            &key,
        ];
        a.extend_from_slice(extra);
        zkmed(k, &a)
    };
    let e = err(&zkmed(
        k,
        &["chain", "--data-dir", &dir, "--rpc", &url, "deploy"],
    ));
    assert!(e.contains("--rpc needs --key"), "{e}");
    // A malformed key is refused without being echoed.
    let e = err(&zkmed(
        k,
        &[
            "chain",
            "--data-dir",
            &dir,
            "--rpc",
            &url,
            "--key",
            "0xdeadbeefz0123",
            "deploy",
        ],
    ));
    assert!(
        e.contains("not a secp256k1 secret key") && !e.contains("deadbeef"),
        "{e}"
    );
    ok(&rpc(0, &["deploy"]));
    let h = node.addresses()[1].to_string();
    ok(&rpc(
        0,
        &["accredit", "--issuer", &h, "--name", "St. Example"],
    ));
    let pt = node.addresses()[2].to_string();
    let t = json(&ok(&rpc(
        1,
        &["mint", "--patient", &pt, "--identity-commitment", "4242"],
    )));
    assert_eq!(t["token"], "1");
    let e = err(&verify(&["--rpc-url", &url]));
    assert!(e.contains("REJECTED") && e.contains("unknown"), "{e}");
}

/// `zkmed --json ...` that fails: one JSON object on stdout with a documented code, and a
/// non-zero exit.
fn json_error(o: &Output) -> (String, String) {
    assert!(!o.status.success(), "expected failure");
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line on stdout: {out:?}");
    let v = json(lines[0]);
    let code = v["error"]["code"].as_str().unwrap_or_default().to_string();
    let message = v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!message.is_empty(), "{v}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, message)
}

/// Every segment of an error chain appears once ("X: X" never happens).
fn assert_no_repeats(message: &str) {
    let parts: Vec<&str> = message.split(": ").filter(|p| p.len() > 12).collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[i + 1..].contains(p), "{p:?} repeats in {message:?}");
    }
}

#[test]
fn json_errors_have_stable_codes() {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists]);
    let k = keys.dir();
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("usage", vec!["prove".into(), "--nope".into()]),
        ("invalid_input", vec!["poseidon".into(), "zz".into()]),
        (
            "not_found",
            vec![
                "commit".into(),
                "--bundle".into(),
                p("missing.json"),
                "--out".into(),
                p("o.json"),
            ],
        ),
        (
            "invalid_input",
            vec!["predicates".into(), "no-such-predicate".into()],
        ),
        (
            "keys",
            vec![
                "prove".into(),
                "--predicate".into(),
                "has-organ-transplant".into(),
                "--request".into(),
                "1".into(),
            ],
        ),
    ];
    let no_keys = tmp.path().join("no-keys");
    for (code, args) in cases {
        let mut a = vec!["--json"];
        a.extend(args.iter().map(String::as_str));
        let dir = if code == "keys" { no_keys.as_path() } else { k };
        let (got, message) = json_error(&zkmed(dir, &a));
        assert_eq!(got, code, "{args:?}: {message}");
        if code == "usage" {
            assert!(message.contains("--nope"), "names the argument: {message}");
        }
        assert_no_repeats(&message);
    }
    // Without --json: text on stderr, nothing on stdout.
    let o = zkmed(k, &["poseidon", "zz"]);
    assert!(o.stdout.is_empty());
    assert!(err(&o).starts_with("error: "), "{}", err(&o));
}

/// A proof is never "verified" without roots to check it against; a verified one says
/// which checks ran and which roots it used; a rejection names the check. Overwrites need
/// --force; secrets are 0600.
#[test]
fn verify_reports_its_checks_and_outputs_are_never_overwritten() {
    let d = demo();
    let k = d.keys.as_path();
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    let bundle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/demo/jonathan-hermiston.json"
    );
    ok(&zkmed(k, &["identity", "new", "--out", &p("id.json")]));
    let (code, m) = json_error(&zkmed(
        k,
        &["--json", "identity", "new", "--out", &p("id.json")],
    ));
    assert_eq!(code, "already_exists", "{m}");
    assert!(m.contains("--force"), "{m}");
    let before = std::fs::read(p("id.json")).unwrap();
    ok(&zkmed(
        k,
        &["identity", "new", "--out", &p("id.json"), "--force"],
    ));
    assert_ne!(before, std::fs::read(p("id.json")).unwrap(), "replaced");
    let id_file = p("id.json");
    let commit = |extra: &[&str]| {
        let mut a = vec![
            "--json",
            "commit",
            "--bundle",
            bundle,
            "--identity",
            &id_file,
        ];
        let out = p("opening.json");
        a.extend_from_slice(&["--out", &out]);
        a.extend_from_slice(extra);
        zkmed(k, &a)
    };
    ok(&commit(&[]));
    let (code, m) = json_error(&commit(&[]));
    assert_eq!(code, "already_exists", "{m}");
    ok(&commit(&["--force"]));
    #[cfg(unix)]
    for f in ["id.json", "opening.json"] {
        assert_eq!(mode(&p(f)), 0o600, "{f}");
    }
    // `zkmed setup` over existing keys is refused (and the keys are untouched).
    let (code, m) = json_error(&zkmed(k, &["--json", "setup", "--circuits", "exists-v3"]));
    assert_eq!(code, "already_exists", "{m}");
    assert!(m.contains("exists-v3") && m.contains("--force"), "{m}");

    let patient = d.patients()[0].clone();
    let chain_dir = d.chain();
    let verify = |extra: &[&str]| d.verify(&patient, 0, extra);
    let v = json(&ok(&verify(&["--json", "--chain-dir", &chain_dir])));
    assert_eq!(v["verified"], true, "{v}");
    let r = &v["report"];
    for check in ["key", "question", "challenge", "roots", "proof"] {
        assert_eq!(r["checks"][check], "passed", "{check}: {r}");
    }
    assert_eq!(
        v["root_source"],
        format!("the embedded chain in {chain_dir}"),
        "{v}"
    );
    assert_eq!(v["window_s"], 3600, "{v}");
    assert_eq!(v["roots"]["state"]["root"], d.out["roots"]["state"], "{v}");
    let text = ok(&verify(&["--chain-dir", &chain_dir]));
    assert!(
        text.contains("verified: the proven answer is YES"),
        "{text}"
    );
    assert!(
        text.contains("roots       passed   from the embedded chain in")
            && text.contains("(current)"),
        "{text}"
    );
    let v = json(&ok(&verify(&[
        "--json",
        "--chain-dir",
        &chain_dir,
        "--current-only",
    ])));
    assert_eq!(v["window_s"], 0, "{v}");
    // No chain: an error, never "verified".
    let o = verify(&["--chain-dir", &p("nowhere")]);
    let e = err(&o);
    assert!(
        e.contains("nothing to check the attestation's roots against"),
        "{e}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("verified"));
    let (code, _) = json_error(&verify(&["--json", "--chain-dir", &p("nowhere")]));
    assert_eq!(code, "no_root_source");
    // A rejection names the failing check, with the report: the other verifier's scope.
    let (_, scope, request, pred) = &d.verifiers()[1];
    let att = d.attestation(&patient, 0);
    let (code, m) = json_error(&zkmed(
        k,
        &[
            "--json",
            "verify",
            "--attestation",
            &att,
            "--predicate",
            "has-organ-transplant",
            "--request",
            request,
            "--scope",
            scope,
            "--chain-dir",
            &chain_dir,
        ],
    ));
    assert_eq!(code, "verification_failed", "{m}");
    assert!(m.contains("REJECTED") && m.contains("challenge"), "{m}");
    assert_ne!(pred, "has-organ-transplant");
    assert_no_repeats(&m);
}

/// `zkmed verify --rpc-url` to a node that accepts connections and never answers fails
/// within its timeout (`--rpc-timeout 1`: three tries) with `chain_unavailable`, never
/// hangs; a mixed-case address in the deployment file must pass its EIP-55 checksum.
#[test]
fn verify_against_a_dead_node_fails_within_the_timeout() {
    let d = demo();
    let k = d.keys.as_path();
    let tmp = tempfile::tempdir().unwrap();
    // A node that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let chain_dir = tmp.path().join("chain");
    std::fs::create_dir_all(&chain_dir).unwrap();
    let write_deployment = |verifier: &str| {
        std::fs::write(
            chain_dir.join("deployment-rpc.json"),
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
    };
    write_deployment("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");
    let patient = &d.patients()[0];
    let (_, scope, request, pred) = &d.verifiers()[0];
    let att = d.attestation(patient, 0);
    let chain_dir_s = chain_dir.to_string_lossy().into_owned();
    let args = [
        "--keys",
        k.to_str().unwrap(),
        "--json",
        "verify",
        "--attestation",
        &att,
        "--predicate",
        pred,
        "--request",
        request,
        "--scope",
        scope,
        "--rpc-url",
        &url,
        "--rpc-timeout",
        "1",
        "--chain-dir",
        &chain_dir_s,
    ];
    let t = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkmed"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("zkmed verify --rpc-url to a silent node still runs after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let elapsed = t.elapsed();
    let o = child.wait_with_output().unwrap();
    assert!(!status.success());
    let (code, m) = json_error(&Output { status, ..o });
    assert_eq!(code, "chain_unavailable", "{m}");
    assert!(m.contains("NOT CHECKED"), "{m}");
    assert!(elapsed < std::time::Duration::from_secs(12), "{elapsed:?}");

    // One letter's case flipped: the checksum fails, the address is not used.
    write_deployment("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0FC9");
    let (code, m) = json_error(
        &Command::new(env!("CARGO_BIN_EXE_zkmed"))
            .args(args)
            .output()
            .unwrap(),
    );
    assert_eq!(code, "invalid_input", "{m}");
    assert!(m.contains("checksum"), "{m}");
}

/// `zkmed predicates | head -1`: the reader goes away; zkmed exits quietly, status 0, no
/// panic and no error text.
#[test]
fn a_closed_pipe_exits_quietly() {
    for args in [
        &["predicates"][..],
        &["--json", "predicates"],
        &["serve", "--print-defaults"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader); // closed before zkmed writes a byte
        let o = Command::new(env!("CARGO_BIN_EXE_zkmed"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{args:?}: {:?} {stderr}", o.status);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
