//! The embedded chain: the same contracts running in-process on revm, with the state kept
//! in a JSON file under the data directory, so `zkmed demo` works with no node installed
//! and survives a restart. No signatures, no gas price: accounts are addresses and every
//! transaction is executed and committed at once (one block per transaction, block time =
//! wall-clock time, so "current within N seconds" means what it says).

use crate::error::ChainError;
use alloy::primitives::{Address, Bytes, B256, U256};
use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::TxKind;
use revm::{Context, ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainContext};
use std::path::{Path, PathBuf};

/// What a transaction did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub output: Bytes,
    pub gas_used: u64,
    /// The deployed contract, for a creation.
    pub created: Option<Address>,
}

/// A log a transaction emitted, as a node's `eth_getLogs` gives it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainLog {
    pub address: Address,
    pub topics: Vec<B256>,
    pub data: Bytes,
    pub block: u64,
    pub tx_hash: B256,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Persisted {
    format: String,
    block: u64,
    db: CacheDB<EmptyDB>,
    /// Every log, in order (older files have none).
    #[serde(default)]
    logs: Vec<ChainLog>,
    /// The input of each transaction that emitted a log (what `eth_getTransactionByHash`
    /// would give for it), by transaction hash.
    #[serde(default)]
    inputs: std::collections::BTreeMap<B256, Bytes>,
}

const FORMAT: &str = "zkmed-embedded-chain/1";

/// An in-process EVM with persisted state. A chain opened from a file holds an exclusive
/// lock on `<file>.lock` until it is dropped, so two processes never interleave writes (the
/// second one to open gets a clear error instead of losing the first one's transactions).
pub struct EmbeddedChain {
    db: CacheDB<EmptyDB>,
    block: u64,
    /// Seconds added to the wall clock ([`EmbeddedChain::advance_time`]; not persisted).
    time_offset: u64,
    path: Option<PathBuf>,
    _lock: Option<std::fs::File>,
    logs: Vec<ChainLog>,
    inputs: std::collections::BTreeMap<B256, Bytes>,
}

