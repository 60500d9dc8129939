//! The record commitment: one field element binding the identity, the patient leaf and
//! the six per-kind tree roots.
//!
//! ```text
//! record_commitment = H(identity_commit, patient_leaf, root_Condition, root_Procedure,
//!                       root_Observation, root_Immunization, root_MedicationRequest,
//!                       root_AllergyIntolerance)
//! ```

use zkmed_core::field::Fr;
use zkmed_core::poseidon::poseidon;

/// `H(identity_commitment, patient_leaf, roots[0..6])` (8 inputs), with `roots` in
/// [`zkmed_core::encoding::Kind::index`] order (Condition, Procedure, Observation,
/// Immunization, MedicationRequest, AllergyIntolerance).
pub fn record_commitment(identity_commitment: Fr, patient_leaf: Fr, roots: &[Fr; 6]) -> Fr {
    let mut inputs = [identity_commitment; 8];
    inputs[1] = patient_leaf;
    inputs[2..].copy_from_slice(roots);
    poseidon(&inputs).expect("Poseidon supports 8 inputs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_spec_and_is_order_sensitive() {
        let roots: [Fr; 6] = std::array::from_fn(|i| Fr::from(10 + i as u64));
        let c = record_commitment(Fr::from(1u64), Fr::from(2u64), &roots);
        let v: Vec<Fr> = [1u64, 2, 10, 11, 12, 13, 14, 15]
            .into_iter()
            .map(Fr::from)
            .collect();
        assert_eq!(c, poseidon(&v).unwrap());
        let mut swapped = roots;
        swapped.swap(0, 1);
        assert_ne!(
            c,
            record_commitment(Fr::from(1u64), Fr::from(2u64), &swapped)
        );
    }
}
