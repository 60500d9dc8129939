//! One trait, two backends: a real node over JSON-RPC ([`RpcBackend`]) or the embedded
//! revm chain ([`EmbeddedChain`]). [`Registry`] does every zkmed operation over either.

use crate::bindings::{
    AttestationVerifier, GeneratedVerifier, IssuerRegistry, PoseidonT3, PreparedAttestation,
    StateRegistry, ZkmedIdentity,
};
use crate::client::{circuit_id, fr_to_u256, to_contract_attestation, u256_to_fr, Deployment};
pub use crate::embedded::ChainLog;
use crate::embedded::{EmbeddedChain, Outcome};
use crate::error::ChainError;
use alloy::network::{EthereumWallet, TransactionBuilder};
pub use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolConstructor, SolInterface};
use zkmed_core::attestation::Attestation;
use zkmed_core::Fr;

/// Executes transactions and calls as one account.
pub trait Backend {
    /// The account transactions come from.
    fn account(&self) -> Address;
    /// Sends a transaction (`to = None`: creation with `data` as init code) and waits for
    /// it; a revert is an error with its reason.
    fn send(&mut self, call: &str, to: Option<Address>, data: Bytes)
        -> Result<Outcome, ChainError>;
    /// A read-only call (from [`Backend::account`]).
    fn call(&mut self, call: &str, to: Address, data: Bytes) -> Result<Bytes, ChainError>;
    /// The chain's id (EIP-155).
    fn chain_id(&mut self) -> Result<u64, ChainError>;
    /// The logs `address` emitted with first topic `topic0` (an event's signature hash),
    /// oldest first (`eth_getLogs` from block 0).
    fn logs(&mut self, address: Address, topic0: B256) -> Result<Vec<ChainLog>, ChainError>;
    /// The input (calldata) of the mined transaction `tx`.
    fn transaction_input(&mut self, tx: B256) -> Result<Bytes, ChainError>;
    /// The chain's clock (seconds): the latest block's timestamp over JSON-RPC, the
    /// embedded chain's block time.
    fn timestamp(&mut self) -> Result<u64, ChainError>;
}

/// The embedded chain, acting as `account` (no keys: accounts are addresses). Several
/// backends (accounts) can share one chain.
#[derive(Clone)]
pub struct EmbeddedBackend {
    pub chain: std::sync::Arc<std::sync::Mutex<EmbeddedChain>>,
    pub account: Address,
}

impl EmbeddedBackend {
    pub fn new(chain: std::sync::Arc<std::sync::Mutex<EmbeddedChain>>, account: Address) -> Self {
        EmbeddedBackend { chain, account }
    }

    /// Opens the chain stored in `dir` ([`EmbeddedChain::FILE`]), acting as `account`.
    pub fn open(dir: &std::path::Path, account: Address) -> Result<Self, ChainError> {
        let chain = EmbeddedChain::open(&dir.join(EmbeddedChain::FILE))?;
        Ok(Self::new(
            std::sync::Arc::new(std::sync::Mutex::new(chain)),
            account,
        ))
    }

    /// Another account on the same chain.
    pub fn as_account(&self, account: Address) -> Self {
        Self::new(self.chain.clone(), account)
    }

    fn chain(&self) -> Result<std::sync::MutexGuard<'_, EmbeddedChain>, ChainError> {
        self.chain
            .lock()
            .map_err(|_| ChainError::Invalid("embedded chain lock poisoned".into()))
    }
}

impl Backend for EmbeddedBackend {
    fn account(&self) -> Address {
        self.account
    }
    fn send(
        &mut self,
        call: &str,
        to: Option<Address>,
        data: Bytes,
    ) -> Result<Outcome, ChainError> {
        let account = self.account;
        self.chain()?
            .transact(call, account, to, data)
            .map_err(decode_call_error)
    }
    fn call(&mut self, call: &str, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        let account = self.account;
        self.chain()?
            .call_from(call, account, to, data)
            .map_err(decode_call_error)
    }
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        Ok(self.chain()?.chain_id())
    }
    fn logs(&mut self, address: Address, topic0: B256) -> Result<Vec<ChainLog>, ChainError> {
        Ok(self.chain()?.logs(address, topic0))
    }
    fn transaction_input(&mut self, tx: B256) -> Result<Bytes, ChainError> {
        self.chain()?.transaction_input(tx).ok_or_else(|| {
            ChainError::Invalid(format!(
                "no transaction {tx} with logs on the embedded chain"
            ))
        })
    }
    fn timestamp(&mut self) -> Result<u64, ChainError> {
        Ok(self.chain()?.timestamp())
    }
}

/// Timeouts and retries of a JSON-RPC connection.
///
/// Every JSON-RPC request has `request_timeout` (and each TCP connect `connect_timeout`).
/// Reads (`eth_call`, the chain id, blocks, receipts) are retried up to `read_retries`
/// times after a transport failure (connection refused or reset, timeout, HTTP 5xx), with
/// a short backoff (200 ms, 400 ms, ...); a node's own answer (a revert, an error object)
/// is never retried. Sends are never retried: a transaction that may have reached the node
/// is not sent twice. A read therefore fails within about
/// `(1 + read_retries) × request_timeout` plus the backoff, with
/// [`ChainError::Unreachable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcOptions {
    pub connect_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
    pub read_retries: u32,
}

