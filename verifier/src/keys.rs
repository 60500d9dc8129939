//! Verifying keys: decoding (fully validated or hash-pinned), preparation for pairings, and
//! the set of keys a verifier accepts, loaded from a `keys/manifest.json` directory.

use crate::error::VerifyError;
use ark_bn254::Bn254;
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_groth16::{PreparedVerifyingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use zkmed_core::attestation::NUM_PUBLIC_INPUTS;
use zkmed_core::manifest::{read_pinned, sha256_hex, Manifest};

/// A Groth16 verifying key for one circuit, with its SHA-256 and the pairing-ready
/// precomputation.
///
/// Invariants (enforced by the constructors, which is why the fields are private):
/// `key_hash == sha256(to_bytes())`, the key has exactly `NUM_PUBLIC_INPUTS + 1`
/// `gamma_abc_g1` points, `alpha`, `beta`, `gamma`, `delta` are not the point at infinity,
/// and `pvk` is the preparation of `vk`.
#[derive(Clone)]
pub struct VerifierKey {
    id: String,
    key_hash: String,
    vk: VerifyingKey<Bn254>,
    pvk: PreparedVerifyingKey<Bn254>,
    /// `beta_g2` prepared for the Miller loop (used by batch verification).
    beta_prepared: <Bn254 as Pairing>::G2Prepared,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierKey")
            .field("id", &self.id)
            .field("key_hash", &self.key_hash)
            .field("public_inputs", &(self.vk.gamma_abc_g1.len() - 1))
            .finish_non_exhaustive()
    }
}

impl VerifierKey {
    /// Decodes a canonical compressed verifying key with **full validation**: every point is
    /// checked to be on the curve and in the prime-order subgroup, the encoding must be
    /// canonical and consumed exactly, and the key must have 6 public inputs.
    ///
    /// Use this for key bytes from anywhere that is not hash-pinned.
    pub fn from_bytes(id: impl Into<String>, bytes: &[u8]) -> Result<VerifierKey, VerifyError> {
        Self::decode(id.into(), bytes, Validate::Yes)
    }

    /// Like [`VerifierKey::from_bytes`] but **skips the curve/subgroup checks** of the points
    /// (the expensive part: a G2 subgroup check per G2 point). Structure, canonical encoding,
    /// exact length and the public-input count are still checked.
    ///
    /// Only call this on bytes whose SHA-256 you have *just* checked against a trusted pin
    /// (as [`KeySet::load_manifest_dir`] does via `read_pinned`). That is safe because the
    /// pinned bytes are exactly the key that `zkmed setup` produced and validated; an
    /// attacker cannot substitute other bytes without a SHA-256 second preimage.
    pub fn from_bytes_unchecked(
        id: impl Into<String>,
        bytes: &[u8],
    ) -> Result<VerifierKey, VerifyError> {
        Self::decode(id.into(), bytes, Validate::No)
    }

    /// Builds a key from an in-memory verifying key (e.g. fresh from a setup). The key is
    /// re-encoded and re-decoded with full validation, so the invariants hold as for
    /// [`VerifierKey::from_bytes`].
    pub fn from_vk(
        id: impl Into<String>,
        vk: &VerifyingKey<Bn254>,
    ) -> Result<VerifierKey, VerifyError> {
        let id = id.into();
        let mut bytes = Vec::with_capacity(vk.compressed_size());
        vk.serialize_compressed(&mut bytes)
            .map_err(|e| VerifyError::InvalidKey {
                id: id.clone(),
                reason: format!("cannot encode: {e}"),
            })?;
        Self::decode(id, &bytes, Validate::Yes)
    }

