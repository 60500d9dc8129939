//! What the chain tests share: the two chains behind one trait (a REAL node, anvil from
//! npm, over JSON-RPC; the embedded revm chain), a world of patients anchored on chain (an
//! issuer's note tree off chain, the anchored state rebuilt from the chain), real proofs
//! with the test keys, and the committed-verifier check (which regenerates with
//! `ZKMED_REGENERATE=1`).
#![allow(dead_code)]

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::Address;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use zkmed_chain::backend::{Backend, EmbeddedBackend, Registry, RpcBackend};
use zkmed_chain::embedded::EmbeddedChain;
use zkmed_chain::{ChainRoots, Deployment};
use zkmed_circuits::CircuitId;
use zkmed_core::roots::RootSource;
use zkmed_core::Fr;
use zkmed_prover::{IdentitySecret, ProveRequest};
use zkmed_records::{import_bundle, Opening};
use zkmed_state::note::{genesis_nullifier, note_tag, state_note, state_nullifier};
use zkmed_state::{AnchoredState, IndexedTree, MerkleTree, ISSUERS_SHAPE, NOTE_SHAPE};
use zkmed_verifier::KeySet;

/// What a test needs from a chain: account `i` as a backend, a Rust-side root source
/// reading `d`, and a clock to move.
pub trait Net {
    type B: Backend + Send + 'static;
    fn account(&self, i: usize) -> Self::B;
    fn roots(&self, d: Deployment) -> Box<dyn RootSource>;
    /// Moves the chain's clock `secs` seconds ahead.
    fn advance_time(&self, secs: u64);
    fn name(&self) -> &'static str;
}

pub struct OnAnvil(pub AnvilInstance);

impl OnAnvil {
    pub fn start() -> OnAnvil {
        OnAnvil(zkmed_chain::testing::anvil())
    }
}

impl Net for OnAnvil {
    type B = RpcBackend;
    fn account(&self, i: usize) -> RpcBackend {
        RpcBackend::connect(&self.0.endpoint(), &zkmed_chain::testing::key(&self.0, i)).unwrap()
    }
    fn roots(&self, d: Deployment) -> Box<dyn RootSource> {
        Box::new(ChainRoots::connect(&self.0.endpoint(), d).unwrap())
    }
    fn advance_time(&self, secs: u64) {
        RpcBackend::read_only(&self.0.endpoint())
            .unwrap()
            .increase_time(secs)
            .unwrap();
    }
    fn name(&self) -> &'static str {
        "anvil"
    }
}

pub struct Embedded(pub Arc<Mutex<EmbeddedChain>>);

impl Embedded {
    pub fn in_memory() -> Embedded {
        Embedded(Arc::new(Mutex::new(EmbeddedChain::in_memory())))
    }
}

impl Net for Embedded {
    type B = EmbeddedBackend;
    fn account(&self, i: usize) -> EmbeddedBackend {
        EmbeddedBackend::new(self.0.clone(), Address::repeat_byte(0x10 + i as u8))
    }
    fn roots(&self, d: Deployment) -> Box<dyn RootSource> {
        Box::new(ChainRoots::new(Registry::attach(self.account(9), d)).named("the embedded chain"))
    }
    fn advance_time(&self, secs: u64) {
        self.0.lock().unwrap().advance_time(secs);
    }
    fn name(&self) -> &'static str {
        "embedded"
    }
}

pub struct Fixture {
    pub keys: zkmed_prover::KeyStore,
    pub vkeys: KeySet,
}

pub fn fixture() -> Fixture {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists]);
    let vkeys = KeySet::load_manifest_dir(keys.dir()).unwrap();
    Fixture { keys, vkeys }
}

pub fn bundle() -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo/jonathan-hermiston.json"),
    )
    .unwrap()
}

/// The fixture patient's records committed for identity `id`.
pub fn opening_for(id: &IdentitySecret, seed: u8) -> Opening {
    Opening::create_from_seed(
        import_bundle(&bundle()).unwrap(),
        id.commitment(),
        &[seed; 32],
    )
    .unwrap()
}

/// A patient: identity secret, token, the opening of its current record state and where
/// that state's note sits.
pub struct Patient {
    pub id: IdentitySecret,
    pub token: alloy::primitives::U256,
    pub opening: Opening,
    pub rho: Fr,
    pub slot: u32,
    pub note_index: u64,
}

impl Clone for Patient {
    fn clone(&self) -> Patient {
        Patient {
            id: IdentitySecret::from_parts(self.id.secret(), self.id.nullifier_key()),
            token: self.token,
            opening: self.opening.clone(),
            rho: self.rho,
            slot: self.slot,
            note_index: self.note_index,
        }
    }
}

impl Patient {
    /// The state note of the current record state.
    pub fn note(&self) -> Fr {
        state_note(self.opening.commitment().unwrap(), note_tag(self.rho))
    }
}

