//! The inclusion circuit (`exists-v3`): one record, opened by a depth-10 quaternary Merkle
//! path (2^20 leaves per kind).
//!
//! **Relation.** Public `(identity_root, state_root, qh, challenge, nf, answer)`. The prover
//! knows an identity `(s, nk)`, `scope, request`, `birth_date, gender, salt_p, roots[6]`, the
//! anchored state's paths (`state.rs`), a compiled query `q`, one record and a path such that
//! * `idc = H(s, nk)` is in the identity tree, `challenge = H(scope, request)`,
//!   `nf = H(nk, scope)`;
//! * `qh = QueryHash(q)` and every field of `q` is in its range;
//! * `C = H(idc, H(birth_date, gender, salt_p), roots[0..6])` is the record commitment of an
//!   anchored, unspent state note under `state_root` (`state.rs`);
//! * if `q.kind != 0`: the record's leaf is on the path to `roots[q.kind - 1]`, the record's
//!   kind is `q.kind`, it CERTAINLY satisfies every clause of `q` (a censored value lies
//!   entirely inside the queried range), and the quantifier is `count >= 1` — so the record
//!   part of the query is TRUE;
//! * `answer = !q.age_enabled || (birth_date != 0 && birth_date <= q.birth_cutoff)`.
//!
//! So this circuit proves a "yes" for an `exists` query (and either answer of the age
//! clause). A "no" for a record quantifier is proven by the scan circuits.

use crate::common::{bind_answer, Common, RecordVars};
use crate::gadgets::{
    merkle::{alloc_path, root_from_path},
    FrVar,
};
use crate::witness::{CommonWitness, PathWitness, RecordWitness};
use ark_bn254::Fr;
use ark_r1cs_std::{eq::EqGadget, fields::FieldVar};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use zkmed_core::attestation::PublicInputs;
use zkmed_core::encoding::TREE_DEPTH;

#[derive(Default)]
pub struct ExistsCircuit {
    pub public: Option<PublicInputs>,
    pub common: Option<CommonWitness>,
    pub record: Option<RecordWitness>,
    pub path: Option<PathWitness>,
}

impl ConstraintSynthesizer<Fr> for ExistsCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let c = Common::synthesize(cs.clone(), self.public.as_ref(), self.common.as_ref())?;
        let rec = RecordVars::synthesize(cs.clone(), self.record.as_ref(), &c.query)?;
        let levels = alloc_path(cs.clone(), self.path.as_ref(), TREE_DEPTH)?;
        let root = root_from_path(&rec.leaf, &levels)?;
        let enabled = FrVar::from(c.query.has_records());
        let selected = c.query.select_root(&c.roots)?;
        let zero = FrVar::zero();
        ((root - selected) * &enabled).enforce_equal(&zero)?;
        ((&rec.kind - &c.query.kind) * &enabled).enforce_equal(&zero)?;
        let certain = rec.base & rec.value_in;
        ((FrVar::one() - FrVar::from(certain)) * &enabled).enforce_equal(&zero)?;
        ((FrVar::one() - FrVar::from(c.query.op_at_least.clone())) * &enabled)
            .enforce_equal(&zero)?;
        ((&c.query.quant_k - FrVar::one()) * &enabled).enforce_equal(&zero)?;
        bind_answer(&c.public, &c.age_ok)
    }
}
