//! Hand-made bundles: status mapping, dates, values, units, codes, sources and skips. (The
//! semantics added for issue 14 — every coding, medication references, components,
//! comparators, coded values, UTC and leaf order, the grouped report — are in
//! `import_semantics.rs`.)

mod common;

use chrono::NaiveDate;
use common::bundle;
use zkmed_records::{import_bundle, Kind, Status};

fn statuses(resources: &[&str]) -> Vec<Status> {
    import_bundle(bundle(resources).as_bytes())
        .unwrap()
        .records
        .iter()
        .map(|r| r.status)
        .collect()
}

const SCT: &str = r#"{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertension"}]}"#;

fn condition(clinical: &str, verification: &str) -> String {
    let cs = |sys: &str, c: &str| {
        if c.is_empty() {
            "null".to_string()
        } else {
            format!(
                r#"{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/{sys}","code":"{c}"}}]}}"#
            )
        }
    };
    format!(
        r#"{{"resourceType":"Condition","id":"c","clinicalStatus":{},"verificationStatus":{},"code":{SCT},"onsetDateTime":"2019-03-04T10:00:00Z"}}"#,
        cs("condition-clinical", clinical),
        cs("condition-ver-status", verification)
    )
}

#[test]
fn condition_status() {
    let cases = [
        ("active", "confirmed", Status::Active),
        ("recurrence", "", Status::Active),
        ("relapse", "provisional", Status::Active),
        ("resolved", "confirmed", Status::Inactive),
        ("inactive", "", Status::Inactive),
        ("remission", "", Status::Inactive),
        ("active", "refuted", Status::Void),
        ("resolved", "entered-in-error", Status::Void),
        ("", "", Status::Unknown),
        ("", "refuted", Status::Void),
    ];
    for (c, v, want) in cases {
        assert_eq!(statuses(&[&condition(c, v)]), vec![want], "{c}/{v}");
    }
}

fn observation(status: &str, extra: &str) -> String {
    format!(
        r#"{{"resourceType":"Observation","id":"o","status":"{status}","code":{{"coding":[{{"system":"http://loinc.org","code":"2339-0"}}]}},"effectiveDateTime":"2020-01-02"{extra}}}"#
    )
}

#[test]
fn observation_and_other_statuses() {
    for (s, want) in [
        ("final", Status::Completed),
        ("amended", Status::Completed),
        ("corrected", Status::Completed),
        ("registered", Status::InProgress),
        ("preliminary", Status::InProgress),
        ("cancelled", Status::Void),
        ("entered-in-error", Status::Void),
        ("unknown", Status::Unknown),
    ] {
        assert_eq!(statuses(&[&observation(s, "")]), vec![want], "{s}");
    }
    let proc = |s: &str| {
        format!(
            r#"{{"resourceType":"Procedure","status":"{s}","code":{SCT},"performedDateTime":"2020-01-01"}}"#
        )
    };
    for (s, want) in [
        ("completed", Status::Completed),
        ("in-progress", Status::InProgress),
        ("preparation", Status::InProgress),
        ("on-hold", Status::InProgress),
        ("stopped", Status::Stopped),
        ("not-done", Status::NotDone),
        ("entered-in-error", Status::Void),
        ("unknown", Status::Unknown),
    ] {
        assert_eq!(statuses(&[&proc(s)]), vec![want], "Procedure {s}");
    }
    let imm = |s: &str| {
        format!(
            r#"{{"resourceType":"Immunization","status":"{s}","vaccineCode":{{"coding":[{{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}}]}},"occurrenceDateTime":"2020-01-01"}}"#
        )
    };
    for (s, want) in [
        ("completed", Status::Completed),
        ("not-done", Status::NotDone),
        ("entered-in-error", Status::Void),
    ] {
        assert_eq!(statuses(&[&imm(s)]), vec![want], "Immunization {s}");
    }
    let med = |s: &str| {
        format!(
            r#"{{"resourceType":"MedicationRequest","status":"{s}","medicationCodeableConcept":{{"coding":[{{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"316049"}}]}},"authoredOn":"2020-01-01"}}"#
        )
    };
    for (s, want) in [
        ("active", Status::Active),
        ("completed", Status::Completed),
        ("on-hold", Status::InProgress),
        ("draft", Status::InProgress),
        ("stopped", Status::Stopped),
        ("cancelled", Status::Stopped),
        ("entered-in-error", Status::Void),
        ("unknown", Status::Unknown),
    ] {
        assert_eq!(statuses(&[&med(s)]), vec![want], "MedicationRequest {s}");
    }
    let allergy = |c: &str, v: &str| {
        format!(
            r#"{{"resourceType":"AllergyIntolerance","clinicalStatus":{{"coding":[{{"code":"{c}"}}]}},"verificationStatus":{{"coding":[{{"code":"{v}"}}]}},"code":{{"coding":[{{"system":"http://snomed.info/sct","code":"300916003"}}]}},"recordedDate":"2020-01-01"}}"#
        )
    };
    for (c, v, want) in [
        ("active", "confirmed", Status::Active),
        ("inactive", "confirmed", Status::Inactive),
        ("resolved", "unconfirmed", Status::Inactive),
        ("active", "refuted", Status::Void),
        ("active", "entered-in-error", Status::Void),
    ] {
        assert_eq!(
            statuses(&[&allergy(c, v)]),
            vec![want],
            "AllergyIntolerance {c}/{v}"
        );
    }
    // An unrecognised status is imported as unknown, with a warning.
    let imp = import_bundle(bundle(&[&observation("weird", "")]).as_bytes()).unwrap();
    assert_eq!(imp.records[0].status, Status::Unknown);
    assert!(imp.report.warnings[0].reason.contains("\"weird\""));
}

