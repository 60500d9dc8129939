//! The patient's identity secret. `identity_commitment = H(secret)` is what the soul-bound
//! token holds; `nullifier(scope) = H(secret, scope)`.

use crate::error::{ProveError, Result};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;
use zkmed_core::field::{fr_to_dec, parse_fr, Fr};
use zkmed_core::poseidon::{poseidon, zeroize_fr};

/// A secret; zeroized on drop; `Debug` prints no digits.
pub struct IdentitySecret(Fr);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityFile {
    version: u32,
    secret: String,
    commitment: String,
}

impl IdentitySecret {
    /// 248 random bits.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        IdentitySecret(zkmed_records::opening::random_salt(rng))
    }

    pub fn from_fr(x: Fr) -> Self {
        IdentitySecret(x)
    }

    pub fn expose(&self) -> Fr {
        self.0
    }

    pub fn commitment(&self) -> Fr {
        poseidon(&[self.0]).expect("1 input")
    }

    pub fn nullifier(&self, scope: Fr) -> Fr {
        poseidon(&[self.0, scope]).expect("2 inputs")
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
                version: 1,
                secret: fr_to_dec(&self.0),
                commitment: fr_to_dec(&self.commitment()),
            })
            .map_err(|e| err(e.to_string()))?,
        );
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        use std::io::Write;
        let mut f = opts.open(path).map_err(|e| err(e.to_string()))?;
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
        if f.version != 1 {
            return Err(err(format!("unsupported version {}", f.version)));
        }
        let id = IdentitySecret(parse_fr(&secret).map_err(|e| err(e.to_string()))?);
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
        zeroize_fr(&mut self.0);
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
