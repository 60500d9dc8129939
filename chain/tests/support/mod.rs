//! What the chain tests share: the two chains behind one trait (a REAL node, anvil from
//! npm, over JSON-RPC; the embedded revm chain), the fixture patient, real proofs with the
//! test keys, and the committed-verifier check (which regenerates with
//! `ZKMED_REGENERATE=1`).
#![allow(dead_code)]

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::Address;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zkmed_chain::backend::{Backend, EmbeddedBackend, Registry, RpcBackend};
use zkmed_chain::embedded::EmbeddedChain;
use zkmed_chain::{ChainCommitments, Deployment, Freshness, RegistryCommitments};
use zkmed_circuits::CircuitId;
use zkmed_core::Fr;
use zkmed_prover::{IdentitySecret, ProveRequest};
use zkmed_records::{import_bundle, Opening};
use zkmed_verifier::{CommitmentSource, KeySet};

/// What a test needs from a chain: account `i` as a backend, a Rust-side commitment source
/// reading `d` with a freshness rule, and a clock to move.
pub trait Net {
    type B: Backend + Send + 'static;
    fn account(&self, i: usize) -> Self::B;
    fn source(&self, d: Deployment, f: Freshness, max_age: Duration) -> Box<dyn CommitmentSource>;
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
    fn source(&self, d: Deployment, f: Freshness, max_age: Duration) -> Box<dyn CommitmentSource> {
        Box::new(ChainCommitments::connect(&self.0.endpoint(), d, f, max_age).unwrap())
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
    fn source(&self, d: Deployment, f: Freshness, max_age: Duration) -> Box<dyn CommitmentSource> {
        let reader = Registry::attach(self.account(9), d);
        Box::new(RegistryCommitments::new(reader, f, max_age))
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
    pub id: IdentitySecret,
    pub opening: Opening,
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

pub fn fixture() -> Fixture {
    let keys = zkmed_prover::testing::test_keys(&[CircuitId::Exists]);
    let vkeys = KeySet::load_manifest_dir(keys.dir()).unwrap();
    let id = IdentitySecret::from_fr(Fr::from(4242u64));
    let opening = opening_for(&id, 7);
    Fixture {
        keys,
        vkeys,
        id,
        opening,
    }
}

/// The verifier's challenge and scope in these tests.
pub fn challenge_and_scope() -> (Fr, Fr) {
    (Fr::from(777u64), Fr::from(31u64))
}

/// A real proof of the named predicate about the patient of `opening`, as `id`.
pub fn prove_with(
    keys: &zkmed_prover::KeyStore,
    opening: &Opening,
    id: &IdentitySecret,
    predicate: &str,
    challenge: Fr,
    scope: Fr,
) -> (
    zkmed_core::query::Query,
    zkmed_core::attestation::Attestation,
) {
    let query = zkmed_core::predicates::get(predicate)
        .unwrap()
        .instantiate(
            &Default::default(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        )
        .unwrap();
    let att = zkmed_prover::prove(
        keys,
        &ProveRequest {
            opening,
            identity: id,
            query: &query,
            challenge,
            scope,
        },
        &mut rand::rngs::OsRng,
    )
    .unwrap()
    .attestation;
    (query, att)
}

/// `prove_with` for the fixture patient.
pub fn prove_in_scope(
    keys: &zkmed_prover::KeyStore,
    fx: &Fixture,
    predicate: &str,
    challenge: Fr,
    scope: Fr,
) -> (
    zkmed_core::query::Query,
    zkmed_core::attestation::Attestation,
) {
    prove_with(keys, &fx.opening, &fx.id, predicate, challenge, scope)
}

/// A real proof of the named predicate about the fixture patient, with `keys`.
pub fn prove_named(
    keys: &zkmed_prover::KeyStore,
    fx: &Fixture,
    predicate: &str,
) -> (
    zkmed_core::query::Query,
    zkmed_core::attestation::Attestation,
) {
    let (challenge, scope) = challenge_and_scope();
    prove_in_scope(keys, fx, predicate, challenge, scope)
}

/// A real `exists-v2` proof that the fixture patient had an organ transplant.
pub fn prove_transplant(
    fx: &Fixture,
) -> (
    zkmed_core::query::Query,
    zkmed_core::attestation::Attestation,
) {
    let (query, att) = prove_named(&fx.keys, fx, "has-organ-transplant");
    assert!(att.public.answer);
    (query, att)
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
