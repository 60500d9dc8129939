//! Key generation (`zkmed setup`) and loading. Every key file's SHA-256 is recorded in
//! `manifest.json` and checked before the key is deserialized; because the bytes are then
//! exactly the ones setup wrote, the (slow) curve and subgroup checks can be skipped for
//! manifest keys (`*_unchecked`). Keys from anywhere else go through
//! [`load_verifying_key_checked`].
//!
//! **INSECURE for production**: `setup` is a single-party Groth16 setup; whoever ran it
//! knows the toxic waste and could forge proofs. Production keys need an MPC ceremony.

use crate::error::{ProveError, Result};
use ark_bn254::{Bn254, Fr};
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Groth16, PreparedVerifyingKey, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use zkmed_circuits::CircuitId;
use zkmed_core::attestation::NUM_PUBLIC_INPUTS;
use zkmed_core::manifest::{read_pinned, sha256_hex, CircuitEntry, KeyFile, Manifest};

/// Version of the relation behind each circuit id (bumped with the id).
pub const CIRCUIT_VERSION: u32 = 1;

/// A circuit's keys, loaded, with its R1CS matrices (synthesized once, so that proving
/// only computes witness values and never rebuilds or re-inlines constraints).
pub struct CircuitKeys {
    pub id: CircuitId,
    pub pk: ProvingKey<Bn254>,
    pub pvk: PreparedVerifyingKey<Bn254>,
    /// Hex SHA-256 of the compressed verifying key; goes into every attestation.
    pub key_hash: String,
    pub constraints: usize,
    pub r1cs: Arc<R1csShape>,
}

/// The constraint matrices `A, B, C` of a circuit, its sizes and their SHA-256.
pub struct R1csShape {
    pub matrices: Vec<Matrix<Fr>>,
    pub num_instance_variables: usize,
    pub num_constraints: usize,
    pub sha256: String,
}

impl R1csShape {
    /// [`R1csShape::of`], synthesized once per process and shared.
    pub fn cached(id: CircuitId) -> Result<Arc<R1csShape>> {
        static CACHE: OnceLock<Mutex<HashMap<CircuitId, Arc<R1csShape>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(s) = cache.lock().expect("r1cs cache lock").get(&id) {
            return Ok(s.clone());
        }
        let shape = Arc::new(R1csShape::of(id)?);
        cache
            .lock()
            .expect("r1cs cache lock")
            .insert(id, shape.clone());
        Ok(shape)
    }

    /// Synthesizes the blank circuit in setup mode and extracts its matrices.
    pub fn of(id: CircuitId) -> Result<R1csShape> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        id.blank()
            .generate_constraints(cs.clone())
            .map_err(|e| ProveError::Synthesis(e.to_string()))?;
        cs.finalize();
        let mut m = cs
            .to_matrices()
            .map_err(|e| ProveError::Synthesis(e.to_string()))?;
        let matrices = m
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| ProveError::Synthesis("no R1CS predicate".into()))?;
        let mut h = Sha256::new();
        h.update((cs.num_instance_variables() as u64).to_le_bytes());
        h.update((cs.num_witness_variables() as u64).to_le_bytes());
        for m in &matrices {
            h.update((m.len() as u64).to_le_bytes());
            for row in m {
                h.update((row.len() as u64).to_le_bytes());
                for (coeff, col) in row {
                    h.update((*col as u64).to_le_bytes());
                    h.update(coeff.into_bigint().to_bytes_le());
                }
            }
        }
        Ok(R1csShape {
            matrices,
            num_instance_variables: cs.num_instance_variables(),
            num_constraints: cs.num_constraints(),
            sha256: hex::encode(h.finalize()),
        })
    }
}

impl CircuitKeys {
    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }
}

/// What setup is doing, for progress bars.
#[derive(Debug, Clone)]
pub enum SetupEvent {
    Start {
        circuit: CircuitId,
        index: usize,
        total: usize,
        constraints: usize,
    },
    Done {
        circuit: CircuitId,
        seconds: f64,
        pk_bytes: u64,
    },
}