impl Default for RpcOptions {
    /// Connect 5 s, request 10 s, 2 retries for reads.
    fn default() -> Self {
        RpcOptions {
            connect_timeout: std::time::Duration::from_secs(5),
            request_timeout: std::time::Duration::from_secs(10),
            read_retries: 2,
        }
    }
}

/// How long a sent transaction's receipt is waited for (polled with reads, each under the
/// request timeout): a public chain's block time is seconds, a local node's zero.
pub const RECEIPT_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// A node over JSON-RPC, signing with a local key (or read-only, without one).
///
/// The RPC runs on a thread of its own with its own runtime, so a backend can be used from
/// any thread, async executors included (a call blocks its caller until the node answers,
/// at most the [`RpcOptions`] timeouts).
pub struct RpcBackend {
    tasks: std::sync::mpsc::Sender<RpcTask>,
    account: Address,
    signing: bool,
    /// The node, as error messages name it (scheme, host and port only: a provider's URL
    /// path can hold an API key).
    node: Node,
    options: RpcOptions,
}

type RpcTask = Box<dyn FnOnce(&tokio::runtime::Runtime, &DynProvider) + Send>;

impl RpcBackend {
    /// Connects to `rpc_url`, signing transactions with `private_key` (hex), with the
    /// default [`RpcOptions`].
    pub fn connect(rpc_url: &str, private_key: &str) -> Result<RpcBackend, ChainError> {
        Self::connect_with(rpc_url, private_key, RpcOptions::default())
    }

    /// Connects to `rpc_url`, signing transactions with `private_key` (hex).
    pub fn connect_with(
        rpc_url: &str,
        private_key: &str,
        options: RpcOptions,
    ) -> Result<RpcBackend, ChainError> {
        let signer: PrivateKeySigner = private_key
            .trim()
            .parse()
            // The parser's own message can quote part of the key: never echo it.
            .map_err(|_| {
                ChainError::Invalid(
                    "private key: not a secp256k1 secret key (32 bytes of hex)".into(),
                )
            })?;
        let account = signer.address();
        Self::start(rpc_url, Some(signer), account, options)
    }

    /// Connects to `rpc_url` for reads only (a verifier needs no key), with the default
    /// [`RpcOptions`].
    pub fn read_only(rpc_url: &str) -> Result<RpcBackend, ChainError> {
        Self::read_only_with(rpc_url, RpcOptions::default())
    }

    /// Connects to `rpc_url` for reads only.
    pub fn read_only_with(rpc_url: &str, options: RpcOptions) -> Result<RpcBackend, ChainError> {
        Self::start(rpc_url, None, Address::ZERO, options)
    }

    /// Connects to `rpc_url` for reads only, made from `account` (`eth_call`'s `from`, the
    /// callee's `msg.sender`: e.g. a verifier's own prepared check, which answers only the
    /// requests that account registered). No key: nothing can be sent.
    pub fn read_only_as(
        rpc_url: &str,
        account: Address,
        options: RpcOptions,
    ) -> Result<RpcBackend, ChainError> {
        Self::start(rpc_url, None, account, options)
    }

    /// The options this connection was made with.
    pub fn options(&self) -> RpcOptions {
        self.options
    }

    /// Reads the chain id: `Ok` when the node answers (what a readiness probe checks).
    pub fn ping(&mut self) -> Result<(), ChainError> {
        self.chain_id().map(|_| ())
    }

    /// For test nodes (anvil): moves the node's clock `secs` seconds ahead and mines a
    /// block (`evm_increaseTime`, `evm_mine`), as [`EmbeddedChain::advance_time`] does.
    pub fn increase_time(&mut self, secs: u64) -> Result<(), ChainError> {
        let node = self.node.clone();
        self.run(move |rt, p| {
            rt.block_on(async {
                let err = |e| RpcBackend::error_for(&node, "evm_increaseTime", e);
                p.raw_request::<_, serde_json::Value>("evm_increaseTime".into(), [secs])
                    .await
                    .map_err(err)?;
                p.raw_request::<_, serde_json::Value>("evm_mine".into(), ())
                    .await
                    .map_err(err)?;
                Ok(())
            })
        })
    }

    fn start(
        rpc_url: &str,
        signer: Option<PrivateKeySigner>,
        account: Address,
        options: RpcOptions,
    ) -> Result<RpcBackend, ChainError> {
        use alloy::transports::http::reqwest;
        let url: reqwest::Url = rpc_url
            .parse()
            .map_err(|e| ChainError::Invalid(format!("RPC URL {rpc_url:?}: {e}")))?;
        let node = Node {
            shown: match (url.host_str(), url.port_or_known_default()) {
                (Some(h), Some(p)) => format!("{}://{h}:{p}", url.scheme()),
                _ => format!("{}://?", url.scheme()),
            },
            full: url.as_str().to_string(),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .build()
            .map_err(|e| ChainError::Rpc(format!("HTTP client: {e}")))?;
        let client = alloy::rpc::client::RpcClient::new_http_with_client(http, url);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        let signing = signer.is_some();
        let provider = match signer {
            Some(s) => ProviderBuilder::new()
                .wallet(EthereumWallet::from(s))
                .connect_client(client)
                .erased(),
            None => ProviderBuilder::new().connect_client(client).erased(),
        };
        let (tasks, rx) = std::sync::mpsc::channel::<RpcTask>();
        std::thread::Builder::new()
            .name("zkmed-rpc".into())
            .spawn(move || {
                for task in rx {
                    task(&rt, &provider);
                }
            })
            .map_err(|e| ChainError::Rpc(format!("RPC thread: {e}")))?;
        Ok(RpcBackend {
            tasks,
            account,
            signing,
            node,
            options,
        })
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&tokio::runtime::Runtime, &DynProvider) -> Result<T, ChainError> + Send + 'static,
    ) -> Result<T, ChainError> {
        let (reply, answer) = std::sync::mpsc::channel();
        let stopped = || ChainError::Rpc("the RPC thread stopped".into());
        self.tasks
            .send(Box::new(move |rt, p| {
                let _ = reply.send(f(rt, p));
            }))
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }

