//! The deployed suite's addresses, and values as the contracts see them.

use crate::bindings::AttestationVerifier;
use crate::error::ChainError;
use alloy::primitives::{Address, U256};
use ark_ff::{BigInteger, PrimeField};
use zkmed_core::Fr;

/// Addresses of a deployed suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    pub issuers: Address,
    pub identity: Address,
    pub records: Address,
    pub verifier: Address,
}

impl Deployment {
    /// Reads the addresses `zkmed chain deploy` wrote to `file`.
    pub fn load(file: &std::path::Path) -> Result<Deployment, ChainError> {
        let bytes = std::fs::read(file)
            .map_err(|e| ChainError::Invalid(format!("deployment file {}: {e}", file.display())))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ChainError::Invalid(format!(
                "deployment file {}: not a deployment (from `zkmed chain deploy`): {e}",
                file.display()
            ))
        })
    }

    /// Writes the addresses to `file` (creating its directory).
    pub fn save(&self, file: &std::path::Path) -> Result<(), ChainError> {
        let io = |e: std::io::Error| {
            ChainError::Invalid(format!("deployment file {}: {e}", file.display()))
        };
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text =
            serde_json::to_string_pretty(self).map_err(|e| ChainError::Invalid(e.to_string()))?;
        std::fs::write(file, text).map_err(io)
    }
}

/// The on-chain id of a circuit: `keccak256` of its name (e.g. `"exists-v1"`), the key of
/// `AttestationVerifier.verifiers` and `Attestation.circuit`.
pub fn circuit_id(circuit: &str) -> alloy::primitives::B256 {
    alloy::primitives::keccak256(circuit.as_bytes())
}

/// A field element as a `uint256`.
pub fn fr_to_u256(x: &Fr) -> U256 {
    U256::from_be_slice(&x.into_bigint().to_bytes_be())
}

/// A `uint256` as a field element, if canonical.
pub fn u256_to_fr(x: U256) -> Option<Fr> {
    zkmed_core::field::fr_from_be_bytes_canonical(&x.to_be_bytes::<32>())
}

/// The contract's view of an attestation.
pub fn to_contract_attestation(
    att: &zkmed_core::attestation::Attestation,
) -> Result<AttestationVerifier::Attestation, ChainError> {
    let (proof, _) = zkmed_verifier::evm_calldata(att)
        .map_err(|e| ChainError::Invalid(format!("attestation: {e}")))?;
    let proof: Vec<U256> = proof
        .iter()
        .map(|s| {
            s.parse::<U256>()
                .map_err(|e| ChainError::Invalid(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let p = &att.public;
    Ok(AttestationVerifier::Attestation {
        circuit: circuit_id(&att.circuit),
        proof: proof
            .try_into()
            .map_err(|_| ChainError::Invalid("proof is not 8 words".into()))?,
        recordCommitment: fr_to_u256(&p.record_commitment),
        identityCommitment: fr_to_u256(&p.identity_commitment),
        queryHash: fr_to_u256(&p.query_hash),
        challenge: fr_to_u256(&p.challenge),
        scope: fr_to_u256(&p.scope),
        nullifier: fr_to_u256(&p.nullifier),
        answer: p.answer,
    })
}
