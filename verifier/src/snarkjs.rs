//! Export of a verifying key and an attestation's proof in snarkjs's JSON formats
//! (`snarkjs groth16 verify verification_key.json public.json proof.json`), so that anyone
//! can check a zkmed proof with an independent implementation.
//!
//! Formats (as snarkjs 0.7 writes them): protocol `"groth16"`, curve `"bn128"`, every number
//! a decimal string, G1 points as projective `[x, y, "1"]`, G2 points as
//! `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]` (the point at infinity as `["0", "1", "0"]` /
//! `[["0","0"],["1","0"],["0","0"]]`), and `vk_alphabeta_12 = e(α, β)` as
//! `[[[c0.c0.c0, c0.c0.c1], [c0.c1.c0, ..], [c0.c2.c0, ..]], [[c1.c0.c0, ..], .., ..]]`.

use crate::error::VerifyError;
use crate::verify::decode_proof;
use ark_bn254::{Bn254, Fq, Fq2, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_groth16::VerifyingKey;
use ark_serialize::CanonicalSerialize;
use serde_json::{json, Value};
use zkmed_core::attestation::{Attestation, NUM_PUBLIC_INPUTS};
use zkmed_core::field::fr_to_dec;
use zkmed_core::manifest::sha256_hex;

/// The three JSON documents `snarkjs groth16 verify` reads.
#[derive(Clone, Debug, PartialEq)]
pub struct SnarkjsFiles {
    /// `proof.json`
    pub proof_json: Value,
    /// `public.json`: the six public inputs in circuit order, as decimal strings.
    pub public_json: Value,
    /// `verification_key.json`
    pub verification_key_json: Value,
}

/// Converts `vk` and `att`'s proof and public inputs to snarkjs's formats.
///
/// Checks that `vk` has six public inputs, that `att.key_hash` is `vk`'s SHA-256 (so a
/// proof is never exported next to the wrong key) and that the proof decodes with full
/// validation. It does not verify the proof: that is what snarkjs is for.
pub fn export_snarkjs(
    vk: &VerifyingKey<Bn254>,
    att: &Attestation,
) -> Result<SnarkjsFiles, VerifyError> {
    if vk.gamma_abc_g1.len() != NUM_PUBLIC_INPUTS + 1 {
        return Err(VerifyError::InvalidKey {
            id: att.circuit.clone(),
            reason: format!(
                "key has {} public inputs, zkmed circuits have exactly {NUM_PUBLIC_INPUTS}",
                vk.gamma_abc_g1.len().saturating_sub(1)
            ),
        });
    }
    let mut vk_bytes = Vec::new();
    vk.serialize_compressed(&mut vk_bytes)
        .map_err(|e| VerifyError::InvalidKey {
            id: att.circuit.clone(),
            reason: format!("cannot encode: {e}"),
        })?;
    let loaded = sha256_hex(&vk_bytes);
    if !att.key_hash.eq_ignore_ascii_case(&loaded) {
        return Err(VerifyError::KeyHashMismatch {
            circuit: att.circuit.clone(),
            attested: att.key_hash.clone(),
            loaded,
        });
    }
    let proof = decode_proof(&att.proof_bytes()?)?;

    let proof_json = json!({
        "pi_a": g1(&proof.a),
        "pi_b": g2(&proof.b),
        "pi_c": g1(&proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    });
    let public_json = Value::Array(
        att.public
            .to_field_elements()
            .iter()
            .map(|x| Value::String(fr_to_dec(x)))
            .collect(),
    );
    let alphabeta = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    let fq6 = |c: &ark_bn254::Fq6| json!([fq2(&c.c0), fq2(&c.c1), fq2(&c.c2)]);
    let verification_key_json = json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": NUM_PUBLIC_INPUTS,
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "vk_alphabeta_12": [fq6(&alphabeta.c0), fq6(&alphabeta.c1)],
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    });
    Ok(SnarkjsFiles {
        proof_json,
        public_json,
        verification_key_json,
    })
}

fn fq(x: &Fq) -> Value {
    // `Display` of an arkworks prime-field element is its canonical value in decimal.
    Value::String(x.to_string())
}

fn fq2(x: &Fq2) -> Value {
    json!([fq(&x.c0), fq(&x.c1)])
}

fn g1(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq(&x), fq(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn g2(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq2(&x), fq2(&y), ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{One, Zero};

    #[test]
    fn decimal_and_point_formats() {
        assert_eq!(fq(&Fq::zero()), json!("0"));
        assert_eq!(
            fq(&-Fq::one()),
            json!("21888242871839275222246405745257275088696311157297823662689037894645226208582")
        );
        assert_eq!(g1(&G1Affine::generator()), json!(["1", "2", "1"]));
        assert_eq!(g1(&G1Affine::zero()), json!(["0", "1", "0"]));
        let g = g2(&G2Affine::generator());
        assert_eq!(
            g[0],
            json!([
                "10857046999023057135944570762232829481370756359578518086990519993285655852781",
                "11559732032986387107991004021392285783925812861821192530917403151452391805634"
            ])
        );
        assert_eq!(g[2], json!(["1", "0"]));
    }
}