    fn decode(id: String, bytes: &[u8], validate: Validate) -> Result<VerifierKey, VerifyError> {
        let bad = |reason: String| VerifyError::InvalidKey {
            id: id.clone(),
            reason,
        };
        let mut rest = bytes;
        let vk = VerifyingKey::<Bn254>::deserialize_with_mode(&mut rest, Compress::Yes, validate)
            .map_err(|e| {
            bad(format!(
                "{} bytes do not decode as a compressed BN254 Groth16 verifying key: {e}",
                bytes.len()
            ))
        })?;
        if !rest.is_empty() {
            return Err(bad(format!(
                "{} trailing bytes after the verifying key",
                rest.len()
            )));
        }
        if vk.gamma_abc_g1.len() != NUM_PUBLIC_INPUTS + 1 {
            return Err(bad(format!(
                "key has {} public inputs, zkmed circuits have exactly {NUM_PUBLIC_INPUTS}",
                vk.gamma_abc_g1.len().saturating_sub(1)
            )));
        }
        for (name, zero) in [
            ("alpha_g1", vk.alpha_g1.is_zero()),
            ("beta_g2", vk.beta_g2.is_zero()),
            ("gamma_g2", vk.gamma_g2.is_zero()),
            ("delta_g2", vk.delta_g2.is_zero()),
        ] {
            if zero {
                return Err(bad(format!("{name} is the point at infinity")));
            }
        }
        let mut canonical = Vec::with_capacity(bytes.len());
        vk.serialize_compressed(&mut canonical)
            .map_err(|e| bad(format!("cannot re-encode: {e}")))?;
        if canonical != bytes {
            return Err(bad(
                "encoding is not canonical (re-encoding gives different bytes)".into(),
            ));
        }
        let pvk = ark_groth16::prepare_verifying_key(&vk);
        let beta_prepared = vk.beta_g2.into();
        Ok(VerifierKey {
            key_hash: sha256_hex(bytes),
            id,
            vk,
            pvk,
            beta_prepared,
        })
    }

    /// The circuit id this key verifies (e.g. `exists-v3`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Hex SHA-256 of the canonical compressed key bytes (what attestations carry as
    /// `key_hash`).
    pub fn key_hash(&self) -> &str {
        &self.key_hash
    }

    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.vk
    }

    pub fn pvk(&self) -> &PreparedVerifyingKey<Bn254> {
        &self.pvk
    }

    pub(crate) fn beta_prepared(&self) -> &<Bn254 as Pairing>::G2Prepared {
        &self.beta_prepared
    }

    /// The canonical compressed encoding (whose SHA-256 is [`VerifierKey::key_hash`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.vk.compressed_size());
        self.vk
            .serialize_compressed(&mut out)
            .expect("writing to a Vec cannot fail");
        out
    }
}

/// The verifying keys a verifier accepts, by circuit id.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: BTreeMap<String, VerifierKey>,
    insecure_setup: bool,
}

impl KeySet {
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Loads every verifying key listed in `dir/manifest.json`. Each vk file is read with
    /// `read_pinned` (size and SHA-256 must match the manifest) and then decoded with
    /// [`VerifierKey::from_bytes_unchecked`], which is safe because of that hash check.
    /// Proving keys are not touched.
    pub fn load_manifest_dir(dir: &Path) -> Result<KeySet, VerifyError> {
        let manifest = Manifest::load(dir)?;
        let mut set = KeySet {
            keys: BTreeMap::new(),
            insecure_setup: manifest.insecure_setup,
        };
        for entry in &manifest.circuits {
            if entry.public_inputs != NUM_PUBLIC_INPUTS {
                return Err(VerifyError::InvalidKey {
                    id: entry.id.clone(),
                    reason: format!(
                        "manifest lists {} public inputs, zkmed circuits have exactly {NUM_PUBLIC_INPUTS}",
                        entry.public_inputs
                    ),
                });
            }
            if set.keys.contains_key(&entry.id) {
                return Err(VerifyError::DuplicateKey(entry.id.clone()));
            }
            let bytes = read_pinned(dir, &entry.vk)?;
            // Safe: `read_pinned` just checked these bytes against the manifest's SHA-256.
            let key = VerifierKey::from_bytes_unchecked(entry.id.clone(), &bytes)?;
            set.keys.insert(entry.id.clone(), key);
        }
        Ok(set)
    }

    /// Adds (or replaces) a key; returns the key previously stored under the same id.
    pub fn insert(&mut self, key: VerifierKey) -> Option<VerifierKey> {
        self.keys.insert(key.id.clone(), key)
    }

    pub fn get(&self, id: &str) -> Option<&VerifierKey> {
        self.keys.get(id)
    }

    /// Loaded circuit ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// True when the keys came from a manifest that marks them as made by a single-party
    /// (`zkmed setup`) ceremony: whoever ran it can forge proofs. Not for production.
    pub fn insecure_setup(&self) -> bool {
        self.insecure_setup
    }

    /// Looks up the key for `circuit`, with an error that lists the loaded ids.
    pub fn require(&self, circuit: &str) -> Result<&VerifierKey, VerifyError> {
        self.get(circuit)
            .ok_or_else(|| VerifyError::UnknownCircuit {
                circuit: circuit.to_string(),
                known: if self.keys.is_empty() {
                    "none".into()
                } else {
                    self.ids().collect::<Vec<_>>().join(", ")
                },
            })
    }
}
