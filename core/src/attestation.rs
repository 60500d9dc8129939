//! The attestation format: versioned JSON (for people and web APIs) and a compact binary
//! form (for storage and chain calldata). Both carry the circuit id, the SHA-256 of the
//! verifying key the proof was made for, the six public inputs and the Groth16 proof
//! (arkworks canonical compressed encoding, 128 bytes).
//!
//! Public-input order (the circuits allocate them in this order):
//! `[identity_root, state_root, query_hash, challenge, nullifier, answer]` — nothing per
//! patient (docs/state.md). Version 1 attestations carried the patient's identity and record
//! commitments; they are refused with an error that says so.

use crate::error::{CoreError, Result};
use crate::field::{fr_from_be_bytes_canonical, fr_to_be_bytes, serde_fr, Fr};
use ark_ff::{One, Zero};
use serde::{Deserialize, Serialize};

pub const ATTESTATION_VERSION: u32 = 2;
/// Number of Groth16 public inputs of every zkmed circuit.
pub const NUM_PUBLIC_INPUTS: usize = 6;
const MAGIC: &[u8; 4] = b"ZKMA";
/// Largest accepted proof blob (a compressed BN254 Groth16 proof is 128 bytes).
pub const MAX_PROOF_BYTES: usize = 512;

/// The statement an attestation proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicInputs {
    /// A recent root of the identity tree (on chain).
    #[serde(with = "serde_fr")]
    pub identity_root: Fr,
    /// A recent global state root `G = H(issuers_root, spent_root)` (on chain).
    #[serde(with = "serde_fr")]
    pub state_root: Fr,
    #[serde(with = "serde_fr")]
    pub query_hash: Fr,
    /// `H(scope, request)`: the verifier's request value and the claim scope.
    #[serde(with = "serde_fr")]
    pub challenge: Fr,
    /// The scoped nullifier `H(nk, scope)`.
    #[serde(with = "serde_fr")]
    pub nullifier: Fr,
    /// The proven answer to the query.
    pub answer: bool,
}

impl PublicInputs {
    /// The public inputs as field elements, in circuit order.
    pub fn to_field_elements(&self) -> [Fr; NUM_PUBLIC_INPUTS] {
        [
            self.identity_root,
            self.state_root,
            self.query_hash,
            self.challenge,
            self.nullifier,
            if self.answer { Fr::one() } else { Fr::zero() },
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attestation {
    pub version: u32,
    /// Circuit id, e.g. `exists-v3`.
    pub circuit: String,
    /// Hex SHA-256 of the canonical (compressed) verifying key.
    pub key_hash: String,
    pub public: PublicInputs,
    /// Hex of the canonical compressed Groth16 proof.
    pub proof: String,
}

impl Attestation {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("attestation serializes")
    }

    /// Parses JSON; rejects unknown versions, unknown fields, non-canonical field elements
    /// and malformed hex with a message naming the problem.
    pub fn from_json(bytes: &[u8]) -> Result<Attestation> {
        #[derive(Deserialize)]
        struct Version {
            version: Option<u32>,
        }
        if let Ok(Version { version: Some(v) }) = serde_json::from_slice::<Version>(bytes) {
            if v != ATTESTATION_VERSION {
                return Err(version_error(v));
            }
        }
        let a: Attestation = serde_json::from_slice(bytes)
            .map_err(|e| CoreError::Attestation(format!("malformed attestation JSON: {e}")))?;
        a.check()?;
        Ok(a)
    }

    fn check(&self) -> Result<()> {
        if self.version != ATTESTATION_VERSION {
            return Err(version_error(self.version));
        }
        if self.circuit.is_empty()
            || self.circuit.len() > 64
            || !self.circuit.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(CoreError::Attestation(format!(
                "bad circuit id {:?}",
                self.circuit
            )));
        }
        let kh = hex::decode(&self.key_hash)
            .map_err(|e| CoreError::Attestation(format!("key_hash is not hex: {e}")))?;
        if kh.len() != 32 {
            return Err(CoreError::Attestation(format!(
                "key_hash must be 32 bytes, got {}",
                kh.len()
            )));
        }
        let p = self.proof_bytes()?;
        if p.is_empty() || p.len() > MAX_PROOF_BYTES {
            return Err(CoreError::Attestation(format!(
                "proof must be 1..={MAX_PROOF_BYTES} bytes, got {}",
                p.len()
            )));
        }
        Ok(())
    }

    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(&self.proof)
            .map_err(|e| CoreError::Attestation(format!("proof is not hex: {e}")))
    }

