//! Parts shared by every zkmed circuit: the public statement, the identity and anchored
//! state (`state.rs`), the query witness and its hash, the patient leaf and age clause, the
//! record commitment, and the per-record filter.

use crate::gadgets::{
    bits::{alloc_bits, is_geq_unchecked, is_zero, pack},
    poseidon::poseidon_var,
    FrVar,
};
use crate::state;
use crate::witness::{CommonWitness, RecordWitness};
use ark_bn254::Fr;
use ark_ff::Field;
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use zkmed_core::attestation::{PublicInputs, NUM_PUBLIC_INPUTS};
use zkmed_core::encoding::{
    CODE_SET_SIZE, CODE_SLOTS, COUNT_BITS, DATE_BITS, STATUS_BITS, STATUS_SET_SIZE, VALUE_BITS,
    VALUE_CODE_SET_SIZE, VALUE_CODE_SLOTS,
};
use zkmed_core::query::ENCODING_VERSION;

type R<T> = Result<T, SynthesisError>;

fn missing() -> SynthesisError {
    SynthesisError::AssignmentMissing
}

/// The six public inputs, allocated in attestation order (nothing per patient).
pub struct PublicVars {
    pub identity_root: FrVar,
    pub state_root: FrVar,
    pub query_hash: FrVar,
    pub challenge: FrVar,
    pub nullifier: FrVar,
    pub answer: FrVar,
}

impl PublicVars {
    pub fn alloc(cs: ConstraintSystemRef<Fr>, p: Option<&PublicInputs>) -> R<Self> {
        let xs = p.map(|p| p.to_field_elements());
        let mut v = (0..NUM_PUBLIC_INPUTS)
            .map(|i| FrVar::new_input(cs.clone(), || xs.map(|x| x[i]).ok_or_else(missing)));
        let mut next = || v.next().expect("6 inputs");
        Ok(PublicVars {
            identity_root: next()?,
            state_root: next()?,
            query_hash: next()?,
            challenge: next()?,
            nullifier: next()?,
            answer: next()?,
        })
    }
}

/// The query fields, each range-checked by construction (bits), plus derived selectors.
pub struct QueryVars {
    /// `kind_is[j]` = (kind == j) for j = 0..=6; exactly one is true.
    pub kind_is: Vec<Boolean<Fr>>,
    pub kind: FrVar,
    /// `quant_op == 1`: `count <= k`.
    pub op_at_most: Boolean<Fr>,
    /// `quant_op == 2`: the latest matching record satisfies the value clauses.
    pub op_latest: Boolean<Fr>,
    /// `quant_op == 0`: `count >= k`.
    pub op_at_least: Boolean<Fr>,
    pub quant_k: FrVar,
    pub code_any: Boolean<Fr>,
    pub codes: Vec<FrVar>,
    pub value_code_any: Boolean<Fr>,
    pub value_codes: Vec<FrVar>,
    pub date_lo: FrVar,
    pub date_hi: FrVar,
    pub value_lo: FrVar,
    pub value_hi: FrVar,
    pub unit: FrVar,
    pub unit_any: Boolean<Fr>,
    pub statuses: Vec<FrVar>,
    pub age_enabled: Boolean<Fr>,
    pub birth_cutoff: FrVar,
}

