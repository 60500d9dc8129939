//! Batch verification: many attestations, one randomized pairing-product check.
//!
//! For proofs `(A_i, B_i, C_i)` with public-input points `vk_x_i`, each valid proof satisfies
//! `e(A_i, B_i) = e(α, β) · e(vk_x_i, γ) · e(C_i, δ)`. With fresh random 128-bit scalars
//! `r_i` (unknown to the provers) the batch checks
//!
//! ```text
//! Π_i e(r_i·A_i, B_i) · Π_k [ e(−s_k·α_k, β_k) · e(X_k, −γ_k) · e(Σ_{i∈k} r_i·C_i, −δ_k) ] = 1
//! ```
//!
//! where `k` ranges over the distinct verifying keys in the batch, `s_k = Σ_{i∈k} r_i` and
//! `X_k = Σ_{i∈k} r_i·vk_x_i = s_k·gamma_abc[0] + Σ_j (Σ_{i∈k} r_i·x_ij)·gamma_abc[j]` (an
//! 8-point MSM per key: the inputs are combined in the scalar field first). All of it is
//! one multi-Miller loop and one final exponentiation. If any proof is invalid the product
//! differs from 1 except with probability about 2^-128; the batch then falls back to
//! checking each proof on its own to name the bad ones.

use crate::error::VerifyError;
use crate::keys::{KeySet, VerifierKey};
use crate::source::RootPolicy;
use crate::verify::{check_bindings, decode_proof, pairing_check, ExpectedQuery};
use ark_bn254::{Bn254, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{One, PrimeField, Zero};
use ark_groth16::Proof;
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use zkmed_core::attestation::{Attestation, NUM_PUBLIC_INPUTS};
use zkmed_core::query::Query;
use zkmed_core::Fr;

/// One attestation of a batch with what the verifier expects of it (see [`crate::verify()`]).
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    pub attestation: &'a Attestation,
    /// The query the verifier asked (its hash is recomputed here, once per distinct query).
    pub expected_query: &'a Query,
    pub expected_challenge: Fr,
}

/// The attestations of a batch that failed, by index into the batch, each with the reason.
/// The other items of the batch verified.
#[derive(Debug)]
pub struct BatchError {
    /// `(index, error)` sorted by index.
    pub failures: Vec<(usize, VerifyError)>,
}

