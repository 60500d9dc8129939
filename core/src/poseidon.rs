//! Native Poseidon over BN254, bit-for-bit compatible with circomlib's `Poseidon(n)`
//! (x^5 S-box, 8 full rounds, the circomlib partial-round counts, state
//! `[0, inputs...]`, output `state[0]`). Round constants and MDS matrices come from
//! `light-poseidon` (generated with the reference Grain script); tests check the result
//! against circomlib's published vectors, `poseidon-rs` and `light-poseidon`.
//!
//! The in-circuit twin lives in `zkmed-circuits::gadgets::poseidon` and reads the same
//! [`params`].

use crate::error::{CoreError, Result};
use crate::field::Fr;
use ark_ff::Zero;
use light_poseidon::{parameters::bn254_x5::get_poseidon_parameters, PoseidonParameters};
use std::sync::OnceLock;

/// Largest number of inputs of one Poseidon call (state width 13, light-poseidon's limit).
pub const MAX_INPUTS: usize = 12;

static PARAMS: OnceLock<Vec<PoseidonParameters<Fr>>> = OnceLock::new();

/// circomlib parameters for `n` inputs (`1 <= n <= MAX_INPUTS`, state width `n + 1`).
pub fn params(n: usize) -> Result<&'static PoseidonParameters<Fr>> {
    if n == 0 || n > MAX_INPUTS {
        return Err(CoreError::Poseidon(format!(
            "{n} inputs; supported: 1..={MAX_INPUTS}"
        )));
    }
    let all = PARAMS.get_or_init(|| {
        (2..=(MAX_INPUTS as u8 + 1))
            .map(|t| get_poseidon_parameters::<Fr>(t).expect("light-poseidon ships widths 2..=13"))
            .collect()
    });
    Ok(&all[n - 1])
}

/// Poseidon hash of 1 to 15 field elements.
pub fn poseidon(inputs: &[Fr]) -> Result<Fr> {
    let p = params(inputs.len())?;
    let t = p.width;
    let mut state = Vec::with_capacity(t);
    state.push(Fr::zero());
    state.extend_from_slice(inputs);
    let half = p.full_rounds / 2;
    let mut scratch = vec![Fr::zero(); t];
    for round in 0..p.full_rounds + p.partial_rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += p.ark[round * t + i];
        }
        let full = round < half || round >= half + p.partial_rounds;
        if full {
            state.iter_mut().for_each(|s| *s = pow5(*s));
        } else {
            state[0] = pow5(state[0]);
        }
        for (i, out) in scratch.iter_mut().enumerate() {
            *out = state
                .iter()
                .zip(&p.mds[i])
                .fold(Fr::zero(), |acc, (a, m)| acc + *a * m);
        }
        std::mem::swap(&mut state, &mut scratch);
    }
    Ok(state[0])
}

#[inline]
fn pow5(x: Fr) -> Fr {
    let x2 = x * x;
    let x4 = x2 * x2;
    x4 * x
}

/// Poseidon of a fixed-size array; the arity is checked at compile time by callers' types.
pub fn poseidon2(a: Fr, b: Fr) -> Fr {
    poseidon(&[a, b]).expect("2 inputs are supported")
}

/// Hash of exactly 32 elements: `P4(P8(x[0..8]), P8(x[8..16]), P8(x[16..24]), P8(x[24..32]))`.
/// Used for query code sets; the circuit computes the same shape.
pub fn hash32(xs: &[Fr; 32]) -> Fr {
    let chunks: Vec<Fr> = xs
        .chunks(8)
        .map(|c| poseidon(c).expect("8 inputs"))
        .collect();
    poseidon(&chunks).expect("4 inputs")
}

/// Roots of empty quaternary subtrees: `Z_0 = 0`, `Z_{h+1} = H(Z_h, Z_h, Z_h, Z_h)`, for
/// heights `0..=TREE_DEPTH`.
pub fn zero_hashes() -> &'static [Fr] {
    static Z: OnceLock<Vec<Fr>> = OnceLock::new();
    Z.get_or_init(|| {
        let mut z = vec![Fr::zero()];
        for h in 0..crate::encoding::TREE_DEPTH {
            let c = z[h];
            z.push(poseidon(&[c, c, c, c]).expect("4 inputs"));
        }
        z
    })
}

/// Overwrites a field element that held a secret (volatile writes via `zeroize`).
pub fn zeroize_fr(x: &mut Fr) {
    use zeroize::Zeroize;
    x.0 .0.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::{fr_to_dec, parse_fr};
    use ark_ff::UniformRand;
    use light_poseidon::PoseidonHasher;

    #[test]
    fn circomlib_published_vectors() {
        // circomlib test/poseidoncircuit.js and poseidon-rs / light-poseidon test vectors.
        let one = Fr::from(1u64);
        let two = Fr::from(2u64);
        assert_eq!(
            poseidon(&[one, two]).unwrap(),
            parse_fr("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a").unwrap()
        );
        assert_eq!(
            fr_to_dec(&poseidon(&[one]).unwrap()),
            "18586133768512220936620570745912940619677854269274689475585506675881198879027"
        );
        let v: Vec<Fr> = (1..=4u64).map(Fr::from).collect();
        assert_eq!(
            fr_to_dec(&poseidon(&v).unwrap()),
            "18821383157269793795438455681495246036402687001665670618754263018637548127333"
        );
    }

    fn poseidon_rs_hash(inputs: &[Fr]) -> Fr {
        use ff_ce::PrimeField as _;
        let h = poseidon_rs::Poseidon::new();
        let ins: Vec<poseidon_rs::Fr> = inputs
            .iter()
            .map(|x| poseidon_rs::Fr::from_str(&fr_to_dec(x)).unwrap())
            .collect();
        let out = h.hash(ins).unwrap();
        // ff_ce prints `Fr(0x...)`.
        let s = out.to_string();
        parse_fr(s.trim_start_matches("Fr(").trim_end_matches(')')).unwrap()
    }

    #[test]
    fn agrees_with_poseidon_rs_and_light_poseidon_on_random_inputs() {
        let mut rng = rand::thread_rng();
        for n in 1..=MAX_INPUTS {
            for _ in 0..3 {
                let xs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
                let ours = poseidon(&xs).unwrap();
                let mut lp = light_poseidon::Poseidon::<Fr>::new_circom(n).unwrap();
                assert_eq!(ours, lp.hash(&xs).unwrap(), "light-poseidon, {n} inputs");
                assert_eq!(ours, poseidon_rs_hash(&xs), "poseidon-rs, {n} inputs");
            }
        }
    }

    #[test]
    fn rejects_bad_arity() {
        assert!(poseidon(&[]).is_err());
        assert!(poseidon(&vec![Fr::from(1u64); 13]).is_err());
    }
}
