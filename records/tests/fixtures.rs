//! The 24 Synthea bundles: everything imports, facts the fixtures README promises are
//! there, and the report's counts agree with an independent scan of the raw JSON.

mod common;

use chrono::NaiveDate;
use rand::SeedableRng;
use serde_json::Value;
use std::collections::BTreeMap;
use zkmed_records::{import_bundle, Gender, Kind, Opening, Status};

#[test]
fn all_fixtures_import_and_counts_match_a_raw_scan() {
    let files = common::fixtures();
    assert_eq!(files.len(), 24, "expected the 24 Synthea bundles");
    let mut total_records = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let imp = import_bundle(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));

        // Independent count straight from the JSON.
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let entries = raw["entry"].as_array().unwrap();
        let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
        let mut quantity_components = 0;
        let mut patient = None;
        for e in entries {
            let r = &e["resource"];
            let t = r["resourceType"].as_str().unwrap().to_string();
            if t == "Observation" {
                if let Some(cs) = r["component"].as_array() {
                    quantity_components += cs
                        .iter()
                        .filter(|c| c.get("valueQuantity").is_some())
                        .count();
                }
            }
            if t == "Patient" {
                patient = Some(r.clone());
            }
            *by_type.entry(t).or_default() += 1;
        }
        assert_eq!(by_type.get("Patient"), Some(&1), "{name}");
        let rep = &imp.report;
        assert_eq!(rep.entries, entries.len(), "{name}");
        assert_eq!(rep.bundle_type.as_deref(), Some("transaction"), "{name}");
        for k in Kind::ALL {
            let raw_n = by_type.get(k.fhir_name()).copied().unwrap_or(0);
            assert_eq!(
                rep.resources[&k] + rep.skipped_resources(k),
                raw_n,
                "{name} {k:?}"
            );
            // Synthea always codes its resources, so nothing is skipped.
            assert_eq!(rep.resources[&k], raw_n, "{name} {k:?}: {:?}", rep.skipped);
            let extra = if k == Kind::Observation {
                quantity_components
            } else {
                0
            };
            assert_eq!(rep.records[&k], raw_n + extra, "{name} {k:?}");
            assert_eq!(imp.records_of(k).count(), rep.records[&k], "{name} {k:?}");
        }
        let skipped_expected: BTreeMap<String, usize> = by_type
            .iter()
            .filter(|(t, _)| t.as_str() != "Patient" && Kind::from_fhir_name(t).is_none())
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        assert_eq!(rep.skipped_types, skipped_expected, "{name}");
        assert!(
            rep.skipped_types["Encounter"] > 0 && rep.skipped_types["Claim"] > 0,
            "{name}"
        );

        // Patient facts.
        let p = patient.unwrap();
        assert_eq!(imp.patient_id.as_deref(), p["id"].as_str());
        assert_eq!(
            imp.patient.birth_date.to_string(),
            p["birthDate"].as_str().unwrap(),
            "{name}"
        );
        let g = match p["gender"].as_str().unwrap() {
            "male" => Gender::Male,
            "female" => Gender::Female,
            other => panic!("{other}"),
        };
        assert_eq!(imp.patient.gender, g);

        // Every record has a code, a date and a status that is not void (Synthea data is clean).
        for r in &imp.records {
            assert!(!r.code.is_empty() && !r.system.is_empty());
            assert!(r.date.is_some(), "{name}: {r:?}");
            assert_ne!(r.status, Status::Void);
            if r.kind == Kind::AllergyIntolerance {
                // Synthea's allergies carry no encounter, recorder or asserter.
                assert_eq!(r.source, "unknown");
            } else {
                assert_ne!(
                    r.source, "unknown",
                    "{name}: every other Synthea record has an encounter with a provider"
                );
            }
        }
        total_records += imp.records.len();
    }
    assert!(total_records > 4000, "{total_records}");
}

