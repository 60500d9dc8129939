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
    pub verifier: Address,
    /// `StateRegistry`: the issuers tree, the spent root, the global state root.
    pub state: Address,
    /// The deployed `PoseidonT3` the identity and state contracts hash with.
    pub poseidon: Address,
}

impl Deployment {
    /// Reads the addresses `zkmed chain deploy` wrote to `file`; each goes through
    /// [`parse_address`] (a mixed-case address must pass its EIP-55 checksum).
    pub fn load(file: &std::path::Path) -> Result<Deployment, ChainError> {
        let bytes = std::fs::read(file)
            .map_err(|e| ChainError::Invalid(format!("deployment file {}: {e}", file.display())))?;
        let not_one = |why: String| {
            ChainError::Invalid(format!(
                "deployment file {}: not a deployment (from `zkmed chain deploy`): {why}",
                file.display()
            ))
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| not_one(e.to_string()))?;
        let field = |name: &str| -> Result<Address, ChainError> {
            let s = v
                .get(name)
                .and_then(|x| x.as_str())
                .ok_or_else(|| not_one(format!("no `{name}` address")))?;
            parse_address(s).map_err(|e| {
                ChainError::Invalid(format!("deployment file {}: {name}: {e}", file.display()))
            })
        };
        Ok(Deployment {
            issuers: field("issuers")?,
            identity: field("identity")?,
            verifier: field("verifier")?,
            state: field("state")?,
            poseidon: field("poseidon")?,
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

/// Parses an address: `0x` and 40 hex digits, all lowercase or all uppercase, or mixed
/// case that passes its EIP-55 checksum. A mixed-case address whose checksum fails is an
/// error naming it (a mistyped character in a checksummed address is caught, not used).
pub fn parse_address(s: &str) -> Result<Address, ChainError> {
    let t = s.trim();
    let digits = t.strip_prefix("0x").unwrap_or(t);
    if t.len() != digits.len() + 2
        || digits.len() != 40
        || !digits.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(ChainError::Invalid(format!(
            "{s:?} is not an address (0x and 40 hex digits)"
        )));
    }
    let a: Address = digits
        .parse()
        .map_err(|e| ChainError::Invalid(format!("{s:?} is not an address: {e}")))?;
    let lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    if lower && upper && a.to_checksum(None)[2..] != *digits {
        return Err(ChainError::Invalid(format!(
            "address {t}: mixed case, but the EIP-55 checksum fails (a mistyped character?); \
             write it all lowercase only if you are sure of every digit"
        )));
    }
    Ok(a)
}

/// The challenge a one-time claim consumed by `submitter` through the `AttestationVerifier`
/// at `verifier_contract` on chain `chain_id` must carry (`AttestationVerifier.
/// submitterChallenge`): `keccak256(abi.encode(chainid, verifier_contract, submitter,
/// nonce))` reduced into the BN254 scalar field. The verifier picks a fresh `nonce`, computes
/// this, and gives it to the patient as the challenge to prove with; only `submitter` can
/// then consume the attestation.
pub fn submitter_challenge(
    chain_id: u64,
    verifier_contract: Address,
    submitter: Address,
    nonce: U256,
) -> Fr {
    use alloy::sol_types::SolValue;
    let h = alloy::primitives::keccak256(
        (U256::from(chain_id), verifier_contract, submitter, nonce).abi_encode(),
    );
    Fr::from_be_bytes_mod_order(h.as_slice())
}

/// The on-chain id of a circuit: `keccak256` of its name (e.g. `"exists-v3"`), the key of
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
        identityRoot: fr_to_u256(&p.identity_root),
        stateRoot: fr_to_u256(&p.state_root),
        queryHash: fr_to_u256(&p.query_hash),
        challenge: fr_to_u256(&p.challenge),
        nullifier: fr_to_u256(&p.nullifier),
        answer: p.answer,
    })
}
