//! Single-attestation verification.

use crate::error::VerifyError;
use crate::keys::{KeySet, VerifierKey};
use crate::source::CommitmentSource;
use ark_bn254::{Bn254, G1Projective};
use ark_ec::pairing::{MillerLoopOutput, Pairing};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, PrimeField, Zero};
use ark_groth16::Proof;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use zkmed_core::attestation::{
    Attestation, ATTESTATION_VERSION, MAX_PROOF_BYTES, NUM_PUBLIC_INPUTS,
};
use zkmed_core::query::Query;
use zkmed_core::Fr;

/// Verifies `att` as the answer to the question this verifier asked.
///
/// Checks, in this order (the first failure is returned):
/// 1. the attestation version is [`ATTESTATION_VERSION`];
/// 2. a key is loaded for `att.circuit` ([`VerifyError::UnknownCircuit`]);
/// 3. `att.key_hash` is that key's SHA-256 ([`VerifyError::KeyHashMismatch`]);
/// 4. `att.public.query_hash == expected_query.hash()` — recomputed here from the verifier's
///    own query, never trusted from the attestation ([`VerifyError::QueryMismatch`]);
/// 5. `att.public.challenge == *expected_challenge` ([`VerifyError::ChallengeMismatch`]);
/// 6. `source` accepts `(identity_commitment, record_commitment)`
///    ([`VerifyError::Commitment`]);
/// 7. the proof bytes decode with full curve/subgroup validation as exactly one canonical
///    compressed proof ([`VerifyError::MalformedProof`]);
/// 8. the Groth16 pairing check passes for the seven public inputs
///    ([`VerifyError::InvalidProof`]).
///
/// # The answer
///
/// **Only after `Ok(())` is `att.public.answer` the proven answer** to `expected_query`
/// over the records behind the accepted commitment. On `Err` the attestation proves nothing
/// (in particular it does not prove "no").
///
/// `scope` and `nullifier` are proven public inputs but are not interpreted here; callers
/// that rely on them must compare them with their own expectations.
pub fn verify(
    keys: &KeySet,
    att: &Attestation,
    expected_query: &Query,
    expected_challenge: &Fr,
    source: &dyn CommitmentSource,
) -> Result<(), VerifyError> {
    verify_inner(
        keys,
        att,
        ExpectedQuery::Query(expected_query),
        expected_challenge,
        source,
    )
}

/// [`verify`] with a precomputed `expected_query_hash` (= `expected_query.hash()?`), for
/// callers that ask the same question many times and cache its hash. The hash must come
/// from the verifier's own query, never from an attestation.
pub fn verify_with_query_hash(
    keys: &KeySet,
    att: &Attestation,
    expected_query_hash: &Fr,
    expected_challenge: &Fr,
    source: &dyn CommitmentSource,
) -> Result<(), VerifyError> {
    verify_inner(
        keys,
        att,
        ExpectedQuery::Hash(*expected_query_hash),
        expected_challenge,
        source,
    )
}

fn verify_inner(
    keys: &KeySet,
    att: &Attestation,
    expected_query: ExpectedQuery<'_>,
    expected_challenge: &Fr,
    source: &dyn CommitmentSource,
) -> Result<(), VerifyError> {
    // Free checks first.
    check_version(att)?;
    let key = keys.require(&att.circuit)?;
    check_key_hash(key, att)?;
    // The independent expensive parts run side by side on the available cores: the query
    // hash (Poseidon) on one side; proof decoding (with the G2 subgroup check) and the
    // public-input sum on the other. Their results are consumed strictly in the documented
    // check order below, so the error returned is the same as with sequential evaluation.
    // The pairing check runs only after every binding check has passed.
    let inputs = att.public.to_field_elements();
    let (expected_hash, (proof, vk_x)) = rayon::join(
        || match expected_query {
            ExpectedQuery::Query(q) => q.hash(),
            ExpectedQuery::Hash(h) => Ok(h),
        },
        || {
            rayon::join(
                || decode_proof(&att.proof_bytes()?),
                || prepare_inputs(key, &inputs),
            )
        },
    );
    check_statement(att, &expected_hash?, expected_challenge, source)?;
    final_check(key, &att.circuit, miller_loop(key, &proof?, vk_x))
}

