//! `zkmed chain ...`: the on-chain registries (identities and their tree, issuers, the
//! anchored state's roots) and on-chain checks, on the embedded chain (default) or a node
//! over JSON-RPC. Record states are anchored in batches by issuers (`zkmed issuer serve`),
//! never per token.

use super::{
    deployment_file, load_query, out_line, parse_field_arg, read_attestation, read_deployment, Ctx,
    QueryArgs,
};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use zkmed_core::field::{fr_to_dec, parse_fr};

#[derive(Args)]
pub struct ChainArgs {
    /// A node's JSON-RPC URL (any EVM chain). Default: the embedded chain in --data-dir.
    #[arg(long, env = "ZKMED_RPC", global = true)]
    rpc: Option<String>,
    /// Private key (hex) that signs, with --rpc. Read-only commands (`status`, `check`
    /// without --consume-scope, `challenge`) need none.
    #[arg(long, env = "ZKMED_CHAIN_KEY", hide_env_values = true, global = true)]
    key: Option<String>,
    /// The account to act as on the embedded chain (no keys there); with --rpc and no
    /// --key, the account reads are made from (a prepared check answers only the requests
    /// that account registered).
    #[arg(
        long = "as",
        global = true,
        default_value = "0x0000000000000000000000000000000000000001"
    )]
    as_account: String,
    /// With --rpc: seconds each JSON-RPC request may take (connecting: at most 5); reads
    /// are retried twice, sends never.
    #[arg(long, env = "ZKMED_RPC_TIMEOUT", global = true, value_name = "SECS")]
    rpc_timeout: Option<u64>,
    /// Where the embedded chain's state and the deployment addresses are kept.
    #[arg(long, global = true, default_value = ".zkmed/chain")]
    data_dir: PathBuf,
    #[command(subcommand)]
    pub cmd: ChainCmd,
}

#[derive(Subcommand)]
pub enum ChainCmd {
    /// Deploy the registries and the attestation verifier (this account governs).
    Deploy {
        /// Replace an existing deployment file (the old deployment stays on chain).
        #[arg(long)]
        force: bool,
    },
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
    /// Guardian recovery: propose (and approve), or approve, re-binding a token (M of the
    /// N guardians; a proposal is open for 7 days); or cancel: the token's owner voids
    /// every open proposal.
    Recover {
        #[arg(value_parser = ["propose", "approve", "cancel"])]
        step: String,
        #[arg(long)]
        token: u64,
        #[arg(long, required_if_eq_any = [("step", "propose"), ("step", "approve")])]
        new_owner: Option<String>,
        #[arg(long, required_if_eq_any = [("step", "propose"), ("step", "approve")])]
        new_identity_commitment: Option<String>,
    },
    /// The patient (the token's owner) authorises an accredited issuer to anchor record
    /// commitments for the token, or withdraws it (--withdraw). The minting issuer is
    /// authorised until withdrawn.
    Authorise {
        #[arg(long)]
        token: u64,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        withdraw: bool,
    },
    /// The request value a verifier gives the patient for a one-time claim it will
    /// consume: `keccak256(chainid, attestation verifier, SUBMITTER, NONCE) mod r`
    /// (read-only). Only SUBMITTER can consume an attestation proven with it (`zkmed prove
    /// --request VALUE --scope S`).
    Challenge {
        /// A number the verifier picks, fresh per claim (decimal or 0x hex).
        #[arg(long)]
        nonce: String,
        /// The account that will consume (default: this account).
        #[arg(long)]
        submitter: Option<String>,
    },
    /// Install a compiled Groth16 verifier contract for a circuit (governance). The artifact
    /// is what `node tools/solc/compile.mjs` writes for the contract that `zkmed export
    /// solidity` generated from your verifying key.
    InstallVerifier {
        #[arg(long, default_value = "exists-v3")]
        circuit: String,
        /// e.g. contracts/artifacts/ExistsV3Verifier.json
        #[arg(long)]
        artifact: PathBuf,
    },
    /// Check an attestation on chain (read-only, costs nothing): its roots within the
    /// window in the identity and state registries, then the pairing, in the attestation
    /// verifier contract. Prints the answer or the revert reason.
    Check {
        #[arg(long, default_value = "attestation.json")]
        attestation: PathBuf,
        #[command(flatten)]
        query: QueryArgs,
        /// The request value the attestation answers (default with --nonce: this account's
        /// `zkmed chain challenge --nonce N`).
        #[arg(long, required_unless_present = "nonce")]
        request: Option<String>,
        /// The verifier's scope (the challenge is H(scope, request)).
        #[arg(long, default_value = "text:default")]
        scope: String,
        /// Accept roots superseded at most this many seconds ago (0: current roots only).
        #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
        window: u64,
        /// Spend the attestation's nullifier in its scope (a one-time claim: a transaction
        /// from this account; needs --nonce).
        #[arg(long, requires = "nonce")]
        consume: bool,
        /// The nonce of this account's request value (`zkmed chain challenge`).
        #[arg(long)]
        nonce: Option<String>,
        /// The prepared check (the cheapest on-chain check): the request registered for
        /// this question, request and scope (`zkmed chain register-request`) and the roots
        /// prepared for the circuit (`zkmed chain prepare`).
        #[arg(long)]
        prepared: bool,
    },
    /// Register a verifier's question, request value and scope with the circuit's verifier
    /// contract, for this account's prepared checks (anyone, for itself).
    RegisterRequest {
        #[arg(long, default_value = "exists-v3")]
        circuit: String,
        #[command(flatten)]
        query: QueryArgs,
        #[arg(long)]
        request: String,
        #[arg(long, default_value = "text:default")]
        scope: String,
    },
    /// Prepare a pair of roots for prepared checks (anyone): the chain's current identity and
    /// global state roots, or an attestation's (--attestation).
    Prepare {
        #[arg(long, default_value = "exists-v3")]
        circuit: String,
        #[arg(long)]
        attestation: Option<PathBuf>,
    },
    /// Revoke an identity token (its minting issuer, or governance).
    Revoke {
        #[arg(long)]
        token: u64,
    },
    /// Deployment, the current identity, spent, issuers and global state roots, and a
    /// token's or an identity's state.
    Status {
        #[arg(long)]
        token: Option<u64>,
        #[arg(long)]
        identity_commitment: Option<String>,
    },
}

