//! # zkmed-records
//!
//! From a FHIR R4 bundle to a record commitment:
//!
//! 1. [`import_bundle`] reads a Bundle (a minimal, tolerant serde model of FHIR R4, see
//!    [`fhir`]) into the patient's birth date and gender and a list of human-readable
//!    [`Record`]s (Condition, Procedure, Observation, Immunization, MedicationRequest,
//!    AllergyIntolerance), with an [`ImportReport`] of what was skipped and why.
//! 2. [`Opening::create`] draws a fresh 248-bit salt per record and for the patient leaf;
//!    the [`Opening`] is the patient's private file ([`Opening::save`] / [`Opening::load`]).
//! 3. Each record encodes to a fixed-layout leaf ([`Record::encode`],
//!    [`EncodedRecord::leaf`]); each kind has its own sparse quaternary Poseidon Merkle tree
//!    of depth 10 ([`KindTree`], [`MerklePath`]).
//! 4. [`record_commitment`] binds the identity commitment, the patient leaf and the six
//!    roots; [`Opening::commitment`] computes it.
//!
//! The encoding is normative in `docs/encoding.md` (also rendered in
//! [`zkmed_core::encoding`]).
//!
//! ```no_run
//! use zkmed_records::{import_bundle, Opening};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bundle = std::fs::read("patient.json")?;
//! let imported = import_bundle(&bundle)?;
//! let identity_commitment = zkmed_core::Fr::from(42u64); // H(identity_secret) in practice
//! let opening = Opening::create(imported, identity_commitment, &mut rand::rngs::OsRng)?;
//! println!("record commitment: {}", zkmed_core::field::fr_to_dec(&opening.commitment()?));
//! opening.save("opening.json")?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod commitment;
pub mod error;
pub mod fhir;
pub mod opening;
pub mod record;
pub mod tree;

pub use commitment::record_commitment;
pub use error::{RecordsError, Result};
pub use fhir::{decimal_to_fixed, import_bundle, ImportNote, ImportReport, ImportedPatient};
pub use opening::{random_salt, OpenedRecord, Opening, OPENING_VERSION};
pub use record::{
    patient_leaf, source_to_field, Code, CodeRole, CodeSystem, Comparator, EncodedRecord, Gender,
    PatientInfo, Record,
};
pub use tree::{zero_hashes, KindTree, MerklePath, TREE_CAPACITY};
pub use zkmed_core::encoding::{Kind, Status};
pub use zkmed_core::field::Fr;
