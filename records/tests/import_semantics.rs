//! Issue 14, section 1 (and the UTC rule of section 2): the import keeps everything a query
//! can ask about. Each test is a small hand-written bundle that the importer before this
//! change got wrong (one coding chosen, medicationReference skipped, components without a
//! quantity dropped, comparators dropped, coded values dropped, dates cut to their first
//! 10 characters and left in bundle order, a flat list of skip notes).

mod common;

use chrono::NaiveDate;
use common::bundle;
use serde_json::json;
use zkmed_records::fhir::WarningKind;
use zkmed_records::{import_bundle, Code, Comparator, ImportedPatient, Kind, Opening, Status};

fn import(resources: &[&str]) -> ImportedPatient {
    import_bundle(bundle(resources).as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn import_err(json: &str) -> String {
    match import_bundle(json.as_bytes()) {
        Ok(_) => panic!("expected an error for {json}"),
        Err(e) => e.to_string(),
    }
}

fn tokens(codes: &[Code]) -> Vec<String> {
    codes.iter().map(Code::token).collect()
}

fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

// ---------------------------------------------------------------------------------------
// 1. Every coding of every CodeableConcept
// ---------------------------------------------------------------------------------------

#[test]
fn every_coding_is_kept_and_counts_count_resources() {
    let imp = import(&[
        r#"{"resourceType":"Condition","id":"dm","code":{"coding":[
            {"system":"http://snomed.info/sct","code":"44054006","display":"Diabetes mellitus type 2"},
            {"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"},
            {"system":"urn:oid:1.2.840.114350","code":"DM2-LOCAL"},
            {"system":"http://snomed.info/sct","code":"44054006"}]},
          "onsetDateTime":"2015-04-01"}"#,
        r#"{"resourceType":"Immunization","id":"flu","status":"completed","vaccineCode":{"coding":[
            {"system":"http://hl7.org/fhir/sid/cvx","code":"140"},
            {"system":"http://hl7.org/fhir/sid/ndc","code":"49281-0703-55"}]},"occurrenceDateTime":"2020-10-01"}"#,
    ]);
    assert_eq!(imp.records.len(), 2, "one record per resource");
    let dm = &imp.records_of(Kind::Condition).next().unwrap();
    assert_eq!(
        tokens(&dm.codes),
        vec![
            "http://snomed.info/sct|44054006",
            "http://hl7.org/fhir/sid/icd-10-cm|E11.9",
            "urn:oid:1.2.840.114350|DM2-LOCAL",
        ],
        "every coding, in order, the duplicate SNOMED coding once"
    );
    assert_eq!(
        dm.codes[0].display.as_deref(),
        Some("Diabetes mellitus type 2")
    );
    assert_eq!(dm.display.as_deref(), Some("Diabetes mellitus type 2"));
    let flu = imp.records_of(Kind::Immunization).next().unwrap();
    assert_eq!(flu.codes.len(), 2);
    assert_eq!(imp.report.resources[&Kind::Condition], 1);
    assert_eq!(imp.report.records[&Kind::Condition], 1);
    assert_eq!(imp.report.resources[&Kind::Immunization], 1);
    assert!(imp.report.warnings.is_empty(), "{:?}", imp.report.warnings);
    // Every coding is committed: the records encode and open.
    Opening::create(imp, zkmed_core::Fr::from(1u64), &mut rand::thread_rng()).unwrap();
}

#[test]
fn codings_without_system_or_code_are_dropped_with_a_warning() {
    let imp = import(&[
        r#"{"resourceType":"Condition","id":"c","code":{"coding":[{"code":"123"},{"system":"http://snomed.info/sct","code":"38341003"},{"system":"http://snomed.info/sct"}]}}"#,
    ]);
    assert_eq!(
        tokens(&imp.records[0].codes),
        vec!["http://snomed.info/sct|38341003"]
    );
    let w: Vec<_> = imp.report.warnings.iter().map(|w| w.category).collect();
    assert_eq!(
        w,
        vec![WarningKind::CodingDropped, WarningKind::CodingDropped]
    );
    assert!(imp.report.warnings[0].reason.contains("\"|123\""));
}

