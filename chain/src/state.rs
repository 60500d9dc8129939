//! The identity tree (`ZkmedIdentity`) and the anchored record state (`StateRegistry`) over
//! any backend: roots, windows, paths rebuilt from events, batches decoded from calldata
//! (docs/state.md; docs/chain.md, "Identity tree and anchored state").

use crate::backend::{Backend, Registry};
use crate::bindings::{StateRegistry, ZkmedIdentity};
use crate::client::{fr_to_u256, u256_to_fr};
use crate::error::ChainError;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::{SolCall, SolEvent};
use zkmed_core::Fr;
use zkmed_state::{MerklePath, MerkleTree, IDENTITY_SHAPE};

/// One anchored batch, as the chain holds it (the `Batch` event and the transaction's
/// calldata).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateBatch {
    /// The issuer's slot in the issuers tree.
    pub slot: u32,
    pub note_root: Fr,
    pub note_count: u32,
    pub prev_spent_root: Fr,
    pub new_spent_root: Fr,
    /// In insertion order.
    pub nullifiers: Vec<Fr>,
    /// The global root after the batch.
    pub global_root: Fr,
    pub block: u64,
    pub tx_hash: B256,
}

/// A global state root's history (`StateRegistry.globalRootTimes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalRootTimes {
    pub created_at: u64,
    /// `None` while current.
    pub superseded_at: Option<u64>,
    /// The suspension epoch it was created in: once superseded, a root of an older epoch is
    /// refused.
    pub epoch: u64,
}

fn fr(x: U256, what: &str) -> Result<Fr, ChainError> {
    u256_to_fr(x).ok_or_else(|| ChainError::Invalid(format!("{what}: not a field element")))
}

fn word(x: &Fr) -> B256 {
    B256::from(fr_to_u256(x).to_be_bytes::<32>())
}

/// The packed nullifiers of `anchorBatch` (32 bytes each, big-endian).
pub fn pack_nullifiers(nullifiers: &[Fr]) -> Bytes {
    let mut out = Vec::with_capacity(32 * nullifiers.len());
    for n in nullifiers {
        out.extend_from_slice(&fr_to_u256(n).to_be_bytes::<32>());
    }
    out.into()
}

/// The `anchorBatch` call (what [`Registry::anchor_state_batch`] sends).
pub fn anchor_batch_call(
    note_root: &Fr,
    note_count: u32,
    prev_spent_root: &Fr,
    new_spent_root: &Fr,
    nullifiers: &[Fr],
) -> StateRegistry::anchorBatchCall {
    StateRegistry::anchorBatchCall {
        noteRoot: word(note_root),
        noteCount: note_count,
        prevSpentRoot: word(prev_spent_root),
        newSpentRoot: word(new_spent_root),
        nullifiers: pack_nullifiers(nullifiers),
    }
}

