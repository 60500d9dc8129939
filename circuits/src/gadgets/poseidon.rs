//! In-circuit twin of [`zkmed_core::poseidon::poseidon`]: the same circomlib permutation
//! over the same constants. Cost: 3 constraints per S-box, i.e.
//! `3 · (8·t + RP(t)) − 3` for width `t = n + 1` (n = 1: 213, 2: 240, 4: 297, 5: 321, 8: 402,
//! 9: 417): the first round's S-box on the constant capacity lane is folded at synthesis time,
//! and so are linear layers and round constants (linear combinations).

use super::FrVar;
use ark_bn254::Fr;
use ark_ff::Zero;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::SynthesisError;
use zkmed_core::poseidon::params;

/// Poseidon hash of 1 to 12 variables.
pub fn poseidon_var(inputs: &[FrVar]) -> Result<FrVar, SynthesisError> {
    let p = params(inputs.len()).map_err(|_| SynthesisError::Unsatisfiable)?;
    let t = p.width;
    let mut state: Vec<FrVar> = std::iter::once(FrVar::Constant(Fr::zero()))
        .chain(inputs.iter().cloned())
        .collect();
    let half = p.full_rounds / 2;
    for round in 0..p.full_rounds + p.partial_rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.ark[round * t + i];
        }
        let full = round < half || round >= half + p.partial_rounds;
        if full {
            for s in state.iter_mut() {
                *s = pow5(s)?;
            }
        } else {
            state[0] = pow5(&state[0])?;
        }
        state = (0..t)
            .map(|i| {
                state
                    .iter()
                    .zip(&p.mds[i])
                    .fold(FrVar::Constant(Fr::zero()), |acc, (s, m)| acc + s * *m)
            })
            .collect();
    }
    Ok(state.swap_remove(0))
}

fn pow5(x: &FrVar) -> Result<FrVar, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use ark_r1cs_std::{alloc::AllocVar, GR1CSVar};
    use ark_relations::gr1cs::ConstraintSystem;
    use zkmed_core::poseidon::{poseidon, MAX_INPUTS};

    #[test]
    fn gadget_agrees_with_native_and_costs_3_per_sbox() {
        let mut rng = rand::thread_rng();
        for n in 1..=MAX_INPUTS {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let xs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            let vars: Vec<FrVar> = xs
                .iter()
                .map(|x| FrVar::new_witness(cs.clone(), || Ok(*x)).unwrap())
                .collect();
            let h = poseidon_var(&vars).unwrap();
            assert_eq!(h.value().unwrap(), poseidon(&xs).unwrap(), "{n} inputs");
            assert!(cs.is_satisfied().unwrap());
            let p = params(n).unwrap();
            assert_eq!(
                cs.num_constraints(),
                3 * (p.full_rounds * p.width + p.partial_rounds) - 3,
                "{n} inputs"
            );
        }
    }

    #[test]
    fn constants_fold() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let h = poseidon_var(&[
            FrVar::Constant(Fr::from(1u64)),
            FrVar::Constant(Fr::from(2u64)),
        ])
        .unwrap();
        assert_eq!(cs.num_constraints(), 0);
        assert_eq!(
            h.value().unwrap(),
            poseidon(&[Fr::from(1u64), Fr::from(2u64)]).unwrap()
        );
    }
}
