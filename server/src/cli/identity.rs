//! `zkmed identity new | show`: the patient's identity secret.

use super::{out_line, Ctx};
use anyhow::Result;
use clap::Subcommand;
use rand::rngs::OsRng;
use serde_json::json;
use std::path::PathBuf;
use zkmed_core::field::fr_to_dec;
use zkmed_prover::IdentitySecret;

#[derive(Subcommand)]
pub enum IdentityCmd {
    /// Create a new random identity secret (file mode 0600); prints its commitment.
    New {
        #[arg(long, default_value = "identity.json")]
        out: PathBuf,
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
        IdentityCmd::New { out } => {
            let id = IdentitySecret::random(&mut OsRng);
            id.save(&out)?;
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
