//! The properties of issue 15 on the in-memory model of the chain and issuers
//! (`zkmed_state::LocalState`; the same tests on a real node are in `chain/tests`):
//! unlinkability of attestations, completeness of "none" (the omission attack), and what
//! recovery, an issuer's suspension and a correction do to old proofs, inside and after the
//! window and in "current roots only" mode.

mod support;

use ark_bn254::Fr;
use std::collections::{BTreeMap, BTreeSet};
use support::*;
use zkmed_circuits::CircuitId;
use zkmed_core::attestation::Attestation;
use zkmed_core::field::fr_to_dec;
use zkmed_core::predicates;
use zkmed_core::query::Query;
use zkmed_prover::{prove, ProveError, ProveRequest};
use zkmed_records::{Code, Kind, Opening, Record, Status};
use zkmed_state::note::{challenge, genesis_nullifier, note_tag, state_note, state_nullifier};
use zkmed_state::LocalState;
use zkmed_verifier::{verify, KeySet, RootPolicy, VerifyError, Window};

fn predicate(name: &str) -> Query {
    predicates::get(name)
        .unwrap()
        .instantiate(&BTreeMap::new(), today())
        .unwrap()
}

fn prove_in(
    keys: &zkmed_prover::KeyStore,
    p: &Patient,
    world: &LocalState,
    q: &Query,
    scope: u64,
    request: u64,
) -> Result<Attestation, ProveError> {
    let state = world
        .witness(p.identity_index, 0, p.note_index, p.rho)
        .map_err(|e| ProveError::State(e.to_string()))?;
    let req = ProveRequest {
        opening: &p.opening,
        identity: &p.identity,
        state: &state,
        query: q,
        request: Fr::from(request),
        scope: Fr::from(scope),
    };
    prove(keys, &req, &mut rng(request)).map(|p| p.attestation)
}

fn check(
    set: &KeySet,
    att: &Attestation,
    q: &Query,
    scope: u64,
    request: u64,
    roots: &RootPolicy<'_>,
) -> Result<(), VerifyError> {
    verify(
        set,
        att,
        q,
        &challenge(Fr::from(scope), Fr::from(request)),
        roots,
    )
}

fn publics(att: &Attestation) -> BTreeSet<String> {
    att.public
        .to_field_elements()
        .iter()
        .map(fr_to_dec)
        .collect()
}

/// Patient 1 in scope A, patient 1 in scope B, patient 2 in scope A: no public value is
/// shared by the first two that the third does not share too, and no attestation (in either
/// encoding) carries either patient's identity commitment or record commitment.
#[test]
fn attestations_of_one_patient_cannot_be_linked() {
    let keys = keys(&[CircuitId::Exists]);
    let set = keyset(&keys);
    let mut p1 = patient("Jonathan_Hermiston", 31);
    let mut p2 = patient("Alejandro_Riojas", 32);
    let world = share_world(&mut [&mut p1, &mut p2]);
    let q = predicate("age-at-least");
    let (scope_a, scope_b) = (1_001, 2_002);
    let a1 = prove_in(&keys, &p1, &world, &q, scope_a, 11).unwrap();
    let b1 = prove_in(&keys, &p1, &world, &q, scope_b, 12).unwrap();
    let a2 = prove_in(&keys, &p2, &world, &q, scope_a, 13).unwrap();
    for (att, scope, req) in [(&a1, scope_a, 11), (&b1, scope_b, 12), (&a2, scope_a, 13)] {
        check(&set, att, &q, scope, req, &RootPolicy::new(&world)).unwrap();
    }
    let (s_a1, s_b1, s_a2) = (publics(&a1), publics(&b1), publics(&a2));
    let linking: Vec<&String> = s_a1
        .intersection(&s_b1)
        .filter(|v| !s_a2.contains(*v))
        .collect();
    assert!(
        linking.is_empty(),
        "values linking patient 1's two attestations: {linking:?}"
    );
    // The nullifier is the same for one patient in one scope (one-time claims), and differs
    // across scopes and patients.
    assert_ne!(a1.public.nullifier, b1.public.nullifier);
    assert_ne!(a1.public.nullifier, a2.public.nullifier);
    for p in [&p1, &p2] {
        let secrets = [
            p.identity.commitment(),
            p.commitment,
            p.note(),
            state_nullifier(p.rho),
        ];
        for att in [&a1, &b1, &a2] {
            let json = att.to_json();
            let bin = att.to_bytes().unwrap();
            for x in secrets {
                assert!(
                    !json.contains(&fr_to_dec(&x)),
                    "{} in an attestation",
                    p.name
                );
                let be = zkmed_core::field::fr_to_be_bytes(&x);
                assert!(
                    !bin.windows(32).any(|w| w == be),
                    "{} in a binary attestation",
                    p.name
                );
            }
        }
    }
}