#[test]
fn a_resource_that_cannot_be_committed_is_an_error_naming_the_entry() {
    // More queryable codings than a record can hold: refusing is the only safe answer
    // (dropping one could turn a true "yes" into a "no").
    let codings: Vec<String> = ["38341003", "59621000", "1201005", "10725009", "31992008"]
        .iter()
        .map(|c| format!(r#"{{"system":"http://snomed.info/sct","code":"{c}"}}"#))
        .collect();
    let cond = format!(
        r#"{{"resourceType":"Condition","id":"htn","code":{{"coding":[{}]}}}}"#,
        codings.join(",")
    );
    let m = import_err(&bundle(&[&cond]));
    assert!(
        m.contains("entry 1") && m.contains("Condition/htn") && m.contains("cannot be committed"),
        "{m}"
    );
    // Same for the value codes of an Observation component.
    let obs = r#"{"resourceType":"Observation","id":"o","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"24356-8"}]},
        "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"5778-6"}]},"valueCodeableConcept":{"coding":[
          {"system":"http://snomed.info/sct","code":"371244009"},{"system":"http://snomed.info/sct","code":"371246006"},{"system":"http://snomed.info/sct","code":"371247002"}]}}]}"#;
    let m = import_err(&bundle(&[obs]));
    assert!(
        m.contains("Observation/o")
            && m.contains("component[0]")
            && m.contains("valueCodeableConcept"),
        "{m}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. MedicationRequest.medicationReference
// ---------------------------------------------------------------------------------------

const MED_RXNORM_NDC: &str = r#"{"resourceType":"Medication","id":"m1","code":{"coding":[
    {"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975","display":"metformin 500 MG"},
    {"system":"http://hl7.org/fhir/sid/ndc","code":"0093-1048-01"}]}}"#;

fn med_bundle(med_full_url: &str, med: &str, request: &str) -> String {
    format!(
        r#"{{"resourceType":"Bundle","type":"transaction","entry":[
        {{"fullUrl":"urn:uuid:p","resource":{{"resourceType":"Patient","id":"p","birthDate":"1980-01-01"}}}},
        {{"fullUrl":"{med_full_url}","resource":{med}}},
        {{"fullUrl":"urn:uuid:mr","resource":{request}}}]}}"#
    )
}

fn request(reference: &str) -> String {
    format!(
        r#"{{"resourceType":"MedicationRequest","id":"mr","status":"active","medicationReference":{{"reference":"{reference}"}},"authoredOn":"2020-01-01"}}"#
    )
}

#[test]
fn medication_references_are_resolved() {
    for (full_url, reference) in [
        (
            "urn:uuid:6b4d1b7e-0000-4000-8000-000000000001",
            "urn:uuid:6b4d1b7e-0000-4000-8000-000000000001",
        ),
        ("urn:uuid:x", "Medication/m1"),
        (
            "https://ehr.example.org/fhir/Medication/m1",
            "Medication/m1",
        ),
        (
            "https://ehr.example.org/fhir/Medication/m1",
            "https://ehr.example.org/fhir/Medication/m1",
        ),
        (
            "https://ehr.example.org/fhir/Medication/m1",
            "Medication/m1/_history/3",
        ),
    ] {
        let imp =
            import_bundle(med_bundle(full_url, MED_RXNORM_NDC, &request(reference)).as_bytes())
                .unwrap_or_else(|e| panic!("{reference}: {e}"));
        let r: Vec<_> = imp.records_of(Kind::MedicationRequest).collect();
        assert_eq!(r.len(), 1, "{reference}");
        assert_eq!(
            tokens(&r[0].codes),
            vec![
                "http://www.nlm.nih.gov/research/umls/rxnorm|860975",
                "http://hl7.org/fhir/sid/ndc|0093-1048-01"
            ],
            "{reference}"
        );
        assert_eq!(r[0].display.as_deref(), Some("metformin 500 MG"));
        assert_eq!(r[0].status, Status::Active);
        assert_eq!(r[0].date, ymd(2020, 1, 1));
        assert_eq!(r[0].fhir_id.as_deref(), Some("mr"));
        assert_eq!(imp.report.resources[&Kind::MedicationRequest], 1);
        assert_eq!(imp.report.skipped_types.get("Medication"), Some(&1));
        assert_eq!(imp.report.accounted_entries(), imp.report.entries);
    }
}

