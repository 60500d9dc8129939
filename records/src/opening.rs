//! The private opening the patient keeps: every record in clear, with its salt, and the
//! patient salt. From it the patient (or their prover) recomputes the trees, the paths and
//! the record commitment; without it a commitment reveals nothing.
//!
//! # Secrets
//!
//! The salts are what makes the leaves hiding, so they are handled with care:
//! * [`OpenedRecord`] and [`Opening`] overwrite their salts (and the record text) with
//!   zeros when dropped ([`zeroize`]); the JSON text produced by [`Opening::to_json`] is a
//!   [`Zeroizing`] string. This is best effort: `Fr` is `Copy`, so copies made by callers
//!   (e.g. a salt passed to [`Record::encode`]) are theirs to handle.
//! * `Debug` never prints a salt (`salt: <redacted>`); `Opening`'s `Debug` prints only a
//!   summary (no record contents, no birth date).
//! * [`Opening::save`] writes a temporary file (mode 0600 on unix) and renames it over the
//!   target, so a crash never leaves a half-written opening.

use crate::commitment::record_commitment;
use crate::error::{RecordsError, Result};
use crate::fhir::{ImportReport, ImportedPatient};
use crate::record::{patient_leaf, Gender, PatientInfo, Record};
use crate::tree::{KindTree, TREE_CAPACITY};
use ark_ff::PrimeField;
use chrono::NaiveDate;
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{compiler_fence, Ordering};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};
use zkmed_core::encoding::Kind;
use zkmed_core::field::{serde_fr, Fr};

/// Version of the opening file format written by this crate.
pub const OPENING_VERSION: u32 = 2;

/// A fresh 248-bit salt: 31 random bytes read big-endian (always `< 2^248 < p`).
pub fn random_salt<R: RngCore + CryptoRng>(rng: &mut R) -> Fr {
    let mut b = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut b[1..]);
    Fr::from_be_bytes_mod_order(&b[..])
}

/// One record with the salt that hides its leaf.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedRecord {
    /// The record in clear.
    pub record: Record,
    /// Its salt (248 random bits).
    #[serde(with = "serde_fr")]
    pub salt: Fr,
}

impl OpenedRecord {
    /// The record's leaf: `H(meta, value, code, unit, H(salt, end, source))`.
    pub fn leaf(&self) -> Result<Fr> {
        Ok(self.record.encode(self.salt)?.leaf())
    }
}

impl fmt::Debug for OpenedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedRecord")
            .field("record", &self.record)
            .field("salt", &format_args!("<redacted>"))
            .finish()
    }
}

impl Drop for OpenedRecord {
    fn drop(&mut self) {
        self.salt.zeroize();
        self.record.zeroize();
        compiler_fence(Ordering::SeqCst);
    }
}

impl ZeroizeOnDrop for OpenedRecord {}

/// The patient's private opening of a record commitment.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    /// File format version ([`OPENING_VERSION`]).
    pub version: u32,
    /// `H(identity_secret)`; public, bound into the record commitment.
    #[serde(with = "serde_fr")]
    pub identity_commitment: Fr,
    /// Birth date and gender.
    pub patient: PatientInfo,
    /// Salt of the patient leaf.
    #[serde(with = "serde_fr")]
    pub patient_salt: Fr,
    /// All records, in import order (within a kind, this is leaf order).
    pub records: Vec<OpenedRecord>,
    /// What the import did (kept for the patient's information; not committed).
    pub import_report: ImportReport,
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<(Kind, usize)> = Kind::ALL
            .iter()
            .map(|&k| (k, self.records_of(k).len()))
            .collect();
        f.debug_struct("Opening")
            .field("version", &self.version)
            .field("identity_commitment", &self.identity_commitment)
            .field("patient", &format_args!("<redacted>"))
            .field("patient_salt", &format_args!("<redacted>"))
            .field("records", &counts)
            .field("salts", &format_args!("<redacted>"))
            .finish()
    }
}

impl Drop for Opening {
    fn drop(&mut self) {
        self.patient_salt.zeroize();
        self.patient = PatientInfo {
            birth_date: NaiveDate::MIN,
            gender: Gender::Unknown,
        };
        compiler_fence(Ordering::SeqCst);
        // `records` zeroize themselves when the vector drops them.
    }
}

impl ZeroizeOnDrop for Opening {}

/// Only the version, read before the rest so that a future format gets a clear error.
#[derive(Deserialize)]
struct VersionProbe {
    version: Option<serde_json::Value>,
}

impl Opening {
    /// Creates the opening of an imported patient, drawing a fresh salt for the patient
    /// leaf and for every record from `rng`. Fails if a record cannot be encoded or a kind
    /// has more records than a tree holds (never the case for [`crate::import_bundle`]'s
    /// output).
    pub fn create<R: RngCore + CryptoRng>(
        imported: ImportedPatient,
        identity_commitment: Fr,
        rng: &mut R,
    ) -> Result<Opening> {
        let ImportedPatient {
            patient,
            records,
            report,
            ..
        } = imported;
        let patient_salt = random_salt(rng);
        let records = records
            .into_iter()
            .map(|record| OpenedRecord {
                record,
                salt: random_salt(rng),
            })
            .collect();
        let o = Opening {
            version: OPENING_VERSION,
            identity_commitment,
            patient,
            patient_salt,
            records,
            import_report: report,
        };
        o.validate()?;
        Ok(o)
    }

