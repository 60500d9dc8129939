//! BN254 scalar-field helpers: strict parsing (canonical, `< p`), printing, and hashing
//! strings into the field.

use crate::error::{CoreError, Result};
use ark_ff::{BigInteger, PrimeField};
use num_bigint::BigUint;
use sha2::{Digest, Sha256};

pub use ark_bn254::Fr;

/// The BN254 scalar field modulus `p` as a decimal string.
pub const MODULUS_DEC: &str =
    "21888242871839275222246405745257275088548364400416034343698204186575808495617";

fn modulus() -> BigUint {
    BigUint::from_bytes_le(&Fr::MODULUS.to_bytes_le())
}

/// Parses a field element from decimal (`"123"`) or hex (`"0x7b"`), rejecting anything
/// that is not a canonical representative (`>= p`), empty, signed or malformed.
/// Never reduces modulo `p`: an aliased input `x + p` is an error, not `x`.
pub fn parse_fr(s: &str) -> Result<Fr> {
    let err = |reason: &str| CoreError::InvalidField {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let t = s.trim();
    let n = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(err("expected 1 to 64 hex digits after 0x"));
        }
        BigUint::parse_bytes(h.as_bytes(), 16).ok_or_else(|| err("bad hex"))?
    } else {
        if t.is_empty() || t.len() > 78 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("expected a decimal number or 0x-prefixed hex"));
        }
        BigUint::parse_bytes(t.as_bytes(), 10).ok_or_else(|| err("bad decimal"))?
    };
    biguint_to_fr(&n)
        .ok_or_else(|| err("not canonical: value is >= the BN254 scalar field modulus"))
}

/// Converts an integer to a field element if (and only if) it is `< p`.
pub fn biguint_to_fr(n: &BigUint) -> Option<Fr> {
    if n >= &modulus() {
        return None;
    }
    Some(Fr::from_le_bytes_mod_order(&n.to_bytes_le()))
}

/// Parses 32 big-endian bytes as a canonical field element (`None` if `>= p`).
pub fn fr_from_be_bytes_canonical(bytes: &[u8; 32]) -> Option<Fr> {
    biguint_to_fr(&BigUint::from_bytes_be(bytes))
}

/// Big-endian 32-byte encoding.
pub fn fr_to_be_bytes(x: &Fr) -> [u8; 32] {
    let v = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

/// Decimal string (the form snarkjs and Solidity tools use).
pub fn fr_to_dec(x: &Fr) -> String {
    BigUint::from_bytes_le(&x.into_bigint().to_bytes_le()).to_str_radix(10)
}

/// `0x`-prefixed, 64-digit big-endian hex.
pub fn fr_to_hex(x: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_be_bytes(x)))
}

/// Maps a domain-separated byte string into the field: the first 31 bytes of
/// `SHA-256(domain || 0x00 || data)`, read big-endian. The result is < 2^248 < p, so it is
/// always canonical; collisions need a 248-bit SHA-256 prefix collision.
pub fn hash_to_field(domain: &str, data: &[u8]) -> Fr {
    let mut h = Sha256::new();
    h.update(domain.as_bytes());
    h.update([0u8]);
    h.update(data);
    let d = h.finalize();
    let mut b = [0u8; 32];
    b[1..].copy_from_slice(&d[..31]);
    Fr::from_be_bytes_mod_order(&b)
}

/// Serde helpers: a field element as a decimal string, parsed strictly.
pub mod serde_fr {
    use super::*;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&fr_to_dec(x))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Fr, D::Error> {
        let s = String::deserialize(d)?;
        parse_fr(&s).map_err(D::Error::custom)
    }
}

/// Serde helpers for `Vec<Fr>` as decimal strings.
pub mod serde_fr_vec {
    use super::*;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(xs: &[Fr], s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(xs.iter().map(fr_to_dec))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Fr>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.iter()
            .map(|s| parse_fr(s).map_err(D::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{One, Zero};

    #[test]
    fn parses_canonical_and_rejects_aliases() {
        assert_eq!(parse_fr("0").unwrap(), Fr::zero());
        assert_eq!(parse_fr("0x01").unwrap(), Fr::one());
        let pm1 = format!("{}", modulus() - 1u32);
        assert_eq!(parse_fr(&pm1).unwrap(), -Fr::one());
        assert!(parse_fr(MODULUS_DEC).is_err(), "p itself aliases 0");
        assert!(parse_fr(&format!("{}", modulus() + 5u32)).is_err());
        for bad in ["", "0x", "-1", "1.5", "abc", "0xzz", " 12 3"] {
            assert!(parse_fr(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn roundtrips() {
        let x = hash_to_field("t", b"x");
        assert_eq!(parse_fr(&fr_to_dec(&x)).unwrap(), x);
        assert_eq!(parse_fr(&fr_to_hex(&x)).unwrap(), x);
        assert_eq!(fr_from_be_bytes_canonical(&fr_to_be_bytes(&x)).unwrap(), x);
    }
}
