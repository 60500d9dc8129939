//! `zkmed verify`: check an attestation against the question, the verifier's request and
//! scope, and the chain's identity and state roots (within a window).

use super::error::{coded, Coded};
use super::{
    deployment_file, load_query, out_line, parse_field_arg, read_attestation, read_deployment,
    yes_no, Ctx, QueryArgs,
};
use anyhow::Result;
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkmed_core::field::fr_to_dec;
use zkmed_verifier::{KeySet, RootPolicy, RootSource, Window, DEFAULT_WINDOW_S};

#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long, default_value = "attestation.json")]
    attestation: PathBuf,
    #[command(flatten)]
    query: QueryArgs,
    /// The request value you gave the patient (a field element or `text:...`).
    #[arg(long)]
    request: String,
    /// Your scope (a field element or `text:...`); the expected challenge is
    /// H(scope, request).
    #[arg(long, default_value = "text:default")]
    scope: String,
    /// Check the roots on the chain at this JSON-RPC URL (read-only, no key); default: the
    /// embedded chain in --chain-dir.
    #[arg(long = "rpc-url", visible_alias = "rpc", env = "ZKMED_RPC")]
    rpc_url: Option<String>,
    /// Where `zkmed chain` keeps the embedded chain and the deployment addresses.
    #[arg(long, default_value = ".zkmed/chain")]
    chain_dir: PathBuf,
    /// Accept a root superseded at most this many seconds ago (0 = current roots only).
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_WINDOW_S)]
    window: u64,
    /// Accept only the current identity and state roots: complete as of now (a
    /// correction, recovery, revocation or suspension counts at once).
    #[arg(long, conflicts_with = "window")]
    current_only: bool,
    /// Seconds one JSON-RPC request to --rpc-url may take (reads are retried twice after a
    /// transport failure): a dead node fails the verification within about 3× this.
    #[arg(long, default_value_t = 10)]
    rpc_timeout: u64,
}

pub fn run(ctx: &Ctx, a: VerifyArgs) -> Result<()> {
    let dir = &ctx.keys;
    let keys = KeySet::load_manifest_dir(dir).map_err(|e| super::error::keys_error(dir, e))?;
    let att = read_attestation(&a.attestation)?;
    let query = load_query(&a.query)?;
    let request = parse_field_arg("request", &a.request)?;
    let scope = parse_field_arg("scope", &a.scope)?;
    let challenge = zkmed_state::note::challenge(scope, request);
    let source = chain_roots(a.rpc_url.as_deref(), &a.chain_dir, a.rpc_timeout)?;
    let window = if a.current_only {
        Window::CurrentOnly
    } else {
        Window::from_seconds(a.window)
    };
    let policy = RootPolicy::with_window(&*source, window);
    let t = Instant::now();
    let (result, report) =
        zkmed_verifier::verify_with_report(&keys, &att, &query, &challenge, &policy);
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    if let Err(e) = result {
        if !ctx.json {
            eprintln!("checks:\n{report}");
        }
        let code = super::error::code_of(&anyhow::Error::new(e));
        // A chain that could not be read decided nothing: that is not a rejection.
        let verdict = if code == "chain_unavailable" {
            "attestation NOT CHECKED (the chain could not be read)"
        } else {
            "attestation REJECTED"
        };
        return Err(anyhow::Error::new(Coded {
            code,
            message: format!("{verdict}: {}", report.failure.clone().unwrap_or_default()),
            details: Some(json!({"report": report.to_json()})),
        }));
    }
    let r = report.to_json();
    out_line(
        ctx.json,
        json!({"valid": true, "verified": report.verified(), "answer": att.public.answer,
               "circuit": att.circuit, "nullifier": fr_to_dec(&att.public.nullifier),
               "root_source": r["root_source"], "window_s": r["window_s"], "roots": r["roots"],
               "verify_ms": verify_ms, "report": r}),
        || {
            format!(
                "verified: the proven answer is {}\nchecks:\n{report}",
                yes_no(att.public.answer)
            )
        },
    );
    Ok(())
}

/// The chain's roots: a node (`rpc`, each request within `rpc_timeout_s`) or the embedded
/// chain in `chain_dir`; a clear error when there is neither.
pub fn chain_roots(
    rpc: Option<&str>,
    chain_dir: &Path,
    rpc_timeout_s: u64,
) -> Result<Box<dyn RootSource>> {
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry, RpcOptions};
    let file = deployment_file(rpc, chain_dir);
    if rpc.is_none() && !file.exists() {
        return Err(coded(
            "no_root_source",
            format!(
                "nothing to check the attestation's roots against: give a chain (--rpc-url URL, or --chain-dir with a deployment; {} has none). A proof that is not checked against anchored roots is never reported as verified",
                file.display()
            ),
        ));
    }
    let d = read_deployment(&file)?;
    Ok(match rpc {
        Some(url) => {
            let timeout = Duration::from_secs(rpc_timeout_s.max(1));
            let options = RpcOptions {
                connect_timeout: timeout.min(Duration::from_secs(5)),
                request_timeout: timeout,
                ..RpcOptions::default()
            };
            Box::new(
                zkmed_chain::ChainRoots::connect_with(url, d, options)?
                    .named(format!("chain at {}", zkmed_server::roots::node_label(url))),
            )
        }
        None => {
            let reader = EmbeddedBackend::open(chain_dir, Address::ZERO)?;
            Box::new(
                zkmed_chain::ChainRoots::new(Registry::attach(reader, d))
                    .named(format!("the embedded chain in {}", chain_dir.display())),
            )
        }
    })
}
