//! `zkmed`: turn a FHIR bundle into a record commitment, prove yes/no facts about it in zero
//! knowledge, and verify those proofs.
#![forbid(unsafe_code)]

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::OsRng;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zkmed_circuits::CircuitId;
use zkmed_core::attestation::Attestation;
use zkmed_core::field::{fr_to_dec, fr_to_hex, parse_fr, Fr};
use zkmed_core::query::Query;
use zkmed_core::{poseidon, predicates};
use zkmed_prover::{IdentitySecret, KeyStore, ProveRequest, SetupEvent};
use zkmed_records::{import_bundle, Opening};
use zkmed_verifier::{InMemoryCommitments, KeySet};

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
    Setup(SetupArgs),
    /// Manage identity secrets.
    #[command(subcommand)]
    Identity(IdentityCmd),
    /// Import a FHIR R4 bundle and commit to its records; writes the private opening.
    Commit(CommitArgs),
    /// Prove a query about committed records.
    Prove(ProveArgs),
    /// Verify an attestation against the question, the challenge and the expected commitment.
    Verify(VerifyArgs),
    /// Export an attestation in other formats.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Poseidon hash (circomlib-compatible) of field elements, for interop checks.
    Poseidon {
        /// 1 to 12 field elements, decimal or 0x-hex.
        inputs: Vec<String>,
    },
    /// List the named predicates, or print one as a query.
    Predicates {
        /// Print this predicate's instantiated query.
        name: Option<String>,
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Hash a query (what a verifier compares against an attestation).
    QueryHash(QueryArgs),
    /// The main job end to end: keys, import a fixture patient, commit, prove two named
    /// predicates, verify, report.
    Demo(DemoArgs),
    /// Run the prover service (HTTP API under /v1).
    Serve(ServeArgs),
    /// Bearer tokens for the service.
    #[command(subcommand)]
    Token(TokenCmd),
    /// The on-chain registries: identities, issuers, record commitments.
    Chain(ChainArgs),
}

#[derive(Args)]
struct ChainArgs {
    /// A node's JSON-RPC URL (any EVM chain). Default: the embedded chain in --data-dir.
    #[arg(long, env = "ZKMED_RPC", global = true)]
    rpc: Option<String>,
    /// Private key (hex) that signs, with --rpc.
    #[arg(long, env = "ZKMED_CHAIN_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    /// The account to act as on the embedded chain (no keys there).
    #[arg(
        long = "as",
        global = true,
        default_value = "0x0000000000000000000000000000000000000001"
    )]
    as_account: String,
    /// Where the embedded chain's state and the deployment addresses are kept.
    #[arg(long, global = true, default_value = ".zkmed/chain")]
    data_dir: PathBuf,
    #[command(subcommand)]
    cmd: ChainCmd,
}

