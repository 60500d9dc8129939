//! `zkmed export solidity | calldata | snarkjs`: the verifying key and attestations in
//! other tools' formats.

use super::{out_line, read_attestation, Ctx};
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use serde_json::json;
use std::path::{Path, PathBuf};
use zkmed_verifier::KeySet;

#[derive(Subcommand)]
pub enum ExportCmd {
    /// Write a Groth16 verifier contract (Solidity) for a circuit's verifying key.
    Solidity {
        #[arg(long, default_value = "exists-v3")]
        circuit: String,
        /// Contract name (default: from the circuit id, e.g. ExistsV3Verifier).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print an attestation's proof and inputs as the verifier contract's calldata (JSON).
    Calldata {
        #[arg(long, default_value = "attestation.json")]
        attestation: PathBuf,
    },
    /// Write proof.json, public.json and verification_key.json for `snarkjs groth16 verify`.
    Snarkjs {
        #[arg(long, default_value = "attestation.json")]
        attestation: PathBuf,
        #[arg(long, default_value = "snarkjs")]
        out: PathBuf,
    },
}

pub fn run(ctx: &Ctx, cmd: ExportCmd) -> Result<()> {
    match cmd {
        ExportCmd::Solidity { circuit, name, out } => solidity(ctx, &circuit, name, &out),
        ExportCmd::Calldata { attestation } => {
            let att = read_attestation(&attestation)?;
            let (proof, input) = zkmed_verifier::evm_calldata(&att)?;
            super::emit(&json!({"proof": proof, "input": input}).to_string());
            Ok(())
        }
        ExportCmd::Snarkjs { attestation, out } => snarkjs(ctx, &attestation, &out),
    }
}

/// `ExistsV3Verifier` for `exists-v3`.
fn contract_name(circuit: &str) -> String {
    circuit
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<String>()
        + "Verifier"
}

fn solidity(ctx: &Ctx, circuit: &str, name: Option<String>, out: &Path) -> Result<()> {
    let keys = KeySet::load_manifest_dir(&ctx.keys)?;
    let key = keys
        .get(circuit)
        .ok_or_else(|| anyhow!("no verifying key for circuit {circuit}"))?;
    let name = name.unwrap_or_else(|| contract_name(circuit));
    let src = zkmed_verifier::export_solidity(key.vk(), &name, circuit, key.key_hash())?;
    std::fs::write(out, src).with_context(|| format!("writing {}", out.display()))?;
    out_line(ctx.json, json!({"contract": name, "file": out}), || {
        format!("wrote {name} to {}", out.display())
    });
    Ok(())
}

fn snarkjs(ctx: &Ctx, attestation: &Path, out: &Path) -> Result<()> {
    let dir = &ctx.keys;
    let keys = KeySet::load_manifest_dir(dir)?;
    let att = read_attestation(attestation)?;
    let key = keys
        .get(&att.circuit)
        .ok_or_else(|| anyhow!("no verifying key for circuit {}", att.circuit))?;
    if key.key_hash() != att.key_hash {
        bail!(
            "attestation was made for verifying key {} but {} holds {}",
            att.key_hash,
            dir.display(),
            key.key_hash()
        );
    }
    let files = zkmed_verifier::export_snarkjs(key.vk(), &att)?;
    std::fs::create_dir_all(out)?;
    for (name, v) in [
        ("proof.json", &files.proof_json),
        ("public.json", &files.public_json),
        ("verification_key.json", &files.verification_key_json),
    ] {
        std::fs::write(out.join(name), serde_json::to_string_pretty(v)?)?;
    }
    out_line(ctx.json, json!({"dir": out}), || {
        format!("wrote {0}/proof.json, {0}/public.json, {0}/verification_key.json\ncheck with: snarkjs groth16 verify {0}/verification_key.json {0}/public.json {0}/proof.json", out.display())
    });
    Ok(())
}