    /// What a failed request says: a transport failure is [`ChainError::Unreachable`]
    /// (naming the node and the cause), a revert its reason, anything else the node's error.
    fn error_for(node: &Node, call: &str, e: TransportError) -> ChainError {
        if matches!(e, alloy::transports::RpcError::Transport(_)) {
            ChainError::Unreachable(format!("{} ({call}): {}", node.shown, node.redact(&e)))
        } else {
            rpc_revert(call, e)
        }
    }
}

/// A node's URL, and how messages show it.
#[derive(Clone)]
struct Node {
    /// scheme://host:port
    shown: String,
    full: String,
}

impl Node {
    /// `e` and its causes, with the full URL (which may hold a key) shown as host and port.
    fn redact(&self, e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            let m = c.to_string();
            if !text.contains(&m) {
                text = format!("{text}: {m}");
            }
            cause = c.source();
        }
        text.replace(&self.full, &self.shown)
    }
}

type TransportError = alloy::transports::TransportError;

/// Runs the read `f` until it succeeds, fails with the node's own answer, or has failed
/// `1 + retries` times with a transport error (200 ms × attempt between tries).
async fn read_retrying<T, Fut>(
    retries: u32,
    mut f: impl FnMut() -> Fut,
) -> Result<T, TransportError>
where
    Fut: std::future::IntoFuture<Output = Result<T, TransportError>>,
{
    let mut attempt = 0u32;
    loop {
        match f().into_future().await {
            Err(alloy::transports::RpcError::Transport(_)) if attempt < retries => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                    .await;
            }
            other => return other,
        }
    }
}

impl Backend for RpcBackend {
    fn account(&self) -> Address {
        self.account
    }

    fn send(
        &mut self,
        call: &str,
        to: Option<Address>,
        data: Bytes,
    ) -> Result<Outcome, ChainError> {
        if !self.signing {
            return Err(ChainError::Invalid(format!(
                "{call}: this RPC connection is read-only (no key)"
            )));
        }
        let mut tx = TransactionRequest::default()
            .from(self.account)
            .input(data.into());
        tx = match to {
            Some(a) => tx.to(a),
            None => tx.into_create(),
        };
        let call = call.to_string();
        let (node, retries) = (self.node.clone(), self.options.read_retries);
        self.run(move |rt, p| {
            rt.block_on(async {
                let err = |e| RpcBackend::error_for(&node, &call, e);
                // Preflight (a read, retried) for the revert reason.
                read_retrying(retries, || p.call(tx.clone()))
                    .await
                    .map_err(err)?;
                // The gas limit: the node's estimate (every zkmed contract reverts on
                // failure, so the estimate executes the real path) plus a margin, because
                // the state can move between the estimate and the block: e.g. `accredit`
                // estimated in the same second as the last write of the issuer's `since`
                // rewrites an unchanged slot, and costs 2,800 gas more one second later.
                // Only the gas used is paid.
                let estimate = read_retrying(retries, || p.estimate_gas(tx.clone()))
                    .await
                    .map_err(err)?;
                let tx = tx.gas_limit(estimate + estimate / 5 + 10_000);
                // Sent once, never retried: it may have reached the node.
                let pending = p.send_transaction(tx).await.map_err(err)?;
                let hash = *pending.tx_hash();
                let r = pending
                    .with_timeout(Some(RECEIPT_WAIT))
                    .get_receipt()
                    .await
                    .map_err(|e| {
                        ChainError::Unreachable(format!(
                            "{} ({call}): no receipt for transaction {hash}: {}",
                            node.shown,
                            node.redact(&e)
                        ))
                    })?;
                if !r.status() {
                    return Err(ChainError::Failed {
                        call,
                        tx: r.transaction_hash.to_string(),
                    });
                }
                Ok(Outcome {
                    output: Bytes::new(),
                    gas_used: r.gas_used,
                    created: r.contract_address,
                })
            })
        })
    }

    fn call(&mut self, call: &str, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        let tx = TransactionRequest::default()
            .from(self.account)
            .to(to)
            .input(data.into());
        let call = call.to_string();
        let (node, retries) = (self.node.clone(), self.options.read_retries);
        self.run(move |rt, p| {
            rt.block_on(read_retrying(retries, || p.call(tx.clone())))
                .map_err(|e| RpcBackend::error_for(&node, &call, e))
        })
    }

    fn chain_id(&mut self) -> Result<u64, ChainError> {
        let (node, retries) = (self.node.clone(), self.options.read_retries);
        self.run(move |rt, p| {
            rt.block_on(read_retrying(retries, || p.get_chain_id()))
                .map_err(|e| RpcBackend::error_for(&node, "eth_chainId", e))
        })
    }

