//! An in-memory model of the anchored state: the identity tree and the issuers' note trees,
//! the spent set, the issuers tree, and the root histories with a clock (docs/state.md).
//! It is what the chain and the issuers hold together, in one process: for tests, the
//! demo's fixtures and benchmarks. It answers a verifier's root questions exactly as the
//! contracts do (`RootSource`).

use crate::anchored::{AnchoredState, ANCHORED_STATE_VERSION};
use crate::error::{Result, StateError};
use crate::indexed::IndexedTree;
use crate::note::global_root;
use crate::tree::MerkleTree;
use crate::{IDENTITY_SHAPE, ISSUERS_SHAPE, NOTE_SHAPE};
use ark_ff::{BigInteger, PrimeField, Zero};
use std::collections::HashMap;
use zkmed_core::field::Fr;
use zkmed_core::roots::{RootSource, RootSourceError, RootStatus};

type Key = Vec<u8>;

fn key(x: &Fr) -> Key {
    x.into_bigint().to_bytes_be()
}

#[derive(Clone, Debug, Default)]
struct History {
    current: Option<Key>,
    /// root → (created, superseded)
    roots: HashMap<Key, (u64, Option<u64>)>,
}

impl History {
    fn record(&mut self, root: &Fr, now: u64) {
        let k = key(root);
        if self.current.as_ref() == Some(&k) {
            return;
        }
        if let Some(old) = self.current.take() {
            if let Some(e) = self.roots.get_mut(&old) {
                e.1 = Some(now);
            }
        }
        self.roots.insert(k.clone(), (now, None));
        self.current = Some(k);
    }

    fn status(&self, root: &Fr, now: u64, not_before: u64) -> RootStatus {
        let k = key(root);
        if self.current.as_ref() == Some(&k) {
            return RootStatus::Current;
        }
        match self.roots.get(&k) {
            None => RootStatus::Unknown,
            Some((created, _)) if *created < not_before => RootStatus::Refused(format!(
                "recorded at t={created}, before an issuer's suspension at t={not_before}"
            )),
            Some((_, Some(superseded))) => RootStatus::Superseded {
                ago_s: now.saturating_sub(*superseded),
            },
            Some((_, None)) => RootStatus::Unknown,
        }
    }
}

#[derive(Clone, Debug)]
struct Issuer {
    notes: MerkleTree,
    next: u64,
    suspended: bool,
}

/// The chain and every issuer, in memory.
#[derive(Clone, Debug)]
pub struct LocalState {
    now: u64,
    identities: MerkleTree,
    next_identity: u64,
    identity_history: History,
    issuers: Vec<Issuer>,
    issuers_tree: MerkleTree,
    spent: IndexedTree,
    state_history: History,
    last_suspension: u64,
}