    /// Compact binary form:
    /// `"ZKMA" | version u8 | id_len u8 | id | key_hash[32] | 6 × 32-byte big-endian inputs |
    /// proof_len u16 BE | proof`.
    /// Fails (instead of writing a malformed blob) if the attestation's hex fields or version
    /// are invalid, e.g. after it was built or edited by hand.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.check()?;
        let mut out =
            Vec::with_capacity(4 + 2 + self.circuit.len() + 32 + 32 * NUM_PUBLIC_INPUTS + 2 + 128);
        out.extend_from_slice(MAGIC);
        out.push(self.version as u8);
        out.push(self.circuit.len() as u8);
        out.extend_from_slice(self.circuit.as_bytes());
        out.extend_from_slice(
            &hex::decode(&self.key_hash)
                .map_err(|e| CoreError::Attestation(format!("key_hash: {e}")))?,
        );
        for x in self.public.to_field_elements() {
            out.extend_from_slice(&fr_to_be_bytes(&x));
        }
        let proof = self.proof_bytes()?;
        out.extend_from_slice(&(proof.len() as u16).to_be_bytes());
        out.extend_from_slice(&proof);
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Attestation> {
        let mut r = Reader { b: bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err(CoreError::Attestation(
                "binary attestation: bad magic (expected \"ZKMA\")".into(),
            ));
        }
        let version = r.take(1)?[0] as u32;
        if version != ATTESTATION_VERSION {
            return Err(version_error(version));
        }
        let id_len = r.take(1)?[0] as usize;
        let circuit = std::str::from_utf8(r.take(id_len)?)
            .map_err(|_| {
                CoreError::Attestation("binary attestation: circuit id is not UTF-8".into())
            })?
            .to_string();
        let key_hash = hex::encode(r.take(32)?);
        let mut xs = [Fr::zero(); NUM_PUBLIC_INPUTS];
        for (i, x) in xs.iter_mut().enumerate() {
            let b: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
            *x = fr_from_be_bytes_canonical(&b).ok_or_else(|| {
                CoreError::Attestation(format!(
                    "binary attestation: public input {i} is not canonical (>= p)"
                ))
            })?;
        }
        let answer = if xs[5] == Fr::zero() {
            false
        } else if xs[5] == Fr::one() {
            true
        } else {
            return Err(CoreError::Attestation(
                "binary attestation: answer must be 0 or 1".into(),
            ));
        };
        let plen = u16::from_be_bytes(r.take(2)?.try_into().expect("2 bytes")) as usize;
        let proof = hex::encode(r.take(plen)?);
        if r.at != bytes.len() {
            return Err(CoreError::Attestation(format!(
                "binary attestation: {} trailing bytes",
                bytes.len() - r.at
            )));
        }
        let a = Attestation {
            version,
            circuit,
            key_hash,
            public: PublicInputs {
                identity_root: xs[0],
                state_root: xs[1],
                query_hash: xs[2],
                challenge: xs[3],
                nullifier: xs[4],
                answer,
            },
            proof,
        };
        a.check()?;
        Ok(a)
    }
}

