//! `zkmed demo`: the main job end to end on the anchored-state model (docs/state.md) —
//! keys; two fixture patients imported and committed; their identity tokens minted on the
//! embedded chain; their genesis states anchored by ONE issuer batch (gas per patient
//! update printed); attestations for two verifiers (two scopes, two requests); each one
//! verified against the chain's roots.
//!
//! Files (the work directory is private, 0700; every secret file 0600):
//! - `<workdir>/<patient>/{identity,opening,state}.json`: the patient's private files;
//! - `<workdir>/attestations/<patient>.<verifier>.<predicate>.json`: what a verifier gets;
//! - `<workdir>/attestations/verifiers.json`: each verifier's scope, request and question
//!   (public: what `zkmed verify` needs);
//! - `<workdir>/chain/`: the embedded chain (`zkmed verify --chain-dir <workdir>/chain`).
//!
//! Every run starts these afresh (a new chain, new identities).

use super::prove::prove_one;
use super::setup::run_setup;
use super::{load_query, out_line, parse_field_arg, yes_no, Ctx, QueryArgs, INSECURE};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkmed_chain::backend::{Address, EmbeddedBackend, Registry, U256};
use zkmed_circuits::CircuitId;
use zkmed_core::field::{fr_to_dec, Fr};
use zkmed_prover::{IdentitySecret, KeyStore};
use zkmed_records::{import_bundle, Opening};
use zkmed_server::genesis::{anchor_genesis, GenesisPatient};
use zkmed_verifier::{KeySet, RootPolicy};

#[derive(Args)]
pub struct DemoArgs {
    /// FHIR bundle of the first demo patient.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo/jonathan-hermiston.json"))]
    bundle: PathBuf,
    /// FHIR bundle of the second patient (default: a variant of the first bundle without
    /// its Procedure resources, so the two patients' answers differ).
    #[arg(long)]
    second_bundle: Option<PathBuf>,
    /// Working directory: patients' private files, attestations, the embedded chain.
    #[arg(long, default_value = ".zkmed/demo")]
    workdir: PathBuf,
}

/// The two verifiers: name, scope, question.
const VERIFIERS: [(&str, &str, &str); 2] = [
    ("insurer", "text:zkmed-demo-insurer", "has-organ-transplant"),
    (
        "employer",
        "text:zkmed-demo-employer",
        "no-chronic-conditions",
    ),
];

struct Patient {
    name: String,
    id: IdentitySecret,
    opening: Opening,
    record_commitment: Fr,
    token: U256,
    rho: Fr,
    dir: PathBuf,
}

impl Drop for Patient {
    fn drop(&mut self) {
        zkmed_core::poseidon::zeroize_fr(&mut self.rho);
    }
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

    // ---------------------------------------------------------------- patients
    let bytes = std::fs::read(&a.bundle)
        .with_context(|| format!("reading demo bundle {}", a.bundle.display()))?;
    let name1 = stem(&a.bundle);
    let (name2, bytes2) = match &a.second_bundle {
        Some(p) => (
            stem(p),
            std::fs::read(p).with_context(|| format!("reading demo bundle {}", p.display()))?,
        ),
        None => (format!("{name1}-variant"), without_procedures(&bytes)?),
    };
    if name1 == name2 {
        bail!(
            "the two demo bundles have the same file name ({name1}): give another --second-bundle"
        );
    }
    let attestations = a.workdir.join("attestations");
    let chain_dir = a.workdir.join("chain");
    // The work directory holds secrets: private (0700). Start the demo's own outputs afresh.
    zkmed_core::files::create_private_dir(&a.workdir)
        .with_context(|| format!("creating {}", a.workdir.display()))?;
    for d in [
        chain_dir.clone(),
        attestations.clone(),
        a.workdir.join(&name1),
        a.workdir.join(&name2),
    ] {
        if d.exists() {
            std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
        }
    }
    zkmed_core::files::create_private_dir(&attestations)?;
    let mut patients = Vec::new();
    for (name, bundle, label) in [(&name1, &bytes, &a.bundle), (&name2, &bytes2, &a.bundle)] {
        let imported = import_bundle(bundle)
            .with_context(|| format!("bundle {} ({name})", label.display()))?;
        let id = IdentitySecret::random(&mut OsRng);
        let opening = Opening::create(imported, id.commitment(), &mut OsRng)?;
        let record_commitment = opening.commitment()?;
        let pdir = a.workdir.join(name);
        zkmed_core::files::create_private_dir(&pdir)?;
        id.save(&pdir.join("identity.json"))?;
        opening.save(pdir.join("opening.json"))?;
        patients.push(Patient {
            name: name.clone(),
            id,
            opening,
            record_commitment,
            token: U256::ZERO,
            rho: zkmed_records::opening::random_salt(&mut OsRng),
            dir: pdir,
        });
    }