impl Default for LocalState {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalState {
    /// Empty trees at time 1,000,000.
    pub fn new() -> LocalState {
        let mut s = LocalState {
            now: 1_000_000,
            identities: MerkleTree::new(IDENTITY_SHAPE).expect("shape"),
            next_identity: 0,
            identity_history: History::default(),
            issuers: Vec::new(),
            issuers_tree: MerkleTree::new(ISSUERS_SHAPE).expect("shape"),
            spent: IndexedTree::new(),
            state_history: History::default(),
            last_suspension: 0,
        };
        s.identity_history.record(&s.identities.root(), s.now);
        s.state_history.record(&s.state_root(), s.now);
        s
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn advance(&mut self, secs: u64) {
        self.now += secs;
    }

    pub fn identity_root(&self) -> Fr {
        self.identities.root()
    }

    pub fn spent_root(&self) -> Fr {
        self.spent.root()
    }

    pub fn state_root(&self) -> Fr {
        global_root(self.issuers_tree.root(), self.spent.root())
    }

    pub fn spent(&self) -> &IndexedTree {
        &self.spent
    }

    /// Mints: appends `idc` to the identity tree; returns its index.
    pub fn add_identity(&mut self, idc: Fr) -> Result<u64> {
        let i = self.next_identity;
        self.identities.set(i, idc)?;
        self.next_identity += 1;
        self.identity_history
            .record(&self.identities.root(), self.now);
        Ok(i)
    }

    /// Recovery (a new commitment) or revocation (`0`).
    pub fn replace_identity(&mut self, index: u64, idc: Fr) -> Result<()> {
        if index >= self.next_identity {
            return Err(StateError::Refused(format!("no identity at index {index}")));
        }
        self.identities.set(index, idc)?;
        self.identity_history
            .record(&self.identities.root(), self.now);
        Ok(())
    }

    /// Accredits an issuer: its slot in the issuers tree.
    pub fn add_issuer(&mut self) -> Result<usize> {
        let slot = self.issuers.len();
        if slot as u64 >= ISSUERS_SHAPE.capacity() {
            return Err(StateError::Full {
                index: slot as u64,
                capacity: ISSUERS_SHAPE.capacity(),
            });
        }
        self.issuers.push(Issuer {
            notes: MerkleTree::new(NOTE_SHAPE)?,
            next: 0,
            suspended: false,
        });
        // An issuer with no batch yet contributes its empty note tree's root.
        let root = self.issuers[slot].notes.root();
        self.issuers_tree.set(slot as u64, root)?;
        self.record_state();
        Ok(slot)
    }

    fn issuer(&mut self, slot: usize) -> Result<&mut Issuer> {
        self.issuers
            .get_mut(slot)
            .ok_or_else(|| StateError::Refused(format!("no issuer in slot {slot}")))
    }

    fn record_state(&mut self) {
        let root = self.state_root();
        self.state_history.record(&root, self.now);
    }

    /// Governance suspends an issuer: its leaf becomes 0 and every older global root is
    /// refused.
    pub fn suspend(&mut self, slot: usize) -> Result<()> {
        self.issuer(slot)?.suspended = true;
        self.issuers_tree.set(slot as u64, Fr::zero())?;
        self.last_suspension = self.now;
        self.record_state();
        Ok(())
    }

    /// Reinstates an issuer: its leaf is its note root again.
    pub fn reinstate(&mut self, slot: usize) -> Result<()> {
        let i = self.issuer(slot)?;
        i.suspended = false;
        let root = i.notes.root();
        self.issuers_tree.set(slot as u64, root)?;
        self.record_state();
        Ok(())
    }

    /// One batch of issuer `slot`: appends `notes` (returns their indexes) and spends
    /// `nullifiers`, all or nothing.
    pub fn anchor(&mut self, slot: usize, notes: &[Fr], nullifiers: &[Fr]) -> Result<Vec<u64>> {
        if self.issuer(slot)?.suspended {
            return Err(StateError::Refused(format!("issuer {slot} is suspended")));
        }
        let mut spent = self.spent.clone();
        for n in nullifiers {
            spent.insert(*n)?;
        }
        let i = self.issuer(slot)?;
        let mut idx = Vec::with_capacity(notes.len());
        for n in notes {
            i.notes.set(i.next, *n)?;
            idx.push(i.next);
            i.next += 1;
        }
        let root = i.notes.root();
        self.spent = spent;
        self.issuers_tree.set(slot as u64, root)?;
        self.record_state();
        Ok(idx)
    }

    /// The patient's witness against the CURRENT roots.
    pub fn witness(
        &self,
        identity_index: u64,
        slot: usize,
        note_index: u64,
        rho: Fr,
    ) -> Result<AnchoredState> {
        let issuer = self
            .issuers
            .get(slot)
            .ok_or_else(|| StateError::Refused(format!("no issuer in slot {slot}")))?;
        Ok(AnchoredState {
            version: ANCHORED_STATE_VERSION,
            rho,
            identity_root: self.identity_root(),
            identity_path: self.identities.path(identity_index)?,
            state_root: self.state_root(),
            note_path: issuer.notes.path(note_index)?,
            issuers_path: self.issuers_tree.path(slot as u64)?,
            spent_root: self.spent.root(),
            non_membership: self
                .spent
                .non_membership(&crate::note::state_nullifier(rho))?,
        })
    }
}

impl RootSource for LocalState {
    fn identity_root(&self, root: &Fr) -> std::result::Result<RootStatus, RootSourceError> {
        Ok(self.identity_history.status(root, self.now, 0))
    }

    fn state_root(&self, root: &Fr) -> std::result::Result<RootStatus, RootSourceError> {
        Ok(self
            .state_history
            .status(root, self.now, self.last_suspension))
    }

    fn describe(&self) -> String {
        "in-memory state (tests and demos)".into()
    }
}