#[test]
fn refuted_condition_and_entered_in_error_observation_are_void_but_committed() {
    let imp = import_bundle(
        bundle(&[
            &condition("active", "refuted"),
            &observation("entered-in-error", ""),
            &condition("resolved", "confirmed"),
        ])
        .as_bytes(),
    )
    .unwrap();
    // Grouped by kind, bundle order within a kind (same date).
    let st: Vec<_> = imp.records.iter().map(|r| (r.kind, r.status)).collect();
    assert_eq!(
        st,
        vec![
            (Kind::Condition, Status::Void),
            (Kind::Condition, Status::Inactive),
            (Kind::Observation, Status::Void)
        ]
    );
    // Void records still get a leaf: meta carries status 0.
    let e = imp.records[0].encode(zkmed_core::Fr::from(3u64)).unwrap();
    assert_eq!((e.meta >> 24) & 0xf, 0);
    assert_eq!(e.meta >> 28, 1);
}

#[test]
fn values_units_and_rounding() {
    let q = |v: &str, unit: &str| {
        observation(
            "final",
            &format!(r#","valueQuantity":{{"value":{v},{unit}}}"#),
        )
    };
    let one = |v: &str, unit: &str| {
        let imp = import_bundle(bundle(&[&q(v, unit)]).as_bytes()).unwrap();
        let r = imp.records[0].clone();
        (r.value, r.unit)
    };
    let ucum =
        r#""unit":"milligram per deciliter","system":"http://unitsofmeasure.org","code":"mg/dL""#;
    assert_eq!(
        one("5.7", ucum),
        (Some(5700), Some("mg/dL".into())),
        "unit comes from `code`"
    );
    assert_eq!(
        one("5.7", r#""unit":"mg/dL""#),
        (Some(5700), Some("mg/dL".into())),
        "else from `unit`"
    );
    assert_eq!(one("5.7", r#""unit":"""#), (Some(5700), None));
    // Half away from zero on the decimal text.
    assert_eq!(one("-0.1255", ucum).0, Some(-126));
    assert_eq!(one("0.1255", ucum).0, Some(126));
    assert_eq!(one("-0.1254", ucum).0, Some(-125));
    assert_eq!(one("2.0005", ucum).0, Some(2001));
    assert_eq!(one("109.56259812460114", ucum).0, Some(109_563));
    assert_eq!(one("120", ucum).0, Some(120_000));
    assert_eq!(one("1.5e2", ucum).0, Some(150_000));
    // The encoded value is the offset fixed point.
    let imp = import_bundle(bundle(&[&q("5.7", ucum)]).as_bytes()).unwrap();
    let e = imp.records[0].encode(zkmed_core::Fr::from(1u64)).unwrap();
    let point = zkmed_core::encoding::encode_point(5700);
    assert_eq!((e.value_lo, e.value_hi), (point, point));
    assert_eq!(e.unit, zkmed_core::encoding::unit_to_field("mg/dL"));

    // A comparator `ad` or an out-of-range value drops the value (and unit), with a
    // warning (`<` and friends are kept: see import_semantics.rs).
    let imp = import_bundle(
        bundle(&[&observation(
            "final",
            r#","valueQuantity":{"value":5,"comparator":"ad","code":"mg/dL"}"#,
        )])
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        (
            imp.records[0].value,
            imp.records[0].comparator,
            imp.records[0].unit.clone()
        ),
        (None, None, None)
    );
    assert!(imp.report.warnings[0].reason.contains("\"ad\""));
    let imp = import_bundle(bundle(&[&q("1e300", ucum)]).as_bytes()).unwrap();
    assert_eq!(imp.records[0].value, None);
    assert!(imp.report.warnings[0]
        .reason
        .contains("outside the encodable range"));
}

#[test]
fn dates_fallbacks_and_partial_dates() {
    let imp = import_bundle(
        bundle(&[
            r#"{"resourceType":"Condition","id":"a","code":{"coding":[{"system":"http://snomed.info/sct","code":"1"}]},"recordedDate":"2001-02-03","abatementPeriod":{"end":"2002-03-04T00:00:00-05:00"}}"#,
            r#"{"resourceType":"Observation","id":"b","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"effectivePeriod":{"start":"2010-01-01","end":"2010-01-05"},"issued":"2011-01-01T00:00:00Z"}"#,
            r#"{"resourceType":"Observation","id":"c","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1"}]},"issued":"2011-01-01T00:00:00.123Z"}"#,
            r#"{"resourceType":"Condition","id":"d","code":{"coding":[{"system":"http://snomed.info/sct","code":"1"}]},"onsetDateTime":"2015","recordedDate":"2016-01-01"}"#,
            r#"{"resourceType":"Procedure","id":"e","status":"completed","code":{"coding":[{"system":"http://snomed.info/sct","code":"1"}]}}"#,
        ])
        .as_bytes(),
    )
    .unwrap();
    let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
    let dates: Vec<_> = imp
        .records
        .iter()
        .map(|r| (r.fhir_id.as_deref().unwrap(), r.date, r.end))
        .collect();
    // Grouped by kind, undated records first within a kind.
    assert_eq!(
        dates,
        vec![
            ("d", None, None), // partial onset: no date (the fallback applies only when absent)
            ("a", d(2001, 2, 3), d(2002, 3, 4)),
            ("e", None, None),
            ("b", d(2010, 1, 1), d(2010, 1, 5)),
            ("c", d(2011, 1, 1), None),
        ]
    );
    assert_eq!(imp.report.warnings.len(), 1);
    assert!(imp.report.warnings[0].reason.contains("partial date"));
    assert_eq!(imp.report.warnings[0].id.as_deref(), Some("d"));
    // A record without a date encodes date 0.
    assert_eq!(
        imp.records[2]
            .encode(zkmed_core::Fr::from(1u64))
            .unwrap()
            .meta
            & 0xff_ffff,
        0
    );
}

#[test]
fn codes_and_skipped_records() {
    let imp = import_bundle(
        bundle(&[
            // Several codings: all kept, in the order given.
            r#"{"resourceType":"Condition","id":"a","code":{"coding":[{"system":"urn:oid:1.2.3","code":"X1"},{"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes"}]}}"#,
            // Only a local code: used.
            r#"{"resourceType":"Condition","id":"b","code":{"coding":[{"system":"urn:oid:1.2.3","code":"X2"}],"text":"Local"}}"#,
            // Text only: skipped.
            r#"{"resourceType":"Condition","id":"c","code":{"text":"something"}}"#,
            // Coding without a system: skipped.
            r#"{"resourceType":"Procedure","id":"d","status":"completed","code":{"coding":[{"code":"123"}]}}"#,
            // No medication[x]: skipped.
            r#"{"resourceType":"MedicationRequest","id":"e","status":"active"}"#,
            // No code at all: skipped.
            r#"{"resourceType":"Immunization","id":"f","status":"completed"}"#,
            r#"{"resourceType":"Encounter","id":"g"}"#,
            r#"{"resourceType":"Claim","id":"h"}"#,
            r#"{"resourceType":"Claim","id":"i"}"#,
        ])
        .as_bytes(),
    )
    .unwrap();
    let codes: Vec<_> = imp
        .records
        .iter()
        .map(|r| {
            let c: Vec<_> = r.codes.iter().map(|c| c.token()).collect();
            (c, r.display.as_deref())
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (
                vec![
                    "urn:oid:1.2.3|X1".to_string(),
                    "http://snomed.info/sct|44054006".to_string()
                ],
                Some("Diabetes")
            ),
            (vec!["urn:oid:1.2.3|X2".to_string()], Some("Local"))
        ]
    );
    let skipped: Vec<_> = imp
        .report
        .skipped
        .iter()
        .map(|g| {
            (
                g.resource_type.as_str(),
                g.count,
                g.reason.as_str(),
                g.entries.iter().map(|e| e.entry).collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            ("Claim", 2, "not a clinical resource", vec![8, 9]),
            (
                "Condition",
                1,
                "`code` has no coding with both a system and a code",
                vec![3] // entry index (the Patient is entry 0)
            ),
            ("Encounter", 1, "not a clinical resource", vec![7]),
            ("Immunization", 1, "no `vaccineCode`", vec![6]),
            (
                "MedicationRequest",
                1,
                "no medication[x] (neither medicationCodeableConcept nor medicationReference)",
                vec![5]
            ),
            (
                "Procedure",
                1,
                "`code` has no coding with both a system and a code",
                vec![4]
            ),
        ]
    );
    assert_eq!(imp.report.skipped[1].entries[0].id.as_deref(), Some("c"));
    assert_eq!(imp.report.skipped_resources(Kind::Condition), 1);
    assert_eq!(imp.report.resources[&Kind::Condition], 2);
    assert_eq!(imp.report.resources[&Kind::MedicationRequest], 0);
    assert_eq!(imp.report.skipped_types.get("Claim"), Some(&2));
    assert_eq!(imp.report.skipped_types.get("Encounter"), Some(&1));
    assert_eq!(imp.report.skipped_types.get("Patient"), None);
    assert_eq!(imp.report.accounted_entries(), imp.report.entries);
}

#[test]
fn components_become_records() {
    let panel = r#"{"resourceType":"Observation","id":"bp","status":"final",
        "code":{"coding":[{"system":"http://loinc.org","code":"55284-4"}]},"effectiveDateTime":"2020-05-05",
        "component":[
          {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120.0004,"unit":"mm[Hg]","code":"mm[Hg]"}},
          {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueCodeableConcept":{"text":"n/a"}},
          {"code":{"text":"no code"},"valueQuantity":{"value":1}},
          {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mm[Hg]"}}
        ]}"#;
    let imp = import_bundle(bundle(&[panel]).as_bytes()).unwrap();
    let got: Vec<_> = imp
        .records
        .iter()
        .map(|r| {
            (
                r.codes[0].code.as_str(),
                r.value,
                r.fhir_id.as_deref().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("55284-4", None, "bp"),
            ("8480-6", Some(120_000), "bp#component[0]"),
            // A component without a usable value is still a record: its code is queryable.
            ("8462-4", None, "bp#component[1]"),
            ("8462-4", Some(80_000), "bp#component[3]")
        ]
    );
    assert!(imp
        .records
        .iter()
        .all(|r| r.date == NaiveDate::from_ymd_opt(2020, 5, 5) && r.status == Status::Completed));
    assert_eq!(imp.report.resources[&Kind::Observation], 1);
    assert_eq!(imp.report.components[&Kind::Observation], 3);
    assert_eq!(imp.report.records[&Kind::Observation], 4);
    assert_eq!(imp.report.skipped.len(), 1);
    let g = &imp.report.skipped[0];
    assert_eq!(
        (g.resource_type.as_str(), g.count, g.entries[0].component),
        ("Observation.component", 1, Some(2))
    );
    assert_eq!(imp.report.skipped_components(), 1);
    assert_eq!(imp.report.skipped_resources(Kind::Observation), 0);
    // The uncoded valueCodeableConcept is a warning on component 1.
    assert_eq!(imp.report.warnings.len(), 1);
    assert_eq!(imp.report.warnings[0].component, Some(1));
    assert!(imp.report.warnings[0].reason.contains("\"n/a\""));
}

#[test]
fn sources() {
    let imp = import_bundle(
        br#"{"resourceType":"Bundle","type":"searchset","entry":[
        {"fullUrl":"urn:uuid:org1","resource":{"resourceType":"Organization","id":"org1","name":"General Hospital"}},
        {"fullUrl":"urn:uuid:enc1","resource":{"resourceType":"Encounter","id":"enc1","serviceProvider":{"reference":"urn:uuid:org1"}}},
        {"resource":{"resourceType":"Encounter","id":"enc2","serviceProvider":{"reference":"Organization/zz","display":"Clinic Z"}}},
        {"resource":{"resourceType":"Patient","id":"p","birthDate":"1990-01-01"}},
        {"resource":{"resourceType":"Condition","id":"a","code":{"coding":[{"system":"s","code":"1"}]},"encounter":{"reference":"urn:uuid:enc1"},"recorder":{"display":"Dr. X"}}},
        {"resource":{"resourceType":"Condition","id":"b","code":{"coding":[{"system":"s","code":"1"}]},"encounter":{"reference":"Encounter/enc2"}}},
        {"resource":{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"s","code":"1"}]},"encounter":{"reference":"Encounter/missing"},"recorder":{"display":"Dr. X"}}},
        {"resource":{"resourceType":"MedicationRequest","id":"d","status":"active","medicationCodeableConcept":{"coding":[{"system":"s","code":"1"}]},"requester":{"reference":"Practitioner/7"}}},
        {"resource":{"resourceType":"Procedure","id":"e","status":"completed","code":{"coding":[{"system":"s","code":"1"}]},"performer":[{"actor":{"reference":"urn:uuid:org1"}}]}},
        {"resource":{"resourceType":"Immunization","id":"f","status":"completed","vaccineCode":{"coding":[{"system":"s","code":"1"}]}}}
        ]}"#,
    )
    .unwrap();
    let s: Vec<_> = imp
        .records
        .iter()
        .map(|r| (r.fhir_id.as_deref().unwrap(), r.source.as_str()))
        .collect();
    // Grouped by kind (Condition, Procedure, ..., Immunization, MedicationRequest).
    assert_eq!(
        s,
        vec![
            ("a", "General Hospital"),
            ("b", "Clinic Z"),
            ("c", "Dr. X"),
            ("e", "General Hospital"),
            ("f", "unknown"),
            ("d", "Practitioner/7"),
        ]
    );
    assert_eq!(imp.report.bundle_type.as_deref(), Some("searchset"));
    assert_eq!(imp.patient.gender, zkmed_records::Gender::Unknown);
    // The source is inside aux: changing it changes the leaf.
    let salt = zkmed_core::Fr::from(5u64);
    let mut r = imp.records[0].clone();
    let before = r.encode(salt).unwrap().leaf();
    r.source = "Other".into();
    assert_ne!(before, r.encode(salt).unwrap().leaf());
}