    fn logs(&mut self, address: Address, topic0: B256) -> Result<Vec<ChainLog>, ChainError> {
        let (node, retries) = (self.node.clone(), self.options.read_retries);
        let filter = alloy::rpc::types::Filter::new()
            .address(address)
            .event_signature(topic0)
            .from_block(0u64);
        self.run(move |rt, p| {
            let logs = rt
                .block_on(read_retrying(retries, || p.get_logs(&filter)))
                .map_err(|e| RpcBackend::error_for(&node, "eth_getLogs", e))?;
            logs.into_iter()
                .map(|l| {
                    Ok(ChainLog {
                        address: l.inner.address,
                        topics: l.inner.data.topics().to_vec(),
                        data: l.inner.data.data.clone(),
                        block: l.block_number.ok_or_else(|| {
                            ChainError::Rpc("eth_getLogs: a log without a block number".into())
                        })?,
                        tx_hash: l.transaction_hash.ok_or_else(|| {
                            ChainError::Rpc("eth_getLogs: a log without a transaction hash".into())
                        })?,
                    })
                })
                .collect()
        })
    }

    fn transaction_input(&mut self, tx: B256) -> Result<Bytes, ChainError> {
        let (node, retries) = (self.node.clone(), self.options.read_retries);
        self.run(move |rt, p| {
            let v: serde_json::Value = rt
                .block_on(read_retrying(retries, || {
                    p.raw_request::<_, serde_json::Value>("eth_getTransactionByHash".into(), [tx])
                }))
                .map_err(|e| RpcBackend::error_for(&node, "eth_getTransactionByHash", e))?;
            let input = v.get("input").and_then(|i| i.as_str()).ok_or_else(|| {
                ChainError::Rpc(format!("eth_getTransactionByHash {tx}: no input"))
            })?;
            input
                .parse::<Bytes>()
                .map_err(|e| ChainError::Rpc(format!("eth_getTransactionByHash {tx}: input: {e}")))
        })
    }

    fn timestamp(&mut self) -> Result<u64, ChainError> {
        let (node, retries) = (self.node.clone(), self.options.read_retries);
        self.run(move |rt, p| {
            let b = rt
                .block_on(read_retrying(retries, || {
                    p.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                }))
                .map_err(|e| RpcBackend::error_for(&node, "eth_getBlockByNumber", e))?;
            b.map(|b| b.header.timestamp)
                .ok_or_else(|| ChainError::Rpc("eth_getBlockByNumber: no latest block".into()))
        })
    }
}

fn rpc_revert(call: &str, e: alloy::transports::TransportError) -> ChainError {
    let reason = e
        .as_error_resp()
        .and_then(|r| r.as_revert_data())
        .map(|d| revert_reason(&d))
        .unwrap_or_else(|| e.to_string());
    ChainError::Call {
        call: call.into(),
        reason,
    }
}

/// The name of a zkmed contract's custom error, if `data` is one.
pub fn revert_reason(data: &[u8]) -> String {
    if let Ok(e) = ZkmedIdentity::ZkmedIdentityErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = IssuerRegistry::IssuerRegistryErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = AttestationVerifier::AttestationVerifierErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = GeneratedVerifier::ExistsV3VerifierErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = StateRegistry::StateRegistryErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = PoseidonT3::PoseidonT3Errors::abi_decode(data) {
        return format!("{e:?}");
    }
    format!("reverted: 0x{}", hex::encode(data))
}

fn decode_call_error(e: ChainError) -> ChainError {
    match e {
        ChainError::Call { call, reason } => {
            let decoded = reason
                .strip_prefix("reverted: 0x")
                .and_then(|h| hex::decode(h).ok())
                .map(|d| revert_reason(&d))
                .unwrap_or(reason);
            ChainError::Call {
                call,
                reason: decoded,
            }
        }
        other => other,
    }
}

/// zkmed's registries over any backend.
pub struct Registry<B: Backend> {
    pub backend: B,
    pub deployment: Deployment,
    /// Gas used by this handle's last transaction.
    pub last_gas: u64,
}

fn create(code: &Bytes, args: Vec<u8>) -> Bytes {
    let mut init = code.to_vec();
    init.extend(args);
    init.into()
}

impl<B: Backend> Registry<B> {
    /// Deploys the suite, governed by the backend's account.
    pub fn deploy(mut backend: B) -> Result<Registry<B>, ChainError> {
        let gov = backend.account();
        let created = |o: Outcome, what: &str| {
            o.created
                .ok_or_else(|| ChainError::Invalid(format!("{what}: no contract address")))
        };
        let issuers = created(
            backend.send(
                "deploy IssuerRegistry",
                None,
                create(
                    &IssuerRegistry::BYTECODE,
                    IssuerRegistry::constructorCall { governance: gov }.abi_encode(),
                ),
            )?,
            "IssuerRegistry",
        )?;
        let poseidon = created(
            backend.send("deploy PoseidonT3", None, PoseidonT3::BYTECODE.clone())?,
            "PoseidonT3",
        )?;
        let identity = created(
            backend.send(
                "deploy ZkmedIdentity",
                None,
                create(
                    &ZkmedIdentity::BYTECODE,
                    ZkmedIdentity::constructorCall {
                        issuerRegistry: issuers,
                        poseidonT3: poseidon,
                    }
                    .abi_encode(),
                ),
            )?,
            "ZkmedIdentity",
        )?;
        let state = created(
            backend.send(
                "deploy StateRegistry",
                None,
                create(
                    &StateRegistry::BYTECODE,
                    StateRegistry::constructorCall {
                        issuerRegistry: issuers,
                        poseidonT3: poseidon,
                    }
                    .abi_encode(),
                ),
            )?,
            "StateRegistry",
        )?;
        backend.send(
            "setStateRegistry",
            Some(issuers),
            IssuerRegistry::setStateRegistryCall { registry: state }
                .abi_encode()
                .into(),
        )?;
        let verifier = created(
            backend.send(
                "deploy AttestationVerifier",
                None,
                create(
                    &AttestationVerifier::BYTECODE,
                    AttestationVerifier::constructorCall {
                        governance: gov,
                        identityToken: identity,
                        stateRegistry: state,
                    }
                    .abi_encode(),
                ),
            )?,
            "AttestationVerifier",
        )?;
        Ok(Registry {
            backend,
            last_gas: 0,
            deployment: Deployment {
                issuers,
                identity,
                verifier,
                state,
                poseidon,
            },
        })
    }

