//! The 24 Synthea bundles: everything imports, facts the fixtures README promises are
//! there, and the report's counts agree with an independent scan of the raw JSON.

mod common;

use chrono::NaiveDate;
use rand::SeedableRng;
use serde_json::Value;
use std::collections::BTreeMap;
use zkmed_records::{import_bundle, Gender, Kind, Opening, Status};

/// Independent reading of a raw FHIR date: the UTC calendar date and the UTC instant
/// (a date without time at 00:00), via chrono's RFC 3339 parser.
fn raw_instant(s: &str) -> chrono::NaiveDateTime {
    if s.len() > 10 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .naive_utc()
    } else {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }
}

/// The distinct `system|code` tokens of a raw CodeableConcept with both parts.
fn raw_tokens(cc: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in cc["coding"].as_array().into_iter().flatten() {
        if let (Some(s), Some(k)) = (c["system"].as_str(), c["code"].as_str()) {
            let t = format!("{s}|{k}");
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

fn tokens(codes: &[zkmed_records::Code]) -> Vec<String> {
    codes.iter().map(|c| c.token()).collect()
}

#[test]
fn all_fixtures_import_and_counts_match_a_raw_scan() {
    let files = common::fixtures();
    assert_eq!(files.len(), 24, "expected the 24 Synthea bundles");
    let mut total_records = 0;
    let (mut bp_components, mut coded_values, mut medications) = (0, 0, 0);
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let imp = import_bundle(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));

        // Independent count straight from the JSON.
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        let entries = raw["entry"].as_array().unwrap();
        let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
        let mut components = 0;
        let mut patient = None;
        let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
        for e in entries {
            let r = &e["resource"];
            let t = r["resourceType"].as_str().unwrap().to_string();
            if t == "Observation" {
                components += r["component"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|c| !raw_tokens(&c["code"]).is_empty())
                    .count();
            }
            if t == "Patient" {
                patient = Some(r.clone());
            }
            if let Some(id) = r["id"].as_str() {
                by_id.insert(id.to_string(), r);
            }
            *by_type.entry(t).or_default() += 1;
        }
        assert_eq!(by_type.get("Patient"), Some(&1), "{name}");
        let rep = &imp.report;
        assert_eq!(rep.entries, entries.len(), "{name}");
        assert_eq!(rep.bundle_type.as_deref(), Some("transaction"), "{name}");
        // Every entry is accounted for: Patient + committed + skipped.
        assert_eq!(rep.accounted_entries(), entries.len(), "{name}");
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
                components
            } else {
                0
            };
            assert_eq!(rep.records[&k], raw_n + extra, "{name} {k:?}");
            assert_eq!(imp.records_of(k).count(), rep.records[&k], "{name} {k:?}");
        }
        assert_eq!(rep.components[&Kind::Observation], components, "{name}");
        assert_eq!(rep.skipped_components(), 0, "{name}");
        let skipped_expected: BTreeMap<String, usize> = by_type
            .iter()
            .filter(|(t, _)| t.as_str() != "Patient" && Kind::from_fhir_name(t).is_none())
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        assert_eq!(rep.skipped_types, skipped_expected, "{name}");
        assert!(
            rep.skipped
                .iter()
                .all(|g| g.reason == "not a clinical resource"),
            "{name}: {:?}",
            rep.skipped
        );
        // Every skipped entry is listed, once, under its own type.
        let mut listed: Vec<usize> = Vec::new();
        for g in &rep.skipped {
            assert_eq!(g.count, g.entries.len(), "{name}");
            for e in &g.entries {
                assert_eq!(
                    entries[e.entry]["resource"]["resourceType"],
                    g.resource_type.as_str()
                );
                listed.push(e.entry);
            }
        }
        listed.sort();
        listed.dedup();
        assert_eq!(listed.len(), rep.non_clinical(), "{name}");
        assert!(
            rep.skipped_types["Encounter"] > 0 && rep.skipped_types["Claim"] > 0,
            "{name}"
        );
        // Synthea writes offsets and full dates: no warning at all.
        assert!(rep.warnings.is_empty(), "{name}: {:?}", rep.warnings);
        let table = rep.to_string();
        assert!(
            table.contains(&format!("{} entries", entries.len())),
            "{table}"
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

        // Every record against its raw resource: all codings, coded values, the UTC date.
        // Within a kind, leaves are in chronological (UTC instant) order.
        let mut last: BTreeMap<Kind, chrono::NaiveDateTime> = BTreeMap::new();
        for r in &imp.records {
            let fid = r.fhir_id.as_deref().unwrap();
            let (id, comp) = match fid.split_once("#component[") {
                Some((id, c)) => (id, Some(c.trim_end_matches(']').parse::<usize>().unwrap())),
                None => (fid, None),
            };
            let res = by_id[id];
            let (code_cc, value_cc, quantity) = match comp {
                Some(i) => {
                    let c = &res["component"][i];
                    (&c["code"], &c["valueCodeableConcept"], &c["valueQuantity"])
                }
                None => {
                    let field = match r.kind {
                        Kind::Immunization => "vaccineCode",
                        Kind::MedicationRequest => "medicationCodeableConcept",
                        _ => "code",
                    };
                    (
                        &res[field],
                        &res["valueCodeableConcept"],
                        &res["valueQuantity"],
                    )
                }
            };
            assert_eq!(tokens(&r.codes), raw_tokens(code_cc), "{name} {fid}");
            assert_eq!(tokens(&r.value_codes), raw_tokens(value_cc), "{name} {fid}");
            if let Some(v) = quantity["value"].as_f64() {
                let got = r.value.expect("a value") as f64 / 1000.0;
                assert!(
                    (got - v).abs() <= 0.0005 + 1e-9,
                    "{name} {fid}: {got} vs {v}"
                );
                assert_eq!(r.unit.as_deref(), quantity["code"].as_str(), "{name} {fid}");
                assert_eq!(r.comparator, None);
            } else {
                assert_eq!(r.value, None, "{name} {fid}");
            }
            let raw_date = [
                "onsetDateTime",
                "performedDateTime",
                "effectiveDateTime",
                "occurrenceDateTime",
                "authoredOn",
                "recordedDate",
            ]
            .iter()
            .find_map(|f| res[*f].as_str())
            .or_else(|| res["performedPeriod"]["start"].as_str())
            .unwrap_or_else(|| panic!("{name} {fid}: no date"));
            let at = raw_instant(raw_date);
            assert_eq!(r.date, Some(at.date()), "{name} {fid}");
            if let Some(prev) = last.insert(r.kind, at) {
                assert!(prev <= at, "{name} {fid}: leaf order is chronological");
            }
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
            if comp.is_some() && r.codes[0].code == "8480-6" {
                bp_components += 1;
            }
            coded_values += usize::from(!r.value_codes.is_empty());
            medications += usize::from(r.kind == Kind::MedicationRequest);
        }
        total_records += imp.records.len();
    }
    assert!(total_records > 4000, "{total_records}");
    // What these fixtures hold of the new import semantics: blood-pressure components
    // (systolic 8480-6 shown), coded results (smoking status ...), RxNorm medications
    // (all coded inline: these Synthea bundles hold no Medication resources and no
    // multi-coded resources; those shapes are covered by import_semantics.rs).
    assert!(bp_components > 150, "{bp_components}");
    assert!(coded_values > 150, "{coded_values}");
    assert!(medications > 100, "{medications}");
}

