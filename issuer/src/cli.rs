//! `zkmed issuer serve`'s arguments (shared by the `zkmed` CLI and the `zkmed-issuer` binary).

use crate::error::{IssuerError, Result};
use crate::http::{AnchorChoice, Application, Config};
use std::path::PathBuf;
use std::time::Duration;

/// Environment variable of the crash-test hook ([`crate::IssuerOptions::pause_at`]).
pub const PAUSE_ENV: &str = "ZKMED_ISSUER_PAUSE_AT";

/// Runs an issuer: accepts patients' transitions, anchors batches, serves paths.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// Data directory: issuer.sqlite, chain/ or ledger.jsonl, identities.json, operator.token.
    #[arg(long, default_value = ".zkmed/issuer")]
    pub data_dir: PathBuf,
    /// Anchor a batch once this many updates are queued...
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// ...or once the oldest queued update has waited this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub batch_seconds: f64,
    /// Address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: String,
    /// Where batches are anchored: `embedded` (a chain under <data-dir>/chain) or
    /// `ledger` (a local file, <data-dir>/ledger.jsonl). `--rpc-url` overrides it.
    #[arg(long, default_value = "embedded", value_parser = ["embedded", "ledger"])]
    pub anchor: String,
    /// Anchor on this node (with --deployment and --key-file).
    #[arg(long, requires_all = ["deployment", "key_file"])]
    pub rpc_url: Option<String>,
    /// The contracts' addresses (`zkmed chain deploy`'s deployment file), with --rpc-url.
    #[arg(long)]
    pub deployment: Option<PathBuf>,
    /// The issuer account's private key (hex, file mode 0600), with --rpc-url.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// This issuer's name on the local ledger.
    #[arg(long, default_value = "issuer")]
    pub issuer_id: String,
    /// Operator bearer token file, mode 0600 (default <data-dir>/operator.token, created).
    #[arg(long)]
    pub operator_token_file: Option<PathBuf>,
    /// Token owners file (default <data-dir>/identities.json).
    #[arg(long)]
    pub identities: Option<PathBuf>,
}

impl ServeArgs {
    pub fn config(&self) -> Result<Config> {
        if !(self.batch_seconds.is_finite() && self.batch_seconds > 0.0) {
            return Err(IssuerError::Config(
                "--batch-seconds must be a positive number".into(),
            ));
        }
        let mut c = Config::new(&self.data_dir);
        c.issuer_id = self.issuer_id.clone();
        c.listen = self.listen.clone();
        c.batch_size = self.batch_size;
        c.batch_interval = Duration::from_secs_f64(self.batch_seconds);
        c.anchor = match (&self.rpc_url, &self.deployment, &self.key_file) {
            (Some(url), Some(d), Some(k)) => AnchorChoice::Rpc {
                url: url.clone(),
                deployment: d.clone(),
                key_file: k.clone(),
            },
            (Some(_), _, _) => {
                return Err(IssuerError::Config(
                    "--rpc-url needs --deployment and --key-file".into(),
                ))
            }
            _ if self.anchor == "ledger" => AnchorChoice::Ledger,
            _ => AnchorChoice::Embedded,
        };
        c.operator_token_file = self.operator_token_file.clone();
        c.identities_file = self.identities.clone();
        c.pause_at = std::env::var(PAUSE_ENV).ok().filter(|s| !s.is_empty());
        Ok(c)
    }
}

/// Builds and runs the service until it is stopped. Prints `listening on http://ADDR` on
/// stdout once bound.
pub fn serve(args: &ServeArgs) -> Result<()> {
    let config = args.config()?;
    let host = config
        .listen
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_default();
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config)?;
        println!("listening on http://{host}:{}", app.port());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        app.run_until_stopped()
            .await
            .map_err(|e| IssuerError::Config(format!("server: {e}")))
    })
}
