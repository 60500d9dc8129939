//! `zkmed demo`: the main job end to end — keys, a fixture patient imported and committed,
//! identity minted and commitment anchored on the embedded chain, two predicates proven
//! and verified against the chain.

use super::prove::prove_one;
use super::setup::run_setup;
use super::{
    deployment_file, load_query, out_line, parse_field_arg, yes_no, Ctx, QueryArgs, INSECURE,
};
use anyhow::{Context, Result};
use clap::Args;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkmed_circuits::CircuitId;
use zkmed_core::field::{fr_to_dec, Fr};
use zkmed_core::poseidon;
use zkmed_prover::{IdentitySecret, KeyStore};
use zkmed_records::{import_bundle, Opening};
use zkmed_verifier::KeySet;

#[derive(Args)]
pub struct DemoArgs {
    /// FHIR bundle of the demo patient.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo/jonathan-hermiston.json"))]
    bundle: PathBuf,
    /// Working directory for the identity, opening and attestations.
    #[arg(long, default_value = ".zkmed/demo")]
    workdir: PathBuf,
}

pub fn run(ctx: &Ctx, a: DemoArgs) -> Result<()> {
    let (dir, json) = (&ctx.keys, ctx.json);
    let needed = [CircuitId::Exists, CircuitId::Scan64];
    let have = KeyStore::open(dir)
        .map(|k| k.available())
        .unwrap_or_default();
    let missing: Vec<_> = needed
        .iter()
        .copied()
        .filter(|c| !have.contains(c))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "setting up keys for {} in {} ...\n{INSECURE}",
            missing
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            dir.display()
        );
        run_setup(dir, &missing, None, json)?;
    }
    let keys = KeyStore::open(dir)?;
    let t = Instant::now();
    for c in needed {
        keys.get(c)?; // hash-checked load + R1CS matrices, timed separately from proving
    }
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    // The demo's identity and opening are secrets: the work directory is private (0700).
    zkmed_server::files::create_private_dir(&a.workdir)
        .with_context(|| format!("creating {}", a.workdir.display()))?;
    let bytes = std::fs::read(&a.bundle)
        .with_context(|| format!("reading demo bundle {}", a.bundle.display()))?;
    let imported =
        import_bundle(&bytes).with_context(|| format!("bundle {}", a.bundle.display()))?;
    let name = a
        .bundle
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = IdentitySecret::random(&mut OsRng);
    let opening = Opening::create(imported, id.commitment(), &mut OsRng)?;
    let commitment = opening.commitment()?;
    opening.save(a.workdir.join("opening.json"))?;
    // On chain (the embedded chain in the work directory; it persists across runs): the
    // hospital, accredited by governance, mints the patient's soul-bound identity token and
    // anchors the record commitment. The verifier (an insurer) checks proofs against it.
    let chain_start = Instant::now();
    let (registry, token, anchor_gas) =
        demo_chain(&a.workdir.join("chain"), &id.commitment(), &commitment)?;
    let chain_ms = chain_start.elapsed().as_secs_f64() * 1e3;
    let vkeys = KeySet::load_manifest_dir(dir)?;
    let challenge = parse_field_arg("challenge", &format!("text:demo-{}", random_tag()))?;
    let scope = parse_field_arg("scope", "text:demo-insurer")?;
    let mut rows = Vec::new();
    for pred in ["has-organ-transplant", "no-chronic-conditions"] {
        let query = load_query(&QueryArgs::predicate(pred))?;
        let (p, took) = prove_one(&keys, &opening, &id, &query, challenge, scope, json)?;
        let path = a.workdir.join(format!("{pred}.attestation.json"));
        std::fs::write(&path, p.attestation.to_json())?;
        let t = Instant::now();
        zkmed_verifier::verify(&vkeys, &p.attestation, &query, &challenge, &registry)
            .with_context(|| format!("verifying {pred}"))?;
        let verify_ms = t.elapsed().as_secs_f64() * 1e3;
        rows.push(json!({
            "predicate": pred, "answer": p.attestation.public.answer, "circuit": p.attestation.circuit,
            "records_of_kind": p.plan.records_of_kind, "prove_ms": took.as_millis(), "verify_ms": verify_ms,
            "attestation": path, "attestation_bytes": p.attestation.to_bytes()?.len(),
        }));
    }
    let report = opening.import_report.clone();
    out_line(
        json,
        json!({"patient": name, "key_load_ms": load_ms, "record_commitment": fr_to_dec(&commitment), "identity_token": token.to_string(), "anchor_gas": anchor_gas, "chain_ms": chain_ms, "results": rows, "insecure_setup": true}),
        || {
            let mut s = String::from("zkmed demo\n");
            s += &format!("patient        {name} (synthetic, Synthea)\n");
            s += &format!(
                "records        {} committed ({} non-clinical resources skipped)\n",
                report.records.values().sum::<usize>(),
                report.skipped_types.values().sum::<usize>()
            );
            s += &format!("commitment     {}\n", fr_to_dec(&commitment));
            s += &format!(
                "chain          identity token #{token} minted, commitment anchored ({anchor_gas} gas) on the embedded chain in {chain_ms:.0} ms\n"
            );
            s += &format!(
                "keys           loaded, hash-checked, R1CS matrices derived in {load_ms:.0} ms\n\n"
            );
            s += &format!(
                "{:<24} {:<7} {:<11} {:>9} {:>10}  {}\n",
                "predicate", "answer", "circuit", "prove ms", "verify ms", "verified"
            );
            for r in &rows {
                s += &format!(
                    "{:<24} {:<7} {:<11} {:>9} {:>10.2}  yes\n",
                    r["predicate"].as_str().unwrap_or(""),
                    yes_no(r["answer"].as_bool().unwrap_or(false)),
                    r["circuit"].as_str().unwrap_or(""),
                    r["prove_ms"],
                    r["verify_ms"].as_f64().unwrap_or(0.0)
                );
            }
            s += &format!(
                "\nattestations in {}; the verifier learned only the answers.\n{INSECURE}",
                a.workdir.display()
            );
            s
        },
    );
    Ok(())
}

