//! The patient's identity: the secret `s` and the nullifier key `nk` (docs/state.md).
//! `identity_commitment = H(s, nk)` is what the soul-bound token holds and the identity tree's
//! leaf; `nullifier(scope) = H(nk, scope)`. Recovery replaces `s` and keeps `nk`, so a claim
//! spent before recovery stays spent.

use crate::error::{ProveError, Result};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;
use zkmed_core::field::{fr_to_dec, parse_fr, Fr};
use zkmed_core::poseidon::{poseidon, zeroize_fr};

/// A secret; zeroized on drop; `Debug` prints no digits.
pub struct IdentitySecret {
    secret: Fr,
    nullifier_key: Fr,
}

const IDENTITY_FILE_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    version: u32,
    secret: String,
    #[serde(default)]
    nullifier_key: String,
    commitment: String,
}

impl IdentitySecret {
    /// 248 random bits.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        IdentitySecret {
            secret: zkmed_records::opening::random_salt(rng),
            nullifier_key: zkmed_records::opening::random_salt(rng),
        }
    }

    pub fn from_parts(secret: Fr, nullifier_key: Fr) -> Self {
        IdentitySecret {
            secret,
            nullifier_key,
        }
    }

    /// Recovery: a fresh secret, the same nullifier key.
    pub fn recovered<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Self {
        IdentitySecret {
            secret: zkmed_records::opening::random_salt(rng),
            nullifier_key: self.nullifier_key,
        }
    }

    pub fn secret(&self) -> Fr {
        self.secret
    }

    pub fn nullifier_key(&self) -> Fr {
        self.nullifier_key
    }

    pub fn commitment(&self) -> Fr {
        poseidon(&[self.secret, self.nullifier_key]).expect("2 inputs")
    }

    pub fn nullifier(&self, scope: Fr) -> Fr {
        poseidon(&[self.nullifier_key, scope]).expect("2 inputs")
    }

    /// Writes `{version, secret, commitment}` (mode 0600 on Unix), refusing to overwrite.
    pub fn save(&self, path: &Path) -> Result<()> {
        let err = |reason: String| ProveError::Identity {
            path: path.display().to_string(),
            reason,
        };
        if path.exists() {
            return Err(err(
                "already exists; refusing to overwrite an identity".into()
            ));
        }
        let body = Zeroizing::new(
            serde_json::to_string_pretty(&IdentityFile {
                version: IDENTITY_FILE_VERSION,
                secret: fr_to_dec(&self.secret),
                nullifier_key: fr_to_dec(&self.nullifier_key),
                commitment: fr_to_dec(&self.commitment()),
            })
            .map_err(|e| err(e.to_string()))?,
        );
        use std::io::Write;
        let mut f = zkmed_core::files::create_private_file(path).map_err(|e| err(e.to_string()))?;
        f.write_all(body.as_bytes()).map_err(|e| err(e.to_string()))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let err = |reason: String| ProveError::Identity {
            path: path.display().to_string(),
            reason,
        };
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| err(e.to_string()))?);
        let f: IdentityFile = serde_json::from_slice(&bytes)
            .map_err(|e| err(format!("malformed identity file: {e}")))?;
        let secret = Zeroizing::new(f.secret);
        let nk = Zeroizing::new(f.nullifier_key);
        if f.version == 1 {
            return Err(err(
                "identity file version 1 (commitment H(secret), no nullifier key) is no longer \
                 supported: create a new identity with `zkmed identity new`"
                    .into(),
            ));
        }
        if f.version != IDENTITY_FILE_VERSION {
            return Err(err(format!("unsupported version {}", f.version)));
        }
        let id = IdentitySecret {
            secret: parse_fr(&secret).map_err(|e| err(e.to_string()))?,
            nullifier_key: parse_fr(&nk).map_err(|e| err(e.to_string()))?,
        };
        if fr_to_dec(&id.commitment()) != f.commitment {
            return Err(err(
                "commitment does not match the secret (corrupted file?)".into(),
            ));
        }
        Ok(id)
    }
}

impl Drop for IdentitySecret {
    fn drop(&mut self) {
        zeroize_fr(&mut self.secret);
        zeroize_fr(&mut self.nullifier_key);
    }
}

impl std::fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "IdentitySecret(<redacted>, commitment {})",
            fr_to_dec(&self.commitment())
        )
    }
}