/// Checks only that `att`'s proof is valid for `att`'s **own** public inputs under `key`:
/// version, that the attestation names this key (circuit id and key hash), proof decoding
/// with full validation, and the Groth16 pairing check.
///
/// **It does NOT check the query, the challenge or the record commitment.** `Ok` means "this
/// proof is a valid proof of *some* statement with these public inputs"; it does not mean
/// the attestation answers your question, is fresh, or is about the patient's current
/// records. Meant for thin clients and the HTTP verify endpoint, which report exactly that
/// and leave the bindings to the relying party. Relying parties must use [`verify`].
pub fn verify_statement_unbound(key: &VerifierKey, att: &Attestation) -> Result<(), VerifyError> {
    check_version(att)?;
    if att.circuit != key.id() {
        return Err(VerifyError::UnknownCircuit {
            circuit: att.circuit.clone(),
            known: key.id().to_string(),
        });
    }
    check_key_hash(key, att)?;
    let proof = decode_proof(&att.proof_bytes()?)?;
    pairing_check(key, att, &proof)
}

/// Decodes a canonical compressed Groth16 proof with **full validation**: A and C on the
/// curve, B on the twist and in the prime-order subgroup, no point at infinity, canonical
/// encoding, and every byte consumed.
pub fn decode_proof(bytes: &[u8]) -> Result<Proof<Bn254>, VerifyError> {
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(VerifyError::MalformedProof(format!(
            "{} bytes, more than the {MAX_PROOF_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let mut rest = bytes;
    let proof = Proof::<Bn254>::deserialize_with_mode(&mut rest, Compress::Yes, Validate::Yes).map_err(|e| {
        VerifyError::MalformedProof(format!(
            "{} bytes do not decode as a compressed BN254 Groth16 proof (points on the curve and in \
             the subgroup): {e}",
            bytes.len()
        ))
    })?;
    if !rest.is_empty() {
        return Err(VerifyError::MalformedProof(format!(
            "{} trailing bytes after the {}-byte proof",
            rest.len(),
            bytes.len() - rest.len()
        )));
    }
    for (name, zero) in [
        ("A", proof.a.is_zero()),
        ("B", proof.b.is_zero()),
        ("C", proof.c.is_zero()),
    ] {
        if zero {
            return Err(VerifyError::MalformedProof(format!(
                "proof point {name} is the point at infinity"
            )));
        }
    }
    let mut canonical = Vec::with_capacity(bytes.len());
    proof
        .serialize_compressed(&mut canonical)
        .map_err(|e| VerifyError::MalformedProof(format!("cannot re-encode: {e}")))?;
    if canonical != bytes {
        return Err(VerifyError::MalformedProof(
            "non-canonical encoding of the proof points".into(),
        ));
    }
    Ok(proof)
}

pub(crate) enum ExpectedQuery<'q> {
    Query(&'q Query),
    Hash(Fr),
}

fn check_version(att: &Attestation) -> Result<(), VerifyError> {
    if att.version != ATTESTATION_VERSION {
        return Err(VerifyError::UnsupportedVersion {
            got: att.version,
            expected: ATTESTATION_VERSION,
        });
    }
    Ok(())
}

fn check_key_hash(key: &VerifierKey, att: &Attestation) -> Result<(), VerifyError> {
    // Hex is case-insensitive; the bytes, not the spelling, identify the key.
    if !att.key_hash.eq_ignore_ascii_case(key.key_hash()) {
        return Err(VerifyError::KeyHashMismatch {
            circuit: att.circuit.clone(),
            attested: att.key_hash.clone(),
            loaded: key.key_hash().to_string(),
        });
    }
    Ok(())
}

/// Checks 4–6 of [`verify`]: query hash, challenge, commitment source.
fn check_statement(
    att: &Attestation,
    expected_hash: &Fr,
    expected_challenge: &Fr,
    source: &dyn CommitmentSource,
) -> Result<(), VerifyError> {
    let p = &att.public;
    if p.query_hash != *expected_hash {
        return Err(VerifyError::QueryMismatch {
            attested: p.query_hash,
            expected: *expected_hash,
        });
    }
    if p.challenge != *expected_challenge {
        return Err(VerifyError::ChallengeMismatch {
            attested: p.challenge,
            expected: *expected_challenge,
        });
    }
    source.check_commitment(&p.identity_commitment, &p.record_commitment)?;
    Ok(())
}

/// Checks 1–6 of [`verify`] (everything except decoding and the pairing check); returns the
/// key to verify the proof with.
pub(crate) fn check_bindings<'k>(
    keys: &'k KeySet,
    att: &Attestation,
    expected_query: ExpectedQuery<'_>,
    expected_challenge: &Fr,
    source: &dyn CommitmentSource,
) -> Result<&'k VerifierKey, VerifyError> {
    check_version(att)?;
    let key = keys.require(&att.circuit)?;
    check_key_hash(key, att)?;
    let expected_hash = match expected_query {
        ExpectedQuery::Query(q) => q.hash()?,
        ExpectedQuery::Hash(h) => h,
    };
    check_statement(att, &expected_hash, expected_challenge, source)?;
    Ok(key)
}

/// `vk_x = gamma_abc[0] + Σ x_j · gamma_abc[j]` for the attestation's public inputs (one
/// GLV scalar multiplication per input; the 0/1 answer costs nothing).
pub(crate) fn prepare_inputs(key: &VerifierKey, inputs: &[Fr; NUM_PUBLIC_INPUTS]) -> G1Projective {
    let gamma_abc = &key.vk().gamma_abc_g1;
    let mut acc = gamma_abc[0].into_group();
    for (x, g) in inputs.iter().zip(&gamma_abc[1..]) {
        if x.is_one() {
            acc += g;
        } else if !x.is_zero() {
            acc += g.mul_bigint(x.into_bigint());
        }
    }
    acc
}

/// The Groth16 pairing check of an already decoded proof against `att`'s public inputs.
pub(crate) fn pairing_check(
    key: &VerifierKey,
    att: &Attestation,
    proof: &Proof<Bn254>,
) -> Result<(), VerifyError> {
    let vk_x = prepare_inputs(key, &att.public.to_field_elements());
    final_check(key, &att.circuit, miller_loop(key, proof, vk_x))
}

/// The Miller loop of `e(A, B) · e(vk_x, −γ) · e(C, −δ)`, split in two halves that run in
/// parallel. Together with [`final_check`] this is the equation of
/// `ark_groth16::Groth16::verify_proof_with_prepared_inputs`.
fn miller_loop(
    key: &VerifierKey,
    proof: &Proof<Bn254>,
    vk_x: G1Projective,
) -> MillerLoopOutput<Bn254> {
    let pvk = key.pvk();
    let (ab, rest) = rayon::join(
        || Bn254::multi_miller_loop([proof.a], [proof.b]),
        || {
            Bn254::multi_miller_loop(
                [vk_x.into_affine(), proof.c],
                [pvk.gamma_g2_neg_pc.clone(), pvk.delta_g2_neg_pc.clone()],
            )
        },
    );
    MillerLoopOutput(ab.0 * rest.0)
}

/// Final exponentiation and comparison with the prepared `e(α, β)`.
fn final_check(
    key: &VerifierKey,
    circuit: &str,
    miller: MillerLoopOutput<Bn254>,
) -> Result<(), VerifyError> {
    match Bn254::final_exponentiation(miller) {
        Some(out) if out.0 == key.pvk().alpha_g1_beta_g2 => Ok(()),
        _ => Err(VerifyError::InvalidProof {
            circuit: circuit.to_string(),
        }),
    }
}
