//! `zkmed prove`: prove a question about committed records; writes the attestation.

use super::{load_query, out_line, parse_field_arg, spinner, yes_no, Ctx, QueryArgs};
use anyhow::{Context, Result};
use clap::Args;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zkmed_core::field::Fr;
use zkmed_core::query::Query;
use zkmed_prover::{IdentitySecret, KeyStore, ProveRequest};
use zkmed_records::Opening;

#[derive(Args)]
pub struct ProveArgs {
    #[arg(long, default_value = "opening.json")]
    opening: PathBuf,
    #[arg(long, default_value = "identity.json")]
    identity: PathBuf,
    #[command(flatten)]
    query: QueryArgs,
    /// The verifier's challenge: a field element, or `text:...` hashed into the field.
    #[arg(long)]
    challenge: String,
    /// The verifier's scope for the nullifier: a field element or `text:...`.
    #[arg(long, default_value = "text:default")]
    scope: String,
    #[arg(long, default_value = "attestation.json")]
    out: PathBuf,
    /// Also write the compact binary form next to `--out` (`.bin`).
    #[arg(long)]
    binary: bool,
}

pub fn run(ctx: &Ctx, a: ProveArgs) -> Result<()> {
    let (dir, json) = (&ctx.keys, ctx.json);
    let keys = KeyStore::open(dir).map_err(|e| super::error::keys_error(dir, e))?;
    let opening = Opening::load(&a.opening)?;
    let id = IdentitySecret::load(&a.identity)?;
    let query = load_query(&a.query)?;
    let challenge = parse_field_arg("challenge", &a.challenge)?;
    let scope = parse_field_arg("scope", &a.scope)?;
    let (p, took) = prove_one(&keys, &opening, &id, &query, challenge, scope, json)?;
    std::fs::write(&a.out, p.attestation.to_json())
        .with_context(|| format!("writing {}", a.out.display()))?;
    if a.binary {
        let bin = a.out.with_extension("bin");
        std::fs::write(&bin, p.attestation.to_bytes()?)
            .with_context(|| format!("writing {}", bin.display()))?;
    }
    out_line(
        json,
        json!({"answer": p.attestation.public.answer, "circuit": p.attestation.circuit, "prove_ms": took.as_millis(), "attestation": a.out}),
        || {
            format!(
                "answer: {}\ncircuit: {} ({:.0} ms)\nattestation written to {}",
                yes_no(p.attestation.public.answer),
                p.attestation.circuit,
                took.as_secs_f64() * 1e3,
                a.out.display()
            )
        },
    );
    Ok(())
}

/// Plans and proves one question, with a spinner (hidden when `quiet`); returns the proof
/// and the time it took.
pub fn prove_one(
    keys: &KeyStore,
    opening: &Opening,
    id: &IdentitySecret,
    query: &Query,
    challenge: Fr,
    scope: Fr,
    quiet: bool,
) -> Result<(zkmed_prover::Proven, Duration)> {
    let cq = query.compile()?;
    let plan = zkmed_prover::plan(opening, &cq, &keys.available())?;
    let bar = spinner(quiet);
    bar.set_message(format!(
        "proving with {} ({} records of the kind)",
        plan.circuit, plan.records_of_kind
    ));
    let t = Instant::now();
    let p = zkmed_prover::prove(
        keys,
        &ProveRequest {
            opening,
            identity: id,
            query,
            challenge,
            scope,
        },
        &mut OsRng,
    )?;
    bar.finish_and_clear();
    Ok((p, t.elapsed()))
}
