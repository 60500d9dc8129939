//! `zkmed identity new | show`: the patient's identity secret.

use super::{out_line, refuse_overwrite, Ctx};
use anyhow::{Context, Result};
use clap::Subcommand;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::{Path, PathBuf};
use zkmed_core::field::fr_to_dec;
use zkmed_prover::IdentitySecret;

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Create a new random identity secret (file mode 0600); prints its commitment.
    /// Refuses to replace an existing identity file without --force.
    New {
        #[arg(long, default_value = "identity.json")]
        out: PathBuf,
        /// Replace an existing identity file (its secret is lost: tokens and openings made
        /// for it can no longer be used).
        #[arg(long)]
        force: bool,
    },
    /// Print the commitment of an identity file.
    Show {
        #[arg(long, default_value = "identity.json")]
        identity: PathBuf,
    },
}

pub fn run(ctx: &Ctx, cmd: IdentityCmd) -> Result<()> {
    let json = ctx.json;
    match cmd {
        IdentityCmd::New { out, force } => {
            refuse_overwrite(&out, "an identity", force)?;
            let id = IdentitySecret::random(&mut OsRng);
            save_replacing(&id, &out)?;
            out_line(
                json,
                json!({"identity_file": out, "identity_commitment": fr_to_dec(&id.commitment())}),
                || {
                    format!(
                        "identity written to {} (keep it secret)\nidentity commitment: {}",
                        out.display(),
                        fr_to_dec(&id.commitment())
                    )
                },
            );
        }
        IdentityCmd::Show { identity } => {
            let id = IdentitySecret::load(&identity)?;
            out_line(
                json,
                json!({"identity_commitment": fr_to_dec(&id.commitment())}),
                || fr_to_dec(&id.commitment()),
            );
        }
    }
    Ok(())
}

/// Saves `id` to `out` (0600): a new file is written in place; an existing one (with
/// --force) is replaced atomically by a new file beside it, so a failed write never
/// leaves neither.
fn save_replacing(id: &IdentitySecret, out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(id.save(out)?);
    }
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.new",
        out.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    id.save(&tmp)?;
    std::fs::rename(&tmp, out)
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("replacing {}", out.display()))
}
