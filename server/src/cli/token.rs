//! `zkmed token new | hash`: bearer tokens for the service (stored hashed in its config).

use super::{out_line, Ctx};
use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Make a new random token; prints it once, with the SHA-256 to put in the config.
    New {
        /// Name of the holder (the config entry's `name`).
        #[arg(long, default_value = "client")]
        name: String,
    },
    /// SHA-256 of an existing token (read from stdin).
    Hash,
}

pub fn run(ctx: &Ctx, cmd: TokenCmd) -> Result<()> {
    match cmd {
        TokenCmd::New { name } => {
            let (token, hash) = zkmed_server::auth::new_token();
            out_line(
                ctx.json,
                json!({"name": name, "token": token, "sha256": hash}),
                || {
                    format!("token (give it to {name}; it is not stored anywhere): {token}\n\nconfig entry:\n[[auth.tokens]]\nname = {name:?}\nsha256 = \"{hash}\"\nscopes = [\"prove\", \"verify\"]")
                },
            );
        }
        TokenCmd::Hash => {
            let mut t = String::new();
            std::io::stdin().read_line(&mut t)?;
            let hash = zkmed_server::auth::token_hash(t.trim());
            out_line(ctx.json, json!({"sha256": hash}), || hash.clone());
        }
    }
    Ok(())
}
