//! The scan circuits (`scan64-v3`, `scan512-v3`): every record of one kind, so any quantifier
//! and either answer can be proven.
//!
//! **Relation.** Public `(identity_root, state_root, qh, challenge, nf, answer)`. With `N`
//! the capacity, the prover knows the common witness (as in `exists`) and `N` slots
//! `(present_i, sel_i, record_i)` such that
//! * identity, challenge, nullifier, query hash and the anchored, unspent record commitment
//!   hold as in `exists`, `q.kind != 0`;
//! * the kind tree built from `leaf_i = present_i · H(record_i)` for `i < N` and empty (0)
//!   leaves everywhere else is `roots[q.kind - 1]` — so the tree holds NO record outside the
//!   first `N` slots, and every non-empty slot is opened (a real leaf is never 0, so a
//!   record cannot be hidden as an empty slot);
//! * every present record has kind `q.kind`;
//! * with `b_i = present_i ∧ base(record_i)` (code, date, status clauses), `in_i` / `out_i`
//!   the value clauses certainly holding / failing (censored values are intervals):
//!   `lo = Σ b_i ∧ in_i`, `hi = Σ b_i ∧ ¬out_i`;
//! * `count >= k`: decided (`lo >= k` or `hi < k`), answer `lo >= k`;
//!   `count <= k`: decided (`hi <= k` or `lo > k`), answer `hi <= k`;
//!   `latest`: `sel` is one-hot over the `b_i` if any `b_i` (else all zero), every `b_i` has
//!   `date_i + [i after the selected slot] <= date_sel` and a date, the selected record is
//!   decided, answer `in_sel`;
//! * `answer = q_ok ∧ age_ok`.
//!
//! A patient with more than `N` records of the kind cannot satisfy the circuit; the prover
//! reports the capacity instead of producing a wrong answer. An undecidable answer
//! (indeterminate) cannot be proven at all.

use crate::common::{bind_answer, Common, RecordVars};
use crate::gadgets::{
    bits::{is_geq_unchecked, is_zero},
    poseidon::poseidon_var,
    FrVar,
};
use crate::witness::{CommonWitness, RecordWitness};
use ark_bn254::Fr;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zkmed_core::attestation::PublicInputs;
use zkmed_core::encoding::{COUNT_BITS, DATE_BITS, TREE_ARITY, TREE_DEPTH};
use zkmed_core::poseidon::zero_hashes;

pub struct ScanCircuit {
    pub capacity: usize,
    pub public: Option<PublicInputs>,
    pub common: Option<CommonWitness>,
    /// The kind's records in leaf order (at most `capacity`).
    pub records: Option<Vec<RecordWitness>>,
    /// For a `latest` query: the slot of the latest matching record (the prover's native
    /// evaluator finds it; the circuit checks it). `None` otherwise.
    pub latest: Option<usize>,
}