#[test]
fn jonathan_hermiston_lung_transplant() {
    let imp = import_bundle(&common::fixture("Jonathan_Hermiston")).unwrap();
    let tx: Vec<_> = imp
        .records_of(Kind::Procedure)
        .filter(|r| r.code == "88039007")
        .collect();
    assert_eq!(tx.len(), 1, "one lung transplant");
    let r = tx[0];
    assert_eq!(r.system, "http://snomed.info/sct");
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.date, NaiveDate::from_ymd_opt(2011, 6, 4));
    assert_eq!(r.end, NaiveDate::from_ymd_opt(2011, 6, 4));
    assert_eq!(r.display.as_deref(), Some("Transplant of lung (procedure)"));
    assert_eq!(
        r.fhir_id.as_deref(),
        Some("d8180366-7d5b-4ecf-94fc-2fe9d9dbd4f8")
    );

    // Hypertension: active, with the issuer resolved through the encounter's serviceProvider.
    let htn = imp
        .records
        .iter()
        .find(|r| r.fhir_id.as_deref() == Some("d1f7dfb4-fde0-4c7f-865f-3aa1757d5b98"))
        .unwrap();
    assert_eq!(
        (htn.kind, htn.code.as_str(), htn.status),
        (Kind::Condition, "38341003", Status::Active)
    );
    assert_eq!(htn.date, NaiveDate::from_ymd_opt(1966, 1, 29));
    assert_eq!(htn.source, "GOOD SAMARITAN MEDICAL CENTER");

    // A blood-pressure panel: the panel (no value) followed by its two components.
    let i = imp
        .records
        .iter()
        .position(|r| r.fhir_id.as_deref() == Some("a96accb8-59e6-4836-ac20-cab6a80bff41"))
        .unwrap();
    let panel = &imp.records[i];
    assert_eq!(
        (panel.code.as_str(), panel.value, panel.unit.as_deref()),
        ("55284-4", None, None)
    );
    let dia = &imp.records[i + 1];
    let sys = &imp.records[i + 2];
    assert_eq!(
        dia.fhir_id.as_deref(),
        Some("a96accb8-59e6-4836-ac20-cab6a80bff41#component[0]")
    );
    assert_eq!(
        (dia.code.as_str(), dia.value, dia.unit.as_deref()),
        ("8462-4", Some(109_563), Some("mm[Hg]"))
    );
    assert_eq!((sys.code.as_str(), sys.value), ("8480-6", Some(193_190)));
    for c in [dia, sys] {
        assert_eq!(
            (c.kind, c.date, c.status, &c.source),
            (Kind::Observation, panel.date, panel.status, &panel.source)
        );
    }
    // Components are leaves of their own, right after the panel.
    assert!(imp.report.records[&Kind::Observation] > imp.report.resources[&Kind::Observation]);
}

#[test]
fn alejandro_riojas_cabg() {
    let imp = import_bundle(&common::fixture("Alejandro_Riojas")).unwrap();
    let r = imp
        .records_of(Kind::Procedure)
        .find(|r| r.code == "232717009")
        .expect("coronary artery bypass grafting");
    assert_eq!(r.system, "http://snomed.info/sct");
    assert_eq!(r.status, Status::Completed);
    assert!(r.date.is_some());
}

#[test]
fn resolved_conditions_are_inactive_and_medication_statuses_map() {
    let imp = import_bundle(&common::fixture("Jonathan_Hermiston")).unwrap();
    let raw: Value = serde_json::from_slice(&common::fixture("Jonathan_Hermiston")).unwrap();
    for e in raw["entry"].as_array().unwrap() {
        let r = &e["resource"];
        let id = r["id"].as_str();
        let rec = || {
            imp.records
                .iter()
                .find(|x| x.fhir_id.as_deref() == id)
                .unwrap()
        };
        match r["resourceType"].as_str().unwrap() {
            "Condition" => {
                let want = match r["clinicalStatus"]["coding"][0]["code"].as_str().unwrap() {
                    "resolved" => Status::Inactive,
                    "active" => Status::Active,
                    other => panic!("{other}"),
                };
                assert_eq!(rec().status, want);
                assert_eq!(rec().end.is_some(), r.get("abatementDateTime").is_some());
            }
            "MedicationRequest" => {
                let want = match r["status"].as_str().unwrap() {
                    "active" => Status::Active,
                    "stopped" => Status::Stopped,
                    other => panic!("{other}"),
                };
                assert_eq!(rec().status, want);
                assert_eq!(rec().system, "http://www.nlm.nih.gov/research/umls/rxnorm");
            }
            "Immunization" => {
                assert_eq!(rec().status, Status::Completed);
                assert_eq!(rec().system, "http://hl7.org/fhir/sid/cvx");
            }
            _ => {}
        }
    }
}

#[test]
fn fixture_opening_commitment_is_deterministic_given_the_rng() {
    let imp = import_bundle(&common::fixture("Chet_Hoeger")).unwrap();
    let idc = zkmed_core::Fr::from(7u64);
    let a = Opening::create(
        imp.clone(),
        idc,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    let b = Opening::create(
        imp.clone(),
        idc,
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(1),
    )
    .unwrap();
    let c = Opening::create(imp, idc, &mut rand_chacha::ChaCha20Rng::seed_from_u64(2)).unwrap();
    assert_eq!(a.commitment().unwrap(), b.commitment().unwrap());
    assert_ne!(
        a.commitment().unwrap(),
        c.commitment().unwrap(),
        "fresh salts change every leaf"
    );
    // Every record's path verifies against its kind's root.
    for k in Kind::ALL {
        let tree = a.tree(k).unwrap();
        for (i, r) in a.records_of(k) {
            assert!(
                tree.path(i).unwrap().verify(r.leaf().unwrap(), tree.root()),
                "{k:?} {i}"
            );
        }
    }
}
