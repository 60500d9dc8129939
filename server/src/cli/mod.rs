//! The `zkmed` commands, one module each, and the few helpers they share.

pub mod bench;
pub mod chain;
pub mod commit;
pub mod demo;
pub mod error;
pub mod export;
pub mod hash;
pub mod identity;
pub mod issuer;
pub mod predicates;
pub mod prove;
pub mod serve;
pub mod setup;
pub mod token;
pub mod verify;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zkmed_core::attestation::Attestation;
use zkmed_core::field::Fr;
use zkmed_core::query::Query;

/// What every command may use: the global options.
pub struct Ctx {
    /// Key directory (`--keys`).
    pub keys: PathBuf,
    /// `--json`: one JSON object on stdout instead of text.
    pub json: bool,
}

/// The question: a named predicate (with parameters) or a query file.
#[derive(Args, Clone)]
pub struct QueryArgs {
    /// A named predicate (see `zkmed predicates`).
    #[arg(long, conflicts_with = "query")]
    pub predicate: Option<String>,
    /// Predicate parameter, e.g. `--param years=21`.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// A query file in the JSON query language.
    #[arg(long)]
    pub query: Option<PathBuf>,
}

impl QueryArgs {
    pub fn predicate(name: &str) -> QueryArgs {
        QueryArgs {
            predicate: Some(name.into()),
            params: vec![],
            query: None,
        }
    }
}

/// Prints `value` (with `--json`) or `text()`.
pub fn out_line(json: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json {
        emit(&value.to_string());
    } else {
        emit(&text());
    }
}

/// Writes `text` and a newline to stdout. A closed pipe (`zkmed predicates | head -1`)
/// ends the process quietly with status 0: the reader has all it wanted.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing to stdout: {e}");
        std::process::exit(1);
    }
}

/// Refuses to replace an existing `path` (an identity, an opening, keys) unless `force`.
pub fn refuse_overwrite(path: &Path, what: &str, force: bool) -> Result<()> {
    if !force && path.exists() {
        return Err(error::coded(
            "already_exists",
            format!(
                "{} already exists: refusing to overwrite {what} (pass --force to replace it)",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// A field element, or `text:...` mapped into the field with SHA-256 (the same mapping as
/// the service's).
pub fn parse_field_arg(what: &str, s: &str) -> Result<Fr> {
    zkmed_server::input::parse_field(what, s).map_err(|e| anyhow!("--{what}: {e}"))
}

pub fn load_query(a: &QueryArgs) -> Result<Query> {
    match (&a.predicate, &a.query) {
        (Some(name), None) => {
            let p = zkmed_core::predicates::get(name)?;
            let params = zkmed_core::predicates::parse_params(&a.params)?;
            Ok(p.instantiate_today(&params)?)
        }
        (None, Some(path)) => {
            if !a.params.is_empty() {
                bail!("--param only applies to --predicate");
            }
            let bytes =
                std::fs::read(path).with_context(|| format!("reading query {}", path.display()))?;
            Query::from_json(&bytes).with_context(|| format!("query {}", path.display()))
        }
        _ => bail!("give exactly one of --predicate NAME or --query FILE"),
    }
}

pub fn read_attestation(path: &Path) -> Result<Attestation> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading attestation {}", path.display()))?;
    let a = if bytes.starts_with(b"ZKMA") {
        Attestation::from_bytes(&bytes)
    } else {
        Attestation::from_json(&bytes)
    };
    a.with_context(|| format!("attestation {}", path.display()))
}

pub fn yes_no(b: bool) -> &'static str {
    if b {
        "YES"
    } else {
        "NO"
    }
}

pub const INSECURE: &str = "WARNING: INSECURE SETUP — single-party Groth16 keys; whoever ran this setup could forge proofs. Use keys from an MPC ceremony in production.";

/// A progress spinner on stderr (hidden for `--json` and when stderr is not a terminal).
pub fn spinner(hidden: bool) -> ProgressBar {
    let bar = if hidden {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The deployment file in a chain directory: one for the embedded chain, one for a node.
pub fn deployment_file(rpc: Option<&str>, dir: &Path) -> PathBuf {
    dir.join(match rpc {
        Some(_) => "deployment-rpc.json",
        None => "deployment.json",
    })
}

pub fn read_deployment(file: &Path) -> Result<zkmed_chain::Deployment> {
    if !file.exists() {
        return Err(error::coded(
            "not_deployed",
            format!(
                "{}: no deployment (run `zkmed chain deploy` first)",
                file.display()
            ),
        ));
    }
    Ok(zkmed_chain::Deployment::load(file)?)
}