#[test]
fn jonathan_hermiston_lung_transplant() {
    let imp = import_bundle(&common::fixture("Jonathan_Hermiston")).unwrap();
    let tx: Vec<_> = imp
        .records_of(Kind::Procedure)
        .filter(|r| r.codes[0].code == "88039007")
        .collect();
    assert_eq!(tx.len(), 1, "one lung transplant");
    let r = tx[0];
    assert_eq!(tokens(&r.codes), vec!["http://snomed.info/sct|88039007"]);
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
        (htn.kind, htn.codes[0].code.as_str(), htn.status),
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
        (
            panel.codes[0].code.as_str(),
            panel.value,
            panel.unit.as_deref()
        ),
        ("55284-4", None, None)
    );
    let dia = &imp.records[i + 1];
    let sys = &imp.records[i + 2];
    assert_eq!(
        dia.fhir_id.as_deref(),
        Some("a96accb8-59e6-4836-ac20-cab6a80bff41#component[0]")
    );
    assert_eq!(
        (dia.codes[0].code.as_str(), dia.value, dia.unit.as_deref()),
        ("8462-4", Some(109_563), Some("mm[Hg]"))
    );
    assert_eq!(
        (sys.codes[0].code.as_str(), sys.value),
        ("8480-6", Some(193_190))
    );
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
        .find(|r| r.codes[0].code == "232717009")
        .expect("coronary artery bypass grafting");
    assert_eq!(r.codes[0].system, "http://snomed.info/sct");
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
                assert_eq!(
                    rec().codes[0].system,
                    "http://www.nlm.nih.gov/research/umls/rxnorm"
                );
            }
            "Immunization" => {
                assert_eq!(rec().status, Status::Completed);
                assert_eq!(rec().codes[0].system, "http://hl7.org/fhir/sid/cvx");
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