/// One issuer's off-chain note tree (what `zkmed issuer serve` keeps in its database).
pub struct Issuer<B: Backend> {
    pub reg: Registry<B>,
    pub slot: u32,
    pub notes: MerkleTree,
    pub count: u64,
}

/// A deployment with issuers and patients on chain.
pub struct World<B: Backend> {
    pub gov: Registry<B>,
    pub issuers: Vec<Issuer<B>>,
    /// The spent set as the issuers replicate it (to compute the new spent root).
    pub spent: IndexedTree,
    pub d: Deployment,
}

impl<B: Backend> World<B> {
    /// Deploys and accredits `issuers` issuers (accounts 1, 2, ...).
    pub fn new<N: Net<B = B>>(net: &N, issuers: usize) -> World<B> {
        let mut gov = Registry::deploy(net.account(0)).unwrap();
        let d = gov.deployment;
        let mut list = Vec::new();
        for i in 0..issuers {
            let reg = Registry::attach(net.account(1 + i), d);
            gov.accredit(reg.backend_account(), &format!("Hospital {i}"))
                .unwrap();
            let slot = gov.issuer_slot(reg.backend_account()).unwrap().unwrap();
            list.push(Issuer {
                reg,
                slot,
                notes: MerkleTree::new(NOTE_SHAPE).unwrap(),
                count: 0,
            });
        }
        World {
            gov,
            issuers: list,
            spent: IndexedTree::new(),
            d,
        }
    }

    /// Mints a token for a new patient (`seed` picks its secrets and record salts), minted
    /// by issuer 0; nothing anchored yet.
    pub fn patient(&mut self, seed: u8) -> Patient {
        self.patient_with_guardians(seed, &[])
    }

    /// [`World::patient`] with guardians (all of them must approve a recovery).
    pub fn patient_with_guardians(&mut self, seed: u8, guardians: &[Address]) -> Patient {
        let id = IdentitySecret::from_parts(
            Fr::from(1_000 + seed as u64),
            Fr::from(2_000 + seed as u64),
        );
        let owner = Address::repeat_byte(0xa0 + seed);
        let token = self.issuers[0]
            .reg
            .mint(owner, &id.commitment(), guardians, guardians.len() as u8)
            .unwrap();
        Patient {
            opening: opening_for(&id, seed),
            id,
            token,
            rho: Fr::from(3_000 + seed as u64),
            slot: 0,
            note_index: 0,
        }
    }

    /// Issuer `issuer` anchors one batch: the patients' current notes appended to its tree
    /// (their note indexes set), `nullifiers` spent. Returns the gas used.
    pub fn anchor(
        &mut self,
        issuer: usize,
        patients: &mut [&mut Patient],
        nullifiers: &[Fr],
    ) -> u64 {
        let is = &mut self.issuers[issuer];
        for p in patients.iter_mut() {
            is.notes.set(is.count, p.note()).unwrap();
            p.slot = is.slot;
            p.note_index = is.count;
            is.count += 1;
        }
        let prev = self.spent.root();
        for n in nullifiers {
            self.spent.insert(*n).unwrap();
        }
        is.reg
            .anchor_state_batch(
                &is.notes.root(),
                is.count as u32,
                &prev,
                &self.spent.root(),
                nullifiers,
            )
            .unwrap()
    }

    /// Genesis: issuer 0 anchors the patients' first states (their genesis nullifiers spent).
    pub fn genesis(&mut self, patients: &mut [&mut Patient]) -> u64 {
        let nullifiers: Vec<Fr> = patients
            .iter()
            .map(|p| genesis_nullifier(p.id.commitment()))
            .collect();
        self.anchor(0, patients, &nullifiers)
    }

    /// A correction: `p`'s state replaced by a new one (a new `rho`) from issuer `issuer`,
    /// its old state nullifier spent. Returns the old patient (its superseded state).
    pub fn correct(&mut self, issuer: usize, p: &mut Patient, new_rho: Fr) -> Patient {
        let old = p.clone();
        p.rho = new_rho;
        self.anchor(issuer, &mut [p], &[state_nullifier(old.rho)]);
        old
    }

