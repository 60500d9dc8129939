//! `zkmed commit`: import a FHIR bundle, commit to its records, write the private opening.

use super::{out_line, refuse_overwrite, Ctx};
use anyhow::{anyhow, Context, Result};
use clap::Args;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::PathBuf;
use zkmed_core::field::fr_to_dec;
use zkmed_prover::IdentitySecret;
use zkmed_records::{import_bundle, Opening};

#[derive(Args)]
pub struct CommitArgs {
    /// FHIR R4 Bundle (JSON).
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long, default_value = "identity.json")]
    identity: PathBuf,
    /// Where to write the private opening (records + salts). Keep it secret.
    #[arg(long, default_value = "opening.json")]
    out: PathBuf,
    /// Draw the salts from this 32-byte seed (64 hex digits) instead of fresh randomness:
    /// the same bundle and seed always give the same commitment, so the bundle + seed can
    /// stand in for the opening (e.g. in requests to the prover service). As secret as
    /// the opening.
    #[arg(long, env = "ZKMED_SALT_SEED", hide_env_values = true)]
    salt_seed: Option<String>,
    /// Replace an existing opening (without its salts, the commitment anchored for it can
    /// no longer be proven against).
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: CommitArgs) -> Result<()> {
    refuse_overwrite(&a.out, "an opening", a.force)?;
    let bytes = std::fs::read(&a.bundle)
        .with_context(|| format!("reading bundle {}", a.bundle.display()))?;
    let imported =
        import_bundle(&bytes).with_context(|| format!("bundle {}", a.bundle.display()))?;
    let id = IdentitySecret::load(&a.identity)?;
    let opening = match &a.salt_seed {
        Some(hex_seed) => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_seed.trim().trim_start_matches("0x"), &mut seed[..])
                .map_err(|e| anyhow!("--salt-seed must be 64 hex digits: {e}"))?;
            Opening::create_from_seed(imported, id.commitment(), &seed)?
        }
        None => Opening::create(imported, id.commitment(), &mut OsRng)?,
    };
    let c = opening.commitment()?;
    opening.save(&a.out)?;
    let report = &opening.import_report;
    out_line(
        ctx.json,
        json!({"record_commitment": fr_to_dec(&c), "identity_commitment": fr_to_dec(&opening.identity_commitment), "opening": a.out, "report": report}),
        || {
            // The import report says what was committed and what was skipped, by resource
            // type and reason (records::fhir::ImportReport's Display).
            format!(
                "record commitment: {}\nopening written to {} (secret: records + salts)\n{report}",
                fr_to_dec(&c),
                a.out.display()
            )
        },
    );
    Ok(())
}