    /// [`Opening::create`] with the salts drawn from a ChaCha20 stream keyed by `seed`: the
    /// same bundle (same records, same order) and the same seed give the same opening and
    /// the same commitment. This lets a patient keep one 32-byte salt seed instead of the
    /// opening file, and lets the prover service rebuild an opening from a FHIR bundle.
    /// The seed is as secret as the salts it generates.
    pub fn create_from_seed(
        imported: ImportedPatient,
        identity_commitment: Fr,
        seed: &[u8; 32],
    ) -> Result<Opening> {
        use rand_chacha::rand_core::SeedableRng;
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(*seed);
        Opening::create(imported, identity_commitment, &mut rng)
    }

    /// Checks the version, that every record and the birth date are encodable, and that no
    /// kind overflows its tree.
    pub fn validate(&self) -> Result<()> {
        if self.version != OPENING_VERSION {
            return Err(RecordsError::Opening(format!(
                "unsupported opening version {} (this build reads version {OPENING_VERSION})",
                self.version
            )));
        }
        patient_leaf(&self.patient, self.patient_salt)
            .map_err(|e| RecordsError::Opening(format!("patient birth date: {e}")))?;
        for (i, r) in self.records.iter().enumerate() {
            r.record
                .validate()
                .map_err(|e| RecordsError::Opening(format!("record {i}: {e}")))?;
        }
        for k in Kind::ALL {
            let n = self.records.iter().filter(|r| r.record.kind == k).count();
            if n > TREE_CAPACITY {
                return Err(RecordsError::Opening(format!(
                    "{n} {} records exceed the tree capacity {TREE_CAPACITY}",
                    k.fhir_name()
                )));
            }
        }
        Ok(())
    }

    /// The records of `kind` with their leaf index, in leaf order.
    pub fn records_of(&self, kind: Kind) -> Vec<(usize, &OpenedRecord)> {
        self.records
            .iter()
            .filter(|r| r.record.kind == kind)
            .enumerate()
            .collect()
    }

    /// The leaves of `kind`'s tree, in slot order.
    pub fn leaves(&self, kind: Kind) -> Result<Vec<Fr>> {
        self.records_of(kind)
            .into_iter()
            .map(|(_, r)| r.leaf())
            .collect()
    }

    /// The tree of `kind`.
    pub fn tree(&self, kind: Kind) -> Result<KindTree> {
        KindTree::from_leaves(self.leaves(kind)?)
    }

    /// The six trees, in [`Kind::index`] order.
    pub fn trees(&self) -> Result<[KindTree; 6]> {
        let mut out: [KindTree; 6] = std::array::from_fn(|_| KindTree::empty());
        for k in Kind::ALL {
            out[k.index()] = self.tree(k)?;
        }
        Ok(out)
    }

    /// The six roots, in [`Kind::index`] order.
    pub fn roots(&self) -> Result<[Fr; 6]> {
        let trees = self.trees()?;
        Ok(std::array::from_fn(|i| trees[i].root()))
    }

    /// `H(birth_date, gender, patient_salt)`.
    pub fn patient_leaf(&self) -> Result<Fr> {
        patient_leaf(&self.patient, self.patient_salt)
    }

    /// The record commitment `H(identity_commitment, patient_leaf, roots...)`.
    pub fn commitment(&self) -> Result<Fr> {
        Ok(record_commitment(
            self.identity_commitment,
            self.patient_leaf()?,
            &self.roots()?,
        ))
    }

    /// The opening as pretty JSON (field elements as decimal strings), in a buffer that is
    /// zeroed when dropped.
    pub fn to_json(&self) -> Result<Zeroizing<String>> {
        serde_json::to_string_pretty(self)
            .map(Zeroizing::new)
            .map_err(|e| RecordsError::Opening(format!("cannot serialize: {e}")))
    }

    /// Parses and validates an opening from JSON.
    pub fn from_json(json: &[u8]) -> Result<Opening> {
        let probe: VersionProbe = serde_json::from_slice(json)
            .map_err(|e| RecordsError::Opening(format!("malformed opening JSON: {e}")))?;
        match probe.version {
            None => {
                return Err(RecordsError::Opening(
                    "malformed opening: no `version` field".into(),
                ))
            }
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(OPENING_VERSION as u64) => {}
            Some(v) => {
                return Err(RecordsError::Opening(format!(
                    "unsupported opening version {v} (this build reads version {OPENING_VERSION})"
                )))
            }
        }
        let o: Opening = serde_json::from_slice(json)
            .map_err(|e| RecordsError::Opening(format!("malformed opening: {e}")))?;
        o.validate()?;
        Ok(o)
    }

    /// Writes the opening to `path` atomically: a temporary file next to it (mode 0600 on
    /// unix, flushed to disk), then a rename over `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |p: &Path, source: std::io::Error| RecordsError::Io {
            path: p.display().to_string(),
            source,
        };
        let name = path.file_name().ok_or_else(|| {
            io(
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
            )
        })?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let json = self.to_json()?;
        let nonce: u64 = rand::random();
        let tmp = dir.join(format!(
            ".{}.{}-{nonce:016x}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let write = || -> std::io::Result<()> {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp)?;
            f.write_all(json.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            Ok(())
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&tmp, e));
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(path, e)
        })
    }

    /// Reads and validates an opening file.
    pub fn load(path: impl AsRef<Path>) -> Result<Opening> {
        let path = path.as_ref();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| RecordsError::Io {
            path: path.display().to_string(),
            source,
        })?);
        Opening::from_json(&bytes).map_err(|e| match e {
            RecordsError::Opening(m) => RecordsError::Opening(format!("{}: {m}", path.display())),
            other => other,
        })
    }
}
