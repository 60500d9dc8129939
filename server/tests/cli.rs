//! The `zkmed` binary end to end, and its errors on bad input.

use std::path::Path;
use std::process::{Command, Output};
use zkmed_circuits::CircuitId;

mod support_cli;
use support_cli::{err, json, ok, zkmed};

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
    assert_eq!(pr["circuit"], "exists-v2");

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

/// `zkmed chain` on the embedded chain (the default) and on a real node (`--rpc`), and
/// `zkmed verify` checking the commitment on chain instead of taking it from the caller.
#[test]
fn chain_commands_and_verification_against_the_chain() {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists]);
    let k = keys.dir();
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    let dir = p("chain");
    let bundle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/demo/jonathan-hermiston.json"
    );
    let chain = |extra: &[&str]| {
        let mut args = vec!["--json", "chain", "--data-dir", &dir];
        args.extend_from_slice(extra);
        zkmed(k, &args)
    };
    let (hospital, patient, g1, g2, new_owner) = (
        "0x00000000000000000000000000000000000000aa",
        "0x00000000000000000000000000000000000000bb",
        "0x00000000000000000000000000000000000000c1",
        "0x00000000000000000000000000000000000000c2",
        "0x00000000000000000000000000000000000000dd",
    );
    // Nothing deployed yet: a clear error.
    assert!(err(&chain(&["status"])).contains("run `zkmed chain deploy` first"));
    let d = json(&ok(&chain(&["deploy"])));
    assert!(d["verifier"].as_str().unwrap().starts_with("0x"));

    ok(&zkmed(k, &["identity", "new", "--out", &p("id.json")]));
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
    let (idc, rc) = (
        c["identity_commitment"].as_str().unwrap(),
        c["record_commitment"].as_str().unwrap(),
    );

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
    assert!(err(&mint(hospital, patient, idc, &[])).contains("NotAccreditedIssuer"));
    let e = err(&chain(&[
        "--as", hospital, "accredit", "--issuer", hospital, "--name", "x",
    ]));
    assert!(e.contains("OwnableUnauthorizedAccount"), "{e}");
    ok(&chain(&[
        "accredit",
        "--issuer",
        hospital,
        "--name",
        "St. Example",
    ]));
    let t = json(&ok(&mint(hospital, patient, idc, &[g1, g2])));
    assert_eq!(t["token"], "1");
    let a = json(&ok(&chain(&[
        "--as", hospital, "anchor", "--token", "1", "--root", rc,
    ])));
    assert!(a["gas"].as_u64().unwrap() > 21_000);

    // Prove; verify with the commitment read from the embedded chain.
    let prove = ok(&zkmed(
        k,
        &[
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:n1",
            "--opening",
            &p("opening.json"),
            "--identity",
            &p("id.json"),
            "--out",
            &p("att.json"),
        ],
    ));
    assert!(!prove.is_empty());
    let att = p("att.json");
    let verify = |extra: &[&str]| {
        let mut a = vec![
            "--json",
            "verify",
            "--attestation",
            &att,
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:n1",
        ];
        a.extend_from_slice(extra);
        zkmed(k, &a)
    };
    let v = json(&ok(&verify(&["--chain-dir", &dir])));
    assert_eq!(v["valid"], true);

    // On chain: install the generated verifier (governance), check read-only, then consume
    // the nullifier once in the proof's scope.
    let artifact = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contracts/artifacts/ExistsV2Verifier.json"
    );
    let check = |extra: &[&str]| {
        let mut a = vec![
            "check",
            "--token",
            "1",
            "--attestation",
            &att,
            "--predicate",
            "has-organ-transplant",
        ];
        a.extend_from_slice(extra);
        chain(&a)
    };
    assert!(err(&check(&["--challenge", "text:n1"])).contains("UnknownCircuit"));
    let e = err(&chain(&[
        "--as",
        hospital,
        "install-verifier",
        "--artifact",
        artifact,
    ]));
    assert!(e.contains("OwnableUnauthorizedAccount"), "{e}");
    let e = err(&chain(&["install-verifier", "--artifact", bundle]));
    assert!(e.contains("not a compile.mjs artifact"), "{e}");
    let i = json(&ok(&chain(&["install-verifier", "--artifact", artifact])));
    assert!(i["gas"].as_u64().unwrap() > 100_000, "{i}");
    let c = json(&ok(&check(&["--challenge", "text:n1"])));
    assert_eq!(c["valid"], true);
    assert_eq!(c["answer"], true);
    assert_eq!(c["consumed"], false);
    let e = err(&check(&["--challenge", "text:n2"]));
    assert!(
        e.contains("REJECTED on chain") && e.contains("ChallengeMismatch"),
        "{e}"
    );
    // The prepared check: registered request, snapshot, then one scalar multiplication.
    let prepared = |scope: &str| {
        check(&[
            "--challenge",
            "text:n1",
            "--prepared",
            scope,
            "--within",
            "3600",
        ])
    };
    assert!(err(&prepared("text:default")).contains("UnknownRequest"));
    let rq = json(&ok(&chain(&[
        "register-request",
        "--predicate",
        "has-organ-transplant",
        "--challenge",
        "text:n1",
        "--scope",
        "text:default",
    ])));
    assert!(rq["request"].as_str().unwrap().starts_with("0x"), "{rq}");
    assert!(err(&prepared("text:default")).contains("NotPrepared"));
    let pr = json(&ok(&chain(&["--as", g1, "prepare", "--token", "1"])));
    assert!(pr["gas"].as_u64().unwrap() > 21_000, "{pr}");
    let c = json(&ok(&prepared("text:default")));
    assert_eq!(
        (c["valid"].clone(), c["answer"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(c["prepared"], true);
    // A request for another scope is not registered; the proof is not for it anyway.
    assert!(err(&prepared("text:other")).contains("UnknownRequest"));
    // One-time claims are bound to the consuming account (`--as`, default 0x…01): the
    // attestation's challenge must be that account's `zkmed chain challenge --nonce N`.
    let e = err(&check(&[
        "--challenge",
        "text:n1",
        "--nonce",
        "7",
        "--consume-scope",
        "text:default",
    ]));
    assert!(e.contains("ChallengeMismatch"), "{e}");
    let ch = json(&ok(&chain(&["challenge", "--nonce", "7"])));
    let claim_challenge = ch["challenge"].as_str().unwrap().to_string();
    ok(&zkmed(
        k,
        &[
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            &claim_challenge,
            "--opening",
            &p("opening.json"),
            "--identity",
            &p("id.json"),
            "--out",
            &p("claim.json"),
        ],
    ));
    let claim = p("claim.json");
    let consume = |who: Option<&str>, scope: &str, extra: &[&str]| {
        let mut a = vec![];
        if let Some(w) = who {
            a.extend_from_slice(&["--as", w]);
        }
        a.extend_from_slice(&[
            "check",
            "--token",
            "1",
            "--attestation",
            &claim,
            "--predicate",
            "has-organ-transplant",
            "--nonce",
            "7",
            "--consume-scope",
            scope,
        ]);
        a.extend_from_slice(extra);
        chain(&a)
    };
    let e = err(&consume(None, "text:other", &[]));
    assert!(e.contains("ScopeMismatch"), "{e}");
    // Another account cannot consume it (the challenge names the first).
    let e = err(&consume(Some(g2), "text:default", &[]));
    assert!(e.contains("ChallengeMismatch"), "{e}");
    let c = json(&ok(&consume(None, "text:default", &[])));
    assert_eq!(c["consumed"], true);
    assert!(c["gas"].as_u64().unwrap() > 200_000, "{c}");
    let e = err(&consume(None, "text:default", &[]));
    assert!(e.contains("AlreadyConsumed"), "{e}");
    // Spent for the prepared path too: a claim is made once, whichever way it is checked.
    ok(&chain(&[
        "register-request",
        "--predicate",
        "has-organ-transplant",
        "--challenge",
        &claim_challenge,
        "--scope",
        "text:default",
    ]));
    let e = err(&consume(
        None,
        "text:default",
        &["--prepared", "text:default", "--within", "3600"],
    ));
    assert!(e.contains("AlreadyConsumed"), "{e}");

    // A correction: refused under "current", accepted within an hour.
    ok(&chain(&[
        "--as",
        hospital,
        "anchor",
        "--token",
        "1",
        "--root",
        "999",
        "--correction",
    ]));
    let e = err(&verify(&["--chain-dir", &dir]));
    assert!(e.contains("REJECTED") && e.contains("current"), "{e}");
    ok(&verify(&["--chain-dir", &dir, "--within", "3600"]));
    let s = json(&ok(&chain(&["status", "--token", "1"])));
    assert_eq!(s["token"]["current_root"], "999");
    assert_eq!(s["token"]["identity_commitment"].as_str().unwrap(), idc);
    assert_eq!(
        s["token"]["owner"].as_str().unwrap().to_lowercase(),
        patient
    );

    // Batch anchoring from a file; a malformed line names itself.
    ok(&mint(hospital, g1, "101", &[]));
    ok(&mint(hospital, g2, "102", &[]));
    std::fs::write(p("batch.csv"), "2,1002\n3,1003\n").unwrap();
    let b = json(&ok(&chain(&[
        "--as",
        hospital,
        "anchor",
        "--batch",
        &p("batch.csv"),
    ])));
    assert_eq!(b["anchored"], 2);
    let s = json(&ok(&chain(&["status", "--identity-commitment", "102"])));
    assert_eq!(s["token"]["current_root"], "1003");
    std::fs::write(p("bad.csv"), "2,1002\n3;1003\n").unwrap();
    let e = err(&chain(&[
        "--as",
        hospital,
        "anchor",
        "--batch",
        &p("bad.csv"),
    ]));
    assert!(e.contains("line 2") && e.contains("token,root"), "{e}");

    // Suspension: the hospital's roots are refused.
    ok(&chain(&["suspend", "--issuer", hospital]));
    let e = err(&verify(&["--chain-dir", &dir, "--within", "3600"]));
    assert!(e.contains("not accredited"), "{e}");
    ok(&chain(&[
        "accredit",
        "--issuer",
        hospital,
        "--name",
        "St. Example",
    ]));

    // Guardian recovery re-binds the token; the old identity is refused.
    let rec = |who: &str, step: &str| {
        chain(&[
            "--as",
            who,
            "recover",
            step,
            "--token",
            "1",
            "--new-owner",
            new_owner,
            "--new-identity-commitment",
            "5151",
        ])
    };
    assert!(err(&rec(hospital, "propose")).contains("NotGuardian"));
    ok(&rec(g1, "propose"));
    ok(&rec(g2, "approve"));
    let s = json(&ok(&chain(&["status", "--token", "1"])));
    assert_eq!(
        s["token"]["owner"].as_str().unwrap().to_lowercase(),
        new_owner
    );
    assert_eq!(s["token"]["identity_commitment"], "5151");
    let e = err(&verify(&["--chain-dir", &dir, "--within", "3600"]));
    assert!(e.contains("REJECTED"), "{e}");

    // Revocation.
    ok(&chain(&["--as", hospital, "revoke", "--token", "2"]));
    let s = json(&ok(&chain(&["status", "--token", "2"])));
    assert!(s["token"]["identity_commitment"].is_null(), "{s}");

    // The same commands on a real node over JSON-RPC.
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
        &["mint", "--patient", &pt, "--identity-commitment", idc],
    )));
    assert_eq!(t["token"], "1");
    ok(&rpc(1, &["anchor", "--token", "1", "--root", rc]));
    let v = json(&ok(&verify(&["--chain-dir", &dir, "--rpc", &url])));
    assert_eq!(v["valid"], true);
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
                "--challenge".into(),
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

