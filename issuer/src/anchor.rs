//! Anchoring batches: the [`Anchor`] trait, and [`LedgerAnchor`], an append-only local
//! ledger file with the chain's rules (one global spent root; a batch is accepted only on
//! top of the current spent root, so the same batch can never be anchored twice).

use crate::error::{IssuerError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zkmed_core::field::{serde_fr, serde_fr_vec, Fr};
use zkmed_state::IndexedTree;

/// What one anchoring transaction carries (docs/state.md): the issuer's new note root and
/// note count, the spent roots before and after, and the nullifiers in insertion order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchAnchor {
    pub note_root: Fr,
    pub note_count: u64,
    pub prev_spent_root: Fr,
    pub new_spent_root: Fr,
    pub nullifiers: Vec<Fr>,
}

/// One batch in the chain's log (any issuer's), at position `seq` (0-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBatch {
    pub seq: u64,
    /// The anchoring issuer (its chain account or ledger name).
    pub issuer: String,
    #[serde(with = "serde_fr")]
    pub note_root: Fr,
    pub note_count: u64,
    #[serde(with = "serde_fr")]
    pub prev_spent_root: Fr,
    #[serde(with = "serde_fr")]
    pub new_spent_root: Fr,
    #[serde(with = "serde_fr_vec")]
    pub nullifiers: Vec<Fr>,
    pub tx: String,
}

/// Where batches are anchored. Implementations: [`LedgerAnchor`] (a local file) and, over
/// the chain crate's `Registry`, the on-chain `anchorStateBatch`.
pub trait Anchor: Send {
    /// The identity the chain records for this issuer's batches.
    fn issuer(&self) -> String;
    /// Sends one batch and waits until it is on chain; returns the transaction id.
    /// [`IssuerError::StaleSpentRoot`] when `prev_spent_root` is not the chain's spent root.
    fn anchor(&mut self, batch: &BatchAnchor) -> Result<String>;
    /// The chain's batch log from position `from`, every issuer's, in order.
    fn batches_from(&mut self, from: u64) -> Result<Vec<ChainBatch>>;
}

/// The ledger file: one JSON [`ChainBatch`] per line, each appended and fsync'd.
pub struct FileLedger {
    path: PathBuf,
    batches: Vec<ChainBatch>,
    spent_root: Fr,
}

impl FileLedger {
    /// Opens (or creates, mode 0600) the ledger at `path`. A torn last line (a crash while
    /// appending, before the append was acknowledged) is ignored.
    pub fn open(path: &Path) -> Result<FileLedger> {
        crate::store::touch_private(path)?;
        let f = std::fs::File::open(path).map_err(|e| IssuerError::io(path, e))?;
        let mut batches: Vec<ChainBatch> = Vec::new();
        let mut spent_root = IndexedTree::new().root();
        for line in std::io::BufReader::new(f).lines() {
            let line = line.map_err(|e| IssuerError::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let Ok(b) = serde_json::from_str::<ChainBatch>(&line) else {
                break;
            };
            if b.seq != batches.len() as u64 || b.prev_spent_root != spent_root {
                return Err(IssuerError::Corrupt(format!(
                    "{}: batch {} does not follow the log",
                    path.display(),
                    b.seq
                )));
            }
            spent_root = b.new_spent_root;
            batches.push(b);
        }
        Ok(FileLedger {
            path: path.to_path_buf(),
            batches,
            spent_root,
        })
    }

    /// The current spent root.
    pub fn spent_root(&self) -> Fr {
        self.spent_root
    }

    /// Every batch, in order.
    pub fn batches(&self) -> &[ChainBatch] {
        &self.batches
    }

    fn append(&mut self, issuer: &str, b: &BatchAnchor) -> Result<String> {
        if b.prev_spent_root != self.spent_root {
            return Err(IssuerError::StaleSpentRoot {
                chain: crate::codec::short(&self.spent_root),
                batch: crate::codec::short(&b.prev_spent_root),
            });
        }
        let seq = self.batches.len() as u64;
        let mut entry = ChainBatch {
            seq,
            issuer: issuer.to_string(),
            note_root: b.note_root,
            note_count: b.note_count,
            prev_spent_root: b.prev_spent_root,
            new_spent_root: b.new_spent_root,
            nullifiers: b.nullifiers.clone(),
            tx: String::new(),
        };
        let body = serde_json::to_vec(&entry)
            .map_err(|e| IssuerError::Anchor(format!("serializing a batch: {e}")))?;
        entry.tx = format!("0x{}", hex::encode(Sha256::digest(&body)));
        let mut line = serde_json::to_vec(&entry)
            .map_err(|e| IssuerError::Anchor(format!("serializing a batch: {e}")))?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| IssuerError::io(&self.path, e))?;
        f.write_all(&line)
            .and_then(|()| f.sync_all())
            .map_err(|e| IssuerError::io(&self.path, e))?;
        self.spent_root = b.new_spent_root;
        let tx = entry.tx.clone();
        self.batches.push(entry);
        Ok(tx)
    }
}

/// [`Anchor`] over a [`FileLedger`], as issuer `issuer`. Clones (and [`LedgerAnchor::as_issuer`])
/// share the ledger, so several issuers in one process anchor to the same log.
#[derive(Clone)]
pub struct LedgerAnchor {
    ledger: Arc<Mutex<FileLedger>>,
    issuer: String,
}

impl LedgerAnchor {
    /// The file name under the data directory.
    pub const FILE: &'static str = "ledger.jsonl";

    pub fn open(path: &Path, issuer: &str) -> Result<LedgerAnchor> {
        Ok(LedgerAnchor {
            ledger: Arc::new(Mutex::new(FileLedger::open(path)?)),
            issuer: issuer.to_string(),
        })
    }

    /// Another issuer on the same ledger.
    pub fn as_issuer(&self, issuer: &str) -> LedgerAnchor {
        LedgerAnchor {
            ledger: self.ledger.clone(),
            issuer: issuer.to_string(),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, FileLedger>> {
        self.ledger
            .lock()
            .map_err(|_| IssuerError::Anchor("ledger lock poisoned".into()))
    }

    /// Every batch on the ledger.
    pub fn all_batches(&self) -> Result<Vec<ChainBatch>> {
        Ok(self.lock()?.batches().to_vec())
    }
}

impl Anchor for LedgerAnchor {
    fn issuer(&self) -> String {
        self.issuer.clone()
    }
    fn anchor(&mut self, batch: &BatchAnchor) -> Result<String> {
        let issuer = self.issuer.clone();
        self.lock()?.append(&issuer, batch)
    }
    fn batches_from(&mut self, from: u64) -> Result<Vec<ChainBatch>> {
        let l = self.lock()?;
        Ok(l.batches().iter().skip(from as usize).cloned().collect())
    }
}