    /// Reads the chain id: `Ok` when the chain answers (a readiness probe).
    pub fn ping(&mut self) -> Result<(), ChainError> {
        self.backend.chain_id().map(|_| ())
    }

    /// The account this registry handle acts as.
    pub fn backend_account(&self) -> Address {
        self.backend.account()
    }

    pub fn attach(backend: B, deployment: Deployment) -> Registry<B> {
        Registry {
            backend,
            deployment,
            last_gas: 0,
        }
    }

    /// Sends `c` to `to`; returns the gas used.
    fn tx<C: SolCall>(&mut self, name: &str, to: Address, c: C) -> Result<u64, ChainError> {
        let o = self.backend.send(name, Some(to), c.abi_encode().into())?;
        self.last_gas = o.gas_used;
        Ok(o.gas_used)
    }

    fn read<C: SolCall>(&mut self, name: &str, to: Address, c: C) -> Result<C::Return, ChainError> {
        let out = self.backend.call(name, to, c.abi_encode().into())?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::Call {
            call: name.into(),
            reason: format!("undecodable return: {e}"),
        })
    }

    pub fn accredit(&mut self, issuer: Address, name: &str) -> Result<u64, ChainError> {
        let to = self.deployment.issuers;
        self.tx(
            "accredit",
            to,
            IssuerRegistry::accreditCall {
                issuer,
                name: name.into(),
            },
        )
    }

    pub fn suspend(&mut self, issuer: Address, reason: &str) -> Result<u64, ChainError> {
        let to = self.deployment.issuers;
        self.tx(
            "suspend",
            to,
            IssuerRegistry::suspendCall {
                issuer,
                reason: reason.into(),
            },
        )
    }

    pub fn is_accredited(&mut self, issuer: Address) -> Result<bool, ChainError> {
        let to = self.deployment.issuers;
        self.read(
            "isAccredited",
            to,
            IssuerRegistry::isAccreditedCall { issuer },
        )
    }

    /// Mints `patient`'s identity token; returns its id.
    pub fn mint(
        &mut self,
        patient: Address,
        identity_commitment: &Fr,
        guardians: &[Address],
        threshold: u8,
    ) -> Result<U256, ChainError> {
        let to = self.deployment.identity;
        self.tx(
            "mint",
            to,
            ZkmedIdentity::mintCall {
                patient,
                commitment: fr_to_u256(identity_commitment),
                guardians: guardians.to_vec(),
                threshold,
            },
        )?;
        self.read("tokenOf", to, ZkmedIdentity::tokenOfCall::new((patient,)))
    }

    pub fn token_of_commitment(&mut self, idc: &Fr) -> Result<Option<U256>, ChainError> {
        let to = self.deployment.identity;
        let t = self.read(
            "tokenOfCommitment",
            to,
            ZkmedIdentity::tokenOfCommitmentCall::new((fr_to_u256(idc),)),
        )?;
        Ok((t != U256::ZERO).then_some(t))
    }

    /// The identity commitment `token` holds now (`None` if revoked or unknown).
    pub fn identity_commitment(&mut self, token: U256) -> Result<Option<Fr>, ChainError> {
        let to = self.deployment.identity;
        let c = self.read(
            "identityCommitment",
            to,
            ZkmedIdentity::identityCommitmentCall { tokenId: token },
        )?;
        Ok((c != U256::ZERO).then(|| u256_to_fr(c)).flatten())
    }

    pub fn propose_recovery(
        &mut self,
        token: U256,
        new_owner: Address,
        new_idc: &Fr,
    ) -> Result<u64, ChainError> {
        let siblings = self.identity_siblings(token)?;
        let to = self.deployment.identity;
        self.tx(
            "proposeRecovery",
            to,
            ZkmedIdentity::proposeRecoveryCall {
                tokenId: token,
                newOwner: new_owner,
                newCommitment: fr_to_u256(new_idc),
                siblings,
            },
        )
    }

    pub fn approve_recovery(
        &mut self,
        token: U256,
        new_owner: Address,
        new_idc: &Fr,
    ) -> Result<u64, ChainError> {
        let siblings = self.identity_siblings(token)?;
        let to = self.deployment.identity;
        self.tx(
            "approveRecovery",
            to,
            ZkmedIdentity::approveRecoveryCall {
                tokenId: token,
                newOwner: new_owner,
                newCommitment: fr_to_u256(new_idc),
                siblings,
            },
        )
    }
}

