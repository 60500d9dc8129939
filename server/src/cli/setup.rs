//! `zkmed setup`: proving and verifying keys (an INSECURE single-party setup).

use super::{out_line, spinner, Ctx, INSECURE};
use anyhow::{anyhow, Result};
use clap::Args;
use rand::rngs::OsRng;
use std::path::Path;
use zkmed_circuits::CircuitId;
use zkmed_prover::SetupEvent;

#[derive(Args)]
pub struct SetupArgs {
    /// Circuits to set up (default: exists-v3, scan64-v3, scan512-v3).
    #[arg(long, value_delimiter = ',')]
    circuits: Vec<String>,
    /// Deterministic setup from a seed: reproducible and therefore forgeable. Tests only.
    #[arg(long)]
    insecure_seed: Option<u64>,
    /// Replace keys that already exist for these circuits (attestations made with the
    /// old keys no longer verify against the new ones).
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: SetupArgs) -> Result<()> {
    let (dir, json) = (&ctx.keys, ctx.json);
    let circuits = parse_circuits(&a.circuits)?;
    if !a.force {
        if let Ok(m) = zkmed_core::manifest::Manifest::load(dir) {
            let existing: Vec<&str> = circuits
                .iter()
                .map(|c| c.as_str())
                .filter(|c| m.get(c).is_some())
                .collect();
            if !existing.is_empty() {
                return Err(super::error::coded(
                    "already_exists",
                    format!(
                        "{} already holds keys for {}: refusing to overwrite keys (pass --force to replace them)",
                        dir.display(),
                        existing.join(", ")
                    ),
                ));
            }
        }
    }
    eprintln!("{INSECURE}");
    run_setup(dir, &circuits, a.insecure_seed, json)?;
    let m = zkmed_core::manifest::Manifest::load(dir)?;
    out_line(json, serde_json::to_value(&m)?, || {
        let mut s = format!("keys written to {}\n", dir.display());
        for c in &m.circuits {
            s += &format!(
                "  {:<12} {:>7} constraints  vk sha256 {}\n",
                c.id, c.constraints, c.vk.sha256
            );
        }
        s + INSECURE
    });
    Ok(())
}

fn parse_circuits(list: &[String]) -> Result<Vec<CircuitId>> {
    if list.is_empty() {
        return Ok(CircuitId::ALL.to_vec());
    }
    list.iter()
        .map(|s| {
            CircuitId::parse(s).ok_or_else(|| {
                anyhow!(
                    "unknown circuit {s:?} (known: {})",
                    CircuitId::ALL.map(|c| c.as_str()).join(", ")
                )
            })
        })
        .collect()
}

/// Sets up `circuits` in `dir`, with a progress spinner (hidden for `--json`).
pub fn run_setup(dir: &Path, circuits: &[CircuitId], seed: Option<u64>, json: bool) -> Result<()> {
    let bar = spinner(json);
    let mut on_event = |e: SetupEvent| match e {
        SetupEvent::Start {
            circuit,
            index,
            total,
            constraints,
        } => bar.set_message(format!(
            "setup {}/{}: {circuit} ({constraints} constraints)",
            index + 1,
            total
        )),
        SetupEvent::Done {
            circuit,
            seconds,
            pk_bytes,
        } => bar.println(format!(
            "  {circuit}: {:.1} s, proving key {:.1} MB",
            seconds,
            pk_bytes as f64 / 1e6
        )),
    };
    match seed {
        Some(s) => {
            use rand::SeedableRng;
            zkmed_prover::setup(
                dir,
                circuits,
                &mut rand_chacha::ChaCha20Rng::seed_from_u64(s),
                &mut on_event,
            )?
        }
        None => zkmed_prover::setup(dir, circuits, &mut OsRng, &mut on_event)?,
    };
    bar.finish_and_clear();
    Ok(())
}
