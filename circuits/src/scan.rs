//! The scan circuits (`scan64-v1`, `scan512-v1`): every record of one kind, so any quantifier
//! and either answer can be proven.
//!
//! **Relation.** Public `(C, idc, qh, challenge, scope, nf, answer)`. With `N` the capacity,
//! the prover knows the common witness (as in `exists`) and `N` slots
//! `(present_i, record_i)` such that
//! * identity, nullifier, query hash and record commitment hold as in `exists`, `q.kind != 0`;
//! * the kind tree built from `leaf_i = present_i · H(record_i)` for `i < N` and empty (0)
//!   leaves everywhere else is `roots[q.kind - 1]` — so the tree holds NO record outside the
//!   first `N` slots, and every non-empty slot is opened (a real leaf is never 0, so a
//!   record cannot be hidden as an empty slot);
//! * every present record has kind `q.kind`;
//! * `count = Σ present_i ∧ filter(record_i)` and
//!   `answer = (q.quant_op == 0 ? count >= q.k : count <= q.k) ∧ age_ok`.
//!
//! A patient with more than `N` records of the kind cannot satisfy the circuit; the prover
//! reports the capacity instead of producing a wrong answer.

use crate::common::{bind_answer, Common, RecordVars};
use crate::gadgets::{bits::is_geq_unchecked, poseidon::poseidon_var, FrVar};
use crate::witness::{CommonWitness, RecordWitness};
use ark_bn254::Fr;
use ark_r1cs_std::{
    alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar, select::CondSelectGadget,
};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zkmed_core::attestation::PublicInputs;
use zkmed_core::encoding::{COUNT_BITS, TREE_ARITY, TREE_DEPTH};
use zkmed_core::poseidon::zero_hashes;

pub struct ScanCircuit {
    pub capacity: usize,
    pub public: Option<PublicInputs>,
    pub common: Option<CommonWitness>,
    /// The kind's records in leaf order (at most `capacity`).
    pub records: Option<Vec<RecordWitness>>,
}

impl ScanCircuit {
    /// An empty instance for key generation.
    pub fn blank(capacity: usize) -> Self {
        ScanCircuit {
            capacity,
            public: None,
            common: None,
            records: None,
        }
    }
}

/// Root of a depth-`TREE_DEPTH` quaternary tree whose first `leaves.len()` leaves are given
/// and whose other leaves are 0. Groups made only of empty subtrees are the constants
/// `Z_h` and cost nothing.
pub fn tree_root_from_prefix(leaves: Vec<FrVar>) -> Result<FrVar, SynthesisError> {
    let z = zero_hashes();
    let mut level = leaves;
    for (h, zh) in z.iter().enumerate().take(TREE_DEPTH) {
        if level.is_empty() {
            level.push(FrVar::Constant(*zh));
        }
        while !level.len().is_multiple_of(TREE_ARITY) {
            level.push(FrVar::Constant(*zh));
        }
        level = level
            .chunks(TREE_ARITY)
            .map(poseidon_var)
            .collect::<Result<Vec<_>, _>>()?;
        debug_assert!(h < TREE_DEPTH);
    }
    debug_assert_eq!(level.len(), 1);
    Ok(level.swap_remove(0))
}

impl ConstraintSynthesizer<Fr> for ScanCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let c = Common::synthesize(cs.clone(), self.public.as_ref(), self.common.as_ref())?;
        c.query.kind_is[0].enforce_equal(&Boolean::FALSE)?;
        if let Some(r) = &self.records {
            if r.len() > self.capacity {
                return Err(SynthesisError::Unsatisfiable);
            }
        }
        let dummy = RecordWitness::default();
        let zero = FrVar::zero();
        let mut leaves = Vec::with_capacity(self.capacity);
        let mut count = FrVar::zero();
        for i in 0..self.capacity {
            let rec_w = self.records.as_ref().map(|r| r.get(i).unwrap_or(&dummy));
            let present = Boolean::new_witness(cs.clone(), || {
                self.records
                    .as_ref()
                    .map(|r| i < r.len())
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let rec = RecordVars::synthesize(cs.clone(), rec_w, &c.query)?;
            let p = FrVar::from(present.clone());
            leaves.push(&p * &rec.leaf);
            ((&rec.kind - &c.query.kind) * &p).enforce_equal(&zero)?;
            count += FrVar::from(present & rec.matches);
        }
        let root = tree_root_from_prefix(leaves)?;
        root.enforce_equal(&c.query.select_root(&c.roots)?)?;
        let ge = is_geq_unchecked(&count, &c.query.quant_k, COUNT_BITS)?;
        let le = is_geq_unchecked(&c.query.quant_k, &count, COUNT_BITS)?;
        let q_ok = Boolean::conditionally_select(&c.query.quant_op, &le, &ge)?;
        bind_answer(&c.public, &(q_ok & c.age_ok))
    }
}
