//! The soundness matrix, on real proofs and on hand-built witnesses: everything that must be
//! rejected is, and by the right check (the pairing check where the statement is altered,
//! the constraint system where the witness lies, the parser where an encoding is
//! non-canonical).

mod support;

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{r1cs_to_qap::LibsnarkReduction, Groth16, Proof};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use num_bigint::BigUint;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use support::circuits::{
    accepted, common_witness, exists_circuit, public_inputs, record_witnesses, satisfied,
    satisfies_matrices, scan_circuit,
};
use support::reference::evaluate_opening;
use support::*;
use zkmed_circuits::scan::ScanCircuit;
use zkmed_circuits::witness::RecordWitness;
use zkmed_circuits::{AnyCircuit, CircuitId};
use zkmed_core::attestation::{Attestation, PublicInputs};
use zkmed_core::encoding::{Kind, Status};
use zkmed_core::field::{fr_to_dec, MODULUS_DEC};
use zkmed_core::predicates;
use zkmed_core::query::Query;
use zkmed_prover::keys::CircuitKeys;
use zkmed_prover::KeyStore;
use zkmed_records::Record;
use zkmed_verifier::{
    verify, verify_statement_unbound, verify_with_query_hash, CallerRoots, KeySet, RootPolicy,
    VerifyError,
};

fn predicate(name: &str) -> Query {
    predicates::get(name)
        .unwrap()
        .instantiate(&BTreeMap::new(), today())
        .unwrap()
}

const CHALLENGE: u64 = 0x5eed;

/// Keys, patients and two real attestations, made once for the whole binary.
struct World {
    keys: KeyStore,
    set: KeySet,
    jonathan: Patient,
    alejandro: Patient,
    /// Jonathan, has-organ-transplant: true, by inclusion (exists-v3).
    transplant: Attestation,
    /// Jonathan, no-chronic-conditions: false, by scan (scan64-v3).
    chronic: Attestation,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let keys = keys(&[CircuitId::Exists, CircuitId::Scan64]);
        let set = keyset(&keys);
        let mut jonathan = patient("Jonathan_Hermiston", 11);
        let mut alejandro = patient("Alejandro_Riojas", 12);
        share_world(&mut [&mut jonathan, &mut alejandro]);
        let challenge = Fr::from(CHALLENGE);
        let transplant = prove_query(
            &keys,
            &jonathan,
            &predicate("has-organ-transplant"),
            challenge,
            1,
        )
        .unwrap();
        assert_eq!(
            (
                transplant.plan.circuit,
                transplant.attestation.public.answer
            ),
            (CircuitId::Exists, true)
        );
        let chronic = prove_query(
            &keys,
            &jonathan,
            &predicate("no-chronic-conditions"),
            challenge,
            2,
        )
        .unwrap();
        assert_eq!(
            (chronic.plan.circuit, chronic.attestation.public.answer),
            (CircuitId::Scan64, false)
        );
        World {
            keys,
            set,
            jonathan,
            alejandro,
            transplant: transplant.attestation,
            chronic: chronic.attestation,
        }
    })
}

fn cases() -> [(&'static str, &'static Attestation, Query); 2] {
    let w = world();
    [
        (
            "has-organ-transplant",
            &w.transplant,
            predicate("has-organ-transplant"),
        ),
        (
            "no-chronic-conditions",
            &w.chronic,
            predicate("no-chronic-conditions"),
        ),
    ]
}

fn decode(att: &Attestation) -> Proof<Bn254> {
    Proof::deserialize_compressed(&att.proof_bytes().unwrap()[..]).unwrap()
}

/// The raw Groth16 check with the prover's own prepared key, bypassing every other check.
fn pairing_accepts(att: &Attestation, public: &PublicInputs) -> bool {
    let id = CircuitId::parse(&att.circuit).unwrap();
    let k = world().keys.get(id).unwrap();
    Groth16::<Bn254>::verify_with_processed_vk(&k.pvk, &public.to_field_elements(), &decode(att))
        .unwrap_or(false)
}

#[test]
fn genuine_attestations_verify() {
    let w = world();
    for (name, att, q) in cases() {
        verify_for(&w.set, &w.jonathan, att, &q, Fr::from(CHALLENGE))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        verify_statement_unbound(w.set.get(&att.circuit).unwrap(), att).unwrap();
        assert!(pairing_accepts(att, &att.public));
    }
}

