//! Gas per anchored patient update (issue 15): `N` updates anchored through
//! `StateRegistry.anchorBatch`, split into transactions of at most [`MAX_TX_CALLDATA`] bytes
//! of calldata, each update publishing its 32-byte nullifier in the calldata (data
//! availability included). What `zkmed bench anchoring --batch N [--json]` runs.
//!
//! The figures assume the fork both chains run: revm's default (Osaka) and anvil's
//! default (latest: Osaka), i.e. Prague's EIP-7623 calldata floor (a transaction pays at
//! least 21,000 + 10 gas per calldata token, 4 tokens per non-zero byte and 1 per zero byte)
//! is in force; [`calldata_floor_gas`] computes it and the tests check the receipts against it.

use crate::backend::{Backend, EmbeddedBackend, Registry};
use crate::embedded::EmbeddedChain;
use crate::error::ChainError;
use crate::state::anchor_batch_call;
use alloy::primitives::Address;
use alloy::sol_types::SolCall;
use ark_ff::PrimeField;
use zkmed_core::Fr;
use zkmed_state::IndexedTree;

/// The most calldata one transaction carries (128 KiB: nodes' default transaction-size limit).
pub const MAX_TX_CALLDATA: usize = 128 * 1024;

/// `anchorBatch`'s calldata besides the nullifiers: selector, five head words, the length.
pub const ANCHOR_CALL_OVERHEAD: usize = 4 + 6 * 32;

/// The most nullifiers one `anchorBatch` transaction carries within [`MAX_TX_CALLDATA`].
pub const MAX_NULLIFIERS_PER_TX: usize = (MAX_TX_CALLDATA - ANCHOR_CALL_OVERHEAD) / 32;

/// What anchoring `batch` updates cost.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnchoringReport {
    /// Patient updates anchored (one nullifier each).
    pub batch: usize,
    /// Transactions used.
    pub txs: usize,
    pub nullifiers_per_tx: Vec<usize>,
    pub calldata_bytes_per_tx: Vec<usize>,
    /// Each transaction's receipt gas (base, calldata and execution).
    pub gas_per_tx: Vec<u64>,
    /// Each transaction's EIP-7623 floor (21,000 + 10 × calldata tokens).
    pub calldata_floor_gas_per_tx: Vec<u64>,
    pub total_gas: u64,
    /// `total_gas / batch`.
    pub gas_per_update: f64,
    /// The chain that ran it.
    pub chain: String,
}

/// One planned `anchorBatch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedBatch {
    pub note_root: Fr,
    pub note_count: u32,
    pub prev_spent_root: Fr,
    pub new_spent_root: Fr,
    pub nullifiers: Vec<Fr>,
}

impl PlannedBatch {
    /// The transaction's calldata.
    pub fn calldata(&self) -> Vec<u8> {
        anchor_batch_call(
            &self.note_root,
            self.note_count,
            &self.prev_spent_root,
            &self.new_spent_root,
            &self.nullifiers,
        )
        .abi_encode()
    }
}

fn pseudo_random(domain: &str, i: u64) -> Fr {
    let mut pre = domain.as_bytes().to_vec();
    pre.extend_from_slice(&i.to_be_bytes());
    Fr::from_be_bytes_mod_order(alloy::primitives::keccak256(pre).as_slice())
}

/// The `i`-th benchmark nullifier (uniform-looking field elements, like real ones).
pub fn bench_nullifier(i: u64) -> Fr {
    pseudo_random("zkmed bench nullifier", i)
}

/// `updates` nullifiers inserted, in order, into the empty spent set, split into as few
/// transactions as [`MAX_NULLIFIERS_PER_TX`] allows, evenly.
pub fn plan(updates: usize) -> Result<Vec<PlannedBatch>, ChainError> {
    plan_from(&mut IndexedTree::new(), 0, updates)
}

