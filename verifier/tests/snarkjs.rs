//! Cross-implementation check: a zkmed proof exported with `export_snarkjs` verifies with
//! the pinned snarkjs (`tools/snarkjs`), and a tampered public input does not.
//!
//! Needs `npm ci --prefix tools/snarkjs`. Without it the test is skipped with a notice,
//! except under CI (env `CI` set), where it fails.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use zkmed_verifier::{export_snarkjs, VerifyError};

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/snarkjs")
}

/// The pinned snarkjs CLI, or `None` (after failing under CI) if it is not installed.
fn snarkjs() -> Option<PathBuf> {
    let bin = tools_dir().join("node_modules/.bin/snarkjs");
    if bin.exists() {
        return Some(bin);
    }
    let msg = format!(
        "snarkjs is not installed at {}; run `npm ci --prefix tools/snarkjs` (needs Node.js) to enable this test",
        bin.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("NOTICE: skipping the snarkjs cross-check: {msg}");
    None
}

fn write(dir: &Path, name: &str, v: &Value) {
    std::fs::write(dir.join(name), serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

fn snarkjs_verify(bin: &Path, dir: &Path) -> (bool, String) {
    let out = Command::new(bin)
        .current_dir(dir)
        .args([
            "groth16",
            "verify",
            "verification_key.json",
            "public.json",
            "proof.json",
        ])
        .output()
        .expect("run snarkjs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn snarkjs_verifies_exported_proof_and_rejects_tampering() {
    let f = fixture();
    let att = f.key.attest(&public(3), 3);
    let files = export_snarkjs(&f.key.pk.vk, &att).unwrap();

    // The formats, independent of snarkjs being installed.
    let vk = &files.verification_key_json;
    assert_eq!(vk["protocol"], "groth16");
    assert_eq!(vk["curve"], "bn128");
    assert_eq!(vk["nPublic"], 6);
    assert_eq!(vk["IC"].as_array().unwrap().len(), 7);
    assert_eq!(vk["vk_alpha_1"][2], "1");
    assert_eq!(vk["vk_beta_2"][2], serde_json::json!(["1", "0"]));
    assert_eq!(vk["vk_alphabeta_12"].as_array().unwrap().len(), 2);
    assert_eq!(vk["vk_alphabeta_12"][0].as_array().unwrap().len(), 3);
    assert_eq!(files.proof_json["protocol"], "groth16");
    assert_eq!(files.proof_json["pi_b"][1].as_array().unwrap().len(), 2);
    let public: Vec<String> = files
        .public_json
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = att
        .public
        .to_field_elements()
        .iter()
        .map(zkmed_core::field::fr_to_dec)
        .collect();
    assert_eq!(public, expected);
    assert_eq!(public[5], if att.public.answer { "1" } else { "0" });

    // Refuses to pair a proof with the wrong key.
    let e = export_snarkjs(&f.other.pk.vk, &att).unwrap_err();
    assert!(matches!(e, VerifyError::KeyHashMismatch { .. }), "{e:?}");

    let Some(bin) = snarkjs() else { return };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "verification_key.json", vk);
    write(dir.path(), "public.json", &files.public_json);
    write(dir.path(), "proof.json", &files.proof_json);
    let (ok, out) = snarkjs_verify(&bin, dir.path());
    assert!(
        ok && out.contains("OK"),
        "snarkjs rejected a valid zkmed proof:\n{out}"
    );

    // vk_alphabeta_12 is what snarkjs itself computes for e(alpha, beta) (snarkjs does not
    // read it when verifying, so check it directly with its field library).
    let script = r#"
        const { buildBn128, utils } = require("ffjavascript");
        const fs = require("fs");
        (async () => {
            const vk = utils.unstringifyBigInts(JSON.parse(fs.readFileSync(process.env.ZKMED_VK_JSON)));
            const curve = await buildBn128(true);
            const ab = await curve.pairing(curve.G1.fromObject(vk.vk_alpha_1), curve.G2.fromObject(vk.vk_beta_2));
            process.stdout.write(JSON.stringify(utils.stringifyBigInts(curve.Gt.toObject(ab))));
            await curve.terminate();
        })();
    "#;
    let out = Command::new("node")
        .current_dir(tools_dir())
        .args(["-e", script])
        .env("ZKMED_VK_JSON", dir.path().join("verification_key.json"))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        theirs, vk["vk_alphabeta_12"],
        "vk_alphabeta_12 differs from snarkjs's e(alpha, beta)"
    );

    // Each tampered public input makes snarkjs reject.
    for (i, replacement) in [
        (0usize, "12345"),
        (5, if att.public.answer { "0" } else { "1" }),
    ] {
        let mut tampered = files.public_json.clone();
        tampered[i] = Value::String(replacement.into());
        write(dir.path(), "public.json", &tampered);
        let (ok, out) = snarkjs_verify(&bin, dir.path());
        assert!(
            !ok && out.contains("Invalid proof"),
            "snarkjs accepted tampered input {i}:\n{out}"
        );
    }
}