#[test]
fn tampered_proof_bytes_are_rejected() {
    let w = world();
    for (name, att, q) in cases() {
        let bytes = att.proof_bytes().unwrap();
        assert_eq!(bytes.len(), 128);
        for pos in [0usize, 1, 16, 31, 32, 47, 63, 64, 95, 96, 100, 127] {
            for mask in [0x01u8, 0x80] {
                let mut b = bytes.clone();
                b[pos] ^= mask;
                let mut t = att.clone();
                t.proof = hex::encode(&b);
                let e = verify_for(&w.set, &w.jonathan, &t, &q, Fr::from(CHALLENGE)).unwrap_err();
                assert!(
                    matches!(
                        e,
                        VerifyError::MalformedProof(_) | VerifyError::InvalidProof { .. }
                    ),
                    "{name}: byte {pos} ^ {mask:#x}: {e}"
                );
                assert!(verify_statement_unbound(w.set.get(&att.circuit).unwrap(), &t).is_err());
            }
        }
        // Truncated, extended, empty, swapped with the other proof.
        for b in [
            bytes[..127].to_vec(),
            [bytes.clone(), vec![0]].concat(),
            vec![],
        ] {
            let mut t = att.clone();
            t.proof = hex::encode(&b);
            assert!(
                verify_for(&w.set, &w.jonathan, &t, &q, Fr::from(CHALLENGE)).is_err(),
                "{name}: {} bytes",
                b.len()
            );
        }
    }
    // The two proofs are both valid, each for its own statement only.
    let mut swapped = w.chronic.clone();
    swapped.proof = w.transplant.proof.clone();
    swapped.circuit = w.transplant.circuit.clone();
    swapped.key_hash = w.transplant.key_hash.clone();
    assert!(matches!(
        verify_statement_unbound(w.set.get("exists-v3").unwrap(), &swapped),
        Err(VerifyError::InvalidProof { .. })
    ));
}

