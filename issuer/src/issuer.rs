//! The issuer's core: transitions, batching, anchoring and recovery (docs/issuer.md).

use crate::anchor::{Anchor, BatchAnchor, ChainBatch};
use crate::api::*;
use crate::auth::{recover_signer, Identities};
use crate::codec::{key, short, Key};
use crate::error::{IssuerError, Result};
use crate::store::{BatchStatus, IssuerStore, NewBatch, NewUpdate, StoredBatch, UpdateStatus};
use rand::seq::SliceRandom;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;
use zkmed_core::encoding::Kind;
use zkmed_core::field::Fr;
use zkmed_records::tree::Frontier;
use zkmed_records::{import_bundle, random_salt, record_commitment, OpenedRecord};
use zkmed_state::note::{genesis_nullifier, note_tag, state_note, state_nullifier};
use zkmed_state::{IndexedTree, MerkleTree, NOTE_SHAPE};

/// How the issuer batches.
#[derive(Clone, Debug)]
pub struct IssuerOptions {
    /// Where pause markers are written (see `pause_at`).
    pub data_dir: PathBuf,
    /// A batch is anchored once this many updates are queued...
    pub batch_size: usize,
    /// ...or when the oldest queued update has waited this long.
    pub batch_interval: Duration,
    /// Testing hook (crash tests): at this named point (`after_accept`, `after_prepare`,
    /// `after_sent_mark`, `after_send`, `after_anchor`) the process writes
    /// `<data_dir>/paused.<point>` and stops there for good, to be killed.
    pub pause_at: Option<String>,
}

struct Core {
    store: Box<dyn IssuerStore>,
    /// This issuer's anchored notes.
    notes: MerkleTree,
    note_count: u64,
    /// The spent set as of the last chain batch mirrored.
    spent: IndexedTree,
    chain_len: u64,
    /// Every anchored note root (every issuer's).
    note_roots: HashSet<Key>,
    /// Accepted, not yet anchored updates: nullifier → update id.
    unanchored: HashMap<Key, String>,
    queued: usize,
    oldest_queued: Option<Instant>,
}

#[derive(Default)]
struct Wake {
    kicked: bool,
    shutdown: bool,
}

/// An issuer: its store, trees, anchor and identities.
pub struct Issuer {
    id: String,
    opts: IssuerOptions,
    core: Mutex<Core>,
    anchor: Mutex<Box<dyn Anchor>>,
    identities: Mutex<Box<dyn Identities>>,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    /// Serializes batch steps (the batcher and explicit `step` calls).
    stepping: Mutex<()>,
}

fn empty_root() -> Fr {
    Frontier::empty().root()
}

fn poisoned<T>(_: T) -> IssuerError {
    IssuerError::Corrupt("a lock was poisoned by a panic".into())
}

