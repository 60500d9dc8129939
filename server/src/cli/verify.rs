//! `zkmed verify`: check an attestation against the question, the challenge and the record
//! commitment (given, or read from chain).

use super::error::{coded, Coded};
use super::{
    deployment_file, load_query, out_line, parse_field_arg, read_attestation, read_deployment,
    yes_no, Ctx, QueryArgs,
};
use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zkmed_core::field::{fr_to_dec, parse_fr};
use zkmed_server::commitments::{chain_info, node_label, Labelled};
use zkmed_verifier::{CallerCommitment, CommitmentSource, KeySet};

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
    /// Seconds one JSON-RPC request to --rpc may take (reads are retried twice after a
    /// transport failure): a dead node fails the verification within about 3× this.
    #[arg(long, default_value_t = 10, conflicts_with = "commitment")]
    rpc_timeout: u64,
}

pub fn run(ctx: &Ctx, a: VerifyArgs) -> Result<()> {
    let dir = &ctx.keys;
    let keys = KeySet::load_manifest_dir(dir).map_err(|e| super::error::keys_error(dir, e))?;
    let att = read_attestation(&a.attestation)?;
    let query = load_query(&a.query)?;
    let challenge = parse_field_arg("challenge", &a.challenge)?;
    let source: Box<dyn CommitmentSource> = match &a.commitment {
        Some(c) => Box::new(CallerCommitment(parse_fr(c).context("--commitment")?)),
        None => chain_source(&a)?,
    };
    let t = Instant::now();
    let (result, report) =
        zkmed_verifier::verify_with_report(&keys, &att, &query, &challenge, &*source);
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    if let Err(e) = result {
        if !ctx.json {
            eprintln!("checks:\n{report}");
        }
        let code = super::error::code_of(&anyhow::Error::new(e));
        // A chain that could not be read decided nothing: that is not a rejection.
        let verdict = if code == "chain_unavailable" {
            "attestation NOT CHECKED (the chain could not be read)"
        } else {
            "attestation REJECTED"
        };
        return Err(anyhow::Error::new(Coded {
            code,
            message: format!("{verdict}: {}", report.failure.clone().unwrap_or_default()),
            details: Some(json!({"report": report.to_json()})),
        }));
    }
    out_line(
        ctx.json,
        json!({"valid": true, "verified": report.verified(), "answer": att.public.answer, "circuit": att.circuit, "nullifier": fr_to_dec(&att.public.nullifier), "verify_ms": verify_ms, "report": report.to_json()}),
        || {
            format!(
                "verified: the proven answer is {}\nchecks:\n{report}",
                yes_no(att.public.answer)
            )
        },
    );
    Ok(())
}

/// The chain-backed commitment source `zkmed verify` checks against: a node (`--rpc`, with
/// `--rpc-timeout`) or the embedded chain in `--chain-dir`; a clear error when there is
/// neither.
fn chain_source(a: &VerifyArgs) -> Result<Box<dyn CommitmentSource>> {
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry, RpcOptions};
    let file = deployment_file(a.rpc.as_deref(), &a.chain_dir);
    if a.rpc.is_none() && !file.exists() {
        return Err(coded(
            "no_commitment_source",
            format!(
                "nothing to check the record commitment against: give --commitment (the one the issuer gave you) or a chain (--rpc URL, or --chain-dir with a deployment; {} has none). A proof that is not checked against a commitment is never reported as verified",
                file.display()
            ),
        ));
    }
    let d = read_deployment(&file)?;
    let within = a.within.unwrap_or(0);
    let freshness = zkmed_chain::Freshness::from_window_s(within);
    Ok(match &a.rpc {
        Some(url) => {
            let timeout = Duration::from_secs(a.rpc_timeout.max(1));
            let options = RpcOptions {
                connect_timeout: timeout.min(Duration::from_secs(5)),
                request_timeout: timeout,
                ..RpcOptions::default()
            };
            Box::new(Labelled {
                inner: zkmed_chain::ChainCommitments::connect_with(
                    url,
                    d,
                    freshness,
                    Duration::ZERO,
                    options,
                )?,
                info: chain_info(node_label(url), within, 0),
            })
        }
        None => {
            let reader = EmbeddedBackend::open(&a.chain_dir, Address::ZERO)?;
            Box::new(Labelled {
                inner: zkmed_chain::RegistryCommitments::new(
                    Registry::attach(reader, d),
                    freshness,
                    Duration::ZERO,
                ),
                info: chain_info(format!("embedded, {}", a.chain_dir.display()), within, 0),
            })
        }
    })
}
