//! `zkmed poseidon` and `zkmed query-hash`: the hashes, for interop checks and verifiers.

use super::{load_query, out_line, Ctx, QueryArgs};
use anyhow::Result;
use clap::Args;
use serde_json::json;
use zkmed_core::field::{fr_to_dec, fr_to_hex, parse_fr};
use zkmed_core::poseidon;

#[derive(Args)]
pub struct PoseidonArgs {
    /// 1 to 12 field elements, decimal or 0x-hex.
    inputs: Vec<String>,
}

pub fn poseidon(ctx: &Ctx, a: PoseidonArgs) -> Result<()> {
    let xs = a
        .inputs
        .iter()
        .map(|s| parse_fr(s))
        .collect::<Result<Vec<_>, _>>()?;
    let h = poseidon::poseidon(&xs)?;
    out_line(
        ctx.json,
        json!({"hash": fr_to_dec(&h), "hex": fr_to_hex(&h)}),
        || format!("{}\n{}", fr_to_dec(&h), fr_to_hex(&h)),
    );
    Ok(())
}

pub fn query_hash(ctx: &Ctx, a: QueryArgs) -> Result<()> {
    let q = load_query(&a)?;
    let h = q.hash()?;
    out_line(ctx.json, json!({"query_hash": fr_to_dec(&h)}), || {
        fr_to_dec(&h)
    });
    Ok(())
}
