//! # zkmed-circuits
//!
//! Groth16/BN254 circuits that prove a predicate over a patient's committed records, bound to
//! the patient's identity, the verifier's challenge and the exact question, revealing only
//! the answer.
//!
//! * [`exists::ExistsCircuit`] (`exists-v3`): one record by Merkle inclusion — proves "yes"
//!   to `exists` queries over 2^20 records per kind, and age clauses.
//! * [`scan::ScanCircuit`] (`scan64-v3`, `scan512-v3`): all records of one kind — proves any
//!   quantifier (`exists`, `none`, `count >= k`, `count <= k`) with either answer.
//!
#![doc = include_str!("../../docs/circuits.md")]
#![forbid(unsafe_code)]

pub mod common;
pub mod exists;
pub mod gadgets;
pub mod scan;
pub mod state;
pub mod witness;

use ark_bn254::Fr;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};

/// The circuits this build ships. Ids are versioned: a change to a relation is a new id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CircuitId {
    Exists,
    Scan64,
    Scan512,
}

impl CircuitId {
    pub const ALL: [CircuitId; 3] = [CircuitId::Exists, CircuitId::Scan64, CircuitId::Scan512];

    pub fn as_str(self) -> &'static str {
        match self {
            CircuitId::Exists => "exists-v3",
            CircuitId::Scan64 => "scan64-v3",
            CircuitId::Scan512 => "scan512-v3",
        }
    }

    pub fn parse(s: &str) -> Option<CircuitId> {
        CircuitId::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Records of one kind the circuit opens (0 = one record by inclusion, any tree size).
    pub fn capacity(self) -> usize {
        match self {
            CircuitId::Exists => 0,
            CircuitId::Scan64 => 64,
            CircuitId::Scan512 => 512,
        }
    }

    /// Scan circuits, smallest first.
    pub fn scans() -> [CircuitId; 2] {
        [CircuitId::Scan64, CircuitId::Scan512]
    }

    /// Number of R1CS constraints (synthesized in setup mode).
    pub fn num_constraints(self) -> usize {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        self.blank()
            .generate_constraints(cs.clone())
            .expect("blank circuit synthesizes");
        cs.finalize();
        cs.num_constraints()
    }

    /// The circuit with no witness, for key generation.
    pub fn blank(self) -> AnyCircuit {
        match self {
            CircuitId::Exists => AnyCircuit::Exists(exists::ExistsCircuit::default()),
            c => AnyCircuit::Scan(scan::ScanCircuit::blank(c.capacity())),
        }
    }
}

impl std::fmt::Display for CircuitId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Any zkmed circuit, so callers can hold one type.
// Both variants hold a compiled query and a witness (~2 KB); one value exists per proof, so
// boxing the larger one would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum AnyCircuit {
    Exists(exists::ExistsCircuit),
    Scan(scan::ScanCircuit),
}

impl ConstraintSynthesizer<Fr> for AnyCircuit {
    fn generate_constraints(
        self,
        cs: ark_relations::gr1cs::ConstraintSystemRef<Fr>,
    ) -> ark_relations::gr1cs::Result<()> {
        match self {
            AnyCircuit::Exists(c) => c.generate_constraints(cs),
            AnyCircuit::Scan(c) => c.generate_constraints(cs),
        }
    }
}