impl QueryVars {
    /// Allocates the query witness and enforces `query_hash == H(...)` (docs/encoding.md).
    pub fn alloc(
        cs: ConstraintSystemRef<Fr>,
        w: Option<&CommonWitness>,
        query_hash: &FrVar,
    ) -> R<Self> {
        let q = w.map(|w| &w.query);
        let bool_w = |b: Option<bool>| Boolean::new_witness(cs.clone(), || b.ok_or_else(missing));
        let (kind_bits, kind) = alloc_bits(cs.clone(), q.map(|q| q.kind as u64), 3)?;
        let (op_bits, _) = alloc_bits(cs.clone(), q.map(|q| q.quant_op as u64), 2)?;
        // quant_op in {0, 1, 2}: not both bits.
        (FrVar::from(op_bits[0].clone()) * FrVar::from(op_bits[1].clone()))
            .enforce_equal(&FrVar::zero())?;
        let op_at_most = op_bits[0].clone();
        let op_latest = op_bits[1].clone();
        let op_at_least = !(op_at_most.clone() | op_latest.clone());
        let code_any = bool_w(q.map(|q| q.code_any))?;
        let value_code_any = bool_w(q.map(|q| q.value_code_any))?;
        let age_enabled = bool_w(q.map(|q| q.age_enabled))?;
        let (k_bits, quant_k) = alloc_bits(cs.clone(), q.map(|q| q.quant_k as u64), COUNT_BITS)?;
        // flags = 2 | kind << 8 | quant_op << 11 | code_any << 13 | value_code_any << 14
        //           | age << 15 | k << 16
        let flags = FrVar::Constant(Fr::from(ENCODING_VERSION as u64))
            + pack(&kind_bits) * Fr::from(1u64 << 8)
            + pack(&op_bits) * Fr::from(1u64 << 11)
            + FrVar::from(code_any.clone()) * Fr::from(1u64 << 13)
            + FrVar::from(value_code_any.clone()) * Fr::from(1u64 << 14)
            + FrVar::from(age_enabled.clone()) * Fr::from(1u64 << 15)
            + pack(&k_bits) * Fr::from(1u64 << 16);
        let (_, date_lo) = alloc_bits(cs.clone(), q.map(|q| q.date_lo as u64), DATE_BITS)?;
        let (_, date_hi) = alloc_bits(cs.clone(), q.map(|q| q.date_hi as u64), DATE_BITS)?;
        let (_, value_lo) = alloc_bits(cs.clone(), q.map(|q| q.value_lo), VALUE_BITS)?;
        let (_, value_hi) = alloc_bits(cs.clone(), q.map(|q| q.value_hi), VALUE_BITS)?;
        let unit = FrVar::new_witness(cs.clone(), || q.map(|q| q.unit).ok_or_else(missing))?;
        let (_, birth_cutoff) =
            alloc_bits(cs.clone(), q.map(|q| q.birth_cutoff as u64), DATE_BITS)?;
        let mut statuses = Vec::with_capacity(STATUS_SET_SIZE);
        for i in 0..STATUS_SET_SIZE {
            let (_, s) = alloc_bits(cs.clone(), q.map(|q| q.statuses[i] as u64), STATUS_BITS)?;
            statuses.push(s);
        }
        // Void (status 0) must never match: every allowed status is non-zero.
        let mut prod = statuses[0].clone();
        for s in &statuses[1..] {
            prod *= s;
        }
        prod.enforce_not_equal(&FrVar::zero())?;
        let status_pack = statuses
            .iter()
            .enumerate()
            .fold(FrVar::zero(), |acc, (i, s)| {
                acc + s * Fr::from(1u64 << (STATUS_BITS as usize * i))
            });
        let codes = (0..CODE_SET_SIZE)
            .map(|i| FrVar::new_witness(cs.clone(), || q.map(|q| q.codes[i]).ok_or_else(missing)))
            .collect::<R<Vec<_>>>()?;
        let chunks = codes.chunks(8).map(poseidon_var).collect::<R<Vec<_>>>()?;
        let codes_hash = poseidon_var(&chunks)?;
        let value_codes = (0..VALUE_CODE_SET_SIZE)
            .map(|i| {
                FrVar::new_witness(cs.clone(), || {
                    q.map(|q| q.value_codes[i]).ok_or_else(missing)
                })
            })
            .collect::<R<Vec<_>>>()?;
        let value_codes_hash = poseidon_var(&value_codes)?;
        let h = poseidon_var(&[
            flags,
            date_lo.clone(),
            date_hi.clone(),
            value_lo.clone(),
            value_hi.clone(),
            unit.clone(),
            status_pack,
            birth_cutoff.clone(),
            codes_hash,
            value_codes_hash,
        ])?;
        h.enforce_equal(query_hash)?;
        let kind_is = (0..=6u64)
            .map(|j| kind.is_eq(&FrVar::Constant(Fr::from(j))))
            .collect::<R<Vec<_>>>()?;
        // kind in 0..=6 (7 is not a kind).
        kind_is
            .iter()
            .fold(FrVar::zero(), |acc, b| acc + FrVar::from(b.clone()))
            .enforce_equal(&FrVar::one())?;
        let unit_any = is_zero(&unit)?;
        Ok(QueryVars {
            kind_is,
            kind,
            op_at_most,
            op_latest,
            op_at_least,
            quant_k,
            code_any,
            codes,
            value_code_any,
            value_codes,
            date_lo,
            date_hi,
            value_lo,
            value_hi,
            unit,
            unit_any,
            statuses,
            age_enabled,
            birth_cutoff,
        })
    }