impl Issuer {
    /// Loads the state from `store`, rebuilds the trees, checks them against the last
    /// anchored roots, and reconciles open batches with the chain.
    pub fn open(
        opts: IssuerOptions,
        mut store: Box<dyn IssuerStore>,
        anchor: Box<dyn Anchor>,
        identities: Box<dyn Identities>,
    ) -> Result<Issuer> {
        if opts.batch_size == 0 {
            return Err(IssuerError::Config(
                "the batch size must be at least 1".into(),
            ));
        }
        let id = anchor.issuer();
        let mut spent = IndexedTree::new();
        let mut note_roots = HashSet::new();
        let mirror = store.chain_batches()?;
        for (i, b) in mirror.iter().enumerate() {
            if b.seq != i as u64 || b.prev_spent_root != spent.root() {
                return Err(IssuerError::Corrupt(format!(
                    "mirrored chain batch {} does not follow the log",
                    b.seq
                )));
            }
            for n in &b.nullifiers {
                spent.insert(*n)?;
            }
            if spent.root() != b.new_spent_root {
                return Err(IssuerError::Corrupt(format!(
                    "replaying chain batch {} gives another spent root",
                    b.seq
                )));
            }
            note_roots.insert(key(&b.note_root));
        }
        let mut notes = MerkleTree::new(NOTE_SHAPE)?;
        let leaves = store.anchored_notes()?;
        for (i, l) in leaves.iter().enumerate() {
            notes.set(i as u64, *l)?;
        }
        let note_count = leaves.len() as u64;
        if let Some(last) = store.last_anchored_batch()? {
            if last.note_root != notes.root() || last.note_count != note_count {
                return Err(IssuerError::Corrupt(format!(
                    "the stored notes give root {} ({note_count} notes), the last anchored batch {} has {} ({} notes)",
                    short(&notes.root()),
                    last.id,
                    short(&last.note_root),
                    last.note_count
                )));
            }
        } else if note_count != 0 {
            return Err(IssuerError::Corrupt(
                "notes without an anchored batch".into(),
            ));
        }
        let mut unanchored = HashMap::new();
        let mut queued = 0;
        for u in store.unanchored_updates()? {
            if u.status == UpdateStatus::Queued {
                queued += 1;
            }
            unanchored.insert(key(&u.nullifier), u.id);
        }
        let issuer = Issuer {
            id,
            opts,
            core: Mutex::new(Core {
                store,
                notes,
                note_count,
                spent,
                chain_len: mirror.len() as u64,
                note_roots,
                unanchored,
                queued,
                oldest_queued: (queued > 0).then(Instant::now),
            }),
            anchor: Mutex::new(anchor),
            identities: Mutex::new(identities),
            wake: Mutex::new(Wake::default()),
            wake_cv: Condvar::new(),
            stepping: Mutex::new(()),
        };
        issuer.sync()?;
        Ok(issuer)
    }

