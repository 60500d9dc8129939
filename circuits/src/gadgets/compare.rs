//! `a < b` for arbitrary field elements, as integers in `[0, r)`: the ordering of the
//! spent-state set (docs/state.md). Native twin: `zkmed_state::indexed` (byte-wise big-endian
//! comparison of canonical representations).
//!
//! Each operand is decomposed into its **canonical** 254-bit little-endian representation
//! (`ToBitsGadget::to_bits_le` on an `FpVar` enforces that the bits, read as an integer, are
//! below `r`: a non-canonical decomposition `x + r` is rejected, so the integer compared is
//! the element's unique representative). The bits are packed into two 127-bit limbs and the
//! limbs compared lexicographically with [`is_geq_unchecked`], whose range precondition holds
//! by construction (each limb is a sum of 127 boolean terms).

use super::bits::{is_geq_unchecked, pack};
use super::FrVar;
use ark_bn254::Fr;
use ark_r1cs_std::{boolean::Boolean, convert::ToBitsGadget, eq::EqGadget};
use ark_relations::gr1cs::SynthesisError;

const LIMB: usize = 127;

/// A field element split into canonical 127-bit limbs `(hi, lo)`, `x = hi·2^127 + lo`.
pub struct Limbs {
    pub hi: FrVar,
    pub lo: FrVar,
}

/// Canonical limbs of `x` (about 2 × 254 constraints: booleanity and the in-field check).
pub fn limbs(x: &FrVar) -> Result<Limbs, SynthesisError> {
    let bits = x.to_bits_le()?;
    debug_assert_eq!(bits.len(), 254);
    Ok(Limbs {
        lo: pack(&bits[..LIMB]),
        hi: pack(&bits[LIMB..]),
    })
}

/// `a < b` as integers, from canonical limbs (about 3 × 130 constraints).
pub fn is_less(a: &Limbs, b: &Limbs) -> Result<Boolean<Fr>, SynthesisError> {
    let n = LIMB as u32;
    let hi_lt = !is_geq_unchecked(&a.hi, &b.hi, n)?;
    let hi_eq = a.hi.is_eq(&b.hi)?;
    let lo_lt = !is_geq_unchecked(&a.lo, &b.lo, n)?;
    Ok(hi_lt | (hi_eq & lo_lt))
}