#[test]
fn contained_and_conditional_medications_are_resolved() {
    let imp = import(&[
        r##"{"resourceType":"MedicationRequest","id":"mr","status":"completed",
        "contained":[{"resourceType":"Medication","id":"med","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"197361"}]}}],
        "medicationReference":{"reference":"#med"}}"##,
    ]);
    assert_eq!(
        tokens(&imp.records[0].codes),
        vec!["http://www.nlm.nih.gov/research/umls/rxnorm|197361"]
    );
    assert_eq!(imp.records[0].status, Status::Completed);

    let med = r#"{"resourceType":"Medication","id":"m1","identifier":[{"system":"urn:oid:2.16.840.1.113883.6.69","value":"0093-1048-01"}],
        "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"860975"}]}}"#;
    for reference in [
        "Medication?identifier=urn:oid:2.16.840.1.113883.6.69|0093-1048-01",
        "Medication?identifier=urn:oid:2.16.840.1.113883.6.69%7C0093-1048-01",
        "Medication?identifier=0093-1048-01",
    ] {
        let imp = import_bundle(med_bundle("urn:uuid:m", med, &request(reference)).as_bytes())
            .unwrap_or_else(|e| panic!("{reference}: {e}"));
        assert_eq!(imp.records[0].codes[0].code, "860975", "{reference}");
    }
}

#[test]
fn unresolvable_medication_references_are_errors_naming_entry_and_reference() {
    let cases: Vec<(String, &[&str])> = vec![
        (
            med_bundle("urn:uuid:m1", MED_RXNORM_NDC, &request("urn:uuid:nowhere")),
            &[
                "entry 2",
                "MedicationRequest/mr",
                "medicationReference",
                "\"urn:uuid:nowhere\"",
                "not in the bundle",
            ],
        ),
        (
            med_bundle("urn:uuid:m1", MED_RXNORM_NDC, &request("Medication/other")),
            &["entry 2", "\"Medication/other\"", "not in the bundle"],
        ),
        (
            med_bundle(
                "urn:uuid:o1",
                r#"{"resourceType":"Organization","id":"o1"}"#,
                &request("urn:uuid:o1"),
            ),
            &[
                "\"urn:uuid:o1\"",
                "entry 1",
                "Organization",
                "not a Medication",
            ],
        ),
        (
            med_bundle(
                "urn:uuid:m1",
                r#"{"resourceType":"Medication","id":"m1"}"#,
                &request("urn:uuid:m1"),
            ),
            &["\"urn:uuid:m1\"", "entry 1", "without `code`"],
        ),
        (
            med_bundle(
                "urn:uuid:m1",
                r#"{"resourceType":"Medication","id":"m1","code":{"text":"metformin"}}"#,
                &request("urn:uuid:m1"),
            ),
            &["\"urn:uuid:m1\"", "no coding with both a system and a code"],
        ),
        (
            med_bundle(
                "urn:uuid:m1",
                r#"{"resourceType":"Medication","id":"m1","code":"860975"}"#,
                &request("urn:uuid:m1"),
            ),
            &["\"urn:uuid:m1\"", "field `code`", "wrong JSON type"],
        ),
        (
            med_bundle("urn:uuid:m1", MED_RXNORM_NDC, &request("#absent")),
            &["\"#absent\"", "contained"],
        ),
        (
            med_bundle(
                "urn:uuid:m1",
                MED_RXNORM_NDC,
                &request("Medication?code=860975"),
            ),
            &["\"Medication?code=860975\"", "conditional"],
        ),
        (
            med_bundle(
                "urn:uuid:m1",
                MED_RXNORM_NDC,
                &request("Medication?identifier=nope"),
            ),
            &["matches no Medication"],
        ),
        (
            bundle(&[
                r#"{"resourceType":"MedicationRequest","id":"mr","status":"active","medicationReference":{"display":"metformin"}}"#,
            ]),
            &[
                "entry 1",
                "MedicationRequest/mr",
                "medicationReference",
                "no literal `reference`",
                "\"metformin\"",
            ],
        ),
        (
            bundle(&[
                r##"{"resourceType":"MedicationRequest","id":"mr","status":"active","medicationReference":{"reference":"#m"},
                "medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1"}]}}"##,
            ]),
            &[
                "MedicationRequest/mr",
                "both medicationCodeableConcept and medicationReference",
            ],
        ),
    ];
    for (b, parts) in cases {
        let m = import_err(&b);
        for p in parts {
            assert!(m.contains(p), "{m:?} should mention {p:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Observation.component
// ---------------------------------------------------------------------------------------

#[test]
fn components_are_records_with_their_own_codes_and_values() {
    let panel = r#"{"resourceType":"Observation","id":"ua","status":"final",
        "code":{"coding":[{"system":"http://loinc.org","code":"24356-8","display":"Urinalysis panel"}]},
        "effectiveDateTime":"2021-03-04T10:00:00+01:00","performer":[{"display":"Lab A"}],
        "valueQuantity":{"value":1,"unit":"{panel}"},
        "component":[
          {"code":{"coding":[{"system":"http://loinc.org","code":"5778-6"},{"system":"urn:local","code":"COLOR"}]},
           "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"371244009","display":"Amber"}]}},
          {"code":{"coding":[{"system":"http://loinc.org","code":"5799-2"}]},"valueQuantity":{"value":25,"comparator":"<","unit":"Leu/uL","code":"{Leukocytes}/uL"}},
          {"code":{"coding":[{"system":"http://loinc.org","code":"5811-5"}]},"dataAbsentReason":{"text":"not performed"}}
        ]}"#;
    let imp = import(&[panel]);
    let obs: Vec<_> = imp.records_of(Kind::Observation).collect();
    assert_eq!(obs.len(), 4, "the panel and its three components");
    let (p, color, leu, sg) = (obs[0], obs[1], obs[2], obs[3]);
    assert_eq!(tokens(&p.codes), vec!["http://loinc.org|24356-8"]);
    assert_eq!(
        (p.value, p.unit.as_deref()),
        (Some(1000), Some("{panel}")),
        "the panel's own value"
    );
    assert_eq!(p.fhir_id.as_deref(), Some("ua"));
    assert_eq!(
        tokens(&color.codes),
        vec!["http://loinc.org|5778-6", "urn:local|COLOR"]
    );
    assert_eq!(
        tokens(&color.value_codes),
        vec!["http://snomed.info/sct|371244009"]
    );
    assert_eq!(color.value, None);
    assert_eq!(color.fhir_id.as_deref(), Some("ua#component[0]"));
    assert_eq!(
        (leu.value, leu.comparator, leu.unit.as_deref()),
        (Some(25_000), Some(Comparator::Lt), Some("{Leukocytes}/uL"))
    );
    assert_eq!(
        (sg.value, sg.value_codes.len(), sg.fhir_id.as_deref()),
        (None, 0, Some("ua#component[2]")),
        "a component without a value is still a record"
    );
    for c in [color, leu, sg] {
        assert_eq!(
            (c.kind, c.date, c.status, c.source.as_str()),
            (
                Kind::Observation,
                ymd(2021, 3, 4),
                Status::Completed,
                "Lab A"
            )
        );
    }
    assert_eq!(imp.report.resources[&Kind::Observation], 1);
    assert_eq!(imp.report.components[&Kind::Observation], 3);
    assert_eq!(imp.report.records[&Kind::Observation], 4);
    assert_eq!(imp.report.accounted_entries(), imp.report.entries);
}

#[test]
fn blood_pressure_components_and_an_uncoded_panel() {
    // A panel whose own code is text only is skipped, but its coded components are real
    // measurements and are committed (with the panel's date and its date warnings).
    let imp = import(&[
        r#"{"resourceType":"Observation","id":"bp","status":"final","code":{"text":"BP"},
        "effectiveDateTime":"2020-05","component":[
          {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":141,"unit":"mm[Hg]","code":"mm[Hg]"}},
          {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":92,"unit":"mm[Hg]","code":"mm[Hg]"}}]}"#,
    ]);
    let got: Vec<_> = imp
        .records
        .iter()
        .map(|r| (r.codes[0].code.as_str(), r.value, r.date))
        .collect();
    assert_eq!(
        got,
        vec![
            ("8480-6", Some(141_000), None),
            ("8462-4", Some(92_000), None)
        ]
    );
    assert_eq!(imp.report.skipped_resources(Kind::Observation), 1);
    assert_eq!(imp.report.resources[&Kind::Observation], 0);
    assert_eq!(imp.report.components[&Kind::Observation], 2);
    assert_eq!(imp.report.accounted_entries(), imp.report.entries);
    assert_eq!(imp.report.warnings.len(), 1);
    assert_eq!(imp.report.warnings[0].category, WarningKind::PartialDate);
}

// ---------------------------------------------------------------------------------------
// 4. valueQuantity.comparator
// ---------------------------------------------------------------------------------------

fn hba1c(id: &str, quantity: &str) -> String {
    format!(
        r#"{{"resourceType":"Observation","id":"{id}","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"4548-4"}}]}},"effectiveDateTime":"2020-01-01","valueQuantity":{quantity}}}"#
    )
}

#[test]
fn comparators_are_kept() {
    for (c, want) in [
        ("<", Comparator::Lt),
        ("<=", Comparator::Le),
        (">", Comparator::Gt),
        (">=", Comparator::Ge),
    ] {
        let imp = import(&[&hba1c(
            "a",
            &format!(
                r#"{{"value":14,"comparator":"{c}","unit":"%","system":"http://unitsofmeasure.org","code":"%"}}"#
            ),
        )]);
        let r = &imp.records[0];
        assert_eq!(
            (r.value, r.comparator, r.unit.as_deref()),
            (Some(14_000), Some(want), Some("%")),
            "{c}"
        );
        assert!(imp.report.warnings.is_empty());
        // Committed as an interval, not as the point 14.
        let e = r.encode(zkmed_core::Fr::from(1u64)).unwrap();
        assert_eq!(
            (e.value_lo, e.value_hi),
            zkmed_core::encoding::encode_value_interval(Some(14_000), Some(want))
        );
        assert_ne!(e.value_lo, e.value_hi, "{c}");
    }
}

#[test]
fn comparator_ad_and_unknown_comparators_drop_the_value_with_a_warning() {
    let imp = import(&[
        &hba1c("ad", r#"{"value":5,"comparator":"ad","unit":"mL"}"#),
        &hba1c("odd", r#"{"value":5,"comparator":"~","unit":"mL"}"#),
    ]);
    for r in &imp.records {
        assert_eq!(
            (r.value, r.comparator, r.unit.as_deref()),
            (None, None, None)
        );
    }
    let w: Vec<_> = imp
        .report
        .warnings
        .iter()
        .map(|w| (w.id.as_deref().unwrap(), w.category))
        .collect();
    assert_eq!(
        w,
        vec![
            ("ad", WarningKind::ValueDropped),
            ("odd", WarningKind::ValueDropped)
        ]
    );
    assert!(imp.report.warnings[0].reason.contains("comparator \"ad\""));
    assert!(imp.report.warnings[1].reason.contains("\"~\""));
}

// ---------------------------------------------------------------------------------------
// 5. valueCodeableConcept
// ---------------------------------------------------------------------------------------

#[test]
fn coded_values_are_kept() {
    let imp = import(&[
        r#"{"resourceType":"Observation","id":"smoke","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},
            "effectiveDateTime":"2019-06-01","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"8517006","display":"Former smoker"}],"text":"Former smoker"}}"#,
        r#"{"resourceType":"Observation","id":"covid","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"94500-6"}]},
            "effectiveDateTime":"2020-12-01","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009","display":"Negative"},{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"NEG"}]}}"#,
        r#"{"resourceType":"Observation","id":"note","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8251-1"}]},
            "effectiveDateTime":"2020-12-02","valueString":"feels fine"}"#,
    ]);
    let r: Vec<_> = imp
        .records
        .iter()
        .map(|r| {
            (
                r.fhir_id.as_deref().unwrap(),
                tokens(&r.value_codes),
                r.value,
            )
        })
        .collect();
    assert_eq!(
        r,
        vec![
            (
                "smoke",
                vec!["http://snomed.info/sct|8517006".to_string()],
                None
            ),
            (
                "covid",
                vec![
                    "http://snomed.info/sct|260385009".to_string(),
                    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation|NEG"
                        .to_string()
                ],
                None
            ),
            ("note", vec![], None),
        ]
    );
    // The record's display is its code's, not its value's.
    assert_eq!(
        imp.records[0].value_codes[0].display.as_deref(),
        Some("Former smoker")
    );
    // A result zkmed does not encode is said so.
    assert_eq!(imp.report.warnings.len(), 1);
    assert_eq!(
        imp.report.warnings[0].category,
        WarningKind::ValueNotEncoded
    );
    assert!(imp.report.warnings[0].reason.contains("valueString"));
}

// ---------------------------------------------------------------------------------------
// 6. UTC dates and leaf order
// ---------------------------------------------------------------------------------------

fn obs_at(id: &str, when: &str) -> String {
    format!(
        r#"{{"resourceType":"Observation","id":"{id}","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"4548-4"}}]}},{when}}}"#
    )
}

#[test]
fn dates_are_utc_calendar_dates() {
    let imp = import(&[
        &obs_at("west", r#""effectiveDateTime":"2020-01-01T23:30:00-05:00""#),
        &obs_at("east", r#""effectiveDateTime":"2020-01-01T01:30:00+14:00""#),
        &obs_at("date", r#""effectiveDateTime":"2020-01-01""#),
        &obs_at(
            "period",
            r#""effectivePeriod":{"start":"2020-03-01T22:00:00-03:00","end":"2020-03-02T23:00:00-03:00"}"#,
        ),
        &obs_at(
            "instant",
            r#""effectiveInstant":"2020-06-30T20:00:00.000-07:00""#,
        ),
        &obs_at("issued", r#""issued":"2020-12-31T19:00:00-05:00""#),
        r#"{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetPeriod":{"start":"2010-07-04T21:00:00-04:00"},"recordedDate":"2011-01-01"}"#,
    ]);
    let by_id = |id: &str| {
        imp.records
            .iter()
            .find(|r| r.fhir_id.as_deref() == Some(id))
            .unwrap()
    };
    assert_eq!(
        by_id("west").date,
        ymd(2020, 1, 2),
        "23:30 at -05:00 is 04:30 UTC the next day"
    );
    assert_eq!(
        by_id("east").date,
        ymd(2019, 12, 31),
        "01:30 at +14:00 is 11:30 UTC the day before"
    );
    assert_eq!(
        by_id("date").date,
        ymd(2020, 1, 1),
        "a date is taken as written"
    );
    assert_eq!(
        (by_id("period").date, by_id("period").end),
        (ymd(2020, 3, 2), ymd(2020, 3, 3))
    );
    assert_eq!(by_id("instant").date, ymd(2020, 7, 1));
    assert_eq!(by_id("issued").date, ymd(2021, 1, 1));
    assert_eq!(
        by_id("c").date,
        ymd(2010, 7, 5),
        "onsetPeriod.start, in UTC"
    );
    assert!(imp.report.warnings.is_empty());
}

#[test]
fn a_time_without_offset_is_taken_as_written_with_a_warning() {
    let imp = import(&[&obs_at(
        "local",
        r#""effectiveDateTime":"2020-01-01T23:30:00""#,
    )]);
    assert_eq!(imp.records[0].date, ymd(2020, 1, 1));
    assert_eq!(imp.report.warnings.len(), 1);
    assert_eq!(imp.report.warnings[0].category, WarningKind::NoTimeZone);
    assert!(imp.report.warnings[0].reason.contains("effectiveDateTime"));
}

#[test]
fn date_choices_that_are_not_dates_are_said_so() {
    let imp = import(&[
        r#"{"resourceType":"Condition","id":"c","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetAge":{"value":40,"unit":"a"},"recordedDate":"2011-02-03"}"#,
        r#"{"resourceType":"Immunization","id":"i","status":"completed","vaccineCode":{"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"140"}]},"occurrenceString":"last autumn"}"#,
    ]);
    let dates: Vec<_> = imp.records.iter().map(|r| r.date).collect();
    assert_eq!(
        dates,
        vec![ymd(2011, 2, 3), None],
        "onset[x] absent as a date: recordedDate"
    );
    let w: Vec<_> = imp
        .report
        .warnings
        .iter()
        .map(|w| (w.id.as_deref().unwrap(), w.category, w.reason.as_str()))
        .collect();
    assert_eq!(
        w,
        vec![
            (
                "c",
                WarningKind::DateNotEncoded,
                "`onsetAge` is not a date; not encoded"
            ),
            (
                "i",
                WarningKind::DateNotEncoded,
                "`occurrenceString` is not a date; not encoded"
            ),
        ]
    );
}

#[test]
fn records_of_a_kind_are_in_chronological_leaf_order() {
    let panel = r#"{"resourceType":"Observation","id":"bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
        "effectiveDateTime":"2020-01-02T00:30:00Z","component":[
          {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120}},
          {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80}}]}"#;
    let imp = import(&[
        &obs_at("d2-late", r#""effectiveDateTime":"2020-01-02T20:00:00Z""#),
        &obs_at(
            "d1-west",
            r#""effectiveDateTime":"2020-01-01T23:30:00-05:00""#,
        ), // 2020-01-02T04:30Z
        &obs_at("undated-1", r#""status":"final""#),
        &obs_at("d2-date-a", r#""effectiveDateTime":"2020-01-02""#),
        panel,
        &obs_at(
            "d2-tie",
            r#""effectiveDateTime":"2020-01-02T01:30:00+01:00""#,
        ), // 00:30Z, as the panel
        r#"{"resourceType":"Condition","id":"cond","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetDateTime":"1999-01-01"}"#,
        &obs_at("d2-date-b", r#""effectiveDateTime":"2020-01-02""#),
        &obs_at("undated-2", r#""effectiveDateTime":"2019""#),
        &obs_at("early", r#""effectiveDateTime":"2019-05-05T12:00:00Z""#),
    ]);
    let ids: Vec<_> = imp
        .records
        .iter()
        .map(|r| r.fhir_id.as_deref().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "cond", // kinds are grouped (Condition first)
            "undated-1",
            "undated-2",
            "early",
            "d2-date-a", // a date counts as 00:00 UTC; two of one day keep bundle order
            "d2-date-b",
            "bp", // 00:30Z: the panel, its components, then the tie that came later
            "bp#component[0]",
            "bp#component[1]",
            "d2-tie",
            "d1-west", // 04:30Z on 2020-01-02
            "d2-late",
        ]
    );
    // The commitment follows this order: leaf i of the Observation tree is record i.
    let opening =
        Opening::create(imp, zkmed_core::Fr::from(1u64), &mut rand::thread_rng()).unwrap();
    let leaves: Vec<_> = opening
        .records_of(Kind::Observation)
        .into_iter()
        .map(|(i, r)| (i, r.record.fhir_id.clone().unwrap()))
        .collect();
    assert_eq!(leaves[0], (0, "undated-1".to_string()));
    assert_eq!(leaves[10], (10, "d2-late".to_string()));
}

// ---------------------------------------------------------------------------------------
// 7. The report
// ---------------------------------------------------------------------------------------

#[test]
fn report_says_what_was_committed_and_skipped_by_type_and_reason() {
    let imp = import(&[
        r#"{"resourceType":"Condition","id":"c1","code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"}]},"onsetDateTime":"2015"}"#,
        r#"{"resourceType":"Condition","id":"c2","code":{"text":"back pain"}}"#,
        r#"{"resourceType":"Condition","id":"c3","code":{"text":"knee pain"}}"#,
        r#"{"resourceType":"Observation","id":"bp","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
            "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120}},{"code":{"text":"?"}}]}"#,
        r#"{"resourceType":"Claim","id":"x1"}"#,
        r#"{"resourceType":"Claim","id":"x2"}"#,
        r#"{"resourceType":"Encounter","id":"e1"}"#,
    ]);
    let rep = &imp.report;
    let j = serde_json::to_value(rep).unwrap();
    assert_eq!(j["entries"], json!(8));
    assert_eq!(j["committed"]["Condition"], json!(1));
    assert_eq!(j["committed"]["Observation"], json!(1));
    assert_eq!(j["committed_components"], json!({"Observation": 1}));
    assert_eq!(j["records"]["Observation"], json!(2));
    assert_eq!(
        j["skipped"],
        json!([
            {"resource_type": "Claim", "reason": "not a clinical resource", "count": 2,
             "entries": [{"entry": 5, "id": "x1"}, {"entry": 6, "id": "x2"}]},
            {"resource_type": "Condition", "reason": "`code` has no coding with both a system and a code", "count": 2,
             "entries": [{"entry": 2, "id": "c2"}, {"entry": 3, "id": "c3"}]},
            {"resource_type": "Encounter", "reason": "not a clinical resource", "count": 1,
             "entries": [{"entry": 7, "id": "e1"}]},
            {"resource_type": "Observation.component", "reason": "`code` has no coding with both a system and a code", "count": 1,
             "entries": [{"entry": 4, "id": "bp", "component": 1}]},
        ])
    );
    assert_eq!(j["warnings"][0]["category"], json!("partial-date"));
    assert_eq!(j["warnings"][0]["id"], json!("c1"));
    assert_eq!(rep.accounted_entries(), rep.entries);
    assert_eq!(rep.skipped_clinical(), 2);
    assert_eq!(rep.non_clinical(), 3);
    // The JSON reads back.
    let back: zkmed_records::ImportReport = serde_json::from_value(j).unwrap();
    assert_eq!(&back, rep);

    let text = rep.to_string();
    for line in [
        "8 entries: 1 Patient, 2 clinical resources committed as 3 records, 3 non-clinical skipped, 2 clinical skipped, 1 warnings",
        "committed",
        "committed             resources  components   records\n",
        "  Condition                   1           -         1\n",
        "  Observation                 1           1         2\n",
        "skipped\n  Condition                 2  `code` has no coding with both a system and a code: entry 2 (c2), entry 3 (c3)\n",
        "  Observation.component     1  `code` has no coding with both a system and a code: entry 4 (bp) component[1]\n",
        "  Claim                     2  not a clinical resource\n",
        "  partial-date              1  Condition entry 1 (c1): `onsetDateTime` \"2015\" is a partial date",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}
