//! Proving: choose the cheapest circuit that can prove the query's true answer, fill its
//! witness from the patient's opening, prove, and self-check the proof.

use crate::error::{ProveError, Result};
use crate::identity::IdentitySecret;
use crate::keys::{CircuitKeys, KeyStore};
use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::Groth16;
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Proof};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use ark_serialize::CanonicalSerialize;
use ark_snark::SNARK;
use rand::{CryptoRng, RngCore};
use zkmed_circuits::exists::ExistsCircuit;
use zkmed_circuits::scan::ScanCircuit;
use zkmed_circuits::witness::{CommonWitness, PathWitness, RecordWitness, StateWitness};
use zkmed_circuits::{AnyCircuit, CircuitId};
use zkmed_core::attestation::{Attestation, PublicInputs, ATTESTATION_VERSION};
use zkmed_core::encoding::{encode_date, Kind, DATE_BITS, TREE_DEPTH};
use zkmed_core::query::{CompiledQuery, Query, OP_AT_LEAST, OP_AT_MOST};
use zkmed_records::{EncodedRecord, Opening};
use zkmed_state::AnchoredState;

/// The query's verdict on one record: native twin of the circuits' per-record evaluation
/// (`zkmed_circuits::common::RecordVars`), used to pick the circuit, the answer and the
/// witness. The circuit re-checks everything; the independent reference evaluator used in
/// tests lives in the test suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Code, date and status clauses hold.
    pub base: bool,
    /// The value clauses certainly hold.
    pub value_in: bool,
    /// The value clauses certainly fail.
    pub value_out: bool,
    /// The record's encoded date (0 = none).
    pub date: u32,
}

/// See [`Verdict`].
pub fn record_verdict(e: &EncodedRecord, q: &CompiledQuery) -> Verdict {
    let date = (e.meta & ((1 << DATE_BITS) - 1)) as u32;
    let status = ((e.meta >> DATE_BITS) & 0xf) as u8;
    let any_in = |slots: &[Fr], set: &[Fr]| slots.iter().any(|x| set.contains(x));
    let base = (q.code_any || any_in(&e.codes, &q.codes))
        && (q.date_lo..=q.date_hi).contains(&date)
        && q.statuses.contains(&status);
    let (lo, hi) = (e.value_lo, e.value_hi);
    let contained = q.value_lo <= lo && hi <= q.value_hi;
    let disjoint = hi < q.value_lo || lo > q.value_hi;
    let unit_ok = q.unit == Fr::from(0u64) || e.unit == q.unit;
    let num_in = contained && unit_ok;
    let num_out = !num_in && (hi == 0 || (unit_ok && disjoint));
    let vcode_ok = q.value_code_any || any_in(&e.value_codes, &q.value_codes);
    let value_in = num_in && vcode_ok;
    let value_out = !value_in && (num_out || !vcode_ok);
    Verdict {
        base,
        value_in,
        value_out,
        date,
    }
}

/// Which circuit will prove a query for a patient, and what it will prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub circuit: CircuitId,
    pub answer: bool,
    /// Records of the queried kind (0 if the query has no record clause).
    pub records_of_kind: usize,
    /// Of those, how many certainly satisfy every clause.
    pub matching: usize,
    /// Leaf index of the record the inclusion circuit opens.
    pub opened_index: Option<usize>,
    /// For `latest`: leaf index of the latest record matching the code, date and status
    /// clauses (same-day ties: the later leaf).
    pub latest_index: Option<usize>,
}

/// Chooses the circuit: the inclusion circuit for a true `exists` (or an age-only query),
/// otherwise the smallest scan circuit that holds all records of the kind. Refuses
/// ([`ProveError::Indeterminate`]) when the records do not decide the answer.
pub fn plan(opening: &Opening, cq: &CompiledQuery, available: &[CircuitId]) -> Result<Plan> {
    plan_encoded(opening, cq, &encode_kind(opening, cq)?, available)
}

