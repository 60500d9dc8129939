//! `zkmed bench anchoring --batch N [--json]`: the gas per anchored patient update on the
//! embedded chain (`zkmed_chain::bench::anchoring`: N updates through
//! `StateRegistry.anchorBatch`, each publishing its 32-byte nullifier in the calldata, so
//! data availability is included).

use super::{out_line, Ctx};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Anchor N patient updates on a fresh in-memory embedded chain and print the gas per
    /// update (calldata for data availability included).
    Anchoring(AnchoringArgs),
}

#[derive(Args)]
pub struct AnchoringArgs {
    /// Patient updates in the batch (split into transactions of at most 128 KiB of
    /// calldata).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
}

/// The most updates one run anchors (a bound on time and memory, not on the contracts).
const MAX_BATCH: usize = 100_000;

pub fn run(ctx: &Ctx, cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Anchoring(a) => anchoring(ctx, a),
    }
}

fn anchoring(ctx: &Ctx, a: AnchoringArgs) -> Result<()> {
    if a.batch == 0 || a.batch > MAX_BATCH {
        bail!("--batch: between 1 and {MAX_BATCH} updates");
    }
    let t = std::time::Instant::now();
    let r = zkmed_chain::bench::anchoring(a.batch)?;
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let mut v = serde_json::to_value(&r)?;
    v["elapsed_ms"] = serde_json::json!(ms);
    out_line(ctx.json, v, || {
        let mut s = format!(
            "anchored {} patient updates in {} transaction(s) on the {}\n",
            r.batch, r.txs, r.chain
        );
        for (i, gas) in r.gas_per_tx.iter().enumerate() {
            s += &format!(
                "  tx {}: {} nullifiers, {} bytes of calldata, {} gas (EIP-7623 floor {})\n",
                i + 1,
                r.nullifiers_per_tx.get(i).copied().unwrap_or(0),
                r.calldata_bytes_per_tx.get(i).copied().unwrap_or(0),
                gas,
                r.calldata_floor_gas_per_tx.get(i).copied().unwrap_or(0)
            );
        }
        s += &format!(
            "total {} gas: {:.0} gas per patient update (data availability included)",
            r.total_gas, r.gas_per_update
        );
        s
    });
    Ok(())
}