/// Takes the chain file's lock, or says who holds it.
fn lock(path: &Path) -> Result<std::fs::File, ChainError> {
    let io = |e: std::io::Error| ChainError::Invalid(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let lock_path = path.with_extension("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(ChainError::Invalid(format!(
            "the embedded chain {} is in use by another process (lock {}); try again when it is done",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl EmbeddedChain {
    /// The chain's file name inside a data directory.
    pub const FILE: &'static str = "embedded-chain.json";

    /// The embedded chain's id (`block.chainid`; EIP-155), as `eth_chainId` would say.
    pub const CHAIN_ID: u64 = 1337;

    /// The chain's id ([`EmbeddedChain::CHAIN_ID`]).
    pub fn chain_id(&self) -> u64 {
        Self::CHAIN_ID
    }

    /// Moves this handle's clock `secs` seconds ahead of the wall clock (for tests of
    /// time-outs; like anvil's `evm_increaseTime`). Not persisted.
    pub fn advance_time(&mut self, secs: u64) {
        self.time_offset += secs;
    }

    /// The chain's clock (the next block's timestamp): the wall clock plus
    /// [`EmbeddedChain::advance_time`]'s offset.
    pub fn timestamp(&self) -> u64 {
        now() + self.time_offset
    }

    /// A fresh chain kept only in memory.
    pub fn in_memory() -> EmbeddedChain {
        EmbeddedChain {
            db: CacheDB::new(EmptyDB::default()),
            block: 0,
            time_offset: 0,
            path: None,
            _lock: None,
            logs: Vec::new(),
            inputs: Default::default(),
        }
    }

    /// Opens the chain stored at `path` (a new one if the file does not exist).
    pub fn open(path: &Path) -> Result<EmbeddedChain, ChainError> {
        let held = lock(path)?;
        if !path.exists() {
            return Ok(EmbeddedChain {
                path: Some(path.to_path_buf()),
                _lock: Some(held),
                ..EmbeddedChain::in_memory()
            });
        }
        let bytes = std::fs::read(path)
            .map_err(|e| ChainError::Invalid(format!("{}: {e}", path.display())))?;
        let p: Persisted = serde_json::from_slice(&bytes).map_err(|e| {
            ChainError::Invalid(format!(
                "{}: not an embedded chain file: {e}",
                path.display()
            ))
        })?;
        if p.format != FORMAT {
            return Err(ChainError::Invalid(format!(
                "{}: format {:?}, this build reads {FORMAT:?}",
                path.display(),
                p.format
            )));
        }
        Ok(EmbeddedChain {
            db: p.db,
            block: p.block,
            time_offset: 0,
            path: Some(path.to_path_buf()),
            _lock: Some(held),
            logs: p.logs,
            inputs: p.inputs,
        })
    }

    /// Writes the state (temporary file + rename), if this chain has a file.
    pub fn save(&self) -> Result<(), ChainError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let p = Persisted {
            format: FORMAT.into(),
            block: self.block,
            db: self.db.clone(),
            logs: self.logs.clone(),
            inputs: self.inputs.clone(),
        };
        let bytes = serde_json::to_vec(&p).map_err(|e| ChainError::Invalid(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        let io = |e: std::io::Error| ChainError::Invalid(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// An EVM over this chain's state, at its current block, with wall-clock block time.
    fn evm(
        &mut self,
    ) -> impl ExecuteCommitEvm<
        Tx = TxEnv,
        ExecutionResult = ExecutionResult,
        Error = revm::context_interface::result::EVMError<std::convert::Infallible>,
    > + '_ {
        let (block, ts) = (self.block, now() + self.time_offset);
        Context::mainnet()
            .modify_cfg_chained(|c| {
                c.disable_nonce_check = true;
                c.chain_id = Self::CHAIN_ID;
            })
            .modify_block_chained(|b| {
                b.number = U256::from(block);
                b.timestamp = U256::from(ts);
            })
            .with_db(&mut self.db)
            .build_mainnet()
    }

    fn tx(from: Address, kind: TxKind, data: Bytes) -> Result<TxEnv, ChainError> {
        TxEnv::builder()
            .caller(from)
            .chain_id(Some(Self::CHAIN_ID))
            .kind(kind)
            .data(data)
            .gas_limit(16_000_000)
            .gas_price(0)
            .build()
            .map_err(|e| ChainError::Invalid(format!("transaction: {e:?}")))
    }

    fn outcome(r: ExecutionResult, call: &str) -> Result<Outcome, ChainError> {
        match r {
            ExecutionResult::Success { output, gas, .. } => {
                let gas_used = gas.tx_gas_used();
                Ok(match output {
                    Output::Call(b) => Outcome {
                        output: b,
                        gas_used,
                        created: None,
                    },
                    Output::Create(b, a) => Outcome {
                        output: b,
                        gas_used,
                        created: a,
                    },
                })
            }
            ExecutionResult::Revert { output, .. } => Err(ChainError::Call {
                call: call.into(),
                reason: format!("reverted: 0x{}", hex::encode(&output)),
            }),
            ExecutionResult::Halt { reason, .. } => Err(ChainError::Call {
                call: call.into(),
                reason: format!("halted: {reason:?}"),
            }),
        }
    }

    /// Executes and commits a transaction (`to = None`: contract creation with `data` as
    /// init code), in a new block; saves the state.
    pub fn transact(
        &mut self,
        call: &str,
        from: Address,
        to: Option<Address>,
        data: Bytes,
    ) -> Result<Outcome, ChainError> {
        self.block += 1;
        let kind = to.map(TxKind::Call).unwrap_or(TxKind::Create);
        // No signatures here: a transaction's hash is keccak256(block, from, to, input).
        let tx_hash = {
            let mut pre = Vec::with_capacity(72 + data.len());
            pre.extend_from_slice(&self.block.to_be_bytes());
            pre.extend_from_slice(from.as_slice());
            pre.extend_from_slice(to.unwrap_or(Address::ZERO).as_slice());
            pre.extend_from_slice(&data);
            alloy::primitives::keccak256(pre)
        };
        let input = data.clone();
        let tx = Self::tx(from, kind, data)?;
        let r = self
            .evm()
            .transact_commit(tx)
            .map_err(|e| ChainError::Call {
                call: call.into(),
                reason: format!("{e:?}"),
            })?;
        if let ExecutionResult::Success { logs, .. } = &r {
            if !logs.is_empty() {
                self.inputs.insert(tx_hash, input);
            }
            for l in logs {
                self.logs.push(ChainLog {
                    address: l.address,
                    topics: l.data.topics().to_vec(),
                    data: l.data.data.clone(),
                    block: self.block,
                    tx_hash,
                });
            }
        }
        let out = Self::outcome(r, call)?;
        self.save()?;
        Ok(out)
    }

    /// The logs `address` emitted with first topic `topic0`, oldest first.
    pub fn logs(&self, address: Address, topic0: B256) -> Vec<ChainLog> {
        self.logs
            .iter()
            .filter(|l| l.address == address && l.topics.first() == Some(&topic0))
            .cloned()
            .collect()
    }

    /// The input of transaction `tx` (kept for the transactions that emitted a log).
    pub fn transaction_input(&self, tx: B256) -> Option<Bytes> {
        self.inputs.get(&tx).cloned()
    }

    /// The current block number (one block per transaction).
    pub fn block_number(&self) -> u64 {
        self.block
    }

    /// Executes a read-only call against the current state (nothing is committed), from
    /// the zero address.
    pub fn call(&mut self, call: &str, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.call_from(call, Address::ZERO, to, data)
    }

    /// A read-only call from `from` (`msg.sender` in the callee).
    pub fn call_from(
        &mut self,
        call: &str,
        from: Address,
        to: Address,
        data: Bytes,
    ) -> Result<Bytes, ChainError> {
        let tx = Self::tx(from, TxKind::Call(to), data)?;
        let r = self.evm().transact(tx).map_err(|e| ChainError::Call {
            call: call.into(),
            reason: format!("{e:?}"),
        })?;
        Self::outcome(r.result, call).map(|o| o.output)
    }
}