/// Each public input altered in turn: the PROOF rejects it (the raw pairing check and
/// `verify_statement_unbound`), and `verify` rejects it even when every binding check is
/// arranged to pass (the verifier "expects" the altered statement).
/// A named change to the public inputs.
type Alteration = (&'static str, fn(&mut PublicInputs));

#[test]
fn every_public_input_is_bound_by_the_proof() {
    let w = world();
    for (name, att, _) in cases() {
        let alterations: [Alteration; 6] = [
            ("identity_root", |p| p.identity_root += Fr::from(1u64)),
            ("state_root", |p| p.state_root += Fr::from(1u64)),
            ("query_hash", |p| p.query_hash += Fr::from(1u64)),
            ("challenge", |p| p.challenge += Fr::from(1u64)),
            ("nullifier", |p| p.nullifier += Fr::from(1u64)),
            ("answer", |p| p.answer = !p.answer),
        ];
        for (field, alter) in alterations {
            let mut t = att.clone();
            alter(&mut t.public);
            assert_ne!(t.public, att.public);
            assert!(
                !pairing_accepts(att, &t.public),
                "{name}: raw pairing check accepts altered {field}"
            );
            let key = w.set.get(&att.circuit).unwrap();
            assert!(
                matches!(
                    verify_statement_unbound(key, &t),
                    Err(VerifyError::InvalidProof { .. })
                ),
                "{name}: altered {field} not rejected by the proof"
            );
            // A verifier that asked exactly the altered statement, over roots it takes to
            // be current, still rejects it.
            let roots = CallerRoots {
                identity_roots: vec![t.public.identity_root],
                state_roots: vec![t.public.state_root],
            };
            let e = verify_with_query_hash(
                &w.set,
                &t,
                &t.public.query_hash,
                &t.public.challenge,
                &RootPolicy::current_only(&roots),
            )
            .unwrap_err();
            assert!(
                matches!(e, VerifyError::InvalidProof { .. }),
                "{name}: altered {field}: {e}"
            );
            // And the honest verifier too (by the binding checks or by the proof).
            assert!(
                verify_for(
                    &w.set,
                    &w.jonathan,
                    &t,
                    &predicate(name),
                    Fr::from(CHALLENGE)
                )
                .is_err(),
                "{name}: {field}"
            );
        }
    }
}

#[test]
fn another_state_query_or_challenge_is_rejected() {
    let w = world();
    let (j, a) = (&w.jonathan, &w.alejandro);
    let both = RootPolicy::new(&j.world);
    for (name, att, q) in cases() {
        let ch = challenge_of(Fr::from(CHALLENGE));
        verify(&w.set, att, &q, &ch, &both).unwrap();
        // Roots of another chain (Alejandro alone in his own world): unknown there.
        let mut alone = patient("Alejandro_Riojas", 12);
        share_world(&mut [&mut alone]);
        assert!(matches!(
            verify(&w.set, att, &q, &ch, &RootPolicy::new(&alone.world)),
            Err(VerifyError::Root(_))
        ));
        // A state root the chain never had (relabelled): the roots check refuses it, and
        // a verifier that takes it as current gets a failed proof.
        let mut t = att.clone();
        t.public.state_root = alone.world.state_root();
        assert!(
            matches!(
                verify(&w.set, &t, &q, &ch, &both),
                Err(VerifyError::Root(_))
            ),
            "{name}"
        );
        let forged = CallerRoots {
            identity_roots: vec![t.public.identity_root],
            state_roots: vec![t.public.state_root],
        };
        assert!(
            matches!(
                verify(&w.set, &t, &q, &ch, &RootPolicy::new(&forged)),
                Err(VerifyError::InvalidProof { .. })
            ),
            "{name}"
        );
        // Alejandro's nullifier on Jonathan's proof.
        let mut t = att.clone();
        t.public.nullifier = a.identity.nullifier(Fr::from(SCOPE));
        assert!(
            matches!(
                verify(&w.set, &t, &q, &ch, &both),
                Err(VerifyError::InvalidProof { .. })
            ),
            "{name}"
        );
        // The roots were superseded since (a later batch) — accepted within the window,
        // refused with current roots only.
        let mut later = j.world.clone();
        later.advance(30);
        later
            .anchor(0, &[Fr::from(777u64)], &[Fr::from(778u64)])
            .unwrap();
        verify(&w.set, att, &q, &ch, &RootPolicy::new(&later)).unwrap();
        assert!(matches!(
            verify(&w.set, att, &q, &ch, &RootPolicy::current_only(&later)),
            Err(VerifyError::Root(_))
        ));
        // Another question.
        for other in [
            "age-at-least",
            "vaccinated-against",
            "hba1c-below",
            "has-organ-transplant",
            "no-chronic-conditions",
        ] {
            if other == name {
                continue;
            }
            assert!(
                matches!(
                    verify(&w.set, att, &predicate(other), &ch, &both),
                    Err(VerifyError::QueryMismatch { .. })
                ),
                "{name} as {other}"
            );
        }
        // Another challenge (a replay, or another scope with the same request).
        for c in [
            challenge_of(Fr::from(CHALLENGE + 1)),
            Fr::from(0u64),
            Fr::from(CHALLENGE),
            zkmed_state::note::challenge(Fr::from(SCOPE + 1), Fr::from(CHALLENGE)),
        ] {
            assert!(
                matches!(
                    verify(&w.set, att, &q, &c, &both),
                    Err(VerifyError::ChallengeMismatch { .. })
                ),
                "{name}"
            );
        }
    }
}

#[test]
fn a_proof_under_another_circuit_id_is_rejected() {
    let w = world();
    for (name, att, q) in cases() {
        let other = if att.circuit == "exists-v3" {
            "scan64-v3"
        } else {
            "exists-v3"
        };
        let mut t = att.clone();
        t.circuit = other.into();
        // Same key hash: the hash names another key.
        let e = verify_for(&w.set, &w.jonathan, &t, &q, Fr::from(CHALLENGE)).unwrap_err();
        assert!(
            matches!(e, VerifyError::KeyHashMismatch { .. }),
            "{name}: {e}"
        );
        // Consistent metadata for the other circuit: the pairing check fails.
        t.key_hash = w.set.get(other).unwrap().key_hash().to_string();
        let e = verify_for(&w.set, &w.jonathan, &t, &q, Fr::from(CHALLENGE)).unwrap_err();
        assert!(matches!(e, VerifyError::InvalidProof { .. }), "{name}: {e}");
        assert!(!pairing_accepts(&t, &t.public));
        // A circuit this verifier does not know (the previous relation's id).
        t.circuit = "exists-v2".into();
        assert!(matches!(
            verify_for(&w.set, &w.jonathan, &t, &q, Fr::from(CHALLENGE)),
            Err(VerifyError::UnknownCircuit { .. })
        ));
    }
}

/// Groth16 proof of whatever witness `circuit` holds, satisfied or not: exactly the
/// prover's proving path (cached matrices, no satisfiability check), minus its self-check.
fn prove_unchecked(
    k: &CircuitKeys,
    circuit: AnyCircuit,
    r: &mut impl rand::RngCore,
) -> Proof<Bn254> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone()).unwrap();
    let full = {
        let b = cs.borrow().unwrap();
        let mut full = b.instance_assignment().unwrap().to_vec();
        full.extend_from_slice(b.witness_assignment().unwrap());
        full
    };
    Groth16::<Bn254, LibsnarkReduction>::create_proof_with_reduction_and_matrices(
        &k.pk,
        Fr::rand(r),
        Fr::rand(r),
        &k.r1cs.matrices,
        k.r1cs.num_instance_variables,
        k.r1cs.num_constraints,
        &full,
    )
    .unwrap()
}