    /// `p`'s anchored state against the chain's CURRENT roots, rebuilt from the chain: the
    /// identity path from the `IdentityLeaf` events, the issuers path from `issuerLeaf`, the
    /// non-membership from the spent set replayed from `state_batches()`; the note path from
    /// the issuer's own tree.
    pub fn anchored(&mut self, p: &Patient) -> AnchoredState {
        let g = &mut self.gov;
        let mut issuers = MerkleTree::new(ISSUERS_SHAPE).unwrap();
        for is in &self.issuers {
            issuers
                .set(is.slot as u64, g.issuer_leaf(is.slot).unwrap())
                .unwrap();
        }
        assert_eq!(issuers.root(), g.issuers_root().unwrap());
        let mut spent = IndexedTree::new();
        for b in g.state_batches().unwrap() {
            for n in &b.nullifiers {
                spent.insert(*n).unwrap();
            }
            assert_eq!(spent.root(), b.new_spent_root);
        }
        let spent_root = g.spent_root().unwrap();
        assert_eq!(spent.root(), spent_root);
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.slot == p.slot)
            .expect("the patient's issuer");
        AnchoredState {
            version: zkmed_state::anchored::ANCHORED_STATE_VERSION,
            rho: p.rho,
            identity_root: g.identity_root().unwrap(),
            identity_path: g.identity_path(p.token).unwrap(),
            state_root: g.global_root().unwrap(),
            note_path: issuer.notes.path(p.note_index).unwrap(),
            issuers_path: issuers.path(p.slot as u64).unwrap(),
            spent_root,
            non_membership: spent
                .non_membership(&state_nullifier(p.rho))
                .unwrap_or_else(|_| {
                    // A spent state: any witness; the prover refuses it.
                    spent.non_membership(&Fr::from(1u64)).unwrap()
                }),
        }
    }
}

/// The query of a named predicate (fixed date).
pub fn query(predicate: &str) -> zkmed_core::query::Query {
    zkmed_core::predicates::get(predicate)
        .unwrap()
        .instantiate(
            &Default::default(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        )
        .unwrap()
}

/// A real proof of `predicate` about `p` against `state`, for `request` in `scope`.
pub fn try_prove(
    keys: &zkmed_prover::KeyStore,
    p: &Patient,
    state: &AnchoredState,
    predicate: &str,
    request: Fr,
    scope: Fr,
) -> zkmed_prover::Result<zkmed_core::attestation::Attestation> {
    let q = query(predicate);
    zkmed_prover::prove(
        keys,
        &ProveRequest {
            opening: &p.opening,
            identity: &p.id,
            state,
            query: &q,
            request,
            scope,
        },
        &mut rand::rngs::OsRng,
    )
    .map(|p| p.attestation)
}

/// [`try_prove`] that must succeed.
pub fn prove(
    keys: &zkmed_prover::KeyStore,
    p: &Patient,
    state: &AnchoredState,
    predicate: &str,
    request: Fr,
    scope: Fr,
) -> zkmed_core::attestation::Attestation {
    try_prove(keys, p, state, predicate, request, scope).unwrap()
}

/// Whether this run regenerates the committed verifiers (`ZKMED_REGENERATE=1`).
pub fn regenerating() -> bool {
    std::env::var_os("ZKMED_REGENERATE").is_some_and(|v| v == "1")
}

/// The committed `contracts/generated/<name>.sol` is exactly what the generator writes for
/// `circuit`'s (test) verifying key; when [`regenerating`], it is rewritten instead.
pub fn assert_committed_verifier(vkeys: &KeySet, circuit: &str, name: &str) {
    let vk = vkeys.get(circuit).unwrap();
    let generated = zkmed_verifier::export_solidity(vk.vk(), name, circuit, vk.key_hash()).unwrap();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../contracts/generated/{name}.sol"));
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    if regenerating() {
        if generated != committed {
            std::fs::write(&file, &generated).unwrap();
            eprintln!("regenerated {}", file.display());
        }
        return;
    }
    assert_eq!(
        generated, committed,
        "contracts/generated/{name}.sol is not the generator's output for the current test keys: \
         regenerate with `ZKMED_REGENERATE=1 cargo test -p zkmed-chain --test flow committed_verifiers` \
         (rewrites contracts/generated/*.sol and runs `node tools/solc/compile.mjs`), then rerun the tests"
    );
}

/// Recompiles the artifacts (`node tools/solc/compile.mjs`, installing the pinned solc-js
/// first if needed).
pub fn compile_artifacts() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    zkmed_chain::testing::ensure_anvil(); // `npm ci --prefix tools/solc`: solc-js too
    let status = std::process::Command::new("node")
        .arg(root.join("tools/solc/compile.mjs"))
        .status()
        .expect("node runs tools/solc/compile.mjs");
    assert!(status.success(), "compile.mjs failed");
}

/// A generated verifier's creation code with its constructor argument (the controller).
pub fn with_controller(
    code: &alloy::primitives::Bytes,
    controller: Address,
) -> alloy::primitives::Bytes {
    use alloy::sol_types::SolConstructor;
    let mut init = code.to_vec();
    init.extend(
        zkmed_chain::bindings::GeneratedVerifier::constructorCall {
            controller_: controller,
        }
        .abi_encode(),
    );
    init.into()
}

/// `e` (an error, or anything printable) mentions `what`.
pub fn contains(e: impl std::fmt::Debug, what: &str) {
    let e = format!("{e:?}");
    assert!(e.contains(what), "expected {what}, got {e}");
}
