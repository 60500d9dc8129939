//! `zkmed-issuer`: the same service as `zkmed issuer serve`, as a small binary of its own
//! (the crash tests start and kill it).
#![forbid(unsafe_code)]

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "zkmed-issuer",
    about = "zkmed issuer (same as `zkmed issuer serve`)"
)]
struct Cli {
    #[command(flatten)]
    serve: zkmed_issuer::cli::ServeArgs,
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let cli = Cli::parse();
    if let Err(e) = zkmed_issuer::cli::serve(&cli.serve) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