/// A witness that claims the wrong answer does not satisfy the circuit, and a Groth16 proof
/// computed from it anyway does not verify.
#[test]
fn a_witness_with_the_wrong_answer_is_unsatisfiable_and_its_proof_fails() {
    let w = world();
    let j = &w.jonathan;
    let ch = Fr::from(CHALLENGE);
    let scope = Fr::from(SCOPE);
    // Scan: Jonathan has 2 active chronic conditions; claim "none".
    let q = predicate("no-chronic-conditions");
    assert!(!evaluate_opening(&q, &j.opening).answer);
    assert!(accepted(scan_circuit(
        j,
        &q,
        public_inputs(j, &q, ch, scope, false),
        None,
        64
    )));
    assert_eq!(
        satisfied(scan_circuit(
            j,
            &q,
            public_inputs(j, &q, ch, scope, true),
            None,
            64
        )),
        Ok(false)
    );
    // Inclusion: Jonathan is over 65; claim he is not.
    let age = predicates::get("age-at-least")
        .unwrap()
        .instantiate(
            &[("years".to_string(), serde_json::Value::from(65))]
                .into_iter()
                .collect(),
            today(),
        )
        .unwrap();
    assert!(evaluate_opening(&age, &j.opening).answer);
    assert!(accepted(exists_circuit(
        j,
        &age,
        public_inputs(j, &age, ch, scope, true),
        None
    )));
    assert_eq!(
        satisfied(exists_circuit(
            j,
            &age,
            public_inputs(j, &age, ch, scope, false),
            None
        )),
        Ok(false)
    );
    // The fast matrix check used by the property tests agrees with `is_satisfied`.
    assert_eq!(
        satisfies_matrices(
            CircuitId::Scan64,
            scan_circuit(j, &q, public_inputs(j, &q, ch, scope, false), None, 64)
        ),
        Ok(true)
    );
    assert_eq!(
        satisfies_matrices(
            CircuitId::Scan64,
            scan_circuit(j, &q, public_inputs(j, &q, ch, scope, true), None, 64)
        ),
        Ok(false)
    );
    assert_eq!(
        satisfies_matrices(
            CircuitId::Exists,
            exists_circuit(j, &age, public_inputs(j, &age, ch, scope, true), None)
        ),
        Ok(true)
    );
    assert_eq!(
        satisfies_matrices(
            CircuitId::Exists,
            exists_circuit(j, &age, public_inputs(j, &age, ch, scope, false), None)
        ),
        Ok(false)
    );

    // Prove anyway with the real proving keys: the proofs do not verify.
    let mut r = rng(77);
    for (id, circuit, q, public) in [
        (
            CircuitId::Scan64,
            AnyCircuit::Scan(scan_circuit(
                j,
                &q,
                public_inputs(j, &q, ch, scope, true),
                None,
                64,
            )),
            q.clone(),
            public_inputs(j, &q, ch, scope, true),
        ),
        (
            CircuitId::Exists,
            AnyCircuit::Exists(exists_circuit(
                j,
                &age,
                public_inputs(j, &age, ch, scope, false),
                None,
            )),
            age.clone(),
            public_inputs(j, &age, ch, scope, false),
        ),
    ] {
        let k = w.keys.get(id).unwrap();
        let proof = prove_unchecked(&k, circuit, &mut r);
        assert!(!Groth16::<Bn254>::verify_with_processed_vk(
            &k.pvk,
            &public.to_field_elements(),
            &proof
        )
        .unwrap());
        let mut bytes = Vec::new();
        proof.serialize_compressed(&mut bytes).unwrap();
        let att = Attestation {
            version: zkmed_core::attestation::ATTESTATION_VERSION,
            circuit: id.as_str().into(),
            key_hash: k.key_hash.clone(),
            public,
            proof: hex::encode(bytes),
        };
        let e = verify_for(&w.set, j, &att, &q, ch).unwrap_err();
        assert!(matches!(e, VerifyError::InvalidProof { .. }), "{id}: {e}");
    }
}

