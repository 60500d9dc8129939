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

/// Poseidon hash of 1 to 12 field elements.
///
/// Computed with the "optimized Poseidon" schedule (Poseidon paper, appendix B; the same
/// algebra as circomlib's `poseidon.circom`): the partial rounds' constants are moved to
/// lane 0 and their MDS matrices are factored into sparse matrices, so a partial round costs
/// `2t` multiplications instead of `t²`. The result is identical to the textbook permutation
/// ([`poseidon_reference`]); tests check it on every width.
pub fn poseidon(inputs: &[Fr]) -> Result<Fr> {
    let o = optimized(inputs.len())?;
    let t = o.t;
    let mut state = [Fr::zero(); MAX_INPUTS + 1];
    let state = &mut state[..t];
    state[1..].copy_from_slice(inputs);
    let mut tmp = [Fr::zero(); MAX_INPUTS + 1];
    let full = |state: &mut [Fr], tmp: &mut [Fr], ark: &[Fr], m: &[Vec<Fr>]| {
        for (s, c) in state.iter_mut().zip(ark) {
            *s = pow5(*s + c);
        }
        for (out, row) in tmp.iter_mut().zip(m) {
            *out = state
                .iter()
                .zip(row)
                .fold(Fr::zero(), |acc, (a, b)| acc + *a * b);
        }
        state.copy_from_slice(&tmp[..state.len()]);
    };
    let half = o.full_rounds / 2;
    for r in 0..half {
        let m = if r + 1 == half { &o.pre } else { &o.mds };
        full(state, &mut tmp, &o.ark[r * t..(r + 1) * t], m);
    }
    for (c, sp) in o.partial_c.iter().zip(&o.sparse) {
        let x0 = pow5(state[0] + c);
        let mut new0 = sp.m00 * x0;
        for (x, v) in state[1..].iter().zip(&sp.v) {
            new0 += *x * v;
        }
        for (x, w) in state[1..].iter_mut().zip(&sp.w) {
            *x += x0 * w;
        }
        state[0] = new0;
    }
    for r in half + o.partial_rounds..o.full_rounds + o.partial_rounds {
        full(state, &mut tmp, &o.ark[r * t..(r + 1) * t], &o.mds);
    }
    Ok(state[0])
}

/// The textbook permutation (add round constants, S-box, dense MDS every round), kept as the
/// reference the optimized schedule is tested against.
pub fn poseidon_reference(inputs: &[Fr]) -> Result<Fr> {
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

/// One partial round's sparse matrix `[[m00, v], [w, I]]`.
#[derive(Debug)]
pub struct Sparse {
    pub m00: Fr,
    pub v: Vec<Fr>,
    pub w: Vec<Fr>,
}

/// Precomputed optimized schedule for one width (what [`poseidon`] runs; also what the
/// Solidity generator of `zkmed-chain` writes out, so both share one derivation).
#[derive(Debug)]
pub struct Optimized {
    pub t: usize,
    pub full_rounds: usize,
    pub partial_rounds: usize,
    /// Full-round constants (the partial rounds' rows are unused; the first full round after
    /// them carries the constants pushed out of the partial rounds).
    pub ark: Vec<Fr>,
    pub mds: Vec<Vec<Fr>>,
    /// The MDS of the last first-half full round, times the leftover block-diagonal factor.
    pub pre: Vec<Vec<Fr>>,
    /// Per partial round, its constant (lane 0).
    pub partial_c: Vec<Fr>,
    /// Per partial round, its sparse matrix.
    pub sparse: Vec<Sparse>,
}

/// The optimized schedule for `n` inputs (`1 <= n <= MAX_INPUTS`), derived once per process.
pub fn optimized(n: usize) -> Result<&'static Optimized> {
    static OPT: OnceLock<Vec<Optimized>> = OnceLock::new();
    params(n)?; // arity check
    let all = OPT.get_or_init(|| {
        (1..=MAX_INPUTS)
            .map(|n| derive(params(n).expect("valid arity")))
            .collect()
    });
    Ok(&all[n - 1])
}

fn mat_vec(m: &[Vec<Fr>], x: &[Fr]) -> Vec<Fr> {
    m.iter()
        .map(|row| {
            row.iter()
                .zip(x)
                .fold(Fr::zero(), |acc, (a, b)| acc + *a * b)
        })
        .collect()
}

