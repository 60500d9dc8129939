//! Who may ask what.
//!
//! * **Patients** sign each request: an EIP-191 `personal_sign` by the key of the address
//!   that owns the identity's soul-bound token, over
//!   `"zkmed issuer request v1\n" || hex(sha256(body))`, sent as the `X-Zkmed-Signature`
//!   header (65 bytes, `0x` hex). The body names the issuer, so a request signed for issuer
//!   A is refused by B; the owner's signature over a request naming B is the patient's
//!   authorisation of B. A replayed request is refused because its old state's nullifier is
//!   then queued or spent (one state, one transition).
//! * **The operator** registers records with a bearer token read from a 0600 file.

use crate::error::{IssuerError, Result};
use alloy::primitives::{Address, Signature};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;
use zkmed_chain::backend::{Backend, Registry};
use zkmed_core::field::{parse_fr, Fr};

/// The header carrying a patient's signature.
pub const SIGNATURE_HEADER: &str = "x-zkmed-signature";

/// The message a patient signs for a request body.
pub fn request_message(body: &[u8]) -> Vec<u8> {
    let mut m = b"zkmed issuer request v1\n".to_vec();
    m.extend_from_slice(hex::encode(Sha256::digest(body)).as_bytes());
    m
}

/// Signs a request body as the token's owner: the value of [`SIGNATURE_HEADER`].
pub fn sign_request(owner: &PrivateKeySigner, body: &[u8]) -> Result<String> {
    let sig = owner
        .sign_message_sync(&request_message(body))
        .map_err(|e| IssuerError::Unauthenticated(format!("signing: {e}")))?;
    Ok(format!("0x{}", hex::encode(sig.as_bytes())))
}

/// The address whose key signed `body` (the header's value `signature`).
pub fn recover_signer(body: &[u8], signature: &str) -> Result<Address> {
    let raw = signature.strip_prefix("0x").unwrap_or(signature);
    let bytes = hex::decode(raw)
        .map_err(|_| IssuerError::Unauthenticated("the signature is not hex".into()))?;
    let sig = Signature::from_raw(&bytes)
        .map_err(|e| IssuerError::Unauthenticated(format!("malformed signature: {e}")))?;
    sig.recover_address_from_msg(request_message(body))
        .map_err(|e| IssuerError::Unauthenticated(format!("unrecoverable signature: {e}")))
}

/// Who owns an identity's token.
pub trait Identities: Send {
    /// The owner of the active token whose identity commitment is `identity`, or `None`
    /// (no such token, or revoked).
    fn owner(&mut self, identity: &Fr) -> Result<Option<Address>>;
}

/// Token owners from a JSON file `{"<identity commitment>": "0x<owner address>"}`, read at
/// each lookup (an operator's list, for running without a chain).
pub struct FileIdentities {
    path: PathBuf,
}

impl FileIdentities {
    /// The file name under the data directory.
    pub const FILE: &'static str = "identities.json";

    pub fn new(path: &Path) -> FileIdentities {
        FileIdentities {
            path: path.to_path_buf(),
        }
    }

    /// Adds (or replaces) an entry, writing the file atomically (mode 0600).
    pub fn insert(path: &Path, identity: &Fr, owner: Address) -> Result<()> {
        let mut map = read_map(path)?;
        map.insert(zkmed_core::field::fr_to_dec(identity), owner.to_string());
        let json =
            serde_json::to_vec_pretty(&map).map_err(|e| IssuerError::Identities(e.to_string()))?;
        crate::write_private_atomic(path, &json)
    }
}

fn read_map(path: &Path) -> Result<BTreeMap<String, String>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| IssuerError::Identities(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(IssuerError::io(path, e)),
    }
}

impl Identities for FileIdentities {
    fn owner(&mut self, identity: &Fr) -> Result<Option<Address>> {
        let map = read_map(&self.path)?;
        for (k, v) in map {
            let idc = parse_fr(&k)
                .map_err(|e| IssuerError::Identities(format!("{}: {e}", self.path.display())))?;
            if idc == *identity {
                let a: Address = v.parse().map_err(|e| {
                    IssuerError::Identities(format!("{}: {v}: {e}", self.path.display()))
                })?;
                return Ok(Some(a));
            }
        }
        Ok(None)
    }
}

/// Token owners on chain (`ZkmedIdentity`: the token of a commitment, then its owner).
pub struct ChainIdentities<B: Backend> {
    pub registry: Registry<B>,
}

impl<B: Backend + Send> Identities for ChainIdentities<B> {
    fn owner(&mut self, identity: &Fr) -> Result<Option<Address>> {
        let chain = |e: zkmed_chain::ChainError| IssuerError::Identities(e.to_string());
        let Some(token) = self.registry.token_of_commitment(identity).map_err(chain)? else {
            return Ok(None);
        };
        Ok(Some(self.registry.owner_of(token).map_err(chain)?))
    }
}

/// Reads a secret file that must be mode 0600 (a key, a token).
pub fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| IssuerError::io(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(IssuerError::Config(format!(
                "{}: a secret file must be mode 0600 (is {:o})",
                path.display(),
                mode & 0o777
            )));
        }
    }
    Ok(Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| IssuerError::io(path, e))?,
    ))
}

/// The operator's bearer token, read from a file that must be mode 0600 (created with a
/// fresh random token when absent).
pub struct OperatorToken(Zeroizing<String>);

impl OperatorToken {
    /// The file name under the data directory.
    pub const FILE: &'static str = "operator.token";

    pub fn load_or_create(path: &Path) -> Result<OperatorToken> {
        if !path.exists() {
            let mut b = Zeroizing::new([0u8; 32]);
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b[..]);
            let t = Zeroizing::new(hex::encode(&b[..]));
            crate::write_private_atomic(path, t.as_bytes())?;
        }
        let s = read_secret_file(path)?;
        let t = s.trim();
        if t.len() < 16 {
            return Err(IssuerError::Config(format!(
                "{}: the operator token must have at least 16 characters",
                path.display()
            )));
        }
        Ok(OperatorToken(Zeroizing::new(t.to_string())))
    }

    /// Checks an `Authorization` header value (`Bearer <token>`) in constant time.
    pub fn check(&self, header: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        given.trim().as_bytes().ct_eq(self.0.as_bytes()).into()
    }
}