impl BatchError {
    /// Indices of the failed items, ascending.
    pub fn indices(&self) -> Vec<usize> {
        self.failures.iter().map(|(i, _)| *i).collect()
    }
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} attestation(s) of the batch failed verification:",
            self.failures.len()
        )?;
        for (i, e) in &self.failures {
            write!(f, "\n  item {i}: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BatchError {}

/// A proof decoded with full validation, or why not.
type Decoded = Result<Proof<Bn254>, VerifyError>;

/// An item that passed the cheap checks and decoded.
struct Ready<'k> {
    index: usize,
    key: &'k VerifierKey,
    proof: Proof<Bn254>,
}

/// Verifies every item as [`crate::verify()`] would, with one randomized pairing check for
/// all of them (see the module docs). `Ok(())` means every item verified; then each item's
/// `attestation.public.answer` is proven. On `Err`, [`BatchError::failures`] names every
/// failed item and why; items not listed verified.
///
/// `rng` must be unpredictable to whoever produced the proofs (hence `CryptoRng`), e.g.
/// `rand::rngs::OsRng` or `rand::thread_rng()`.
pub fn verify_batch<R: RngCore + CryptoRng + ?Sized>(
    keys: &KeySet,
    items: &[BatchItem<'_>],
    roots: &RootPolicy<'_>,
    rng: &mut R,
) -> Result<(), BatchError> {
    // The query hash once per distinct query (batches usually ask one question many times).
    let mut distinct: Vec<&Query> = Vec::new();
    let query_slot: Vec<usize> = items
        .iter()
        .map(|it| {
            match distinct
                .iter()
                .position(|q| std::ptr::eq(*q, it.expected_query) || **q == *it.expected_query)
            {
                Some(s) => s,
                None => {
                    distinct.push(it.expected_query);
                    distinct.len() - 1
                }
            }
        })
        .collect();

    // 1. The query hashes (Poseidon) and the proof decoding (curve and subgroup checks) are
    //    independent and run side by side; then the cheap checks, per item.
    let (query_hashes, decoded): (Vec<Option<Fr>>, Vec<Decoded>) = rayon::join(
        || distinct.par_iter().map(|q| q.hash().ok()).collect(),
        || {
            items
                .par_iter()
                .map(|it| decode_proof(&it.attestation.proof_bytes()?))
                .collect()
        },
    );
    let checked: Vec<Result<Ready<'_>, (usize, VerifyError)>> = items
        .par_iter()
        .zip(decoded)
        .enumerate()
        .map(|(index, (it, proof))| {
            let expected = match query_hashes[query_slot[index]] {
                Some(h) => ExpectedQuery::Hash(h),
                // An invalid query: let `check_bindings` produce the error (in check order).
                None => ExpectedQuery::Query(it.expected_query),
            };
            check_bindings(
                keys,
                it.attestation,
                expected,
                &it.expected_challenge,
                roots,
            )
            .and_then(|key| {
                Ok(Ready {
                    index,
                    key,
                    proof: proof?,
                })
            })
            .map_err(|e| (index, e))
        })
        .collect();
    let mut failures = Vec::new();
    let mut ready = Vec::with_capacity(items.len());
    for c in checked {
        match c {
            Ok(r) => ready.push(r),
            Err(f) => failures.push(f),
        }
    }

    // 2. One randomized pairing check over everything that got this far.
    if !ready.is_empty() && !batch_pairing_check(items, &ready, rng) {
        // 3. Name the culprits.
        let bad: Vec<(usize, VerifyError)> = ready
            .par_iter()
            .filter_map(|r| {
                pairing_check(r.key, items[r.index].attestation, &r.proof)
                    .err()
                    .map(|e| (r.index, e))
            })
            .collect();
        failures.extend(bad);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        failures.sort_by_key(|(i, _)| *i);
        Err(BatchError { failures })
    }
}

/// A uniformly random non-zero 128-bit scalar.
fn random_scalar<R: RngCore + ?Sized>(rng: &mut R) -> u128 {
    loop {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        let r = u128::from_le_bytes(b);
        if r != 0 {
            return r;
        }
    }
}

fn batch_pairing_check<R: RngCore + CryptoRng + ?Sized>(
    items: &[BatchItem<'_>],
    ready: &[Ready<'_>],
    rng: &mut R,
) -> bool {
    let rs: Vec<u128> = ready.iter().map(|_| random_scalar(rng)).collect();

    // Left-hand side: (r_i·A_i, B_i), with the scalar muls and the G2 line precomputation
    // of every B_i spread over the cores.
    let ra: Vec<G1Projective> = ready
        .par_iter()
        .zip(rs.par_iter())
        .map(|(r, s)| r.proof.a.mul_bigint([*s as u64, (*s >> 64) as u64]))
        .collect();
    let mut g1: Vec<G1Affine> = G1Projective::normalize_batch(&ra);
    let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> = ready
        .par_iter()
        .map(|r| <G2Affine as Into<<Bn254 as Pairing>::G2Prepared>>::into(r.proof.b))
        .collect();

    // Right-hand side, grouped per verifying key.
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (n, r) in ready.iter().enumerate() {
        groups.entry(r.key.id()).or_default().push(n);
    }
    let mut rhs_g1 = Vec::with_capacity(3 * groups.len());
    for members in groups.values() {
        let key = ready[members[0]].key;
        // s = Σ r_i and t_j = Σ r_i·x_ij, in the scalar field.
        let mut scalars = [Fr::zero(); NUM_PUBLIC_INPUTS + 1];
        let mut c_bases = Vec::with_capacity(members.len());
        let mut c_scalars = Vec::with_capacity(members.len());
        for &n in members {
            let r = Fr::from(rs[n]);
            scalars[0] += r;
            for (t, x) in scalars[1..]
                .iter_mut()
                .zip(items[ready[n].index].attestation.public.to_field_elements())
            {
                if x.is_one() {
                    *t += r;
                } else if !x.is_zero() {
                    *t += r * x;
                }
            }
            c_bases.push(ready[n].proof.c);
            c_scalars.push(r);
        }
        let vk = key.vk();
        // X_k: an 8-term sum with full-width scalars; GLV per term beats a tiny MSM.
        let x_sum: G1Projective = vk
            .gamma_abc_g1
            .iter()
            .zip(&scalars)
            .filter(|(_, s)| !s.is_zero())
            .map(|(g, s)| g.mul_bigint(s.into_bigint()))
            .sum();
        let alpha_sum = -vk.alpha_g1.mul_bigint(scalars[0].into_bigint());
        let c_sum = G1Projective::msm(&c_bases, &c_scalars).expect("one scalar per point");
        rhs_g1.extend([alpha_sum, x_sum, c_sum]);
        g2.extend([
            key.beta_prepared().clone(),
            key.pvk().gamma_g2_neg_pc.clone(),
            key.pvk().delta_g2_neg_pc.clone(),
        ]);
    }
    g1.extend(G1Projective::normalize_batch(&rhs_g1));
    debug_assert_eq!(g1.len(), g2.len());

    let ml = Bn254::multi_miller_loop(g1, g2);
    match Bn254::final_exponentiation(ml) {
        Some(out) => out.0.is_one(),
        None => false,
    }
}
