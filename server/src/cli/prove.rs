//! `zkmed prove`: prove a question about the patient's anchored records; writes the
//! attestation.

use super::{load_query, out_line, parse_field_arg, spinner, yes_no, Ctx, QueryArgs};
use anyhow::{Context, Result};
use clap::Args;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkmed_core::field::{fr_to_dec, Fr};
use zkmed_core::query::Query;
use zkmed_prover::{IdentitySecret, KeyStore, ProveRequest};
use zkmed_records::Opening;
use zkmed_state::AnchoredState;

#[derive(Args)]
pub struct ProveArgs {
    #[arg(long, default_value = "opening.json")]
    opening: PathBuf,
    #[arg(long, default_value = "identity.json")]
    identity: PathBuf,
    /// The patient's anchored-state file (proof of anchoring: the note's blinding and the
    /// identity, note, issuers and spent-set paths), from its issuer.
    #[arg(long, default_value = "state.json")]
    state: PathBuf,
    #[command(flatten)]
    query: QueryArgs,
    /// The verifier's request value: a field element, or `text:...` hashed into the field.
    /// The attestation's public challenge is H(scope, request).
    #[arg(long)]
    request: String,
    /// The verifier's scope: a field element or `text:...`. The nullifier is H(nk, scope):
    /// the same for every attestation in one scope, unlinkable across scopes.
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
    let state = load_state(&a.state)?;
    let query = load_query(&a.query)?;
    let request = parse_field_arg("request", &a.request)?;
    let scope = parse_field_arg("scope", &a.scope)?;
    let (p, took) = prove_one(&keys, &opening, &id, &state, &query, request, scope, json)?;
    std::fs::write(&a.out, p.attestation.to_json())
        .with_context(|| format!("writing {}", a.out.display()))?;
    if a.binary {
        let bin = a.out.with_extension("bin");
        std::fs::write(&bin, p.attestation.to_bytes()?)
            .with_context(|| format!("writing {}", bin.display()))?;
    }
    let pb = &p.attestation.public;
    out_line(
        json,
        json!({"answer": pb.answer, "circuit": p.attestation.circuit, "prove_ms": took.as_millis(),
               "attestation": a.out, "challenge": fr_to_dec(&pb.challenge),
               "nullifier": fr_to_dec(&pb.nullifier), "identity_root": fr_to_dec(&pb.identity_root),
               "state_root": fr_to_dec(&pb.state_root)}),
        || {
            format!(
                "answer: {}\ncircuit: {} ({:.0} ms)\nattestation written to {}",
                yes_no(pb.answer),
                p.attestation.circuit,
                took.as_secs_f64() * 1e3,
                a.out.display()
            )
        },
    );
    Ok(())
}

/// Reads an anchored-state file (the patient's proof of anchoring; secret).
pub fn load_state(path: &Path) -> Result<AnchoredState> {
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("reading anchored state {}", path.display()))?,
    );
    serde_json::from_slice(&bytes).map_err(|e| {
        super::error::coded(
            "invalid_input",
            format!(
                "anchored state {}: not an anchored-state file (line {}, column {}: {})",
                path.display(),
                e.line(),
                e.column(),
                match e.classify() {
                    serde_json::error::Category::Data => "wrong fields or values",
                    serde_json::error::Category::Syntax => "not JSON",
                    serde_json::error::Category::Eof => "truncated",
                    serde_json::error::Category::Io => "unreadable",
                }
            ),
        )
    })
}

/// Plans and proves one question, with a spinner (hidden when `quiet`); returns the proof
/// and the time it took.
#[allow(clippy::too_many_arguments)]
pub fn prove_one(
    keys: &KeyStore,
    opening: &Opening,
    id: &IdentitySecret,
    state: &AnchoredState,
    query: &Query,
    request: Fr,
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
            state,
            query,
            request,
            scope,
        },
        &mut OsRng,
    );
    bar.finish_and_clear();
    Ok((p?, t.elapsed()))
}
