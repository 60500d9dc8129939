//! The on-chain path with the user's OWN keys, end to end on a real node (anvil), driving
//! the real `zkmed` binary: the sequence docs/chain.md documents.
//!
//! ```text
//! zkmed setup --circuits exists-v3                                  # fresh keys
//! zkmed export solidity --circuit exists-v3 --out V.sol             # their verifier
//! node tools/solc/compile.mjs --verifier V.sol --out V.json         # compiled
//! zkmed chain --rpc URL --key GOV install-verifier --circuit exists-v3 --artifact V.json
//! zkmed chain --rpc URL check --attestation att.json --predicate ... --request R --scope S
//! ```
//!
//! Also on the way: `chain deploy` refuses to overwrite a deployment without --force,
//! read-only commands need no key, addresses must pass EIP-55 when mixed-case, a one-time
//! claim (the scoped nullifier) is consumed only by the account its request value names, a
//! dead node fails within --rpc-timeout. The patient's genesis state is anchored by the
//! issuer's batch (the library: `zkmed issuer serve` does it in production).

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

mod support_cli;
use support_cli::{err, json, ok, zkmed};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn own_keys_setup_export_compile_install_check_on_a_real_node() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_string_lossy().into_owned();
    let keys = tmp.path().join("keys");
    let k = keys.as_path();

    // 1. Fresh keys (a real, random setup: not the test keys the committed verifiers hold).
    let s = json(&ok(&zkmed(
        k,
        &["--json", "setup", "--circuits", "exists-v3"],
    )));
    assert!(s.to_string().contains("exists-v3"), "{s}");

    // 2. Their verifier contract.
    ok(&zkmed(
        k,
        &[
            "export",
            "solidity",
            "--circuit",
            "exists-v3",
            "--out",
            &p("V.sol"),
        ],
    ));
    let v_sol = std::fs::read_to_string(p("V.sol")).unwrap();
    let committed =
        std::fs::read_to_string(repo().join("contracts/generated/ExistsV3Verifier.sol")).unwrap();
    assert_ne!(v_sol, committed, "fresh keys, another verifying key");

    // 3. Compiled with the pinned solc-js, as the committed artifacts are.
    zkmed_chain::testing::ensure_anvil(); // `npm ci --prefix tools/solc`: solc-js too
    let compiled = Command::new("node")
        .arg(repo().join("tools/solc/compile.mjs"))
        .args(["--verifier", &p("V.sol"), "--out", &p("V.json")])
        .output()
        .unwrap();
    assert!(
        compiled.status.success(),
        "{}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let artifact = json(&std::fs::read_to_string(p("V.json")).unwrap());
    assert_eq!(artifact["contractName"], "ExistsV3Verifier");

    // A real node, and the suite deployed by governance (account 0).
    let node = zkmed_chain::testing::anvil();
    let url = node.endpoint();
    let dir = p("chain");
    let chain = |key: Option<usize>, extra: &[&str]| {
        let mut a = vec![
            "--json".to_string(),
            "chain".into(),
            "--data-dir".into(),
            dir.clone(),
            "--rpc".into(),
            url.clone(),
        ];
        if let Some(i) = key {
            a.extend(["--key".into(), zkmed_chain::testing::key(&node, i)]);
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        zkmed(k, &a)
    };
    // EIP-55 checksummed (mixed case), as alloy prints them.
    let addr = |i: usize| node.addresses()[i].to_string();
    let (hospital, insurer, patient, stranger) = (addr(1), addr(2), addr(3), addr(4));
    assert_ne!(hospital, hospital.to_lowercase(), "a mixed-case address");

    // Read-only commands need no key; sending ones do.
    let e = err(&chain(None, &["deploy"]));
    assert!(e.contains("needs --key"), "{e}");
    ok(&chain(Some(0), &["deploy"]));
    // A deployment is never overwritten by accident.
    let e = err(&chain(Some(0), &["deploy"]));
    assert!(e.contains("already exists") && e.contains("--force"), "{e}");
    let before = std::fs::read_to_string(tmp.path().join("chain/deployment-rpc.json")).unwrap();
    let s = json(&ok(&chain(None, &["status"])));
    assert!(s["deployment"]["verifier"].is_string(), "{s}");

    // Addresses: a mixed-case address must pass its checksum.
    let mut typo = hospital.clone().into_bytes();
    let i = typo.iter().rposition(|c| c.is_ascii_alphabetic()).unwrap();
    typo[i] ^= 0x20; // flip one letter's case
    let typo = String::from_utf8(typo).unwrap();
    let e = err(&chain(
        Some(0),
        &["accredit", "--issuer", &typo, "--name", "St. Example"],
    ));
    assert!(e.contains("checksum") && e.contains(&typo), "{e}");
    ok(&chain(
        Some(0),
        &["accredit", "--issuer", &hospital, "--name", "St. Example"],
    ));
    ok(&chain(
        Some(0),
        &[
            "accredit",
            "--issuer",
            &hospital.to_lowercase(),
            "--name",
            "St. Example",
        ],
    ));

    // The patient: identity, records committed, token minted, genesis state anchored by the
    // hospital's batch; the patient keeps its anchored-state file.
    let bundle = repo().join("fixtures/demo/jonathan-hermiston.json");
    ok(&zkmed(k, &["identity", "new", "--out", &p("id.json")]));
    let c = json(&ok(&zkmed(
        k,
        &[
            "--json",
            "commit",
            "--bundle",
            bundle.to_str().unwrap(),
            "--identity",
            &p("id.json"),
            "--out",
            &p("opening.json"),
        ],
    )));
    let (idc, rc) = (
        c["identity_commitment"].as_str().unwrap().to_string(),
        c["record_commitment"].as_str().unwrap().to_string(),
    );
    let t = json(&ok(&chain(
        Some(1),
        &["mint", "--patient", &patient, "--identity-commitment", &idc],
    )));
    assert_eq!(t["token"], "1");
    {
        use zkmed_chain::backend::{Registry, RpcBackend, U256};
        use zkmed_server::genesis::{anchor_genesis, GenesisPatient};
        let d =
            zkmed_chain::Deployment::load(&tmp.path().join("chain/deployment-rpc.json")).unwrap();
        let backend = RpcBackend::connect(&url, &zkmed_chain::testing::key(&node, 1)).unwrap();
        let mut h = Registry::attach(backend, d);
        let fr = |s: &str| zkmed_core::field::parse_fr(s).unwrap();
        let batch = anchor_genesis(
            &mut h,
            &[GenesisPatient {
                token: U256::from(1u64),
                identity_commitment: fr(&idc),
                record_commitment: fr(&rc),
                rho: zkmed_records::opening::random_salt(&mut rand::rngs::OsRng),
            }],
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        std::fs::write(
            p("state.json"),
            serde_json::to_vec(&batch.states[0]).unwrap(),
        )
        .unwrap();
    }

    // 4. Installed by governance.
    let i = json(&ok(&chain(
        Some(0),
        &[
            "install-verifier",
            "--circuit",
            "exists-v3",
            "--artifact",
            &p("V.json"),
        ],
    )));
    assert!(i["verifier"].is_string(), "{i}");

    // The verifier (insurer) picks a nonce; its request value names its account. Read-only.
    let ch = json(&ok(&chain(
        None,
        &["challenge", "--nonce", "7", "--submitter", &insurer],
    )));
    let request = ch["request"].as_str().unwrap().to_string();
    assert_eq!(ch["chain_id"], 31337);
    // The same, asked by the insurer itself.
    let own = json(&ok(&chain(Some(2), &["challenge", "--nonce", "7"])));
    assert_eq!(own["request"], ch["request"]);

    // The patient proves with their own keys.
    let prove = |scope: &str, out: &str| {
        ok(&zkmed(
            k,
            &[
                "prove",
                "--predicate",
                "has-organ-transplant",
                "--request",
                &request,
                "--scope",
                scope,
                "--opening",
                &p("opening.json"),
                "--identity",
                &p("id.json"),
                "--state",
                &p("state.json"),
                "--out",
                &p(out),
            ],
        ))
    };
    prove("text:claims", "att.json");
    let check = |key: Option<usize>, extra: &[&str]| {
        let mut a = vec![
            "check",
            "--predicate",
            "has-organ-transplant",
            "--scope",
            "text:claims",
        ];
        a.extend_from_slice(extra);
        chain(key, &a)
    };
    let att = p("att.json");

    // 5. The check passes on chain, with no key.
    let v = json(&ok(&check(
        None,
        &["--attestation", &att, "--request", &request],
    )));
    assert_eq!(
        (v["valid"].clone(), v["answer"].clone()),
        (true.into(), true.into())
    );
    // And in Rust against the same chain.
    let v = json(&ok(&zkmed(
        k,
        &[
            "--json",
            "verify",
            "--attestation",
            &att,
            "--predicate",
            "has-organ-transplant",
            "--request",
            &request,
            "--scope",
            "text:claims",
            "--chain-dir",
            &dir,
            "--rpc-url",
            &url,
        ],
    )));
    assert_eq!(v["valid"], true, "{v}");

    // The committed verifier holds the TEST keys: it refuses the proof made with yours.
    ok(&chain(
        Some(0),
        &[
            "install-verifier",
            "--circuit",
            "exists-v3",
            "--artifact",
            repo()
                .join("contracts/artifacts/ExistsV3Verifier.json")
                .to_str()
                .unwrap(),
        ],
    ));
    let e = err(&check(
        None,
        &["--attestation", &att, "--request", &request],
    ));
    assert!(e.contains("InvalidProof"), "{e}");
    ok(&chain(
        Some(0),
        &[
            "install-verifier",
            "--circuit",
            "exists-v3",
            "--artifact",
            &p("V.json"),
        ],
    ));

    // A one-time claim: only the account the request value names consumes it (spends the
    // attestation's nullifier in the scope). Another account sending the same attestation
    // and nonce is refused, and the claim is intact.
    let consume = |key: usize| {
        check(
            Some(key),
            &["--attestation", &att, "--nonce", "7", "--consume"],
        )
    };
    let e = err(&consume(4));
    assert!(e.contains("ChallengeMismatch"), "{e}");
    let c = json(&ok(&consume(2)));
    assert_eq!(c["consumed"], true, "{c}");
    let e = err(&consume(2));
    assert!(e.contains("AlreadyConsumed"), "{e}");
    let e = err(&chain(
        None,
        &[
            "check",
            "--predicate",
            "has-organ-transplant",
            "--scope",
            "text:claims",
            "--attestation",
            &att,
            "--nonce",
            "7",
            "--consume",
        ],
    ));
    assert!(e.contains("needs --key"), "{e}");

    // The patient authorises another issuer (only the patient can).
    ok(&chain(
        Some(0),
        &["accredit", "--issuer", &stranger, "--name", "Other Lab"],
    ));
    let e = err(&chain(
        Some(4),
        &["authorise", "--token", "1", "--issuer", &stranger],
    ));
    assert!(e.contains("NotAllowed"), "{e}");
    ok(&chain(
        Some(3),
        &["authorise", "--token", "1", "--issuer", &stranger],
    ));
    ok(&chain(
        Some(3),
        &[
            "authorise",
            "--token",
            "1",
            "--issuer",
            &stranger,
            "--withdraw",
        ],
    ));

    // --force replaces the deployment file.
    ok(&chain(Some(0), &["deploy", "--force"]));
    let after = std::fs::read_to_string(tmp.path().join("chain/deployment-rpc.json")).unwrap();
    assert_ne!(before, after);

    // A dead node: read-only status fails within --rpc-timeout, with the chain error.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dead = format!("http://127.0.0.1:{closed}");
    let t0 = Instant::now();
    let e = err(&zkmed(
        k,
        &[
            "chain",
            "--data-dir",
            &dir,
            "--rpc",
            &dead,
            "--rpc-timeout",
            "1",
            "status",
            "--token",
            "1",
        ],
    ));
    assert!(e.contains("unreachable"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}