/// The demo's chain: the embedded chain under `dir` (deployed and a demo hospital
/// accredited on first use); mints a token for the identity and anchors the commitment.
/// Returns the commitment source that verifies against it.
fn demo_chain(
    dir: &Path,
    idc: &Fr,
    commitment: &Fr,
) -> Result<(
    zkmed_chain::RegistryCommitments<zkmed_chain::backend::EmbeddedBackend>,
    zkmed_chain::backend::U256,
    u64,
)> {
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry};
    let gov = EmbeddedBackend::open(dir, Address::repeat_byte(0x01))?;
    let hospital = gov.as_account(Address::repeat_byte(0x02));
    let reader = gov.as_account(Address::repeat_byte(0x03));
    let deployment_file = deployment_file(None, dir);
    let deployment = if deployment_file.exists() {
        zkmed_chain::Deployment::load(&deployment_file)?
    } else {
        let mut g = Registry::deploy(gov)?;
        g.accredit(hospital.account, "zkmed demo hospital")?;
        g.deployment.save(&deployment_file)?;
        g.deployment
    };
    let mut h = Registry::attach(hospital, deployment);
    // The patient's address: any fresh one (the demo's identity is new on every run).
    let digest = poseidon::poseidon(&[*idc])?;
    let bytes = zkmed_core::field::fr_to_be_bytes(&digest);
    let patient = Address::from_slice(&bytes[12..]);
    let token = h.mint(patient, idc, &[], 0)?;
    let gas = h.anchor(token, commitment, false)?;
    Ok((
        zkmed_chain::RegistryCommitments::new(
            Registry::attach(reader, deployment),
            zkmed_chain::Freshness::Current,
            std::time::Duration::ZERO,
        ),
        token,
        gas,
    ))
}

/// A fresh random tag for the demo's challenge.
fn random_tag() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