fn version_error(v: u32) -> CoreError {
    if v == 1 {
        CoreError::Attestation(
            "attestation format v1 is no longer accepted: it carried the patient's identity and \
             record commitments, which linked every attestation of a patient; ask the patient \
             for a v2 attestation (re-prove against the anchored state)"
                .into(),
        )
    } else {
        CoreError::Attestation(format!(
            "unsupported attestation version {v} (expected {ATTESTATION_VERSION})"
        ))
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or_else(|| {
                CoreError::Attestation(format!(
                    "binary attestation truncated at byte {} (wanted {n} more)",
                    self.at
                ))
            })?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Attestation {
        Attestation {
            version: 2,
            circuit: "exists-v3".into(),
            key_hash: hex::encode([7u8; 32]),
            public: PublicInputs {
                identity_root: Fr::from(1u64),
                state_root: Fr::from(2u64),
                query_hash: Fr::from(3u64),
                challenge: Fr::from(4u64),
                nullifier: Fr::from(6u64),
                answer: true,
            },
            proof: hex::encode([9u8; 128]),
        }
    }

    #[test]
    fn json_and_binary_roundtrip() {
        let a = sample();
        assert_eq!(Attestation::from_json(a.to_json().as_bytes()).unwrap(), a);
        assert_eq!(Attestation::from_bytes(&a.to_bytes().unwrap()).unwrap(), a);
        let mut broken = a.clone();
        broken.proof = "zz".into();
        assert!(broken
            .to_bytes()
            .unwrap_err()
            .to_string()
            .contains("not hex"));
    }

    #[test]
    fn rejects_malformed() {
        let a = sample();
        let j = a.to_json();
        let bad = j.replace(
            "\"challenge\": \"4\"",
            &format!("\"challenge\": \"{}\"", crate::field::MODULUS_DEC),
        );
        assert!(Attestation::from_json(bad.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("modulus"));
        assert!(
            Attestation::from_json(j.replace("\"version\": 2", "\"version\": 9").as_bytes())
                .is_err()
        );
        assert!(Attestation::from_json(b"[]").is_err());
        let mut b = a.to_bytes().unwrap();
        assert!(Attestation::from_bytes(&b[..b.len() - 1]).is_err());
        b.push(0);
        assert!(Attestation::from_bytes(&b)
            .unwrap_err()
            .to_string()
            .contains("trailing"));
        let mut b = a.to_bytes().unwrap();
        let answer_at = 4 + 2 + 9 + 32 + 5 * 32 + 31;
        b[answer_at] = 2;
        assert!(Attestation::from_bytes(&b)
            .unwrap_err()
            .to_string()
            .contains("0 or 1"));
        let mut b = a.to_bytes().unwrap();
        let challenge_at = 4 + 2 + 9 + 32 + 3 * 32;
        b[challenge_at..challenge_at + 32].copy_from_slice(&[0xff; 32]);
        assert!(Attestation::from_bytes(&b)
            .unwrap_err()
            .to_string()
            .contains("not canonical"));
        for cut in 0..b.len() {
            let _ = Attestation::from_bytes(&a.to_bytes().unwrap()[..cut]); // never panics
        }
    }

    /// A v1 attestation (seven inputs, the patient's commitments among them) is refused with
    /// an error that says why, in both encodings.
    #[test]
    fn v1_attestations_are_refused_with_the_reason() {
        let v1 = r#"{"version": 1, "circuit": "exists-v2", "key_hash": "00",
            "public": {"record_commitment": "1", "identity_commitment": "2",
            "query_hash": "3", "challenge": "4", "scope": "5", "nullifier": "6",
            "answer": true}, "proof": "00"}"#;
        let e = Attestation::from_json(v1.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("v1 is no longer accepted"), "{e}");
        let mut b = sample().to_bytes().unwrap();
        b[4] = 1;
        let e = Attestation::from_bytes(&b).unwrap_err().to_string();
        assert!(e.contains("v1 is no longer accepted"), "{e}");
    }
}