/// Runs the (insecure, single-party) Groth16 setup for `circuits` and writes
/// `<id>.pk` (uncompressed), `<id>.vk` (compressed) and `manifest.json` into `dir`.
pub fn setup<R: RngCore + CryptoRng>(
    dir: &Path,
    circuits: &[CircuitId],
    rng: &mut R,
    progress: &mut dyn FnMut(SetupEvent),
) -> Result<Manifest> {
    std::fs::create_dir_all(dir).map_err(|e| ProveError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut manifest = match Manifest::load(dir) {
        Ok(m) => m,
        Err(_) => Manifest::new(),
    };
    for (index, &id) in circuits.iter().enumerate() {
        let shape = R1csShape::cached(id)?;
        let constraints = shape.num_constraints;
        progress(SetupEvent::Start {
            circuit: id,
            index,
            total: circuits.len(),
            constraints,
        });
        let t = std::time::Instant::now();
        let pk = Groth16::<Bn254>::generate_random_parameters_with_reduction(id.blank(), rng)
            .map_err(|e| ProveError::Synthesis(e.to_string()))?;
        let mut pk_bytes = Vec::new();
        pk.serialize_uncompressed(&mut pk_bytes)
            .expect("serialize to Vec");
        let mut vk_bytes = Vec::new();
        pk.vk
            .serialize_compressed(&mut vk_bytes)
            .expect("serialize to Vec");
        let pk_file = write_file(dir, &format!("{id}.pk"), &pk_bytes)?;
        let vk_file = write_file(dir, &format!("{id}.vk"), &vk_bytes)?;
        manifest.upsert(CircuitEntry {
            id: id.as_str().into(),
            version: CIRCUIT_VERSION,
            constraints,
            public_inputs: NUM_PUBLIC_INPUTS,
            capacity: id.capacity(),
            r1cs_sha256: shape.sha256.clone(),
            pk: pk_file,
            vk: vk_file,
        });
        manifest.save(dir)?;
        progress(SetupEvent::Done {
            circuit: id,
            seconds: t.elapsed().as_secs_f64(),
            pk_bytes: pk_bytes.len() as u64,
        });
    }
    Ok(manifest)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<KeyFile> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |e| ProveError::Io {
        path: path.display().to_string(),
        source: e,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(KeyFile {
        file: name.into(),
        sha256: sha256_hex(bytes),
        bytes: bytes.len() as u64,
    })
}

/// Keys in a directory, loaded lazily (a proving key is read the first time it is needed),
/// shared between threads.
pub struct KeyStore {
    dir: PathBuf,
    manifest: Manifest,
    loaded: Mutex<HashMap<CircuitId, Arc<CircuitKeys>>>,
}

impl KeyStore {
    pub fn open(dir: &Path) -> Result<KeyStore> {
        let manifest = Manifest::load(dir)?;
        Ok(KeyStore {
            dir: dir.to_path_buf(),
            manifest,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The circuits whose keys the manifest lists.
    pub fn available(&self) -> Vec<CircuitId> {
        CircuitId::ALL
            .into_iter()
            .filter(|c| self.manifest.get(c.as_str()).is_some())
            .collect()
    }

    /// The circuits whose proving keys are loaded in memory.
    pub fn loaded(&self) -> Vec<CircuitId> {
        let mut v: Vec<_> = self
            .loaded
            .lock()
            .expect("key cache lock")
            .keys()
            .copied()
            .collect();
        v.sort();
        v
    }

    pub fn get(&self, id: CircuitId) -> Result<Arc<CircuitKeys>> {
        if let Some(k) = self.loaded.lock().expect("key cache lock").get(&id) {
            return Ok(k.clone());
        }
        let entry = self
            .manifest
            .get(id.as_str())
            .ok_or_else(|| ProveError::MissingKey(id.as_str().into()))?;
        if entry.version != CIRCUIT_VERSION {
            return Err(ProveError::BadKey {
                path: entry.pk.file.clone(),
                reason: format!(
                    "circuit version {} but this build proves version {CIRCUIT_VERSION}",
                    entry.version
                ),
            });
        }
        let pk_bytes = read_pinned(&self.dir, &entry.pk)?;
        let vk_bytes = read_pinned(&self.dir, &entry.vk)?;
        let pk = proving_key_from_pinned_bytes_unchecked(&pk_bytes).map_err(|reason| {
            ProveError::BadKey {
                path: entry.pk.file.clone(),
                reason,
            }
        })?;
        let mut vk_check = Vec::new();
        pk.vk
            .serialize_compressed(&mut vk_check)
            .expect("serialize to Vec");
        if vk_check != vk_bytes {
            return Err(ProveError::BadKey {
                path: entry.vk.file.clone(),
                reason: "verifying key does not belong to the proving key".into(),
            });
        }
        let r1cs = R1csShape::cached(id)?;
        if r1cs.sha256 != entry.r1cs_sha256
            || r1cs.num_constraints != entry.constraints
            || pk.vk.gamma_abc_g1.len() != r1cs.num_instance_variables
        {
            return Err(ProveError::BadKey {
                path: entry.pk.file.clone(),
                reason: format!(
                    "made for another relation (R1CS SHA-256 {}, {} constraints); this build's {id} is {} with {} constraints (run `zkmed setup` again)",
                    entry.r1cs_sha256, entry.constraints, r1cs.sha256, r1cs.num_constraints
                ),
            });
        }
        let keys = Arc::new(CircuitKeys {
            r1cs,
            id,
            pvk: ark_groth16::prepare_verifying_key(&pk.vk),
            pk,
            key_hash: entry.vk.sha256.clone(),
            constraints: entry.constraints,
        });
        self.loaded
            .lock()
            .expect("key cache lock")
            .insert(id, keys.clone());
        Ok(keys)
    }
}

/// Deserializes a proving key WITHOUT curve/subgroup checks. Safe only for bytes whose
/// SHA-256 was just checked against the manifest written by our own setup: the points are
/// then exactly the ones setup produced.
pub fn proving_key_from_pinned_bytes_unchecked(
    bytes: &[u8],
) -> std::result::Result<ProvingKey<Bn254>, String> {
    let mut r = bytes;
    let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(&mut r)
        .map_err(|e| format!("not a proving key: {e}"))?;
    if !r.is_empty() {
        return Err(format!("{} trailing bytes", r.len()));
    }
    Ok(pk)
}

/// Loads a verifying key from untrusted bytes with full validation (points on the curve and
/// in the prime-order subgroup, 7 public inputs).
pub fn load_verifying_key_checked(
    bytes: &[u8],
) -> std::result::Result<VerifyingKey<Bn254>, String> {
    let mut r = bytes;
    let vk = VerifyingKey::<Bn254>::deserialize_compressed(&mut r)
        .map_err(|e| format!("not a verifying key: {e}"))?;
    if !r.is_empty() {
        return Err(format!("{} trailing bytes", r.len()));
    }
    if vk.gamma_abc_g1.len() != NUM_PUBLIC_INPUTS + 1 {
        return Err(format!(
            "expected {} public inputs, key has {}",
            NUM_PUBLIC_INPUTS,
            vk.gamma_abc_g1.len().saturating_sub(1)
        ));
    }
    Ok(vk)
}