/// A proof is never "verified" without a commitment to check it against; a verified one
/// says which checks ran; a rejection names the check. Overwrites need --force; secrets
/// are 0600.
#[test]
fn verify_reports_its_checks_and_outputs_are_never_overwritten() {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists]);
    let k = keys.dir();
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
    let c = json(&ok(&commit(&["--force"])));
    let commitment = c["record_commitment"].as_str().unwrap().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["id.json", "opening.json"] {
            let mode = std::fs::metadata(p(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    // `zkmed setup` over existing keys is refused (and the keys are untouched).
    let (code, m) = json_error(&zkmed(k, &["--json", "setup", "--circuits", "exists-v2"]));
    assert_eq!(code, "already_exists", "{m}");
    assert!(m.contains("exists-v2") && m.contains("--force"), "{m}");

    ok(&zkmed(
        k,
        &[
            "prove",
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:r",
            "--opening",
            &p("opening.json"),
            "--identity",
            &p("id.json"),
            "--out",
            &p("att.json"),
        ],
    ));
    let att_file = p("att.json");
    let verify = |extra: &[&str]| {
        let mut a = vec![
            "verify",
            "--attestation",
            &att_file,
            "--predicate",
            "has-organ-transplant",
            "--challenge",
            "text:r",
        ];
        a.extend_from_slice(extra);
        zkmed(k, &a)
    };
    let v = json(&ok(&verify(&["--json", "--commitment", &commitment])));
    assert_eq!(v["verified"], true, "{v}");
    let r = &v["report"];
    for check in ["key", "question", "challenge", "commitment", "proof"] {
        assert_eq!(r["checks"][check], "passed", "{check}: {r}");
    }
    assert_eq!(r["commitment_source"]["origin"], "caller", "{r}");
    assert_eq!(r["freshness"]["rule"], "callers_choice", "{r}");
    let text = ok(&verify(&["--commitment", &commitment]));
    assert!(
        text.contains("verified: the proven answer is YES"),
        "{text}"
    );
    assert!(
        text.contains("commitment  passed   given by the caller"),
        "{text}"
    );
    // No commitment and no chain: an error, never "verified".
    let o = verify(&["--chain-dir", &p("nowhere")]);
    let e = err(&o);
    assert!(
        e.contains("nothing to check the record commitment against"),
        "{e}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("verified"));
    // A rejection names the failing check, with the report.
    let (code, m) = json_error(&verify(&["--json", "--commitment", "12345"]));
    assert_eq!(code, "verification_failed", "{m}");
    assert!(
        m.contains("REJECTED") && m.contains("not the one the verifier expects"),
        "{m}"
    );
    assert_no_repeats(&m);
}

/// `zkmed verify --rpc` to a node that accepts connections and never answers fails within
/// its timeout (`--rpc-timeout 1`: three tries) with `chain_unavailable`, never hangs; a
/// mixed-case address in the deployment file must pass its EIP-55 checksum.
#[test]
fn verify_against_a_dead_node_fails_within_the_timeout() {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists]);
    let k = keys.dir();
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
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
            })
            .to_string(),
        )
        .unwrap();
    };
    write_deployment("0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9");
    ok(&zkmed(k, &["identity", "new", "--out", &p("id.json")]));
    let bundle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/demo/jonathan-hermiston.json"
    );
    ok(&zkmed(
        k,
        &[
            "commit",
            "--bundle",
            bundle,
            "--identity",
            &p("id.json"),
            "--out",
            &p("opening.json"),
        ],
    ));
    ok(&zkmed(
        k,
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
            "--out",
            &p("att.json"),
        ],
    ));
    let chain_dir_s = chain_dir.to_string_lossy().into_owned();
    let args = [
        "--keys",
        k.to_str().unwrap(),
        "--json",
        "verify",
        "--attestation",
        &p("att.json"),
        "--predicate",
        "has-organ-transplant",
        "--challenge",
        "1",
        "--rpc",
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
            panic!("zkmed verify --rpc to a silent node still runs after 20 s");
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