impl<B: Backend> Registry<B> {
    fn read_state<C: SolCall>(&mut self, name: &str, c: C) -> Result<C::Return, ChainError> {
        let out = self
            .backend
            .call(name, self.deployment.state, c.abi_encode().into())?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::Call {
            call: name.into(),
            reason: format!("undecodable return: {e}"),
        })
    }

    fn read_identity<C: SolCall>(&mut self, name: &str, c: C) -> Result<C::Return, ChainError> {
        let out = self
            .backend
            .call(name, self.deployment.identity, c.abi_encode().into())?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::Call {
            call: name.into(),
            reason: format!("undecodable return: {e}"),
        })
    }

    // ------------------------------------------------------------------ identity tree

    /// The identity tree's current root.
    pub fn identity_root(&mut self) -> Result<Fr, ChainError> {
        let r = self.read_identity("identityRoot", ZkmedIdentity::identityRootCall {})?;
        fr(r, "identityRoot")
    }

    /// The identity tree rebuilt from the `IdentityLeaf` events (checked against
    /// [`Registry::identity_root`]).
    pub fn identity_tree(&mut self) -> Result<MerkleTree, ChainError> {
        let logs = self.backend.logs(
            self.deployment.identity,
            ZkmedIdentity::IdentityLeaf::SIGNATURE_HASH,
        )?;
        let mut tree = MerkleTree::new(IDENTITY_SHAPE)
            .map_err(|e| ChainError::Invalid(format!("identity tree: {e}")))?;
        for l in logs {
            let ev = ZkmedIdentity::IdentityLeaf::decode_raw_log(l.topics.iter().copied(), &l.data)
                .map_err(|e| ChainError::Invalid(format!("IdentityLeaf event: {e}")))?;
            let index: u64 = ev
                .index
                .try_into()
                .map_err(|_| ChainError::Invalid("IdentityLeaf: index out of range".into()))?;
            tree.set(index, fr(ev.leaf, "IdentityLeaf leaf")?)
                .map_err(|e| ChainError::Invalid(format!("identity tree: {e}")))?;
        }
        let on_chain = self.identity_root()?;
        if tree.root() != on_chain {
            return Err(ChainError::Invalid(format!(
                "the identity tree rebuilt from IdentityLeaf events has root {}, the contract {}",
                tree.root(),
                on_chain
            )));
        }
        Ok(tree)
    }

    /// The leaf index of `token` in the identity tree (`token - 1`).
    pub fn identity_index(&mut self, token: U256) -> Result<u64, ChainError> {
        let i = self.read_identity(
            "identityIndex",
            ZkmedIdentity::identityIndexCall { tokenId: token },
        )?;
        i.try_into()
            .map_err(|_| ChainError::Invalid("identityIndex out of range".into()))
    }

    /// `token`'s path in the identity tree (against [`Registry::identity_root`]).
    pub fn identity_path(&mut self, token: U256) -> Result<MerklePath, ChainError> {
        let index = self.identity_index(token)?;
        self.identity_tree()?
            .path(index)
            .map_err(|e| ChainError::Invalid(format!("identity path: {e}")))
    }

    /// The 20 siblings of `token`'s leaf (index `token - 1`) for a recovery or revocation;
    /// zeros for an index outside the tree (the contract then says why it refuses).
    pub(crate) fn identity_siblings(&mut self, token: U256) -> Result<[U256; 20], ChainError> {
        let mut out = [U256::ZERO; 20];
        let index = match u64::try_from(token) {
            Ok(t) if t >= 1 && t <= IDENTITY_SHAPE.capacity() => t - 1,
            _ => return Ok(out),
        };
        let path = self
            .identity_tree()?
            .path(index)
            .map_err(|e| ChainError::Invalid(format!("identity path: {e}")))?;
        for (o, level) in out.iter_mut().zip(&path.siblings) {
            *o = fr_to_u256(&level[0]);
        }
        Ok(out)
    }

    /// Whether `root` is the current identity root or was superseded at most `window_s`
    /// seconds ago (`0`: current only).
    pub fn is_identity_root_accepted(
        &mut self,
        root: &Fr,
        window_s: u64,
    ) -> Result<bool, ChainError> {
        self.read_identity(
            "isIdentityRootAccepted",
            ZkmedIdentity::isIdentityRootAcceptedCall {
                root: fr_to_u256(root),
                window: window_s,
            },
        )
    }

    /// When `root` stopped being the identity root (`None`: it is current, or never was).
    pub fn identity_root_superseded_at(&mut self, root: &Fr) -> Result<Option<u64>, ChainError> {
        let at = self.read_identity(
            "identityRootSupersededAt",
            ZkmedIdentity::identityRootSupersededAtCall {
                root: fr_to_u256(root),
            },
        )?;
        Ok((at != 0).then_some(at))
    }

    // ------------------------------------------------------------------ anchored state

    /// Anchors one batch from this account (an accredited issuer) in one transaction: its new
    /// note root and count, the spent set's move from `prev_spent_root` (must be current,
    /// else `StaleSpentRoot`) to `new_spent_root` by inserting `nullifiers` (published in the
    /// calldata). Returns the gas used (the receipt's: calldata included).
    pub fn anchor_state_batch(
        &mut self,
        note_root: &Fr,
        note_count: u32,
        prev_spent_root: &Fr,
        new_spent_root: &Fr,
        nullifiers: &[Fr],
    ) -> Result<u64, ChainError> {
        let c = anchor_batch_call(
            note_root,
            note_count,
            prev_spent_root,
            new_spent_root,
            nullifiers,
        );
        let o = self.backend.send(
            "anchorBatch",
            Some(self.deployment.state),
            c.abi_encode().into(),
        )?;
        self.last_gas = o.gas_used;
        Ok(o.gas_used)
    }

    /// The spent set's current root.
    pub fn spent_root(&mut self) -> Result<Fr, ChainError> {
        let r = self.read_state("spentRoot", StateRegistry::spentRootCall {})?;
        fr(r, "spentRoot")
    }

    /// The global state root `G = H(issuers_root, spent_root)`.
    pub fn global_root(&mut self) -> Result<Fr, ChainError> {
        let r = self.read_state("globalRoot", StateRegistry::globalRootCall {})?;
        fr(r, "globalRoot")
    }

    /// The issuers tree's root.
    pub fn issuers_root(&mut self) -> Result<Fr, ChainError> {
        let r = self.read_state("issuersRoot", StateRegistry::issuersRootCall {})?;
        fr(r, "issuersRoot")
    }

    /// `issuer`'s slot in the issuers tree (`None` before its first accreditation).
    pub fn issuer_slot(&mut self, issuer: Address) -> Result<Option<u32>, ChainError> {
        let r = self.read_state("issuerSlot", StateRegistry::issuerSlotCall { issuer })?;
        Ok(r.assigned.then_some(r.slot))
    }

    /// The issuers tree's leaf at `slot` (the issuer's current note root; 0 while it is
    /// suspended or before its first batch).
    pub fn issuer_leaf(&mut self, slot: u32) -> Result<Fr, ChainError> {
        let r = self.read_state("issuerLeaf", StateRegistry::issuerLeafCall { slot })?;
        fr(r, "issuerLeaf")
    }

    /// Whether `root` is the current global root, or was created in the current suspension
    /// epoch and superseded at most `window_s` seconds ago (`0`: current only).
    pub fn is_state_root_accepted(&mut self, root: &Fr, window_s: u64) -> Result<bool, ChainError> {
        self.read_state(
            "isStateRootAccepted",
            StateRegistry::isStateRootAcceptedCall {
                root: fr_to_u256(root),
                window: window_s,
            },
        )
    }

    /// A global root's history: `None` when it never was one.
    pub fn global_root_times(&mut self, root: &Fr) -> Result<Option<GlobalRootTimes>, ChainError> {
        let t = self.read_state(
            "globalRootTimes",
            StateRegistry::globalRootTimesCall {
                root: fr_to_u256(root),
            },
        )?;
        Ok((t.createdAt != 0).then_some(GlobalRootTimes {
            created_at: t.createdAt,
            superseded_at: (t.supersededAt != 0).then_some(t.supersededAt),
            epoch: t.epoch,
        }))
    }

    /// The current suspension epoch (incremented by every issuer suspension).
    pub fn suspension_epoch(&mut self) -> Result<u64, ChainError> {
        self.read_state("suspensionEpoch", StateRegistry::suspensionEpochCall {})
    }

    /// Every anchored batch, oldest first, from the `Batch` events and the transactions'
    /// calldata (the nullifiers; their hash is checked against the event's).
    pub fn state_batches(&mut self) -> Result<Vec<StateBatch>, ChainError> {
        let state = self.deployment.state;
        let logs = self
            .backend
            .logs(state, StateRegistry::Batch::SIGNATURE_HASH)?;
        let mut out = Vec::with_capacity(logs.len());
        for l in logs {
            let ev = StateRegistry::Batch::decode_raw_log(l.topics.iter().copied(), &l.data)
                .map_err(|e| ChainError::Invalid(format!("Batch event: {e}")))?;
            let input = self.backend.transaction_input(l.tx_hash)?;
            let call = StateRegistry::anchorBatchCall::abi_decode(&input).map_err(|e| {
                ChainError::Invalid(format!(
                    "transaction {}: not a direct anchorBatch call ({e}); batches anchored \
                     through another contract are not decoded",
                    l.tx_hash
                ))
            })?;
            if alloy::primitives::keccak256(&call.nullifiers) != ev.nullifiersHash {
                return Err(ChainError::Invalid(format!(
                    "transaction {}: its nullifiers do not hash to the Batch event's",
                    l.tx_hash
                )));
            }
            let nullifiers = call
                .nullifiers
                .chunks(32)
                .map(|c| fr(U256::from_be_slice(c), "nullifier"))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(StateBatch {
                slot: ev.slot,
                note_root: fr(ev.noteRoot, "noteRoot")?,
                note_count: ev.noteCount,
                prev_spent_root: fr(U256::from_be_bytes(call.prevSpentRoot.0), "prevSpentRoot")?,
                new_spent_root: fr(ev.newSpentRoot, "newSpentRoot")?,
                nullifiers,
                global_root: fr(ev.globalRoot, "globalRoot")?,
                block: l.block,
                tx_hash: l.tx_hash,
            });
        }
        Ok(out)
    }
}