/// The scan circuit must see every record of the kind, in tree order: a witness that omits,
/// reorders, or adds records no longer hashes to the committed root.
#[test]
fn a_scan_witness_that_omits_or_alters_records_is_unsatisfiable() {
    let w = world();
    let j = &w.jonathan;
    let q = predicate("no-chronic-conditions");
    let (ch, scope) = (Fr::from(CHALLENGE), Fr::from(SCOPE));
    let all = record_witnesses(j, Kind::Condition);
    let matching: Vec<usize> = j
        .opening
        .records_of(Kind::Condition)
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| {
            support::reference::record_matches(&r.record, &q.records.as_ref().unwrap().filters)
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        matching.len(),
        2,
        "Jonathan has 2 active chronic conditions"
    );
    let run = |records: Vec<RecordWitness>, answer: bool| {
        satisfied(scan_circuit(
            j,
            &q,
            public_inputs(j, &q, ch, scope, answer),
            Some(records),
            64,
        ))
    };
    assert_eq!(run(all.clone(), false), Ok(true));
    // Omit the matching records and claim "none".
    let without: Vec<RecordWitness> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !matching.contains(i))
        .map(|(_, r)| r.clone())
        .collect();
    assert_eq!(run(without.clone(), true), Ok(false));
    assert_eq!(run(without, false), Ok(false));
    // Omit only the last record (claims fewer records than the tree holds).
    assert_eq!(run(all[..all.len() - 1].to_vec(), false), Ok(false));
    // Claim no records at all.
    assert_eq!(run(vec![], true), Ok(false));
    // Reorder.
    let mut swapped = all.clone();
    swapped.swap(0, 1);
    assert_eq!(run(swapped, false), Ok(false));
    // Add a record that is not in the tree.
    let mut extra = all.clone();
    extra.push(all[0].clone());
    assert_eq!(run(extra, false), Ok(false));
    // Change the status of a matching record to "inactive" without changing the tree.
    let mut relabelled = all.clone();
    let m = &mut relabelled[matching[0]];
    m.meta = (m.meta & !(0xf << 24)) | ((Status::Inactive.id() as u64) << 24);
    assert_eq!(run(relabelled, false), Ok(false));
    // More records than the circuit's capacity: refused at synthesis.
    let pi = public_inputs(j, &q, ch, scope, false);
    let too_many = ScanCircuit {
        capacity: 4,
        common: Some(common_witness(j, &q, &pi)),
        public: Some(pi),
        records: Some(all.clone()),
        latest: None,
    };
    assert!(all.len() > 4);
    assert!(!accepted(too_many));
}