impl ScanCircuit {
    /// An empty instance for key generation.
    pub fn blank(capacity: usize) -> Self {
        ScanCircuit {
            capacity,
            public: None,
            common: None,
            records: None,
            latest: None,
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
        let latest_index = self.latest;
        let dummy = RecordWitness::default();
        let zero = FrVar::zero();
        let one = FrVar::one();
        let mut leaves = Vec::with_capacity(self.capacity);
        // Counts of records that certainly / possibly satisfy the whole filter.
        let mut count_lo = FrVar::zero();
        let mut count_hi = FrVar::zero();
        let mut count_base = FrVar::zero();
        // `latest`: a one-hot selection, the selected record's date and verdicts.
        let mut selected = FrVar::zero();
        let mut sel_date = FrVar::zero();
        let mut sel_in = FrVar::zero();
        let mut sel_decided = FrVar::zero();
        let mut slots = Vec::with_capacity(self.capacity);
        for i in 0..self.capacity {
            let rec_w = self.records.as_ref().map(|r| r.get(i).unwrap_or(&dummy));
            let present = Boolean::new_witness(cs.clone(), || {
                self.records
                    .as_ref()
                    .map(|r| i < r.len())
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let sel = Boolean::new_witness(cs.clone(), || {
                self.records
                    .as_ref()
                    .map(|_| latest_index == Some(i))
                    .ok_or(SynthesisError::AssignmentMissing)
            })?;
            let rec = RecordVars::synthesize(cs.clone(), rec_w, &c.query)?;
            let p = FrVar::from(present.clone());
            leaves.push(&p * &rec.leaf);
            ((&rec.kind - &c.query.kind) * &p).enforce_equal(&zero)?;
            let b = present & rec.base.clone();
            count_base += FrVar::from(b.clone());
            count_lo += FrVar::from(b.clone() & rec.value_in.clone());
            count_hi += FrVar::from(b.clone() & !rec.value_out.clone());
            // Only a matching record can be selected.
            let s = FrVar::from(sel.clone());
            (&s * (&one - FrVar::from(b.clone()))).enforce_equal(&zero)?;
            selected += &s;
            sel_date += &s * &rec.date;
            sel_in += FrVar::from(sel.clone() & rec.value_in.clone());
            sel_decided += FrVar::from(sel & (rec.value_in | rec.value_out));
            slots.push((b, rec.date, rec.undated, s));
        }
        // `latest`: with `after_i` = 1 for the slots after the selected one, every matching
        // record has (date_i, i) <= (sel_date, sel): date_i + after_i <= sel_date. A
        // matching record without a date would be unordered: refused (indeterminate).
        let any_base = !is_zero(&count_base)?;
        let latest_on = c.query.op_latest.clone() & any_base;
        selected.enforce_equal(&FrVar::from(latest_on))?;
        let mut after = FrVar::zero();
        for (b, date, undated, s) in slots {
            let t = b & c.query.op_latest.clone();
            // sel_date < 2^24 and date + after <= 2^24: both below 2^25.
            let not_later = is_geq_unchecked(&sel_date, &(&date + &after), DATE_BITS + 1)?;
            (FrVar::from(t.clone()) * (&one - FrVar::from(not_later))).enforce_equal(&zero)?;
            (FrVar::from(t) * FrVar::from(undated)).enforce_equal(&zero)?;
            after += &s;
        }
        let root = tree_root_from_prefix(leaves)?;
        root.enforce_equal(&c.query.select_root(&c.roots)?)?;
        let k = &c.query.quant_k;
        let lo_ge = is_geq_unchecked(&count_lo, k, COUNT_BITS)?;
        let hi_ge = is_geq_unchecked(&count_hi, k, COUNT_BITS)?;
        let lo_le = is_geq_unchecked(k, &count_lo, COUNT_BITS)?;
        let hi_le = is_geq_unchecked(k, &count_hi, COUNT_BITS)?;
        // The answer must be decided: count >= k is certainly true (lo >= k) or certainly
        // false (hi < k); count <= k certainly true (hi <= k) or false (lo > k); `latest`:
        // the selected record's value clauses are decided (or there is no matching record).
        let decided_ge = lo_ge.clone() | !hi_ge;
        let decided_le = hi_le.clone() | !lo_le;
        let decided_latest = sel_decided.is_eq(&selected)?;
        let decided = Boolean::kary_or(&[
            c.query.op_at_least.clone() & decided_ge,
            c.query.op_at_most.clone() & decided_le,
            c.query.op_latest.clone() & decided_latest,
        ])?;
        decided.enforce_equal(&Boolean::TRUE)?;
        let latest_yes = !is_zero(&sel_in)?;
        let q_ok = Boolean::kary_or(&[
            c.query.op_at_least.clone() & lo_ge,
            c.query.op_at_most.clone() & hi_le,
            c.query.op_latest.clone() & latest_yes,
        ])?;
        bind_answer(&c.public, &(q_ok & c.age_ok))
    }
}
