//! Bit decomposition, range checks and comparisons. The soundness argument for each is in
//! `docs/circuits.md` ("Range checks").

use super::FrVar;
use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, BigInteger, Field, One, PrimeField, Zero};
use ark_r1cs_std::{alloc::AllocVar, boolean::Boolean, eq::EqGadget, GR1CSVar};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

/// Allocates `n` boolean witnesses holding the little-endian bits of `value` (an integer the
/// prover claims is `< 2^n`). Cost: `n` constraints (booleanity). The returned linear
/// combination `Σ 2^i b_i` is therefore a field element in `[0, 2^n)` by construction —
/// this is how every bounded witness (dates, values, statuses, thresholds) is introduced,
/// so it is range-checked before any comparison uses it.
pub fn alloc_bits(
    cs: ConstraintSystemRef<Fr>,
    value: Option<u64>,
    n: u32,
) -> Result<(Vec<Boolean<Fr>>, FrVar), SynthesisError> {
    assert!(n <= 64);
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .map(|v| (v >> i) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let lc = pack(&bits);
    Ok((bits, lc))
}

/// `Σ 2^i b_i` as a linear combination (free).
pub fn pack(bits: &[Boolean<Fr>]) -> FrVar {
    let mut acc = FrVar::Constant(Fr::zero());
    let mut c = Fr::one();
    for b in bits {
        acc += FrVar::from(b.clone()) * c;
        c.double_in_place();
    }
    acc
}

/// Decomposes an existing variable into exactly `n` bits and enforces the recomposition
/// (`n + 1` constraints). Unsatisfiable if `x >= 2^n` as an integer in `[0, p)`.
pub fn to_bits_checked(x: &FrVar, n: u32) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    assert!((n as usize) < Fr::MODULUS_BIT_SIZE as usize - 1);
    let cs = x.cs();
    let bits = (0..n as usize)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                let v = x.value()?.into_bigint();
                Ok(v.get_bit(i))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    pack(&bits).enforce_equal(x)?;
    Ok(bits)
}

/// `a >= b` for `a, b` already known to be in `[0, 2^n)` (the `_unchecked` in the name: the
/// caller must have range-checked both — every call site passes values built by
/// [`alloc_bits`] or sums of at most `2^n - 1` booleans). Decomposes `a - b + 2^n`, which lies
/// in `[1, 2^(n+1))`, into `n + 1` bits; the top bit is `a >= b`. Cost: `n + 2` constraints.
pub fn is_geq_unchecked(a: &FrVar, b: &FrVar, n: u32) -> Result<Boolean<Fr>, SynthesisError> {
    let shift = Fr::from(2u64).pow([n as u64]);
    let d = a - b + FrVar::Constant(shift);
    if let FrVar::Constant(c) = &d {
        let v = c.into_bigint();
        return Ok(Boolean::constant(v.get_bit(n as usize)));
    }
    let bits = to_bits_checked(&d, n + 1)?;
    Ok(bits[n as usize].clone())
}

/// `x == 0` as a boolean (2 constraints).
pub fn is_zero(x: &FrVar) -> Result<Boolean<Fr>, SynthesisError> {
    x.is_eq(&FrVar::Constant(Fr::zero()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn geq_is_exact_on_range() {
        for (a, b) in [
            (0u64, 0u64),
            (5, 3),
            (3, 5),
            (255, 0),
            (0, 255),
            (255, 255),
            (128, 127),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let (_, av) = alloc_bits(cs.clone(), Some(a), 8).unwrap();
            let (_, bv) = alloc_bits(cs.clone(), Some(b), 8).unwrap();
            let ge = is_geq_unchecked(&av, &bv, 8).unwrap();
            assert_eq!(ge.value().unwrap(), a >= b, "{a} >= {b}");
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn to_bits_rejects_out_of_range_and_field_aliases() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let x = FrVar::new_witness(cs.clone(), || Ok(Fr::from(256u64))).unwrap();
        // The honest decomposition of 256 into 8 bits does not exist: the witness generator
        // produces the low 8 bits (all zero) and the recomposition constraint fails.
        let _ = to_bits_checked(&x, 8).unwrap();
        assert!(!cs.is_satisfied().unwrap());
        let cs = ConstraintSystem::<Fr>::new_ref();
        let x = FrVar::new_witness(cs.clone(), || Ok(-Fr::one())).unwrap(); // p - 1
        let _ = to_bits_checked(&x, 40).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn cost() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let (_, a) = alloc_bits(cs.clone(), Some(9), 24).unwrap();
        assert_eq!(cs.num_constraints(), 24);
        let (_, b) = alloc_bits(cs.clone(), Some(7), 24).unwrap();
        let before = cs.num_constraints();
        let _ = is_geq_unchecked(&a, &b, 24).unwrap();
        assert_eq!(cs.num_constraints() - before, 26);
    }
}