/// The inclusion circuit must open a record of the queried kind that satisfies the filters.
#[test]
fn an_exists_witness_with_a_non_matching_record_is_unsatisfiable() {
    let w = world();
    let j = &w.jonathan;
    let q = predicate("has-organ-transplant");
    let (ch, scope) = (Fr::from(CHALLENGE), Fr::from(SCOPE));
    let public = || public_inputs(j, &q, ch, scope, true);
    let procs = j.opening.records_of(Kind::Procedure);
    let filters = &q.records.as_ref().unwrap().filters;
    let transplant = procs
        .iter()
        .position(|(_, r)| support::reference::record_matches(&r.record, filters))
        .unwrap();
    assert!(accepted(exists_circuit(j, &q, public(), Some(transplant))));
    // Every other procedure (a real leaf on a real path) is refused.
    for i in (0..procs.len()).filter(|&i| i != transplant) {
        assert!(
            !accepted(exists_circuit(j, &q, public(), Some(i))),
            "procedure {i} is not a transplant"
        );
    }
    // An empty slot.
    assert!(!accepted(exists_circuit(
        j,
        &q,
        public(),
        Some(procs.len())
    )));
    // A fabricated transplant record on the real path of slot `transplant` ...
    let mut fake = exists_circuit(j, &q, public(), Some(transplant));
    fake.record.as_mut().unwrap().aux += Fr::from(1u64);
    assert!(!accepted(fake));
    // ... or the real transplant leaf with a path into another kind's tree.
    let mut wrong_tree = exists_circuit(j, &q, public(), Some(transplant));
    let cond_path = j
        .opening
        .tree(Kind::Condition)
        .unwrap()
        .path(transplant)
        .unwrap();
    wrong_tree.path.as_mut().unwrap().siblings = cond_path.siblings().to_vec();
    assert!(!accepted(wrong_tree));
    // A matching record is required even if the answer claimed is "false".
    assert!(!accepted(exists_circuit(
        j,
        &q,
        public_inputs(j, &q, ch, scope, false),
        Some(transplant)
    )));
    // The inclusion circuit proves only `exists`: the same record under a `none` query fails.
    let none = query(
        r#"{"version":1,"records":{"kind":"Procedure","quantifier":"none","where":[{"code_in":["sct|88039007"]}]}}"#,
    );
    assert!(!accepted(exists_circuit(
        j,
        &none,
        public_inputs(j, &none, ch, scope, false),
        Some(transplant)
    )));
    assert!(!accepted(exists_circuit(
        j,
        &none,
        public_inputs(j, &none, ch, scope, true),
        Some(transplant)
    )));
}