fn chronic_condition() -> Record {
    Record {
        kind: Kind::Condition,
        codes: vec![Code::new("http://snomed.info/sct", "44054006")],
        value_codes: Vec::new(),
        display: Some("Type 2 diabetes".into()),
        date: Some(today() - chrono::Days::new(30)),
        end: None,
        value: None,
        comparator: None,
        unit: None,
        status: Status::Active,
        source: "Second Clinic".into(),
        fhir_id: Some("dm2-late".into()),
    }
}

/// The omission attack: a second issuer anchors a diabetes diagnosis (the patient's state
/// moves on, the old state's nullifier is spent). "No chronic conditions" can no longer be
/// proven from the old state under the current roots — the prover refuses, and the circuit
/// has no witness (circuits/tests/state.rs) — and a proof made before is refused in
/// current-roots-only mode at once and by the default window once it has passed.
#[test]
fn the_omission_attack_fails() {
    let keys = keys(&[CircuitId::Scan64]);
    let set = keyset(&keys);
    // A patient whose records hold no chronic condition: one well-child visit's procedure.
    let name = "healthy";
    let mut well = chronic_condition();
    well.kind = Kind::Procedure;
    well.codes = vec![Code::new("http://snomed.info/sct", "430193006")];
    well.status = Status::Completed;
    let base = || zkmed_records::ImportedPatient {
        patient: zkmed_records::PatientInfo {
            birth_date: chrono::NaiveDate::from_ymd_opt(1980, 1, 2).unwrap(),
            gender: zkmed_records::Gender::Female,
        },
        patient_id: Some(name.into()),
        records: vec![well.clone()],
        report: Default::default(),
    };
    let mut p = patient_from(name, base(), 41);
    let mut world = share_world(&mut [&mut p]);
    let ncc = predicate("no-chronic-conditions");
    let before = prove_in(&keys, &p, &world, &ncc, 5, 51).unwrap();
    assert!(before.public.answer, "{name} has no chronic condition yet");

    // Issuer 2 appends the diagnosis: new state (same identity), old state spent.
    let second = world.add_issuer().unwrap();
    let mut imported = base();
    imported.records.push(chronic_condition());
    let mut r = rng(42);
    let opening = Opening::create(imported, p.identity.commitment(), &mut r).unwrap();
    let new_rho = zkmed_records::opening::random_salt(&mut r);
    let new_note = state_note(opening.commitment().unwrap(), note_tag(new_rho));
    world.advance(120);
    let idx = world
        .anchor(second, &[new_note], &[state_nullifier(p.rho)])
        .unwrap();

    // The old state: refused by the prover against the current roots.
    let e = prove_in(&keys, &p, &world, &ncc, 5, 52).unwrap_err();
    assert!(e.to_string().contains("spent"), "{e}");
    // The old proof: current roots only refuses it now; the window accepts it for an hour.
    assert!(matches!(
        check(
            &set,
            &before,
            &ncc,
            5,
            51,
            &RootPolicy::current_only(&world)
        ),
        Err(VerifyError::Root(_))
    ));
    check(&set, &before, &ncc, 5, 51, &RootPolicy::new(&world)).unwrap();
    world.advance(3_600);
    assert!(matches!(
        check(&set, &before, &ncc, 5, 51, &RootPolicy::new(&world)),
        Err(VerifyError::Root(_))
    ));

    // The new state answers truthfully: NO.
    let state = world
        .witness(p.identity_index, second, idx[0], new_rho)
        .unwrap();
    let req = ProveRequest {
        opening: &opening,
        identity: &p.identity,
        state: &state,
        query: &ncc,
        request: Fr::from(53u64),
        scope: Fr::from(5u64),
    };
    let after = prove(&keys, &req, &mut rng(53)).unwrap().attestation;
    assert!(!after.public.answer);
    check(&set, &after, &ncc, 5, 53, &RootPolicy::current_only(&world)).unwrap();

    // A second genesis for the same identity (a fresh, emptier state) is a duplicate
    // nullifier: refused.
    assert!(world
        .anchor(
            0,
            &[p.note()],
            &[genesis_nullifier(p.identity.commitment())]
        )
        .is_err());
}

