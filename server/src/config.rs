//! Service configuration: built-in defaults, then an optional TOML file, then environment
//! variables (`ZKMED_` + the key path with `__` between sections, e.g.
//! `ZKMED_SERVER__PORT=8443`, `ZKMED_PROVER__QUEUE=32`, `ZKMED_KEYS=/srv/zkmed/keys`,
//! `ZKMED_PROVER__PRELOAD=exists-v3,scan64-v3`).
//!
//! Bearer tokens are stored as SHA-256 hashes (`zkmed token new` prints a token and its
//! hash); a token itself never appears in the configuration.

use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything `zkmed serve` reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Key directory (manifest + keys), shared read-only by every instance.
    pub keys: PathBuf,
    /// Where job records are kept (status and results only; never secrets).
    pub data_dir: PathBuf,
    /// This instance's name, recorded in its jobs. Instances sharing a `data_dir` need
    /// distinct names (a restart fails only its own interrupted jobs).
    pub instance: String,
    pub server: ServerSettings,
    pub prover: ProverSettings,
    pub limits: LimitSettings,
    pub auth: AuthSettings,
    pub tls: Option<TlsSettings>,
    /// Optional: read the identity and state roots from chain for `POST /v1/verify`.
    pub chain: Option<ChainSettings>,
    pub log: LogSettings,
    pub jobs: JobSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// HTTP worker threads (async I/O only; proving has its own pool). 0 = 1 per core, at
    /// most 4.
    pub http_workers: usize,
    /// Seconds a graceful shutdown waits for in-flight requests and jobs.
    pub shutdown_timeout_s: u64,
    /// Seconds a client has to send a request's head (request line and headers); then
    /// `408` and the connection is closed.
    pub header_timeout_s: u64,
    /// Seconds a client has to send a request's whole body once its head is in; then `408`
    /// and the connection is closed. Proving requests take no prover slot while their body
    /// is read.
    pub body_timeout_s: u64,
    /// Seconds an idle keep-alive connection is kept open (0: no keep-alive).
    pub keep_alive_s: u64,
    /// Cross-origin requests from web pages (off by default).
    #[serde(default)]
    pub cors: CorsSettings,
}

/// CORS: which other origins' web pages may call the API from a browser. Off (no CORS
/// headers; browsers refuse cross-origin calls) unless `allowed_origins` is non-empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSettings {
    /// Exact origins, e.g. `["https://insurer.example"]`; `["*"]` allows any origin
    /// (responses then never carry credentials).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Seconds a browser may cache a preflight answer.
    #[serde(default = "default_cors_max_age")]
    pub max_age_s: usize,
}

