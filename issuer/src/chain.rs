//! Anchoring on chain: [`ChainAnchor`] over the chain crate's `Registry`
//! (`StateRegistry.anchorBatch`, the `Batch` log), on the embedded chain under the data
//! directory or on a node.

use crate::anchor::{Anchor, BatchAnchor, ChainBatch};
use crate::error::{IssuerError, Result};
use std::path::Path;
use std::sync::{Arc, Mutex};
use zkmed_chain::backend::{Address, Backend, EmbeddedBackend, Registry};
use zkmed_chain::embedded::EmbeddedChain;
use zkmed_chain::{ChainError, Deployment};

fn chain(e: ChainError) -> IssuerError {
    IssuerError::Anchor(e.to_string())
}

/// [`Anchor`] over a `Registry` acting as an accredited issuer's account. The issuer's id is
/// its account address; other issuers' batches are named `slot:<n>`.
pub struct ChainAnchor<B: Backend> {
    registry: Registry<B>,
    slot: u32,
    id: String,
}

impl<B: Backend> ChainAnchor<B> {
    /// Fails when the registry's account has no slot in the issuers tree (not accredited).
    pub fn new(mut registry: Registry<B>) -> Result<ChainAnchor<B>> {
        let account = registry.backend_account();
        let slot = registry
            .issuer_slot(account)
            .map_err(chain)?
            .ok_or_else(|| {
                IssuerError::Config(format!(
                    "account {account} is not an accredited issuer (no slot in the issuers tree)"
                ))
            })?;
        Ok(ChainAnchor {
            registry,
            slot,
            id: account.to_string(),
        })
    }

    pub fn registry(&mut self) -> &mut Registry<B> {
        &mut self.registry
    }
}

impl<B: Backend + Send> Anchor for ChainAnchor<B> {
    fn issuer(&self) -> String {
        self.id.clone()
    }

    fn anchor(&mut self, b: &BatchAnchor) -> Result<String> {
        let current = self.registry.spent_root().map_err(chain)?;
        if current != b.prev_spent_root {
            return Err(IssuerError::StaleSpentRoot {
                chain: crate::codec::short(&current),
                batch: crate::codec::short(&b.prev_spent_root),
            });
        }
        let count: u32 = b
            .note_count
            .try_into()
            .map_err(|_| IssuerError::Anchor("note count above 2^32".into()))?;
        let gas = self
            .registry
            .anchor_state_batch(
                &b.note_root,
                count,
                &b.prev_spent_root,
                &b.new_spent_root,
                &b.nullifiers,
            )
            .map_err(chain)?;
        Ok(format!("gas {gas}"))
    }

    fn batches_from(&mut self, from: u64) -> Result<Vec<ChainBatch>> {
        let all = self.registry.state_batches().map_err(chain)?;
        Ok(all
            .into_iter()
            .enumerate()
            .skip(from as usize)
            .map(|(i, b)| ChainBatch {
                seq: i as u64,
                issuer: if b.slot == self.slot {
                    self.id.clone()
                } else {
                    format!("slot:{}", b.slot)
                },
                note_root: b.note_root,
                note_count: b.note_count as u64,
                prev_spent_root: b.prev_spent_root,
                new_spent_root: b.new_spent_root,
                nullifiers: b.nullifiers,
                tx: b.tx_hash.to_string(),
            })
            .collect())
    }
}

/// The governance account of a standalone embedded chain.
pub const EMBEDDED_GOVERNANCE: Address = Address::repeat_byte(0x01);
/// The issuer's account on it.
pub const EMBEDDED_ISSUER: Address = Address::repeat_byte(0x02);

/// The embedded chain in `dir` (created, deployed and this issuer accredited on first use;
/// the deployment in `dir/deployment.json`), anchoring as [`EMBEDDED_ISSUER`].
pub fn open_embedded(dir: &Path) -> Result<ChainAnchor<EmbeddedBackend>> {
    crate::store::create_private_dir(dir)?;
    let c = EmbeddedChain::open(&dir.join(EmbeddedChain::FILE)).map_err(chain)?;
    let gov = EmbeddedBackend::new(Arc::new(Mutex::new(c)), EMBEDDED_GOVERNANCE);
    let file = dir.join("deployment.json");
    let deployment = if file.exists() {
        Deployment::load(&file).map_err(chain)?
    } else {
        let mut g = Registry::deploy(gov.clone()).map_err(chain)?;
        g.accredit(EMBEDDED_ISSUER, "zkmed issuer").map_err(chain)?;
        g.deployment.save(&file).map_err(chain)?;
        g.deployment
    };
    ChainAnchor::new(Registry::attach(
        gov.as_account(EMBEDDED_ISSUER),
        deployment,
    ))
}
