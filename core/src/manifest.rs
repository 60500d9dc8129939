//! The key manifest (`keys/manifest.json`): for each circuit its id, version, constraint
//! count and the SHA-256 of its proving and verifying key files. Keys are loaded only after
//! their hash matches, which is what lets a hash-pinned key skip the (slow) curve checks.

use crate::error::{CoreError, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const MANIFEST_FORMAT: &str = "zkmed-keys/1";
pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitEntry {
    pub id: String,
    pub version: u32,
    pub constraints: usize,
    pub public_inputs: usize,
    /// Records of one kind this circuit can open (0 for the inclusion circuit: any number).
    pub capacity: usize,
    /// SHA-256 of the circuit's R1CS matrices: keys made for another relation (even one with
    /// the same constraint count) are refused.
    pub r1cs_sha256: String,
    pub pk: KeyFile,
    pub vk: KeyFile,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// Always true for keys made by `zkmed setup`: a single-party setup whose toxic waste
    /// was not destroyed by a ceremony. Not for production.
    pub insecure_setup: bool,
    pub circuits: Vec<CircuitEntry>,
}

impl Manifest {
    pub fn new() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT.into(),
            insecure_setup: true,
            circuits: vec![],
        }
    }

    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| CoreError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| CoreError::Manifest(format!("{}: {e}", path.display())))?;
        if m.format != MANIFEST_FORMAT {
            return Err(CoreError::Manifest(format!(
                "{}: format {:?}, expected {MANIFEST_FORMAT:?}",
                path.display(),
                m.format
            )));
        }
        for c in &m.circuits {
            for f in [&c.pk.file, &c.vk.file] {
                if f.contains('/') || f.contains('\\') || f.starts_with('.') {
                    return Err(CoreError::Manifest(format!(
                        "key file name {f:?} must be a plain file name"
                    )));
                }
            }
        }
        Ok(m)
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(".manifest.json.tmp");
        let io = |e| CoreError::Io {
            path: path.display().to_string(),
            source: e,
        };
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }

    pub fn get(&self, id: &str) -> Option<&CircuitEntry> {
        self.circuits.iter().find(|c| c.id == id)
    }

    pub fn upsert(&mut self, e: CircuitEntry) {
        self.circuits.retain(|c| c.id != e.id);
        self.circuits.push(e);
        self.circuits.sort_by(|a, b| a.id.cmp(&b.id));
    }
}

impl Default for Manifest {
    fn default() -> Self {
        Self::new()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads a key file and checks its size and SHA-256 against the manifest entry.
pub fn read_pinned(dir: &Path, f: &KeyFile) -> Result<Vec<u8>> {
    let path = dir.join(&f.file);
    let bytes = std::fs::read(&path).map_err(|e| CoreError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let got = sha256_hex(&bytes);
    if bytes.len() as u64 != f.bytes || got != f.sha256 {
        return Err(CoreError::Manifest(format!(
            "{}: SHA-256 {got} ({} bytes) does not match the manifest ({} , {} bytes); regenerate with `zkmed setup`",
            path.display(),
            bytes.len(),
            f.sha256,
            f.bytes
        )));
    }
    Ok(bytes)
}
