//! Test fixtures: a toy Groth16 circuit with exactly the six zkmed public inputs (the real
//! circuits live in zkmed-circuits, which the verifier must not depend on), and helpers
//! that produce real proofs wrapped in proper `Attestation`s.
#![allow(dead_code)]

use ark_bn254::Bn254;
use ark_ff::{Field, One};
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, LinearCombination, SynthesisError, Variable,
};
use ark_serialize::CanonicalSerialize;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::OnceLock;
use zkmed_core::attestation::{Attestation, PublicInputs, ATTESTATION_VERSION};
use zkmed_core::manifest::sha256_hex;
use zkmed_core::query::Query;
use zkmed_core::roots::{RootSource, RootSourceError, RootStatus};
use zkmed_core::Fr;
use zkmed_verifier::{KeySet, RootPolicy, VerifierKey};

pub const CIRCUIT: &str = "toy-v1";
pub const OTHER_CIRCUIT: &str = "toy-other-v1";

/// Allocates the 6 public inputs in attestation order and constrains every one:
/// `x_j · s = w_j` for a secret `s` (witnesses `w_j`), and `answer · (answer − 1) = 0`.
#[derive(Clone)]
pub struct ToyCircuit {
    pub inputs: [Fr; 6],
    pub secret: Fr,
}

impl ConstraintSynthesizer<Fr> for ToyCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let s = cs.new_witness_variable(|| Ok(self.secret))?;
        let mut answer = Variable::One;
        for x in self.inputs {
            let xv = cs.new_input_variable(|| Ok(x))?;
            let w = cs.new_witness_variable(|| Ok(x * self.secret))?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(xv),
                || LinearCombination::from(s),
                || LinearCombination::from(w),
            )?;
            answer = xv; // the last input is the answer
        }
        cs.enforce_r1cs_constraint(
            || LinearCombination::from(answer),
            || LinearCombination::from(answer) - (Fr::one(), Variable::One),
            LinearCombination::new,
        )?;
        Ok(())
    }
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub struct ToyKey {
    pub id: String,
    pub pk: ProvingKey<Bn254>,
    pub vk_bytes: Vec<u8>,
    pub key_hash: String,
}

impl ToyKey {
    pub fn new(id: &str, seed: u64) -> ToyKey {
        let blank = ToyCircuit {
            inputs: [Fr::one(); 6],
            secret: Fr::one(),
        };
        let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(blank, &mut rng(seed))
            .unwrap();
        let mut vk_bytes = Vec::new();
        pk.vk.serialize_compressed(&mut vk_bytes).unwrap();
        let key_hash = sha256_hex(&vk_bytes);
        ToyKey {
            id: id.into(),
            pk,
            vk_bytes,
            key_hash,
        }
    }

    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey::from_bytes(self.id.clone(), &self.vk_bytes).unwrap()
    }

    /// A real proof for `public`, wrapped as an attestation for this key.
    pub fn attest(&self, public: &PublicInputs, seed: u64) -> Attestation {
        let circuit = ToyCircuit {
            inputs: public.to_field_elements(),
            secret: Fr::from(seed + 2).inverse().unwrap(),
        };
        let proof =
            Groth16::<Bn254>::create_random_proof_with_reduction(circuit, &self.pk, &mut rng(seed))
                .unwrap();
        let mut bytes = Vec::new();
        proof.serialize_compressed(&mut bytes).unwrap();
        Attestation {
            version: ATTESTATION_VERSION,
            circuit: self.id.clone(),
            key_hash: self.key_hash.clone(),
            public: public.clone(),
            proof: hex::encode(bytes),
        }
    }
}

pub fn query() -> Query {
    Query::from_json(br#"{"version":1,"age_at_least":{"years":18,"on":"2026-01-01"}}"#).unwrap()
}

pub fn other_query() -> Query {
    Query::from_json(br#"{"version":1,"age_at_least":{"years":21,"on":"2026-01-01"}}"#).unwrap()
}

pub fn challenge(i: u64) -> Fr {
    Fr::from(1_000_000 + i)
}

/// The current identity root of the fixture's chain.
pub fn identity_root() -> Fr {
    Fr::from(0x1d_u64).square().square()
}

/// The current global state root of the fixture's chain.
pub fn state_root() -> Fr {
    Fr::from(0x5e_u64) * Fr::from(0x1234_5678_9abc_def1u64)
}

/// Public inputs for patient `i` answering `query()` under `challenge(i)`.
pub fn public(i: u64) -> PublicInputs {
    PublicInputs {
        identity_root: identity_root(),
        state_root: state_root(),
        query_hash: query().hash().unwrap(),
        challenge: challenge(i),
        nullifier: Fr::from(300 + i).square(),
        answer: !i.is_multiple_of(3),
    }
}

/// Roots with a settable status each (a chain's root history, in a test).
#[derive(Default)]
pub struct TestRoots {
    pub identity: Mutex<HashMap<String, RootStatus>>,
    pub state: Mutex<HashMap<String, RootStatus>>,
}

impl TestRoots {
    /// Knows the fixture's two roots, both current.
    pub fn current() -> TestRoots {
        let r = TestRoots::default();
        r.set_identity(identity_root(), RootStatus::Current);
        r.set_state(state_root(), RootStatus::Current);
        r
    }

    pub fn set_identity(&self, root: Fr, status: RootStatus) {
        self.identity
            .lock()
            .unwrap()
            .insert(root.to_string(), status);
    }

    pub fn set_state(&self, root: Fr, status: RootStatus) {
        self.state.lock().unwrap().insert(root.to_string(), status);
    }
}

impl RootSource for TestRoots {
    fn identity_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError> {
        Ok(self
            .identity
            .lock()
            .unwrap()
            .get(&root.to_string())
            .cloned()
            .unwrap_or(RootStatus::Unknown))
    }

    fn state_root(&self, root: &Fr) -> Result<RootStatus, RootSourceError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .get(&root.to_string())
            .cloned()
            .unwrap_or(RootStatus::Unknown))
    }

    fn describe(&self) -> String {
        "test roots".into()
    }
}

/// Shared fixture: one key, a key set, and the chain's roots (current).
pub struct Fixture {
    pub key: ToyKey,
    pub other: ToyKey,
    pub keys: KeySet,
    pub roots: TestRoots,
}

impl Fixture {
    /// The default policy (one-hour window) over the fixture's roots.
    pub fn policy(&self) -> RootPolicy<'_> {
        RootPolicy::new(&self.roots)
    }
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = ToyKey::new(CIRCUIT, 1);
        let other = ToyKey::new(OTHER_CIRCUIT, 2);
        let mut keys = KeySet::new();
        keys.insert(key.verifier_key());
        keys.insert(other.verifier_key());
        Fixture {
            key,
            other,
            keys,
            roots: TestRoots::current(),
        }
    })
}

/// `n` valid attestations (patients `0..n`), alternating between the two circuits if `mixed`.
pub fn attestations(n: u64, mixed: bool) -> Vec<Attestation> {
    let f = fixture();
    (0..n)
        .map(|i| {
            let k = if mixed && i % 2 == 1 {
                &f.other
            } else {
                &f.key
            };
            k.attest(&public(i), 10_000 + i)
        })
        .collect()
}