impl<B: Backend> Registry<B> {
    /// The owner of `token` voids every open recovery proposal; returns the gas used.
    pub fn cancel_recovery(&mut self, token: U256) -> Result<u64, ChainError> {
        let to = self.deployment.identity;
        self.tx(
            "cancelRecovery",
            to,
            ZkmedIdentity::cancelRecoveryCall { tokenId: token },
        )
    }

    /// The owner of `token` (the patient) allows or forbids `issuer` to anchor record
    /// commitments for it (the minting issuer is allowed until forbidden); returns the gas.
    pub fn set_issuer_authorised(
        &mut self,
        token: U256,
        issuer: Address,
        allowed: bool,
    ) -> Result<u64, ChainError> {
        let to = self.deployment.identity;
        self.tx(
            "setIssuerAuthorised",
            to,
            ZkmedIdentity::setIssuerAuthorisedCall {
                tokenId: token,
                issuer,
                allowed,
            },
        )
    }

    /// Whether the patient lets `issuer` anchor for `token`.
    pub fn is_authorised(&mut self, token: U256, issuer: Address) -> Result<bool, ChainError> {
        let to = self.deployment.identity;
        self.read(
            "isAuthorised",
            to,
            ZkmedIdentity::isAuthorisedCall {
                tokenId: token,
                issuer,
            },
        )
    }
}

impl<B: Backend> Registry<B> {
    /// Deploys a generated Groth16 verifier (its creation code, without constructor
    /// arguments: the suite's `AttestationVerifier` is appended as its `controller`) and
    /// registers it for `circuit` (governance only); returns its address and the gas of both
    /// transactions.
    pub fn install_verifier(
        &mut self,
        circuit: &str,
        creation_code: &Bytes,
    ) -> Result<(Address, u64), ChainError> {
        let init = create(
            creation_code,
            GeneratedVerifier::constructorCall {
                controller_: self.deployment.verifier,
            }
            .abi_encode(),
        );
        let created = self.backend.send("deploy verifier", None, init)?;
        let verifier = created
            .created
            .ok_or_else(|| ChainError::Invalid("verifier: no contract address".into()))?;
        let to = self.deployment.verifier;
        let reg = self.tx(
            "registerCircuit",
            to,
            AttestationVerifier::registerCircuitCall {
                circuit: circuit_id(circuit),
                verifier,
            },
        )?;
        Ok((verifier, created.gas_used + reg))
    }

    /// The verifier contract registered for `circuit` (where its prepared checks run).
    pub fn verifier_of(&mut self, circuit: &str) -> Result<Address, ChainError> {
        let to = self.deployment.verifier;
        let v = self.read(
            "verifiers",
            to,
            AttestationVerifier::verifiersCall::new((circuit_id(circuit),)),
        )?;
        if v == Address::ZERO {
            return Err(ChainError::Call {
                call: "verifiers".into(),
                reason: format!("UnknownCircuit: no verifier registered for {circuit:?}"),
            });
        }
        Ok(v)
    }

    fn check_call(
        att: &Attestation,
        query_hash: &Fr,
        challenge: &Fr,
        window_s: u64,
    ) -> Result<AttestationVerifier::checkCall, ChainError> {
        Ok(AttestationVerifier::checkCall {
            a: to_contract_attestation(att)?,
            expectedQueryHash: fr_to_u256(query_hash),
            expectedChallenge: fr_to_u256(challenge),
            window: window_s,
        })
    }

    /// The on-chain read-only check of `att`: `Ok(answer)`, or the contract's reason
    /// (`IdentityRootNotAccepted`, `StateRootNotAccepted`, `ChallengeMismatch`,
    /// `InvalidProof`, ...). `window_s` 0 accepts the current roots only.
    pub fn check(
        &mut self,
        att: &Attestation,
        query_hash: &Fr,
        challenge: &Fr,
        window_s: u64,
    ) -> Result<bool, ChainError> {
        let to = self.deployment.verifier;
        let c = Self::check_call(att, query_hash, challenge, window_s)?;
        self.read("check", to, c)
    }

    /// `check` sent as a transaction (what a contract pays to verify an attestation inside
    /// its own transaction); returns the gas used.
    pub fn check_as_transaction(
        &mut self,
        att: &Attestation,
        query_hash: &Fr,
        challenge: &Fr,
        window_s: u64,
    ) -> Result<u64, ChainError> {
        let to = self.deployment.verifier;
        let c = Self::check_call(att, query_hash, challenge, window_s)?;
        self.tx("check", to, c)
    }

    /// This account's request value for `nonce` on this deployment: what a one-time claim
    /// it consumes must be proven with (the proof's challenge is `H(scope, request)`;
    /// [`crate::submitter_challenge`] with the chain's id, the suite's
    /// `AttestationVerifier` and this account).
    pub fn submitter_challenge(&mut self, nonce: U256) -> Result<Fr, ChainError> {
        let chain_id = self.backend.chain_id()?;
        Ok(crate::client::submitter_challenge(
            chain_id,
            self.deployment.verifier,
            self.backend.account(),
            nonce,
        ))
    }