fn default_cors_max_age() -> usize {
    600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProverSettings {
    /// Proofs computed at once. 0 = one per core. Each proof also uses the pool's threads
    /// for its multi-scalar multiplications and FFTs.
    pub workers: usize,
    /// Requests (synchronous or jobs) allowed to wait for a worker; beyond that, `429`.
    pub queue: usize,
    /// Per-request deadline for a synchronous proof, waiting included; then `503`.
    pub timeout_s: u64,
    /// Circuits whose keys are loaded at start-up before `/readyz` reports ready
    /// (default: every circuit in the manifest).
    pub preload: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Largest body of a proving request (a FHIR bundle can be a few MB).
    pub prove_body_bytes: usize,
    /// Largest body of a verification request.
    pub verify_body_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Accepted bearer tokens. Empty = no authentication, which is only allowed when the
    /// server binds a loopback address.
    pub tokens: Vec<TokenSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    /// Who holds the token (appears in logs and owns its jobs).
    pub name: String,
    /// Lower-case hex SHA-256 of the token.
    pub sha256: String,
    /// What it may do: `prove` (attestations and jobs) and/or `verify`.
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Prove,
    Verify,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scope::Prove => "prove",
            Scope::Verify => "verify",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Where `POST /v1/verify` reads the identity and global state roots (and their history)
/// when the caller gives none: the registries of a deployment, over a node's JSON-RPC
/// (read-only; the service holds no key).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSettings {
    /// The node's JSON-RPC URL.
    pub rpc: String,
    /// The deployment's addresses: the JSON file `zkmed chain deploy` writes.
    pub deployment: PathBuf,
    /// The default window of a verification (a request may ask for another): a root is
    /// accepted if it is current or was superseded at most this many seconds ago; 0 =
    /// current roots only. Default 3,600 (one hour).
    #[serde(default = "default_window_s")]
    pub window_s: u64,
    /// Seconds to open a TCP connection to the node.
    #[serde(default = "default_connect_timeout_s")]
    pub connect_timeout_s: u64,
    /// Seconds one JSON-RPC request may take.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: u64,
    /// Retries of a failed read (connection refused or reset, timeout, HTTP 5xx); a node's
    /// own answer is never retried.
    #[serde(default = "default_read_retries")]
    pub read_retries: u32,
    /// Seconds between the readiness probes of the node (`/readyz` is `503` while the last
    /// one failed).
    #[serde(default = "default_probe_interval_s")]
    pub probe_interval_s: u64,
}

fn default_window_s() -> u64 {
    zkmed_verifier::DEFAULT_WINDOW_S
}
fn default_connect_timeout_s() -> u64 {
    5
}
fn default_request_timeout_s() -> u64 {
    10
}
fn default_read_retries() -> u32 {
    2
}
fn default_probe_interval_s() -> u64 {
    5
}

impl ChainSettings {
    /// Settings for a node at `rpc` with the deployment in `deployment`, every other key
    /// at its default.
    pub fn new(rpc: impl Into<String>, deployment: impl Into<PathBuf>) -> ChainSettings {
        ChainSettings {
            rpc: rpc.into(),
            deployment: deployment.into(),
            window_s: default_window_s(),
            connect_timeout_s: default_connect_timeout_s(),
            request_timeout_s: default_request_timeout_s(),
            read_retries: default_read_retries(),
            probe_interval_s: default_probe_interval_s(),
        }
    }

    /// The JSON-RPC connection's timeouts and retries.
    pub fn rpc_options(&self) -> zkmed_chain::backend::RpcOptions {
        zkmed_chain::backend::RpcOptions {
            connect_timeout: Duration::from_secs(self.connect_timeout_s),
            request_timeout: Duration::from_secs(self.request_timeout_s),
            read_retries: self.read_retries,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `zkmed_server=debug,info`. `RUST_LOG` wins.
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// Finished jobs older than this are deleted at start-up and hourly.
    pub retention_s: u64,
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The inner error is in the message, so it is not also a `source()`: error chains never
    // repeat a message.
    #[error("configuration: {0}")]
    Load(config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

impl From<config::ConfigError> for ConfigError {
    fn from(e: config::ConfigError) -> Self {
        ConfigError::Load(e)
    }
}

impl Settings {
    /// Defaults, then `file` (if given), then `ZKMED_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, true)
    }

    /// The defaults alone (plus a file): what tests start from.
    pub fn load_with_env(file: Option<&Path>, env: bool) -> Result<Settings, ConfigError> {
        let mut b = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    f.display()
                )));
            }
            b = b.add_source(config::File::from(f).format(config::FileFormat::Toml));
        }
        if env {
            b = b.add_source(
                config::Environment::with_prefix("ZKMED")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("prover.preload"),
            );
        }
        let s: Settings = b.build()?.try_deserialize()?;
        s.validate()?;
        Ok(s)
    }

    /// Checks what serde cannot: token hashes, and no unauthenticated public listener.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for t in &self.auth.tokens {
            if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::Invalid(format!(
                    "auth token {:?}: sha256 must be 64 hex digits (the SHA-256 of the token, from `zkmed token new`)",
                    t.name
                )));
            }
            if t.scopes.is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "auth token {:?}: no scopes (give `prove` and/or `verify`)",
                    t.name
                )));
            }
        }
        if self.auth.tokens.is_empty() && !self.is_loopback() {
            return Err(ConfigError::Invalid(format!(
                "no auth tokens are configured, so the server may only bind a loopback address, not {:?}; add [[auth.tokens]] (see `zkmed token new`)",
                self.server.host
            )));
        }
        if self.limits.prove_body_bytes == 0 || self.limits.verify_body_bytes == 0 {
            return Err(ConfigError::Invalid("body limits must be positive".into()));
        }
        if self.server.header_timeout_s == 0 || self.server.body_timeout_s == 0 {
            return Err(ConfigError::Invalid(
                "server.header_timeout_s and server.body_timeout_s must be positive (a client that never finishes its request would hold its connection forever)".into(),
            ));
        }
        for o in &self.server.cors.allowed_origins {
            if o != "*" && !(o.starts_with("https://") || o.starts_with("http://")) {
                return Err(ConfigError::Invalid(format!(
                    "server.cors.allowed_origins: {o:?} is not an origin (`https://host[:port]`, or \"*\")"
                )));
            }
        }
        if let Some(c) = &self.chain {
            if c.connect_timeout_s == 0 || c.request_timeout_s == 0 || c.probe_interval_s == 0 {
                return Err(ConfigError::Invalid(
                    "chain.connect_timeout_s, chain.request_timeout_s and chain.probe_interval_s must be positive".into(),
                ));
            }
        }
        Ok(())
    }

    fn is_loopback(&self) -> bool {
        self.server.host == "localhost"
            || self
                .server
                .host
                .parse::<IpAddr>()
                .map(|ip| ip.is_loopback())
                .unwrap_or(false)
    }

    /// Proving workers, `0` resolved to the number of cores.
    pub fn prover_workers(&self) -> usize {
        match self.prover.workers {
            0 => cores(),
            n => n,
        }
    }

    pub fn http_workers(&self) -> usize {
        match self.server.http_workers {
            0 => cores().min(4),
            n => n,
        }
    }

    pub fn prove_timeout(&self) -> Duration {
        Duration::from_secs(self.prover.timeout_s)
    }

    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.server.body_timeout_s)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The defaults, as a TOML document (also the reference for the config file format).
pub const DEFAULTS: &str = r#"
keys = "keys"
data_dir = ".zkmed/server"
instance = "zkmed-1"

[server]
host = "127.0.0.1"
port = 8080
http_workers = 0
shutdown_timeout_s = 120
header_timeout_s = 5
body_timeout_s = 15
keep_alive_s = 5

# [server.cors]                   # off by default: no cross-origin calls from browsers
# allowed_origins = ["https://insurer.example"]
# max_age_s = 600

[prover]
workers = 0
queue = 16
timeout_s = 120

[limits]
prove_body_bytes = 8388608
verify_body_bytes = 65536

[auth]
tokens = []

# [chain]                         # POST /v1/verify without trusted_roots reads the roots from chain
# rpc = "http://127.0.0.1:8545"   # a node's JSON-RPC (read-only: no key)
# deployment = "deployment.json"  # written by `zkmed chain deploy --rpc ...`
# window_s = 3600                 # default window: roots superseded at most this long ago; 0: current only
# connect_timeout_s = 5           # TCP connect to the node
# request_timeout_s = 10          # one JSON-RPC request
# read_retries = 2                # reads retried after a transport failure (sends never)
# probe_interval_s = 5            # /readyz is 503 while the node does not answer

[log]
format = "text"
level = "info"

[jobs]
retention_s = 86400
"#;
