//! `zkmed verify`: check an attestation against the question, the challenge and the record
//! commitment (given, or read from chain).

use super::{
    deployment_file, load_query, out_line, parse_field_arg, read_attestation, read_deployment,
    yes_no, Ctx, QueryArgs,
};
use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkmed_core::field::{fr_to_dec, parse_fr};
use zkmed_verifier::{InMemoryCommitments, KeySet};

#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long, default_value = "attestation.json")]
    attestation: PathBuf,
    #[command(flatten)]
    query: QueryArgs,
    #[arg(long)]
    challenge: String,
    /// The record commitment you expect for this identity (from the issuer). Without it,
    /// the commitment is checked on chain: the identity token, its anchored root and the
    /// anchoring issuer's accreditation.
    #[arg(long, conflicts_with_all = ["rpc", "within"])]
    commitment: Option<String>,
    /// Check on the chain at this JSON-RPC URL (read-only, no key); default: the embedded
    /// chain in --chain-dir.
    #[arg(long, env = "ZKMED_RPC")]
    rpc: Option<String>,
    /// Where `zkmed chain` keeps the embedded chain and the deployment addresses.
    #[arg(long, default_value = ".zkmed/chain")]
    chain_dir: PathBuf,
    /// Accept a root that was current at some moment in the last N seconds (default: only
    /// the current root).
    #[arg(long)]
    within: Option<u64>,
}

pub fn run(ctx: &Ctx, a: VerifyArgs) -> Result<()> {
    let dir = &ctx.keys;
    let keys = KeySet::load_manifest_dir(dir)
        .with_context(|| format!("key directory {}", dir.display()))?;
    let att = read_attestation(&a.attestation)?;
    let query = load_query(&a.query)?;
    let challenge = parse_field_arg("challenge", &a.challenge)?;
    let source: Box<dyn zkmed_verifier::CommitmentSource> = match &a.commitment {
        Some(c) => {
            let commitment = parse_fr(c).context("--commitment")?;
            let mut source = InMemoryCommitments::new();
            source.anchor(att.public.identity_commitment, commitment);
            Box::new(source)
        }
        None => chain_source(a.rpc.as_deref(), &a.chain_dir, a.within)?,
    };
    let t = Instant::now();
    zkmed_verifier::verify(&keys, &att, &query, &challenge, &*source)
        .context("attestation REJECTED")?;
    out_line(
        ctx.json,
        json!({"valid": true, "answer": att.public.answer, "circuit": att.circuit, "nullifier": fr_to_dec(&att.public.nullifier), "verify_ms": t.elapsed().as_secs_f64() * 1e3}),
        || format!("valid: the proven answer is {}", yes_no(att.public.answer)),
    );
    Ok(())
}

/// The chain-backed commitment source `zkmed verify` checks against.
fn chain_source(
    rpc: Option<&str>,
    dir: &Path,
    within: Option<u64>,
) -> Result<Box<dyn zkmed_verifier::CommitmentSource>> {
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry};
    let d = read_deployment(&deployment_file(rpc, dir))?;
    let freshness = zkmed_chain::Freshness::from_window_s(within.unwrap_or(0));
    Ok(match rpc {
        Some(url) => Box::new(zkmed_chain::ChainCommitments::connect(
            url,
            d,
            freshness,
            std::time::Duration::ZERO,
        )?),
        None => {
            let reader = EmbeddedBackend::open(dir, Address::ZERO)?;
            Box::new(zkmed_chain::RegistryCommitments::new(
                Registry::attach(reader, d),
                freshness,
                std::time::Duration::ZERO,
            ))
        }
    })
}