/// A void record (entered-in-error, refuted) never counts, even when its code matches.
#[test]
fn void_records_never_count() {
    let w = world();
    let mut imported = import("Alejandro_Riojas");
    let template = imported
        .records
        .iter()
        .find(|r| r.kind == Kind::Procedure)
        .unwrap()
        .clone();
    imported.records.push(Record {
        codes: vec![zkmed_records::Code::new(
            "http://snomed.info/sct",
            "88039007",
        )],
        status: Status::Void,
        ..template.clone()
    });
    imported.records.push(Record {
        codes: vec![zkmed_records::Code::new(
            "http://snomed.info/sct",
            "32413006",
        )],
        status: Status::Void,
        ..template
    });
    let p = patient_from("Alejandro_Riojas+void", imported, 21);
    let ch = Fr::from(CHALLENGE);
    let queries = [
        predicate("has-organ-transplant"),
        // No status clause: the default set does not contain void either.
        query(
            r#"{"version":1,"records":{"kind":"Procedure","quantifier":"exists","where":[{"code_in":["sct|88039007","sct|32413006"]}]}}"#,
        ),
        query(
            r#"{"version":1,"records":{"kind":"Procedure","quantifier":{"count_at_least":1},"where":[{"code_in":["sct|88039007"]}]}}"#,
        ),
    ];
    for q in &queries {
        assert!(!evaluate_opening(q, &p.opening).answer);
        let proven = prove_query(&w.keys, &p, q, ch, 3).unwrap();
        assert!(!proven.attestation.public.answer, "a void record counted");
        assert_eq!(proven.plan.matching, 0);
        verify_for(&w.set, &p, &proven.attestation, q, ch).unwrap();
        // Opening the void record by inclusion is refused.
        let n = p.opening.records_of(Kind::Procedure).len();
        for i in [n - 2, n - 1] {
            assert!(!accepted(exists_circuit(
                &p,
                q,
                public_inputs(&p, q, ch, Fr::from(SCOPE), true),
                Some(i)
            )));
        }
    }
    let none = query(
        r#"{"version":1,"records":{"kind":"Procedure","quantifier":"none","where":[{"code_in":["sct|88039007","sct|32413006"]}]}}"#,
    );
    let proven = prove_query(&w.keys, &p, &none, ch, 4).unwrap();
    assert!(proven.attestation.public.answer);
    verify_for(&w.set, &p, &proven.attestation, &none, ch).unwrap();
    // And "void" cannot be asked for.
    let e = Query::from_json(br#"{"version":1,"records":{"kind":"Procedure","quantifier":"exists","where":[{"status_in":["void"]}]}}"#).unwrap_err();
    assert!(e.to_string().contains("void"), "{e}");
}

fn plus_p(x: &Fr) -> BigUint {
    BigUint::from_bytes_be(&x.into_bigint().to_bytes_be())
        + BigUint::parse_bytes(MODULUS_DEC.as_bytes(), 10).unwrap()
}

/// `x + p` denotes the same field element as `x`; accepting it would make attestations
/// malleable. Every field input is rejected at parse time, in JSON (decimal and hex) and in
/// the binary form.
#[test]
fn non_canonical_public_inputs_are_rejected_at_parse() {
    let w = world();
    let att = &w.chronic;
    let json = att.to_json();
    assert_eq!(&Attestation::from_json(json.as_bytes()).unwrap(), att);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let fields = [
        "identity_root",
        "state_root",
        "query_hash",
        "challenge",
        "nullifier",
    ];
    let xs = att.public.to_field_elements();
    for (i, f) in fields.iter().enumerate() {
        let alias = plus_p(&xs[i]);
        assert!(alias.bits() <= 256);
        for text in [
            alias.to_str_radix(10),
            format!("0x{}", alias.to_str_radix(16)),
        ] {
            let mut bad = v.clone();
            bad["public"][*f] = serde_json::Value::String(text.clone());
            let e = Attestation::from_json(bad.to_string().as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("canonical") || e.contains("modulus"),
                "{f} = {text}: {e}"
            );
        }
        // The canonical hex spelling of the same value is fine (and is the same element).
        let mut ok = v.clone();
        ok["public"][*f] = serde_json::Value::String(format!(
            "0x{}",
            hex::encode(xs[i].into_bigint().to_bytes_be())
        ));
        assert_eq!(
            &Attestation::from_json(ok.to_string().as_bytes()).unwrap(),
            att
        );
        // Binary form: the 32-byte big-endian slot of input i.
        let bin = att.to_bytes().unwrap();
        assert_eq!(&Attestation::from_bytes(&bin).unwrap(), att);
        let at = 4 + 1 + 1 + att.circuit.len() + 32 + 32 * i;
        assert_eq!(&bin[at..at + 32], &xs[i].into_bigint().to_bytes_be()[..]);
        let mut b = bin.clone();
        let alias_bytes = alias.to_bytes_be();
        b[at..at + 32].copy_from_slice(&[vec![0u8; 32 - alias_bytes.len()], alias_bytes].concat());
        let e = Attestation::from_bytes(&b).unwrap_err().to_string();
        assert!(e.contains("not canonical"), "{f}: {e}");
    }
    // The answer must be exactly 0 or 1 (also not 1 + p).
    let bin = att.to_bytes().unwrap();
    let at = 4 + 1 + 1 + att.circuit.len() + 32 + 32 * 5;
    for alias in [
        plus_p(&Fr::from(1u64)),
        plus_p(&Fr::from(0u64)),
        BigUint::from(2u32),
    ] {
        let mut b = bin.clone();
        let a = alias.to_bytes_be();
        b[at..at + 32].copy_from_slice(&[vec![0u8; 32 - a.len()], a].concat());
        assert!(Attestation::from_bytes(&b).is_err(), "answer {alias}");
    }
    let mut bad = v.clone();
    bad["public"]["answer"] = serde_json::Value::from(1);
    assert!(
        Attestation::from_json(bad.to_string().as_bytes()).is_err(),
        "answer must be a JSON boolean"
    );
    // Sanity: the decimal text of an element round-trips.
    assert_eq!(
        fr_to_dec(&xs[0]),
        v["public"]["identity_root"].as_str().unwrap()
    );
}
