//! `zkmed serve`: run the prover service.

use super::Ctx;
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ServeArgs {
    /// Configuration file (TOML; see `zkmed serve --print-defaults`). Environment
    /// variables `ZKMED_<SECTION>__<KEY>` override it.
    #[arg(long, env = "ZKMED_CONFIG")]
    config: Option<PathBuf>,
    /// Print the default configuration and exit.
    #[arg(long)]
    print_defaults: bool,
}

pub fn run(ctx: &Ctx, a: ServeArgs) -> Result<()> {
    if a.print_defaults {
        super::emit(zkmed_server::config::DEFAULTS.trim());
        return Ok(());
    }
    let mut settings = zkmed_server::config::Settings::load(a.config.as_deref())?;
    // `--keys` / ZKMED_KEYS (the CLI's global option) wins when given explicitly.
    if ctx.keys != Path::new("keys") {
        settings.keys = ctx.keys.clone();
    }
    zkmed_server::telemetry::init(&settings.log);
    let workers = settings.http_workers();
    actix_web::rt::System::new().block_on(async move {
        let app = zkmed_server::Application::build(settings.clone())?;
        tracing::info!(
            host = %settings.server.host,
            port = app.port(),
            tls = settings.tls.is_some(),
            prover_workers = settings.prover_workers(),
            queue = settings.prover.queue,
            http_workers = workers,
            auth = !settings.auth.tokens.is_empty(),
            "zkmed serve listening"
        );
        app.run_until_stopped().await?;
        Ok(())
    })
}