/// Recovery replaces the identity leaf: proofs from the old identity verify inside the
/// window and fail once it has passed (and at once with current roots only); the recovered
/// identity keeps its nullifier key, so its scoped nullifiers are the same.
#[test]
fn after_recovery_old_identity_proofs_expire_with_the_window() {
    let keys = keys(&[CircuitId::Exists]);
    let set = keyset(&keys);
    let mut p = patient("Jonathan_Hermiston", 61);
    let mut world = share_world(&mut [&mut p]);
    let q = predicate("age-at-least");
    let old = prove_in(&keys, &p, &world, &q, 9, 71).unwrap();
    let recovered = p.identity.recovered(&mut rng(62));
    assert_eq!(
        recovered.nullifier(Fr::from(9u64)),
        p.identity.nullifier(Fr::from(9u64))
    );
    world.advance(10);
    world
        .replace_identity(p.identity_index, recovered.commitment())
        .unwrap();
    check(&set, &old, &q, 9, 71, &RootPolicy::new(&world)).unwrap();
    assert!(check(&set, &old, &q, 9, 71, &RootPolicy::current_only(&world)).is_err());
    world.advance(3_601);
    let e = check(&set, &old, &q, 9, 71, &RootPolicy::new(&world)).unwrap_err();
    assert!(e.to_string().contains("identity root"), "{e}");
    // The old identity cannot prove any more: it is not in the identity tree.
    assert!(prove_in(&keys, &p, &world, &q, 9, 72).is_err());
}

/// Suspension empties the issuer's leaf: its patients' states are refused under every
/// root from then on, and roots from before the suspension are refused whatever the window.
#[test]
fn after_suspension_the_issuers_roots_are_refused() {
    let keys = keys(&[CircuitId::Exists]);
    let set = keyset(&keys);
    let mut p = patient("Val_Mertz", 81);
    let mut world = share_world(&mut [&mut p]);
    let q = predicate("age-at-least");
    let att = prove_in(&keys, &p, &world, &q, 3, 91).unwrap();
    check(&set, &att, &q, 3, 91, &RootPolicy::new(&world)).unwrap();
    world.advance(5);
    world.suspend(0).unwrap();
    let e = check(
        &set,
        &att,
        &q,
        3,
        91,
        &RootPolicy::with_window(&world, Window::from_seconds(86_400)),
    )
    .unwrap_err();
    assert!(e.to_string().contains("suspension"), "{e}");
    // And no new proof: the note is no longer under the global root.
    let e = prove_in(&keys, &p, &world, &q, 3, 92).unwrap_err();
    assert!(
        e.to_string().contains("not under this global state root"),
        "{e}"
    );
    // Reinstatement restores the issuer's leaf: new proofs verify again.
    world.advance(5);
    world.reinstate(0).unwrap();
    let again = prove_in(&keys, &p, &world, &q, 3, 93).unwrap();
    check(&set, &again, &q, 3, 93, &RootPolicy::current_only(&world)).unwrap();
}
