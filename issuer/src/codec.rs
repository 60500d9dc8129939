//! Field elements as 32-byte big-endian blobs (the database) and set keys.

use crate::error::{IssuerError, Result};
use zkmed_core::field::{fr_from_be_bytes_canonical, fr_to_be_bytes, Fr};

/// 32 big-endian bytes.
pub type Key = [u8; 32];

pub fn key(x: &Fr) -> Key {
    fr_to_be_bytes(x)
}

pub fn fr_from_blob(b: &[u8]) -> Result<Fr> {
    let arr: [u8; 32] = b
        .try_into()
        .map_err(|_| IssuerError::Corrupt(format!("a field blob of {} bytes", b.len())))?;
    fr_from_be_bytes_canonical(&arr)
        .ok_or_else(|| IssuerError::Corrupt("a non-canonical field blob".into()))
}

pub fn frs_to_blob(xs: &[Fr]) -> Vec<u8> {
    xs.iter().flat_map(fr_to_be_bytes).collect()
}

pub fn frs_from_blob(b: &[u8]) -> Result<Vec<Fr>> {
    if !b.len().is_multiple_of(32) {
        return Err(IssuerError::Corrupt(format!(
            "a field list blob of {} bytes",
            b.len()
        )));
    }
    b.chunks(32).map(fr_from_blob).collect()
}

/// `0x`-prefixed hex of a field element (messages, ids).
pub fn short(x: &Fr) -> String {
    zkmed_core::field::fr_to_hex(x)
}