    // ---------------------------------------------------------------- chain
    // Governance deploys and accredits the hospital; the hospital mints both identity
    // tokens, then anchors both genesis states in ONE batch: its note tree's new root, and
    // each identity's genesis nullifier inserted into the spent set (published in calldata).
    let chain_start = Instant::now();
    // Governance is `zkmed chain`'s default account (0x…01), so `zkmed chain --data-dir
    // <workdir>/chain suspend ...` works on the demo's chain; the hospital is 0x…02.
    let gov = EmbeddedBackend::open(&chain_dir, Address::with_last_byte(0x01))?;
    let hospital = gov.as_account(Address::with_last_byte(0x02));
    let reader = gov.as_account(Address::with_last_byte(0x03));
    let mut g = Registry::deploy(gov)?;
    g.accredit(hospital.account, "zkmed demo hospital")?;
    g.deployment
        .save(&super::deployment_file(None, &chain_dir))?;
    let deployment = g.deployment;
    let mut h = Registry::attach(hospital, deployment);
    for (i, p) in patients.iter_mut().enumerate() {
        // Each patient's wallet: any fresh address.
        let patient = Address::with_last_byte(0x10 + i as u8);
        p.token = h.mint(patient, &p.id.commitment(), &[], 0)?;
    }
    // One batch: the notes (shuffled), the genesis nullifiers; each patient's proof of
    // anchoring against the chain's roots after it (identity path from the chain's events,
    // note path from the issuer, issuers path, spent-set non-membership).
    let genesis: Vec<GenesisPatient> = patients
        .iter()
        .map(|p| GenesisPatient {
            token: p.token,
            identity_commitment: p.id.commitment(),
            record_commitment: p.record_commitment,
            rho: p.rho,
        })
        .collect();
    let batch = anchor_genesis(&mut h, &genesis, &mut OsRng)?;
    drop(genesis); // holds copies of the rhos
    let batch_gas = batch.gas;
    let gas_per_update = batch_gas as f64 / patients.len() as f64;
    let (identity_root, state_root) = (batch.states[0].identity_root, batch.states[0].state_root);
    for (p, state) in patients.iter().zip(&batch.states) {
        let body = zeroize::Zeroizing::new(serde_json::to_vec_pretty(state)?);
        zkmed_core::files::write_private_atomic(&p.dir.join("state.json"), &body)?;
    }
    drop(batch);
    let chain_ms = chain_start.elapsed().as_secs_f64() * 1e3;