    /// `Σ_j kind_is[j]·roots[j-1]`: the root of the queried kind's tree (0 if kind == 0).
    pub fn select_root(&self, roots: &[FrVar]) -> R<FrVar> {
        let mut acc = FrVar::zero();
        for (j, r) in roots.iter().enumerate() {
            acc += FrVar::from(self.kind_is[j + 1].clone()) * r;
        }
        Ok(acc)
    }

    /// 1 if the query has a record clause (kind != 0).
    pub fn has_records(&self) -> Boolean<Fr> {
        !self.kind_is[0].clone()
    }
}

/// Identity, challenge and nullifier, the anchored state, patient leaf / age, and the record
/// commitment.
pub struct Common {
    pub public: PublicVars,
    pub query: QueryVars,
    pub roots: Vec<FrVar>,
    /// `!age_enabled || (birth_date != 0 && birth_date <= birth_cutoff)`.
    pub age_ok: Boolean<Fr>,
}

impl Common {
    pub fn synthesize(
        cs: ConstraintSystemRef<Fr>,
        public: Option<&PublicInputs>,
        w: Option<&CommonWitness>,
    ) -> R<Self> {
        let public = PublicVars::alloc(cs.clone(), public)?;
        let state_w = w.map(|w| &w.state);
        // `challenge = H(scope, request)` binds the challenge (docs/state.md).
        let idc = state::identity(cs.clone(), &public, state_w)?;

        let query = QueryVars::alloc(cs.clone(), w, &public.query_hash)?;

        let (_, birth) = alloc_bits(cs.clone(), w.map(|w| w.birth_date as u64), DATE_BITS)?;
        let (_, gender) = alloc_bits(cs.clone(), w.map(|w| w.gender as u64), 2)?;
        let salt =
            FrVar::new_witness(cs.clone(), || w.map(|w| w.patient_salt).ok_or_else(missing))?;
        let patient_leaf = poseidon_var(&[birth.clone(), gender, salt])?;
        let born = !is_zero(&birth)?;
        let old_enough = is_geq_unchecked(&query.birth_cutoff, &birth, DATE_BITS)?;
        let age_ok = (!query.age_enabled.clone()) | (born & old_enough);

        let roots = (0..6)
            .map(|i| FrVar::new_witness(cs.clone(), || w.map(|w| w.roots[i]).ok_or_else(missing)))
            .collect::<R<Vec<_>>>()?;
        let mut c_in = vec![idc, patient_leaf];
        c_in.extend(roots.iter().cloned());
        let record_commitment = poseidon_var(&c_in)?;
        state::anchored(cs.clone(), &public, state_w, &record_commitment)?;
        Ok(Common {
            public,
            query,
            roots,
            age_ok,
        })
    }
}

/// A record opened inside a circuit, with the query's verdict on it.
pub struct RecordVars {
    pub leaf: FrVar,
    pub kind: FrVar,
    /// The record's date (0 = none), 24 bits.
    pub date: FrVar,
    /// `date == 0`.
    pub undated: Boolean<Fr>,
    /// The code, date and status clauses hold (kind is checked by the caller).
    pub base: Boolean<Fr>,
    /// The value clauses (`value_*`, `value_code_in`) certainly hold.
    pub value_in: Boolean<Fr>,
    /// The value clauses certainly fail. `!value_in && !value_out` = indeterminate (a
    /// censored value straddling a bound, or a value in another unit).
    pub value_out: Boolean<Fr>,
}

/// `x ∈ set` for a record's code slots: `Π_slots Π_i (slot - set_i) == 0`. A zero slot
/// (padding) never matches: query sets never hold 0.
fn any_slot_in(slots: &[FrVar], set: &[FrVar]) -> R<Boolean<Fr>> {
    let mut acc: Option<FrVar> = None;
    for x in slots {
        for c in set {
            let f = x - c;
            acc = Some(match acc {
                None => f,
                Some(a) => a * f,
            });
        }
    }
    is_zero(&acc.expect("non-empty"))
}

