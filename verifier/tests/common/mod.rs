//! Test fixtures: a toy Groth16 circuit with exactly the seven zkmed public inputs (the real
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
use std::sync::OnceLock;
use zkmed_core::attestation::{Attestation, PublicInputs, ATTESTATION_VERSION};
use zkmed_core::manifest::sha256_hex;
use zkmed_core::query::Query;
use zkmed_core::Fr;
use zkmed_verifier::{InMemoryCommitments, KeySet, VerifierKey};

pub const CIRCUIT: &str = "toy-v1";
pub const OTHER_CIRCUIT: &str = "toy-other-v1";

/// Allocates the 7 public inputs in attestation order and constrains every one:
/// `x_j · s = w_j` for a secret `s` (witnesses `w_j`), and `answer · (answer − 1) = 0`.
#[derive(Clone)]
pub struct ToyCircuit {
    pub inputs: [Fr; 7],
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
            inputs: [Fr::one(); 7],
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

/// Public inputs for patient `i` answering `query()` under `challenge(i)`.
pub fn public(i: u64) -> PublicInputs {
    PublicInputs {
        record_commitment: Fr::from(100 + i) * Fr::from(0x1234_5678_9abc_def1u64),
        identity_commitment: Fr::from(200 + i).square().square(),
        query_hash: query().hash().unwrap(),
        challenge: challenge(i),
        scope: Fr::from(42u64),
        nullifier: Fr::from(300 + i).square(),
        answer: !i.is_multiple_of(3),
    }
}

/// Shared fixture: one key, a key set, and the commitments of `public(i)` anchored.
pub struct Fixture {
    pub key: ToyKey,
    pub other: ToyKey,
    pub keys: KeySet,
    pub commitments: InMemoryCommitments,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = ToyKey::new(CIRCUIT, 1);
        let other = ToyKey::new(OTHER_CIRCUIT, 2);
        let mut keys = KeySet::new();
        keys.insert(key.verifier_key());
        keys.insert(other.verifier_key());
        let mut commitments = InMemoryCommitments::new();
        for i in 0..128 {
            let p = public(i);
            commitments.anchor(p.identity_commitment, p.record_commitment);
        }
        Fixture {
            key,
            other,
            keys,
            commitments,
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