#[derive(Subcommand)]
enum ChainCmd {
    /// Deploy the registries and the attestation verifier (this account governs).
    Deploy,
    /// Accredit an issuer (governance).
    Accredit {
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        name: String,
    },
    /// Suspend an issuer (governance).
    Suspend {
        #[arg(long)]
        issuer: String,
        #[arg(long, default_value = "suspended")]
        reason: String,
    },
    /// Mint a patient's soul-bound identity token (accredited issuer).
    Mint {
        #[arg(long)]
        patient: String,
        #[arg(long)]
        identity_commitment: String,
        /// Recovery guardians (repeat).
        #[arg(long = "guardian")]
        guardians: Vec<String>,
        #[arg(long, default_value_t = 0)]
        threshold: u8,
    },
    /// Anchor a record commitment (accredited issuer); --batch FILE for many (`token,root`
    /// per line).
    Anchor {
        #[arg(long, required_unless_present = "batch")]
        token: Option<u64>,
        #[arg(long, required_unless_present = "batch")]
        root: Option<String>,
        #[arg(long, conflicts_with_all = ["token", "root"])]
        batch: Option<PathBuf>,
        #[arg(long)]
        correction: bool,
    },
    /// Guardian recovery: propose (and approve), or approve, re-binding a token.
    Recover {
        #[arg(value_parser = ["propose", "approve"])]
        step: String,
        #[arg(long)]
        token: u64,
        #[arg(long)]
        new_owner: String,
        #[arg(long)]
        new_identity_commitment: String,
    },
    /// Install a compiled Groth16 verifier contract for a circuit (governance). The artifact
    /// is what `node tools/solc/compile.mjs` writes for the contract that `zkmed export
    /// solidity` generated from your verifying key.
    InstallVerifier {
        #[arg(long, default_value = "exists-v1")]
        circuit: String,
        /// e.g. contracts/artifacts/ExistsV1Verifier.json
        #[arg(long)]
        artifact: PathBuf,
    },
    /// Check an attestation on chain (read-only, costs nothing): the registries, then the
    /// pairing, in the attestation verifier contract. Prints the answer or the revert reason.
    Check {
        #[arg(long)]
        token: u64,
        #[arg(long, default_value = "attestation.json")]
        attestation: PathBuf,
        #[command(flatten)]
        query: QueryArgs,
        #[arg(long)]
        challenge: String,
        /// Accept a root current at some moment in the last N seconds (default: current).
        #[arg(long, default_value_t = 0)]
        within: u64,
        /// Spend the nullifier in this scope (a transaction): a one-time claim.
        #[arg(long)]
        consume_scope: Option<String>,
        /// The prepared check (one scalar multiplication; the cheapest on-chain check)
        /// against the token's snapshot (`zkmed chain prepare`, at most `--within` seconds
        /// old) and the request registered for this question, challenge and SCOPE
        /// (`zkmed chain register-request`).
        #[arg(long, value_name = "SCOPE")]
        prepared: Option<String>,
    },
    /// Register a verifier's question, challenge and scope with the circuit's verifier
    /// contract, for prepared checks (anyone).
    RegisterRequest {
        #[arg(long, default_value = "exists-v1")]
        circuit: String,
        #[command(flatten)]
        query: QueryArgs,
        #[arg(long)]
        challenge: String,
        #[arg(long)]
        scope: String,
    },
    /// Snapshot a token for prepared checks (anyone): the registries are checked now and
    /// the token's precomputed term is stored with the time.
    Prepare {
        #[arg(long)]
        token: u64,
        #[arg(long, default_value = "exists-v1")]
        circuit: String,
    },
    /// Revoke an identity token (its minting issuer, or governance).
    Revoke {
        #[arg(long)]
        token: u64,
    },
    /// Deployment, and a token's or an identity's current state.
    Status {
        #[arg(long)]
        token: Option<u64>,
        #[arg(long)]
        identity_commitment: Option<String>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Configuration file (TOML; see `zkmed serve --print-defaults`). Environment
    /// variables `ZKMED_<SECTION>__<KEY>` override it.
    #[arg(long, env = "ZKMED_CONFIG")]
    config: Option<PathBuf>,
    /// Print the default configuration and exit.
    #[arg(long)]
    print_defaults: bool,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Make a new random token; prints it once, with the SHA-256 to put in the config.
    New {
        /// Name of the holder (the config entry's `name`).
        #[arg(long, default_value = "client")]
        name: String,
    },
    /// SHA-256 of an existing token (read from stdin).
    Hash,
}

#[derive(Args)]
struct SetupArgs {
    /// Circuits to set up (default: exists-v1, scan64-v1, scan512-v1).
    #[arg(long, value_delimiter = ',')]
    circuits: Vec<String>,
    /// Deterministic setup from a seed: reproducible and therefore forgeable. Tests only.
    #[arg(long)]
    insecure_seed: Option<u64>,
}

#[derive(Subcommand)]
enum IdentityCmd {
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

#[derive(Args)]
struct CommitArgs {
    /// FHIR R4 Bundle (JSON).
    #[arg(long)]
    bundle: PathBuf,
    #[arg(long, default_value = "identity.json")]
    identity: PathBuf,
    /// Where to write the private opening (records + salts). Keep it secret.
    #[arg(long, default_value = "opening.json")]
    out: PathBuf,
    /// Draw the salts from this 32-byte seed (64 hex digits) instead of fresh randomness:
    /// the same bundle and seed always give the same commitment, so the bundle + seed can
    /// stand in for the opening (e.g. in requests to the prover service). As secret as
    /// the opening.
    #[arg(long, env = "ZKMED_SALT_SEED", hide_env_values = true)]
    salt_seed: Option<String>,
}

#[derive(Args, Clone)]
struct QueryArgs {
    /// A named predicate (see `zkmed predicates`).
    #[arg(long, conflicts_with = "query")]
    predicate: Option<String>,
    /// Predicate parameter, e.g. `--param years=21`.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// A query file in the JSON query language.
    #[arg(long)]
    query: Option<PathBuf>,
}

#[derive(Args)]
struct ProveArgs {
    #[arg(long, default_value = "opening.json")]
    opening: PathBuf,
    #[arg(long, default_value = "identity.json")]
    identity: PathBuf,
    #[command(flatten)]
    query: QueryArgs,
    /// The verifier's challenge: a field element, or `text:...` hashed into the field.
    #[arg(long)]
    challenge: String,
    /// The verifier's scope for the nullifier: a field element or `text:...`.
    #[arg(long, default_value = "text:default")]
    scope: String,
    #[arg(long, default_value = "attestation.json")]
    out: PathBuf,
    /// Also write the compact binary form next to `--out` (`.bin`).
    #[arg(long)]
    binary: bool,
}

#[derive(Args)]
struct VerifyArgs {
    #[arg(long, default_value = "attestation.json")]
    attestation: PathBuf,
    #[command(flatten)]
    query: QueryArgs,
    #[arg(long)]
    challenge: String,
    /// The record commitment you expect for this identity (from the issuer). Without it,
    /// the commitment is checked on chain: the identity token, its anchored root and the
    /// anchoring issuer's accreditation.
    #[arg(long, conflicts_with_all = ["rpc", "within"])]
    commitment: Option<String>,
    /// Check on the chain at this JSON-RPC URL (read-only, no key); default: the embedded
    /// chain in --chain-dir.
    #[arg(long, env = "ZKMED_RPC")]
    rpc: Option<String>,
    /// Where `zkmed chain` keeps the embedded chain and the deployment addresses.
    #[arg(long, default_value = ".zkmed/chain")]
    chain_dir: PathBuf,
    /// Accept a root that was current at some moment in the last N seconds (default: only
    /// the current root).
    #[arg(long)]
    within: Option<u64>,
}

#[derive(Subcommand)]
enum ExportCmd {
    /// Write a Groth16 verifier contract (Solidity) for a circuit's verifying key.
    Solidity {
        #[arg(long, default_value = "exists-v1")]
        circuit: String,
        /// Contract name (default: from the circuit id, e.g. ExistsV1Verifier).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print an attestation's proof and inputs as the verifier contract's calldata (JSON).
    Calldata {
        #[arg(long, default_value = "attestation.json")]
        attestation: PathBuf,
    },
    /// Write proof.json, public.json and verification_key.json for `snarkjs groth16 verify`.
    Snarkjs {
        #[arg(long, default_value = "attestation.json")]
        attestation: PathBuf,
        #[arg(long, default_value = "snarkjs")]
        out: PathBuf,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// FHIR bundle of the demo patient.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/demo/jonathan-hermiston.json"))]
    bundle: PathBuf,
    /// Working directory for the identity, opening and attestations.
    #[arg(long, default_value = ".zkmed/demo")]
    workdir: PathBuf,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    match cli.cmd {
        Cmd::Setup(a) => cmd_setup(&cli.keys, a, json),
        Cmd::Identity(IdentityCmd::New { out }) => {
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
            Ok(())
        }
        Cmd::Identity(IdentityCmd::Show { identity }) => {
            let id = IdentitySecret::load(&identity)?;
            out_line(
                json,
                json!({"identity_commitment": fr_to_dec(&id.commitment())}),
                || fr_to_dec(&id.commitment()),
            );
            Ok(())
        }
        Cmd::Commit(a) => cmd_commit(a, json),
        Cmd::Prove(a) => cmd_prove(&cli.keys, a, json),
        Cmd::Verify(a) => cmd_verify(&cli.keys, a, json),
        Cmd::Export(ExportCmd::Solidity { circuit, name, out }) => {
            let keys = KeySet::load_manifest_dir(&cli.keys)?;
            let key = keys
                .get(&circuit)
                .ok_or_else(|| anyhow!("no verifying key for circuit {circuit}"))?;
            let name = name.unwrap_or_else(|| {
                circuit
                    .split('-')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect::<String>()
                    + "Verifier"
            });
            let src = zkmed_verifier::export_solidity(key.vk(), &name, &circuit, key.key_hash())?;
            std::fs::write(&out, src).with_context(|| format!("writing {}", out.display()))?;
            out_line(json, json!({"contract": name, "file": out}), || {
                format!("wrote {name} to {}", out.display())
            });
            Ok(())
        }
        Cmd::Export(ExportCmd::Calldata { attestation }) => {
            let att = read_attestation(&attestation)?;
            let (proof, input) = zkmed_verifier::evm_calldata(&att)?;
            println!("{}", json!({"proof": proof, "input": input}));
            Ok(())
        }
        Cmd::Export(ExportCmd::Snarkjs { attestation, out }) => {
            cmd_export_snarkjs(&cli.keys, &attestation, &out, json)
        }
        Cmd::Poseidon { inputs } => {
            let xs = inputs
                .iter()
                .map(|s| parse_fr(s))
                .collect::<Result<Vec<_>, _>>()?;
            let h = poseidon::poseidon(&xs)?;
            out_line(
                json,
                json!({"hash": fr_to_dec(&h), "hex": fr_to_hex(&h)}),
                || format!("{}\n{}", fr_to_dec(&h), fr_to_hex(&h)),
            );
            Ok(())
        }
        Cmd::Predicates { name: None, .. } => {
            let list: Vec<_> = predicates::names()
                .into_iter()
                .map(|n| {
                    let p = predicates::get(n).expect("shipped predicate parses");
                    json!({"name": n, "description": p.description, "params": p.params.keys().collect::<Vec<_>>()})
                })
                .collect();
            out_line(json, json!(list), || {
                list.iter()
                    .map(|p| {
                        format!(
                            "{:<24} {}",
                            p["name"].as_str().unwrap_or(""),
                            p["description"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        Cmd::Predicates {
            name: Some(n),
            params,
        } => {
            let q = load_query(&QueryArgs {
                predicate: Some(n),
                params,
                query: None,
            })?;
            println!("{}", serde_json::to_string_pretty(&q)?);
            Ok(())
        }
        Cmd::QueryHash(a) => {
            let q = load_query(&a)?;
            let h = q.hash()?;
            out_line(json, json!({"query_hash": fr_to_dec(&h)}), || fr_to_dec(&h));
            Ok(())
        }
        Cmd::Demo(a) => cmd_demo(&cli.keys, a, json),
        Cmd::Serve(a) => cmd_serve(&cli.keys, a),
        Cmd::Chain(a) => cmd_chain(a, json),
        Cmd::Token(TokenCmd::New { name }) => {
            let (token, hash) = zkmed_server::auth::new_token();
            out_line(
                json,
                json!({"name": name, "token": token, "sha256": hash}),
                || {
                    format!("token (give it to {name}; it is not stored anywhere): {token}\n\nconfig entry:\n[[auth.tokens]]\nname = {name:?}\nsha256 = \"{hash}\"\nscopes = [\"prove\", \"verify\"]")
                },
            );
            Ok(())
        }
        Cmd::Token(TokenCmd::Hash) => {
            let mut t = String::new();
            std::io::stdin().read_line(&mut t)?;
            let hash = zkmed_server::auth::token_hash(t.trim());
            out_line(json, json!({"sha256": hash}), || hash.clone());
            Ok(())
        }
    }
}

fn out_line(json: bool, value: serde_json::Value, text: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}

/// A field element, or `text:...` mapped into the field with SHA-256 (the same mapping as
/// the service's).
fn parse_field_arg(what: &str, s: &str) -> Result<Fr> {
    zkmed_server::input::parse_field(what, s).map_err(|e| anyhow!("--{what}: {e}"))
}

fn deployment_file(rpc: Option<&str>, dir: &Path) -> PathBuf {
    dir.join(match rpc {
        Some(_) => "deployment-rpc.json",
        None => "deployment.json",
    })
}

fn read_deployment(file: &Path) -> Result<zkmed_chain::Deployment> {
    if !file.exists() {
        bail!(
            "{}: no deployment (run `zkmed chain deploy` first)",
            file.display()
        );
    }
    Ok(zkmed_chain::Deployment::load(file)?)
}

/// The chain-backed commitment source `zkmed verify` checks against.
fn chain_source(
    rpc: Option<&str>,
    dir: &Path,
    within: Option<u64>,
) -> Result<Box<dyn zkmed_verifier::CommitmentSource>> {
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry};
    let d = read_deployment(&deployment_file(rpc, dir))?;
    let freshness = zkmed_chain::Freshness::from_window_s(within.unwrap_or(0));
    Ok(match rpc {
        Some(url) => Box::new(zkmed_chain::ChainCommitments::connect(
            url,
            d,
            freshness,
            std::time::Duration::ZERO,
        )?),
        None => {
            let reader = EmbeddedBackend::open(dir, Address::ZERO)?;
            Box::new(zkmed_chain::RegistryCommitments::new(
                Registry::attach(reader, d),
                freshness,
                std::time::Duration::ZERO,
            ))
        }
    })
}

fn cmd_chain(mut a: ChainArgs, json: bool) -> Result<()> {
    use zkmed_chain::backend::{AnyBackend, EmbeddedBackend, Registry, RpcBackend};
    use zkmed_chain::Deployment;
    let addr = |s: &str, what: &str| -> Result<zkmed_chain::backend::Address> {
        s.parse()
            .map_err(|e| anyhow!("--{what} {s:?}: not an address: {e}"))
    };
    let deployment_file = deployment_file(a.rpc.as_deref(), &a.data_dir);
    let backend = match &a.rpc {
        Some(url) => {
            // The signing key lives on in the signer (zeroized on drop); this copy is
            // wiped as soon as the signer is built.
            let key = zeroize::Zeroizing::new(
                a.key
                    .take()
                    .ok_or_else(|| anyhow!("--rpc needs --key (or ZKMED_CHAIN_KEY)"))?,
            );
            AnyBackend::Rpc(RpcBackend::connect(url, &key)?)
        }
        None => AnyBackend::Embedded(EmbeddedBackend::open(
            &a.data_dir,
            addr(&a.as_account, "as")?,
        )?),
    };
    let fr = |s: &str, what: &str| parse_fr(s).with_context(|| format!("--{what}"));
    if let ChainCmd::Deploy = a.cmd {
        let r = Registry::deploy(backend)?;
        r.deployment.save(&deployment_file)?;
        out_line(json, serde_json::to_value(r.deployment)?, || {
            format!(
                "deployed (governance {}):\n{}",
                r.backend_account(),
                serde_json::to_string_pretty(&r.deployment).unwrap_or_default()
            )
        });
        return Ok(());
    }
    let d: Deployment = read_deployment(&deployment_file)?;
    let mut r = Registry::attach(backend, d);
    let v = match a.cmd {
        ChainCmd::Deploy => unreachable!("handled above"),
        ChainCmd::Accredit { issuer, name } => {
            json!({"gas": r.accredit(addr(&issuer, "issuer")?, &name)?})
        }
        ChainCmd::Suspend { issuer, reason } => {
            json!({"gas": r.suspend(addr(&issuer, "issuer")?, &reason)?})
        }
        ChainCmd::Mint {
            patient,
            identity_commitment,
            guardians,
            threshold,
        } => {
            let gs = guardians
                .iter()
                .map(|g| addr(g, "guardian"))
                .collect::<Result<Vec<_>>>()?;
            let t = r.mint(
                addr(&patient, "patient")?,
                &fr(&identity_commitment, "identity-commitment")?,
                &gs,
                threshold,
            )?;
            json!({"token": t.to_string()})
        }
        ChainCmd::Anchor {
            token,
            root,
            batch,
            correction,
        } => match batch {
            Some(f) => {
                let text =
                    std::fs::read_to_string(&f).with_context(|| format!("{}", f.display()))?;
                let items =
                    text.lines()
                        .enumerate()
                        .filter(|(_, l)| !l.trim().is_empty())
                        .map(|(i, l)| {
                            let (t, rt) = l.split_once(',').ok_or_else(|| {
                                anyhow!("{} line {}: expected `token,root`", f.display(), i + 1)
                            })?;
                            let t: u64 = t.trim().parse().map_err(|e| {
                                anyhow!("{} line {}: token: {e}", f.display(), i + 1)
                            })?;
                            Ok((
                                zkmed_chain::backend::U256::from(t),
                                parse_fr(rt.trim())
                                    .with_context(|| format!("{} line {}", f.display(), i + 1))?,
                            ))
                        })
                        .collect::<Result<Vec<_>>>()?;
                let gas = r.anchor_batch(&items, correction)?;
                json!({"anchored": items.len(), "gas": gas, "gas_per_patient": gas / items.len().max(1) as u64})
            }
            None => {
                let (t, rt) = (token.unwrap_or_default(), root.unwrap_or_default());
                json!({"gas": r.anchor(zkmed_chain::backend::U256::from(t), &fr(&rt, "root")?, correction)?})
            }
        },
        ChainCmd::Recover {
            step,
            token,
            new_owner,
            new_identity_commitment,
        } => {
            let (t, o, c) = (
                zkmed_chain::backend::U256::from(token),
                addr(&new_owner, "new-owner")?,
                fr(&new_identity_commitment, "new-identity-commitment")?,
            );
            let gas = if step == "propose" {
                r.propose_recovery(t, o, &c)?
            } else {
                r.approve_recovery(t, o, &c)?
            };
            json!({"gas": gas})
        }
        ChainCmd::InstallVerifier { circuit, artifact } => {
            let text = std::fs::read_to_string(&artifact)
                .with_context(|| format!("{}", artifact.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{}: not JSON", artifact.display()))?;
            let code = v["bytecode"]
                .as_str()
                .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
                .filter(|b| !b.is_empty())
                .ok_or_else(|| {
                    anyhow!(
                        "{}: no `bytecode` (hex): not a compile.mjs artifact",
                        artifact.display()
                    )
                })?;
            let (address, gas) = r.install_verifier(&circuit, &code.into())?;
            json!({"circuit": circuit, "verifier": address.to_string(), "gas": gas})
        }
        ChainCmd::Check {
            token,
            attestation,
            query,
            challenge,
            within,
            consume_scope,
            prepared,
        } => {
            let att = read_attestation(&attestation)?;
            let qh = load_query(&query)?.hash()?;
            let challenge = parse_field_arg("challenge", &challenge)?;
            let token = zkmed_chain::backend::U256::from(token);
            // The same mapping as `prove --scope` (the domain is the field, not the flag).
            let scope_arg = |flag: &str, s: &str| {
                zkmed_server::input::parse_field("scope", s).map_err(|e| anyhow!("--{flag}: {e}"))
            };
            let consume_scope = consume_scope
                .map(|s| scope_arg("consume-scope", &s))
                .transpose()?;
            let is_prepared = prepared.is_some();
            let (answer, gas) = match prepared {
                Some(scope) => {
                    let request = zkmed_chain::backend::Request {
                        circuit: att.circuit.clone(),
                        query_hash: qh,
                        challenge,
                        scope: scope_arg("prepared", &scope)?,
                    };
                    if consume_scope.is_some_and(|c| c != request.scope) {
                        bail!("--consume-scope and --prepared name different scopes");
                    }
                    let rejected = "attestation REJECTED on chain (prepared check)";
                    let answer = r
                        .check_prepared(token, &att, &request, within)
                        .context(rejected)?;
                    let gas = consume_scope
                        .map(|_| r.consume_prepared(token, &att, &request, within))
                        .transpose()
                        .context(rejected)?;
                    (answer, gas)
                }
                None => {
                    let rejected = "attestation REJECTED on chain";
                    let answer = r
                        .check(token, &att, &qh, &challenge, within)
                        .context(rejected)?;
                    let gas = consume_scope
                        .map(|scope| r.consume(token, &att, &qh, &challenge, &scope, within))
                        .transpose()
                        .context(rejected)?;
                    (answer, gas)
                }
            };
            json!({"valid": true, "answer": answer, "prepared": is_prepared,
                   "consumed": gas.is_some(), "gas": gas})
        }
        ChainCmd::RegisterRequest {
            circuit,
            query,
            challenge,
            scope,
        } => {
            let request = zkmed_chain::backend::Request {
                circuit,
                query_hash: load_query(&query)?.hash()?,
                challenge: parse_field_arg("challenge", &challenge)?,
                scope: parse_field_arg("scope", &scope)?,
            };
            let gas = r.register_request(&request)?;
            json!({"request": request.id().to_string(), "gas": gas})
        }
        ChainCmd::Prepare { token, circuit } => {
            let gas = r.prepare(zkmed_chain::backend::U256::from(token), &circuit)?;
            json!({"token": token, "circuit": circuit, "gas": gas})
        }
        ChainCmd::Revoke { token } => {
            json!({"gas": r.revoke(zkmed_chain::backend::U256::from(token))?})
        }
        ChainCmd::Status {
            token,
            identity_commitment,
        } => {
            let token = match (token, identity_commitment) {
                (Some(t), _) => Some(zkmed_chain::backend::U256::from(t)),
                (None, Some(c)) => r.token_of_commitment(&fr(&c, "identity-commitment")?)?,
                (None, None) => None,
            };
            let token = token
                .map(|t| -> Result<serde_json::Value> {
                    Ok(json!({
                        "id": t.to_string(),
                        "owner": r.owner_of(t).ok().map(|a| a.to_string()),
                        "identity_commitment": r.identity_commitment(t)?.map(|x| fr_to_dec(&x)),
                        "current_root": r.current_root(t)?.map(|x| fr_to_dec(&x)),
                    }))
                })
                .transpose()?;
            json!({"deployment": d, "token": token})
        }
    };
    out_line(json, v.clone(), || {
        serde_json::to_string_pretty(&v).unwrap_or_default()
    });
    Ok(())
}

fn cmd_serve(keys: &Path, a: ServeArgs) -> Result<()> {
    if a.print_defaults {
        print!("{}", zkmed_server::config::DEFAULTS.trim_start());
        return Ok(());
    }
    let mut settings = zkmed_server::config::Settings::load(a.config.as_deref())?;
    // `--keys` / ZKMED_KEYS (the CLI's global option) wins when given explicitly.
    if keys != Path::new("keys") {
        settings.keys = keys.to_path_buf();
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

fn load_query(a: &QueryArgs) -> Result<Query> {
    match (&a.predicate, &a.query) {
        (Some(name), None) => {
            let p = predicates::get(name)?;
            let params = predicates::parse_params(&a.params)?;
            Ok(p.instantiate(&params, chrono::Local::now().date_naive())?)
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

fn parse_circuits(list: &[String]) -> Result<Vec<CircuitId>> {
    if list.is_empty() {
        return Ok(CircuitId::ALL.to_vec());
    }
    list.iter()
        .map(|s| {
            CircuitId::parse(s).ok_or_else(|| {
                anyhow!(
                    "unknown circuit {s:?} (known: {})",
                    CircuitId::ALL.map(|c| c.as_str()).join(", ")
                )
            })
        })
        .collect()
}

const INSECURE: &str = "WARNING: INSECURE SETUP — single-party Groth16 keys; whoever ran this setup could forge proofs. Use keys from an MPC ceremony in production.";

/// A progress spinner on stderr (hidden for `--json` and when stderr is not a terminal).
fn spinner(hidden: bool) -> ProgressBar {
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

fn run_setup(dir: &Path, circuits: &[CircuitId], seed: Option<u64>, json: bool) -> Result<()> {
    let bar = spinner(json);
    let mut on_event = |e: SetupEvent| match e {
        SetupEvent::Start {
            circuit,
            index,
            total,
            constraints,
        } => bar.set_message(format!(
            "setup {}/{}: {circuit} ({constraints} constraints)",
            index + 1,
            total
        )),
        SetupEvent::Done {
            circuit,
            seconds,
            pk_bytes,
        } => bar.println(format!(
            "  {circuit}: {:.1} s, proving key {:.1} MB",
            seconds,
            pk_bytes as f64 / 1e6
        )),
    };
    match seed {
        Some(s) => {
            use rand::SeedableRng;
            zkmed_prover::setup(
                dir,
                circuits,
                &mut rand_chacha::ChaCha20Rng::seed_from_u64(s),
                &mut on_event,
            )?
        }
        None => zkmed_prover::setup(dir, circuits, &mut OsRng, &mut on_event)?,
    };
    bar.finish_and_clear();
    Ok(())
}

fn cmd_setup(dir: &Path, a: SetupArgs, json: bool) -> Result<()> {
    let circuits = parse_circuits(&a.circuits)?;
    eprintln!("{INSECURE}");
    run_setup(dir, &circuits, a.insecure_seed, json)?;
    let m = zkmed_core::manifest::Manifest::load(dir)?;
    out_line(json, serde_json::to_value(&m)?, || {
        let mut s = format!("keys written to {}\n", dir.display());
        for c in &m.circuits {
            s += &format!(
                "  {:<12} {:>7} constraints  vk sha256 {}\n",
                c.id, c.constraints, c.vk.sha256
            );
        }
        s + INSECURE
    });
    Ok(())
}

fn cmd_commit(a: CommitArgs, json: bool) -> Result<()> {
    let bytes = std::fs::read(&a.bundle)
        .with_context(|| format!("reading bundle {}", a.bundle.display()))?;
    let imported =
        import_bundle(&bytes).with_context(|| format!("bundle {}", a.bundle.display()))?;
    let id = IdentitySecret::load(&a.identity)?;
    let opening = match &a.salt_seed {
        Some(hex_seed) => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hex_seed.trim().trim_start_matches("0x"), &mut seed[..])
                .map_err(|e| anyhow!("--salt-seed must be 64 hex digits: {e}"))?;
            Opening::create_from_seed(imported, id.commitment(), &seed)?
        }
        None => Opening::create(imported, id.commitment(), &mut OsRng)?,
    };
    let c = opening.commitment()?;
    opening.save(&a.out)?;
    let report = &opening.import_report;
    out_line(
        json,
        json!({"record_commitment": fr_to_dec(&c), "identity_commitment": fr_to_dec(&opening.identity_commitment), "opening": a.out, "report": report}),
        || {
            let mut s = format!(
                "record commitment: {}\nopening written to {} (secret: records + salts)\n",
                fr_to_dec(&c),
                a.out.display()
            );
            for (k, n) in &report.records {
                s += &format!("  {:<20} {n}\n", k.fhir_name());
            }
            let skipped: usize = report.skipped_types.values().sum();
            s + &format!("  skipped {skipped} non-clinical resources ({} types), {} unusable clinical resources", report.skipped_types.len(), report.skipped.len())
        },
    );
    Ok(())
}

fn prove_one(
    keys: &KeyStore,
    opening: &Opening,
    id: &IdentitySecret,
    query: &Query,
    challenge: Fr,
    scope: Fr,
    quiet: bool,
) -> Result<(zkmed_prover::Proven, Duration)> {
    let cq = query.compile()?;
    let plan = zkmed_prover::plan(opening, &cq, &keys.available())?;
    let bar = spinner(quiet);
    bar.set_message(format!(
        "proving with {} ({} records of the kind)",
        plan.circuit, plan.records_of_kind
    ));
    let t = Instant::now();
    let p = zkmed_prover::prove(
        keys,
        &ProveRequest {
            opening,
            identity: id,
            query,
            challenge,
            scope,
        },
        &mut OsRng,
    )?;
    bar.finish_and_clear();
    Ok((p, t.elapsed()))
}

fn cmd_prove(dir: &Path, a: ProveArgs, json: bool) -> Result<()> {
    let keys = KeyStore::open(dir)
        .with_context(|| format!("key directory {} (run `zkmed setup`)", dir.display()))?;
    let opening = Opening::load(&a.opening)?;
    let id = IdentitySecret::load(&a.identity)?;
    let query = load_query(&a.query)?;
    let challenge = parse_field_arg("challenge", &a.challenge)?;
    let scope = parse_field_arg("scope", &a.scope)?;
    let (p, took) = prove_one(&keys, &opening, &id, &query, challenge, scope, json)?;
    std::fs::write(&a.out, p.attestation.to_json())
        .with_context(|| format!("writing {}", a.out.display()))?;
    if a.binary {
        let bin = a.out.with_extension("bin");
        std::fs::write(&bin, p.attestation.to_bytes()?)
            .with_context(|| format!("writing {}", bin.display()))?;
    }
    out_line(
        json,
        json!({"answer": p.attestation.public.answer, "circuit": p.attestation.circuit, "prove_ms": took.as_millis(), "attestation": a.out}),
        || {
            format!(
                "answer: {}\ncircuit: {} ({:.0} ms)\nattestation written to {}",
                yes_no(p.attestation.public.answer),
                p.attestation.circuit,
                took.as_secs_f64() * 1e3,
                a.out.display()
            )
        },
    );
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "YES"
    } else {
        "NO"
    }
}

fn read_attestation(path: &Path) -> Result<Attestation> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading attestation {}", path.display()))?;
    let a = if bytes.starts_with(b"ZKMA") {
        Attestation::from_bytes(&bytes)
    } else {
        Attestation::from_json(&bytes)
    };
    a.with_context(|| format!("attestation {}", path.display()))
}

fn cmd_verify(dir: &Path, a: VerifyArgs, json: bool) -> Result<()> {
    let keys = KeySet::load_manifest_dir(dir)
        .with_context(|| format!("key directory {}", dir.display()))?;
    let att = read_attestation(&a.attestation)?;
    let query = load_query(&a.query)?;
    let challenge = parse_field_arg("challenge", &a.challenge)?;
    let source: Box<dyn zkmed_verifier::CommitmentSource> = match &a.commitment {
        Some(c) => {
            let commitment = parse_fr(c).context("--commitment")?;
            let mut source = InMemoryCommitments::new();
            source.anchor(att.public.identity_commitment, commitment);
            Box::new(source)
        }
        None => chain_source(a.rpc.as_deref(), &a.chain_dir, a.within)?,
    };
    let t = Instant::now();
    zkmed_verifier::verify(&keys, &att, &query, &challenge, &*source)
        .context("attestation REJECTED")?;
    out_line(
        json,
        json!({"valid": true, "answer": att.public.answer, "circuit": att.circuit, "nullifier": fr_to_dec(&att.public.nullifier), "verify_ms": t.elapsed().as_secs_f64() * 1e3}),
        || format!("valid: the proven answer is {}", yes_no(att.public.answer)),
    );
    Ok(())
}

fn cmd_export_snarkjs(dir: &Path, attestation: &Path, out: &Path, json: bool) -> Result<()> {
    let keys = KeySet::load_manifest_dir(dir)?;
    let att = read_attestation(attestation)?;
    let key = keys
        .get(&att.circuit)
        .ok_or_else(|| anyhow!("no verifying key for circuit {}", att.circuit))?;
    if key.key_hash() != att.key_hash {
        bail!(
            "attestation was made for verifying key {} but {} holds {}",
            att.key_hash,
            dir.display(),
            key.key_hash()
        );
    }
    let files = zkmed_verifier::export_snarkjs(key.vk(), &att)?;
    std::fs::create_dir_all(out)?;
    for (name, v) in [
        ("proof.json", &files.proof_json),
        ("public.json", &files.public_json),
        ("verification_key.json", &files.verification_key_json),
    ] {
        std::fs::write(out.join(name), serde_json::to_string_pretty(v)?)?;
    }
    out_line(json, json!({"dir": out}), || {
        format!("wrote {0}/proof.json, {0}/public.json, {0}/verification_key.json\ncheck with: snarkjs groth16 verify {0}/verification_key.json {0}/public.json {0}/proof.json", out.display())
    });
    Ok(())
}

fn cmd_demo(dir: &Path, a: DemoArgs, json: bool) -> Result<()> {
    let needed = [CircuitId::Exists, CircuitId::Scan64];
    let have = KeyStore::open(dir)
        .map(|k| k.available())
        .unwrap_or_default();
    let missing: Vec<_> = needed
        .iter()
        .copied()
        .filter(|c| !have.contains(c))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "setting up keys for {} in {} ...\n{INSECURE}",
            missing
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            dir.display()
        );
        run_setup(dir, &missing, None, json)?;
    }
    let keys = KeyStore::open(dir)?;
    let t = Instant::now();
    for c in needed {
        keys.get(c)?; // hash-checked load + R1CS matrices, timed separately from proving
    }
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    std::fs::create_dir_all(&a.workdir)?;
    let bytes = std::fs::read(&a.bundle)
        .with_context(|| format!("reading demo bundle {}", a.bundle.display()))?;
    let imported =
        import_bundle(&bytes).with_context(|| format!("bundle {}", a.bundle.display()))?;
    let name = a
        .bundle
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = IdentitySecret::random(&mut OsRng);
    let opening = Opening::create(imported, id.commitment(), &mut OsRng)?;
    let commitment = opening.commitment()?;
    opening.save(a.workdir.join("opening.json"))?;
    // On chain (the embedded chain in the work directory; it persists across runs): the
    // hospital, accredited by governance, mints the patient's soul-bound identity token and
    // anchors the record commitment. The verifier (an insurer) checks proofs against it.
    let chain_start = Instant::now();
    let (registry, token, anchor_gas) =
        demo_chain(&a.workdir.join("chain"), &id.commitment(), &commitment)?;
    let chain_ms = chain_start.elapsed().as_secs_f64() * 1e3;
    let vkeys = KeySet::load_manifest_dir(dir)?;
    let challenge = parse_field_arg("challenge", &format!("text:demo-{}", OsRngHex::next()))?;
    let scope = parse_field_arg("scope", "text:demo-insurer")?;
    let mut rows = Vec::new();
    for pred in ["has-organ-transplant", "no-chronic-conditions"] {
        let query = load_query(&QueryArgs {
            predicate: Some(pred.into()),
            params: vec![],
            query: None,
        })?;
        let (p, took) = prove_one(&keys, &opening, &id, &query, challenge, scope, json)?;
        let path = a.workdir.join(format!("{pred}.attestation.json"));
        std::fs::write(&path, p.attestation.to_json())?;
        let t = Instant::now();
        zkmed_verifier::verify(&vkeys, &p.attestation, &query, &challenge, &registry)
            .with_context(|| format!("verifying {pred}"))?;
        let verify_ms = t.elapsed().as_secs_f64() * 1e3;
        rows.push(json!({
            "predicate": pred, "answer": p.attestation.public.answer, "circuit": p.attestation.circuit,
            "records_of_kind": p.plan.records_of_kind, "prove_ms": took.as_millis(), "verify_ms": verify_ms,
            "attestation": path, "attestation_bytes": p.attestation.to_bytes()?.len(),
        }));
    }
    let report = opening.import_report.clone();
    out_line(
        json,
        json!({"patient": name, "key_load_ms": load_ms, "record_commitment": fr_to_dec(&commitment), "identity_token": token.to_string(), "anchor_gas": anchor_gas, "chain_ms": chain_ms, "results": rows, "insecure_setup": true}),
        || {
            let mut s = String::from("zkmed demo\n");
            s += &format!("patient        {name} (synthetic, Synthea)\n");
            s += &format!(
                "records        {} committed ({} non-clinical resources skipped)\n",
                report.records.values().sum::<usize>(),
                report.skipped_types.values().sum::<usize>()
            );
            s += &format!("commitment     {}\n", fr_to_dec(&commitment));
            s += &format!(
                "chain          identity token #{token} minted, commitment anchored ({anchor_gas} gas) on the embedded chain in {chain_ms:.0} ms\n"
            );
            s += &format!(
                "keys           loaded, hash-checked, R1CS matrices derived in {load_ms:.0} ms\n\n"
            );
            s += &format!(
                "{:<24} {:<7} {:<11} {:>9} {:>10}  {}\n",
                "predicate", "answer", "circuit", "prove ms", "verify ms", "verified"
            );
            for r in &rows {
                s += &format!(
                    "{:<24} {:<7} {:<11} {:>9} {:>10.2}  yes\n",
                    r["predicate"].as_str().unwrap_or(""),
                    yes_no(r["answer"].as_bool().unwrap_or(false)),
                    r["circuit"].as_str().unwrap_or(""),
                    r["prove_ms"],
                    r["verify_ms"].as_f64().unwrap_or(0.0)
                );
            }
            s += &format!(
                "\nattestations in {}; the verifier learned only the answers.\n{INSECURE}",
                a.workdir.display()
            );
            s
        },
    );
    Ok(())
}

/// The demo's chain: the embedded chain under `dir` (deployed and a demo hospital
/// accredited on first use); mints a token for the identity and anchors the commitment.
/// Returns the commitment source that verifies against it.
fn demo_chain(
    dir: &Path,
    idc: &Fr,
    commitment: &Fr,
) -> Result<(
    zkmed_chain::RegistryCommitments<zkmed_chain::backend::EmbeddedBackend>,
    zkmed_chain::backend::U256,
    u64,
)> {
    use zkmed_chain::backend::{Address, EmbeddedBackend, Registry};
    let gov = EmbeddedBackend::open(dir, Address::repeat_byte(0x01))?;
    let hospital = gov.as_account(Address::repeat_byte(0x02));
    let reader = gov.as_account(Address::repeat_byte(0x03));
    let deployment_file = deployment_file(None, dir);
    let deployment = if deployment_file.exists() {
        zkmed_chain::Deployment::load(&deployment_file)?
    } else {
        let mut g = Registry::deploy(gov)?;
        g.accredit(hospital.account, "zkmed demo hospital")?;
        g.deployment.save(&deployment_file)?;
        g.deployment
    };
    let mut h = Registry::attach(hospital, deployment);
    // The patient's address: any fresh one (the demo's identity is new on every run).
    let digest = poseidon::poseidon(&[*idc])?;
    let bytes = zkmed_core::field::fr_to_be_bytes(&digest);
    let patient = Address::from_slice(&bytes[12..]);
    let token = h.mint(patient, idc, &[], 0)?;
    let gas = h.anchor(token, commitment, false)?;
    Ok((
        zkmed_chain::RegistryCommitments::new(
            Registry::attach(reader, deployment),
            zkmed_chain::Freshness::Current,
            std::time::Duration::ZERO,
        ),
        token,
        gas,
    ))
}

/// A fresh random tag for the demo's challenge.
struct OsRngHex;
impl OsRngHex {
    fn next() -> String {
        use rand::RngCore;
        let mut b = [0u8; 16];
        OsRng.fill_bytes(&mut b);
        hex::encode(b)
    }
}