/// [`plan`] continuing `spent` (whose root the chain holds), nullifiers from `first`.
pub fn plan_from(
    spent: &mut IndexedTree,
    first: u64,
    updates: usize,
) -> Result<Vec<PlannedBatch>, ChainError> {
    if updates == 0 {
        return Err(ChainError::Invalid("a batch of 0 updates".into()));
    }
    let txs = updates.div_ceil(MAX_NULLIFIERS_PER_TX);
    let per = updates.div_ceil(txs);
    let mut out = Vec::with_capacity(txs);
    let mut next = first;
    let mut left = updates;
    while left > 0 {
        let n = per.min(left);
        let prev = spent.root();
        let nullifiers: Vec<Fr> = (0..n as u64).map(|k| bench_nullifier(next + k)).collect();
        for x in &nullifiers {
            spent
                .insert(*x)
                .map_err(|e| ChainError::Invalid(format!("spent set: {e}")))?;
        }
        out.push(PlannedBatch {
            note_root: pseudo_random("zkmed bench note root", next),
            note_count: n as u32,
            prev_spent_root: prev,
            new_spent_root: spent.root(),
            nullifiers,
        });
        next += n as u64;
        left -= n;
    }
    Ok(out)
}

/// EIP-7623's floor for a transaction with `calldata`: `21,000 + 10 × (zero bytes + 4 ×
/// non-zero bytes)`.
pub fn calldata_floor_gas(calldata: &[u8]) -> u64 {
    let zeros = calldata.iter().filter(|b| **b == 0).count() as u64;
    let tokens = zeros + 4 * (calldata.len() as u64 - zeros);
    21_000 + 10 * tokens
}

/// Anchors `batch` updates on a fresh in-memory embedded chain (deploy, accredit one issuer,
/// [`plan`], one `anchorBatch` per planned transaction) and reports the gas.
pub fn anchoring(batch: usize) -> Result<AnchoringReport, ChainError> {
    let chain = std::sync::Arc::new(std::sync::Mutex::new(EmbeddedChain::in_memory()));
    let gov = EmbeddedBackend::new(chain, Address::repeat_byte(0x01));
    let issuer = gov.as_account(Address::repeat_byte(0x02));
    anchoring_on(
        gov,
        issuer,
        batch,
        "embedded revm (Osaka rules, EIP-7623 floor)",
    )
}

/// [`anchoring`] on any chain: `gov` deploys and accredits `issuer`, which anchors.
pub fn anchoring_on<B: Backend>(
    gov: B,
    issuer: B,
    batch: usize,
    chain: &str,
) -> Result<AnchoringReport, ChainError> {
    let planned = plan(batch)?;
    let issuer_address = issuer.account();
    let mut g = Registry::deploy(gov)?;
    g.accredit(issuer_address, "bench issuer")?;
    let mut r = Registry::attach(issuer, g.deployment);
    let mut report = AnchoringReport {
        batch,
        txs: planned.len(),
        nullifiers_per_tx: Vec::new(),
        calldata_bytes_per_tx: Vec::new(),
        gas_per_tx: Vec::new(),
        calldata_floor_gas_per_tx: Vec::new(),
        total_gas: 0,
        gas_per_update: 0.0,
        chain: chain.to_string(),
    };
    for b in &planned {
        let gas = r.anchor_state_batch(
            &b.note_root,
            b.note_count,
            &b.prev_spent_root,
            &b.new_spent_root,
            &b.nullifiers,
        )?;
        let data = b.calldata();
        report.nullifiers_per_tx.push(b.nullifiers.len());
        report.calldata_bytes_per_tx.push(data.len());
        report
            .calldata_floor_gas_per_tx
            .push(calldata_floor_gas(&data));
        report.gas_per_tx.push(gas);
        report.total_gas += gas;
    }
    let last = planned.last().expect("at least one transaction");
    if r.spent_root()? != last.new_spent_root {
        return Err(ChainError::Invalid(
            "the chain's spent root is not the planned one".into(),
        ));
    }
    report.gas_per_update = report.total_gas as f64 / batch as f64;
    Ok(report)
}