impl RecordVars {
    /// Allocates a record (meta and value bounds as range-checked bits), hashes its leaf and
    /// evaluates the query's clauses on it (docs/circuits.md, "The per-record filter").
    pub fn synthesize(
        cs: ConstraintSystemRef<Fr>,
        r: Option<&RecordWitness>,
        q: &QueryVars,
    ) -> R<Self> {
        let (meta_bits, meta) = alloc_bits(cs.clone(), r.map(|r| r.meta), 32)?;
        let (_, vlo) = alloc_bits(cs.clone(), r.map(|r| r.value_lo), VALUE_BITS)?;
        let (_, vhi) = alloc_bits(cs.clone(), r.map(|r| r.value_hi), VALUE_BITS)?;
        let unit = FrVar::new_witness(cs.clone(), || r.map(|r| r.unit).ok_or_else(missing))?;
        let aux = FrVar::new_witness(cs.clone(), || r.map(|r| r.aux).ok_or_else(missing))?;
        let codes = (0..CODE_SLOTS)
            .map(|i| FrVar::new_witness(cs.clone(), || r.map(|r| r.codes[i]).ok_or_else(missing)))
            .collect::<R<Vec<_>>>()?;
        let value_codes = (0..VALUE_CODE_SLOTS)
            .map(|i| {
                FrVar::new_witness(cs.clone(), || {
                    r.map(|r| r.value_codes[i]).ok_or_else(missing)
                })
            })
            .collect::<R<Vec<_>>>()?;
        // head = meta + 2^32·value_lo + 2^73·value_hi: a free linear combination of bits.
        let head = meta
            + &vlo * Fr::from(2u64).pow([32u64])
            + &vhi * Fr::from(2u64).pow([32 + VALUE_BITS as u64]);
        let mut inputs = vec![head, unit.clone(), aux];
        inputs.extend(codes.iter().cloned());
        inputs.extend(value_codes.iter().cloned());
        let leaf = poseidon_var(&inputs)?;

        let d = DATE_BITS as usize;
        let s = STATUS_BITS as usize;
        let date = pack(&meta_bits[..d]);
        let status = pack(&meta_bits[d..d + s]);
        let kind = pack(&meta_bits[d + s..]);

        let code_ok = q.code_any.clone() | any_slot_in(&codes, &q.codes)?;
        let date_ok_lo = is_geq_unchecked(&date, &q.date_lo, DATE_BITS)?;
        let date_ok_hi = is_geq_unchecked(&q.date_hi, &date, DATE_BITS)?;
        let mut sprod = &status - &q.statuses[0];
        for st in &q.statuses[1..] {
            sprod *= &status - st;
        }
        let status_ok = is_zero(&sprod)?;
        let base = Boolean::kary_and(&[code_ok, date_ok_lo, date_ok_hi, status_ok])?;
        let undated = is_zero(&date)?;

        // Value interval [vlo, vhi] against the query's [value_lo, value_hi]; all four are
        // < 2^41, and +1 keeps them < 2^42.
        let n = VALUE_BITS + 1;
        let one = FrVar::one();
        let contained =
            is_geq_unchecked(&vlo, &q.value_lo, n)? & is_geq_unchecked(&q.value_hi, &vhi, n)?;
        let disjoint = is_geq_unchecked(&q.value_lo, &(&vhi + &one), n)?
            | is_geq_unchecked(&vlo, &(&q.value_hi + &one), n)?;
        let has_value = !is_zero(&vhi)?;
        let unit_ok = q.unit_any.clone() | unit.is_eq(&q.unit)?;
        let num_in = contained & unit_ok.clone();
        let num_out = !num_in.clone() & (!has_value | (unit_ok & disjoint));
        let vcode_ok = q.value_code_any.clone() | any_slot_in(&value_codes, &q.value_codes)?;
        let value_in = num_in & vcode_ok.clone();
        let value_out = !value_in.clone() & (num_out | !vcode_ok);
        Ok(RecordVars {
            leaf,
            kind,
            date,
            undated,
            base,
            value_in,
            value_out,
        })
    }
}

/// Forces the public `answer` to equal `computed`.
pub fn bind_answer(public: &PublicVars, computed: &Boolean<Fr>) -> R<()> {
    FrVar::from(computed.clone()).enforce_equal(&public.answer)
}
