//! `zkmed`: turn a FHIR bundle into a record commitment, prove yes/no facts about it in zero
//! knowledge, and verify those proofs.
//!
//! This file only parses the command line and dispatches; each command lives in its own
//! module under `cli/`.
#![forbid(unsafe_code)]

mod cli;

use clap::{Parser, Subcommand};
use cli::Ctx;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "zkmed",
    version,
    about = "Zero-knowledge attestations over FHIR medical records (Groth16/BN254)"
)]
struct Cli {
    /// Key directory (proving/verifying keys + manifest.json).
    #[arg(long, global = true, default_value = "keys", env = "ZKMED_KEYS")]
    keys: PathBuf,
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate proving and verifying keys (INSECURE single-party setup: not for production).
    Setup(cli::setup::SetupArgs),
    /// Manage identity secrets.
    #[command(subcommand)]
    Identity(cli::identity::IdentityCmd),
    /// Import a FHIR R4 bundle and commit to its records; writes the private opening.
    Commit(cli::commit::CommitArgs),
    /// Prove a query about the patient's anchored records (--state: its anchored-state file).
    Prove(cli::prove::ProveArgs),
    /// Verify an attestation against the question, your request and scope, and the chain's
    /// roots (within --window, default 1 h; or --current-only).
    Verify(cli::verify::VerifyArgs),
    /// Export an attestation in other formats.
    #[command(subcommand)]
    Export(cli::export::ExportCmd),
    /// Poseidon hash (circomlib-compatible) of field elements, for interop checks.
    Poseidon(cli::hash::PoseidonArgs),
    /// List the named predicates, or print one as a query.
    Predicates(cli::predicates::PredicatesArgs),
    /// Hash a query (what a verifier compares against an attestation).
    QueryHash(cli::QueryArgs),
    /// The main job end to end: two fixture patients minted and anchored by one issuer batch
    /// on the embedded chain, attestations for two verifiers, verified against the chain.
    Demo(cli::demo::DemoArgs),
    /// Run the prover service (HTTP API under /v1).
    Serve(cli::serve::ServeArgs),
    /// Bearer tokens for the service.
    #[command(subcommand)]
    Token(cli::token::TokenCmd),
    /// Benchmarks (`zkmed bench anchoring --batch N`: gas per anchored patient update).
    #[command(subcommand)]
    Bench(cli::bench::BenchCmd),
    /// The on-chain registries: identities, issuers, anchored state.
    Chain(cli::chain::ChainArgs),
    /// Act as an issuer (`zkmed issuer serve`).
    #[command(subcommand)]
    Issuer(cli::issuer::IssuerCmd),
}

fn main() {
    // `--json` applies to errors too, command-line errors included.
    let json = std::env::args_os().any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if json && e.use_stderr() => {
            // clap's message up to its usage line, on one line ("... not provided: --nonce").
            let text = e.to_string();
            let what = text.split("\n\nUsage:").next().unwrap_or_default();
            let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
            let e = cli::error::coded("usage", what.trim_start_matches("error: ").to_string());
            cli::error::exit_with(&e, true)
        }
        Err(e) => e.exit(),
    };
    let json = cli.json;
    if let Err(e) = run(cli) {
        cli::error::exit_with(&e, json)
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Ctx {
        keys: cli.keys,
        json: cli.json,
    };
    match cli.cmd {
        Cmd::Setup(a) => cli::setup::run(&ctx, a),
        Cmd::Identity(c) => cli::identity::run(&ctx, c),
        Cmd::Commit(a) => cli::commit::run(&ctx, a),
        Cmd::Prove(a) => cli::prove::run(&ctx, a),
        Cmd::Verify(a) => cli::verify::run(&ctx, a),
        Cmd::Export(c) => cli::export::run(&ctx, c),
        Cmd::Poseidon(a) => cli::hash::poseidon(&ctx, a),
        Cmd::Predicates(a) => cli::predicates::run(&ctx, a),
        Cmd::QueryHash(a) => cli::hash::query_hash(&ctx, a),
        Cmd::Demo(a) => cli::demo::run(&ctx, a),
        Cmd::Serve(a) => cli::serve::run(&ctx, a),
        Cmd::Token(c) => cli::token::run(&ctx, c),
        Cmd::Bench(c) => cli::bench::run(&ctx, c),
        Cmd::Chain(a) => cli::chain::run(&ctx, a),
        Cmd::Issuer(c) => cli::issuer::run(&ctx, c),
    }
}
