//! The `zkmed` binary end to end, and its errors on bad input.

use std::path::Path;
use std::process::{Command, Output};
use zkmed_circuits::CircuitId;

fn zkmed(keys: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkmed"))
        .arg("--keys")
        .arg(keys)
        .args(args)
        .output()
        .expect("run zkmed")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "zkmed failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn err(o: &Output) -> String {
    assert!(
        !o.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let e = String::from_utf8(o.stderr.clone()).unwrap();
    assert!(!e.contains("panicked"), "panic: {e}");
    e
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn commit_prove_verify_export_and_errors() {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists, CircuitId::Scan64]);
    let k = keys.dir();
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
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(p("id.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
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

    let pr = json(&ok(&zkmed(
        k,
        &[
            "--json",
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:nonce-1",
            "--opening",
            &p("opening.json"),
            "--identity",
            &p("id.json"),
            "--out",
            &p("att.json"),
            "--binary",
        ],
    )));
    assert_eq!(pr["answer"], true);
    assert_eq!(pr["circuit"], "exists-v1");

    let v = json(&ok(&zkmed(
        k,
        &[
            "--json",
            "verify",
            "--attestation",
            &p("att.json"),
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:nonce-1",
            "--commitment",
            &commitment,
        ],
    )));
    assert_eq!(v["valid"], true);
    assert_eq!(v["answer"], true);
    // the binary form verifies too
    ok(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att.bin"),
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:nonce-1",
            "--commitment",
            &commitment,
        ],
    ));

    // wrong challenge, wrong question, wrong commitment: rejected with the reason
    let e = err(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att.json"),
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:nonce-2",
            "--commitment",
            &commitment,
        ],
    ));
    assert!(e.contains("REJECTED") && e.contains("challenge"), "{e}");
    let e = err(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att.json"),
            "--predicate",
            "no-chronic-conditions",
            "--challenge",
            "text:nonce-1",
            "--commitment",
            &commitment,
        ],
    ));
    assert!(e.contains("REJECTED") && e.contains("query"), "{e}");
    let e = err(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att.json"),
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:nonce-1",
            "--commitment",
            "12345",
        ],
    ));
    assert!(e.contains("REJECTED") && e.contains("commitment"), "{e}");

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
    std::fs::write(p("att-bad.json"), b"{\"version\": 1}").unwrap();
    let e = err(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att-bad.json"),
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "1",
            "--commitment",
            "1",
        ],
    ));
    assert!(e.contains("malformed attestation"), "{e}");
    let e = err(&zkmed(
        k,
        &[
            "verify",
            "--attestation",
            &p("att.json"),
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "21888242871839275222246405745257275088548364400416034343698204186575808495617",
            "--commitment",
            &commitment,
        ],
    ));
    assert!(e.contains("modulus"), "{e}");
    let e = err(&zkmed(
        tmp.path(),
        &[
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "1",
            "--opening",
            &p("opening.json"),
            "--identity",
            &p("id.json"),
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