    /// Whether the scoped nullifier `nullifier` is spent in `scope`.
    pub fn consumed(&mut self, scope: &Fr, nullifier: &Fr) -> Result<bool, ChainError> {
        let to = self.deployment.verifier;
        self.read(
            "consumed",
            to,
            AttestationVerifier::consumedCall::new((fr_to_u256(scope), fr_to_u256(nullifier))),
        )
    }

    /// `check` with the challenge `H(scope, submitter_challenge(nonce))` (this account's),
    /// then spend the attestation's scoped nullifier in `scope`; returns the gas used. A copy
    /// of the transaction sent from another account reverts (`ChallengeMismatch`).
    pub fn consume_with_nonce(
        &mut self,
        att: &Attestation,
        query_hash: &Fr,
        nonce: U256,
        scope: &Fr,
        window_s: u64,
    ) -> Result<u64, ChainError> {
        let to = self.deployment.verifier;
        self.tx(
            "consume",
            to,
            AttestationVerifier::consumeCall {
                a: to_contract_attestation(att)?,
                expectedQueryHash: fr_to_u256(query_hash),
                nonce,
                scope: fr_to_u256(scope),
                window: window_s,
            },
        )
    }

    /// Tries to transfer `token` from this account (soul-bound: it reverts).
    pub fn transfer(&mut self, token: U256, to_owner: Address) -> Result<u64, ChainError> {
        let to = self.deployment.identity;
        let from = self.backend.account();
        self.tx(
            "transferFrom",
            to,
            ZkmedIdentity::transferFromCall {
                from,
                to: to_owner,
                tokenId: token,
            },
        )
    }

    pub fn owner_of(&mut self, token: U256) -> Result<Address, ChainError> {
        let to = self.deployment.identity;
        self.read("ownerOf", to, ZkmedIdentity::ownerOfCall { tokenId: token })
    }

    /// Revokes `token` (its issuer or governance; its identity-tree leaf is emptied, the
    /// path rebuilt from the chain's events); returns the gas used.
    pub fn revoke(&mut self, token: U256) -> Result<u64, ChainError> {
        let siblings = self.identity_siblings(token)?;
        let to = self.deployment.identity;
        self.tx(
            "revoke",
            to,
            ZkmedIdentity::revokeCall {
                tokenId: token,
                siblings,
            },
        )
    }
}

/// A verifier's registered request: the question, the scope and the request value its
/// attestations must answer (the challenge is `H(scope, request)`), for one circuit
/// (`checkPrepared`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub circuit: String,
    pub query_hash: Fr,
    pub scope: Fr,
    /// The request value (for a one-time claim: [`Registry::submitter_challenge`]).
    pub request: Fr,
}

impl Request {
    /// The request's id in its circuit's verifier (what `PreparedAttestation.request`
    /// names): `keccak256(abi.encode(queryHash, scope, request))`. It is stored per
    /// registrant, under [`Request::key`].
    pub fn id(&self) -> alloy::primitives::B256 {
        use alloy::sol_types::SolValue;
        alloy::primitives::keccak256(
            (
                fr_to_u256(&self.query_hash),
                fr_to_u256(&self.scope),
                fr_to_u256(&self.request),
            )
                .abi_encode(),
        )
    }

    /// Where `registrant`'s registration of this request is stored in the circuit's
    /// verifier (`requests(key)`): `keccak256(abi.encode(registrant, id))`. A request
    /// answers only its registrant's `checkPrepared`.
    pub fn key(&self, registrant: Address) -> alloy::primitives::B256 {
        use alloy::sol_types::SolValue;
        alloy::primitives::keccak256((registrant, self.id()).abi_encode())
    }

    /// The challenge the attestations prove: `H(scope, request)`.
    pub fn challenge(&self) -> Fr {
        zkmed_state::note::challenge(self.scope, self.request)
    }
}

/// Prepared checks: one call and one scalar multiplication per verification, in the
/// circuit's own verifier contract, with the root-window lookups (see `PreparedChecks` and
/// `docs/chain.md`).
impl<B: Backend> Registry<B> {
    /// Registers `request` with its circuit's verifier for this account (anyone may, for
    /// itself: only this account's prepared checks answer it); returns the gas used.
    pub fn register_request(&mut self, request: &Request) -> Result<u64, ChainError> {
        let to = self.verifier_of(&request.circuit)?;
        self.tx(
            "registerRequest",
            to,
            GeneratedVerifier::registerRequestCall {
                queryHash: fr_to_u256(&request.query_hash),
                scope: fr_to_u256(&request.scope),
                request: fr_to_u256(&request.request),
            },
        )
    }

    /// Precomputes the term of the root pair (anyone may; it vouches for nothing: every
    /// check still looks the roots up); returns the gas used.
    pub fn prepare_roots(
        &mut self,
        circuit: &str,
        identity_root: &Fr,
        state_root: &Fr,
    ) -> Result<u64, ChainError> {
        let to = self.verifier_of(circuit)?;
        self.tx(
            "prepareRoots",
            to,
            GeneratedVerifier::prepareRootsCall {
                identityRoot: fr_to_u256(identity_root),
                stateRoot: fr_to_u256(state_root),
            },
        )
    }