/// The queried kind's records, encoded, in leaf order (empty if the query has no record
/// clause). Encoding hashes each record's `aux`, so a proof does it once.
fn encode_kind(opening: &Opening, cq: &CompiledQuery) -> Result<Vec<EncodedRecord>> {
    let Some(kind) = Kind::from_id(cq.kind) else {
        return Ok(Vec::new());
    };
    opening
        .records_of(kind)
        .iter()
        .map(|(_, r)| Ok(r.record.encode(r.salt)?))
        .collect()
}

/// A record named for a message: its FHIR id and what it says.
fn describe(opening: &Opening, kind: Kind, i: usize) -> String {
    let recs = opening.records_of(kind);
    let Some((_, r)) = recs.get(i) else {
        return format!("record {i}");
    };
    let r = &r.record;
    let value = match r.value {
        Some(v) => format!(
            " with value {}{}{}",
            r.comparator.map(|c| c.as_str()).unwrap_or(""),
            zkmed_core::encoding::format_fixed(v),
            r.unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    format!(
        "{} {}{}{}",
        kind.fhir_name(),
        r.fhir_id.as_deref().unwrap_or("(no id)"),
        format_args!(" ({})", r.primary_token()),
        value
    )
}

fn plan_encoded(
    opening: &Opening,
    cq: &CompiledQuery,
    recs: &[EncodedRecord],
    available: &[CircuitId],
) -> Result<Plan> {
    let bd = encode_date(opening.patient.birth_date)?;
    let age_ok = !cq.age_enabled || (bd != 0 && bd <= cq.birth_cutoff);
    let Some(kind) = Kind::from_id(cq.kind) else {
        return Ok(Plan {
            circuit: CircuitId::Exists,
            answer: age_ok,
            records_of_kind: 0,
            matching: 0,
            opened_index: None,
            latest_index: None,
        });
    };
    let verdicts: Vec<Verdict> = recs.iter().map(|e| record_verdict(e, cq)).collect();
    let certain = |v: &Verdict| v.base && v.value_in;
    let possible = |v: &Verdict| v.base && !v.value_out;
    let lo = verdicts.iter().filter(|v| certain(v)).count();
    let hi = verdicts.iter().filter(|v| possible(v)).count();
    let first_certain = verdicts.iter().position(certain);
    let first_open = verdicts
        .iter()
        .position(|v| v.base && !v.value_in && !v.value_out);
    let indeterminate = |why: String| ProveError::Indeterminate { reason: why };
    let straddles = |i: usize| {
        format!(
            "{} may or may not satisfy the value clauses (a censored value across a bound, or a value in another unit than the query's)",
            describe(opening, kind, i)
        )
    };
    let n = recs.len();
    let k = cq.quant_k as usize;
    let mut latest_index = None;
    let q_ok = match cq.quant_op {
        OP_AT_LEAST if lo >= k => true,
        OP_AT_LEAST if hi < k => false,
        OP_AT_MOST if hi <= k => true,
        OP_AT_MOST if lo > k => false,
        OP_AT_LEAST | OP_AT_MOST => {
            return Err(indeterminate(format!(
                "{lo} records certainly match and {hi} possibly do, against a threshold of {k}: {}",
                straddles(first_open.unwrap_or(0))
            )))
        }
        _ => {
            // latest: the matching record with the greatest (date, leaf index).
            if let Some(i) = verdicts.iter().position(|v| v.base && v.date == 0) {
                return Err(indeterminate(format!(
                    "{} matches but has no date, so the latest result is unknown",
                    describe(opening, kind, i)
                )));
            }
            latest_index = verdicts
                .iter()
                .enumerate()
                .filter(|(_, v)| v.base)
                .max_by_key(|(i, v)| (v.date, *i))
                .map(|(i, _)| i);
            match latest_index {
                None => false,
                Some(i) if verdicts[i].value_in => true,
                Some(i) if verdicts[i].value_out => false,
                Some(i) => return Err(indeterminate(straddles(i))),
            }
        }
    };
    if cq.quant_op == OP_AT_LEAST && cq.quant_k == 1 && q_ok {
        return Ok(Plan {
            circuit: CircuitId::Exists,
            answer: age_ok,
            records_of_kind: n,
            matching: lo,
            opened_index: first_certain,
            latest_index: None,
        });
    }
    // The smallest scan circuit that can hold every record of the kind; if its keys are
    // missing, say so (run `zkmed setup`) rather than blaming the capacity.
    let needed = CircuitId::scans()
        .into_iter()
        .find(|c| c.capacity() >= n)
        .ok_or(ProveError::CapacityExceeded {
            kind,
            records: n,
            capacity: CircuitId::Scan512.capacity(),
        })?;
    let circuit = CircuitId::scans()
        .into_iter()
        .filter(|c| c.capacity() >= n && available.contains(c))
        .min_by_key(|c| c.capacity())
        .ok_or_else(|| ProveError::MissingKey(needed.as_str().into()))?;
    Ok(Plan {
        circuit,
        answer: q_ok && age_ok,
        records_of_kind: n,
        matching: lo,
        opened_index: None,
        latest_index,
    })
}

/// What to prove.
pub struct ProveRequest<'a> {
    pub opening: &'a Opening,
    pub identity: &'a IdentitySecret,
    /// Where the opening's record state is anchored: the note's blinding and the paths.
    pub state: &'a AnchoredState,
    pub query: &'a Query,
    /// The verifier's request value; the public challenge is `H(scope, request)`.
    pub request: Fr,
    pub scope: Fr,
}

/// A proof with what was learned on the way.
pub struct Proven {
    pub attestation: Attestation,
    pub plan: Plan,
}

/// Proves `req.query` for the patient. The answer is whatever is true: a "no" is proven as
/// carefully as a "yes".
pub fn prove<R: RngCore + CryptoRng>(
    keys: &KeyStore,
    req: &ProveRequest<'_>,
    rng: &mut R,
) -> Result<Proven> {
    if req.identity.commitment() != req.opening.identity_commitment {
        return Err(ProveError::IdentityMismatch);
    }
    let cq = req.query.compile()?;
    let recs = encode_kind(req.opening, &cq)?;
    let plan = plan_encoded(req.opening, &cq, &recs, &keys.available())?;
    let k = keys.get(plan.circuit)?;
    let trees = req.opening.trees()?;
    let roots: [Fr; 6] = std::array::from_fn(|i| trees[i].root());
    let record_commitment = zkmed_records::record_commitment(
        req.opening.identity_commitment,
        req.opening.patient_leaf()?,
        &roots,
    );
    let st = req.state;
    st.check(req.opening.identity_commitment, record_commitment)
        .map_err(|e| ProveError::State(e.to_string()))?;
    let public = PublicInputs {
        identity_root: st.identity_root,
        state_root: st.state_root,
        query_hash: cq.hash(),
        challenge: zkmed_state::note::challenge(req.scope, req.request),
        nullifier: req.identity.nullifier(req.scope),
        answer: plan.answer,
    };
    let common = CommonWitness {
        state: state_witness(req.identity, st, req.scope, req.request),
        birth_date: encode_date(req.opening.patient.birth_date)?,
        gender: req.opening.patient.gender.id(),
        patient_salt: req.opening.patient_salt,
        roots,
        query: cq.clone(),
    };
    let kind = Kind::from_id(cq.kind);
    let circuit = match plan.circuit {
        CircuitId::Exists => {
            let (record, path) = match (kind, plan.opened_index) {
                (Some(k), Some(i)) => {
                    let p = trees[k.index()].path(i)?;
                    (
                        to_witness(&recs[i]),
                        PathWitness {
                            siblings: p.siblings().to_vec(),
                            positions: p.positions().to_vec(),
                        },
                    )
                }
                _ => (
                    RecordWitness::default(),
                    PathWitness {
                        siblings: vec![[Fr::from(0u64); 3]; TREE_DEPTH],
                        positions: vec![0; TREE_DEPTH],
                    },
                ),
            };
            AnyCircuit::Exists(ExistsCircuit {
                public: Some(public.clone()),
                common: Some(common),
                record: Some(record),
                path: Some(path),
            })
        }
        scan => AnyCircuit::Scan(ScanCircuit {
            capacity: scan.capacity(),
            public: Some(public.clone()),
            common: Some(common),
            records: Some(recs.iter().map(to_witness).collect()),
            latest: plan.latest_index,
        }),
    };
    let proof = groth16_prove(&k, circuit, rng)?;
    let inputs = public.to_field_elements();
    let ok = Groth16::<Bn254>::verify_with_processed_vk(&k.pvk, &inputs, &proof).unwrap_or(false);
    if !ok {
        return Err(ProveError::SelfCheck(plan.circuit.as_str().into()));
    }
    let mut bytes = Vec::new();
    proof
        .serialize_compressed(&mut bytes)
        .expect("serialize to Vec");
    Ok(Proven {
        attestation: Attestation {
            version: ATTESTATION_VERSION,
            circuit: plan.circuit.as_str().into(),
            key_hash: k.key_hash.clone(),
            public,
            proof: hex::encode(bytes),
        },
        plan,
    })
}

/// Groth16 proof with the cached matrices: the circuit is synthesized in prove mode without
/// building constraints (values only), then the QAP witness map and the MSMs run.
fn groth16_prove<R: RngCore + CryptoRng>(
    k: &CircuitKeys,
    circuit: AnyCircuit,
    rng: &mut R,
) -> Result<Proof<Bn254>> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    let t0 = std::time::Instant::now();
    circuit
        .generate_constraints(cs.clone())
        .map_err(|e| ProveError::Synthesis(e.to_string()))?;
    tracing::debug!(
        synth_ms = t0.elapsed().as_secs_f64() * 1e3,
        "witness synthesized"
    );
    let (instance, witness) = {
        let b = cs
            .borrow()
            .ok_or_else(|| ProveError::Synthesis("constraint system dropped".into()))?;
        let i = b
            .instance_assignment()
            .map_err(|e| ProveError::Synthesis(e.to_string()))?
            .to_vec();
        let w = b
            .witness_assignment()
            .map_err(|e| ProveError::Synthesis(e.to_string()))?
            .to_vec();
        (i, w)
    };
    if instance.len() != k.r1cs.num_instance_variables {
        return Err(ProveError::Synthesis(format!(
            "{} instance variables, expected {}",
            instance.len(),
            k.r1cs.num_instance_variables
        )));
    }
    let mut full = instance;
    full.extend_from_slice(&witness);
    let r = Fr::rand(rng);
    let s = Fr::rand(rng);
    Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
        &k.pk,
        r,
        s,
        &k.r1cs.matrices,
        k.r1cs.num_instance_variables,
        k.r1cs.num_constraints,
        &full,
    )
    .map_err(|e| ProveError::Synthesis(e.to_string()))
}

fn state_witness(
    identity: &IdentitySecret,
    st: &AnchoredState,
    scope: Fr,
    request: Fr,
) -> StateWitness {
    StateWitness::new(
        identity.secret(),
        identity.nullifier_key(),
        st,
        scope,
        request,
    )
}

fn to_witness(e: &EncodedRecord) -> RecordWitness {
    RecordWitness {
        meta: e.meta,
        value_lo: e.value_lo,
        value_hi: e.value_hi,
        unit: e.unit,
        aux: e.aux,
        codes: e.codes,
        value_codes: e.value_codes,
    }
}
