//! Building circuit witnesses by hand (no prover code), to check satisfiability directly
//! at the constraint-system level — including witnesses that lie.

use ark_bn254::Fr;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, OptimizationGoal};
use std::collections::BTreeMap;
use std::sync::Mutex;
use zkmed_circuits::exists::ExistsCircuit;
use zkmed_circuits::scan::ScanCircuit;
use zkmed_circuits::witness::{CommonWitness, PathWitness, RecordWitness, StateWitness};
use zkmed_core::attestation::PublicInputs;
use zkmed_core::encoding::{encode_date, Kind, TREE_DEPTH};
use zkmed_core::query::Query;

use super::Patient;

/// `(scope, request)` behind each public challenge `H(scope, request)` these helpers made,
/// so that a witness can be built from the public inputs alone. A challenge not in here
/// (a test forged it) gets a witness with the test scope and the forged value as request:
/// nobody knows a preimage of a forged challenge, so the circuit must then be unsatisfied.
static REQUESTS: Mutex<BTreeMap<String, (Fr, Fr)>> = Mutex::new(BTreeMap::new());

/// The public inputs of an attestation by `p` for `q`, request value `request` in `scope`,
/// against `p`'s current anchored state.
pub fn public_inputs(p: &Patient, q: &Query, request: Fr, scope: Fr, answer: bool) -> PublicInputs {
    let st = p.state();
    let challenge = zkmed_state::note::challenge(scope, request);
    REQUESTS
        .lock()
        .unwrap()
        .insert(challenge.to_string(), (scope, request));
    PublicInputs {
        identity_root: st.identity_root,
        state_root: st.state_root,
        query_hash: q.hash().unwrap(),
        challenge,
        nullifier: p.identity.nullifier(scope),
        answer,
    }
}

/// The identity and anchored-state witness of `p` for the challenge in `public`.
pub fn state_witness(p: &Patient, public: &PublicInputs) -> StateWitness {
    let (scope, request) = REQUESTS
        .lock()
        .unwrap()
        .get(&public.challenge.to_string())
        .copied()
        .unwrap_or((Fr::from(super::SCOPE), public.challenge));
    StateWitness::new(
        p.identity.secret(),
        p.identity.nullifier_key(),
        &p.state(),
        scope,
        request,
    )
}

pub fn common_witness(p: &Patient, q: &Query, public: &PublicInputs) -> CommonWitness {
    CommonWitness {
        state: state_witness(p, public),
        birth_date: encode_date(p.opening.patient.birth_date).unwrap(),
        gender: p.opening.patient.gender.id(),
        patient_salt: p.opening.patient_salt,
        roots: p.opening.roots().unwrap(),
        query: q.compile().unwrap(),
    }
}

pub fn record_witnesses(p: &Patient, kind: Kind) -> Vec<RecordWitness> {
    p.opening
        .records_of(kind)
        .iter()
        .map(|(_, r)| {
            let e = r.record.encode(r.salt).unwrap();
            RecordWitness {
                meta: e.meta,
                value_lo: e.value_lo,
                value_hi: e.value_hi,
                unit: e.unit,
                aux: e.aux,
                codes: e.codes,
                value_codes: e.value_codes,
            }
        })
        .collect()
}

/// The scan circuit over all records of the query's kind (or `records` if given).
pub fn scan_circuit(
    p: &Patient,
    q: &Query,
    public: PublicInputs,
    records: Option<Vec<RecordWitness>>,
    capacity: usize,
) -> ScanCircuit {
    scan_circuit_selecting(p, q, public, records, capacity, None)
}

/// [`scan_circuit`] with the `latest` selection given by hand (a slot, or none).
pub fn scan_circuit_selecting(
    p: &Patient,
    q: &Query,
    public: PublicInputs,
    records: Option<Vec<RecordWitness>>,
    capacity: usize,
    latest: Option<usize>,
) -> ScanCircuit {
    let kind = q.kind().expect("scan queries have a records clause");
    ScanCircuit {
        capacity,
        common: Some(common_witness(p, q, &public)),
        public: Some(public),
        records: Some(records.unwrap_or_else(|| record_witnesses(p, kind))),
        latest,
    }
}

/// The inclusion circuit opening leaf `index` of the query's kind (an empty path for an
/// age-only query).
pub fn exists_circuit(
    p: &Patient,
    q: &Query,
    public: PublicInputs,
    index: Option<usize>,
) -> ExistsCircuit {
    let (record, path) = match (q.kind(), index) {
        (Some(kind), Some(i)) => {
            let recs = record_witnesses(p, kind);
            let tree = p.opening.tree(kind).unwrap();
            let path = tree.path(i).unwrap();
            (
                recs.get(i).cloned().unwrap_or_default(),
                PathWitness {
                    siblings: path.siblings().to_vec(),
                    positions: path.positions().to_vec(),
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
    ExistsCircuit {
        common: Some(common_witness(p, q, &public)),
        public: Some(public),
        record: Some(record),
        path: Some(path),
    }
}

/// Synthesizes `c` with its witness and reports whether every constraint holds.
/// `Err` = synthesis itself refused the witness (also a rejection).
pub fn satisfied<C: ConstraintSynthesizer<Fr>>(c: C) -> Result<bool, String> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    c.generate_constraints(cs.clone())
        .map_err(|e| e.to_string())?;
    cs.finalize();
    cs.is_satisfied().map_err(|e| e.to_string())
}

/// True only if the witness synthesizes and satisfies every constraint.
pub fn accepted<C: ConstraintSynthesizer<Fr>>(c: C) -> bool {
    satisfied(c).unwrap_or(false)
}

/// The R1CS matrices of a circuit exactly as the keys were made from them (synthesized once
/// per test binary).
pub fn shape(id: zkmed_circuits::CircuitId) -> &'static zkmed_prover::keys::R1csShape {
    use std::sync::OnceLock;
    static SHAPES: [OnceLock<zkmed_prover::keys::R1csShape>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = zkmed_circuits::CircuitId::ALL
        .iter()
        .position(|c| *c == id)
        .unwrap();
    SHAPES[i].get_or_init(|| zkmed_prover::keys::R1csShape::of(id).unwrap())
}

/// Like [`satisfied`] but faster, for many cases: computes only the witness (as the prover
/// does) and checks `(A·z) ∘ (B·z) = C·z` row by row against the circuit's cached matrices.
/// `Err` = synthesis refused the witness.
pub fn satisfies_matrices<C: ConstraintSynthesizer<Fr>>(
    id: zkmed_circuits::CircuitId,
    c: C,
) -> Result<bool, String> {
    use ark_relations::gr1cs::SynthesisMode;
    let s = shape(id);
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    c.generate_constraints(cs.clone())
        .map_err(|e| e.to_string())?;
    let b = cs.borrow().ok_or("constraint system dropped")?;
    let mut z = b.instance_assignment().map_err(|e| e.to_string())?.to_vec();
    assert_eq!(z.len(), s.num_instance_variables, "instance size");
    z.extend_from_slice(b.witness_assignment().map_err(|e| e.to_string())?);
    let [ma, mb, mc] = &s.matrices[..] else {
        panic!("R1CS has 3 matrices")
    };
    let dot = |row: &[(Fr, usize)]| {
        row.iter()
            .fold(Fr::from(0u64), |acc, (coeff, i)| acc + *coeff * z[*i])
    };
    assert_eq!(ma.len(), s.num_constraints);
    Ok((0..s.num_constraints).all(|i| dot(&ma[i]) * dot(&mb[i]) == dot(&mc[i])))
}