/// Inverse of a square matrix by Gauss-Jordan elimination (MDS submatrices are invertible).
fn invert(m: &[Vec<Fr>]) -> Vec<Vec<Fr>> {
    use ark_ff::{Field, One};
    let n = m.len();
    let mut a: Vec<Vec<Fr>> = m.to_vec();
    let mut inv: Vec<Vec<Fr>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if i == j { Fr::one() } else { Fr::zero() })
                .collect()
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n)
            .find(|&r| !a[r][col].is_zero())
            .expect("MDS submatrix is invertible");
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p = a[col][col].inverse().expect("non-zero pivot");
        for j in 0..n {
            a[col][j] *= p;
            inv[col][j] *= p;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..n {
                    let (ac, ic) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * ac;
                    inv[r][j] -= f * ic;
                }
            }
        }
    }
    inv
}

fn derive(p: &PoseidonParameters<Fr>) -> Optimized {
    let t = p.width;
    let half = p.full_rounds / 2;
    let first_partial = half;
    let after_partial = half + p.partial_rounds;
    let m = &p.mds;
    // 1. Constants: in a partial round only lane 0 goes through the S-box, so the constants of
    //    lanes 1.. pass through it unchanged and can be carried (through the MDS) into the
    //    next round's constants; at the end they join the first second-half full round.
    let mut ark = p.ark.clone();
    let mut partial_c = Vec::with_capacity(p.partial_rounds);
    let mut carry = vec![Fr::zero(); t];
    for r in first_partial..after_partial {
        let row = &mut ark[r * t..(r + 1) * t];
        for (a, c) in row.iter_mut().zip(&carry) {
            *a += c;
        }
        partial_c.push(row[0]);
        let mut rest = row.to_vec();
        rest[0] = Fr::zero();
        carry = mat_vec(m, &rest);
    }
    for (a, c) in ark[after_partial * t..(after_partial + 1) * t]
        .iter_mut()
        .zip(&carry)
    {
        *a += c;
    }
    // 2. Matrices: factor each partial round's matrix A = M''·M' with M' = diag(1, Â)
    //    (Â = A without row/column 0) and M'' = [[a00, v], [w, I]], v = A[0][1..]·Â⁻¹,
    //    w = A[1..][0]. M' leaves lane 0 alone, so it commutes with that round's S-box and
    //    constant and moves into the previous round: A_prev = M'·M. The factor left after the
    //    first partial round multiplies the last first-half full round's MDS.
    let mut acc: Vec<Vec<Fr>> = m.clone();
    let mut sparse = Vec::with_capacity(p.partial_rounds);
    for _ in 0..p.partial_rounds {
        let hat: Vec<Vec<Fr>> = acc[1..].iter().map(|row| row[1..].to_vec()).collect();
        let hat_inv = invert(&hat);
        let v: Vec<Fr> = (0..t - 1)
            .map(|j| (0..t - 1).fold(Fr::zero(), |s, k| s + acc[0][1 + k] * hat_inv[k][j]))
            .collect();
        let w: Vec<Fr> = acc[1..].iter().map(|row| row[0]).collect();
        sparse.push(Sparse {
            m00: acc[0][0],
            v,
            w,
        });
        let mut next = vec![m[0].clone()];
        for hrow in &hat {
            next.push(
                (0..t)
                    .map(|j| {
                        hrow.iter()
                            .enumerate()
                            .fold(Fr::zero(), |s, (k, h)| s + *h * m[1 + k][j])
                    })
                    .collect(),
            );
        }
        acc = next;
    }
    sparse.reverse();
    Optimized {
        t,
        full_rounds: p.full_rounds,
        partial_rounds: p.partial_rounds,
        ark,
        mds: m.clone(),
        pre: acc,
        partial_c,
        sparse,
    }
}

#[inline]
fn pow5(x: Fr) -> Fr {
    let x2 = x * x;
    let x4 = x2 * x2;
    x4 * x
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
    fn optimized_schedule_equals_textbook_permutation() {
        let mut rng = rand::thread_rng();
        for n in 1..=MAX_INPUTS {
            for _ in 0..5 {
                let xs: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
                assert_eq!(
                    poseidon(&xs).unwrap(),
                    poseidon_reference(&xs).unwrap(),
                    "{n} inputs"
                );
            }
            let zeros = vec![Fr::zero(); n];
            assert_eq!(
                poseidon(&zeros).unwrap(),
                poseidon_reference(&zeros).unwrap()
            );
        }
    }

    #[test]
    fn rejects_bad_arity() {
        assert!(poseidon(&[]).is_err());
        assert!(poseidon(&vec![Fr::from(1u64); 13]).is_err());
    }
}
