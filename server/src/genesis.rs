//! A fresh issuer anchors its patients' genesis record states in ONE batch, and hands each
//! patient its proof of anchoring (docs/state.md): what `zkmed demo` does on the embedded
//! chain, and what tests do on a node. A production issuer runs `zkmed issuer serve`.

use anyhow::{anyhow, bail, Context, Result};
use rand::seq::SliceRandom;
use rand::{CryptoRng, RngCore};
use zkmed_chain::backend::{Backend, Registry, U256};
use zkmed_core::field::Fr;
use zkmed_state::anchored::ANCHORED_STATE_VERSION;
use zkmed_state::note::{genesis_nullifier, note_tag, state_note, state_nullifier};
use zkmed_state::{AnchoredState, IndexedTree, MerkleTree, ISSUERS_SHAPE, NOTE_SHAPE};

/// One patient of the batch: its identity token (minted), identity commitment, record
/// commitment and the note's secret blinding `rho`.
pub struct GenesisPatient {
    pub token: U256,
    pub identity_commitment: Fr,
    pub record_commitment: Fr,
    pub rho: Fr,
}

impl Drop for GenesisPatient {
    fn drop(&mut self) {
        zkmed_core::poseidon::zeroize_fr(&mut self.rho);
    }
}

/// What the batch cost and each patient's anchored state (in the order given).
pub struct GenesisBatch {
    pub gas: u64,
    pub states: Vec<AnchoredState>,
}

/// Anchors `patients`' genesis states from `issuer` (an accredited issuer with no earlier
/// batch: its note tree starts empty) in one `anchorBatch`: the notes `H(R, H(rho, 0))` in
/// a random order, each identity's genesis nullifier `H(idc, 2)` inserted into the spent
/// set (replayed from every batch on chain). Returns each patient's anchored state against
/// the chain's roots right after the batch, checked natively.
pub fn anchor_genesis<B: Backend, R: RngCore + CryptoRng>(
    issuer: &mut Registry<B>,
    patients: &[GenesisPatient],
    rng: &mut R,
) -> Result<GenesisBatch> {
    if patients.is_empty() {
        bail!("no patients to anchor");
    }
    let slot = issuer
        .issuer_slot(issuer.backend_account())?
        .ok_or_else(|| anyhow!("the issuer has no slot in the issuers tree (not accredited?)"))?;
    let mut order: Vec<usize> = (0..patients.len()).collect();
    order.shuffle(rng);
    let mut notes = MerkleTree::new(NOTE_SHAPE)?;
    let mut note_index = vec![0u64; patients.len()];
    for (index, &i) in order.iter().enumerate() {
        let p = &patients[i];
        note_index[i] = index as u64;
        notes.set(
            index as u64,
            state_note(p.record_commitment, note_tag(p.rho)),
        )?;
    }
    let mut spent = IndexedTree::new();
    for b in issuer.state_batches()? {
        for n in b.nullifiers {
            spent.insert(n)?;
        }
    }
    let prev_spent = spent.root();
    if prev_spent != issuer.spent_root()? {
        bail!("the spent set replayed from the chain's batches does not match its spent root");
    }
    let nullifiers: Vec<Fr> = order
        .iter()
        .map(|&i| genesis_nullifier(patients[i].identity_commitment))
        .collect();
    for n in &nullifiers {
        spent.insert(*n)?;
    }
    let gas = issuer.anchor_state_batch(
        &notes.root(),
        patients.len() as u32,
        &prev_spent,
        &spent.root(),
        &nullifiers,
    )?;
    // The issuers tree from its leaves on chain (one issuer per slot; the others' leaves
    // are read too, so the path is right whoever else is accredited).
    let mut issuers = MerkleTree::new(ISSUERS_SHAPE)?;
    for s in 0..=slot {
        let leaf = issuer.issuer_leaf(s)?;
        issuers.set(s as u64, leaf)?;
    }
    if issuers.root() != issuer.issuers_root()? {
        bail!("the issuers tree rebuilt from its leaves does not match the chain's root (issuers in higher slots?)");
    }
    let (identity_root, state_root, spent_root) = (
        issuer.identity_root()?,
        issuer.global_root()?,
        issuer.spent_root()?,
    );
    let mut states = Vec::with_capacity(patients.len());
    for (i, p) in patients.iter().enumerate() {
        let state = AnchoredState {
            version: ANCHORED_STATE_VERSION,
            rho: p.rho,
            identity_root,
            identity_path: issuer.identity_path(p.token)?,
            state_root,
            note_path: notes.path(note_index[i])?,
            issuers_path: issuers.path(slot as u64)?,
            spent_root,
            non_membership: spent.non_membership(&state_nullifier(p.rho))?,
        };
        state
            .check(p.identity_commitment, p.record_commitment)
            .with_context(|| format!("patient {i}'s anchored state"))?;
        states.push(state);
    }
    Ok(GenesisBatch { gas, states })
}