    /// The contract's view of `att` as a prepared attestation for `request`: the roots'
    /// and the request's terms as the chain computes them. Returns the circuit's verifier
    /// too.
    fn prepared_attestation(
        &mut self,
        att: &Attestation,
        request: &Request,
    ) -> Result<(Address, PreparedAttestation), ChainError> {
        if att.circuit != request.circuit {
            return Err(ChainError::Invalid(format!(
                "the attestation is a {} proof, the request is for {}",
                att.circuit, request.circuit
            )));
        }
        let full = to_contract_attestation(att)?;
        let verifier = self.verifier_of(&request.circuit)?;
        let roots_term = self.read(
            "rootsTerm",
            verifier,
            GeneratedVerifier::rootsTermCall {
                identityRoot: full.identityRoot,
                stateRoot: full.stateRoot,
            },
        )?;
        let request_term = self.read(
            "requestTerm",
            verifier,
            GeneratedVerifier::requestTermCall {
                queryHash: fr_to_u256(&request.query_hash),
                scope: fr_to_u256(&request.scope),
                request: fr_to_u256(&request.request),
            },
        )?;
        Ok((
            verifier,
            PreparedAttestation {
                request: request.id(),
                requestTerm: request_term,
                rootsTerm: roots_term,
                identityRoot: full.identityRoot,
                stateRoot: full.stateRoot,
                nullifier: full.nullifier,
                answer: full.answer,
                proof: full.proof,
            },
        ))
    }

    /// The read-only prepared check of `att` for `request` (registered by this account),
    /// with roots accepted within `window_s` (0: current only): `Ok(answer)` or the
    /// contract's reason (`RootsNotPrepared`, `UnknownRequest`, `IdentityRootNotAccepted`,
    /// `StateRootNotAccepted`, `InvalidProof`, ...).
    pub fn check_prepared(
        &mut self,
        att: &Attestation,
        request: &Request,
        window_s: u64,
    ) -> Result<bool, ChainError> {
        let (to, a) = self.prepared_attestation(att, request)?;
        self.read(
            "checkPrepared",
            to,
            GeneratedVerifier::checkPreparedCall {
                a,
                window: window_s,
            },
        )
    }

    /// `check_prepared` sent as a transaction (what a contract pays to verify one
    /// attestation inside its own transaction); returns the gas used.
    pub fn check_prepared_as_transaction(
        &mut self,
        att: &Attestation,
        request: &Request,
        window_s: u64,
    ) -> Result<u64, ChainError> {
        let (to, a) = self.prepared_attestation(att, request)?;
        self.tx(
            "checkPrepared",
            to,
            GeneratedVerifier::checkPreparedCall {
                a,
                window: window_s,
            },
        )
    }

    /// The prepared check of `request` (registered by this account, whose request value
    /// must be [`Registry::submitter_challenge`]`(nonce)`), then spend the attestation's
    /// scoped nullifier in the request's scope; returns the gas used.
    pub fn consume_prepared_with_nonce(
        &mut self,
        att: &Attestation,
        request: &Request,
        nonce: U256,
        window_s: u64,
    ) -> Result<u64, ChainError> {
        let expected = self.submitter_challenge(nonce)?;
        if request.request != expected {
            return Err(ChainError::Invalid(format!(
                "the request value is not this account's for nonce {nonce} \
                 (submitter_challenge: {expected}); a consume is bound to its submitter"
            )));
        }
        let (_, a) = self.prepared_attestation(att, request)?;
        let to = self.deployment.verifier;
        self.tx(
            "consumePrepared",
            to,
            AttestationVerifier::consumePreparedCall {
                circuit: circuit_id(&request.circuit),
                a: a.into(),
                queryHash: fr_to_u256(&request.query_hash),
                nonce,
                scope: fr_to_u256(&request.scope),
                window: window_s,
            },
        )
    }
}

/// Either backend, chosen at run time (`--rpc URL` or the embedded default).
pub enum AnyBackend {
    Rpc(RpcBackend),
    Embedded(EmbeddedBackend),
}

impl Backend for AnyBackend {
    fn account(&self) -> Address {
        match self {
            AnyBackend::Rpc(b) => b.account(),
            AnyBackend::Embedded(b) => b.account(),
        }
    }
    fn send(
        &mut self,
        call: &str,
        to: Option<Address>,
        data: Bytes,
    ) -> Result<Outcome, ChainError> {
        match self {
            AnyBackend::Rpc(b) => b.send(call, to, data),
            AnyBackend::Embedded(b) => b.send(call, to, data),
        }
    }
    fn call(&mut self, call: &str, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        match self {
            AnyBackend::Rpc(b) => b.call(call, to, data),
            AnyBackend::Embedded(b) => b.call(call, to, data),
        }
    }
    fn chain_id(&mut self) -> Result<u64, ChainError> {
        match self {
            AnyBackend::Rpc(b) => b.chain_id(),
            AnyBackend::Embedded(b) => b.chain_id(),
        }
    }
    fn logs(&mut self, address: Address, topic0: B256) -> Result<Vec<ChainLog>, ChainError> {
        match self {
            AnyBackend::Rpc(b) => b.logs(address, topic0),
            AnyBackend::Embedded(b) => b.logs(address, topic0),
        }
    }
    fn transaction_input(&mut self, tx: B256) -> Result<Bytes, ChainError> {
        match self {
            AnyBackend::Rpc(b) => b.transaction_input(tx),
            AnyBackend::Embedded(b) => b.transaction_input(tx),
        }
    }
    fn timestamp(&mut self) -> Result<u64, ChainError> {
        match self {
            AnyBackend::Rpc(b) => b.timestamp(),
            AnyBackend::Embedded(b) => b.timestamp(),
        }
    }
}
