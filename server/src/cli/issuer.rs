//! `zkmed issuer serve`: run an issuer (the `zkmed-issuer` crate does the work; this only
//! parses the arguments and calls it).

use super::Ctx;
use anyhow::Result;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum IssuerCmd {
    /// Run an issuer: accept patients' state transitions (authenticated), anchor a batch
    /// every N updates or T seconds, serve note paths and spent-set proofs.
    Serve(zkmed_issuer::cli::ServeArgs),
}

pub fn run(_ctx: &Ctx, c: IssuerCmd) -> Result<()> {
    match c {
        IssuerCmd::Serve(a) => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .try_init();
            zkmed_issuer::cli::serve(&a)?;
            Ok(())
        }
    }
}