    // ---------------------------------------------------------------- attestations
    let vkeys = KeySet::load_manifest_dir(dir)?;
    let roots = zkmed_chain::ChainRoots::new(Registry::attach(reader, deployment))
        .named(format!("the embedded chain in {}", chain_dir.display()));
    let mut verifiers = Vec::new();
    let mut rows = Vec::new();
    for (verifier, scope_s, pred) in VERIFIERS {
        let request_s = format!("text:{verifier}-{}", random_tag());
        let request = parse_field_arg("request", &request_s)?;
        let scope = parse_field_arg("scope", scope_s)?;
        let challenge = zkmed_state::note::challenge(scope, request);
        let query = load_query(&QueryArgs::predicate(pred))?;
        verifiers.push(json!({"verifier": verifier, "scope": scope_s, "request": request_s, "predicate": pred}));
        for p in &patients {
            let state = super::prove::load_state(&p.dir.join("state.json"))?;
            let (pr, took) = prove_one(
                &keys, &p.opening, &p.id, &state, &query, request, scope, json,
            )?;
            let path = attestations.join(format!("{}.{verifier}.{pred}.json", p.name));
            std::fs::write(&path, pr.attestation.to_json())
                .with_context(|| format!("writing {}", path.display()))?;
            let t = Instant::now();
            zkmed_verifier::verify(
                &vkeys,
                &pr.attestation,
                &query,
                &challenge,
                &RootPolicy::new(&roots),
            )
            .with_context(|| format!("verifying {}", path.display()))?;
            let verify_ms = t.elapsed().as_secs_f64() * 1e3;
            rows.push(json!({
                "patient": p.name, "verifier": verifier, "predicate": pred,
                "answer": pr.attestation.public.answer, "circuit": pr.attestation.circuit,
                "records_of_kind": pr.plan.records_of_kind, "prove_ms": took.as_millis(),
                "verify_ms": verify_ms, "attestation": path,
                "attestation_bytes": pr.attestation.to_bytes()?.len(),
            }));
        }
    }
    std::fs::write(
        attestations.join("verifiers.json"),
        serde_json::to_vec_pretty(&verifiers)?,
    )?;
    let tokens: Vec<String> = patients.iter().map(|p| p.token.to_string()).collect();
    let names: Vec<&str> = patients.iter().map(|p| p.name.as_str()).collect();
    out_line(
        json,
        json!({"patients": names, "key_load_ms": load_ms, "identity_tokens": tokens,
               "batch": {"updates": patients.len(), "gas": batch_gas, "gas_per_update": gas_per_update},
               "roots": {"identity": fr_to_dec(&identity_root), "state": fr_to_dec(&state_root)},
               "chain_ms": chain_ms, "chain_dir": chain_dir, "workdir": a.workdir,
               "verifiers": verifiers, "results": rows, "insecure_setup": true}),
        || {
            let mut s = String::from("zkmed demo\n");
            for p in &patients {
                let r = &p.opening.import_report;
                s += &format!(
                    "patient        {} (synthetic, Synthea): {} records committed, identity token #{}\n",
                    p.name,
                    r.records.values().sum::<usize>(),
                    p.token
                );
            }
            s += &format!(
                "chain          2 identity tokens minted; 1 issuer batch anchored 2 genesis states: {batch_gas} gas, {gas_per_update:.0} gas per patient update (embedded chain, {chain_ms:.0} ms)\n"
            );
            s += &format!(
                "roots          identity {}\n               state    {}\n",
                fr_to_dec(&identity_root),
                fr_to_dec(&state_root)
            );
            s += &format!(
                "keys           loaded, hash-checked, R1CS matrices derived in {load_ms:.0} ms\n\n"
            );
            s += &format!(
                "{:<28} {:<9} {:<23} {:<7} {:<11} {:>9} {:>10}  {}\n",
                "patient",
                "verifier",
                "predicate",
                "answer",
                "circuit",
                "prove ms",
                "verify ms",
                "verified"
            );
            for r in &rows {
                s += &format!(
                    "{:<28} {:<9} {:<23} {:<7} {:<11} {:>9} {:>10.2}  yes\n",
                    r["patient"].as_str().unwrap_or(""),
                    r["verifier"].as_str().unwrap_or(""),
                    r["predicate"].as_str().unwrap_or(""),
                    yes_no(r["answer"].as_bool().unwrap_or(false)),
                    r["circuit"].as_str().unwrap_or(""),
                    r["prove_ms"],
                    r["verify_ms"].as_f64().unwrap_or(0.0)
                );
            }
            s += &format!(
                "\nattestations in {} (no identity or record commitment in any: check them);\n\
                 each patient's private files (identity, opening, anchored state) in {}/<patient>/.\n\
                 The verifiers learned the answers, the roots and one nullifier per scope.\n{INSECURE}",
                attestations.display(),
                a.workdir.display()
            );
            s
        },
    );
    Ok(())
}

/// A bundle's file stem (the patient's name in the demo's file names).
fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "patient".into())
}

/// The bundle without its Procedure resources: a second synthetic patient from the one
/// fixture (same history, no procedures on record).
fn without_procedures(bundle: &[u8]) -> Result<Vec<u8>> {
    let mut v: serde_json::Value =
        serde_json::from_slice(bundle).context("the demo bundle is not JSON")?;
    let entries = v
        .get_mut("entry")
        .and_then(|e| e.as_array_mut())
        .ok_or_else(|| anyhow!("the demo bundle has no `entry` array"))?;
    entries.retain(|e| e["resource"]["resourceType"] != "Procedure");
    Ok(serde_json::to_vec(&v)?)
}

/// A fresh random tag for a verifier's request.
fn random_tag() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