    /// This issuer's id (what requests must name, what the chain records).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn core(&self) -> Result<MutexGuard<'_, Core>> {
        self.core.lock().map_err(poisoned)
    }

    fn pause(&self, point: &str) {
        if self.opts.pause_at.as_deref() == Some(point) {
            let marker = self.opts.data_dir.join(format!("paused.{point}"));
            let _ = std::fs::write(&marker, b"");
            tracing::warn!(point, "paused (testing hook)");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }

    // ----- registrations (operator) -----

    /// Registers this issuer's records for `identity` from a FHIR R4 bundle: each record's
    /// source becomes this issuer's id and gets a fresh salt. The next accepted update of
    /// that identity appends them.
    pub fn register(&self, identity: Fr, bundle: &[u8]) -> Result<Registered> {
        let imported = import_bundle(bundle)?;
        let mut kinds = BTreeMap::new();
        let mut opened = Vec::with_capacity(imported.records.len());
        for mut record in imported.records.clone() {
            record.source = self.id.clone();
            record.validate()?;
            *kinds.entry(record.kind).or_insert(0) += 1;
            opened.push(OpenedRecord {
                record,
                salt: random_salt(&mut rand::rngs::OsRng),
            });
        }
        if opened.is_empty() {
            return Err(IssuerError::BadRequest(
                "the bundle holds no record that can be committed".into(),
            ));
        }
        let json = Zeroizing::new(
            serde_json::to_string(&opened)
                .map_err(|e| IssuerError::Corrupt(format!("serializing records: {e}")))?,
        );
        let registration_id = self.core()?.store.add_registration(&identity, &json)?;
        Ok(Registered {
            registration_id,
            records: opened.len(),
            kinds,
        })
    }

    // ----- transitions (patients) -----

    /// Verifies and accepts a transition (`body` is the request's JSON, `signature` its
    /// owner's signature). On success the update is durably queued.
    pub fn submit(&self, body: &[u8], signature: Option<&str>) -> Result<UpdateAccepted> {
        let req: UpdateRequest =
            serde_json::from_slice(body).map_err(|e| IssuerError::BadRequest(e.to_string()))?;
        if req.issuer != self.id {
            return Err(IssuerError::WrongIssuer(req.issuer.clone()));
        }
        let signature = signature
            .ok_or_else(|| IssuerError::Unauthenticated("no X-Zkmed-Signature header".into()))?;
        let signer = recover_signer(body, signature)?;
        let idc = req.identity_commitment;
        let owner = self
            .identities
            .lock()
            .map_err(poisoned)?
            .owner(&idc)?
            .ok_or_else(|| {
                IssuerError::Unauthenticated("no active token has this identity commitment".into())
            })?;
        if signer != owner {
            return Err(IssuerError::Unauthenticated(
                "the request is not signed by the token's owner".into(),
            ));
        }
        if req.tag_new == Fr::from(0u64) {
            return Err(IssuerError::BadRequest("tag_new is 0".into()));
        }
        // 1. The old state: its note under an anchored root, and its nullifier.
        let (roots_old, nullifier, old_root): ([Fr; 6], Fr, Option<Fr>) = match &req.old {
            OldState::Genesis => ([empty_root(); 6], genesis_nullifier(idc), None),
            OldState::Note {
                rho,
                roots,
                note_root,
                path,
            } => {
                let roots: [Fr; 6] = roots.as_slice().try_into().map_err(|_| {
                    IssuerError::BadRequest(format!("old.roots has {} roots, not 6", roots.len()))
                })?;
                if path.shape != NOTE_SHAPE {
                    return Err(IssuerError::BadRequest(
                        "old.path is not a note-tree path (4-ary, depth 10)".into(),
                    ));
                }
                let r_old = record_commitment(idc, req.patient_leaf, &roots);
                let l_old = state_note(r_old, note_tag(rho.0));
                let root = path
                    .root_of(l_old)
                    .map_err(|e| IssuerError::BadRequest(format!("old.path: {e}")))?;
                if root != *note_root {
                    return Err(IssuerError::NotInTree);
                }
                (roots, state_nullifier(rho.0), Some(*note_root))
            }
        };
        let mut frontiers: BTreeMap<Kind, Frontier> = BTreeMap::new();
        for kf in &req.frontiers {
            if frontiers.insert(kf.kind, kf.frontier.clone()).is_some() {
                return Err(IssuerError::BadRequest(format!(
                    "two frontiers for {}",
                    kf.kind.fhir_name()
                )));
            }
        }
        if let Some(root) = old_root {
            // A root anchored a moment ago (by any issuer) may not be mirrored yet.
            if !self.core()?.note_roots.contains(&key(&root)) {
                self.sync()?;
                if !self.core()?.note_roots.contains(&key(&root)) {
                    return Err(IssuerError::UnknownRoot);
                }
            }
        }
        let mut core = self.core()?;
        let n_key = key(&nullifier);
        if core.spent.contains(&nullifier) || core.unanchored.contains_key(&n_key) {
            return Err(IssuerError::Spent);
        }
        // 2. This issuer's records for the identity, appended to each kind's frontier.
        let regs = core.store.pending_registrations(&idc)?;
        let mut records: Vec<OpenedRecord> = Vec::new();
        for r in &regs {
            let mut rs: Vec<OpenedRecord> = serde_json::from_str(&r.records_json)
                .map_err(|e| IssuerError::Corrupt(format!("registration {}: {e}", r.id)))?;
            records.append(&mut rs);
        }
        let needed: BTreeSet<Kind> = records.iter().map(|r| r.record.kind).collect();
        let genesis = matches!(req.old, OldState::Genesis);
        let missing: Vec<Kind> = needed
            .iter()
            .filter(|k| !genesis && !frontiers.contains_key(k))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(IssuerError::FrontierRequired { kinds: missing });
        }
        let mut roots_new = roots_old;
        let mut counts = BTreeMap::new();
        for kind in &needed {
            let mut f = frontiers.remove(kind).unwrap_or_else(Frontier::empty);
            if f.root() != roots_old[kind.index()] {
                return Err(IssuerError::BadFrontier {
                    kind: *kind,
                    reason: format!(
                        "the root of a frontier of {} leaves is not the old state's {} root",
                        f.count(),
                        kind.fhir_name()
                    ),
                });
            }
            for r in records.iter().filter(|r| r.record.kind == *kind) {
                f.append(r.leaf()?)?;
            }
            roots_new[kind.index()] = f.root();
            counts.insert(*kind, f.count());
        }
        let record_commitment_new = record_commitment(idc, req.patient_leaf, &roots_new);
        let note = state_note(record_commitment_new, req.tag_new);
        let mut idb = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut idb);
        let update_id = hex::encode(idb);
        let reg_ids: Vec<i64> = regs.iter().map(|r| r.id).collect();
        core.store.accept_update(
            &NewUpdate {
                id: update_id.clone(),
                note,
                nullifier,
            },
            &reg_ids,
        )?;
        core.unanchored.insert(n_key, update_id.clone());
        core.queued += 1;
        core.oldest_queued.get_or_insert_with(Instant::now);
        let full = core.queued >= self.opts.batch_size;
        drop(core);
        if full {
            self.kick();
        }
        self.pause("after_accept");
        Ok(UpdateAccepted {
            update_id,
            status: UpdateStatus::Queued,
            nullifier,
            note,
            state: NewState {
                identity_commitment: idc,
                patient_leaf: req.patient_leaf,
                roots: roots_new.to_vec(),
                record_commitment: record_commitment_new,
                counts,
            },
            records,
        })
    }

    // ----- reads -----

    /// An update's status.
    pub fn update_status(&self, id: &str) -> Result<UpdateView> {
        let mut core = self.core()?;
        let u = core
            .store
            .update(id)?
            .ok_or_else(|| IssuerError::NotFound(format!("update {id}")))?;
        let mut view = UpdateView {
            update_id: u.id.clone(),
            status: u.status,
            batch: None,
            note_index: None,
            reason: u.reason.clone(),
        };
        if let Some(bid) = u.batch {
            if let Some(b) = core.store.batch(bid)? {
                view.note_index = b
                    .notes
                    .iter()
                    .position(|n| *n == u.note)
                    .map(|p| b.first_index + p as u64);
                view.batch = Some(BatchView {
                    id: b.id,
                    status: b.status,
                    note_root: b.note_root,
                    note_count: b.note_count,
                    tx: b.tx,
                });
            }
        }
        Ok(view)
    }

    /// The path of anchored note `index` against the latest anchored note root.
    pub fn note_path(&self, index: u64) -> Result<NotePath> {
        let core = self.core()?;
        if index >= core.note_count {
            return Err(IssuerError::NotFound(format!(
                "note {index} (this issuer has {} anchored notes)",
                core.note_count
            )));
        }
        Ok(NotePath {
            index,
            note: core.notes.leaf(index),
            note_root: core.notes.root(),
            note_count: core.note_count,
            path: core.notes.path(index)?,
        })
    }

    /// Non-membership of `nullifier` in the spent set, against the latest spent root seen.
    pub fn spent_proof(&self, nullifier: Fr) -> Result<SpentProof> {
        let core = self.core()?;
        let proof = core.spent.non_membership(&nullifier).map_err(|e| match e {
            zkmed_state::StateError::Spent => IssuerError::Spent,
            zkmed_state::StateError::ZeroNullifier => {
                IssuerError::BadRequest("a nullifier of 0".into())
            }
            o => IssuerError::State(o),
        })?;
        Ok(SpentProof {
            nullifier,
            spent_root: core.spent.root(),
            proof,
        })
    }

    /// Roots and counters.
    pub fn info(&self) -> Result<Info> {
        let core = self.core()?;
        Ok(Info {
            issuer: self.id.clone(),
            note_count: core.note_count,
            note_root: core.notes.root(),
            spent_root: core.spent.root(),
            chain_batches: core.chain_len,
            queued: core.queued,
        })
    }

    /// Every batch in the store (tests, audits).
    pub fn batches(&self) -> Result<Vec<StoredBatch>> {
        self.core()?.store.batches()
    }

    // ----- batching and anchoring -----

    /// Wakes the batcher.
    pub fn kick(&self) {
        if let Ok(mut w) = self.wake.lock() {
            w.kicked = true;
            self.wake_cv.notify_all();
        }
    }

    /// Stops the batcher loop.
    pub fn shutdown(&self) {
        if let Ok(mut w) = self.wake.lock() {
            w.shutdown = true;
            self.wake_cv.notify_all();
        }
    }

    /// The batcher: wakes when kicked or every `min(batch_interval, 1 s)`, and runs
    /// [`Issuer::step`] until [`Issuer::shutdown`].
    pub fn run_batcher(&self) {
        let tick = self.opts.batch_interval.min(Duration::from_secs(1));
        loop {
            {
                let Ok(mut w) = self.wake.lock() else { return };
                if !w.kicked && !w.shutdown {
                    w = match self.wake_cv.wait_timeout(w, tick) {
                        Ok((w, _)) => w,
                        Err(_) => return,
                    };
                }
                if w.shutdown {
                    return;
                }
                w.kicked = false;
            }
            if let Err(e) = self.step(false) {
                tracing::warn!(error = %e, "batch step failed; retrying");
                std::thread::sleep(tick);
            }
        }
    }

    /// One step: mirror new chain batches; finish (or drop, if stale) an open batch; form
    /// and anchor a new batch when `batch_size` updates are queued, the oldest has waited
    /// `batch_interval`, or `force`.
    pub fn step(&self, force: bool) -> Result<()> {
        let _one = self.stepping.lock().map_err(poisoned)?;
        self.sync()?;
        let open = {
            let mut core = self.core()?;
            core.store.open_batches()?.into_iter().next()
        };
        if let Some(b) = open {
            return self.finish(b);
        }
        let due = {
            let core = self.core()?;
            core.queued > 0
                && (force
                    || core.queued >= self.opts.batch_size
                    || core
                        .oldest_queued
                        .is_some_and(|t| t.elapsed() >= self.opts.batch_interval))
        };
        if due {
            let b = self.prepare()?;
            self.pause("after_prepare");
            return self.finish(b);
        }
        Ok(())
    }

    /// Forms a batch from the oldest queued updates (notes and nullifiers shuffled
    /// independently) and writes it to the store, prepared.
    fn prepare(&self) -> Result<StoredBatch> {
        let mut core = self.core()?;
        let queued: Vec<_> = core
            .store
            .unanchored_updates()?
            .into_iter()
            .filter(|u| u.status == UpdateStatus::Queued)
            .take(self.opts.batch_size)
            .collect();
        let mut rng = rand::rngs::OsRng;
        let mut notes: Vec<Fr> = queued.iter().map(|u| u.note).collect();
        notes.shuffle(&mut rng);
        let mut nullifiers: Vec<Fr> = queued.iter().map(|u| u.nullifier).collect();
        nullifiers.shuffle(&mut rng);
        let mut tree = core.notes.clone();
        let first_index = core.note_count;
        for (k, n) in notes.iter().enumerate() {
            tree.set(first_index + k as u64, *n)?;
        }
        let mut spent = core.spent.clone();
        for n in &nullifiers {
            spent.insert(*n)?;
        }
        let batch = NewBatch {
            first_index,
            notes,
            nullifiers,
            note_root: tree.root(),
            note_count: first_index + queued.len() as u64,
            prev_spent_root: core.spent.root(),
            new_spent_root: spent.root(),
            updates: queued.iter().map(|u| u.id.clone()).collect(),
        };
        let id = core.store.prepare_batch(&batch)?;
        core.queued -= queued.len();
        core.oldest_queued = (core.queued > 0).then(Instant::now);
        Ok(StoredBatch {
            id,
            status: BatchStatus::Prepared,
            first_index,
            notes: batch.notes,
            nullifiers: batch.nullifiers,
            note_root: batch.note_root,
            note_count: batch.note_count,
            prev_spent_root: batch.prev_spent_root,
            new_spent_root: batch.new_spent_root,
            tx: None,
            chain_seq: None,
        })
    }

    /// Sends an open batch that is not on chain (its base is the chain's spent root), or
    /// drops it when the chain moved on without it.
    fn finish(&self, b: StoredBatch) -> Result<()> {
        let current = self.core()?.spent.root();
        if b.prev_spent_root != current {
            return self.drop_batch(b.id);
        }
        self.core()?.store.set_batch_sent(b.id)?;
        self.pause("after_sent_mark");
        let sent = self.anchor.lock().map_err(poisoned)?.anchor(&BatchAnchor {
            note_root: b.note_root,
            note_count: b.note_count,
            prev_spent_root: b.prev_spent_root,
            new_spent_root: b.new_spent_root,
            nullifiers: b.nullifiers.clone(),
        });
        match sent {
            Ok(tx) => tracing::info!(batch = b.id, tx, notes = b.notes.len(), "batch anchored"),
            Err(IssuerError::StaleSpentRoot { .. }) => {
                self.sync()?;
                return self.drop_batch(b.id);
            }
            Err(e) => return Err(e),
        }
        self.pause("after_send");
        self.sync()?;
        self.pause("after_anchor");
        Ok(())
    }

    fn drop_batch(&self, id: i64) -> Result<()> {
        let mut core = self.core()?;
        core.store.drop_batch(id)?;
        let requeued = core
            .store
            .unanchored_updates()?
            .iter()
            .filter(|u| u.status == UpdateStatus::Queued)
            .count();
        core.queued = requeued;
        core.oldest_queued = (requeued > 0).then(Instant::now);
        tracing::warn!(batch = id, requeued, "dropped a stale batch");
        Ok(())
    }

    /// Mirrors the chain's new batches: replays their nullifiers into the spent set, marks
    /// this issuer's batch anchored (and applies its notes), and rejects queued updates
    /// whose old state another issuer's batch spent first. A batch anchored as this issuer
    /// that the store does not hold is an error: the issuer never anchors such a root.
    pub fn sync(&self) -> Result<()> {
        let from = self.core()?.chain_len;
        let new = self.anchor.lock().map_err(poisoned)?.batches_from(from)?;
        for b in new {
            self.apply_chain_batch(&b)?;
        }
        Ok(())
    }

    fn apply_chain_batch(&self, b: &ChainBatch) -> Result<()> {
        let mut core = self.core()?;
        if b.seq < core.chain_len {
            return Ok(()); // mirrored meanwhile by a concurrent sync
        }
        if b.seq != core.chain_len {
            return Err(IssuerError::Corrupt(format!(
                "chain batch {} arrived at position {}",
                b.seq, core.chain_len
            )));
        }
        if b.prev_spent_root != core.spent.root() {
            return Err(IssuerError::Corrupt(format!(
                "chain batch {} does not build on the spent root before it",
                b.seq
            )));
        }
        let mut spent = core.spent.clone();
        for n in &b.nullifiers {
            spent.insert(*n)?;
        }
        if spent.root() != b.new_spent_root {
            return Err(IssuerError::Corrupt(format!(
                "chain batch {}: its nullifiers do not give its spent root",
                b.seq
            )));
        }
        let mut own = None;
        let mut rejected = Vec::new();
        if b.issuer == self.id {
            let mine = core
                .store
                .open_batches()?
                .into_iter()
                .find(|s| {
                    s.note_root == b.note_root
                        && s.new_spent_root == b.new_spent_root
                        && s.nullifiers == b.nullifiers
                        && s.note_count == b.note_count
                })
                .ok_or_else(|| {
                    IssuerError::Corrupt(format!(
                        "chain batch {} is anchored as this issuer with note root {}, which the database does not hold",
                        b.seq,
                        short(&b.note_root)
                    ))
                })?;
            own = Some(mine);
        } else {
            for n in &b.nullifiers {
                if let Some(u) = core.unanchored.get(&key(n)) {
                    rejected.push((
                        u.clone(),
                        format!(
                            "the old state was spent first by issuer {} (chain batch {})",
                            b.issuer, b.seq
                        ),
                    ));
                }
            }
        }
        core.store
            .record_chain_batch(b, own.as_ref().map(|o| o.id), &rejected)?;
        core.spent = spent;
        core.note_roots.insert(key(&b.note_root));
        core.chain_len += 1;
        if let Some(mine) = own {
            let mut notes = core.notes.clone();
            for (k, n) in mine.notes.iter().enumerate() {
                notes.set(mine.first_index + k as u64, *n)?;
            }
            if notes.root() != b.note_root {
                return Err(IssuerError::Corrupt(format!(
                    "batch {}'s notes do not give its anchored root",
                    mine.id
                )));
            }
            core.notes = notes;
            core.note_count = mine.note_count;
            for n in &mine.nullifiers {
                core.unanchored.remove(&key(n));
            }
        }
        if !rejected.is_empty() {
            for n in &b.nullifiers {
                core.unanchored.remove(&key(n));
            }
            let queued = core
                .store
                .unanchored_updates()?
                .iter()
                .filter(|u| u.status == UpdateStatus::Queued)
                .count();
            core.queued = queued;
            tracing::warn!(
                rejected = rejected.len(),
                "updates rejected: their old states were spent at another issuer"
            );
        }
        Ok(())
    }
}