pub fn run(ctx: &Ctx, a: ChainArgs) -> Result<()> {
    cmd_chain(a, ctx.json)
}

impl ChainCmd {
    /// Whether the command sends a transaction (and so needs --key with --rpc).
    fn sends(&self) -> bool {
        match self {
            ChainCmd::Status { .. } | ChainCmd::Challenge { .. } => false,
            ChainCmd::Check { consume, .. } => *consume,
            _ => true,
        }
    }
}

/// An address argument: EIP-55 checked when mixed-case.
fn addr(s: &str, what: &str) -> Result<zkmed_chain::backend::Address> {
    zkmed_chain::parse_address(s).with_context(|| format!("--{what}"))
}

fn cmd_chain(mut a: ChainArgs, json: bool) -> Result<()> {
    use zkmed_chain::backend::{AnyBackend, EmbeddedBackend, Registry, RpcBackend};
    use zkmed_chain::Deployment;
    let deployment_file = deployment_file(a.rpc.as_deref(), &a.data_dir);
    if let ChainCmd::Deploy { force: false } = a.cmd {
        if deployment_file.exists() {
            return Err(super::error::coded(
                "already_exists",
                format!(
                    "{} already exists: refusing to overwrite a deployment (pass --force to replace it; the old contracts stay on chain)",
                    deployment_file.display()
                ),
            ));
        }
    }
    let mut options = zkmed_chain::RpcOptions::default();
    if let Some(secs) = a.rpc_timeout {
        if secs == 0 {
            bail!("--rpc-timeout: at least 1 second");
        }
        options.request_timeout = std::time::Duration::from_secs(secs);
        options.connect_timeout = options.connect_timeout.min(options.request_timeout);
    }
    let backend = match &a.rpc {
        Some(url) if a.key.is_some() || a.cmd.sends() => {
            // The signing key lives on in the signer (zeroized on drop); this copy is
            // wiped as soon as the signer is built.
            let key = zeroize::Zeroizing::new(a.key.take().ok_or_else(|| {
                anyhow!("--rpc needs --key (or ZKMED_CHAIN_KEY) to send transactions")
            })?);
            AnyBackend::Rpc(RpcBackend::connect_with(url, &key, options)?)
        }
        Some(url) => AnyBackend::Rpc(RpcBackend::read_only_as(
            url,
            addr(&a.as_account, "as")?,
            options,
        )?),
        None => AnyBackend::Embedded(EmbeddedBackend::open(
            &a.data_dir,
            addr(&a.as_account, "as")?,
        )?),
    };
    let fr = |s: &str, what: &str| parse_fr(s).with_context(|| format!("--{what}"));
    if let ChainCmd::Deploy { .. } = a.cmd {
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
        ChainCmd::Deploy { .. } => unreachable!("handled above"),
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
        ChainCmd::Recover {
            step,
            token,
            new_owner,
            new_identity_commitment,
        } => {
            let t = zkmed_chain::backend::U256::from(token);
            let gas = if step == "cancel" {
                r.cancel_recovery(t)?
            } else {
                let (o, c) = (
                    addr(&new_owner.unwrap_or_default(), "new-owner")?,
                    fr(
                        &new_identity_commitment.unwrap_or_default(),
                        "new-identity-commitment",
                    )?,
                );
                if step == "propose" {
                    r.propose_recovery(t, o, &c)?
                } else {
                    r.approve_recovery(t, o, &c)?
                }
            };
            json!({"gas": gas})
        }
        ChainCmd::Authorise {
            token,
            issuer,
            withdraw,
        } => {
            let (t, i) = (
                zkmed_chain::backend::U256::from(token),
                addr(&issuer, "issuer")?,
            );
            let gas = r.set_issuer_authorised(t, i, !withdraw)?;
            json!({"token": token, "issuer": i.to_string(), "authorised": !withdraw, "gas": gas})
        }
        ChainCmd::Challenge { nonce, submitter } => {
            let nonce = parse_nonce(&nonce)?;
            let submitter = match submitter {
                Some(s) => addr(&s, "submitter")?,
                None => r.backend_account(),
            };
            let chain_id = zkmed_chain::backend::Backend::chain_id(&mut r.backend)?;
            let c = zkmed_chain::submitter_challenge(chain_id, d.verifier, submitter, nonce);
            json!({"request": fr_to_dec(&c), "submitter": submitter.to_string(),
                   "nonce": nonce.to_string(), "chain_id": chain_id})
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
            attestation,
            query,
            request,
            scope,
            window,
            consume,
            nonce,
            prepared,
        } => {
            let att = read_attestation(&attestation)?;
            let qh = load_query(&query)?.hash()?;
            let nonce = nonce.as_deref().map(parse_nonce).transpose()?;
            let request = match (request, nonce) {
                (Some(c), _) => parse_field_arg("request", &c)?,
                (None, Some(n)) => r.submitter_challenge(n)?,
                (None, None) => bail!("--request or --nonce is required"),
            };
            let scope = parse_field_arg("scope", &scope)?;
            let challenge = zkmed_state::note::challenge(scope, request);
            let (answer, gas) = if prepared {
                let req = zkmed_chain::backend::Request {
                    circuit: att.circuit.clone(),
                    query_hash: qh,
                    scope,
                    request,
                };
                let rejected = "attestation REJECTED on chain (prepared check)";
                let answer = r.check_prepared(&att, &req, window).context(rejected)?;
                let gas = match (consume, nonce) {
                    (true, Some(n)) => Some(
                        r.consume_prepared_with_nonce(&att, &req, n, window)
                            .context(rejected)?,
                    ),
                    _ => None,
                };
                (answer, gas)
            } else {
                let rejected = "attestation REJECTED on chain";
                let answer = r.check(&att, &qh, &challenge, window).context(rejected)?;
                let gas = match (consume, nonce) {
                    (true, Some(n)) => Some(
                        r.consume_with_nonce(&att, &qh, n, &scope, window)
                            .context(rejected)?,
                    ),
                    _ => None,
                };
                (answer, gas)
            };
            json!({"valid": true, "answer": answer, "prepared": prepared, "window_s": window,
                   "consumed": gas.is_some(), "gas": gas})
        }
        ChainCmd::RegisterRequest {
            circuit,
            query,
            request,
            scope,
        } => {
            let request = zkmed_chain::backend::Request {
                circuit,
                query_hash: load_query(&query)?.hash()?,
                scope: parse_field_arg("scope", &scope)?,
                request: parse_field_arg("request", &request)?,
            };
            let gas = r.register_request(&request)?;
            json!({"request": request.id().to_string(), "gas": gas})
        }
        ChainCmd::Prepare {
            circuit,
            attestation,
        } => {
            let (ir, sr) = match attestation {
                Some(f) => {
                    let att = read_attestation(&f)?;
                    (att.public.identity_root, att.public.state_root)
                }
                None => (r.identity_root()?, r.global_root()?),
            };
            let gas = r.prepare_roots(&circuit, &ir, &sr)?;
            json!({"circuit": circuit, "identity_root": fr_to_dec(&ir), "state_root": fr_to_dec(&sr), "gas": gas})
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
                    }))
                })
                .transpose()?;
            let roots = json!({
                "identity": fr_to_dec(&r.identity_root()?),
                "state": fr_to_dec(&r.global_root()?),
                "issuers": fr_to_dec(&r.issuers_root()?),
                "spent": fr_to_dec(&r.spent_root()?),
            });
            json!({"deployment": d, "roots": roots, "token": token})
        }
    };
    out_line(json, v.clone(), || {
        serde_json::to_string_pretty(&v).unwrap_or_default()
    });
    Ok(())
}

/// A nonce: decimal, or 0x hex, up to 256 bits.
fn parse_nonce(s: &str) -> Result<zkmed_chain::backend::U256> {
    s.trim()
        .parse::<zkmed_chain::backend::U256>()
        .map_err(|e| anyhow!("--nonce {s:?}: not a 256-bit number (decimal or 0x hex): {e}"))
}
